"""The adaptive tier's verdicts as the rest of the package reads them.

`repro.adaptive.run_adaptive` settles the verdicts its method covers (curve points, printed
pass@k numbers and gaps, directional and similarity claims). The others -- accuracy histograms,
solved sets, solved-count cells, claims of other kinds -- it leaves to the full tier's rule: their
runs went to the full n (or every problem is solved once or at n), so the full tier's own
functions (repro.compare, repro.claims) take them on the adaptive tier's samples. This module
takes them (`complete_decisions`), turns the decisions into the ExperimentComparison that the
summary, the report and the exit status read (`adaptive_comparison`), and writes / reads the
record kept beside the results (`adaptive.json`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from repro import adaptive
from repro.claims import ClaimVerdict
from repro.compare import (ExperimentComparison, PointComparison, compare_histograms, compare_panel, compare_printed,
                           solved_set_verdicts)
from repro.errors import InputFileError
from repro.expected import load_curves
from repro.experiments import Experiment
from repro.files import atomic_write
from repro.results import RunResult

RECORD_FILE = "adaptive.json"  # beside an adaptive tier's result CSVs
RECORD_FORMAT = "repro-adaptive/1"
METHOD = "docs/statistics.md#the-adaptive-tier"
FULL_RULE = "the full tier's rule"  # the evidence of a verdict the method leaves to the full tier
# Decisions that carry runs for delegated verdicts; not verdicts themselves (repro.adaptive.checks_for).
CARRIERS = (("full",), ("solved status",))


def keyed_comparisons(experiment: Experiment, results: Mapping[tuple[str, str], RunResult],
                      points: bool = True) -> dict[tuple, PointComparison | ClaimVerdict]:
    """Every verdict of the full tier's rule on `results`, under the key repro.adaptive gives it:
    ("point", panel, curve, arm, k), ("printed", *printed key), ("claim", paper claim, text,
    scope, i) (i: the how-many-th claim with that number, text and scope), ("solved set", text,
    scope), ("histogram", panel, curve). `points`: include the panels' curve points."""
    out: dict[tuple, PointComparison | ClaimVerdict] = {}
    if points:
        expected = load_curves()
        for panel in experiment.panels:
            for p in compare_panel(panel, results, expected):
                out[("point", p.panel, p.curve, p.arm, p.k)] = p
    for ref, p in zip(experiment.printed, compare_printed(experiment.printed, results)):
        out[("printed",) + tuple(ref.printed)] = p
    seen: dict[tuple, int] = {}
    for claim in experiment.claims:
        for v in claim.evaluate(results):
            key = ("claim", v.paper_claim, v.text, v.scope)
            seen[key] = seen.get(key, 0) + 1
            out[key + (seen[key] - 1,)] = v
    for v in solved_set_verdicts(experiment, results):
        out[("solved set", v.text, v.scope)] = v
    for p in compare_histograms(experiment, results):
        out[("histogram", p.panel, p.curve)] = p
    return out


def full_tier_verdicts(experiment: Experiment, results: Mapping[tuple[str, str], RunResult],
                       points: bool = True) -> dict[tuple, str]:
    """The verdicts alone of `keyed_comparisons` (what the full tier decides on these results)."""
    return {key: item.verdict for key, item in keyed_comparisons(experiment, results, points).items()}


def complete_decisions(experiment: Experiment, outcome: adaptive.Outcome,
                       results: Mapping[tuple[str, str], RunResult],
                       comparisons: Mapping[tuple, PointComparison | ClaimVerdict] | None = None
                       ) -> dict[tuple, adaptive.Decision]:
    """Add to `outcome.decisions` every verdict the method leaves to the full tier's rule,
    taken with that rule on `results` (the adaptive tier's own samples: m_i and c_i of each
    problem); returns the decisions. Each one's samples are those of the decision that held its
    runs: the full-n carrier for histograms, the solved-status one for solved sets and claims
    over solved sets (the other where only one exists). `comparisons`: `keyed_comparisons` of
    `results`, where the caller has it already."""
    decisions = outcome.decisions
    verdicts = keyed_comparisons(experiment, results, points=True) if comparisons is None else comparisons
    delegated = [key for key in verdicts if key not in decisions]
    full, status = decisions.get(CARRIERS[0]), decisions.get(CARRIERS[1])
    for key in delegated:
        carrier = (full or status) if key[0] == "histogram" else (status or full)
        samples, full_samples = (carrier.samples, carrier.full_samples) if carrier else (0, 0)
        decisions[key] = adaptive.Decision(verdicts[key].verdict, -1, f"{FULL_RULE}: {_evidence(verdicts[key])}",
                                           samples, full_samples)
    return decisions


def _evidence(item: PointComparison | ClaimVerdict) -> str:
    """What the full tier's rule saw: a claim's own evidence, a point's difference and tolerance."""
    if isinstance(item, ClaimVerdict):
        return item.evidence
    if item.difference is None or item.tolerance is None:
        return "not run"
    if item.unit == "fraction":
        return f"{100 * item.difference:+.2f} points, tolerance {100 * item.tolerance:.2f}"
    return f"{item.difference:+.3f}, tolerance {item.tolerance:.3f}"


def adaptive_comparison(experiment: Experiment, results: Mapping[tuple[str, str], RunResult],
                        decisions: Mapping[tuple, Any], backend: str = "") -> ExperimentComparison:
    """The comparison of an adaptive run: every point and claim of the full tier's comparison,
    each with the adaptive tier's verdict (and, for claims, its evidence). Values shown are those
    of the samples in hand: a point at k above a problem's m_i has none ("-"), though decided.
    `decisions`: key -> an object with .verdict and .evidence (Decision, or a loaded record)."""
    points, claims = [], []
    for key, item in keyed_comparisons(experiment, results).items():
        decision = decisions.get(key)
        if isinstance(item, PointComparison):
            points.append(item if decision is None else replace(item, verdict=decision.verdict))
        else:
            evidence = item.evidence if decision is None or decision.evidence.startswith(FULL_RULE) else decision.evidence
            claims.append(item if decision is None else replace(item, verdict=decision.verdict, evidence=evidence))
    return ExperimentComparison(experiment.id, backend, tuple(points), tuple(claims))


# ----------------------------------------------------------------------------- the record


def record(experiment: Experiment, tier: str, backend: str, simulated: bool, outcome: adaptive.Outcome,
           order: list[tuple] | None = None) -> dict[str, Any]:
    """What adaptive.json holds: per verdict its key, verdict, look (-1: the full tier's rule),
    evidence, samples it took and the full tier's; per run the samples drawn and the full
    tier's; the totals. `order`: keys in the order to list them (the rest follow)."""
    keys = [key for key in (order or []) if key in outcome.decisions]
    keys += [key for key in outcome.decisions if key not in keys and key not in CARRIERS]
    verdicts = [{"key": list(key), "verdict": d.verdict, "look": d.look, "evidence": d.evidence,
                 "samples": d.samples, "full_samples": d.full_samples}
                for key in keys for d in [outcome.decisions[key]]]
    runs = [{"arm": arm, "benchmark": benchmark, "problems": state.problems, "n": state.n,
             "samples": int(state.m.sum()), "full_samples": state.problems * state.n}
            for (arm, benchmark), state in outcome.states.items()]
    drawn, full = sum(r["samples"] for r in runs), sum(r["full_samples"] for r in runs)
    data: dict[str, Any] = {"format": RECORD_FORMAT, "experiment": experiment.id, "tier": tier, "backend": backend,
                            "simulated": simulated, "method": METHOD,
                            # per verdict, the chance that one settled early is not the full tier's
                            "prediction_error": adaptive.PREDICTION_ERROR, "verdicts": verdicts, "runs": runs,
                            "total": {"samples": drawn, "full_samples": full, "share": drawn / full if full else None}}
    if simulated:
        data["note"] = ("simulated backend: samples drawn from the paper's own curves; this checks the machinery, "
                        "not the paper")
    return data


def write_record(folder: Path, data: dict[str, Any]) -> Path:
    path = folder / RECORD_FILE
    atomic_write(path, (json.dumps(data, indent=1) + "\n").encode())
    return path


class RecordedDecision:
    """A verdict as read back from adaptive.json."""

    def __init__(self, entry: dict[str, Any]):
        self.verdict, self.evidence = entry["verdict"], entry["evidence"]
        self.look, self.samples, self.full_samples = entry["look"], entry["samples"], entry["full_samples"]


def read_record(folder: Path) -> dict[str, Any] | None:
    """The record beside a results folder's files, or None if there is none. A damaged one is
    an error naming the file (the verdicts cannot be rebuilt from partial samples alone)."""
    path = folder / RECORD_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != RECORD_FORMAT:
            raise ValueError(f"format {data.get('format')!r}, expected {RECORD_FORMAT}")
        for entry in data["verdicts"]:
            RecordedDecision(entry)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as error:
        raise InputFileError(f"{path} is damaged ({error}); rerun the `repro run` that wrote it: it reuses every "
                             "stored sample and writes it again") from None
    return data


def recorded_decisions(data: dict[str, Any]) -> dict[tuple, RecordedDecision]:
    return {tuple(entry["key"]): RecordedDecision(entry) for entry in data["verdicts"]}
