"""Prompt templates, as raw text (the paper's evaluator formats strings itself and does not
apply tokenizer chat templates for the math models). All are zero-shot.

The texts are data the paper used and are reproduced character for character; each names
its source. `verified` is True only for a text checked against that source (tests/
test_prompts.py pins each rendering by sha256); unverified ones are flagged in `repro list`
and in every report, so nobody mistakes them for the paper's. docs/models.md says which
model uses which template and why.

Official source, cited below as "utils.py@fd2cf37": LeapLabTHU/limit-of-RLVR, commit
fd2cf37f05cc7dced9c558fa358a18e0497cb463, math/examples/math_eval/utils.py,
`PROMPT_TEMPLATES`. Its entries are Python format strings (`\\boxed{{}}`); the texts here are
what they render to, with `{question}` where the evaluator puts `{input}`.
"""

from __future__ import annotations

from dataclasses import dataclass

from repro.errors import UnknownNameError

PLACEHOLDER = "{question}"


@dataclass(frozen=True)
class Template:
    name: str
    text: str  # contains exactly one "{question}"
    source: str
    verified: bool
    caveat: str = ""  # what the source leaves open, where something does

    def render(self, question: str) -> str:
        # str.replace, not str.format: questions contain braces (LaTeX) and backslashes.
        # The evaluator strips spaces (only spaces) from both ends of the prompt it builds
        # (utils.py@fd2cf37 `construct_prompt`); doing the same keeps renderings identical.
        return self.text.replace(PLACEHOLDER, question).strip(" ")


TEMPLATES: dict[str, Template] = {
    t.name: t
    for t in (
        # SimpleRL-Zoo models and their bases, Oat-Zero and Qwen2.5-Math-7B (official
        # math/README.md), and this package's choice for the Fig 7 instruct and distilled models.
        Template(
            name="qwen-boxed",
            text=(
                "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
                "<|im_start|>user\n{question}\n"
                "Please reason step by step, and put your final answer within \\boxed{}.<|im_end|>\n"
                "<|im_start|>assistant\n"
            ),
            source="utils.py@fd2cf37 'qwen-boxed'; paper Fig 21 (SimpleRL prompt)",
            verified=True,
        ),
        # Oat-Zero's own prompt (paper Fig 22) = Qwen2.5-Math's CoT prompt. The official
        # README evaluated Oat-Zero with qwen-boxed instead ("similar performance"): kept as
        # the alternative for Oat-Zero and Qwen2.5-Math-7B-Instruct.
        Template(
            name="qwen25-math-cot",
            text=(
                "<|im_start|>system\nPlease reason step by step, and put your final answer within "
                "\\boxed{}.<|im_end|>\n"
                "<|im_start|>user\n{question}<|im_end|>\n"
                "<|im_start|>assistant\n"
            ),
            source="utils.py@fd2cf37 'qwen25-math-cot'; paper Fig 22 (Oat prompt)",
            verified=True,
        ),
        # DAPO-32B and its base: the official evaluator's "abel" entry, which the authors
        # overwrote with DAPO's old-version prompt (math/README.md: DAPO-Qwen-32B at HF revision
        # 38b8075427d3f7d12075377d1e40495875066189, inference/example.json). Plain text, no
        # special tokens; one newline around the question.
        Template(
            name="dapo",
            text=(
                "A conversation between user and assistant. The user asks a question, and the assistant "
                "solves it. The time limit is set to 20,480 tokens. If the assistant's response exceeds "
                "this limit, a progressively increasing penalty with the number of tokens exceeded will be "
                "applied.\nuser\nSolve the following math problem step by step. The last line of your "
                "response should be of the form Answer: $Answer (without quotes) where $Answer is the "
                "answer to the problem.\n{question}\n"
                'Remember to put your answer on its own line after "Answer:".\nassistant'
            ),
            source="utils.py@fd2cf37 'abel' (overwritten there with DAPO's old-version prompt)",
            verified=True,
        ),
        # The VeRL runs on Omni-MATH-Rule and their base: paper Fig 27, "Prompt for VeRL
        # training on Omni-math-train and evaluation on Omni-math-eval and MATH500".
        Template(
            name="r1-zero",
            text=(
                "A conversation between User and Assistant. The user asks a question, and the "
                "Assistant solves it. The assistant first thinks about the reasoning process in the "
                "mind and then provides the user with the answer. The reasoning process and answer "
                "are enclosed within <think> </think> and <answer> </answer> tags, respectively, "
                "i.e., <think> reasoning process here </think> <answer> answer here </answer>. "
                "User: {question}\nAssistant:"
            ),
            source="paper Fig 27 (v2, p. 30)",
            verified=True,
            caveat=("Fig 27 sets the prompt as wrapped text and 'Assistant:' starts a line exactly where the "
                    "line is full, so the figure cannot tell a newline from a space; read as a newline "
                    "('User: {}\\nAssistant:'), the form common in VeRL data-preparation scripts"),
        ),
        # The evaluator's R1-Zero prompt (DeepSeek-R1's wording: a "." after the question and
        # one space before "Assistant:"). Fig 27 drops the "."; kept as the alternative.
        Template(
            name="deepseek-r1",
            text=(
                "A conversation between User and Assistant. The user asks a question, and the "
                "Assistant solves it. The assistant first thinks about the reasoning process in the "
                "mind and then provides the user with the answer. The reasoning process and answer "
                "are enclosed within <think> </think> and <answer> </answer> tags, respectively, "
                "i.e., <think> reasoning process here </think> <answer> answer here </answer>. "
                "User: {question}. Assistant:"
            ),
            source="utils.py@fd2cf37 'deepseek-r1'",
            verified=True,
        ),
        # The AIME24 guessing filter of Fig 12 (App. D.2): Qwen2.5-7B-Base is prompted "to answer
        # questions directly, without using chain-of-thought reasoning". The paper prints no
        # wording: this text is this project's reading -- qwen-boxed's frame with its "reason step
        # by step" line replaced by a request for the bare answer. The short max_new_tokens of
        # the filter run (repro.aime_filter) is what rules out a chain of thought; the text only
        # asks for none.
        Template(
            name="direct-answer",
            text=(
                "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
                "<|im_start|>user\n{question}\n"
                "Answer directly, without any reasoning: give only the final answer, within \\boxed{}.<|im_end|>\n"
                "<|im_start|>assistant\n"
            ),
            source="this project's reading of paper App. D.2 (no template printed); frame of utils.py@fd2cf37 "
                   "'qwen-boxed'",
            verified=False,
            caveat="the paper does not print its direct-answer prompt",
        ),
        # Qwen2.5-VL-7B-Instruct and its EasyR1 GRPO model on MathVista / MathVision: paper
        # Fig 26. One image, placed where Qwen2.5-VL's chat template puts an image given before
        # the text of the user turn; engines expand the single <|image_pad|> into the image's
        # vision tokens (vLLM from the request's multi-modal data, transformers' processor).
        Template(
            name="visual-r1",
            text=(
                "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant. "
                "You FIRST think about the reasoning process as an internal monologue and then provide the "
                "final answer. The reasoning process MUST BE enclosed within <think> </think> tags. The final "
                "answer MUST BE put in \\boxed{}.<|im_end|>\n"
                "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>{question}<|im_end|>\n"
                "<|im_start|>assistant\n"
            ),
            source=("paper Fig 26 (v2, p. 30); the part from 'You FIRST think' is EasyR1's SYSTEM_PROMPT "
                    "(hiyouga/EasyR1 examples/qwen2_5_vl_7b_geo3k_grpo.sh at 3b9ae08)"),
            verified=True,
            caveat=("Fig 26 sets {question} on the line after <|vision_end|>; Qwen2.5-VL's chat template, "
                    "through which EasyR1 builds its prompts (an image item, then the text item), writes "
                    "no newline there, and none is written here. The 'You are Qwen, created by Alibaba "
                    "Cloud.' prefix is in the figure but not in EasyR1's examples: kept, as printed"),
        ),
    )
}

IMAGE_PLACEHOLDER = "<|vision_start|><|image_pad|><|vision_end|>"


def get_template(name: str) -> Template:
    try:
        return TEMPLATES[name]
    except KeyError:
        raise UnknownNameError(
            f"prompt template {name!r} is not available yet; known: {', '.join(TEMPLATES)}"
        ) from None


def render_prompt(name: str, problem) -> str:
    """The raw prompt of `problem` under template `name`, math or code (repro.code_prompts;
    a code template takes the problem's starter code from `meta`, "" for stdin problems)."""
    from repro.code_prompts import CODE_TEMPLATES, get_code_template

    if name in TEMPLATES:
        return get_template(name).render(problem.question)
    if name in CODE_TEMPLATES:
        return get_code_template(name).render(problem.question, problem.meta.get("starter_code", ""))
    known = ", ".join([*TEMPLATES, *CODE_TEMPLATES])
    raise UnknownNameError(f"prompt template {name!r} is not available; known: {known}")


def template_text(name: str) -> str:
    """The fixed text of template `name`, math or code: its sha256 goes into the store key."""
    from repro.code_prompts import CODE_TEMPLATES, get_code_template

    if name in TEMPLATES:
        return get_template(name).text
    if name in CODE_TEMPLATES:
        return get_code_template(name).text
    known = ", ".join([*TEMPLATES, *CODE_TEMPLATES])
    raise UnknownNameError(f"prompt template {name!r} is not available; known: {known}")
