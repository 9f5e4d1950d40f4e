"""Code prompt templates are the paper's, character for character (repro/code_prompts.py).

The expected prompts below are written out in full so a reader sees what the engines receive.
They were checked, outside this repository, against the sources themselves:
- "lcb-codeqwen-upstream": LiveCodeBench@3a2406e `format_prompt_generation(problem,
  LMStyle.CodeQwenInstruct)` + "```python";
- "evalplus-chat": evalplus v0.3.1 `make_raw_chat_prompt(task["prompt"].strip() + "\\n", ...)` with
  the default prefixes of codegen.py, through a Qwen2.5 instruct chat template;
- "deepcoder": rllm@18e446c `fetch_live_code_bench_system_prompt(question, starter_code)` as the
  only user message of the DeepSeek-R1-Distill chat template (add_generation_prompt=True);
- "lcb-codeqwen" and "evalplus-chat-fig25": the paper's Figures 24 and 25 read from the PDF
  (a line that ends in a space there is a wrapped line, not a newline); the tests at the end
  compare their words with the paper's text file when REPRO_SHARED_DIR is set.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest

from repro.code_prompts import CODE_TEMPLATES, EXTRACTIONS, get_code_template
from repro.errors import UnknownNameError
from repro.grading.code_extraction import extract_program
from repro.models import MODELS
from repro.problems import Problem
from repro.prompts import TEMPLATES, render_prompt, template_text
from tests.conftest import shared_dir

# Problems in the benchmarks' own shapes (made up here): an AtCoder-style stdin problem as
# LiveCodeBench stores it (no newline at the end, "\r\n" inside), a LeetCode problem with its
# starter code (which ends in the method body's indentation), and evalplus task prompts.
STDIN_QUESTION = "Given N, print 2N.\n\nSample Input 1\n\n3\r\n\nSample Output 1\n\n6"
LEETCODE_QUESTION = "You are given nums {a, b}.\nReturn $\\frac{a}{2}$.\n\nConstraints:\n\n1 <= a <= 10"
STARTER = "class Solution:\n    def half(self, a: int) -> int:\n        "
HUMANEVAL_TASK = ('from typing import List\n\n\ndef total(numbers: List[int]) -> int:\n'
                  '    """ Sum of the numbers.\n    >>> total([1, 2])\n    3\n    """\n')
MBPP_TASK = '"""\nWrite a function to double a number.\nassert double(2) == 4\n"""\n'

LCB_INSTRUCTION = ("You will be given a question (problem specification) and will generate a correct Python "
                   "program that matches the specification and passes all tests. You will NOT return anything "
                   "except for the program.")
WITH_STARTER = ("You will use the following starter code to write the solution to the problem and enclose "
                "your code within delimiters.")
WITHOUT_STARTER = ("Read the inputs from stdin solve the problem and write the answer to stdout (do not directly "
                   "test on the sample inputs). Enclose your code within delimiters as follows. Ensure that when "
                   "the python program runs, it reads the inputs, runs the algorithm and writes output to STDOUT.")
GENERIC_SYSTEM = ("You are an expert Python programmer. You will be given a question (problem specification) "
                  "and will generate a correct Python program that matches the specification and passes all tests.")

EXPECTED = {
    ("lcb-codeqwen", "stdin"): (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\n"
        f"{LCB_INSTRUCTION}\n\n"
        f"Question: {STDIN_QUESTION}\n\n"
        f"### Format: {WITHOUT_STARTER}\n"
        "```python\n# YOUR CODE HERE\n```\n\n"
        "<|im_end|>\n"
        "<|im_start|>assistant\n```python"
    ),
    ("lcb-codeqwen", "starter"): (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\n"
        f"{LCB_INSTRUCTION}\n\n"
        f"Question: {LEETCODE_QUESTION}\n\n"
        f"### Format: {WITH_STARTER}\n"
        "```python\nclass Solution:\n    def half(self, a: int) -> int:\n        \n```\n\n"
        "<|im_end|>\n"
        "<|im_start|>assistant\n```python"
    ),
    ("lcb-codeqwen-upstream", "stdin"): (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\n\n"
        f"{LCB_INSTRUCTION}\n\n"
        f"Question: {STDIN_QUESTION}\n\n"
        f"{WITHOUT_STARTER}\n"
        "```python\n# YOUR CODE HERE\n```\n\n"
        "<|im_end|>\n"
        "<|im_start|>assistant\n```python"
    ),
    ("lcb-codeqwen-upstream", "starter"): (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\n\n"
        f"{LCB_INSTRUCTION}\n\n"
        f"Question: {LEETCODE_QUESTION}\n\n"
        f"{WITH_STARTER}\n"
        "```python\nclass Solution:\n    def half(self, a: int) -> int:\n        \n```\n\n"
        "<|im_end|>\n"
        "<|im_start|>assistant\n```python"
    ),
    ("evalplus-chat", "humaneval"): (
        "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\n"
        "Please provide a self-contained Python script that solves the following problem in a markdown code block:\n"
        "```\n"
        'from typing import List\n\n\ndef total(numbers: List[int]) -> int:\n'
        '    """ Sum of the numbers.\n    >>> total([1, 2])\n    3\n    """\n'
        "```\n"
        "<|im_end|>\n"
        "<|im_start|>assistant\n"
        "Below is a Python script with a self-contained function that solves the problem and passes "
        "corresponding tests:\n"
        "```python\n"
    ),
    ("evalplus-chat", "mbpp"): (
        "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\n"
        "Please provide a self-contained Python script that solves the following problem in a markdown code block:\n"
        "```\n"
        '"""\nWrite a function to double a number.\nassert double(2) == 4\n"""\n'
        "```\n"
        "<|im_end|>\n"
        "<|im_start|>assistant\n"
        "Below is a Python script with a self-contained function that solves the problem and passes "
        "corresponding tests:\n"
        "```python\n"
    ),
    ("evalplus-chat-fig25", "mbpp"): (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\n"
        "Please provide a self-contained Python script that solves the following problem in a markdown code block:\n"
        "```\n"
        '"""\nWrite a function to double a number.\nassert double(2) == 4\n"""\n'
        "```\n"
        "<|im_end|>\n"
        "<|im_start|>assistant\n"
        "Below is a Python script with a self-contained function that solves the problem and passes "
        "corresponding tests:\n"
        "```python\n"
    ),
    # rllm writes "### Format:" right after the problem: LCB problems end without a newline.
    ("deepcoder", "stdin"): (
        "<｜begin▁of▁sentence｜><｜User｜>"
        f"{GENERIC_SYSTEM}\n\n"
        f"{STDIN_QUESTION}### Format: {WITHOUT_STARTER}\n"
        "```python\n# YOUR CODE HERE\n```\n\n"
        "### Answer: (use the provided format with backticks)\n\n"
        "<｜Assistant｜><think>\n"
    ),
    ("deepcoder", "starter"): (
        "<｜begin▁of▁sentence｜><｜User｜>"
        f"{GENERIC_SYSTEM}\n\n"
        f"{LEETCODE_QUESTION}### Format: {WITH_STARTER}\n"
        "```python\nclass Solution:\n    def half(self, a: int) -> int:\n        \n```\n\n"
        "### Answer: (use the provided format with backticks)\n\n"
        "<｜Assistant｜><think>\n"
    ),
}
INPUTS = {
    "stdin": (STDIN_QUESTION, ""),
    "starter": (LEETCODE_QUESTION, STARTER),
    "humaneval": (HUMANEVAL_TASK, ""),
    "mbpp": (MBPP_TASK, ""),
}


@pytest.mark.parametrize("name, case", sorted(EXPECTED))
def test_rendering_is_the_source_text(name, case):
    question, starter_code = INPUTS[case]
    assert get_code_template(name).render(question, starter_code) == EXPECTED[name, case]


def test_every_template_is_pinned_here():
    assert {name for name, _ in EXPECTED} == set(CODE_TEMPLATES)
    assert all(template.verified and template.source for template in CODE_TEMPLATES.values())


def test_evalplus_strips_the_task_and_has_no_starter_code():
    template = get_code_template("evalplus-chat")
    expected = EXPECTED["evalplus-chat", "mbpp"]
    assert template.render("\n\n  " + MBPP_TASK + "\n\n") == expected
    assert template.render(MBPP_TASK, "def ignored():") == expected
    # LiveCodeBench and rllm put the problem in verbatim.
    spaced = "  " + STDIN_QUESTION + "\n"
    assert f"Question: {spaced}\n\n### Format:" in get_code_template("lcb-codeqwen").render(spaced)
    assert f"\n\n{spaced}### Format:" in get_code_template("deepcoder").render(spaced)


@pytest.mark.parametrize("name", sorted(CODE_TEMPLATES))
def test_braces_and_backslashes_go_in_verbatim(name):
    question = "Find {x} and {question} and {starter_code} \\n \\1 {0}"
    starter = "class Solution:\n    def f(self) -> Dict[str, int]: {}  # {starter_code}\n        "
    rendered = get_code_template(name).render(question, starter)
    assert question in rendered
    if name.startswith(("lcb", "deepcoder")):
        assert f"```python\n{starter}\n```" in rendered


def test_prompt_ends_with_the_opened_fence():
    for name, template in CODE_TEMPLATES.items():
        for question, starter_code in INPUTS.values():
            rendered = template.render(question, starter_code)
            assert rendered.endswith(template.opened_fence or "<｜Assistant｜><think>\n"), name
    assert get_code_template("lcb-codeqwen").opened_fence == "```python"
    assert get_code_template("evalplus-chat").opened_fence == "```python\n"
    assert get_code_template("deepcoder").opened_fence is None


def test_stop_strings_of_the_original_harnesses():
    assert get_code_template("lcb-codeqwen").stop == ("###",)  # LCB runner's --stop default
    assert get_code_template("evalplus-chat").stop == (
        "<|endoftext|>", "<|endofmask|>", "</s>", "\nif __name__", "\ndef main(", "\nprint(", "\n```\n")
    assert get_code_template("deepcoder").stop == ("<｜end▁of▁sentence｜>",)


# ------------------------------------------------------------------ extraction


def test_lcb_extraction_reattaches_the_opened_fence():
    template = get_code_template("lcb-codeqwen")
    assert (extract_program(template, "\nn = int(input())\nprint(2 * n)\n```\nIt doubles n.")
            == "n = int(input())\nprint(2 * n)")
    # the last block
    assert extract_program(template, "print(1)\n```\nBetter:\n```python\nprint(2)\n```\n") == "print(2)"
    # LCB does not stop at a closing fence: a completion without one has no program.
    assert extract_program(template, "n = int(input())\nprint(2 * n)") is None
    assert extract_program(template, "") is None


def test_evalplus_extraction_is_evalplus_sanitizer_with_the_entry_point():
    template = get_code_template("evalplus-chat")
    assert template.extraction == get_code_template("evalplus-chat-fig25").extraction == "evalplus"
    # Generation stopped at "\n```\n", which the engine dropped: the completion is the code.
    assert extract_program(template, "def double(x):\n    return 2 * x", "double") == "def double(x):\n    return 2 * x"
    # Tabs become four spaces, as evalplus' vLLM provider does to every output.
    assert extract_program(template, "def double(x):\n\treturn 2 * x", "double") == "def double(x):\n    return 2 * x"
    # Ended by EOS right after the closing fence: the fence line does not parse and is left out.
    assert (extract_program(template, "def double(x):\n    return 2 * x\n```", "double")
            == "def double(x):\n    return 2 * x")
    # Example calls and asserts after the function are dropped; a helper the entry point calls stays.
    completion = ("def half(x):\n    return x / 2\n\ndef double(x):\n    return half(4 * x)\n\n"
                  "assert double(1) == 3\nprint(double(2))")
    assert extract_program(template, completion, "double") == ("def half(x):\n    return x / 2\n"
                                                                 "def double(x):\n    return half(4 * x)")
    # Not the last block: the longest stretch that parses.
    longer_first = "```python\nimport math\ndef double(x):\n    return 2 * x\n```\nOr:\n```python\ndouble = abs\n```"
    assert extract_program(template, longer_first, "double") == "import math\ndef double(x):\n    return 2 * x"
    assert extract_program(template, "", "double") is None
    assert extract_program(template, "  \n", "double") is None


def test_deepcoder_extraction_takes_the_last_block_after_the_thinking():
    template = get_code_template("deepcoder")
    completion = ("Let me think.\n```python\nprint(0)\n```\nNo.\n</think>\n\n"
                  "```python\nn = int(input())\nprint(2 * n)\n```\n")
    assert extract_program(template, completion) == "n = int(input())\nprint(2 * n)"
    assert extract_program(template, "Let me think... and the budget ran out") is None
    assert extract_program(template, "</think>\n```python\nprint(1)\n") is None  # cut inside the block
    # rllm's rule, not LiveCodeBench's: a final block cut off by the budget is no block, and the
    # last complete one (here a draft in the thinking) is the program.
    assert extract_program(template, "```python\nprint(0)\n```\nBetter:\n```python\nprint(1") == "print(0)"
    # A closing fence anywhere (not only on its own line); the block stripped; an opening fence
    # is ``` and an optional word right before the newline.
    assert extract_program(template, "```python\n\n  x = 1\nprint(x)```") == "x = 1\nprint(x)"
    assert extract_program(template, "``` python\nprint(1)\n```") is None
    assert extract_program(template, "```py3\nprint(1)\n```") == "print(1)"


# ------------------------------------------------------------------ the store key and prompts.py


def test_text_identifies_every_fixed_part():
    texts = {name: template.text for name, template in CODE_TEMPLATES.items()}
    assert len(set(texts.values())) == len(texts)
    for name, template in CODE_TEMPLATES.items():
        assert template_text(name) == texts[name]
        fields = json.loads(texts[name])
        assert (fields["head"], fields["without_starter"], fields["with_starter"]) == (
            template.head, template.without_starter, template.with_starter)
        assert tuple(fields["stop"]) == template.stop and fields["opened_fence"] == template.opened_fence
    # Any change of a fixed part changes the store key.
    lcb = get_code_template("lcb-codeqwen")
    for change in ({"head": lcb.head + " "}, {"stop": ()}, {"opened_fence": None}, {"strip_question": True},
                   {"tabs_to_spaces": True}):
        assert replace(lcb, **change).text != lcb.text, change
    assert replace(lcb, caveat="other words").text == lcb.text
    assert template_text("qwen-boxed") == TEMPLATES["qwen-boxed"].text


def test_render_prompt_for_math_and_code_problems():
    math = Problem("math500/0000", 0, "What is $1+1$?", "2")
    assert render_prompt("qwen-boxed", math) == TEMPLATES["qwen-boxed"].render("What is $1+1$?")
    leetcode = Problem("lcb/1", 0, LEETCODE_QUESTION, "", {"starter_code": STARTER})
    assert render_prompt("lcb-codeqwen", leetcode) == EXPECTED["lcb-codeqwen", "starter"]
    atcoder = Problem("lcb/2", 1, STDIN_QUESTION, "", {})  # no starter code in meta: a stdin problem
    assert render_prompt("deepcoder", atcoder) == EXPECTED["deepcoder", "stdin"]
    task = Problem("Mbpp/1", 0, MBPP_TASK, "", {"starter_code": ""})
    assert render_prompt("evalplus-chat", task) == EXPECTED["evalplus-chat", "mbpp"]


def test_unknown_names():
    with pytest.raises(UnknownNameError):
        get_code_template("lcb")
    with pytest.raises(UnknownNameError, match="lcb-codeqwen"):
        render_prompt("no-such-template", Problem("x", 0, "q", ""))
    with pytest.raises(UnknownNameError):
        template_text("no-such-template")


def test_code_models_use_a_code_template():
    for key in ("qwen2.5-7b-instruct-1m", "coder1-zero-7b", "r1-distill-qwen-14b", "deepcoder-14b"):
        assert MODELS[key].template in CODE_TEMPLATES, key


# ------------------------------------------------------------------ against the paper's text


def _figure(start: str, end: str) -> str:
    root = shared_dir()
    if root is None:
        pytest.skip("REPRO_SHARED_DIR is not set to the shared folder")
    text = (root / "paper" / "limit_of_rlvr_v2.txt").read_text(encoding="utf-8")
    block = text[text.index(start) + len(start): text.index(end)]
    return _words(block)


def _words(text: str) -> str:
    return " ".join(text.split())


def test_lcb_codeqwen_has_the_words_of_figure_24():
    figure = _figure("LiveCodeBench (Code Generation) Prompt", "Figure 24:")
    head, rest = figure.split("{ if question.starter_code } ")
    with_starter, without_starter = rest.split("{ else } ")
    with_starter += "<|im_start|>assistant ```python"
    template = get_code_template("lcb-codeqwen")
    question, starter = "{question.question_content}", "{question.starter_code}"
    ours = template.render(question, starter).replace(WITH_STARTER, "{PromptConstants.FORMATTING_MESSAGE_WITH_STARTER_CODE}")
    assert _words(ours) == head + with_starter
    ours = template.render(question).replace(WITHOUT_STARTER, "{PromptConstants.FORMATTING_MESSAGE_WITHOUT_STARTER_CODE}")
    assert _words(ours) == head + without_starter
    # LCB's own text has the same words but for the "### Format:" the figure adds.
    upstream = get_code_template("lcb-codeqwen-upstream").render(question, starter)
    assert _words(upstream) == _words(template.render(question, starter)).replace("### Format: ", "")


def test_evalplus_chat_has_the_words_of_figure_25_but_the_system_turn():
    figure = _figure("HumanEval+ & MBPP+ Prompt", "Figure 25:")
    assert _words(get_code_template("evalplus-chat-fig25").render("{python_task_prompt}")) == figure
    qwen = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
    assert _words(get_code_template("evalplus-chat").render("{python_task_prompt}")) == figure.replace(
        "You are a helpful assistant.", qwen, 1)


def test_the_paper_appends_an_opened_python_fence():
    root = shared_dir()
    if root is None:
        pytest.skip("REPRO_SHARED_DIR is not set to the shared folder")
    text = _words((root / "paper" / "limit_of_rlvr_v2.txt").read_text(encoding="utf-8"))
    assert re.search(r"we append \S*python to the end of the prompt", text)


def test_every_template_names_a_known_extraction_rule():
    assert {t.extraction for t in CODE_TEMPLATES.values()} == set(EXTRACTIONS)
    assert get_code_template("lcb-codeqwen").extraction == "lcb" and get_code_template("deepcoder").extraction == "rllm"
    with pytest.raises(ValueError, match="extraction 'fenced' is not one of lcb, evalplus, rllm"):
        replace(get_code_template("deepcoder"), extraction="fenced")
