"""The adaptive tier's method: sample in rounds, and stop each verdict once the full tier's
verdict is sure (docs/statistics.md, "The adaptive tier").

Every run (arm, benchmark) starts with one round of SAMPLES_PER_ROUND samples per problem.
After each look, the verdicts still open choose which problems of which runs get more: a chosen
problem goes to the next size of the ladder 32, 64, 128, ... doubling up to the full tier's n,
so a run has at most 1 + log2(n / 32) looks, and its samples are always a prefix of the full
tier's (round r of a problem has the same seed in every tier).

The target is the full tier's verdict, taken with its own rule (repro.compare, repro.claims) on
all n samples. With m_i of them drawn for problem i (c_i correct), the pass@k estimate is
- m_i >= k: Chen et al.'s unbiased estimate; the full tier's (from n) differs from it by a
  noise of variance Var(ours) - Var(full), both Jeffreys-posterior expectations (repro.stats);
- m_i < k, c_i >= EXTRAPOLATE_MIN_CORRECT: the posterior mean 1 - E[(1-p)^k] (Jeffreys); the
  full tier's differs by the posterior error plus its own noise;
- m_i < k, c_i >= 1 and k > n - c_i (k = n in particular): exactly 1, as the full tier's will be;
- otherwise unknown: carried as 1/2 with a worst-case error of 1/2, added as a bound.
A verdict is settled when the full tier's value, within `bound + z sd` of ours, is on one side
of the full tier's threshold (for a pass, the threshold of the problems already drawn to k); z spends PREDICTION_ERROR over the looks before the last (a union
bound: a verdict settled early differs from the full tier's with probability at most 1%). A
verdict open at its last look is the full tier's test on the data in hand.

Open verdicts ask for every problem of their runs that is not saturated (whose full-tier
estimate cannot move by SATURATED_SD): the problems still sampled go up together, because
choosing among them by their counts would bias the estimate.

Solved sets (claim 2, Tables 4 and 5): a problem solved once is solved in the full tier, the
others go to the full n, so the sets are the full tier's; a solved problem goes on until its
chance of being solved in n (the weight the full tier's rule gives it) is SOLVED_SURE. Verdicts the method does not cover (accuracy
histograms, solved-count cells) ask for the full n on their runs: their verdicts are then the
full tier's own, on the same samples.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from math import sqrt
from statistics import NormalDist

import numpy as np

from repro import stats
from repro.claims import (CLAIM_Z, FAILS, HOLDS, INCONCLUSIVE, LARGEST, AboveEverywhere, Crossing, Greater,
                          NearlySubset, Similar, combine)
from repro.compare import FAIL, PASS
from repro.expected import curve_points, find_printed, load_curves, load_printed
from repro.experiments import Experiment
from repro.printed import Gap, PassAt, SmallestGap
from repro.results import RunResult
from repro.tiers import SAMPLES_PER_ROUND

EXTRAPOLATE_MIN_CORRECT = 5
PREDICTION_ERROR = 0.01  # chance, per verdict, that a verdict settled early is not the full tier's
SATURATED_SD = 0.001  # a problem whose full-tier estimate can move by less than this needs no more samples
SOLVED_SURE = 0.999  # a solved problem's chance of being solved in n, beyond which its weight is settled
OPEN = "open"
RunKey = tuple[str, str]  # (arm, benchmark)


def ladder(n: int) -> list[int]:
    """Sample sizes of the looks: 32, 64, ... doubling, then n."""
    sizes, m = [], min(SAMPLES_PER_ROUND, n)
    while m < n:
        sizes.append(m)
        m *= 2
    return sizes + [n]


@dataclass(frozen=True)
class Rule:
    """How a verdict may be settled before its runs reach the full n.

    Always: once the full tier's verdict is predicted (agreement by design; docs/statistics.md).
    With `own_points` / `own_claims`: also by the adaptive tier's own test of the samples in hand,
    the full tier's test with the variance of our estimate around the true value in place of the
    full tier's, its failures spending the verdict's error rate over the looks; a point passes that
    way only once its tolerance is within `resolution` (the departure the tier promises to see)."""

    own_points: bool = False
    own_claims: bool = False
    resolution: float = 0.03


PREDICT = Rule()


def spent_z(z: float, looks: int, sides: int = 2) -> float:
    """The z of a test at level alpha(z) split evenly over the looks before the last."""
    alpha = sides * (1 - NormalDist().cdf(z))
    return NormalDist().inv_cdf(1 - alpha / sides / max(looks - 1, 1))


def predict_z(look: int, looks: int) -> float:
    """One-sided z with which a verdict is settled before its last look: PREDICTION_ERROR spent
    evenly over the looks before the last (at the last, the verdict is the full tier's test on
    the data in hand). By the union bound a verdict settled at any look differs from the full
    tier's with probability at most PREDICTION_ERROR, whatever the stopping."""
    return NormalDist().inv_cdf(1 - PREDICTION_ERROR / max(looks - 1, 1))


@lru_cache(maxsize=1 << 16)
def _variance(c: int, m: int, target: int, k: int) -> float:
    return float(stats.problem_variances(c, m, target, (k,))[0])


def _per_distinct_count(c: np.ndarray, m: np.ndarray, function: Callable[[int, int], float]) -> np.ndarray:
    """function(c_i, m_i) per problem, computed once per distinct (c, m): most problems of a run
    share a few counts (never or always solved)."""
    if not len(c):
        return np.empty(0)
    width = int(m.max()) + 1
    keys, inverse = np.unique(c.astype(np.int64) * width + m, return_inverse=True)
    values = np.array([function(key // width, key % width) for key in keys.tolist()])
    return values[inverse.reshape(-1)]


def _grouped_variances(c: np.ndarray, m: np.ndarray, target: int | None, k: int) -> np.ndarray:
    """Per-problem posterior-expected variance of pass@k from `target` samples (None: each
    problem's own m)."""
    return _per_distinct_count(c, m, lambda ci, mi: _variance(ci, mi, mi if target is None else target, k))


def _solved_chances(c: np.ndarray, m: np.ndarray, n: int) -> np.ndarray:
    """stats.solved_probability(c_i, m_i, n) per problem."""
    return _per_distinct_count(c, m, lambda ci, mi: stats.solved_probability(ci, mi, n))


@dataclass(frozen=True)
class Value:
    """One curve value (or a sum of signed ones) as the adaptive tier sees it."""

    estimate: float
    bound: float  # worst-case error of the unknown problems (added, not squared)
    remaining: float  # variance of (the full tier's estimate - ours)
    var_full: float  # the full tier's variance at its n, predicted from the counts so far
    var_paper: float  # the variance of an estimate from the paper's n
    var_own: float = 0.0  # the variance of ours around the true value (the adaptive tier's own test)
    # var_full + var_paper over the problems drawn to k or more only: the others' variances are
    # predicted from few counts and may shrink once drawn, so a pass is settled against this
    var_sure: float = 0.0

    def __add__(self, other: Value) -> Value:
        return Value(self.estimate + other.estimate, self.bound + other.bound, self.remaining + other.remaining,
                     self.var_full + other.var_full, self.var_paper + other.var_paper, self.var_own + other.var_own,
                     self.var_sure + other.var_sure)

    def scaled(self, sign: float) -> Value:
        return Value(sign * self.estimate, self.bound, self.remaining, self.var_full, self.var_paper, self.var_own,
                     self.var_sure)

    def reach(self, z: float) -> float:
        """How far the full tier's value may lie from ours: bound + z sd of the rest."""
        return self.bound + z * sqrt(self.remaining)


@dataclass
class RunState:
    """Samples drawn so far of one run: m[i] samples of problem i, c[i] of them correct."""

    n: int  # the full tier's n
    m: np.ndarray
    c: np.ndarray
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def problems(self) -> int:
        return len(self.m)

    def terms(self, k: int) -> dict[str, np.ndarray]:
        """Per-problem estimate, its variance, its worst-case error (`half_width`), and the
        variances the full tier would have at n (the yardstick of a settled pass) -- at pass@k."""
        if k not in self._cache:
            m, c = self.m, self.c
            est, var, half_width = np.full(len(m), 0.5), np.zeros(len(m)), np.zeros(len(m))
            known = m >= k
            extrapolated = ~known & (c >= EXTRAPOLATE_MIN_CORRECT)
            if known.any():
                est[known] = stats.unbiased_pass_at_k(m[known], c[known], k)
                var[known] = _grouped_variances(c[known], m[known], None, k)
            if extrapolated.any():
                once = stats.posterior_failure_moments(c[extrapolated], m[extrapolated], k)
                twice = stats.posterior_failure_moments(c[extrapolated], m[extrapolated], 2 * k)
                est[extrapolated] = 1 - once
                var[extrapolated] = np.maximum(twice - once**2, 0.0)
            var_full = _grouped_variances(c, m, self.n, min(k, self.n))
            # A problem solved c >= 1 times in its first m samples is solved at least c times in
            # the full tier's n; where k > n - c every k of those n samples hold a success, so the
            # full tier's estimate is exactly 1 whatever the rest holds (at k = n: solved once is
            # solved, which is what the crossing claim at the largest k reads). No prior needed.
            certain = ~known & (c >= 1) & (self.n - c < min(k, self.n))
            est[certain], var[certain] = 1.0, 0.0
            extrapolated &= ~certain
            unknown = ~known & ~extrapolated & ~certain
            half_width[unknown] = 0.5  # never solved yet, or too rarely: the full tier's value can be anything in [0, 1]
            # How far the full tier's estimate may still move from ours: for nested unbiased
            # estimates Var(full - ours) = Var(ours) - Var(full) (docs/statistics.md); beyond
            # m the posterior's error and the full tier's own noise add up; a certain value does
            # not move.
            remaining = np.where(known, np.maximum(var - var_full, 0.0), np.where(certain, 0.0, var + var_full))
            # Around the true value (the adaptive tier's own test): our estimate's variance, and
            # for a certain value the full tier's own noise around the truth.
            own = np.where(certain, var_full, var)
            self._cache[k] = {"est": est, "var": own, "unknown": unknown, "half_width": half_width, "known": known,
                              "var_full": var_full, "remaining": remaining}
        return self._cache[k]

    def value(self, k: int, paper_n: int | None = None) -> Value:
        t = self.terms(k)
        size = self.problems
        var_paper = np.zeros(size)
        if paper_n is not None:
            var_paper = _grouped_variances(self.c, self.m, paper_n, k)
        sure = float((t["var_full"] + var_paper)[t["known"]].sum()) / size**2
        return Value(float(t["est"].mean()), float(t["half_width"].sum()) / size,
                     float(t["remaining"].sum()) / size**2, float(t["var_full"].sum()) / size**2,
                     float(var_paper.sum()) / size**2, float(t["var"].sum()) / size**2, sure)

    def wanted(self, k: int) -> np.ndarray:
        """Problems that a next round could still move at pass@k: all but the saturated ones
        (the full tier's estimate of theirs cannot move by more than SATURATED_SD, and its
        bound is as narrow). They all go up together: choosing among them by their counts would
        bias the estimate (a problem stopped because it looked easy is, on average, harder than
        it looked)."""
        t = self.terms(k)
        return (self.m < self.n) & ((t["half_width"] > SATURATED_SD) | (t["remaining"] > SATURATED_SD**2))

    def status_open(self) -> np.ndarray:
        """Problems whose solved status, or its weight in the full tier's solved-set rule, can
        still change: below n and not yet solved, or solved with a chance below SOLVED_SURE of
        being solved in a draw of n."""
        chance = _solved_chances(self.c, self.m, self.n)
        return (self.m < self.n) & ((self.c == 0) | (chance < SOLVED_SURE))

    def grow(self, mask: np.ndarray, size: int, draw: Callable[[np.ndarray, int, int], np.ndarray]) -> int:
        """Bring the chosen problems to `size` samples; returns the samples drawn."""
        grow = mask & (self.m < size)
        if not grow.any():
            return 0
        start = self.m.copy()
        target = np.where(grow, size, self.m)
        for begin in np.unique(start[grow]):
            chosen = np.flatnonzero(grow & (start == begin))
            self.c[chosen] += draw(chosen, int(begin), size)
        drawn = int((target - self.m).sum())
        self.m = target
        self._cache.clear()
        return drawn


# ----------------------------------------------------------------------------- verdicts


@dataclass(frozen=True)
class Term:
    run: RunKey
    k: int  # LARGEST: the run's n
    sign: float = 1.0


def _resolve(term: Term, states: Mapping[RunKey, RunState], largest: int) -> int:
    return largest if term.k == LARGEST else term.k


@dataclass(frozen=True)
class Linear:
    """sum of sign * pass@k over terms, minus an offset: a curve point, a gap, a claim's difference."""

    terms: tuple[Term, ...]
    offset: float = 0.0

    def runs(self) -> set[RunKey]:
        return {t.run for t in self.terms}

    def ks(self, states: Mapping[RunKey, RunState]) -> list[tuple[RunKey, int]]:
        largest = min(states[t.run].n for t in self.terms)
        return [(t.run, _resolve(t, states, largest)) for t in self.terms]

    def value(self, states: Mapping[RunKey, RunState], paper_n: int | None = None) -> Value:
        total = Value(-self.offset, 0.0, 0.0, 0.0, 0.0, 0.0)
        for term, (run, k) in zip(self.terms, self.ks(states)):
            total = total + states[run].value(k, paper_n).scaled(term.sign)
        return total


@dataclass(frozen=True)
class Decision:
    verdict: str  # pass / fail, holds / fails / inconclusive, or OPEN
    look: int
    evidence: str = ""
    samples: int = 0  # samples drawn on the verdict's runs when it was settled
    full_samples: int = 0  # what the full tier draws on them (problems x n)


@dataclass(frozen=True)
class PointCheck:
    """A paper number (curve point or printed pass@k / gap) against the rerun: min over
    `candidates` (one, except Figure 8's smallest Delta_SE). The full tier passes it when
    |rerun - paper| <= z_full sqrt(Var_full + Var_paper) + the paper's rounding."""

    key: tuple
    candidates: tuple[Linear, ...]
    paper: float
    paper_error: float
    paper_n: int
    z_full: float  # the full tier's Bonferroni z over the panel (or the printed source)
    rule: Rule = PREDICT

    def runs(self) -> set[RunKey]:
        return set().union(*(c.runs() for c in self.candidates))

    def decide(self, states, look: int, looks: int) -> Decision:
        value = min((c.value(states, self.paper_n) for c in self.candidates), key=lambda v: v.estimate)
        tolerance = self.z_full * sqrt(value.var_full + value.var_paper) + self.paper_error
        gap = abs(value.estimate - self.paper)
        reach = value.reach(predict_z(look, looks))
        evidence = (f"{100 * (value.estimate - self.paper):+.2f} points (the full tier's may differ by up to "
                    f"{100 * reach:.2f}), tolerance {100 * tolerance:.2f}")
        if look >= looks - 1:
            return Decision(PASS if gap <= tolerance else FAIL, look, evidence)
        if gap + reach <= self.z_full * sqrt(value.var_sure) + self.paper_error:
            return Decision(PASS, look, evidence)
        if gap - reach > tolerance:
            return Decision(FAIL, look, evidence)
        if self.rule.own_points:
            spread = sqrt(value.var_own + value.var_paper)
            own = self.z_full * spread + self.paper_error + value.bound
            evidence += f"; own tolerance {100 * own:.2f}"
            if gap <= own and own <= self.rule.resolution:
                return Decision(PASS, look, evidence)
            if gap - value.bound > spent_z(self.z_full, looks) * spread + self.paper_error:
                return Decision(FAIL, look, evidence)
        return Decision(OPEN, look, evidence)

    def wanted(self, states, look: int, looks: int) -> list[tuple[RunKey, int]]:
        return [pair for c in self.candidates for pair in c.ks(states)]


@dataclass(frozen=True)
class DirectionCheck:
    """The full tier's repro.claims.Greater: holds when d > CLAIM_Z sd, fails when d < -CLAIM_Z
    sd, inconclusive between; settled once the full tier's d is sure to be on one side."""

    difference: Linear
    rule: Rule = PREDICT

    def runs(self) -> set[RunKey]:
        return self.difference.runs()

    def decide(self, states, look: int, looks: int) -> Decision:
        value = self.difference.value(states)
        if self.rule.own_claims and look < looks - 1:
            own = spent_z(CLAIM_Z, looks) * sqrt(value.var_own)
            if value.estimate - value.bound > own:
                return Decision(HOLDS, look, f"{100 * value.estimate:+.2f} points, own test ±{100 * own:.2f}")
            if value.estimate + value.bound < -own:
                return Decision(FAILS, look, f"{100 * value.estimate:+.2f} points, own test ±{100 * own:.2f}")
        threshold = CLAIM_Z * sqrt(value.var_full)
        d, reach = value.estimate, value.reach(predict_z(look, looks))
        evidence = f"{100 * d:+.2f} points (full tier's within {100 * reach:.2f}), threshold ±{100 * threshold:.2f}"
        if look >= looks - 1:
            reach = 0.0
        if d - reach > threshold:
            return Decision(HOLDS, look, evidence)
        if d + reach < -threshold:
            return Decision(FAILS, look, evidence)
        if -threshold <= d - reach and d + reach <= threshold:
            return Decision(INCONCLUSIVE, look, evidence)
        return Decision(OPEN, look, evidence)

    def wanted(self, states, look: int, looks: int) -> list[tuple[RunKey, int]]:
        return self.difference.ks(states)


@dataclass(frozen=True)
class SimilarCheck:
    """The full tier's repro.claims.Similar: |d| + CLAIM_Z sd <= margin holds, |d| - CLAIM_Z sd
    > margin fails, else inconclusive."""

    difference: Linear
    margin: float
    rule: Rule = PREDICT

    def runs(self) -> set[RunKey]:
        return self.difference.runs()

    def decide(self, states, look: int, looks: int) -> Decision:
        value = self.difference.value(states)
        if self.rule.own_claims and look < looks - 1:
            own = spent_z(CLAIM_Z, looks) * sqrt(value.var_own) + value.bound
            if abs(value.estimate) + own <= self.margin:
                return Decision(HOLDS, look, f"|d| = {100 * abs(value.estimate):.2f} points, own test ±{100 * own:.2f}")
            if abs(value.estimate) - own > self.margin:
                return Decision(FAILS, look, f"|d| = {100 * abs(value.estimate):.2f} points, own test ±{100 * own:.2f}")
        spread = CLAIM_Z * sqrt(value.var_full)
        d = value.estimate
        reach = 0.0 if look >= looks - 1 else value.reach(predict_z(look, looks))
        low, high = d - reach, d + reach
        smallest = 0.0 if low <= 0 <= high else min(abs(low), abs(high))
        largest = max(abs(low), abs(high))
        evidence = f"|d| = {100 * abs(d):.2f} points (full tier's within {100 * reach:.2f}), margin {100 * self.margin:.1f}"
        if largest + spread <= self.margin:
            return Decision(HOLDS, look, evidence)
        if smallest - spread > self.margin:
            return Decision(FAILS, look, evidence)
        if smallest + spread > self.margin and largest - spread <= self.margin:
            return Decision(INCONCLUSIVE, look, evidence)
        return Decision(OPEN, look, evidence)

    def wanted(self, states, look: int, looks: int) -> list[tuple[RunKey, int]]:
        return self.difference.ks(states)


@dataclass(frozen=True)
class AllOf:
    """Several comparisons that make one claim (repro.claims.combine): settled when one fails
    or all are settled."""

    key: tuple
    parts: tuple

    def runs(self) -> set[RunKey]:
        return set().union(*(p.runs() for p in self.parts))

    def decide(self, states, look: int, looks: int) -> Decision:
        decisions = [p.decide(states, look, looks) for p in self.parts]
        verdicts = [d.verdict for d in decisions]
        evidence = "; ".join(d.evidence for d in decisions)
        if FAILS in verdicts:
            return Decision(FAILS, look, evidence)
        if OPEN in verdicts:
            return Decision(OPEN, look, evidence)
        return Decision(combine(verdicts), look, evidence)

    def wanted(self, states, look: int, looks: int) -> list[tuple[RunKey, int]]:
        pairs = []
        for part in self.parts:
            if part.decide(states, look, looks).verdict == OPEN:  # only the parts still open ask for samples
                pairs += part.wanted(states, look, looks)
        return pairs


@dataclass(frozen=True)
class FullRuns:
    """Verdicts the adaptive rule does not cover: their runs get the full n."""

    key: tuple
    run_keys: frozenset

    def runs(self) -> set[RunKey]:
        return set(self.run_keys)

    def decide(self, states, look: int, looks: int) -> Decision:
        done = all((states[r].m >= states[r].n).all() for r in self.run_keys)
        return Decision("full" if done else OPEN, look)

    def wanted(self, states, look: int, looks: int) -> list[tuple[RunKey, int]]:
        return [(r, None) for r in self.run_keys]


@dataclass(frozen=True)
class SolvedStatus:
    """Verdicts over solved-at-least-once sets (claim 2's NearlySubset, Tables 4 and 5): a
    problem solved once is solved in the full tier too (its samples are a prefix); one not yet
    solved goes on to the full n. The sets are then the full tier's, and the verdicts are taken
    with the full tier's rule on the samples in hand. That rule also weighs each problem by its
    chance of being solved in a draw of n (from its counts): a problem solved once in 32 has a
    visibly lower chance than it will have at n, so a solved problem goes on until its chance is
    SOLVED_SURE (or n)."""

    key: tuple
    run_keys: frozenset

    def runs(self) -> set[RunKey]:
        return set(self.run_keys)

    def decide(self, states, look: int, looks: int) -> Decision:
        done = not any(states[r].status_open().any() for r in self.run_keys)
        return Decision("full" if done else OPEN, look)

    def wanted(self, states, look: int, looks: int) -> list[tuple[RunKey, int]]:
        return [(r, "unsolved") for r in self.run_keys]


# ----------------------------------------------------------------------------- from an experiment


def checks_for(experiment: Experiment, runs: Mapping[RunKey, int], rule: Rule = PREDICT) -> list:
    """The adaptive checks of an experiment's verdicts, in the order repro.compare lists them:
    curve points by panel, printed numbers, then claims, then what needs the full n."""
    expected = load_curves()
    out: list = []
    for panel in experiment.panels:
        points = [(arm, point) for arm, ref in panel.curves
                  for point in curve_points(expected, ref.figure, ref.panel, ref.family, ref.curve)
                  if (arm, panel.benchmark) in runs and point.k <= runs[(arm, panel.benchmark)]]
        z_full = stats.bonferroni_z(len(points))
        for arm, point in points:
            run = (arm, panel.benchmark)
            out.append(PointCheck(("point", panel.title, point.curve, arm, point.k), (Linear((Term(run, point.k),)),),
                                  point.value, point.abs_error, panel.n, z_full, rule))
    out += _printed_checks(experiment, runs, rule)
    seen: dict[tuple, int] = {}
    for claim in experiment.claims:
        for check in _claim_checks(claim, runs, rule):
            # Several claims may share number, text and scope (rl-steps' three comparisons):
            # the n-th of them is told apart by its position, as in the full tier's list.
            seen[check.key] = seen.get(check.key, 0) + 1
            out.append(replace(check, key=check.key + (seen[check.key] - 1,)))
    full = {(ref.arm, ref.benchmark) for ref in experiment.histograms}
    status = {(ref.arm, ref.benchmark) for ref in experiment.solved_sets}
    for claim in experiment.claims:
        if isinstance(claim, NearlySubset):
            status |= claim.needs()
        elif not isinstance(claim, (Greater, Crossing, AboveEverywhere, Similar)):
            full |= claim.needs()
    for ref in experiment.printed:
        if not isinstance(ref.statistic, (PassAt, Gap, SmallestGap)):
            full |= ref.statistic.needs()
    full &= set(runs)
    status = (status & set(runs)) - full
    if full:
        out.append(FullRuns(("full",), frozenset(full)))
    if status:
        out.append(SolvedStatus(("solved status",), frozenset(status)))
    return out


def _linear(stat) -> Linear:
    if isinstance(stat, PassAt):
        return Linear((Term((stat.arm, stat.benchmark), stat.k),))
    return Linear((Term((stat.plus.arm, stat.plus.benchmark), stat.plus.k),
                   Term((stat.minus.arm, stat.minus.benchmark), stat.minus.k, -1.0)))


def _printed_checks(experiment: Experiment, runs: Mapping[RunKey, int], rule: Rule = PREDICT) -> list:
    printed = load_printed()
    usable = []
    for ref in experiment.printed:
        stat = ref.statistic
        if not isinstance(stat, (PassAt, Gap, SmallestGap)) or not stat.needs() <= set(runs):
            continue
        if stat.k > min(runs[r] for r in stat.needs()) or stat.k > ref.paper_n:
            continue
        usable.append(ref)
    per_source = _scored_per_source(experiment, runs)
    out = []
    for ref in usable:
        value = find_printed(printed, *ref.printed)
        if ref.scored_against is None:
            scale = 0.01 if value.unit == "points" else 1.0
            paper, error = value.value * scale, value.abs_error * scale
        else:
            plus, minus = (find_printed(printed, *key) for key in ref.scored_against)
            paper, error = plus.value - minus.value, plus.abs_error + minus.abs_error
        stat = ref.statistic
        candidates = tuple(_linear(gap) for _, gap in stat.gaps) if isinstance(stat, SmallestGap) else (_linear(stat),)
        count = per_source[ref.printed[0]]
        out.append(PointCheck(("printed",) + tuple(ref.printed), candidates, paper, error, ref.paper_n,
                              stats.bonferroni_z(count), rule))
    return out


def _scored_per_source(experiment: Experiment, runs: Mapping[RunKey, int]) -> dict[str, int]:
    """How many printed numbers of each source the full tier scores at its n (its Bonferroni z
    counts them all, solved-count cells included, though the adaptive rule does not take those):
    asked of the statistics themselves, on a one-problem stand-in of every run at its n."""
    stand_ins = {run: RunResult(run[0], run[1], ("0",), (0,), np.array([n]), np.array([0])) for run, n in runs.items()}
    per_source: dict[str, int] = {}
    for ref in experiment.printed:
        if ref.statistic.needs() <= set(runs) and ref.statistic.estimate(stand_ins, ref.paper_n) is not None:
            per_source[ref.printed[0]] = per_source.get(ref.printed[0], 0) + 1
    return per_source


def _claim_checks(claim, runs: Mapping[RunKey, int], rule: Rule = PREDICT) -> list:
    def greater(a, ka, b, kb, benchmark, offset=0.0):
        return DirectionCheck(Linear((Term((a, benchmark), ka), Term((b, benchmark), kb, -1.0)), offset), rule)

    if not claim.needs() <= set(runs):
        return []
    if isinstance(claim, Greater):
        return [AllOf(("claim", claim.paper_claim, claim.text, claim.benchmark),
                      (greater(claim.a, claim.ka, claim.b, claim.kb, claim.benchmark, claim.offset),))]
    if isinstance(claim, Crossing):
        return [AllOf(("claim", claim.paper_claim, claim.text, b),
                      (greater(claim.rl, 1, claim.base, 1, b), greater(claim.base, LARGEST, claim.rl, LARGEST, b)))
                for b in claim.benchmarks]
    if isinstance(claim, AboveEverywhere):
        largest = min(runs[(claim.upper, claim.benchmark)], runs[(claim.lower, claim.benchmark)])
        return [AllOf(("claim", claim.paper_claim, claim.text, claim.benchmark),
                      tuple(greater(claim.upper, k, claim.lower, k, claim.benchmark) for k in claim.ks if k <= largest))]
    if isinstance(claim, Similar):
        diff = Linear((Term((claim.a, claim.benchmark), claim.k), Term((claim.b, claim.benchmark), claim.k, -1.0)))
        return [AllOf(("claim", claim.paper_claim, claim.text, claim.benchmark), (SimilarCheck(diff, claim.margin, rule),))]
    return []


# ----------------------------------------------------------------------------- the loop


@dataclass
class Outcome:
    """What an adaptive run decided: each check's decision, the samples each run drew."""

    decisions: dict[tuple, Decision]
    states: dict[RunKey, RunState]

    def samples(self) -> dict[RunKey, int]:
        return {run: int(state.m.sum()) for run, state in self.states.items()}


def run_adaptive(checks: list, runs: Mapping[RunKey, int], problems: Mapping[RunKey, int],
                 draw: Callable[[RunKey, np.ndarray, int, int], np.ndarray]) -> Outcome:
    """Sample and decide, look by look. `runs`: the full tier's n per run; `problems`: problems
    per run; `draw(run, problem_positions, from_m, to_m)` returns the successes among samples
    from_m..to_m-1 of those problems (a prefix of the full tier's samples)."""
    keys = [check_key(check) for check in checks]
    if len(set(keys)) != len(keys):
        raise ValueError("two checks share a key: their verdicts would be confused")
    ladders = {run: ladder(n) for run, n in runs.items()}
    states = {run: RunState(n, np.zeros(problems[run], dtype=np.int64), np.zeros(problems[run], dtype=np.int64))
              for run, n in runs.items()}
    for run, state in states.items():
        state.grow(np.ones(state.problems, dtype=bool), ladders[run][0], lambda idx, a, b, r=run: draw(r, idx, a, b))
    decisions: dict[tuple, Decision] = {}
    looks_of = {id(check): max(len(ladders[r]) for r in check.runs()) for check in checks}
    look = 0
    while True:
        open_checks = []
        for check in checks:
            if check_key(check) in decisions:
                continue
            decision = check.decide(states, look, looks_of[id(check)])
            if decision.verdict == OPEN:
                open_checks.append(check)
            else:
                runs_of = check.runs()
                decisions[check_key(check)] = replace(
                    decision, samples=sum(int(states[r].m.sum()) for r in runs_of),
                    full_samples=sum(states[r].problems * states[r].n for r in runs_of))
        if not open_checks:
            return Outcome(decisions, states)
        wanted: dict[RunKey, np.ndarray] = {}
        for check in open_checks:
            looks = looks_of[id(check)]
            for run, k in check.wanted(states, look, looks):
                state = states[run]
                if k is None:
                    mask = state.m < state.n
                elif k == "unsolved":
                    mask = state.status_open()
                else:
                    mask = state.wanted(k)
                wanted[run] = wanted.get(run, np.zeros(state.problems, dtype=bool)) | mask
        look += 1
        for run, mask in wanted.items():
            size = ladders[run][min(look, len(ladders[run]) - 1)]
            states[run].grow(mask, size, lambda idx, a, b, r=run: draw(r, idx, a, b))


def check_key(check) -> tuple:
    return check.key if hasattr(check, "key") else (id(check),)
