"""Prompt templates, as raw text (the paper's evaluator formats strings itself and does not
apply tokenizer chat templates for the math models).

Each template records whether its text is verified character for character against the
paper's sources (`verified`); unverified ones are used by the pipeline but flagged in
`repro list` and in every report, so nobody mistakes them for the paper's.
"""

from __future__ import annotations

from dataclasses import dataclass

from repro.errors import UnknownNameError


@dataclass(frozen=True)
class Template:
    name: str
    text: str  # contains exactly one "{question}"
    source: str
    verified: bool

    def render(self, question: str) -> str:
        # str.replace, not str.format: questions contain braces (LaTeX).
        return self.text.replace("{question}", question)


TEMPLATES: dict[str, Template] = {
    t.name: t
    for t in (
        Template(
            name="qwen-boxed",
            text=(
                "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
                "<|im_start|>user\n{question}\n"
                "Please reason step by step, and put your final answer within \\boxed{}.<|im_end|>\n"
                "<|im_start|>assistant\n"
            ),
            source="paper Fig 21; the official evaluator's 'qwen-boxed' template",
            verified=True,
        ),
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
            source="paper Fig 27 (the evaluator's 'deepseek-r1' variant differs: see docs)",
            verified=False,
        ),
        Template(
            name="dapo",
            text=(
                "Solve the following math problem step by step. The last line of your response "
                "should be of the form Answer: $Answer (without quotes) where $Answer is the answer "
                "to the problem.\n\n{question}\n\n"
                'Remember to put your answer on its own line after "Answer:".'
            ),
            source="DAPO's prompt, user part only; the full old-version text is pinned in the math issue",
            verified=False,
        ),
    )
}


def get_template(name: str) -> Template:
    try:
        return TEMPLATES[name]
    except KeyError:
        raise UnknownNameError(
            f"prompt template {name!r} is not available yet; known: {', '.join(TEMPLATES)}"
        ) from None
