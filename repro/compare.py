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

from repro import stats
from repro.claims import ClaimVerdict
from repro.expected import ExpectedPoint, curve_points, load_curves
from repro.experiments import Experiment, Panel
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


def compare_experiment(experiment: Experiment, results: Mapping[tuple[str, str], RunResult],
                       backend: str = "") -> ExperimentComparison:
    expected = load_curves()
    points: list[PointComparison] = []
    for panel in experiment.panels:
        points += compare_panel(panel, results, expected)
    claims: list[ClaimVerdict] = []
    for claim in experiment.claims:
        claims += claim.evaluate(results)
    return ExperimentComparison(experiment.id, backend, tuple(points), tuple(claims))
