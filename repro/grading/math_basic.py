"""A basic math grader: the last \\boxed{} answer, compared after light normalization as a
string or as a number.

This is deliberately simple (the foundation's smoke tier needs *a* grader); the grader
with the paper's full semantics (extraction order, symbolic equality, timeouts) is the
math issue's. Nothing here claims parity with the paper's evaluator.
"""

from __future__ import annotations

import re

from repro.benchmarks.math_files import last_boxed
from repro.grading import Verdict
from repro.problems import Problem

_SPACES = re.compile(r"\s+")
_TEXT_WRAPPER = re.compile(r"\\(?:text|textbf|mathrm|mbox)\{([^{}]*)\}")
_FRAC = re.compile(r"\\[dt]?frac\{([^{}]*)\}\{([^{}]*)\}")


def normalize(answer: str) -> str:
    text = answer.strip()
    text = _TEXT_WRAPPER.sub(r"\1", text)
    text = text.replace("\\left", "").replace("\\right", "").replace("\\!", "").replace("\\,", "")
    text = text.replace("$", "").replace("^\\circ", "").replace("^{\\circ}", "")
    text = _FRAC.sub(r"(\1)/(\2)", text)
    text = _SPACES.sub("", text)
    if text.endswith("."):
        text = text[:-1]
    return text.lower()


def _as_number(text: str) -> float | None:
    cleaned = text.replace(",", "")
    match = re.fullmatch(r"\(?(-?\d+(?:\.\d+)?)\)?/\(?(-?\d+(?:\.\d+)?)\)?", cleaned)
    if match:
        denominator = float(match.group(2))
        return float(match.group(1)) / denominator if denominator else None
    try:
        return float(cleaned)
    except ValueError:
        return None


def equivalent(predicted: str, truth: str) -> bool:
    a, b = normalize(predicted), normalize(truth)
    if a == b:
        return True
    x, y = _as_number(a), _as_number(b)
    if x is None or y is None:
        return False
    return abs(x - y) <= 1e-4 * max(abs(y), 1e-12) or x == y


def grade(problem: Problem, completion: str) -> Verdict:
    key, note = answer_key(problem, completion)
    return note if key is None else verdict_of(key, note, judge_key(key))


# The grader in two steps (repro.grading.pool.SplitGrader): the comparison reads the boxed
# answer and the ground truth only.


def answer_key(problem: Problem, completion: str) -> tuple[tuple[str, str] | None, Verdict | None]:
    extracted = last_boxed(completion)
    if extracted is None:
        return None, Verdict(False, None, "no \\boxed{} answer")
    return (extracted, problem.answer), None


def judge_key(key: tuple[str, str]) -> bool:
    return equivalent(*key)


def verdict_of(key: tuple[str, str], note: None, equal: bool) -> Verdict:
    return Verdict(equal, key[0])
