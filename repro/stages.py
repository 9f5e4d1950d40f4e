"""Which stages of each experiment exist, per tier and backend.

The registry is complete; stages arrive issue by issue. This module is the single place
that says what can run now, so `repro list`, `repro run` and the report agree.
"""

from __future__ import annotations

from collections.abc import Collection

from repro.experiments import Experiment
from repro.tiers import TIERS, Tier

# Stages that exist in this version.
IMPLEMENTED = frozenset({"generate", "grade:math", "grade:code", "grade:visual", "compare", "report",
                         "aime24-filter-list", "manual-check", "perplexity", "entropy-match"})

# Stages whose numbers a person enters (verdicts on exported chains of thought): an experiment
# needing one runs its part, but its counts are not measurements (`repro review`).
HUMAN_STAGES = frozenset({"manual-check"})

# What each experiment kind needs to be graded.
_GRADER_STAGE = {"math": "grade:math", "code": "grade:code", "visual": "grade:visual"}

# Needs that a stand-in satisfies: the simulated backend and the tiny models replace the
# trained checkpoints and the unpublished filter list.
_SMOKE_STANDS_IN_FOR = frozenset({"training"})

# What each missing stage is, for `repro list`.
STAGE_HELP = {
    "training": ("VeRL/EasyR1 training of the checkpoints the paper never released: a checkpoint merged into "
                 "the run folder's checkpoints/MODEL/ is found (docs/training.md, 'From checkpoint to model'), or one trained "
                 "elsewhere can be given with --checkpoint MODEL=DIR"),
    "manual-check": ("chains of thought exported for a person to judge (`repro review export`); the counts "
                     "are that person's verdicts (`repro review read`), not measurements"),
    "aime24-filter-list": ("the AIME24 problems kept by App. D.2's filter (the paper's 18 are unpublished): "
                           "rebuilt by each run from direct answers of Qwen2.5-7B-Base (stand-in models in smoke)"),
}


def required_stages(experiment: Experiment) -> list[str]:
    stages = ["generate"]
    if experiment.kind in _GRADER_STAGE:
        stages.append(_GRADER_STAGE[experiment.kind])
    stages += [need for need in experiment.needs if need not in stages]
    if experiment.panels or experiment.histograms or experiment.solved_sets:
        stages.append("compare")
    return stages


def missing_stages(experiment: Experiment, tier: Tier, checkpoints: Collection[str] = ()) -> list[str]:
    """Stages that block this experiment in this tier (empty: it can run). `checkpoints`:
    models given as local checkpoints, which stand in for training the unreleased ones."""
    from repro.models import get_model

    unreleased = {arm.model for arm in experiment.arms if not get_model(arm.model).released}
    trained_elsewhere = bool(unreleased) and unreleased <= set(checkpoints)
    missing = []
    for stage in required_stages(experiment):
        if stage in IMPLEMENTED or (stage == "training" and trained_elsewhere and experiment.kind != "training"):
            continue
        # A training experiment produces a checkpoint: nothing can stand in for that.
        if tier.uses_stand_ins and stage in _SMOKE_STANDS_IN_FOR and experiment.kind != "training":
            continue
        missing.append(stage)
    return missing


def runnable_benchmarks(experiment: Experiment) -> set[str]:
    """Benchmarks of the experiment whose grader exists (coverage mixes math and code)."""
    from repro.benchmarks import get_benchmark

    return {
        benchmark
        for _, benchmark in experiment.runs()
        if _GRADER_STAGE[get_benchmark(benchmark).kind] in IMPLEMENTED
    }


def ungraded_benchmarks(experiment: Experiment) -> list[str]:
    return sorted({benchmark for _, benchmark in experiment.runs()} - runnable_benchmarks(experiment))


def status_line(experiment: Experiment, checkpoints: Collection[str] = ()) -> str:
    """One honest line for `repro list`: what runs now, in which tiers. `checkpoints`: models
    with a checkpoint (trained in the run folder, repro.trained)."""
    smoke = missing_stages(experiment, TIERS["smoke"], checkpoints)
    full = missing_stages(experiment, TIERS["full"], checkpoints)
    human = sorted(HUMAN_STAGES & set(experiment.needs))
    if not full and human:
        line = "samples and exports (all tiers); its counts are a reviewer's verdicts, not measured"
    elif not full:
        line = "runs (all tiers)"
    elif not smoke:
        line = "smoke only; full needs " + ", ".join(full)
    else:
        return "not yet: needs " + ", ".join(smoke)
    skipped = ungraded_benchmarks(experiment)
    if skipped and runnable_benchmarks(experiment):
        line += "; without " + ", ".join(skipped) + " (no grader yet)"
    return line
