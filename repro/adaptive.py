"""The adaptive tier's method: sample in rounds, stop each verdict once it is settled.

Every run (arm, benchmark) starts with one round of SAMPLES_PER_ROUND samples per problem.
After each look the verdicts still open choose which problems of which runs get more
samples: a chosen problem goes to the next size of the doubling ladder 32, 64, ..., n (the
full tier's n), so a run has at most 1 + log2(n / 32) looks and its samples are always a prefix
of the full tier's (round r of a problem has the same seed in every tier).

With m_i samples of problem i, c_i of them correct, its pass@k (the truth 1 - (1 - p_i)^k) is:

- m_i >= k: Chen et al.'s unbiased estimate, with the Jeffreys-posterior expectation of its
  sampling variance (repro.stats, as in the full tier);
- m_i < k and c_i >= EXTRAPOLATE_MIN_CORRECT: the posterior mean 1 - E[(1-p)^k] under the
  Jeffreys posterior Beta(c + 1/2, m - c + 1/2), with the posterior variance of 1 - (1-p)^k as
  its error. With two or more successes the likelihood, not the prior, decides p well enough
  that (1-p)^k is negligible for the k where this is used (docs/statistics.md);
- m_i < k and fewer successes: unknown, anywhere in [0, 1]. It enters the estimate as 1/2
  and its worst-case error 1/2 is added to the tolerance as a bound, not as noise: no prior
  guesses how a problem solved once or never in 32 samples fares in 1,024.

A point passes or fails as in the full tier (|rerun - paper| against z sqrt(V + V_paper) +
rounding, plus the bound), but with the z of an alpha-spending rule over the looks: most of
the family rate (FINAL_SHARE = 90%) at the last look, the rest split evenly over the earlier ones (a union
bound over looks, valid whatever the data made us do: Bonferroni over the looks of a group
sequential design). A failing point is settled as soon as it fails; a passing point is settled
when its tolerance is at most TOLERANCE_RATIO times the one the full tier would have, or at
most RESOLUTION (2.5 points), whichever is larger (so a curve shifted by 5 points still fails),
or at the last look. Claims are
settled when they hold or fail at the spent z; "inconclusive" only at the last look.

Verdicts the method does not cover (accuracy histograms, solved-count cells, solved lists and
claims over solved sets) ask for the full n on their runs: their verdicts are then the full
tier's own, on the same samples.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from math import sqrt
from statistics import NormalDist

import numpy as np

from repro import stats
from repro.claims import (CLAIM_Z, FAILS, HOLDS, INCONCLUSIVE, LARGEST, AboveEverywhere, Crossing, Greater,
                          Similar, combine)
from repro.compare import FAIL, PASS
from repro.expected import curve_points, find_printed, load_curves, load_printed
from repro.experiments import Experiment
from repro.printed import Gap, PassAt, SmallestGap
from repro.tiers import SAMPLES_PER_ROUND

EXTRAPOLATE_MIN_CORRECT = 2
TOLERANCE_RATIO = 2.5  # a settled pass may have up to 2.5x the full tier's tolerance
# Most of the error rate is kept for the last look, so that a verdict that needs every sample
# is taken with nearly the full tier's z (early looks stop only on strong evidence).
FINAL_SHARE = 0.9
# ... or up to 2.5 points, whichever is larger: the full tier's pass@1 from 1,024 samples per
# problem resolves a fraction of a point, far finer than any claim needs; 2.5 points still
# puts a curve shifted by 5 points outside the tolerance.
RESOLUTION = 0.03
EXCESS_SHARE = 0.8  # an open verdict asks for the problems holding 80% of its excess variance
CLAIM_RATE = 2 * (1 - NormalDist().cdf(CLAIM_Z))  # 0.01: the full tier's per-comparison rate
OPEN = "open"
RunKey = tuple[str, str]  # (arm, benchmark)


def ladder(n: int) -> list[int]:
    """Sample sizes of the looks: 32, 64, ... doubling, then n."""
    sizes, m = [], min(SAMPLES_PER_ROUND, n)
    while m < n:
        sizes.append(m)
        m *= 2
    return sizes + [n]


def spent_z(rate: float, look: int, looks: int) -> float:
    """Two-sided z of one test at one look when `rate` is spent over `looks` looks: FINAL_SHARE
    at the last, the rest evenly over the others. The shares sum to `rate`, so by the union bound the
    chance of a false verdict at any look, whenever we stop, is at most `rate`."""
    if looks <= 1:
        share = rate
    elif look >= looks - 1:
        share = rate * FINAL_SHARE
    else:
        share = rate * (1 - FINAL_SHARE) / (looks - 1)
    return NormalDist().inv_cdf(1 - share / 2)


@lru_cache(maxsize=1 << 16)
def _variance(c: int, m: int, target: int, k: int) -> float:
    return float(stats.problem_variances(c, m, target, (k,))[0])


def _grouped_variances(c: np.ndarray, m: np.ndarray, target: int | None, k: int) -> np.ndarray:
    """Per-problem posterior-expected variance of pass@k from `target` samples (None: each
    problem's own m), one computation per distinct (c, m)."""
    out = np.empty(len(c))
    for i, (ci, mi) in enumerate(zip(c.tolist(), m.tolist())):
        out[i] = _variance(ci, mi, mi if target is None else target, k)
    return out


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
        """Per-problem estimate, its variance, the unknown mask, and the variances the full
        tier would have at n (the yardstick of a settled pass) -- at pass@k."""
        if k not in self._cache:
            m, c = self.m, self.c
            est, var = np.full(len(m), 0.5), np.zeros(len(m))
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
            unknown = ~known & ~extrapolated
            self._cache[k] = {"est": est, "var": var, "unknown": unknown,
                              "var_full": _grouped_variances(c, m, self.n, min(k, self.n))}
        return self._cache[k]

    def value(self, k: int, paper_n: int | None = None) -> tuple[float, float, float, float, float]:
        """(estimate, variance, bound, variance of the full tier, variance of the paper's n)."""
        t = self.terms(k)
        size = self.problems
        var_paper = 0.0
        if paper_n is not None:
            var_paper = float(_grouped_variances(self.c, self.m, paper_n, k).sum()) / size**2
        return (float(t["est"].mean()), float(t["var"].sum()) / size**2, 0.5 * float(t["unknown"].sum()) / size,
                float(t["var_full"].sum()) / size**2, var_paper)

    def wanted(self, k: int, share: float = None) -> np.ndarray:
        """Problems whose next round would narrow pass@k the most: every unknown one, and the
        fewest that hold `share` (default EXCESS_SHARE) of the variance above the full tier's."""
        share = EXCESS_SHARE if share is None else share
        t = self.terms(k)
        can_grow = self.m < self.n
        excess = np.where(can_grow, np.maximum(t["var"] - t["var_full"], 0.0), 0.0)
        mask = t["unknown"] & can_grow
        excess[excess < 1e-12] = 0.0  # rounding, not information
        if excess.sum() > 0:
            order = np.argsort(-excess)
            covered = np.cumsum(excess[order]) / excess.sum()
            take = order[: int(np.searchsorted(covered, share - 1e-12)) + 1]
            mask[take] = True
        return mask & can_grow

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

    def value(self, states: Mapping[RunKey, RunState], paper_n: int | None = None):
        total = np.zeros(5)
        for term, (run, k) in zip(self.terms, self.ks(states)):
            est, var, bound, var_full, var_paper = states[run].value(k, paper_n)
            total += (term.sign * est, var, bound, var_full, var_paper)
        est, var, bound, var_full, var_paper = total
        return est - self.offset, var, bound, var_full, var_paper


@dataclass(frozen=True)
class Decision:
    verdict: str  # pass / fail, holds / fails / inconclusive, or OPEN
    look: int
    evidence: str = ""


@dataclass(frozen=True)
class PointCheck:
    """A paper number (curve point or printed pass@k / gap) against the rerun: min over
    `candidates` (one, except Figure 8's smallest Delta_SE)."""

    key: tuple
    candidates: tuple[Linear, ...]
    paper: float
    paper_error: float
    paper_n: int
    rate: float  # this point's share of its panel's family rate (Bonferroni, as the full tier)
    z_full: float

    def runs(self) -> set[RunKey]:
        return set().union(*(c.runs() for c in self.candidates))

    def decide(self, states, look: int, looks: int) -> Decision:
        values = [c.value(states, self.paper_n) for c in self.candidates]
        est, var, bound, var_full, var_paper = min(values, key=lambda v: v[0])
        z = spent_z(self.rate, look, looks)
        tolerance = z * sqrt(var + var_paper) + self.paper_error + bound
        full = self.z_full * sqrt(var_full + var_paper) + self.paper_error
        evidence = f"{100 * (est - self.paper):+.2f} points, tolerance {100 * tolerance:.2f} (full tier ~{100 * full:.2f})"
        if abs(est - self.paper) > tolerance:
            return Decision(FAIL, look, evidence)
        if look >= looks - 1 or tolerance <= max(TOLERANCE_RATIO * full, RESOLUTION):
            return Decision(PASS, look, evidence)
        return Decision(OPEN, look, evidence)

    def wanted(self, states, look: int, looks: int) -> list[tuple[RunKey, int]]:
        return [pair for c in self.candidates for pair in c.ks(states)]


@dataclass(frozen=True)
class DirectionCheck:
    """d > 0 beyond noise (holds), d < 0 beyond noise (fails), as repro.claims.Greater."""

    difference: Linear

    def runs(self) -> set[RunKey]:
        return self.difference.runs()

    def decide(self, states, look: int, looks: int) -> Decision:
        d, var, bound, _, _ = self.difference.value(states)
        z = spent_z(CLAIM_RATE, look, looks)
        evidence = f"{100 * d:+.2f} ± {100 * sqrt(var):.2f} points (sd), bound {100 * bound:.2f}"
        if d - bound > z * sqrt(var):
            return Decision(HOLDS, look, evidence)
        if d + bound < -z * sqrt(var):
            return Decision(FAILS, look, evidence)
        return Decision(INCONCLUSIVE if look >= looks - 1 else OPEN, look, evidence)

    def wanted(self, states, look: int, looks: int) -> list[tuple[RunKey, int]]:
        return self.difference.ks(states)


@dataclass(frozen=True)
class SimilarCheck:
    """|a@k - b@k| below a margin beyond noise, as repro.claims.Similar."""

    difference: Linear
    margin: float

    def runs(self) -> set[RunKey]:
        return self.difference.runs()

    def decide(self, states, look: int, looks: int) -> Decision:
        d, var, bound, _, _ = self.difference.value(states)
        spread = spent_z(CLAIM_RATE, look, looks) * sqrt(var) + bound
        evidence = f"|d| = {100 * abs(d):.2f} ± {100 * spread:.2f} points, margin {100 * self.margin:.1f}"
        if abs(d) + spread <= self.margin:
            return Decision(HOLDS, look, evidence)
        if abs(d) - spread > self.margin:
            return Decision(FAILS, look, evidence)
        return Decision(INCONCLUSIVE if look >= looks - 1 else OPEN, look, evidence)

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


# ----------------------------------------------------------------------------- from an experiment


def checks_for(experiment: Experiment, runs: Mapping[RunKey, int]) -> list:
    """The adaptive checks of an experiment's verdicts, in the order repro.compare lists them:
    curve points by panel, printed numbers, then claims, then what needs the full n."""
    expected = load_curves()
    out: list = []
    for panel in experiment.panels:
        points = [(arm, point) for arm, ref in panel.curves
                  for point in curve_points(expected, ref.figure, ref.panel, ref.family, ref.curve)
                  if (arm, panel.benchmark) in runs and point.k <= runs[(arm, panel.benchmark)]]
        rate = stats.PANEL_FALSE_ALARM_RATE / max(len(points), 1)
        z_full = stats.bonferroni_z(len(points))
        for arm, point in points:
            run = (arm, panel.benchmark)
            out.append(PointCheck(("point", panel.title, point.curve, arm, point.k), (Linear((Term(run, point.k),)),),
                                  point.value, point.abs_error, panel.n, rate, z_full))
    out += _printed_checks(experiment, runs)
    for claim in experiment.claims:
        out += _claim_checks(claim, runs)
    full = {(ref.arm, ref.benchmark) for ref in (*experiment.histograms, *experiment.solved_sets)}
    for claim in experiment.claims:
        if not isinstance(claim, (Greater, Crossing, AboveEverywhere, Similar)):
            full |= claim.needs()
    for ref in experiment.printed:
        if not isinstance(ref.statistic, (PassAt, Gap, SmallestGap)):
            full |= ref.statistic.needs()
    full &= set(runs)
    if full:
        out.append(FullRuns(("full",), frozenset(full)))
    return out


def _linear(stat) -> Linear:
    if isinstance(stat, PassAt):
        return Linear((Term((stat.arm, stat.benchmark), stat.k),))
    return Linear((Term((stat.plus.arm, stat.plus.benchmark), stat.plus.k),
                   Term((stat.minus.arm, stat.minus.benchmark), stat.minus.k, -1.0)))


def _printed_checks(experiment: Experiment, runs: Mapping[RunKey, int]) -> list:
    printed = load_printed()
    usable = []
    for ref in experiment.printed:
        stat = ref.statistic
        if not isinstance(stat, (PassAt, Gap, SmallestGap)) or not stat.needs() <= set(runs):
            continue
        if stat.k > min(runs[r] for r in stat.needs()) or stat.k > ref.paper_n:
            continue
        usable.append(ref)
    per_source: dict[str, int] = {}
    for ref in usable:
        per_source[ref.printed[0]] = per_source.get(ref.printed[0], 0) + 1
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
                              stats.PANEL_FALSE_ALARM_RATE / count, stats.bonferroni_z(count)))
    return out


def _claim_checks(claim, runs: Mapping[RunKey, int]) -> list:
    def greater(a, ka, b, kb, benchmark, offset=0.0):
        return DirectionCheck(Linear((Term((a, benchmark), ka), Term((b, benchmark), kb, -1.0)), offset))

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
        return [AllOf(("claim", claim.paper_claim, claim.text, claim.benchmark), (SimilarCheck(diff, claim.margin),))]
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
                decisions[check_key(check)] = decision
        if not open_checks:
            return Outcome(decisions, states)
        wanted: dict[RunKey, np.ndarray] = {}
        for check in open_checks:
            looks = looks_of[id(check)]
            # Before its last look a verdict asks for every problem with excess variance, so
            # that a verdict still open at the end is taken on nearly the full tier's data.
            share = 1.0 if look + 1 >= looks - 1 else EXCESS_SHARE
            for run, k in check.wanted(states, look, looks):
                state = states[run]
                mask = state.m < state.n if k is None else state.wanted(k, share)
                wanted[run] = wanted.get(run, np.zeros(state.problems, dtype=bool)) | mask
        look += 1
        for run, mask in wanted.items():
            size = ladders[run][min(look, len(ladders[run]) - 1)]
            states[run].grow(mask, size, lambda idx, a, b, r=run: draw(r, idx, a, b))


def check_key(check) -> tuple:
    return check.key if hasattr(check, "key") else (id(check),)
