"""Which experiments have a scoring stage, and running it after their pass@k runs: its claim
verdicts join the experiment's comparison for that backend, its notes the report."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from repro.compare import ExperimentComparison
from repro.experiments import Experiment
from repro.pipeline import RunContext
from repro.report import ExperimentSection

# Experiment id -> the stage (repro.stages names) that scores its responses.
SCORING_STAGES = {"perplexity": "perplexity", "entropy": "entropy-match"}


def run_scoring_stage(context: RunContext, experiment: Experiment, section: ExperimentSection,
                      external_responses: Path | None = None) -> None:
    if experiment.id not in SCORING_STAGES:
        return
    for backend in context.backends:
        if experiment.id == "perplexity":
            from repro.analysis.perplexity import run_perplexity

            outcome = run_perplexity(context, experiment, backend, external_responses)
        else:
            from repro.analysis.entropy import run_entropy

            outcome = run_entropy(context, experiment, backend, section.results.get(backend, {}))
        section.notes += outcome.notes
        points = tuple(outcome.points)  # the entropy stage scores Figure 17's printed values
        if not outcome.claims and not points:
            continue
        comparison = section.comparisons.get(backend) or ExperimentComparison(experiment.id, backend, (), ())
        section.comparisons[backend] = replace(comparison, claims=comparison.claims + tuple(outcome.claims),
                                               points=comparison.points + points)
