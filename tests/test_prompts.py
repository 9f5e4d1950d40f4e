"""Prompt templates are the paper's, character for character.

Each expected sha256 below is of the template rendered for QUESTION, computed once from the
source text named beside it, not from our own template:
- "utils.py@fd2cf37": LeapLabTHU/limit-of-RLVR, commit fd2cf37f05cc7dced9c558fa358a18e0497cb463,
  math/examples/math_eval/utils.py, PROMPT_TEMPLATES[name][0].format(input=QUESTION).strip(" "),
  exactly what the evaluator's construct_prompt returns for a zero-shot prompt;
- "Fig 27": the text of the paper's Figure 27 (v2, p. 30) as extracted from the PDF, its
  wrapped lines joined by spaces except the break before "Assistant:" (read as a newline),
  with QUESTION in place of "{}";
- "Fig 26": the text of the paper's Figure 26 (v2, p. 30), its wrapped system lines joined by
  spaces, "{image_token}" as Qwen2.5-VL's placeholder "<|image_pad|>" and no newline between
  "<|vision_end|>" and the question (what Qwen2.5-VL's chat template writes for an image item
  followed by a text item; the figure's line break is read as layout, see the template's caveat).
"""

from __future__ import annotations

import hashlib

import pytest

from repro.models import MODELS
from repro.prompts import TEMPLATES, get_template

QUESTION = "Let $f(x)=\\frac{x^2+1}{x}$. Find the minimum of $f(x)$ for $x>0$."

EXPECTED = {
    # template: (sha256 of the rendering, where the text comes from)
    "qwen-boxed": ("d9009e33366b2917c8b21efa5f196b24fa8f03069bfb828bdd4fdf7761a83163", "utils.py@fd2cf37 qwen-boxed"),
    "qwen25-math-cot": ("bc19ad0c04629eeba4653fa40ea11f72a8180ce38d381acc3fb7d412814003fa",
                        "utils.py@fd2cf37 qwen25-math-cot"),
    "dapo": ("415d7058ace04f23cb54727f44afd096b4a937609bcdfc961d2ac92f67c4096d", "utils.py@fd2cf37 abel"),
    "deepseek-r1": ("1565efe1181dffdf948aa7f64ada1295c78dae35fca292c897df96a216d8e6aa",
                    "utils.py@fd2cf37 deepseek-r1"),
    "r1-zero": ("04ad92840275c545a9fcee0849779e4cd759f57eac59a171d8e44b351bfba984", "Fig 27"),
    "visual-r1": ("8c6dc0ee92583b1c608a70a217cd4d0d52968fe79dd716331e882843469233ca", "Fig 26"),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_rendering_matches_the_source_text(name):
    rendered = get_template(name).render(QUESTION)
    assert hashlib.sha256(rendered.encode()).hexdigest() == EXPECTED[name][0], name


def test_every_verified_template_is_pinned_here():
    assert {name for name, template in TEMPLATES.items() if template.verified} == set(EXPECTED)


def test_readable_anchors_of_the_texts():
    # What the hashes protect, in words (a failing hash is easier to read next to these).
    assert get_template("qwen-boxed").render("Q").endswith(
        "<|im_start|>user\nQ\nPlease reason step by step, and put your final answer within \\boxed{}.<|im_end|>\n"
        "<|im_start|>assistant\n")
    dapo = get_template("dapo").render("Q")
    assert dapo.startswith("A conversation between user and assistant.") and "20,480 tokens" in dapo
    assert dapo.endswith('the answer to the problem.\nQ\nRemember to put your answer on its own line after '
                         '"Answer:".\nassistant')
    assert get_template("r1-zero").render("Q").endswith("</answer>. User: Q\nAssistant:")
    assert get_template("deepseek-r1").render("Q").endswith("</answer>. User: Q. Assistant:")


@pytest.mark.parametrize("question", [
    "Find $\\{x : x^2 < 1\\}$ and \\boxed{} {}",
    "A {question} placeholder, an {input} one and {0} in the text",
    "Backslashes \\\\ \\n \\t \\1 \\g<0> stay as they are",
    "ends with a brace }",
])
def test_questions_with_braces_and_backslashes_are_inserted_verbatim(question):
    for name, template in TEMPLATES.items():
        before, after = template.text.split("{question}")
        rendered = template.render(question)
        assert rendered == (before + question + after).strip(" "), name


def test_each_template_has_one_placeholder_and_a_source():
    for name, template in TEMPLATES.items():
        assert template.text.count("{question}") == 1, name
        assert template.source, name


def test_every_math_model_uses_a_verified_template():
    for model in MODELS.values():
        if model.template in TEMPLATES:
            template = TEMPLATES[model.template]
            assert template.verified, model.key


def test_template_choices():
    chosen = {key: MODELS[key].template for key in (
        "qwen2.5-7b", "simplerl-zoo-qwen2.5-7b", "llama3.1-8b", "simplerl-zoo-llama3.1-8b", "qwen2.5-math-7b",
        "oat-zero-7b", "qwen2.5-math-7b-instruct", "r1-distill-qwen-7b", "dapo-qwen-32b",
        "qwen2.5-32b-dapo-prompt", "qwen2.5-7b-r1-prompt", "verl-grpo-step150")}
    assert chosen == {
        "qwen2.5-7b": "qwen-boxed", "simplerl-zoo-qwen2.5-7b": "qwen-boxed", "llama3.1-8b": "qwen-boxed",
        "simplerl-zoo-llama3.1-8b": "qwen-boxed", "qwen2.5-math-7b": "qwen-boxed", "oat-zero-7b": "qwen-boxed",
        "qwen2.5-math-7b-instruct": "qwen-boxed", "r1-distill-qwen-7b": "qwen-boxed", "dapo-qwen-32b": "dapo",
        "qwen2.5-32b-dapo-prompt": "dapo", "qwen2.5-7b-r1-prompt": "r1-zero", "verl-grpo-step150": "r1-zero",
    }


def test_fig26_system_text_is_the_papers():
    from tests.conftest import shared_dir

    folder = shared_dir()
    if folder is None:
        pytest.skip("REPRO_SHARED_DIR is not set")
    paper = (folder / "paper" / "limit_of_rlvr_v2.txt").read_text(encoding="utf-8")
    start = paper.index("EasyR1 Prompt")
    figure = " ".join(line.strip() for line in paper[start:paper.index("Figure 26:", start)].splitlines()[2:6])
    rendered = get_template("visual-r1").render("Q")
    system = rendered.split("<|im_start|>system\n", 1)[1].split("\n<|im_start|>user", 1)[0]
    assert system == figure
