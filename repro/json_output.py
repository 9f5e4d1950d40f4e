"""The `--json` forms of `repro list` and `repro compare`: stable shapes for scripts.

Every document is one JSON object whose `format` names its shape and version
("repro.list/1", "repro.models/1", "repro.compare/1"; `repro plan --json` is "repro.plan/1").
A version changes only when a field is removed or changes meaning; new fields may appear
within a version. docs/json.md describes every field.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping

LIST_FORMAT = "repro.list/1"
MODELS_FORMAT = "repro.models/1"
COMPARE_FORMAT = "repro.compare/1"
PLAN_FORMAT = "repro.plan/1"


def dumps(document: dict) -> str:
    return json.dumps(document, indent=2, allow_nan=False)


def experiments_document(experiments, status_of, verified_prompts, stage_help: Mapping[str, str]) -> dict:
    """`repro list --json`: `status_of(experiment)` is the status line, `verified_prompts(experiment)`
    whether every prompt template it uses is verified against its source."""
    return {
        "format": LIST_FORMAT,
        "experiments": [{
            "id": experiment.id,
            "title": experiment.title,
            "section": experiment.section,
            "figures": list(experiment.figures),
            "kind": experiment.kind,
            "arms": [{"name": arm.name, "model": arm.model} for arm in experiment.arms],
            "benchmarks": sorted({benchmark for _, benchmark in experiment.runs()}),
            "needs": list(experiment.needs),
            "status": status_of(experiment),
            "prompts_verified": verified_prompts(experiment),
        } for experiment in experiments],
        "stages": dict(stage_help),
    }


def models_document(models, trained: Collection[str]) -> dict:
    """`repro list --models --json`."""
    return {
        "format": MODELS_FORMAT,
        "models": [{
            "key": model.key,
            "hub_id": model.hf_id,
            "revision": model.revision,  # None: recorded at download
            "context_length": model.context_length,
            "template": model.template,
            "tensor_parallel_size": model.tensor_parallel_size,
            "released": model.released,
            "trained_here": model.key in trained,
        } for model in models],
    }


def _number(value: float | None) -> float | None:
    return None if value is None else float(value)


def comparison_document(experiment_id: str, tier: str, comparisons: Mapping, counted: Collection[str],
                        simulated: Collection[str], results_folder: str | None) -> dict:
    """`repro compare --json`: every point and claim of every backend's comparison. `counted`:
    the backends that decide the exit status; `failed` is true when one of them failed;
    `simulated`: the backends whose samples were drawn from the paper's curves (never evidence)."""
    backends = []
    for name, comparison in comparisons.items():
        backends.append({
            "backend": name,
            "simulated": name in simulated,
            "decides_exit": name in counted,
            "failed": comparison.failed,
            "counts": {verdict.replace(" ", "_"): count for verdict, count in comparison.counts().items()},
            "points": [{
                "panel": p.panel, "curve": p.curve, "arm": p.arm, "benchmark": p.benchmark, "k": p.k,
                "unit": p.unit, "paper": _number(p.paper), "paper_error": _number(p.paper_error),
                "rerun": _number(p.rerun), "difference": _number(p.difference),
                "sd_rerun": _number(p.sd_rerun), "sd_paper": _number(p.sd_paper), "z": _number(p.z),
                "tolerance": _number(p.tolerance), "verdict": p.verdict,
            } for p in comparison.points],
            "claims": [{"claim": c.paper_claim, "text": c.text, "scope": c.scope, "verdict": c.verdict,
                        "evidence": c.evidence} for c in comparison.claims],
        })
    return {
        "format": COMPARE_FORMAT,
        "experiment": experiment_id,
        "tier": tier,
        "results_folder": results_folder,
        "failed": any(b["failed"] for b in backends if b["decides_exit"]),
        "backends": backends,
    }
