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

    def __init__(self, success_probability: Mapping[str, float], answers: Mapping[str, str]):
        missing = set(success_probability) - set(answers)
        if missing:
            raise ValueError(f"no answer for {len(missing)} simulated problems")
        for problem_id, p in success_probability.items():
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"success probability {p} of {problem_id} is outside [0, 1]")
        self._p = dict(success_probability)
        self._answers = dict(answers)

    def describe(self) -> dict[str, Any]:
        # The probabilities decide the samples, so their digest belongs in the store key.
        listing = "\n".join(f"{pid}\t{self._p[pid]!r}" for pid in sorted(self._p))
        return {
            "backend": self.name,
            "version": __version__,
            "probabilities_sha256": hashlib.sha256(listing.encode()).hexdigest(),
        }

    def analytic_pass_at_k(self, problem_ids: list[str], k: int) -> float:
        p = np.array([self._p[pid] for pid in problem_ids], dtype=np.float64)
        return float(np.mean(1.0 - (1.0 - p) ** k))

    def generate(self, requests: list[Request], params: SamplingParams) -> list[list[Completion]]:
        return [self._one_request(request) for request in requests]

    def _one_request(self, request: Request) -> list[Completion]:
        rng = np.random.default_rng(request.seed)
        correct = rng.random(request.n) < self._p[request.problem_id]
        truth = self._answers[request.problem_id]
        completions = []
        for is_correct in correct:
            # Short on purpose: simulated runs store millions of samples in the smoke tier.
            # A wrong sample states no answer at all: any wrong value could be slow for a
            # symbolic grader, and some (e.g. "(1,2) + 1") even pass the paper's evaluator.
            text = f"simulated \\boxed{{{truth}}}" if is_correct else "simulated: no final answer"
            completions.append(Completion(text=text, finish_reason="stop", num_tokens=len(text.split())))
        return completions

    def close(self) -> None:
        pass
