"""The paper's claims as predicates over produced results, with uncertainty.

Every comparison of two curve values a - b (same problems, independent samples) has a
standard deviation sqrt(Var a + Var b) from repro.stats. A directional statement holds
when the data show the stated direction beyond noise (difference > CLAIM_Z sd), fails
when they show the opposite beyond noise, and is inconclusive otherwise. "At or above"
is treated like "above": a tie within noise is inconclusive, not a success.

The verdicts answer: "on these benchmark problems, is the sampling noise small enough to
tell?" They do not generalize to other problems (that needs a paired bootstrap over
problems, reported separately).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from math import sqrt

from repro.results import RunResult

HOLDS, FAILS, INCONCLUSIVE, NOT_RUN = "holds", "fails", "inconclusive", "not run"
CLAIM_Z = 2.576  # two-sided 99% for each comparison
LARGEST = -1  # "the largest k both runs allow"

Results = Mapping[tuple[str, str], RunResult]  # (arm, benchmark) -> result

# The paper's claims in words, numbered as in the project's list of experiments and claims
# (from the paper's abstract, §3, §4 and App. D): every verdict names its claim, so a reader
# of a report or of `repro compare` never needs the numbering.
CLAIM_STATEMENTS = {
    1: "RL beats its base model at pass@1, but the base model catches up and overtakes it at large k (the curves "
       "cross) -- the paper's central claim (§3, Figs 2-4, 9-12)",
    2: "the problems RL solves are (nearly) a subset of those its base model solves (Tables 4, 5)",
    3: "RL raises the share of problems at accuracy near 1.0 and also the share at accuracy 0 (Figs 5, 13)",
    4: "the base model's perplexity on RL responses lies in the low part of its perplexity on its own responses "
       "(Fig 6)",
    5: "a distilled model lies above its base model at every k (Fig 7)",
    6: "all six RL algorithms leave a sampling-efficiency gap (Delta_SE) above 40 points in domain, and differ "
       "little (Fig 8, Table 2)",
    7: "along RL training, pass@1 on the training set rises while pass@256 falls (Fig 1, Fig 14, Table 3)",
    8: "KL 0.001 gives a similar pass@1 but a lower pass@128; 32 rollouts give a higher pass@128 (Fig 15)",
    9: "sampling RL at the base model's entropy does not close the gap at large k; the base model degrades above "
       "T = 1.0 (Figs 16, 17)",
}


def claim_heading(number: int) -> str:
    """'Claim 3: RL raises ...' for a claim number."""
    return f"Claim {number}: {CLAIM_STATEMENTS.get(number, 'not in the paper list')}"


@dataclass(frozen=True)
class ClaimVerdict:
    paper_claim: int  # number in EXPERIMENTS.md "The paper's claims"
    text: str
    scope: str  # e.g. the benchmark
    verdict: str
    evidence: str


def combine(verdicts: list[str]) -> str:
    if not verdicts or NOT_RUN in verdicts:
        return NOT_RUN
    if FAILS in verdicts:
        return FAILS
    if INCONCLUSIVE in verdicts:
        return INCONCLUSIVE
    return HOLDS


def _points(x: float) -> str:
    return f"{100 * x:+.1f}"


def difference(a: RunResult, ka: int, b: RunResult, kb: int, offset: float = 0.0) -> tuple[float, float, int, int]:
    """(a@ka - b@kb - offset, its sd, ka, kb) with LARGEST resolved."""
    if a.problem_ids != b.problem_ids:
        raise ValueError(f"{a.arm} and {b.arm} on {a.benchmark} were not run on the same problems")
    largest = min(a.max_k, b.max_k)
    ka = largest if ka == LARGEST else ka
    kb = largest if kb == LARGEST else kb
    d = a.value(ka) - b.value(kb) - offset
    sd = sqrt(a.variance(ka) + b.variance(kb))
    return d, sd, ka, kb


def directional_verdict(d: float, sd: float, z: float = CLAIM_Z) -> str:
    if d > z * sd:
        return HOLDS
    if d < -z * sd:
        return FAILS
    return INCONCLUSIVE


@dataclass(frozen=True)
class Greater:
    """arm a at k = ka exceeds arm b at k = kb by more than `offset` (fractions)."""

    paper_claim: int
    text: str
    a: str
    ka: int
    b: str
    kb: int
    benchmark: str
    offset: float = 0.0

    def needs(self) -> set[tuple[str, str]]:
        return {(self.a, self.benchmark), (self.b, self.benchmark)}

    def evaluate(self, results: Results) -> list[ClaimVerdict]:
        if not self.needs() <= set(results):
            return [ClaimVerdict(self.paper_claim, self.text, self.benchmark, NOT_RUN, "runs missing")]
        a, b = results[(self.a, self.benchmark)], results[(self.b, self.benchmark)]
        ka = LARGEST if self.ka == LARGEST else self.ka
        kb = LARGEST if self.kb == LARGEST else self.kb
        if max(ka, kb) > min(a.max_k, b.max_k):
            return [ClaimVerdict(self.paper_claim, self.text, self.benchmark, NOT_RUN,
                                 f"needs k = {max(ka, kb)}, runs have n = {min(a.max_k, b.max_k)}")]
        d, sd, ka, kb = difference(a, ka, b, kb, self.offset)
        offset = f" - {100 * self.offset:.1f}" if self.offset else ""
        evidence = f"{self.a}@{ka} - {self.b}@{kb}{offset} = {_points(d)} ± {100 * sd:.1f} points (sd)"
        return [ClaimVerdict(self.paper_claim, self.text, self.benchmark, directional_verdict(d, sd), evidence)]


@dataclass(frozen=True)
class Similar:
    """|a@k - b@k| is below `margin` (fraction), beyond noise."""

    paper_claim: int
    text: str
    a: str
    b: str
    k: int
    benchmark: str
    margin: float

    def needs(self) -> set[tuple[str, str]]:
        return {(self.a, self.benchmark), (self.b, self.benchmark)}

    def evaluate(self, results: Results) -> list[ClaimVerdict]:
        if not self.needs() <= set(results):
            return [ClaimVerdict(self.paper_claim, self.text, self.benchmark, NOT_RUN, "runs missing")]
        d, sd, k, _ = difference(results[(self.a, self.benchmark)], self.k, results[(self.b, self.benchmark)], self.k)
        if abs(d) + CLAIM_Z * sd <= self.margin:
            verdict = HOLDS
        elif abs(d) - CLAIM_Z * sd > self.margin:
            verdict = FAILS
        else:
            verdict = INCONCLUSIVE
        evidence = f"|{self.a}@{k} - {self.b}@{k}| = {100 * abs(d):.1f} ± {100 * sd:.1f} points, margin {100 * self.margin:.1f}"
        return [ClaimVerdict(self.paper_claim, self.text, self.benchmark, verdict, evidence)]


@dataclass(frozen=True)
class Crossing:
    """Claim 1: RL above base at k = 1, base at or above RL at the largest k."""

    base: str
    rl: str
    benchmarks: tuple[str, ...]
    paper_claim: int = 1
    text: str = "RL > base at k = 1 and base >= RL at the largest k"

    def needs(self) -> set[tuple[str, str]]:
        return {(arm, b) for b in self.benchmarks for arm in (self.base, self.rl)}

    def evaluate(self, results: Results) -> list[ClaimVerdict]:
        verdicts = []
        for benchmark in self.benchmarks:
            first = Greater(1, "", self.rl, 1, self.base, 1, benchmark).evaluate(results)[0]
            last = Greater(1, "", self.base, LARGEST, self.rl, LARGEST, benchmark).evaluate(results)[0]
            verdicts.append(ClaimVerdict(
                self.paper_claim, self.text, benchmark, combine([first.verdict, last.verdict]),
                f"{first.evidence}; {last.evidence}",
            ))
        return verdicts


@dataclass(frozen=True)
class AboveEverywhere:
    """Claim 5: one curve lies above another at every k of the run."""

    paper_claim: int
    text: str
    upper: str
    lower: str
    benchmark: str
    ks: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048)

    def needs(self) -> set[tuple[str, str]]:
        return {(self.upper, self.benchmark), (self.lower, self.benchmark)}

    def evaluate(self, results: Results) -> list[ClaimVerdict]:
        if not self.needs() <= set(results):
            return [ClaimVerdict(self.paper_claim, self.text, self.benchmark, NOT_RUN, "runs missing")]
        upper, lower = results[(self.upper, self.benchmark)], results[(self.lower, self.benchmark)]
        ks = [k for k in self.ks if k <= min(upper.max_k, lower.max_k)]
        parts = [difference(upper, k, lower, k) for k in ks]
        verdict = combine([directional_verdict(d, sd) for d, sd, _, _ in parts])
        worst = min(parts, key=lambda part: part[0] / max(part[1], 1e-12))
        evidence = f"smallest margin at k = {worst[2]}: {_points(worst[0])} ± {100 * worst[1]:.1f} points (sd), k in {ks[0]}..{ks[-1]}"
        return [ClaimVerdict(self.paper_claim, self.text, self.benchmark, verdict, evidence)]


@dataclass(frozen=True)
class NearlySubset:
    """Claim 2: problems solved by RL are (nearly) a subset of those solved by base.

    "Nearly": at most max(1, 5%) of the RL-solved problems are outside the base-solved
    set (the paper's Table 5 has 1 of 20). Solved-at-least-once is a count, not an
    estimate, so there is no noise term; with fewer samples than the paper, both sets
    shrink and the test is weaker, which the evidence line states.
    """

    base: str
    rl: str
    benchmark: str
    first_index: int = 0
    last_index: int | None = None
    paper_claim: int = 2
    text: str = "problems solved by RL are (nearly) a subset of those solved by base"
    slack: float = 0.05

    def needs(self) -> set[tuple[str, str]]:
        return {(self.base, self.benchmark), (self.rl, self.benchmark)}

    def evaluate(self, results: Results) -> list[ClaimVerdict]:
        scope = self.benchmark if self.last_index is None else f"{self.benchmark} [{self.first_index}..{self.last_index}]"
        if not self.needs() <= set(results):
            return [ClaimVerdict(self.paper_claim, self.text, scope, NOT_RUN, "runs missing")]

        def in_range(indices: frozenset[int]) -> frozenset[int]:
            last = self.last_index if self.last_index is not None else max(indices, default=0)
            return frozenset(i for i in indices if self.first_index <= i <= last)

        base = in_range(results[(self.base, self.benchmark)].solved_indices())
        rl = in_range(results[(self.rl, self.benchmark)].solved_indices())
        in_scope = in_range(frozenset(results[(self.rl, self.benchmark)].problem_indices))
        outside = sorted(rl - base)
        allowed = max(1, int(self.slack * len(rl)))
        verdict = HOLDS if len(outside) <= allowed else FAILS
        if not rl:
            verdict = INCONCLUSIVE
        evidence = (f"{len(in_scope)} problems in scope; base solved {len(base)}, RL solved {len(rl)}, "
                    f"RL-only {len(outside)} {outside[:10]} (allowed {allowed}); "
                    f"n = {results[(self.rl, self.benchmark)].max_k}")
        return [ClaimVerdict(self.paper_claim, self.text, scope, verdict, evidence)]


@dataclass(frozen=True)
class HistogramShift:
    """Claim 3: RL raises the frequency of accuracy 1.0 and also of accuracy 0."""

    base: str
    rl: str
    benchmarks: tuple[str, ...]
    family: str = ""  # the model family, so that several families' rows can be told apart
    paper_claim: int = 3
    text: str = "RL raises the share of problems at accuracy 1.0 and at accuracy 0"

    def needs(self) -> set[tuple[str, str]]:
        return {(arm, b) for b in self.benchmarks for arm in (self.base, self.rl)}

    def evaluate(self, results: Results) -> list[ClaimVerdict]:
        verdicts = []
        for benchmark in self.benchmarks:
            scope = f"{self.family}, {benchmark}" if self.family else benchmark
            if not {(self.base, benchmark), (self.rl, benchmark)} <= set(results):
                verdicts.append(ClaimVerdict(self.paper_claim, self.text, scope, NOT_RUN, "runs missing"))
                continue
            base, rl = results[(self.base, benchmark)], results[(self.rl, benchmark)]
            parts, evidence = [], []
            for bin_index, name in ((0, "accuracy 0"), (-1, "accuracy 1")):
                # The share of problems in the bin moves by d; each share varies like a sum of
                # independent Bernoulli cells (RunResult.histogram_share_variances).
                d = base.histogram()[bin_index] / base.problems
                d = rl.histogram()[bin_index] / rl.problems - d
                sd = sqrt(base.histogram_share_variances()[bin_index] + rl.histogram_share_variances()[bin_index])
                parts.append(directional_verdict(d, sd))
                evidence.append(f"{name}: base {base.histogram()[bin_index]} -> RL {rl.histogram()[bin_index]} "
                                f"problems ({_points(d)} ± {100 * sd:.1f} points of the share, sd)")
            verdicts.append(ClaimVerdict(self.paper_claim, self.text, scope, combine(parts), "; ".join(evidence)))
        return verdicts


@dataclass(frozen=True)
class NeedsStage:
    """A claim whose measurement stage does not exist yet: always 'not run', with why."""

    paper_claim: int
    text: str
    reason: str

    def needs(self) -> set[tuple[str, str]]:
        return set()

    def evaluate(self, results: Results) -> list[ClaimVerdict]:
        return [ClaimVerdict(self.paper_claim, self.text, "-", NOT_RUN, self.reason)]
