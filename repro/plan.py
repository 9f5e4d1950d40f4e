"""Declare, then execute: every setting of every run, decided before any engine starts.

`plan_experiment` turns (experiment, tier, backend, run seed, checkpoints) into frozen
`RunSpec`s, one per (arm, benchmark). A spec holds everything that changes a sample -- model
and revision (or checkpoint and its content hash, or the tiny stand-in model), prompt template
and its hash, stop strings, temperature, top-p, max new tokens, max model length, samples per
round, seed and seed rule, the engine's identity from installed package metadata -- and
what the run is for: n, the grader id and version, why the lengths are what they are.

`RunSpec.key()` is the part that decides samples; the store key is that plus the identity of
the problems the spec's benchmark resolves to (verified checksums, taken when the data are
loaded; see `repro.pipeline.store_key`). Two experiments asking for the same run therefore
read and write the same samples, and re-grading or comparing needs no engine, no model and no
GPU: nothing here imports torch or vLLM (tests/test_plan.py checks that).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from repro.benchmarks import get_benchmark
from repro.checkpoints import Checkpoint
from repro.errors import ReproError
from repro.experiments import Arm, Experiment
from repro.experiments.registry import KEEP_DAPO_ANSWER
from repro.lengths import check_fits, lengths_for
from repro.models import Model, get_model, stop_strings
from repro.sampling import BackendKind, EngineSettings, tiny_models
from repro.sampling.base import SamplingParams
from repro.stages import runnable_benchmarks
from repro.store import canonical_json, key_digest
from repro.tiers import SAMPLES_PER_ROUND, Tier

DEFAULT_RUN_SEED = 0
SEED_RULE = "sha256(run_seed, problem_id, round) mod 2^31"  # repro.sampling.seeds.request_seed


@dataclass(frozen=True)
class Weights:
    """Where a run's model comes from."""

    source: str  # "hub", "checkpoint", "tiny" (a stand-in tier's random model) or "none" (simulated)
    name: str  # hub id, tiny model name, or ""
    revision: str | None = None  # hub commit (catalogue pin or run folder lock); None: not fixed yet
    sha256: str | None = None  # content hash of a checkpoint
    path: str | None = None  # a checkpoint's folder (not part of the key: a moved folder keeps its samples)
    # A checkpoint trained by the package: sha256 of its resolved training configuration (repro.trained).
    training_config_sha256: str | None = None

    def key(self) -> dict[str, Any]:
        key = {"source": self.source, "name": self.name, "revision": self.revision, "sha256": self.sha256}
        if self.training_config_sha256 is not None:  # only then: every other store key stays as it was
            key["training_config_sha256"] = self.training_config_sha256
        return key

    def describe(self) -> str:
        if self.source == "checkpoint" and self.training_config_sha256 is not None:
            return (f"trained checkpoint {self.path} (sha256 {self.sha256[:12]}, training config sha256 "
                    f"{self.training_config_sha256[:12]})")
        if self.source == "checkpoint":
            return f"local checkpoint {self.path} (sha256 {self.sha256[:12]})"
        if self.source == "tiny":
            return f"tiny random model {self.name} (stand-in)"
        if self.source == "none":
            return "no model (simulated)"
        return f"{self.name}@{self.revision or 'resolved at download'}"


@dataclass(frozen=True)
class RunSpec:
    """One run: a model sampled on a benchmark under fixed settings."""

    model: str  # catalogue key (repro.models)
    weights: Weights
    model_context: int  # tokens the weights can hold
    benchmark: str
    kind: str  # math, code or visual
    problem_limit: int | None  # first problems only (stand-in tiers); None: all
    template: str
    template_sha256: str
    stop: tuple[str, ...]
    temperature: float
    top_p: float
    max_new_tokens: int
    max_model_len: int
    samples_per_round: int
    run_seed: int
    backend: str
    engine: tuple[tuple[str, Any], ...]  # sorted items of the engine identity (package metadata)
    # Simulated runs: the paper data their success probabilities are fitted to, and how many
    # problems they are spread over (the fit depends on it). None for real engines.
    calibration: tuple[tuple[str, Any], ...] | None
    # Not part of the key: none of these changes a sample.
    n: int
    grader: str
    lengths_source: str

    def __post_init__(self) -> None:
        check_fits(self.model, self.model_context, self.max_model_len)

    @property
    def rounds(self) -> int:
        return math.ceil(self.n / self.samples_per_round)

    @property
    def tensor_parallel_size(self) -> int:
        return int(dict(self.engine).get("tensor_parallel_size", 1))

    @property
    def engine_settings(self) -> EngineSettings:
        engine = dict(self.engine)
        return EngineSettings(self.max_model_len, str(engine.get("dtype", "auto")), self.tensor_parallel_size,
                              vision=self.kind == "visual")

    def sampling_params(self) -> SamplingParams:
        return SamplingParams(temperature=self.temperature, top_p=self.top_p, max_new_tokens=self.max_new_tokens,
                              stop=self.stop, max_model_len=self.max_model_len)

    def key(self) -> dict[str, Any]:
        """Everything that changes a sample (not n: round r is the same whatever n is)."""
        key = {
            "model": {"key": self.model, **self.weights.key()},
            "benchmark": self.benchmark,
            "template": {"name": self.template, "sha256": self.template_sha256},
            "sampling": self.sampling_params().as_dict(),
            "samples_per_round": self.samples_per_round,
            "run_seed": self.run_seed,
            "seed_rule": SEED_RULE,
            "engine": dict(self.engine),
        }
        if self.calibration is not None:
            # What the fit depends on: the paper's values (not where they are printed: two
            # figures drawing the same curve give the same samples) and how many problems.
            source = dict(self.calibration)
            kind = next(kind for kind in CALIBRATION_KINDS if kind in source)
            key["calibration"] = {kind: paper_values_sha256(source), "problem_limit": source["problem_limit"]}
            if "problem_order" in source:  # the printed solved lists the problems are ordered by
                key["calibration"]["problem_order"] = source["problem_order"]
        return key

    def key_sha256(self) -> str:
        return key_digest(self.key())

    def label(self) -> str:
        return f"{self.model}/{self.benchmark} T{self.temperature:g} [{self.backend}]"


@dataclass(frozen=True)
class PlannedRun:
    """A run as one experiment asks for it (the arm that names it there)."""

    experiment: str
    arm: str
    spec: RunSpec


@dataclass(frozen=True)
class UniqueRun:
    """One set of samples and every experiment run that reads it; n is the largest asked for."""

    spec: RunSpec
    uses: tuple[PlannedRun, ...] = field(default=())

    @property
    def experiments(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(use.experiment for use in self.uses))

    @property
    def use_names(self) -> tuple[str, ...]:
        """"experiment/arm" of every use."""
        return tuple(f"{use.experiment}/{use.arm}" for use in self.uses)


def unique_runs(planned: Iterable[PlannedRun]) -> list[UniqueRun]:
    """Group runs by store key, in first-use order; a shared run keeps the largest n."""
    groups: dict[str, list[PlannedRun]] = {}
    for run in planned:
        groups.setdefault(run.spec.key_sha256(), []).append(run)
    unique = []
    for runs in groups.values():
        widest = max(runs, key=lambda run: run.spec.n).spec
        unique.append(UniqueRun(widest, tuple(runs)))
    return unique


# ----------------------------------------------------------------------------- building specs


def grader_for(benchmark: str) -> str:
    """The grader id and version its module declares."""
    return get_benchmark(benchmark).grader


def template_sha256(name: str) -> str:
    from repro.prompts import template_text

    return hashlib.sha256(template_text(name).encode()).hexdigest()


def run_stop_strings(model: Model, template: str, keep_dapo_answer: bool) -> tuple[str, ...]:
    """Math runs stop where the paper's evaluator stopped each model; code runs stop where the
    harness behind their prompt did (LiveCodeBench, evalplus, rllm)."""
    from repro.code_prompts import CODE_TEMPLATES

    if template in CODE_TEMPLATES:
        return CODE_TEMPLATES[template].stop
    return stop_strings(model, keep_dapo_answer)


def tiny_model_for(arm: Arm, vision: bool = False) -> str:
    """The tiny random model that stands in for an arm's model in a stand-in tier."""
    role = "base" if arm.role == "base" else "rl"
    return f"tiny-vl-{role}" if vision else f"tiny-{role}"


def _runs_tiny_model(model: Model, tier: Tier, checkpoints: Mapping[str, Checkpoint]) -> bool:
    # A stand-in tier runs the checkpoint of a model the paper never released when there is one
    # (given, or trained here): the smoke tier then checks that checkpoint end to end.
    return tier.engine_stand_in is not None and (model.released or model.key not in checkpoints)


def uses_hub(model: Model, tier: Tier, backend: BackendKind, checkpoints: Mapping[str, Checkpoint]) -> bool:
    """Whether a run of `model` loads its weights from the hub (so needs a locked commit)."""
    return (not backend.simulated and not _runs_tiny_model(model, tier, checkpoints) and model.key not in checkpoints
            and model.released)


def hub_models(experiments: Iterable[Experiment], tier: Tier, backends: Iterable[BackendKind],
               checkpoints: Mapping[str, Checkpoint] | None = None) -> list[Model]:
    """The catalogue models whose weights these experiments' runs load from the hub."""
    keys = {arm.model for experiment in experiments for arm in experiment.arms}
    backends = list(backends)
    return [get_model(key) for key in sorted(keys)
            if any(uses_hub(get_model(key), tier, backend, checkpoints or {}) for backend in backends)]


def _weights(arm: Arm, model: Model, tier: Tier, backend: BackendKind, vision: bool,
             checkpoints: Mapping[str, Checkpoint], revisions: Mapping[str, str]) -> tuple[Weights, int]:
    """(weights, their context) of an arm's run. `revisions`: hub id -> commit fixed in the run
    folder's lock (repro.model_lock), which wins over the catalogue (a disagreement between
    the two is refused before planning)."""
    if backend.simulated:
        return Weights("none", ""), model.context_length
    if _runs_tiny_model(model, tier, checkpoints):
        # Both builders give the tiny models this context (the vision one reuses the text one's).
        return Weights("tiny", tiny_model_for(arm, vision)), tiny_models.MAX_POSITION_EMBEDDINGS
    if model.key in checkpoints:
        checkpoint = checkpoints[model.key]
        return (Weights("checkpoint", "", None, checkpoint.sha256, checkpoint.path, checkpoint.training_config_sha256),
                model.context_length)
    if not model.released:
        raise ReproError(f"{model.key} was never released: train it first, then give its folder with "
                         f"--checkpoint {model.key}=DIR")
    return Weights("hub", model.hf_id, revisions.get(model.hf_id) or model.revision), model.context_length


# What a simulated run's success probabilities come from: a paper curve or histogram, or, for
# a pair declared by a user (repro.pair), per-problem probabilities given in problem order or
# (k, pass@k) points to fit.
CALIBRATION_KINDS = ("curve", "histogram", "probabilities", "points")


def calibration_source(experiment: Experiment, arm: Arm, benchmark: str) -> dict[str, Any]:
    """The data a simulated arm is drawn from: what the experiment declares for it (a user's
    pair), else its pass@k curve where the experiment plots one, else its accuracy histogram,
    else the curve of the same model at the same temperature on the same benchmark in another
    experiment (arms the paper only reports as sets, Table 4), else the first paper curve of an
    arm of the same role at the same temperature on the benchmark (models the paper never saw)."""
    declared = experiment.simulation_for(arm.name)
    if declared is not None:
        return declared
    ref = experiment.expected_curve(arm.name, benchmark)
    if ref is not None:
        return {"curve": [ref.figure, ref.panel, ref.family, ref.curve]}
    for hist in experiment.histograms:
        if (hist.arm, hist.benchmark) == (arm.name, benchmark):
            return {"histogram": [hist.figure, hist.panel, hist.family, hist.series]}
    from repro.experiments import EXPERIMENTS

    # The same model first, then any arm of the same role.
    for same in (lambda other: other.model == arm.model, lambda other: other.role == arm.role):
        for other in EXPERIMENTS:
            for other_arm in other.arms:
                if same(other_arm) and other_arm.temperature == arm.temperature:
                    ref = other.expected_curve(other_arm.name, benchmark)
                    if ref is not None:
                        return {"curve": [ref.figure, ref.panel, ref.family, ref.curve]}
    raise ReproError(f"{experiment.id}: nothing in the paper to calibrate a simulation of {arm.name} on {benchmark}")


# Ranks of a problem in a simulation's difficulty order (see printed_problem_ranks).
UNKNOWN_RANK = 100


def printed_problem_ranks(benchmark: str) -> dict[int, int]:
    """Problem index -> its rank in a simulation's difficulty order, from the paper's printed
    solved-at-least-once lists on this benchmark (Tables 4, 5): a problem named by every list
    first (0), then by fewer lists, then problems no list covers (UNKNOWN_RANK), and last those
    a list covers but does not name (solved by none of those models). A simulation knows nothing
    else of which problem is which; ordered so, its solved sets can match the printed ones.
    Empty where the paper prints no list."""
    from repro.expected import load_solved_sets
    from repro.experiments import EXPERIMENTS

    printed = load_solved_sets()
    refs = {(ref.source, ref.model): ref for experiment in EXPERIMENTS for ref in experiment.solved_sets
            if ref.benchmark == benchmark}
    ranks: dict[int, int] = {}
    for key, ref in sorted(refs.items()):
        listed = printed.get(key, frozenset())
        last = ref.last_index if ref.last_index is not None else max(listed, default=ref.first_index)
        for index in range(ref.first_index, last + 1):
            ranks[index] = ranks.get(index, len(refs)) - (index in listed)
    return {index: rank if rank < len(refs) else UNKNOWN_RANK + 1 for index, rank in ranks.items()}


def paper_values_sha256(source: dict[str, Any]) -> str:
    """sha256 of the paper values a simulated run is fitted to (curve: (k, value) pairs;
    histogram: the bars' counts in bin order)."""
    from repro.expected import curve_points, histogram_series, load_curves, load_histograms

    if "probabilities" in source:
        values = [float(p) for p in source["probabilities"]]
    elif "points" in source:
        values = [[int(k), float(v)] for k, v in source["points"]]
    elif "curve" in source:
        values = [[point.k, point.value] for point in curve_points(load_curves(), *source["curve"])]
    else:
        bars = histogram_series(load_histograms(), *source["histogram"])
        values = [bar.count for bar in sorted(bars, key=lambda bar: bar.bin_index)]
    return hashlib.sha256(canonical_json(values).encode()).hexdigest()


def plan_run(experiment: Experiment, arm: Arm, benchmark: str, paper_n: int, tier: Tier, backend: BackendKind, *,
             run_seed: int = DEFAULT_RUN_SEED, checkpoints: Mapping[str, Checkpoint] | None = None,
             keep_dapo_answer: bool = KEEP_DAPO_ANSWER, revisions: Mapping[str, str] | None = None) -> RunSpec:
    """The spec of one (arm, benchmark) run of an experiment. `revisions`: hub id -> locked
    commit (repro.model_lock.locked_revisions)."""
    tier.check_backend(backend)
    model = get_model(arm.model)
    declared = get_benchmark(benchmark)
    kind = declared.kind
    vision = kind == "visual"
    weights, context = _weights(arm, model, tier, backend, vision, checkpoints or {}, revisions or {})
    stand_in = tier.engine_stand_in if not backend.simulated else None
    if stand_in is not None:
        max_new, model_len = stand_in.max_new_tokens, stand_in.max_model_len
        lengths_source = ("stand-in tier: a prompt and a few dozen tokens of a tiny model (or of the checkpoint of "
                          "an unreleased model, where there is one)")
        dtype = stand_in.dtype
    else:
        lengths = lengths_for(declared.budget, model.key, model.context_length, experiment.lengths)
        max_new, model_len, lengths_source = lengths.max_new_tokens, lengths.max_model_len, lengths.source
        dtype = backend.default_dtype
    n = tier.n_for(backend, paper_n)
    limit = tier.problem_limit(backend)
    if backend.simulated and limit is not None and declared.stand_in_problems:
        # The paper names problems by index this far (Table 5): the simulation takes that many,
        # for every experiment alike (so that runs stay shared).
        limit = max(limit, declared.stand_in_problems)
    template = experiment.template_for(arm.name, benchmark)
    tensor_parallel = model.tensor_parallel_size if weights.source in ("hub", "checkpoint") else 1
    settings = EngineSettings(model_len, dtype, tensor_parallel, vision=vision)
    calibration = None
    if backend.simulated:
        source = {**calibration_source(experiment, arm, benchmark), "problem_limit": limit}
        ranks = printed_problem_ranks(benchmark)
        if ranks:
            source["problem_order"] = hashlib.sha256(canonical_json(sorted(ranks.items())).encode()).hexdigest()
        calibration = tuple(sorted(source.items()))
    return RunSpec(
        model=model.key, weights=weights, model_context=context, benchmark=benchmark, kind=kind,
        problem_limit=limit, template=template, template_sha256=template_sha256(template),
        stop=run_stop_strings(model, template, keep_dapo_answer), temperature=arm.temperature,
        top_p=experiment.top_p, max_new_tokens=max_new, max_model_len=model_len,
        samples_per_round=min(SAMPLES_PER_ROUND, n), run_seed=run_seed, backend=backend.name,
        engine=tuple(sorted(backend.identity(settings).items())), calibration=calibration, n=n,
        grader=grader_for(benchmark), lengths_source=lengths_source,
    )


def plan_experiment(experiment: Experiment, tier: Tier, backend: BackendKind, *, run_seed: int = DEFAULT_RUN_SEED,
                    checkpoints: Mapping[str, Checkpoint] | None = None,
                    keep_dapo_answer: bool = KEEP_DAPO_ANSWER,
                    revisions: Mapping[str, str] | None = None) -> list[PlannedRun]:
    """Every run an experiment needs on one backend, in an order that keeps each model's runs
    together (an engine is started once per model, not once per benchmark)."""
    benchmarks = runnable_benchmarks(experiment)
    planned = [
        PlannedRun(experiment.id, arm_name,
                   plan_run(experiment, experiment.arm(arm_name), benchmark, paper_n, tier, backend,
                            run_seed=run_seed, checkpoints=checkpoints, keep_dapo_answer=keep_dapo_answer,
                            revisions=revisions))
        for (arm_name, benchmark), paper_n in experiment.runs().items() if benchmark in benchmarks
    ]
    first_seen: dict[EngineGroup, int] = {}
    for run in planned:
        first_seen.setdefault(engine_group(run.spec), len(first_seen))
    return sorted(planned, key=lambda run: first_seen[engine_group(run.spec)])


class EngineGroup(NamedTuple):
    """What an engine is started with: runs of one group can share one started engine."""

    backend: str
    weights: Weights
    engine: tuple[tuple[str, Any], ...]
    max_model_len: int


def engine_group(spec: RunSpec) -> EngineGroup:
    return EngineGroup(spec.backend, spec.weights, spec.engine, spec.max_model_len)
