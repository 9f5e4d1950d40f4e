"""The experiment registry: every experiment of the paper, by id."""

from __future__ import annotations

from repro.errors import UnknownNameError
from repro.experiments.registry import EXPERIMENTS
from repro.experiments.spec import Arm, CurveRef, Experiment, HistogramRef, Panel, SolvedSetRef

__all__ = ["EXPERIMENTS", "Arm", "CurveRef", "Experiment", "HistogramRef", "Panel", "SolvedSetRef",
           "get_experiment", "experiment_ids"]


def experiment_ids() -> list[str]:
    return [experiment.id for experiment in EXPERIMENTS]


def get_experiment(experiment_id: str) -> Experiment:
    for experiment in EXPERIMENTS:
        if experiment.id == experiment_id:
            return experiment
    raise UnknownNameError(
        f"unknown experiment {experiment_id!r}; run `repro list` to see the {len(EXPERIMENTS)} experiments"
    )
