"""Per-problem results of one (arm, benchmark) run: the input of every analysis."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from repro import metrics, stats


@dataclass(frozen=True)
class RunResult:
    arm: str
    benchmark: str
    problem_ids: tuple[str, ...]
    problem_indices: tuple[int, ...]
    n: np.ndarray = field(repr=False)
    c: np.ndarray = field(repr=False)
    backend: str = ""
    synthetic: bool = False  # a stand-in benchmark replaced absent data

    def __post_init__(self) -> None:
        if not (len(self.problem_ids) == len(self.n) == len(self.c) == len(self.problem_indices)):
            raise ValueError("problem ids, indices and counts differ in length")
        if len(self.n) == 0:
            raise ValueError(f"{self.arm} on {self.benchmark}: no problems")

    @property
    def max_k(self) -> int:
        return int(np.min(self.n))

    @property
    def problems(self) -> int:
        return len(self.n)

    def curve(self, ks) -> dict[int, float]:
        return metrics.pass_at_k_curve(self.n, self.c, [k for k in ks if k <= self.max_k])

    def value(self, k: int) -> float:
        return self.curve([k])[k]

    def variance(self, k: int, samples: int | None = None) -> float:
        """Sampling variance of pass@k of an estimate made from `samples` per problem
        (default: this run's own n), given this run's counts."""
        return stats.curve_variances(self.n, self.c, [k], samples)[k]

    def solved_indices(self) -> frozenset[int]:
        return frozenset(i for i, ci in zip(self.problem_indices, self.c) if ci > 0)

    def histogram(self) -> list[int]:
        return metrics.accuracy_histogram(self.n, self.c)
