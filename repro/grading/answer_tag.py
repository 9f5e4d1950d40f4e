"""The `<answer>` rule: what a completion of an R1-Zero style prompt gives as its answer.

The VeRL prompt of paper Fig 27 (template `r1-zero`) and the evaluator's `deepseek-r1` template
ask for "<think> reasoning process here </think> <answer> answer here </answer>", and sampling
stops at "</answer>" (the stop string is not part of the text). The paper's evaluator has no
rule for the tag (LeapLabTHU/limit-of-RLVR at fd2cf37, `math/examples/math_eval/parser.py`:
boxed, "the answer is", last number); it only cuts the output at its stop words
(`math_eval.py` lists "</answer>" for the deepseek prompt types). So `<answer> \\frac{3}{4}` would
be read as its last number, "4". The rule here reads the tag first, as the reward functions of
R1-Zero style training do:

- sail-sg/understand-r1-zero (Dr. GRPO), `r1_zero_reward_fn` (the grader CS336's assignment 5
  ships as `drgrpo_grader.py`): the text after the LAST "<answer>", with "</answer>" removed; if
  it holds a `\\boxed`, the boxed content is the answer;
- Jiayi-Pan/TinyZero, `verl/utils/reward_score/countdown.py` (a VeRL reward): the last
  `<answer>...</answer>` pair.

What we take from them, and what we add (learned from, no code copied):
- the last opening tag counts (a model that revises writes a later tag; a tag mentioned while
  thinking is overridden by the final one);
- the answer ends at the first "</answer>" after that tag, or at the end of the text when there
  is none: the stop string removed it, or the output was truncated (TinyZero would find no
  answer there; completions sampled with the stop string never hold the closing tag);
- a closing tag cut short by truncation ("</ans") is not part of the answer;
- a `\\boxed{...}` inside the tag wins over the raw tag content (Dr. GRPO), brace-matched like
  the evaluator's own boxed rule (an unclosed box gives what follows it);
- no opening tag at all: None, and the caller applies the evaluator's rules unchanged. An empty
  tag is an empty answer (""), not a reason to look elsewhere: the model wrote its answer
  there, and reading the last number of its thinking instead would reward a broken format.

This module imports nothing heavy: training code can call `answer_tag_content` directly
(`repro.grading.math_reward.answer_reward` is the reward built on it).
"""

from __future__ import annotations

# Templates whose completions are read with this rule (names of repro.prompts.TEMPLATES;
# grading sits below the prompts layer, so the names are repeated here and a test ties them).
ANSWER_TAG_TEMPLATES = frozenset({"r1-zero", "deepseek-r1"})

OPEN_TAG = "<answer>"
CLOSE_TAG = "</answer>"


def brace_content(tail: str) -> str:
    """Text inside the braces that open `tail`, braces matched (all of it if never closed); the
    evaluator's boxed route (repro.grading.math_paper) reads braces the same way."""
    depth = 0
    for position, char in enumerate(tail):
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return tail[1:position]
    return tail[1:]


def _last_boxed(text: str) -> str | None:
    """Content of the last 'boxed' in `text` ('boxed{...}' brace-matched, 'boxed 5' up to a
    '$'), None when there is no 'boxed'. The same reading as the evaluator's boxed route
    (repro.grading.math_paper), so a box means the same thing inside and outside the tag."""
    if "boxed" not in text:
        return None
    tail = text.rsplit("boxed", 1)[1]
    if tail.startswith("{"):
        return brace_content(tail)
    return tail.split("$")[0]


def _without_partial_close(content: str) -> str:
    """`content` without a closing tag cut short at its end ("12 </answ": an output truncated
    while writing the stop string); at least "</" must be there, so "x <" keeps its "<"."""
    for length in range(len(CLOSE_TAG) - 1, 1, -1):
        if content.endswith(CLOSE_TAG[:length]):
            return content[:-length]
    return content


def answer_tag_content(completion: str) -> str | None:
    """The answer a completion gives inside its last `<answer>` tag, stripped; None if it has
    no `<answer>` tag.

    The closing tag is optional (generation stops at it, and truncated outputs lack it); a
    `\\boxed{}` inside the tag gives its content instead of the raw tag text.
    """
    start = completion.rfind(OPEN_TAG)
    if start < 0:
        return None
    content = completion[start + len(OPEN_TAG):]
    end = content.find(CLOSE_TAG)
    if end >= 0:
        content = content[:end]
    else:
        content = _without_partial_close(content)
    boxed = _last_boxed(content)
    return (boxed if boxed is not None else content).strip()
