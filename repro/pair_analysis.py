"""The paper's analysis of a base/RL pair it never saw, with no expected curve to compare with.

For each RL model and benchmark: both pass@k curves with sampling bands, the crossing point
(the smallest k where the base is not below the RL model) with the range of k the data cannot
exclude, Delta_SE (pass@k_max of the base minus pass@1 of the RL model, as Fig 8 and Table 2
define it, at k = 256 or the largest k the run allows), and claims 1-3 as the predicates of
repro.claims. The uncertainty is the sampling variance of repro.stats (the same problems, each
run's own n); verdicts speak of these problems, not of other problems of the same kind.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from math import sqrt

from repro.claims import CLAIM_Z, FAILS, HOLDS, INCONCLUSIVE, NOT_RUN, ClaimVerdict, claim_heading
from repro.results import RunResult

BAND_Z = 1.96  # the curves' bands: 95% for each point
DELTA_SE_K = 256  # Fig 8 / Table 2: pass@256 of the base minus pass@1 of the RL model


@dataclass(frozen=True)
class CurvePoint:
    k: int
    value: float
    sd: float

    @property
    def band(self) -> tuple[float, float]:
        return max(0.0, self.value - BAND_Z * self.sd), min(1.0, self.value + BAND_Z * self.sd)


@dataclass(frozen=True)
class CrossingPoint:
    """`k`: the smallest k of the grid where base >= RL (None: not within the grid).
    `earliest`: the smallest k where base >= RL cannot be excluded (base - RL > -z sd).
    `shown_from`: the smallest k where base >= RL is shown beyond noise (base - RL >= z sd, or
    both curves exactly equal), None where no k of the grid shows it. `largest_k`: the grid's end."""

    k: int | None
    earliest: int | None
    shown_from: int | None
    largest_k: int

    def describe(self) -> str:
        if self.k is None:
            where = f"no crossing up to k = {self.largest_k}"
            if self.earliest is not None:
                where += f" (one from k = {self.earliest} cannot be excluded at this n)"
            return where
        if self.k == 1:
            head = "the base is not below RL even at k = 1 (no crossing needed)"
        else:
            head = f"crossing at k = {self.k}"
        low = self.earliest if self.earliest is not None else self.k
        high = f"{self.shown_from}" if self.shown_from is not None else f"beyond {self.largest_k}"
        return f"{head}; the data place it between k = {low} and k = {high}"


@dataclass(frozen=True)
class PairFinding:
    rl: str
    benchmark: str
    base_curve: tuple[CurvePoint, ...]
    rl_curve: tuple[CurvePoint, ...]
    crossing: CrossingPoint
    delta_se: tuple[float, float, int]  # (value, sd, k of the base)
    n: int
    problems: int


def curve_with_band(result: RunResult, ks: Sequence[int]) -> tuple[CurvePoint, ...]:
    usable = [k for k in ks if k <= result.max_k]
    values = result.curve(usable)
    return tuple(CurvePoint(k, values[k], sqrt(result.variance(k))) for k in usable)


def crossing_point(base: RunResult, rl: RunResult, ks: Sequence[int], z: float = CLAIM_Z) -> CrossingPoint:
    usable = [k for k in ks if k <= min(base.max_k, rl.max_k)]
    k_at = earliest = shown = None
    for k in usable:
        d = base.value(k) - rl.value(k)
        sd = sqrt(base.variance(k) + rl.variance(k))
        if k_at is None and d >= 0:
            k_at = k
        if earliest is None and d > -z * sd:
            earliest = k
        if shown is None and (d >= z * sd and (sd > 0 or d >= 0)):
            shown = k
    return CrossingPoint(k_at, earliest, shown, usable[-1] if usable else 0)


def delta_se(base: RunResult, rl: RunResult) -> tuple[float, float, int]:
    """(pass@K(base) - pass@1(RL), its sd, K) with K = 256 or the largest k of the base run."""
    k = min(DELTA_SE_K, base.max_k)
    return base.value(k) - rl.value(1), sqrt(base.variance(k) + rl.variance(1)), k


def pair_findings(results: Mapping[tuple[str, str], RunResult], rl_arms: Sequence[str], benchmarks: Sequence[str],
                  ks: Sequence[int]) -> list[PairFinding]:
    findings = []
    for rl in rl_arms:
        for benchmark in benchmarks:
            if ("base", benchmark) not in results or (rl, benchmark) not in results:
                continue
            base, run = results[("base", benchmark)], results[(rl, benchmark)]
            findings.append(PairFinding(rl, benchmark, curve_with_band(base, ks), curve_with_band(run, ks),
                                        crossing_point(base, run, ks), delta_se(base, run),
                                        min(base.max_k, run.max_k), base.problems))
    return findings


def _claim_number_verdicts(claims: Sequence[ClaimVerdict], number: int, rl: str, several: bool) -> list[ClaimVerdict]:
    """The verdicts of one claim for one RL arm (texts and scopes name the arm where several)."""
    chosen = [c for c in claims if c.paper_claim == number]
    if not several:
        return chosen
    return [c for c in chosen if c.text.startswith(f"{rl}:") or c.scope.startswith(f"{rl},")]


def verdict_paragraph(findings: Sequence[PairFinding], claims: Sequence[ClaimVerdict], rl_arms: Sequence[str],
                      simulated: bool) -> str:
    """One paragraph: what the data support and what they cannot decide at this n."""
    several = len(rl_arms) > 1
    sentences = []
    if simulated:
        sentences.append("These samples come from the simulated backend (no model ran): the paragraph checks the "
                         "analysis, and says nothing about the models.")
    for rl in rl_arms:
        who = f"{rl}" if several else "the RL model"
        parts = []
        for number, what in ((1, "claim 1 (RL ahead at k = 1, the base caught up at the largest k)"),
                             (2, "claim 2 (RL's solved problems within the base's)"),
                             (3, "claim 3 (RL raises the shares at accuracy 0 and 1)")):
            verdicts = _claim_number_verdicts(claims, number, rl, several)
            groups: dict[str, list[str]] = {}
            for verdict in verdicts:
                groups.setdefault(verdict.verdict, []).append(verdict.scope.split(", ")[-1])
            said = " and ".join(f"{verdict} on {', '.join(scopes)}" for verdict, scopes in groups.items()) or NOT_RUN
            parts.append(f"{what}: {said}")
        mine = [f for f in findings if f.rl == rl]
        crossings = [f"{f.benchmark}: {f.crossing.describe()}" for f in mine]
        sentences.append(f"For {who}, " + "; ".join(parts) + ". " + (
            "Crossing points -- " + "; ".join(crossings) + "." if crossings else ""))
        undecided = sorted({c.scope.split(', ')[-1] for number in (1, 2, 3)
                            for c in _claim_number_verdicts(claims, number, rl, several) if c.verdict == INCONCLUSIVE})
        beyond = [f.benchmark for f in mine if f.crossing.shown_from is None]
        if undecided or beyond:
            cannot = []
            if undecided:
                cannot.append(f"the inconclusive verdicts ({', '.join(undecided)}) are within sampling noise at "
                              f"n = {min(f.n for f in mine) if mine else 0}, and more samples or problems would be "
                              "needed to settle them")
            if beyond:
                cannot.append(f"on {', '.join(beyond)} no k up to the largest one asked shows the base at or above "
                              "RL beyond noise, so a crossing past it cannot be ruled in or out")
            sentences.append("What this n cannot decide: " + "; ".join(cannot) + ".")
    sentences.append("The verdicts concern sampling noise on these benchmark problems; they do not generalize to "
                     "other problems.")
    return " ".join(sentences)


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def report_markdown(title: str, model_lines: Sequence[str], settings: Sequence[str], findings: Sequence[PairFinding],
                    claims: Sequence[ClaimVerdict], histograms: Mapping[tuple[str, str], list[int]],
                    paragraph: str, notes: Sequence[str] = (),
                    plots: Mapping[tuple[str, str], str] | None = None) -> str:
    """The pair's report. `plots`: (RL arm, benchmark) -> the plot's path, relative to the report."""
    lines = [f"# {title}", ""]
    lines += ["## Models", "", *[f"- {line}" for line in model_lines], ""]
    lines += ["## Settings", "", *[f"- {line}" for line in settings], ""]
    if notes:
        lines += ["## Notes", "", *[f"- {note}" for note in notes], ""]
    lines += ["## Verdict", "", paragraph, ""]
    lines += ["## Claims", "", "| claim | scope | verdict | evidence |", "|---|---|---|---|"]
    lines += [f"| {c.paper_claim}: {c.text} | {c.scope} | **{c.verdict}** | {c.evidence} |" for c in claims]
    lines += ["", *[f"- {claim_heading(number)}" for number in (1, 2, 3)], ""]
    lines += ["## pass@k (%, 95% sampling band)", ""]
    for finding in findings:
        lines += [f"### {finding.rl} vs base on {finding.benchmark} ({finding.problems} problems, n = {finding.n})", "",
                  f"- {finding.crossing.describe()}",
                  f"- Delta_SE = pass@{finding.delta_se[2]}(base) - pass@1({finding.rl}) = {_pct(finding.delta_se[0])}"
                  f" ± {_pct(finding.delta_se[1])} points (sd)", ""]
        plot = (plots or {}).get((finding.rl, finding.benchmark))
        if plot:
            lines += [f"![{finding.rl} vs base on {finding.benchmark}]({plot})", ""]
        lines += [
                  "| k | base | band | RL | band |", "|---|---|---|---|---|"]
        for b, r in zip(finding.base_curve, finding.rl_curve):
            lines.append(f"| {b.k} | {_pct(b.value)} | {_pct(b.band[0])}-{_pct(b.band[1])} | {_pct(r.value)} | "
                         f"{_pct(r.band[0])}-{_pct(r.band[1])} |")
        lines.append("")
    if histograms:
        lines += ["## Accuracy histograms (problems per bin: 0, (0,0.1], ..., (0.9,1.0), 1.0)", "",
                  "| arm | benchmark | problems per bin |", "|---|---|---|"]
        lines += [f"| {arm} | {bench} | {' '.join(str(c) for c in bins)} |" for (arm, bench), bins in histograms.items()]
        lines.append("")
    return "\n".join(lines)


def overall(claims: Sequence[ClaimVerdict]) -> dict[str, int]:
    """How many verdicts of each kind (for the command's summary line)."""
    return {kind: sum(c.verdict == kind for c in claims) for kind in (HOLDS, FAILS, INCONCLUSIVE, NOT_RUN)}
