"""Code prompt templates, as the raw text the engines receive (chat template already applied).

As in `repro/prompts.py`, the texts are data the paper used, reproduced character for
character; each names its source, `verified` is True only for a text checked against that
source, and `caveat` says what the source leaves open. docs/models.md ("Code prompts") says
which model and benchmark use which template, and why.

Sources, cited below by these short names:
- "LCB@3a2406e": LiveCodeBench/LiveCodeBench, commit 3a2406eed1f59988c58dc3e5ebbee03703251b80
  (2025-04-21), lcb_runner/prompts/code_generation.py: `PromptConstants.SYSTEM_MESSAGE_CODEQWEN`,
  `FORMATTING_MESSAGE_WITH_STARTER_CODE`, `FORMATTING_WITHOUT_STARTER_CODE`,
  `get_codeqwen_question_template_answer` and the `LMStyle.CodeQwenInstruct` branch of
  `format_prompt_generation`. These texts are identical from 264e841ad0e599f0130e442adf30fcde60bf2886
  (2024-12-26, which added the last sentence of the stdin message) to HEAD
  28fef95ea8c9f7a547c8329f2cd3d32b92c1fa24. The stop list is lcb_runner/runner/parser.py
  (`--stop`, default "###") as passed by lcb_runner/runner/vllm_runner.py.
- "evalplus@v0.3.1": evalplus/evalplus, tag v0.3.1 = e5d0ed0bab96280b60b637ec7f15b5e4841b0cb2:
  evalplus/codegen.py (`task["prompt"].strip() + "\\n"`, the default `instruction_prefix` and
  `response_prefix`), evalplus/provider/utility.py (`make_raw_chat_prompt`, `EOS`),
  evalplus/provider/vllm.py (chat models: stop = EOS + ["\\n```\\n"]; tabs in outputs become
  four spaces). The prompt code is unchanged up to HEAD 26d6d00 (2025-10-03).
- "Qwen2.5 chat template": the tokenizer chat template of the Qwen2.5 instruct models (ChatML;
  with no system message it writes the system turn "You are Qwen, created by Alibaba Cloud. You
  are a helpful assistant."; an assistant message is written as-is and closed by
  "<|im_end|>\\n"). The default is documented in QwenLM/Qwen2.5 at
  905ca2080093d9b2c0539c388c43cc008c3add21, docs/source/getting_started/concepts.md; the template
  text was read in copies of Qwen2.5 tokenizer configs kept in public repositories.
- "rllm@18e446c": agentica-project/rllm, commit 18e446c56f7af9a749ce1dd79ee85837a35ac1de
  ("Deepcoder Release", 2025-04-08; the texts are unchanged to 874daa4acb7f451dc2a4b2b6e8ce28f5aa88d1f5
  and in rllm-org/rllm dcb3c2f723cc423c9887ab19e2664ed2b861d553): rllm/data/utils.py
  `fetch_live_code_bench_system_prompt`, rllm/system_prompts.py `LCB_*`, and
  rllm/data/preprocess/code/livecodebench.ipynb (the problem text is LCB `question_content`).
- "DeepCoder eval@a061b49": the authors' DeepCoder evaluation, LeapLabTHU/limit-of-RLVR as kept in
  the fork Jingchensun/limit-of-RLVR, commit a061b491923fc542fb8f61243b25dac2aa9b3289,
  code/DeepCoder/verl/verl/trainer/main_generation_vllm2.py: one user message, the tokenizer's
  chat template with `add_generation_prompt=True`, stop = [tokenizer.eos_token].
- "R1-Distill chat template": the chat template of the DeepSeek-R1-Distill-Qwen tokenizers as
  updated on the hub on 2025-02-09 (the generation prompt became "<｜Assistant｜><think>\\n"),
  read in copies kept in public repositories.
- "Fig 24", "Fig 25": the paper (v2, p. 29).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from repro.errors import UnknownNameError

STARTER = "{starter_code}"  # where the starter code goes in `with_starter`

# --- fixed texts (data, verbatim from the sources named above)

# LCB@3a2406e: the user instruction of get_codeqwen_question_template_answer.
LCB_INSTRUCTION = (
    "You will be given a question (problem specification) and will generate a correct Python program "
    "that matches the specification and passes all tests. You will NOT return anything except for the program."
)
# LCB@3a2406e PromptConstants; rllm@18e446c LCB_* (the same strings).
LCB_FORMAT_WITH_STARTER = (
    "You will use the following starter code to write the solution to the problem and enclose your code "
    "within delimiters."
)
LCB_FORMAT_WITHOUT_STARTER = (
    "Read the inputs from stdin solve the problem and write the answer to stdout (do not directly test on the "
    "sample inputs). Enclose your code within delimiters as follows. Ensure that when the python program runs, "
    "it reads the inputs, runs the algorithm and writes output to STDOUT."
)
# rllm@18e446c LCB_SYSTEM_MESSAGE_GENERIC (= LCB@3a2406e SYSTEM_MESSAGE_GENERIC).
LCB_SYSTEM_GENERIC = (
    "You are an expert Python programmer. You will be given a question (problem specification) and will "
    "generate a correct Python program that matches the specification and passes all tests."
)
# evalplus@v0.3.1 codegen.py defaults for chat models.
EVALPLUS_INSTRUCTION = (
    "Please provide a self-contained Python script that solves the following problem in a markdown code block:"
)
EVALPLUS_RESPONSE = (
    "Below is a Python script with a self-contained function that solves the problem and passes corresponding tests:"
)
QWEN25_DEFAULT_SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
# evalplus@v0.3.1 provider/utility.py EOS, then provider/vllm.py's extra stop for chat models.
EVALPLUS_CHAT_STOP = ("<|endoftext|>", "<|endofmask|>", "</s>", "\nif __name__", "\ndef main(", "\nprint(", "\n```\n")
R1_DISTILL_EOS = "<｜end▁of▁sentence｜>"


# How each harness reads the program out of a completion. Templates only name their rule; the
# rules are applied by the grading layer (repro/grading/code_extraction.py `extract_program`,
# with repro/grading/evalplus_sanitize.py):
EXTRACTIONS = {
    "lcb": "LiveCodeBench: the text between the last two lines holding ```, the prompt's opened fence put back first",
    "evalplus": "evalplus: sanitize(completion, entry point), the longest stretch that parses, cut down to the "
                "imports and the definitions the entry point reaches",
    "rllm": "rllm (DeepCoder): the last match of ```(?:\\w+)?\\n(.*?)``` over the whole output, stripped",
}


@dataclass(frozen=True)
class CodeTemplate:
    """A code prompt: `head + question + tail`, the tail chosen by whether the problem has
    starter code (LiveCodeBench's rule: `if question.starter_code`)."""

    name: str
    source: str
    verified: bool
    opened_fence: str | None  # what the prompt's assistant turn already opened (the prompt ends with it)
    stop: tuple[str, ...]  # the original harness's stop strings (engines also stop at the model's EOS)
    head: str  # everything before the question
    without_starter: str  # after the question for stdin problems (no starter code)
    # after the question when there is starter code, with "{starter_code}" once; None: the
    # benchmark has no starter code (evalplus: the signature is in the task prompt) and any is ignored
    with_starter: str | None = None
    strip_question: bool = False  # evalplus strips the task prompt
    tabs_to_spaces: bool = False  # evalplus' vLLM provider turns tabs in outputs into four spaces
    # How the harness reads the program out of a completion (one of EXTRACTIONS). Not part of
    # `text`: it changes grading, not samples, so stored samples are graded again under it.
    extraction: str = "lcb"
    # Whose LiveCodeBench harness runs the program (repro.grading.code.RULES): "lcb", or "rllm"
    # for DeepCoder (rllm's copy of LCB's harness, with its own import prelude). Like
    # `extraction`, it changes grading, not samples.
    test_rules: str = "lcb"
    caveat: str = ""

    def __post_init__(self) -> None:
        if self.extraction not in EXTRACTIONS:
            raise ValueError(f"{self.name}: extraction {self.extraction!r} is not one of {', '.join(EXTRACTIONS)}")
        bad_starter = self.with_starter is not None and self.with_starter.count(STARTER) != 1
        if bad_starter or STARTER in self.without_starter:
            raise ValueError(f"{self.name}: with_starter needs {STARTER} once, without_starter none")
        tails = [t for t in (self.with_starter, self.without_starter) if t is not None]
        if self.opened_fence is not None and not all(t.endswith(self.opened_fence) for t in tails):
            raise ValueError(f"{self.name}: the prompt must end with its opened fence")

    @property
    def text(self) -> str:
        """Every fixed part, canonically serialized: its sha256 identifies the template."""
        return json.dumps({
            "head": self.head, "with_starter": self.with_starter, "without_starter": self.without_starter,
            "strip_question": self.strip_question, "opened_fence": self.opened_fence, "stop": list(self.stop),
            "tabs_to_spaces": self.tabs_to_spaces,
        }, ensure_ascii=False, sort_keys=True, indent=1)

    def render(self, question: str, starter_code: str = "") -> str:
        """The full raw prompt. Plain concatenation, never str.format: problems contain braces."""
        if self.strip_question:
            question = question.strip()
        if starter_code and self.with_starter is not None:
            before, _, after = self.with_starter.partition(STARTER)
            tail = before + starter_code + after
        else:
            tail = self.without_starter
        return self.head + question + tail


# LiveCodeBench, CodeQwenInstruct style (Code-R1 and its base on LiveCodeBench), as paper Fig 24
# prints it; the differences to LCB@3a2406e are in docs/models.md and the caveat.
_LCB_TAIL = "\n```\n\n<|im_end|>\n<|im_start|>assistant\n```python"
LCB_CODEQWEN = CodeTemplate(
    name="lcb-codeqwen",
    source=("paper Fig 24 (v2, p. 29) for the layout; its placeholders filled with LCB@3a2406e "
            "(LiveCodeBench/LiveCodeBench 3a2406eed1f59988c58dc3e5ebbee03703251b80, "
            "lcb_runner/prompts/code_generation.py: SYSTEM_MESSAGE_CODEQWEN, FORMATTING_MESSAGE_WITH_STARTER_CODE, "
            "FORMATTING_WITHOUT_STARTER_CODE, get_codeqwen_question_template_answer); stop: "
            "lcb_runner/runner/parser.py --stop"),
    verified=True,
    opened_fence="```python",
    stop=("###",),
    head=("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
          f"{LCB_INSTRUCTION}\n\nQuestion: "),
    with_starter=f"\n\n### Format: {LCB_FORMAT_WITH_STARTER}\n```python\n{STARTER}{_LCB_TAIL}",
    without_starter=f"\n\n### Format: {LCB_FORMAT_WITHOUT_STARTER}\n```python\n# YOUR CODE HERE{_LCB_TAIL}",
    caveat=("Fig 24 differs from LCB's code in two places and is followed here: a '### Format: ' before the "
            "formatting message (the figure breaks that line only because it is too wide: the PDF keeps the "
            "trailing space of a wrapped line), and no blank line after '<|im_start|>user' (LCB writes "
            "'<|im_start|>user\\n\\nYou will be given'). Fig 24 names the stdin message "
            "FORMATTING_MESSAGE_WITHOUT_STARTER_CODE, a name LCB never had; LCB's FORMATTING_WITHOUT_STARTER_CODE "
            "(text of 2024-12-26 onward) is used. Whether a newline follows the appended '```python' is not "
            "shown; none is written (the paper: 'we append ```python to the end of the prompt'). "
            "'lcb-codeqwen-upstream' is LCB's own text."),
)

# The same prompt exactly as LCB@3a2406e builds it, plus the paper's appended "```python".
LCB_CODEQWEN_UPSTREAM = CodeTemplate(
    name="lcb-codeqwen-upstream",
    source=("LCB@3a2406e (LiveCodeBench/LiveCodeBench 3a2406eed1f59988c58dc3e5ebbee03703251b80, "
            "lcb_runner/prompts/code_generation.py, LMStyle.CodeQwenInstruct) + the '```python' the paper "
            "appends (Fig 24 caption); stop: lcb_runner/runner/parser.py --stop"),
    verified=True,
    opened_fence="```python",
    stop=("###",),
    head=("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n\n"
          f"{LCB_INSTRUCTION}\n\nQuestion: "),
    with_starter=f"\n\n{LCB_FORMAT_WITH_STARTER}\n```python\n{STARTER}{_LCB_TAIL}",
    without_starter=f"\n\n{LCB_FORMAT_WITHOUT_STARTER}\n```python\n# YOUR CODE HERE{_LCB_TAIL}",
    caveat="alternative only: the paper's Fig 24 shows a different layout (see lcb-codeqwen)",
)

# evalplus chat prompt (Code-R1 and its base on HumanEval+ / MBPP+): make_raw_chat_prompt's user
# and assistant messages through the Qwen2.5 chat template, cut at the magic splitter, so the
# prompt ends with the response prefix and an opened "```python\n".
_EVALPLUS_BODY = f"<|im_start|>user\n{EVALPLUS_INSTRUCTION}\n```\n"
_EVALPLUS_TAIL = f"\n```\n<|im_end|>\n<|im_start|>assistant\n{EVALPLUS_RESPONSE}\n```python\n"
EVALPLUS_CHAT = CodeTemplate(
    name="evalplus-chat",
    source=("evalplus@v0.3.1 (evalplus/evalplus e5d0ed0bab96280b60b637ec7f15b5e4841b0cb2: evalplus/codegen.py, "
            "evalplus/provider/utility.py make_raw_chat_prompt and EOS, evalplus/provider/vllm.py) rendered with "
            "the Qwen2.5 chat template (default system turn: QwenLM/Qwen2.5 905ca2080093d9b2c0539c388c43cc008c3add21 "
            "docs/source/getting_started/concepts.md); paper Fig 25"),
    verified=True,
    opened_fence="```python\n",
    stop=EVALPLUS_CHAT_STOP,
    head=f"<|im_start|>system\n{QWEN25_DEFAULT_SYSTEM}<|im_end|>\n{_EVALPLUS_BODY}",
    without_starter=_EVALPLUS_TAIL,
    strip_question=True,
    tabs_to_spaces=True,
    extraction="evalplus",
    caveat=("Fig 25 prints the system turn 'You are a helpful assistant.'; evalplus passes no system message, "
            "so the Qwen2.5 template writes its default 'You are Qwen, created by Alibaba Cloud. You are a "
            "helpful assistant.' (the Qwen2.5-1M tokenizer config itself was not read: the Qwen2.5 template is "
            "assumed). 'evalplus-chat-fig25' is the figure's text. Code-R1's own numbers came from an internal "
            "generator (ganler/code-r1 issue #21)"),
)
EVALPLUS_CHAT_FIG25 = CodeTemplate(
    name="evalplus-chat-fig25",
    source="paper Fig 25 (v2, p. 29); otherwise as evalplus-chat",
    verified=True,
    opened_fence="```python\n",
    stop=EVALPLUS_CHAT_STOP,
    head=f"<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{_EVALPLUS_BODY}",
    without_starter=_EVALPLUS_TAIL,
    strip_question=True,
    tabs_to_spaces=True,
    extraction="evalplus",
    caveat="alternative only: Fig 25's system turn, which evalplus with a Qwen2.5 tokenizer does not write",
)

# DeepCoder-14B and its base R1-Distill-Qwen-14B on LiveCodeBench (paper Fig 3): rllm's LCB
# prompt as one user message, through the R1-Distill chat template. Note that rllm puts nothing
# between the problem and "### Format:" (LCB problems end without a newline).
DEEPCODER = CodeTemplate(
    name="deepcoder",
    source=("rllm@18e446c (agentica-project/rllm 18e446c56f7af9a749ce1dd79ee85837a35ac1de: rllm/data/utils.py "
            "fetch_live_code_bench_system_prompt, rllm/system_prompts.py LCB_*) in the R1-Distill chat template "
            "(generation prompt '<｜Assistant｜><think>\\n'), applied as in Jingchensun/limit-of-RLVR "
            "a061b491923fc542fb8f61243b25dac2aa9b3289 code/DeepCoder/verl/verl/trainer/main_generation_vllm2.py "
            "(stop = tokenizer.eos_token)"),
    verified=True,
    opened_fence=None,
    extraction="rllm",
    test_rules="rllm",
    stop=(R1_DISTILL_EOS,),
    head=f"<｜begin▁of▁sentence｜><｜User｜>{LCB_SYSTEM_GENERIC}\n\n",
    with_starter=(f"### Format: {LCB_FORMAT_WITH_STARTER}\n```python\n{STARTER}\n```\n\n"
                  "### Answer: (use the provided format with backticks)\n\n<｜Assistant｜><think>\n"),
    without_starter=(f"### Format: {LCB_FORMAT_WITHOUT_STARTER}\n```python\n# YOUR CODE HERE\n```\n\n"
                     "### Answer: (use the provided format with backticks)\n\n<｜Assistant｜><think>\n"),
    caveat=("the chat template's '<think>\\n' is that of the hub revisions from 2025-02-09 on; "
            "DeepCoder-14B-Preview's own tokenizer config was not read. The prompt text starts with the BOS "
            "token; an engine that also adds BOS when tokenizing (vLLM with a raw string, as the authors' "
            "script did) sends it twice. The authors' LiveCodeBench file (Google Drive) was not seen; rllm "
            "builds it from LCB question_content"),
)

CODE_TEMPLATES: dict[str, CodeTemplate] = {
    t.name: t for t in (LCB_CODEQWEN, LCB_CODEQWEN_UPSTREAM, EVALPLUS_CHAT, EVALPLUS_CHAT_FIG25, DEEPCODER)
}


def get_code_template(name: str) -> CodeTemplate:
    try:
        return CODE_TEMPLATES[name]
    except KeyError:
        raise UnknownNameError(
            f"code prompt template {name!r} is not available; known: {', '.join(CODE_TEMPLATES)}"
        ) from None
