"""A backend without a model: each problem has a success probability p, and every sample
is a short text ending in a correct or a wrong final answer in the benchmark's format.

Its exact pass@k is known (mean over problems of 1-(1-p)^k), which makes it the ground
truth for tests of the estimator, the store, the comparison and the claims.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from repro import __version__
from repro.sampling.base import Completion, Request, SamplingParams


class SimulatedBackend:
    name = "simulated"

    def __init__(self, success_probability: Mapping[str, float], answers: Mapping[str, str],
                 right_texts: Mapping[str, str] | None = None, wrong_texts: Mapping[str, str] | None = None):
        """`right_texts`/`wrong_texts`: the completion of a correct/wrong sample per problem
        (code: a program that passes or fails the tests); default: a stated answer or none."""
        missing = set(success_probability) - set(answers)
        if missing:
            raise ValueError(f"no answer for {len(missing)} simulated problems")
        for problem_id, p in success_probability.items():
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"success probability {p} of {problem_id} is outside [0, 1]")
        self._p = dict(success_probability)
        self._answers = dict(answers)
        self._right = dict(right_texts) if right_texts is not None else None
        self._wrong = dict(wrong_texts) if wrong_texts is not None else None

    def describe(self) -> dict[str, Any]:
        # The probabilities decide the samples, so their digest belongs in the store key.
        listing = "\n".join(f"{pid}\t{self._p[pid]!r}" for pid in sorted(self._p))
        described = {
            "backend": self.name,
            "version": __version__,
            "probabilities_sha256": hashlib.sha256(listing.encode()).hexdigest(),
        }
        if self._right is not None or self._wrong is not None:
            texts = "\n".join(f"{pid}\t{self._text(pid, True)}\t{self._text(pid, False)}" for pid in sorted(self._p))
            described["texts_sha256"] = hashlib.sha256(texts.encode()).hexdigest()
        return described

    def analytic_pass_at_k(self, problem_ids: list[str], k: int) -> float:
        p = np.array([self._p[pid] for pid in problem_ids], dtype=np.float64)
        return float(np.mean(1.0 - (1.0 - p) ** k))

    def generate(self, requests: list[Request], params: SamplingParams) -> list[list[Completion]]:
        return [self._one_request(request) for request in requests]

    def _one_request(self, request: Request) -> list[Completion]:
        rng = np.random.default_rng(request.seed)
        correct = rng.random(request.n) < self._p[request.problem_id]
        completions = []
        for is_correct in correct:
            text = self._text(request.problem_id, bool(is_correct))
            completions.append(Completion(text=text, finish_reason="stop", num_tokens=len(text.split())))
        return completions

    def _text(self, problem_id: str, correct: bool) -> str:
        chosen = self._right if correct else self._wrong
        if chosen is not None:
            return chosen[problem_id]
        # Short on purpose: simulated runs store millions of samples in the smoke tier.
        # A wrong sample states no answer at all: any wrong value could be slow for a
        # symbolic grader, and some (e.g. "(1,2) + 1") even pass the paper's evaluator.
        return f"simulated \\boxed{{{self._answers[problem_id]}}}" if correct else "simulated: no final answer"

    def close(self) -> None:
        pass


def _wrong_program(problem) -> str:
    """A program that loads, defines the names the tests call (an evalplus entry point, or a
    LeetCode-style Solution method) returning None, and prints a wrong answer for stdin
    tests: wrong simulated samples go through the sandbox and fail their first test, as a
    real wrong answer would."""
    entry = problem.meta.get("entry_point")
    func_name = problem.meta.get("func_name")
    if entry:
        return f"def {entry}(*args, **kwargs):\n    return None\n"
    if func_name:
        return f"class Solution:\n    def {func_name}(self, *args, **kwargs):\n        return None\n"
    return 'print("simulated wrong answer")\n'


def code_texts(problems) -> tuple[dict[str, str], dict[str, str]]:
    """Completions of correct and wrong simulated code samples, per problem: the problem's
    reference program (the stand-in benchmarks carry one) and a program that fails, each in
    a fenced block as a chat model writes it."""
    right, wrong = {}, {}
    for problem in problems:
        reference = problem.meta.get("reference_solution")
        if not reference:
            raise ValueError(f"{problem.problem_id} has no reference solution to simulate a correct sample with")
        right[problem.problem_id] = f"Simulated program:\n```python\n{reference.rstrip()}\n```\n"
        wrong[problem.problem_id] = f"Simulated program:\n```python\n{_wrong_program(problem)}```\n"
    return right, wrong
