"""One experiment from problems to per-problem results.

For every (arm, benchmark) of an experiment and every backend of the tier:
problems -> prompts -> samples (seeded per request, streamed into the store, topped up on
resume) -> verdicts (stored per chunk, so re-grading never regenerates) -> per-problem
counts (n_i, c_i), written as `problem_id,n,correct` CSV: the same format a reviewer
gives `repro compare` for a run made elsewhere.
"""

from __future__ import annotations

import hashlib
import math
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from repro.benchmarks.loading import LoadedBenchmark, load_benchmark
from repro.errors import EnvironmentNotSupportedError, ReproError
from repro.experiments import Arm, Experiment
from repro.grading import Verdict
from repro.grading.pool import GradingPool
from repro.experiments.registry import KEEP_DAPO_ANSWER
from repro.models import Model, get_model, stop_strings
from repro.problems import Problem
from repro.prompts import render_prompt, template_text
from repro.results import RunResult
from repro.sampling.base import Backend, Request, SamplingParams
from repro.sampling.seeds import request_seed
from repro.stages import missing_stages, runnable_benchmarks
from repro.store import WHOLE, SampleStore, Shard
from repro.tiers import SAMPLES_PER_ROUND, Tier

DEFAULT_RUN_SEED = 0
# Requests per chunk: a killed run loses at most one chunk of work.
CHUNK_REQUESTS = {"simulated": 256, "vllm": 64, "hf": 4}
GRADER_NAME = "math-paper-v1"  # the paper's evaluator semantics (docs/math_grader_parity.md)
CODE_GRADER_NAME = "code-v2"  # the benchmarks' own test rules, in the sandbox (docs/sandbox.md);
# v2: programs read as each harness reads them: evalplus' sanitizer for HumanEval+/MBPP+ and rllm's
# block rule for DeepCoder (v1 took the last fenced block, LiveCodeBench's rule, everywhere)
VISUAL_GRADER_NAME = "visual-v1"  # EasyR1's math reward (mathruler), MathVista's answer types

# Progress reporting: a callable (label, total) -> context manager yielding an update(n) function.
ProgressFactory = Callable[[str, int], Any]


@contextmanager
def no_progress(label: str, total: int) -> Iterator[Callable[[int], None]]:
    yield lambda done: None


@dataclass
class RunContext:
    """Settings shared by every run of one command."""

    root: Path
    tier: Tier
    backends: tuple[str, ...]
    run_seed: int = DEFAULT_RUN_SEED
    shard: Shard = WHOLE
    progress: ProgressFactory = no_progress
    regrade: bool = False  # drop stored verdicts of this grader and grade again
    generate_missing: bool = True  # False: refuse to sample (re-grading must never regenerate)
    grader: str = GRADER_NAME  # for math benchmarks
    code_grader: str = CODE_GRADER_NAME  # for code benchmarks
    visual_grader: str = VISUAL_GRADER_NAME  # for visual benchmarks
    # Model key -> local checkpoint directory: models the paper never released (trained
    # here or elsewhere), or a local copy of a released one.
    checkpoints: dict[str, str] = field(default_factory=dict)
    keep_dapo_answer: bool = KEEP_DAPO_ANSWER  # False: stop at "Answer:" as the paper did
    grading_workers: int | None = None  # None: one per core
    _engines: dict[tuple[str, str], Backend] = field(default_factory=dict)
    _pools: dict[str, GradingPool] = field(default_factory=dict)
    _loaded: dict[str, LoadedBenchmark] = field(default_factory=dict)
    # Code verdicts by (benchmark, prompt template, problem, sha256 of the completion): an
    # identical completion for the same problem is run once per command (simulated runs repeat
    # a few programs thousands of times; real models repeat themselves on easy problems). The
    # template is part of the key because it decides how the program is read from the text.
    _code_verdicts: dict[tuple[str, str, str, str], Verdict] = field(default_factory=dict)

    def load(self, benchmark: str) -> LoadedBenchmark:
        """A benchmark's problems, loaded once per command (LiveCodeBench means reading 4.4 GB;
        every arm and backend of every experiment would otherwise read it again)."""
        if benchmark not in self._loaded:
            self._loaded[benchmark] = load_benchmark(benchmark, allow_synthetic=self.tier.name == "smoke",
                                                     progress=self.progress)
        return self._loaded[benchmark]

    def grader_for(self, benchmark: str) -> str:
        from repro.benchmarks import get_benchmark

        kind = get_benchmark(benchmark).kind if benchmark else "math"
        graders = {"math": self.grader, "code": self.code_grader, "visual": self.visual_grader}
        if kind not in graders:
            raise ReproError(f"no grader for {kind} benchmarks yet ({benchmark})")
        return graders[kind]

    def pool(self, grader: str | None = None) -> GradingPool:
        """The pool of a grader, started on first use and shared by every run of the command."""
        grader = grader or self.grader
        if grader not in self._pools:
            self._pools[grader] = GradingPool.for_grader(grader, workers=self.grading_workers)
        return self._pools[grader]

    def close(self) -> None:
        for engine in self._engines.values():
            engine.close()
        self._engines.clear()
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()


@dataclass(frozen=True)
class RunOutcome:
    experiment: str
    backend: str
    result: RunResult | None
    arm: str
    benchmark: str
    note: str = ""


# ----------------------------------------------------------------------------- models


def tiny_model_for(arm: Arm, vision: bool = False) -> str:
    role = "base" if arm.role == "base" else "rl"
    return f"tiny-vl-{role}" if vision else f"tiny-{role}"


def _tiny_model_path(arm: Arm, vision: bool, cache: Path) -> Path:
    if vision:
        from repro.sampling.tiny_vl_model import tiny_vl_model_path

        return tiny_vl_model_path(tiny_model_for(arm, vision=True), cache)
    from repro.sampling.tiny_models import tiny_model_path

    return tiny_model_path(tiny_model_for(arm), cache)


def _engine(context: RunContext, backend: str, arm: Arm, model: Model, experiment: Experiment) -> Backend:
    """Create (once per command) the engine for a backend and model."""
    vision = experiment.kind == "visual"
    if vision:
        _require_vision_stack(backend)  # before building a tiny vision model, which needs it too
    if context.tier.name == "smoke":
        model_path = str(_tiny_model_path(arm, vision, context.root / "tiny-models"))
        revision, tensor_parallel = None, 1
    elif model.key in context.checkpoints:
        model_path, revision, tensor_parallel = context.checkpoints[model.key], None, model.tensor_parallel_size
    else:
        model_path, revision, tensor_parallel = model.hf_id, model.revision, model.tensor_parallel_size
        if not model.released:
            raise ReproError(f"{model.key} was never released: train it first, then give its directory with "
                             f"--checkpoint {model.key}=PATH")
    key = (backend, model_path)
    if key not in context._engines:
        if backend == "vllm":
            from repro.sampling.vllm_backend import VllmBackend

            # Tiny models are fp32 (vLLM's "auto" would pick bfloat16 on CPU).
            dtype = "float32" if context.tier.name == "smoke" else "auto"
            context._engines[key] = VllmBackend(model_path, revision=revision, tensor_parallel_size=tensor_parallel,
                                                max_model_len=_max_model_len(context, experiment), dtype=dtype)
        elif backend == "hf":
            from repro.sampling.hf_backend import HfBackend, HfVisionBackend

            engine_class = HfVisionBackend if vision else HfBackend
            context._engines[key] = engine_class(model_path, revision=revision)
        else:
            raise ReproError(f"backend {backend!r} has no engine")
    return context._engines[key]


def _require_vision_stack(backend: str) -> None:
    """Vision-language runs need qwen-vl-utils and a working torchvision (both engines), which
    the CPU install cannot have beside vLLM's CPU torch (docs/engines.md)."""
    from repro.sampling.vision import process_vision_info_or_explain

    process_vision_info_or_explain()
    if backend == "vllm" and not gpu_available():
        raise EnvironmentNotSupportedError(
            "vLLM runs Qwen2.5-VL only with a GPU here (its CPU build cannot load torchvision); on CPU the "
            "hf backend runs the vision model")


def _max_model_len(context: RunContext, experiment: Experiment) -> int:
    if context.tier.engine_max_new_tokens is not None:
        return 1024  # tiny models: prompt + a few dozen tokens
    return experiment.max_model_len


def sampling_params(context: RunContext, experiment: Experiment, arm: Arm, model: Model, backend: str,
                    template_name: str | None = None) -> SamplingParams:
    max_new = experiment.max_new_tokens
    if backend != "simulated" and context.tier.engine_max_new_tokens is not None:
        max_new = context.tier.engine_max_new_tokens
    return SamplingParams(temperature=arm.temperature, top_p=experiment.top_p, max_new_tokens=max_new,
                          stop=_stop_strings(model, template_name or model.template, context.keep_dapo_answer),
                          max_model_len=_max_model_len(context, experiment))


def _stop_strings(model: Model, template_name: str, keep_dapo_answer: bool) -> tuple[str, ...]:
    """Math runs stop where the paper's evaluator stopped each model; code runs stop where
    the harness behind their prompt did (LiveCodeBench, evalplus, rllm)."""
    from repro.code_prompts import CODE_TEMPLATES

    if template_name in CODE_TEMPLATES:
        return CODE_TEMPLATES[template_name].stop
    return stop_strings(model, keep_dapo_answer)


# ----------------------------------------------------------------------------- simulated


def simulated_backend(experiment: Experiment, arm: Arm, benchmark: str, problems: list[Problem]) -> Backend:
    """A simulated backend shaped like the paper's result for this arm: its pass@k curve
    where the experiment plots one, else its accuracy histogram."""
    from repro.benchmarks import get_benchmark
    from repro.sampling.simulated import SimulatedBackend, code_texts

    probabilities = _calibrated_probabilities(experiment, arm, benchmark, len(problems))
    # Problems keep one difficulty order for every arm (sorted by id hash), so the arms'
    # solved sets nest as real models' do.
    order = sorted(problems, key=lambda p: hashlib.sha256(p.problem_id.encode()).hexdigest())
    success = {problem.problem_id: float(p) for problem, p in zip(order, probabilities)}
    if get_benchmark(benchmark).kind == "code":
        right, wrong = code_texts(problems)
        return SimulatedBackend(success, {p.problem_id: p.answer for p in problems}, right, wrong)
    return SimulatedBackend(success, {p.problem_id: p.answer for p in problems})


def _calibrated_probabilities(experiment: Experiment, arm: Arm, benchmark: str, count: int) -> np.ndarray:
    from repro.expected import curve_points, histogram_series, load_curves, load_histograms
    from repro.sampling.calibration import fit_success_probabilities, probabilities_from_histogram

    ref = experiment.expected_curve(arm.name, benchmark)
    if ref is not None:
        points = curve_points(load_curves(), ref.figure, ref.panel, ref.family, ref.curve)
        return fit_success_probabilities({p.k: p.value for p in points}, count)
    for hist in experiment.histograms:
        if (hist.arm, hist.benchmark) == (arm.name, benchmark):
            bars = histogram_series(load_histograms(), hist.figure, hist.panel, hist.family, hist.series)
            return probabilities_from_histogram([bar.count for bar in sorted(bars, key=lambda b: b.bin_index)], count)
    # Arms that the paper only reports as sets (Table 4): borrow the curve of the same
    # model on the same benchmark from another experiment.
    from repro.experiments import EXPERIMENTS

    for other in EXPERIMENTS:
        for other_arm in other.arms:
            if (other_arm.model, other_arm.temperature) == (arm.model, arm.temperature):
                if other.expected_curve(other_arm.name, benchmark) is not None:
                    return _calibrated_probabilities(other, other_arm, benchmark, count)
    raise ReproError(f"{experiment.id}: nothing in the paper to calibrate a simulation of {arm.name} on {benchmark}")


# ----------------------------------------------------------------------------- one run


def store_key(experiment: Experiment, model: Model, loaded: LoadedBenchmark, params: SamplingParams,
              backend: Backend, template_name: str, samples_per_round: int, run_seed: int) -> dict[str, Any]:
    """Everything that changes a sample. (Not n: round r is the same whatever n is.)"""
    return {
        "model": {"key": model.key, "hf_id": model.hf_id, "revision": model.revision},
        "benchmark": loaded.key,
        "dataset_sha256": loaded.checksum,
        # Changes when the reading rules change (question text, ground-truth extraction).
        "problems_sha256": loaded.problems_sha256,
        "template": {"name": template_name, "sha256": hashlib.sha256(template_text(template_name).encode()).hexdigest()},
        "sampling": params.as_dict(),
        "samples_per_round": samples_per_round,
        "run_seed": run_seed,
        "seed_rule": "sha256(run_seed, problem_id, round) mod 2^31",
        "engine": backend.describe(),
        **({"selection": loaded.selection} if loaded.selection else {}),
    }


def store_path(context: RunContext, backend_name: str, model: Model, benchmark: str, temperature: float,
               key: dict[str, Any]) -> Path:
    from repro.store import key_digest

    return (context.root / "samples" / backend_name / model.key / benchmark
            / f"T{temperature:g}-{key_digest(key)[:16]}")


def _wanted_units(problems: list[Problem], rounds: int, shard: Shard) -> list[tuple[Problem, int]]:
    return [(problem, r) for problem in problems if shard.owns(problem.index) for r in range(rounds)]


def generate(store: SampleStore, backend: Backend, problems: list[Problem], template_name: str,
             params: SamplingParams, samples_per_round: int, rounds: int, context: RunContext, label: str,
             benchmark: str = "") -> int:
    """Top up the store with every missing (problem, round) of this shard; returns units made.

    Each chunk, once stored, is graded in a background thread while the next one is
    generated (the engine works in the main thread, the graders in worker processes).
    """
    done = store.done_units()
    missing = [(p, r) for p, r in _wanted_units(problems, rounds, context.shard) if (p.problem_id, r) not in done]
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
            outputs = backend.generate(requests, params)
            records = [
                {"problem_id": request.problem_id, "round": request.round, "seed": request.seed,
                 "samples": [{"text": c.text, "finish_reason": c.finish_reason, "num_tokens": c.num_tokens}
                             for c in completions]}
                for request, completions in zip(requests, outputs, strict=True)
            ]
            name = store.append_chunk(context.shard, records)
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
    grader = context.grader_for(benchmark)
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
    details = [(pid, r, [v.detail for v in unit]) for pid, r, unit in per_unit] if grader == context.code_grader else None
    store.write_grades(grader, name, sha256, graded, details)


def _grade_pairs(context: RunContext, grader: str, benchmark: str, pairs: list[tuple[Problem, str]]) -> list[Verdict]:
    """Verdicts of (problem, completion) pairs. Code completions are run once per distinct
    (benchmark, template, problem, text) per command; math and visual pairs go to the pool as
    they are (cheap, and their pools batch them)."""
    if grader != context.code_grader:
        return context.pool(grader).grade(pairs)
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
        meta["benchmark"] = benchmark
    if template_name:
        meta["template"] = template_name
    meta.pop("reference_solution", None)  # simulated backends only
    return Problem(problem.problem_id, problem.index, "", problem.answer, meta)


def grade_store(store: SampleStore, problems: dict[str, Problem], context: RunContext, label: str,
                benchmark: str = "", template_name: str = "") -> dict[tuple[str, int], list[bool]]:
    """Verdicts of every sample in the store, grading only chunks not graded yet (by this
    grader, from these exact samples)."""
    problems = {pid: _for_grading(problem, benchmark, template_name) for pid, problem in problems.items()}
    grader = context.grader_for(benchmark)
    verdicts: dict[tuple[str, int], list[bool]] = {}
    listing = store.chunk_listing()
    with context.progress(f"grade {label}", len(listing)) as advance:
        for name, entry in sorted(listing.items()):
            cached = store.read_grades(grader, name, entry["sha256"])
            if cached is None:
                _grade_chunk(store, name, entry["sha256"], store.read_chunk(name, entry["sha256"]), problems, context,
                             benchmark)
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


def _require_samples(store: SampleStore, problems: list[Problem], rounds: int, context: RunContext,
                     label: str) -> None:
    done = store.done_units()
    missing = [u for u in _wanted_units(problems, rounds, context.shard) if (u[0].problem_id, u[1]) not in done]
    if missing:
        raise ReproError(f"{label}: {len(missing)} of {len(problems) * rounds} sample rounds are not in the store "
                         f"({store.root}); run `repro run` first")


def run_one(context: RunContext, experiment: Experiment, arm: Arm, benchmark: str, paper_n: int,
            backend_name: str) -> RunOutcome:
    tier = context.tier
    model = get_model(arm.model)
    loaded = context.load(benchmark)
    limit = tier.problem_limit(backend_name)
    problems = loaded.problems[:limit] if limit else loaded.problems
    n = tier.n_for(backend_name, paper_n)
    samples_per_round = min(SAMPLES_PER_ROUND, n)
    rounds = math.ceil(n / samples_per_round)
    template_name = experiment.template_for(arm.name, benchmark)
    params = sampling_params(context, experiment, arm, model, backend_name, template_name)
    if backend_name == "simulated":
        backend = simulated_backend(experiment, arm, benchmark, problems)
    else:
        try:
            backend = _engine(context, backend_name, arm, model, experiment)
        except EnvironmentNotSupportedError as error:
            if tier.name != "smoke":
                raise
            # The smoke tier's engine checks run where the machine allows: a CPU install
            # without the vision stack still runs everything else.
            return RunOutcome(experiment.id, backend_name, None, arm.name, benchmark, f"engine check skipped: {error}")
    key = store_key(experiment, model, loaded, params, backend, template_name, samples_per_round, context.run_seed)
    store = SampleStore.open(store_path(context, backend_name, model, benchmark, arm.temperature, key), key)
    label = f"{experiment.id}/{arm.name}/{benchmark} [{backend_name}]"
    if not context.generate_missing:
        _require_samples(store, problems, rounds, context, label)
    if context.regrade:
        shutil.rmtree(store.root / "grades" / context.grader_for(benchmark), ignore_errors=True)
        context._code_verdicts.clear()
    generate(store, backend, problems, template_name, params, samples_per_round, rounds, context, label, benchmark)
    verdicts = grade_store(store, {p.problem_id: p for p in problems}, context, label, benchmark, template_name)
    table = counts(problems, verdicts, n, samples_per_round)
    if table is None:
        return RunOutcome(experiment.id, backend_name, None, arm.name, benchmark,
                          "incomplete: other shards still to run")
    result = RunResult(arm.name, benchmark, tuple(p.problem_id for p in problems), tuple(p.index for p in problems),
                       table[0], table[1], backend=backend_name, synthetic=loaded.synthetic)
    note = loaded.note
    return RunOutcome(experiment.id, backend_name, result, arm.name, benchmark, note)


# ----------------------------------------------------------------------------- experiment


def check_environment(tier: Tier, backends: tuple[str, ...]) -> None:
    if tier.needs_gpu and any(b != "simulated" for b in backends) and not gpu_available():
        raise EnvironmentNotSupportedError(
            f"--tier {tier.name} runs real models and needs a CUDA GPU, and none is visible; "
            "use --tier smoke on this machine"
        )


def gpu_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def run_experiment(context: RunContext, experiment: Experiment) -> list[RunOutcome]:
    """Run every (arm, benchmark) of an experiment for every backend of the context."""
    blocked = missing_stages(experiment, context.tier.name, context.checkpoints)
    if blocked:
        raise ReproError(f"{experiment.id} cannot run in the {context.tier.name} tier yet: needs {', '.join(blocked)}")
    benchmarks = runnable_benchmarks(experiment)
    outcomes = []
    for backend_name in context.backends:
        for (arm_name, benchmark), paper_n in experiment.runs().items():
            if benchmark not in benchmarks:
                continue
            outcomes.append(run_one(context, experiment, experiment.arm(arm_name), benchmark, paper_n, backend_name))
    return outcomes


def results_dir(root: Path, experiment_id: str, tier: str, backend: str) -> Path:
    return root / "experiments" / experiment_id / tier / backend / "results"
