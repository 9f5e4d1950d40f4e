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

    def bin_chances(self, samples: int | None = None) -> np.ndarray:
        """(problems x bins): each problem's chance of landing in each accuracy bin when drawn
        again with `samples` samples (default: this run's n), under the Jeffreys posterior of its
        success rate (repro.stats). Row sums are 1; the column sums are the expected histogram."""
        chances = np.zeros((self.problems, len(metrics.HISTOGRAM_BINS)))
        cache: dict[tuple[int, int, int], np.ndarray] = {}
        for i, (n, c) in enumerate(zip(self.n, self.c)):
            m = int(n) if samples is None else int(samples)
            key = (int(c), int(n), m)
            if key not in cache:
                pmf = stats.predictive_count_pmf(*key)
                row = np.zeros(len(metrics.HISTOGRAM_BINS))
                for correct, weight in enumerate(pmf):
                    row[metrics.accuracy_bin(m, correct)] += weight
                cache[key] = row
            chances[i] = cache[key]
        return chances

    def histogram_share_variances(self, samples: int | None = None) -> np.ndarray:
        """Variance of each bin's share of problems in a draw with `samples` samples per problem:
        a sum of independent Bernoulli cells, sum_i q_ib (1 - q_ib) / N^2."""
        chances = self.bin_chances(samples)
        return (chances * (1 - chances)).sum(axis=0) / self.problems**2

    def solved_chances(self, samples: int) -> np.ndarray:
        """Each problem's chance of being solved at least once in `samples` new samples."""
        return np.array([stats.solved_probability(int(c), int(n), samples) for n, c in zip(self.n, self.c)])
