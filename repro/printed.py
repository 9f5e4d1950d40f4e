"""Numbers the paper prints (expected/printed_values.csv) as expected values of a rerun.

An experiment names, for each printed number it can reproduce, the statistic of its results
that the number is (`PrintedRef`): a pass@k of one arm, a difference of two (the paper's
Delta_SE = pass@256 of the base minus pass@1 of the RL model), the smallest of several such
differences (Figure 8 prints the best algorithm's), or how many problems fall in one cell of
the solved-by-base x solved-by-RL table at the paper's n. Each statistic gives its rerun value
and two sampling variances -- of the rerun's estimate and of an estimate made from the paper's
n on the same problems -- from the same Jeffreys-posterior model as the curves (repro.stats),
so `repro.compare` scores a printed number exactly like a curve point, plus the number's own
rounding.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from repro import metrics, stats
from repro.benchmarks import get_benchmark
from repro.results import RunResult

Results = Mapping[tuple[str, str], RunResult]
PrintedKey = tuple[str, str, str, str]  # (source, row, benchmark, metric) of printed_values.csv


@dataclass(frozen=True)
class Estimate:
    value: float  # a fraction (pass@k, a difference of two, or a share of the problems)
    var_rerun: float
    var_paper: float
    detail: str = ""


@dataclass(frozen=True)
class PassAt:
    """pass@k of one arm on one benchmark."""

    arm: str
    benchmark: str
    k: int

    def needs(self) -> set[tuple[str, str]]:
        return {(self.arm, self.benchmark)}

    def estimate(self, results: Results, paper_n: int) -> Estimate | None:
        result = results.get((self.arm, self.benchmark))
        if result is None or self.k > result.max_k or self.k > paper_n:
            return None
        return Estimate(result.value(self.k), result.variance(self.k), result.variance(self.k, paper_n))

    def label(self) -> str:
        return f"{self.arm}@{self.k}"


@dataclass(frozen=True)
class Gap:
    """plus - minus: two pass@k values of independent samples on the same problems."""

    plus: PassAt
    minus: PassAt

    @property
    def benchmark(self) -> str:
        return self.plus.benchmark

    @property
    def k(self) -> int:
        return self.plus.k

    def needs(self) -> set[tuple[str, str]]:
        return self.plus.needs() | self.minus.needs()

    def estimate(self, results: Results, paper_n: int) -> Estimate | None:
        plus, minus = self.plus.estimate(results, paper_n), self.minus.estimate(results, paper_n)
        if plus is None or minus is None:
            return None
        return Estimate(plus.value - minus.value, plus.var_rerun + minus.var_rerun, plus.var_paper + minus.var_paper)

    def label(self) -> str:
        return f"{self.plus.label()} - {self.minus.label()}"


@dataclass(frozen=True)
class SmallestGap:
    """The smallest of several gaps (Figure 8 prints the best algorithm's Delta_SE): scored
    with the variances of the gap that is smallest in the rerun; every gap is in the detail."""

    gaps: tuple[tuple[str, Gap], ...]  # (name, gap)

    @property
    def benchmark(self) -> str:
        return self.gaps[0][1].benchmark

    @property
    def k(self) -> int:
        return self.gaps[0][1].k

    def needs(self) -> set[tuple[str, str]]:
        return set().union(*(gap.needs() for _, gap in self.gaps))

    def estimate(self, results: Results, paper_n: int) -> Estimate | None:
        estimates = [(name, gap.estimate(results, paper_n)) for name, gap in self.gaps]
        if any(estimate is None for _, estimate in estimates):
            return None
        name, smallest = min(estimates, key=lambda item: item[1].value)
        detail = "smallest: " + name + "; " + ", ".join(f"{n} {100 * e.value:.1f}" for n, e in estimates)
        return Estimate(smallest.value, smallest.var_rerun, smallest.var_paper, detail)

    def label(self) -> str:
        return "min over " + ", ".join(name for name, _ in self.gaps)


SOLVED_CATEGORIES = ("solved by both", "solved by base only", "solved by RL only", "solved by neither")


@dataclass(frozen=True)
class SolvedCount:
    """The share of problems in one cell of solved-by-base x solved-by-RL, "solved" meaning at
    least one correct answer in n samples. The rerun's value is the mean over problems of the
    product of the two models' unbiased estimates of P(solved in n) (pass@n per problem: the
    plain indicator when the rerun drew exactly n; the arms' samples are independent, so the
    product is unbiased too). The paper's count is one draw of the cells: with d_i each problem's
    chance of the cell under the Jeffreys posterior of its success rates (repro.stats), its
    variance is sum d_i (1 - d_i) / N^2; the rerun's estimate is given the same variance
    (conservative when its n is larger than the paper's)."""

    category: str  # one of SOLVED_CATEGORIES
    base: str
    rl: str
    benchmark: str
    n: int

    @property
    def k(self) -> int:
        return self.n

    def needs(self) -> set[tuple[str, str]]:
        return {(self.base, self.benchmark), (self.rl, self.benchmark)}

    def estimate(self, results: Results, paper_n: int) -> Estimate | None:
        base, rl = results.get((self.base, self.benchmark)), results.get((self.rl, self.benchmark))
        if base is None or rl is None:
            return None
        if base.problem_ids != rl.problem_ids:
            raise ValueError(f"{self.base} and {self.rl} on {self.benchmark} were not run on the same problems")
        if self.n > min(base.max_k, rl.max_k):
            return None
        observed = self._cell(metrics.pass_at_k_per_problem(base.n, base.c, self.n),
                              metrics.pass_at_k_per_problem(rl.n, rl.c, self.n))
        chance = self._cell(
            np.array([stats.solved_probability(int(c), int(n), self.n) for n, c in zip(base.n, base.c)]),
            np.array([stats.solved_probability(int(c), int(n), self.n) for n, c in zip(rl.n, rl.c)]))
        problems = len(chance)
        variance = float(np.sum(chance * (1 - chance))) / problems**2
        # A stand-in tier's first problems estimate a share of the whole benchmark's.
        subset = stats.subset_share_variance(float(observed.mean()), problems, get_benchmark(self.benchmark).size)
        return Estimate(float(observed.mean()), variance + subset, variance, f"{observed.sum():.1f} of {problems}")

    def _cell(self, base: np.ndarray, rl: np.ndarray) -> np.ndarray:
        """Each problem's chance of this cell, from each model's chance of solving it."""
        return {"solved by both": base * rl, "solved by base only": base * (1 - rl),
                "solved by RL only": (1 - base) * rl, "solved by neither": (1 - base) * (1 - rl)}[self.category]

    def label(self) -> str:
        return f"{self.category} (at n = {self.n})"


Statistic = PassAt | Gap | SmallestGap | SolvedCount


@dataclass(frozen=True)
class PrintedRef:
    """One printed number and the statistic of the rerun it is.

    `paper_n`: samples per problem behind the printed number. `scored_against`: where the text
    and a table disagree, the two table rows whose difference is scored instead (the text's
    number is shown beside it)."""

    printed: PrintedKey
    statistic: Statistic
    paper_n: int
    scored_against: tuple[PrintedKey, PrintedKey] | None = None

    def needs(self) -> set[tuple[str, str]]:
        return self.statistic.needs()
