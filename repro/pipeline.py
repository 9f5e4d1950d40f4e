"""One experiment from problems to per-problem results: executing a plan.

`repro.plan` decides every setting of every run first. This module executes those specs:
for each, problems -> the store that the spec's key names (samples shared by every experiment
that asks for the same spec) -> missing samples only (an engine starts only then; seeded per
request, streamed into the store, topped up on resume) -> verdicts (stored per chunk, so
re-grading never regenerates) -> per-problem counts (n_i, c_i), written as
`problem_id,n,correct` CSV: the same format a reviewer gives `repro compare` for a run made
elsewhere.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from repro.benchmarks.loading import LoadedBenchmark, load_benchmark
from repro.checkpoints import Checkpoint, config_context
from repro.errors import EnvironmentNotSupportedError, ReproError
from repro.experiments import Experiment
from repro.experiments.registry import KEEP_DAPO_ANSWER
from repro.grading import Verdict
from repro.grading.pool import GradingPool
from repro.lengths import LengthError
from repro.benchmarks import get_benchmark
from repro.benchmarks.base import CODE_GRADER, MATH_GRADER
from repro.plan import (UNKNOWN_RANK, EngineGroup, PlannedRun, RunSpec, engine_group, grader_for, plan_experiment,
                        printed_problem_ranks)
from repro.problems import Problem
from repro.progress import no_progress
from repro.prompts import render_prompt
from repro.provenance import compact as compact_environment
from repro.results import RunResult
from repro.sampling import get_backend
from repro.sampling.base import Backend, Request, SamplingParams
from repro.sampling.seeds import request_seed
from repro.stages import missing_stages
from repro.store import WHOLE, SampleStore, Shard, key_digest
from repro.tiers import Tier

# Requests per chunk: a killed run loses at most one chunk of work.
CHUNK_REQUESTS = {"simulated": 256, "vllm": 64, "hf": 4}

# Progress reporting: a callable (label, total) -> context manager yielding an update(n) function.
ProgressFactory = Callable[[str, int], Any]


@dataclass
class RunContext:
    """Settings shared by every run of one command, and what it keeps open (engines, pools,
    loaded benchmarks) so that runs reuse them."""

    root: Path
    tier: Tier
    backends: tuple[str, ...]
    run_seed: int = 0
    shard: Shard = WHOLE
    progress: ProgressFactory = no_progress
    regrade: bool = False  # drop stored verdicts of this grader and grade again
    generate_missing: bool = True  # False: refuse to sample (re-grading must never regenerate)
    # Model key -> local checkpoint (validated, with its content hash): models the paper never
    # released (trained here or elsewhere), or a local copy of a released one.
    checkpoints: dict[str, Checkpoint] = field(default_factory=dict)
    keep_dapo_answer: bool = KEEP_DAPO_ANSWER  # False: stop at "Answer:" as the paper did
    # Hub id -> commit fixed in the run folder's lock (repro.model_lock): the revision runs plan with.
    revisions: dict[str, str] = field(default_factory=dict)
    # The environment of this command (repro.provenance.environment_record): recorded in each
    # sample store it creates, and as a compact entry in those it adds samples to.
    environment: dict[str, Any] | None = None
    grading_workers: int | None = None  # None: one per core
    # Engines of one model sampling at once, each on its own GPUs (repro.data_parallel); None:
    # as many as the visible GPUs hold (repro.gpu_layout).
    data_parallel: int | None = None
    warn: Callable[[str], None] = field(default=lambda line: print(f"warning: {line}", file=sys.stderr, flush=True))
    _engines: dict[EngineGroup, Backend] = field(default_factory=dict)
    _pools: dict[str, GradingPool] = field(default_factory=dict)
    _loaded: dict[str, LoadedBenchmark] = field(default_factory=dict)
    # (benchmark, backend) -> the problems of another benchmark a run made for it (the AIME24
    # filter of Fig 12, repro.aime_filter): such a benchmark is that selection, not its own data.
    subsets: dict[tuple[str, str], Subset] = field(default_factory=dict)
    _regraded: set[Path] = field(default_factory=set)  # stores regraded by this command (shared runs: once)
    # Code verdicts by (benchmark, prompt template, problem, sha256 of the completion): an
    # identical completion for the same problem is run once per command (simulated runs repeat
    # a few programs thousands of times; real models repeat themselves on easy problems). The
    # template is part of the key because it decides how the program is read from the text.
    _code_verdicts: dict[tuple[str, str, str, str], Verdict] = field(default_factory=dict)

    def load(self, benchmark: str) -> LoadedBenchmark:
        """A benchmark's problems, loaded once per command (LiveCodeBench means reading 4.4 GB;
        every arm and backend of every experiment would otherwise read it again)."""
        if benchmark not in self._loaded:
            self._loaded[benchmark] = load_benchmark(benchmark, allow_synthetic=self.tier.uses_stand_ins,
                                                     progress=self.progress)
        return self._loaded[benchmark]

    def load_for(self, spec: RunSpec) -> LoadedBenchmark:
        """The problems of a spec: its benchmark's, or the subset made for it on its backend."""
        subset = self.subsets.get((spec.benchmark, spec.backend))
        if subset is None:
            return self.load(spec.benchmark)
        parent = self.load(subset.parent)
        chosen = set(subset.ids)
        problems = [problem for problem in parent.problems if problem.problem_id in chosen]
        if len(problems) != len(chosen):
            raise ReproError(f"{spec.benchmark}: {len(chosen) - len(problems)} problem id(s) of its list are not "
                             f"problems of {subset.parent} ({subset.origin})")
        # The ids are part of the selection, so another list names another store.
        selection = {"source_rows": len(parent.problems), "kept": len(problems), "rule": subset.rule,
                     "ids_sha256": hashlib.sha256("\n".join(subset.ids).encode()).hexdigest()}
        return replace(parent, key=spec.benchmark, problems=problems, selection=selection,
                       notes=(*parent.notes, subset.note))

    def pool(self, grader: str) -> GradingPool:
        """The pool of a grader, started on first use and shared by every run of the command."""
        if grader not in self._pools:
            self._pools[grader] = GradingPool.for_grader(grader, workers=self.grading_workers)
        return self._pools[grader]

    def close_engines(self, keep_tiny: bool = False) -> None:
        """Close the open engines (`keep_tiny`: all but tiny stand-in models, cheap to keep open)."""
        for group in list(self._engines):
            if not (keep_tiny and group.weights.source == "tiny"):
                self._engines.pop(group).close()

    def close(self) -> None:
        self.close_engines()
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()


@dataclass(frozen=True)
class Subset:
    """Problems of `parent` that a benchmark stands for in one run folder (ids in order)."""

    parent: str
    ids: tuple[str, ...]
    rule: str  # how they were chosen, in words (recorded in the store's key)
    origin: str  # the file that lists them
    note: str  # one line every run on them reports


@dataclass(frozen=True)
class RunOutcome:
    experiment: str
    backend: str
    result: RunResult | None
    arm: str
    benchmark: str
    note: str = ""
    spec: RunSpec | None = None
    store: Path | None = None  # the sample store the result was counted from


def _grader(benchmark: str) -> str:
    return grader_for(benchmark) if benchmark else MATH_GRADER


# ----------------------------------------------------------------------------- engines


def _weights_path(context: RunContext, spec: RunSpec) -> tuple[str, str | None]:
    """(path or hub id, revision) of the spec's weights; tiny stand-ins are built on first use."""
    weights = spec.weights
    if weights.source == "tiny":
        if spec.kind == "visual":
            from repro.sampling.tiny_vl_model import tiny_vl_model_path

            return str(tiny_vl_model_path(weights.name, context.root / "tiny-models")), None
        from repro.sampling.tiny_models import tiny_model_path

        return str(tiny_model_path(weights.name, context.root / "tiny-models")), None
    if weights.source == "checkpoint":
        return str(weights.path), None
    return weights.name, weights.revision


def engine_for(context: RunContext, spec: RunSpec) -> Backend:
    """The started engine of a spec, shared by every spec of its group in this command. Only
    tiny stand-in models stay open beside another engine: a real model holds most of a GPU."""
    group = engine_group(spec)
    if group not in context._engines:
        check_environment(context.tier, (spec.backend,))  # where an engine must start, a GPU must be here
        if spec.kind == "visual":
            _require_vision_stack(spec.backend)  # before building a tiny vision model, which needs it too
        model_path, revision = _weights_path(context, spec)
        context.close_engines(keep_tiny=spec.weights.source == "tiny")
        engine = get_backend(spec.backend).start(model_path, revision, spec.engine_settings)
        _check_context(spec, model_path, revision)
        context._engines[group] = engine
    return context._engines[group]


def _check_context(spec: RunSpec, model_path: str, revision: str | None) -> None:
    """The catalogue's context, checked against the model's own config once it is here."""
    config_path = Path(model_path) / "config.json"
    if not config_path.is_file():
        try:
            from huggingface_hub import try_to_load_from_cache

            cached = try_to_load_from_cache(model_path, "config.json", revision=revision)
        except Exception:  # an invalid repo id, or no hub library: nothing to check against
            return
        if not isinstance(cached, str):
            return
        config_path = Path(cached)
    context = config_context(json.loads(config_path.read_text(encoding="utf-8")))
    if context is not None and spec.max_model_len > context:
        raise LengthError(f"{spec.model}: max_model_len {spec.max_model_len:,} exceeds the {context:,} tokens of "
                          f"its config ({config_path}); the catalogue says {spec.model_context:,}: correct it")


# Not engine facts: where the model's files lie (a moved checkpoint or another --out folder
# keeps its samples), and whether vLLM's engine core runs in its own process (per-request seeds
# give the same samples either way, measured: repro.sampling.vllm_backend).
_NOT_FACTS = ("model", "v1_multiprocessing")


def engine_facts(engine: Backend) -> dict[str, Any]:
    """What a started engine says of itself that decides its samples."""
    return {name: value for name, value in engine.describe().items() if name not in _NOT_FACTS}


def _require_vision_stack(backend: str) -> None:
    """Vision-language runs need qwen-vl-utils and a working torchvision (both engines), which
    the CPU install cannot have beside vLLM's CPU torch (docs/engines.md)."""
    from repro.sampling.vision import process_vision_info_or_explain

    process_vision_info_or_explain()
    if not get_backend(backend).vision_on_cpu and not gpu_available():
        raise EnvironmentNotSupportedError(
            f"the {backend} backend runs Qwen2.5-VL only with a GPU here (vLLM's CPU build cannot load torchvision); "
            "on CPU the hf backend runs the vision model")


# ----------------------------------------------------------------------------- simulated


def simulated_backend(spec: RunSpec, problems: list[Problem]) -> Backend:
    """A simulated backend shaped like the paper's result named by the spec's calibration."""
    from repro.sampling.simulated import SimulatedBackend, code_texts

    calibration = dict(spec.calibration or ())
    probabilities = calibrated_probabilities(calibration, len(problems))
    if "probabilities" in calibration:  # given per problem, in the benchmark's order: kept there
        success = {problem.problem_id: float(p) for problem, p in zip(problems, probabilities)}
        return SimulatedBackend(success, {p.problem_id: p.answer for p in problems}, *(
            code_texts(problems) if spec.kind == "code" else ()))
    # Problems keep one difficulty order for every arm (sorted by id hash), so the arms'
    # solved sets nest as real models' do; where the paper prints solved lists for the
    # benchmark (Tables 4, 5), the problems they name come first and those they leave out last
    # (repro.plan.printed_problem_ranks).
    ranks = printed_problem_ranks(spec.benchmark) if "problem_order" in calibration else {}
    order = sorted(problems, key=lambda p: (ranks.get(p.index, UNKNOWN_RANK),
                                            hashlib.sha256(p.problem_id.encode()).hexdigest()))
    success = {problem.problem_id: float(p) for problem, p in zip(order, probabilities)}
    if spec.kind == "code":
        right, wrong = code_texts(problems)
        return SimulatedBackend(success, {p.problem_id: p.answer for p in problems}, right, wrong)
    return SimulatedBackend(success, {p.problem_id: p.answer for p in problems})


def calibrated_probabilities(calibration: dict[str, Any], count: int) -> np.ndarray:
    """Success probabilities of `count` problems fitted to a paper curve or histogram
    (`repro.plan.calibration_source`)."""
    from repro.expected import curve_points, histogram_series, load_curves, load_histograms
    from repro.sampling.calibration import fit_success_probabilities, probabilities_from_histogram

    if "probabilities" in calibration:  # a user's doctored probabilities, repeated to cover the problems
        given = np.asarray(calibration["probabilities"], dtype=np.float64)
        return np.resize(given, count)
    if "points" in calibration:
        return fit_success_probabilities({int(k): float(v) for k, v in calibration["points"]}, count)
    if "curve" in calibration:
        points = curve_points(load_curves(), *calibration["curve"])
        return fit_success_probabilities({p.k: p.value for p in points}, count)
    if "histogram" in calibration:
        bars = histogram_series(load_histograms(), *calibration["histogram"])
        return probabilities_from_histogram([bar.count for bar in sorted(bars, key=lambda b: b.bin_index)], count)
    raise ReproError(f"a simulated run needs a paper curve or histogram to be fitted to, not {calibration!r}")


# ----------------------------------------------------------------------------- one run


def store_key(spec: RunSpec, loaded: LoadedBenchmark) -> dict[str, Any]:
    """The spec's key and the identity of the problems its benchmark resolved to: the verified
    checksum of the source files, and of the problems as read (it changes when the reading
    rules do), and how they were selected where they were."""
    data: dict[str, Any] = {"dataset_sha256": loaded.checksum, "problems_sha256": loaded.problems_sha256}
    if loaded.selection:
        data["selection"] = loaded.selection
    return {**spec.key(), "data": data}


def store_path(root: Path, spec: RunSpec, key: dict[str, Any]) -> Path:
    return (root / "samples" / spec.backend / spec.model / spec.benchmark
            / f"T{spec.temperature:g}-{key_digest(key)[:16]}")


def _wanted_units(problems: list[Problem], rounds: int, shard: Shard) -> list[tuple[Problem, int]]:
    return [(problem, r) for problem in problems if shard.owns(problem.index) for r in range(rounds)]


Unit = tuple[Problem, int]  # (problem, round): SAMPLES_PER_ROUND samples drawn with one seed


def missing_units(store: SampleStore, problems: list[Problem], rounds: int, shard: Shard,
                  units: list[Unit] | None = None) -> list[Unit]:
    """The (problem, round) units of this shard that the store does not hold yet: of rounds
    0..rounds-1 of every problem, or of the explicit `units` (the adaptive tier asks for some
    rounds of some problems: repro.adaptive_run)."""
    done = store.done_units()
    wanted = _wanted_units(problems, rounds, shard) if units is None else [u for u in units if shard.owns(u[0].index)]
    return [(p, r) for p, r in wanted if (p.problem_id, r) not in done]


def generate(store: SampleStore, backend: Backend, problems: list[Problem], template_name: str,
             params: SamplingParams, samples_per_round: int, rounds: int, context: RunContext, label: str,
             benchmark: str = "", units: list[Unit] | None = None) -> int:
    """Top up the store with every missing (problem, round) of this shard -- of the first
    `rounds` rounds, or of `units` where given; returns units made.

    Each chunk, once stored, is graded in a background thread while the next one is
    generated (the engine works in the main thread, the graders in worker processes).
    """
    missing = missing_units(store, problems, rounds, context.shard, units)
    if not missing:
        return 0
    chunk = CHUNK_REQUESTS.get(backend.name, 64)
    by_id = {p.problem_id: _for_grading(p, benchmark, template_name) for p in problems}
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="grading") as grading, \
            context.progress(f"generate {label}", len(missing)) as advance:
        pending = []
        for start in range(0, len(missing), chunk):
            batch = missing[start : start + chunk]
            requests = [
                Request(problem.problem_id, r, render_prompt(template_name, problem),
                        request_seed(context.run_seed, problem.problem_id, r), samples_per_round,
                        images=_images(problem))
                for problem, r in batch
            ]
            started = time.monotonic()
            outputs = backend.generate(requests, params)
            seconds = time.monotonic() - started
            records = [
                {"problem_id": request.problem_id, "round": request.round, "seed": request.seed,
                 "samples": [{"text": c.text, "finish_reason": c.finish_reason, "num_tokens": c.num_tokens}
                             for c in completions]}
                for request, completions in zip(requests, outputs, strict=True)
            ]
            name = store.append_chunk(context.shard, records, seconds)
            sha256 = store.chunk_listing()[name]["sha256"]
            pending.append(grading.submit(_grade_chunk, store, name, sha256, records, by_id, context, benchmark))
            advance(len(batch))
        for future in pending:
            future.result()  # surface grading errors here, not later
    return len(missing)


def _images(problem: Problem) -> tuple[str, ...]:
    """The image files of a visual problem, checked against the sha256 recorded at loading."""
    if "image_path" not in problem.meta:
        return ()
    from repro.benchmarks.visual_files import verify_image

    verify_image(problem)
    return (problem.meta["image_path"],)


def _grade_chunk(store: SampleStore, name: str, sha256: str, records: list[dict[str, Any]],
                 problems: dict[str, Problem], context: RunContext, benchmark: str = "") -> None:
    """Grade one stored chunk with the benchmark's grader and store the verdicts."""
    grader = _grader(benchmark)
    chosen = [record for record in records if record["problem_id"] in problems]
    pairs = [(problems[record["problem_id"]], sample["text"])
             for record in chosen for sample in record["samples"]]
    verdicts = iter(_grade_pairs(context, grader, benchmark, pairs))
    per_unit = [(record["problem_id"], int(record["round"]), [next(verdicts) for _ in record["samples"]])
                for record in chosen]
    graded = [(pid, r, [v.correct for v in unit]) for pid, r, unit in per_unit]
    # Code verdicts are costly and worth auditing (pass/fail/timeout/error, first failing
    # test): they are stored beside the marks. Math and visual details are not (millions of
    # samples, and regrading them is cheap).
    details = [(pid, r, [v.detail for v in unit]) for pid, r, unit in per_unit] if grader == CODE_GRADER else None
    store.write_grades(grader, name, sha256, graded, details)


def _grade_pairs(context: RunContext, grader: str, benchmark: str, pairs: list[tuple[Problem, str]]) -> list[Verdict]:
    """Verdicts of (problem, completion) pairs. Code completions are run once per distinct
    (benchmark, template, problem, text) per command; math and visual pairs once per distinct
    (problem, text) per call (graders are pure functions of the pair; simulated runs and easy
    problems repeat the same few texts thousands of times), and the pool compares each distinct
    (answer, reference) once per command (repro.grading.pool, "Memoization")."""
    if grader != CODE_GRADER:
        # The pairs of one call come from one store, so a problem id names one problem.
        distinct: dict[tuple[str, str], tuple[Problem, str]] = {}
        for problem, text in pairs:
            distinct.setdefault((problem.problem_id, text), (problem, text))
        verdicts = dict(zip(distinct, context.pool(grader).grade(list(distinct.values())), strict=True))
        return [verdicts[(problem.problem_id, text)] for problem, text in pairs]
    keys = [(benchmark, problem.meta.get("template", ""), problem.problem_id, hashlib.sha256(text.encode()).hexdigest())
            for problem, text in pairs]
    todo: dict[tuple[str, str, str, str], tuple[Problem, str]] = {}
    for key, pair in zip(keys, pairs):
        if key not in context._code_verdicts:
            todo.setdefault(key, pair)
    if todo:
        verdicts = context.pool(grader).grade(list(todo.values()))
        context._code_verdicts.update(zip(todo, verdicts))
    return [context._code_verdicts[key] for key in keys]


def _for_grading(problem: Problem, benchmark: str, template_name: str = "") -> Problem:
    """What a grader needs: the answer, the benchmark (graders treat benchmarks differently)
    and, for code, the prompt template (it says how its completions hold the program) --
    without the question text, since every pair crosses a process boundary."""
    meta = dict(problem.meta)
    if benchmark:
        meta["benchmark"] = get_benchmark(benchmark).grades_as or benchmark
    if template_name:
        meta["template"] = template_name
    meta.pop("reference_solution", None)  # simulated backends only
    return Problem(problem.problem_id, problem.index, "", problem.answer, meta)


def grade_store(store: SampleStore, problems: dict[str, Problem], context: RunContext, label: str,
                benchmark: str = "", template_name: str = "",
                skip: frozenset[str] | set[str] = frozenset()) -> dict[tuple[str, int], list[bool]]:
    """Verdicts of every sample in the store, grading only chunks not graded yet (by this
    grader, from these exact samples). `skip`: chunks whose verdicts the caller holds already
    (the adaptive tier reads the store after each round it adds)."""
    problems = {pid: _for_grading(problem, benchmark, template_name) for pid, problem in problems.items()}
    grader = _grader(benchmark)
    verdicts: dict[tuple[str, int], list[bool]] = {}
    listing = {name: entry for name, entry in store.chunk_listing().items() if name not in skip}
    with context.progress(f"grade {label}", len(listing)) as advance:
        for name, entry in sorted(listing.items()):
            cached = store.read_grades(grader, name, entry["sha256"])
            unusable = store.grades_problem(grader, name, entry["sha256"]) if cached is None else None
            if unusable:
                context.warn(f"{store.grades_path(grader, name)}: {unusable}; graded again")
            if cached is not None:
                # Grades are used only for the samples they were made from: the chunk's bytes are
                # checked against its index every time (a flipped byte or a truncated chunk stops here).
                store.chunk_bytes(name, entry["sha256"])
            else:
                _grade_chunk(store, name, entry["sha256"], store.read_chunk(name, entry["sha256"]), problems,
                             context, benchmark)
                cached = store.read_grades(grader, name, entry["sha256"])
            verdicts.update(cached)
            advance(1)
    return verdicts


def counts(problems: list[Problem], verdicts: dict[tuple[str, int], list[bool]], n: int,
           samples_per_round: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(n_i, c_i) from the first n samples of each problem, or None if any are missing."""
    rounds = math.ceil(n / samples_per_round)
    n_arr = np.full(len(problems), n, dtype=np.int64)
    c_arr = np.zeros(len(problems), dtype=np.int64)
    for i, problem in enumerate(problems):
        marks: list[bool] = []
        for r in range(rounds):
            unit = verdicts.get((problem.problem_id, r))
            if unit is None:
                return None
            marks.extend(unit)
        c_arr[i] = sum(marks[:n])
    return n_arr, c_arr


def open_store(context: RunContext, spec: RunSpec) -> tuple[LoadedBenchmark, list[Problem], SampleStore]:
    """A spec's problems (as loaded, and the ones it runs) and its store, opened."""
    loaded = context.load_for(spec)
    problems = loaded.problems[:spec.problem_limit] if spec.problem_limit else loaded.problems
    key = store_key(spec, loaded)
    return loaded, problems, SampleStore.open(store_path(context.root, spec, key), key, context.environment)


def sample_missing(context: RunContext, spec: RunSpec, store: SampleStore, problems: list[Problem],
                   label: str, units: list[Unit] | None = None) -> int:
    """Start the spec's engine and sample what this shard misses of the spec's rounds (or of
    `units`) (call while holding the shard's writer lock); returns units made."""
    backend = simulated_backend(spec, problems) if get_backend(spec.backend).simulated else engine_for(context, spec)
    store.bind_engine_facts(engine_facts(backend))
    if context.environment is not None:
        store.record_writer(context.environment, compact_environment(context.environment))
    return generate(store, backend, problems, spec.template, spec.sampling_params(), spec.samples_per_round,
                    spec.rounds, context, label, spec.benchmark, units)


def drop_grades_once(context: RunContext, spec: RunSpec, store: SampleStore) -> None:
    """Where the command re-grades, drop the store's verdicts of the spec's grader, once per
    command (a store shared by several runs is graded again once). Call holding the writer lock."""
    if not context.regrade or store.root in context._regraded:
        return
    for name, entry in sorted(store.chunk_listing().items()):
        unusable = store.grades_problem(spec.grader, name, entry["sha256"])
        if unusable:  # said, though about to be redone: a damaged file is worth knowing of
            context.warn(f"{store.grades_path(spec.grader, name)}: {unusable}; graded again")
    shutil.rmtree(store.root / "grades" / spec.grader, ignore_errors=True)
    context._code_verdicts.clear()
    context._regraded.add(store.root)


def run_spec(context: RunContext, spec: RunSpec, label: str) -> tuple[RunResult | None, str, Path]:
    """Execute one spec: top up its store (starting an engine only if samples are missing),
    grade, count. Returns (per-problem result, or None while other shards still run; note;
    the store's folder)."""
    loaded, problems, store = open_store(context, spec)
    missing = missing_units(store, problems, spec.rounds, context.shard)
    if missing and not context.generate_missing:
        raise ReproError(f"{label}: {len(missing)} of {len(problems) * spec.rounds} sample rounds are not in the "
                         f"store ({store.root}); run `repro run` first")
    with store.writing(context.shard, sampling=bool(missing)):
        drop_grades_once(context, spec, store)
        if missing:
            sample_missing(context, spec, store, problems, label)
        verdicts = grade_store(store, {p.problem_id: p for p in problems}, context, label, spec.benchmark,
                               spec.template)
    table = counts(problems, verdicts, spec.n, spec.samples_per_round)
    if table is None:
        return None, "incomplete: other shards still to run", store.root
    return RunResult("", spec.benchmark, tuple(p.problem_id for p in problems), tuple(p.index for p in problems),
                     table[0], table[1], backend=spec.backend, synthetic=loaded.synthetic), loaded.note, store.root


def run_one(context: RunContext, planned: PlannedRun) -> RunOutcome:
    spec = planned.spec
    label = f"{planned.experiment}/{planned.arm}/{spec.benchmark} [{spec.backend}]"
    try:
        result, note, store = run_spec(context, spec, label)
    except EnvironmentNotSupportedError as error:
        if not context.tier.uses_stand_ins:
            raise
        # A stand-in tier's engine checks run where the machine allows: a CPU install without
        # the vision stack still runs everything else.
        return RunOutcome(planned.experiment, spec.backend, None, planned.arm, spec.benchmark,
                          f"engine check skipped: {error}", spec)
    if result is not None:
        result = replace(result, arm=planned.arm)
    return RunOutcome(planned.experiment, spec.backend, result, planned.arm, spec.benchmark, note, spec, store)


# ----------------------------------------------------------------------------- experiment


def check_environment(tier: Tier, backends: tuple[str, ...]) -> None:
    """Refuse to sample real models on a tier that needs a GPU where none is (re-grading,
    comparing and reporting never call this: they need no GPU)."""
    if tier.needs_gpu and any(not get_backend(b).simulated for b in backends) and not gpu_available():
        raise EnvironmentNotSupportedError(
            f"--tier {tier.name} runs real models and needs a CUDA GPU, and none is visible; "
            f"use --tier {'smoke-adaptive' if tier.adaptive else 'smoke'} on this machine"
        )


def gpu_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def plan_for(context: RunContext, experiment: Experiment) -> list[PlannedRun]:
    """Every run of an experiment on every backend of the context, all settings decided."""
    blocked = missing_stages(experiment, context.tier, context.checkpoints)
    if blocked:
        raise ReproError(f"{experiment.id} cannot run in the {context.tier.name} tier yet: needs {', '.join(blocked)}")
    return [run for name in context.backends
            for run in plan_experiment(experiment, context.tier, get_backend(name), run_seed=context.run_seed,
                                       checkpoints=context.checkpoints, keep_dapo_answer=context.keep_dapo_answer,
                                       revisions=context.revisions)]


def run_experiment(context: RunContext, experiment: Experiment) -> list[RunOutcome]:
    """Plan every run of an experiment first (a bad setting stops it before any engine
    starts), then execute them."""
    return [run_one(context, planned) for planned in plan_for(context, experiment)]


def results_dir(root: Path, experiment_id: str, tier: str, backend: str) -> Path:
    return root / "experiments" / experiment_id / tier / backend / "results"
