"""An experiment in an adaptive tier (`--tier adaptive`, `--tier smoke-adaptive`): the real
pipeline, sampled in rounds as repro.adaptive decides.

Every run is planned as in the full (smoke) tier -- same settings, same n, hence the same store
keys: the adaptive tier's samples are the full tier's first rounds, shared with any later full
run and reusing any earlier one. Then `repro.adaptive.run_adaptive` asks, look by look, for
samples start..stop-1 of some problems of some runs; `RunSamples.draw` makes sure those rounds
are in the store (sampling only the missing units, in chunks graded as they are stored, the
engine started only when one is missing) and answers with the successes read from the stored
grades. Nothing is drawn twice: a store already holding the rounds (a shared run, an interrupted
adaptive run, a full run made earlier) is read, never sampled again, and since the decisions are
a function of the counts alone, a resumed run takes the same decisions as an uninterrupted one.

Each run's result has per-problem n = m_i (the samples it drew); the decisions, with the samples
each took and the full tier's, go to adaptive.json beside the results (repro.adaptive_verdicts).
"""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil

import numpy as np

from repro import adaptive
from repro.adaptive_verdicts import complete_decisions, keyed_comparisons, record
from repro.errors import EnvironmentNotSupportedError, ReproError
from repro.experiments import Experiment
from repro.pipeline import (RunContext, RunOutcome, drop_grades_once, grade_store, missing_units, open_store, plan_for,
                            sample_missing)
from repro.plan import PlannedRun
from repro.results import RunResult
from repro.sampling import get_backend

# Experiments whose stage reads every sample of its runs (or picks rare chains among them): the
# adaptive tier's prefix of the samples would change what they measure, so they run in the full
# (smoke) tier.
NEEDS_EVERY_SAMPLE = {"entropy-match": "its entropy stage", "perplexity": "its perplexity stage",
                      "manual-check": "its review sheet of rare correct chains"}


def not_covered(experiment: Experiment) -> str | None:
    """Why an adaptive tier does not run this experiment, or None where it does."""
    stages = [NEEDS_EVERY_SAMPLE[need] for need in experiment.needs if need in NEEDS_EVERY_SAMPLE]
    if stages:
        return f"{' and '.join(stages)} reads every sample of its runs: run it with --tier full (or smoke)"
    if not experiment.runs():
        return "it has no sampled runs to decide adaptively: run it with --tier full (or smoke)"
    return None


class RunSamples:
    """One run's store as the adaptive loop draws from it: the verdicts of every stored unit,
    read once and topped up after each sampling."""

    def __init__(self, context: RunContext, planned: PlannedRun):
        self.context, self.planned, self.spec = context, planned, planned.spec
        self.label = f"{planned.experiment}/{planned.arm}/{self.spec.benchmark} [{self.spec.backend}]"
        self.loaded, self.problems, self.store = open_store(context, self.spec)
        self.verdicts: dict[tuple[str, int], list[bool]] = {}
        self._read: set[str] = set()  # chunks whose verdicts are in self.verdicts
        self.units_sampled = 0  # by this command
        with self.store.writing(context.shard, sampling=False):
            drop_grades_once(context, self.spec, self.store)  # `repro grade --tier adaptive`
            self._read_grades()

    def _read_grades(self) -> None:
        listing = set(self.store.chunk_listing())
        self.verdicts.update(grade_store(self.store, {p.problem_id: p for p in self.problems}, self.context, self.label,
                                         self.spec.benchmark, self.spec.template, skip=self._read))
        self._read |= listing

    def draw(self, idx: np.ndarray, start: int, stop: int) -> np.ndarray:
        """Successes among samples start..stop-1 of the problems at positions `idx`, sampling
        first the rounds the store lacks."""
        per_round = self.spec.samples_per_round
        first, last = start // per_round, ceil(stop / per_round)
        chosen = [self.problems[i] for i in idx.tolist()]
        units = [(problem, r) for problem in chosen for r in range(first, last)]
        missing = missing_units(self.store, self.problems, 0, self.context.shard, units)
        if missing:
            if not self.context.generate_missing:
                raise ReproError(f"{self.label}: {len(missing)} sample round(s) the adaptive tier asks for are not "
                                 f"in the store ({self.store.root}); run `repro run` first")
            with self.store.writing(self.context.shard, sampling=True):
                self.units_sampled += sample_missing(self.context, self.spec, self.store, self.problems, self.label,
                                                     units=missing)
                self._read_grades()
        return np.array([self._successes(problem.problem_id, start, stop) for problem in chosen], dtype=np.int64)

    def _successes(self, problem_id: str, start: int, stop: int) -> int:
        """Correct samples among samples start..stop-1 of a problem, from the stored verdicts."""
        per_round = self.spec.samples_per_round
        first, last = start // per_round, ceil(stop / per_round)
        marks = [mark for r in range(first, last) for mark in self._unit(problem_id, r)]
        return sum(marks[start - first * per_round : stop - first * per_round])

    def _unit(self, problem_id: str, round_index: int) -> list[bool]:
        marks = self.verdicts.get((problem_id, round_index))
        if marks is None:  # stored but not graded would be a bug of the store or of grade_store
            raise ReproError(f"{self.label}: round {round_index} of {problem_id} is stored but has no verdicts in "
                             f"{self.store.root}; run `repro store check`")
        return marks

    def result(self, m: np.ndarray) -> RunResult:
        """The run's result from the stored verdicts: problem i over its first m[i] samples."""
        c = np.array([self._successes(problem.problem_id, 0, int(mi)) for problem, mi in zip(self.problems, m)],
                     dtype=np.int64)
        return RunResult(self.planned.arm, self.spec.benchmark, tuple(p.problem_id for p in self.problems),
                         tuple(p.index for p in self.problems), np.asarray(m, dtype=np.int64).copy(), c,
                         backend=self.spec.backend, synthetic=self.loaded.synthetic)


@dataclass(frozen=True)
class AdaptiveOutcome:
    """An experiment's adaptive run: its run outcomes (results at per-problem n = m_i) and,
    per backend that ran, the record for adaptive.json."""

    outcomes: list[RunOutcome]
    records: dict[str, dict]


def run_adaptive_experiment(context: RunContext, experiment: Experiment) -> AdaptiveOutcome:
    """Plan every run (a bad setting stops the experiment before any engine starts), then
    decide adaptively, one backend at a time."""
    why = not_covered(experiment)
    if why:
        raise ReproError(f"{experiment.id}: the {context.tier.name} tier does not run it: {why}")
    planned = plan_for(context, experiment)
    outcomes: list[RunOutcome] = []
    records: dict[str, dict] = {}
    for backend in context.backends:
        runs = [p for p in planned if p.spec.backend == backend]
        if not runs:
            continue
        try:
            outcomes += _run_backend(context, experiment, backend, runs, records)
        except EnvironmentNotSupportedError as error:
            if not context.tier.uses_stand_ins:
                raise
            # As repro.pipeline.run_one: a stand-in tier's engine checks run where the machine allows.
            outcomes += [RunOutcome(experiment.id, backend, None, p.arm, p.spec.benchmark,
                                    f"engine check skipped: {error}", p.spec) for p in runs]
    return AdaptiveOutcome(outcomes, records)


def _run_backend(context: RunContext, experiment: Experiment, backend: str, planned: list[PlannedRun],
                 records: dict[str, dict]) -> list[RunOutcome]:
    samples = {(p.arm, p.spec.benchmark): RunSamples(context, p) for p in planned}
    runs = {key: run.spec.n for key, run in samples.items()}
    checks = adaptive.checks_for(experiment, runs)
    outcome = adaptive.run_adaptive(checks, runs, {key: len(run.problems) for key, run in samples.items()},
                                    lambda key, idx, start, stop: samples[key].draw(idx, start, stop))
    results = {key: run.result(outcome.states[key].m) for key, run in samples.items()}
    for key, result in results.items():
        if not np.array_equal(result.c, outcome.states[key].c):  # the loop's counts are the store's
            raise ReproError(f"{samples[key].label}: the counts read back from the store differ from those the "
                             "adaptive loop drew; the store changed under this command")
    comparisons = keyed_comparisons(experiment, results)  # once: the delegated verdicts and the order
    complete_decisions(experiment, outcome, results, comparisons)
    order = list(comparisons)
    records[backend] = record(experiment, context.tier.name, backend, get_backend(backend).simulated, outcome, order)
    return [RunOutcome(experiment.id, backend, result, key[0], key[1], samples[key].loaded.note, samples[key].spec,
                       samples[key].store.root) for key, result in results.items()]
