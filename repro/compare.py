"""Produced pass@k against the paper's, point by point, with a statistical tolerance.

For each plotted point (panel, curve, k) of the paper:

    difference = rerun - paper
    tolerance  = z_panel * sqrt(Var_rerun + Var_paper) + paper's own error

- Var_rerun is the sampling variance of the rerun's estimate (its own n), Var_paper that
  of an estimate made from the paper's n on the same problems; both come from the rerun's
  per-problem counts (repro.stats: Jeffreys posterior, exact beta-binomial expectation).
- The paper's own error is the digitization rounding (5e-5) or the table rounding (5e-4).
- z_panel is a Bonferroni z over the points compared in the panel, so an honest rerun
  raises a false alarm somewhere in a panel with probability at most 5%.

A point passes when |difference| <= tolerance; points the rerun cannot reach (k > its n)
are "not run". Claims are evaluated separately (repro.claims).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from math import sqrt
from statistics import NormalDist

import numpy as np

from repro import stats
from repro.claims import FAILS, HOLDS, ClaimVerdict
from repro.claims import NOT_RUN as CLAIM_NOT_RUN
from repro.expected import (ExpectedPoint, PrintedValue, curve_points, find_printed, histogram_series, load_curves,
                            load_histograms, load_printed, load_solved_sets)
from repro.experiments import Experiment, HistogramRef, Panel
from repro.metrics import HISTOGRAM_BINS
from repro.printed import PrintedRef
from repro.results import RunResult

PASS, FAIL, NOT_RUN = "pass", "fail", "not run"


@dataclass(frozen=True)
class PointComparison:
    panel: str  # "Figure 2: AIME24 (Qwen-2.5-7B)"
    curve: str
    arm: str
    benchmark: str
    k: int
    paper: float
    paper_error: float
    rerun: float | None
    sd_rerun: float | None
    sd_paper: float | None
    z: float | None
    tolerance: float | None
    verdict: str
    unit: str = "fraction"  # fractions show as percent; anything else (an entropy in nats) as it is

    @property
    def difference(self) -> float | None:
        return None if self.rerun is None else self.rerun - self.paper


@dataclass(frozen=True)
class ExperimentComparison:
    experiment: str
    backend: str
    points: tuple[PointComparison, ...]
    claims: tuple[ClaimVerdict, ...]

    def counts(self) -> dict[str, int]:
        tally = {PASS: 0, FAIL: 0, NOT_RUN: 0}
        for point in self.points:
            tally[point.verdict] += 1
        return tally

    @property
    def failed(self) -> bool:
        return any(p.verdict == FAIL for p in self.points) or any(c.verdict == "fails" for c in self.claims)


def compare_panel(panel: Panel, results: Mapping[tuple[str, str], RunResult],
                  expected: list[ExpectedPoint], family_rate: float = stats.PANEL_FALSE_ALARM_RATE
                  ) -> list[PointComparison]:
    """Compare every expected point of a panel with the rerun's curve."""
    rows: list[tuple[str, ExpectedPoint, RunResult | None]] = []
    for arm, ref in panel.curves:
        result = results.get((arm, panel.benchmark))
        for point in curve_points(expected, ref.figure, ref.panel, ref.family, ref.curve):
            rows.append((arm, point, result))
    comparable = [(arm, point, result) for arm, point, result in rows if result is not None and point.k <= result.max_k]
    z = stats.bonferroni_z(len(comparable), family_rate) if comparable else None
    # One variance computation per curve, over all its k at once.
    variances: dict[tuple[str, str], tuple[dict[int, float], dict[int, float], dict[int, float]]] = {}
    for arm, ref in panel.curves:
        result = results.get((arm, panel.benchmark))
        if result is None:
            continue
        ks = [p.k for a, p, r in comparable if a == arm and p.curve == ref.curve]
        if ks:
            variances[(arm, ref.curve)] = (
                result.curve(ks),
                stats.curve_variances(result.n, result.c, ks),
                stats.curve_variances(result.n, result.c, ks, m=panel.n),
            )
    out = []
    for arm, point, result in rows:
        if result is None or point.k > result.max_k:
            out.append(PointComparison(panel.title, point.curve, arm, panel.benchmark, point.k, point.value,
                                       point.abs_error, None, None, None, None, None, NOT_RUN))
            continue
        values, var_rerun, var_paper = variances[(arm, point.curve)]
        sd_rerun, sd_paper = sqrt(var_rerun[point.k]), sqrt(var_paper[point.k])
        tolerance = z * sqrt(var_rerun[point.k] + var_paper[point.k]) + point.abs_error
        rerun = values[point.k]
        verdict = PASS if abs(rerun - point.value) <= tolerance else FAIL
        out.append(PointComparison(panel.title, point.curve, arm, panel.benchmark, point.k, point.value,
                                   point.abs_error, rerun, sd_rerun, sd_paper, z, tolerance, verdict))
    return out


# Printed numbers are in percent points or counts where the paper prints them so; scored as fractions.
_UNIT_SCALE = {"fraction": 1.0, "points": 0.01}


def printed_title(source: str) -> str:
    return f"{source} (printed)"


def compare_printed(refs: tuple[PrintedRef, ...], results: Mapping[tuple[str, str], RunResult],
                    family_rate: float = stats.PANEL_FALSE_ALARM_RATE) -> list[PointComparison]:
    """Every printed number an experiment reproduces, scored like a curve point: |rerun - paper|
    within z * sqrt(Var_rerun + Var_paper) plus the number's rounding, z a Bonferroni z over
    the numbers of one source (a table, a figure's annotations, a section's text)."""
    printed = load_printed()
    estimates = [(ref, ref.statistic.estimate(results, ref.paper_n)) for ref in refs]
    per_source: dict[str, int] = {}
    for ref, estimate in estimates:
        if estimate is not None:
            per_source[ref.printed[0]] = per_source.get(ref.printed[0], 0) + 1
    out = []
    for ref, estimate in estimates:
        value = find_printed(printed, *ref.printed)
        label = f"{value.row}: {value.metric}"
        if ref.scored_against is None:
            paper, error = _as_fraction(value, ref), _as_fraction_error(value, ref)
        else:
            plus, minus = (find_printed(printed, *key) for key in ref.scored_against)
            paper, error = plus.value - minus.value, plus.abs_error + minus.abs_error
            label += (f" (the text prints {100 * value.value:.1f}; scored against {plus.source}: "
                      f"{100 * paper:.1f})")
        arm = ref.statistic.label()
        if estimate is None:
            out.append(PointComparison(printed_title(value.source), label, arm, ref.statistic.benchmark,
                                       ref.statistic.k, paper, error, None, None, None, None, None, NOT_RUN))
            continue
        if estimate.detail:
            label += f" [{estimate.detail}]"
        z = stats.bonferroni_z(per_source[ref.printed[0]], family_rate)
        tolerance = z * sqrt(estimate.var_rerun + estimate.var_paper) + error
        verdict = PASS if abs(estimate.value - paper) <= tolerance else FAIL
        out.append(PointComparison(printed_title(value.source), label, arm, ref.statistic.benchmark,
                                   ref.statistic.k, paper, error, estimate.value, sqrt(estimate.var_rerun),
                                   sqrt(estimate.var_paper), z, tolerance, verdict))
    return out


def _as_fraction(value: PrintedValue, ref: PrintedRef) -> float:
    """A printed number as a fraction: points / 100; a count of problems as a share of the
    benchmark's declared size (the paper counts over the whole benchmark; a stand-in tier's
    first problems estimate the same share)."""
    if value.unit == "count":
        return value.value / _declared_size(ref)
    return value.value * _UNIT_SCALE[value.unit]


def _as_fraction_error(value: PrintedValue, ref: PrintedRef) -> float:
    if value.unit == "count":
        return value.abs_error / _declared_size(ref)
    return value.abs_error * _UNIT_SCALE[value.unit]


def _declared_size(ref: PrintedRef) -> int:
    from repro.benchmarks import get_benchmark

    return get_benchmark(ref.statistic.benchmark).size


def histogram_title(ref: HistogramRef) -> str:
    return f"{ref.figure}: {ref.panel} ({ref.family}) accuracy histogram"


def compare_histograms(experiment: Experiment, results: Mapping[tuple[str, str], RunResult],
                       family_rate: float = stats.PANEL_FALSE_ALARM_RATE) -> list[PointComparison]:
    """Every bar of every accuracy histogram, as a share of the problems: |rerun - paper| within
    z * sqrt(Var_rerun + Var_paper). Each problem lands in one bin of a draw (a multinomial
    cell), so a bar's share varies as sum_i q_ib (1 - q_ib) / N^2, q_ib the problem's chance of
    bin b under the Jeffreys posterior of its success rate, at the rerun's n and at the
    paper's (RunResult.histogram_share_variances); z is a Bonferroni z over one histogram's bars.
    The bars are integers read from the figure's vector drawing: no rounding term."""
    bars = load_histograms()
    runs = experiment.runs()
    out = []
    for ref in experiment.histograms:
        series = sorted(histogram_series(bars, ref.figure, ref.panel, ref.family, ref.series), key=lambda b: b.bin_index)
        result = results.get((ref.arm, ref.benchmark))
        title = histogram_title(ref)
        if result is None:
            out += [PointComparison(title, ref.series, ref.arm, ref.benchmark, bar.bin_index,
                                    bar.count / bar.n_problems, 0.0, None, None, None, None, None, NOT_RUN)
                    for bar in series]
            continue
        shares = np.array(result.histogram()) / result.problems
        var_rerun = result.histogram_share_variances()
        var_paper = result.histogram_share_variances(runs[(ref.arm, ref.benchmark)])
        z = stats.bonferroni_z(len(series), family_rate)
        for bar in series:
            b = bar.bin_index
            paper = bar.count / bar.n_problems
            subset = stats.subset_share_variance(paper, result.problems, bar.n_problems)
            tolerance = z * sqrt(var_rerun[b] + var_paper[b] + subset)
            verdict = PASS if abs(shares[b] - paper) <= tolerance else FAIL
            out.append(PointComparison(title, f"{ref.series}: accuracy {HISTOGRAM_BINS[b]}", ref.arm, ref.benchmark, b,
                                       paper, 0.0, float(shares[b]), sqrt(var_rerun[b]), sqrt(var_paper[b]), z,
                                       tolerance, verdict))
    return out


def solved_set_verdicts(experiment: Experiment, results: Mapping[tuple[str, str], RunResult],
                        family_rate: float = stats.PANEL_FALSE_ALARM_RATE) -> list[ClaimVerdict]:
    """Tables 4 and 5: does the rerun solve the problems the paper lists? With s_i the rerun's
    status (solved at least once) and q_i the chance that a draw of the paper's n solves problem
    i (Jeffreys posterior from the rerun's counts), the number of disagreements with the printed
    list has, were the paper's models the rerun's, mean sum_i (s_i ? 1 - q_i : q_i) and a
    variance sum d_i (1 - d_i). Too many disagreements (beyond z sd, z a one-sided Bonferroni z
    over the experiment's lists) fail; otherwise the list holds."""
    printed = load_solved_sets()
    runs = experiment.runs()
    refs = experiment.solved_sets
    z = NormalDist().inv_cdf(1.0 - family_rate / max(len(refs), 1))
    out = []
    for ref in refs:
        text = f"the rerun solves the problems {ref.source} lists for {ref.model}"
        scope = f"{ref.source}, {ref.benchmark}"
        result = results.get((ref.arm, ref.benchmark))
        if result is None:
            out.append(ClaimVerdict(2, text, scope, CLAIM_NOT_RUN, "runs missing"))
            continue
        listed = printed.get((ref.source, ref.model), frozenset())
        last = ref.last_index if ref.last_index is not None else max(result.problem_indices)
        chosen = [i for i, index in enumerate(result.problem_indices) if ref.first_index <= index <= last]
        if not chosen:
            out.append(ClaimVerdict(2, text, scope, CLAIM_NOT_RUN, f"no problem of indices {ref.first_index}..{last}"))
            continue
        solved = result.c[chosen] > 0
        chance = result.solved_chances(runs[(ref.arm, ref.benchmark)])[chosen]
        disagree = np.where(solved, 1 - chance, chance)
        mean, sd = float(disagree.sum()), sqrt(float((disagree * (1 - disagree)).sum()))
        in_list = np.array([result.problem_indices[i] in listed for i in chosen])
        observed = [result.problem_indices[i] for i, a, b in zip(chosen, solved, in_list) if a != b]
        verdict = FAILS if len(observed) > mean + z * sd else HOLDS
        evidence = (f"{len(observed)} of {len(chosen)} problems disagree with the printed list {observed[:10]}; "
                    f"{mean:.1f} ± {sd:.1f} expected from sampling alone (fails beyond {mean + z * sd:.1f})")
        out.append(ClaimVerdict(2, text, scope, verdict, evidence))
    return out


def compare_experiment(experiment: Experiment, results: Mapping[tuple[str, str], RunResult],
                       backend: str = "") -> ExperimentComparison:
    expected = load_curves()
    points: list[PointComparison] = []
    for panel in experiment.panels:
        points += compare_panel(panel, results, expected)
    points += compare_printed(experiment.printed, results)
    points += compare_histograms(experiment, results)
    claims: list[ClaimVerdict] = []
    for claim in experiment.claims:
        claims += claim.evaluate(results)
    claims += solved_set_verdicts(experiment, results)
    return ExperimentComparison(experiment.id, backend, tuple(points), tuple(claims))
