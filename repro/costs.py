"""What a plan costs: output tokens and GPU-hours of each unique run, explained.

    GPU-hours of a run = samples x mean output tokens / engine throughput / 3600 x GPUs of the engine

- samples: problems x n of the unique run (a run shared by several experiments once, at the
  largest n any of them asks for);
- mean output tokens: per (model family, benchmark), `OUTPUT_TOKENS` below;
- engine throughput: output tokens per second of ONE engine (all its tensor-parallel GPUs
  together) at high batch on H100s, per model size, `THROUGHPUT` below;
- GPUs of the engine: its tensor-parallel size, counted once.

Both tables are assumptions with their sources; `repro plan --calibrate RUN_DIR` replaces them
with what a finished run measured (its stores record the output tokens and seconds of every
chunk). docs/performance.md explains the total line by line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from repro.benchmarks import get_benchmark
from repro.errors import ReproError
from repro.models import get_model
from repro.plan import UniqueRun
from repro.sampling import get_backend


@dataclass(frozen=True)
class Assumption:
    value: float
    source: str


# Output tokens per second of one vLLM engine at high batch on H100 80GB, by model size (B).
# Derivation: Llama-3.1-8B bf16 on one H100 reaches about 12,500 output tokens/s at high
# concurrency (third-party vLLM benchmarks, 2025-26, e.g. "vLLM Benchmarks", morphllm.com);
# decoding is memory-bandwidth bound, so throughput scales about as 1/size; long reasoning
# outputs (thousands of tokens) hold more KV cache and so fewer sequences at once, so we take
# 80% of that. A 32B model on 4 GPUs (tensor parallel) gets 4x the bandwidth at ~80% efficiency.
THROUGHPUT: dict[int, Assumption] = {
    7: Assumption(11_000.0, "8B: 12,500 tok/s on 1 H100 (third-party vLLM benchmarks) x 8/7 x 0.8 for long outputs"),
    8: Assumption(10_000.0, "12,500 tok/s on 1 H100 (third-party vLLM benchmarks) x 0.8 for long outputs"),
    14: Assumption(5_700.0, "the 8B figure scaled by 8/14 (memory-bound decoding)"),
    32: Assumption(8_000.0, "the 8B figure x 8/32 x 4 GPUs x 0.8 tensor-parallel efficiency (one 4-GPU engine)"),
}

# Mean output tokens per sample, by model family and benchmark. Estimates, to be replaced by
# measurement (--calibrate): base and zero-RL Qwen2.5/LLaMA models write a few hundred tokens
# on GSM8K/MATH500 and a few thousand on competition problems; the Qwen2.5-Math-7B family is cut
# at its 4,096-token context; R1-distilled reasoning models write 8-16k tokens.
_FAMILY = {
    "qwen2.5-7b": "zoo", "simplerl-zoo-qwen2.5-7b": "zoo", "qwen2.5-14b": "zoo", "simplerl-zoo-qwen2.5-14b": "zoo",
    "qwen2.5-32b": "zoo", "simplerl-zoo-qwen2.5-32b": "zoo", "llama3.1-8b": "zoo", "simplerl-zoo-llama3.1-8b": "zoo",
    "qwen2.5-math-7b": "qwen-math", "oat-zero-7b": "qwen-math", "qwen2.5-math-7b-instruct": "qwen-math",
    "r1-distill-qwen-7b": "r1-distill", "r1-distill-qwen-14b": "r1-distill", "deepcoder-14b": "r1-distill",
    "dapo-qwen-32b": "dapo", "qwen2.5-32b-dapo-prompt": "zoo",
    "qwen2.5-7b-instruct-1m": "code-instruct", "coder1-zero-7b": "code-instruct",
    "qwen2.5-vl-7b-instruct": "vl", "qwen2.5-vl-7b-easyr1": "vl",
}
_ZOO = {"gsm8k": 350, "math500": 650, "minerva": 700, "olympiad": 1_200, "amc23": 1_200, "aime24": 1_800,
        "aime24-filtered": 1_800, "omni-math-train": 1_000, "omni-math-test": 1_000}
OUTPUT_TOKENS: dict[tuple[str, str], int] = {
    **{("zoo", bench): tokens for bench, tokens in _ZOO.items()},
    # The VeRL runs (r1-zero prompt, Qwen2.5-7B) and their base: as the zoo models.
    **{("verl", bench): tokens for bench, tokens in _ZOO.items()},
    ("qwen-math", "minerva"): 800, ("qwen-math", "aime24"): 1_500,  # cut at 4,096 minus the prompt
    ("r1-distill", "minerva"): 6_000, ("r1-distill", "lcb-2408-2501"): 14_000,
    ("dapo", "aime24"): 5_000,
    ("code-instruct", "humaneval-plus"): 300, ("code-instruct", "mbpp-plus"): 250,
    ("code-instruct", "lcb-2408-2501"): 700, ("code-instruct", "lcb-2305-2501"): 700,
    ("vl", "mathvista-free"): 500, ("vl", "mathvision-open"): 700,
}
OUTPUT_TOKENS_SOURCE = ("estimates by model family and benchmark (repro.costs.OUTPUT_TOKENS): a few hundred tokens "
                        "for base and zero-RL models on GSM8K/MATH500, 1-2k on competition sets, cut at 4k for the "
                        "Qwen2.5-Math family, 6-14k for R1-distilled models; replace with --calibrate")


def family(model: str) -> str:
    return "verl" if model.startswith("verl-") or model == "qwen2.5-7b-r1-prompt" else _FAMILY.get(model, "zoo")


@dataclass(frozen=True)
class Calibration:
    """Measured output tokens per sample by (model, benchmark), and engine throughput by model."""

    tokens: dict[tuple[str, str], float]
    throughput: dict[str, float]
    source: str


def mean_output_tokens(run: UniqueRun, calibration: Calibration | None = None) -> tuple[float, str]:
    spec = run.spec
    if calibration and (spec.model, spec.benchmark) in calibration.tokens:
        return calibration.tokens[(spec.model, spec.benchmark)], "measured"
    key = (family(spec.model), spec.benchmark)
    if key not in OUTPUT_TOKENS:
        # A model outside the catalogue (repro pair): the longest any family is assumed to write
        # on the benchmark, so that a plan errs towards more GPU-hours, not fewer.
        others = [tokens for (_, benchmark), tokens in OUTPUT_TOKENS.items() if benchmark == spec.benchmark]
        if others and not _catalogued(spec.model):
            return float(min(max(others), spec.max_new_tokens)), "assumed"
        raise ReproError(f"no output length assumed for {spec.model} on {spec.benchmark}: add it to "
                         "repro.costs.OUTPUT_TOKENS")
    # No sample outgrows its run's max_new_tokens (the AIME24 filter's direct answers: 32).
    return float(min(OUTPUT_TOKENS[key], spec.max_new_tokens)), "assumed"


def engine_throughput(model: str, calibration: Calibration | None = None) -> tuple[float, str]:
    if calibration and model in calibration.throughput:
        return calibration.throughput[model], "measured"
    size = int(get_model(model).size_b)
    if size not in THROUGHPUT and not _catalogued(model):
        # A model outside the catalogue (repro pair): the next listed size up (a smaller model
        # decodes at least as fast), or the largest listed one.
        larger = [listed for listed in sorted(THROUGHPUT) if listed >= size]
        return THROUGHPUT[larger[0] if larger else max(THROUGHPUT)].value, "assumed"
    if size not in THROUGHPUT:
        raise ReproError(f"no throughput assumed for {size}B models: add it to repro.costs.THROUGHPUT")
    return THROUGHPUT[size].value, "assumed"


def _catalogued(model: str) -> bool:
    """Whether the model is one of the paper's catalogue, not one a user declared (repro pair)."""
    return not get_model(model).declared


@dataclass(frozen=True)
class RunCost:
    run: UniqueRun
    problems: int
    samples: int
    mean_tokens: float
    output_tokens: float
    throughput: float
    gpus: int
    gpu_hours: float
    measured: bool


def run_cost(run: UniqueRun, calibration: Calibration | None = None) -> RunCost:
    spec = run.spec
    problems = get_benchmark(spec.benchmark).size
    if spec.problem_limit:
        problems = min(problems, spec.problem_limit)
    samples = problems * spec.n
    tokens, how_tokens = mean_output_tokens(run, calibration)
    speed, how_speed = engine_throughput(spec.model, calibration)
    gpus = spec.tensor_parallel_size
    output_tokens = samples * tokens
    return RunCost(run, problems, samples, tokens, output_tokens, speed, gpus, output_tokens / speed / 3600 * gpus,
                   "measured" in (how_tokens, how_speed))


def calibrate(run_dir: Path) -> Calibration:
    """Output tokens per sample and engine throughput measured by a finished run: every store
    under RUN_DIR/samples records, per chunk, its samples, output tokens and seconds."""
    root = Path(run_dir) / "samples"
    manifests = sorted(root.glob("*/*/*/*/manifest.json")) if root.is_dir() else []
    if not manifests:
        raise ReproError(f"--calibrate {run_dir}: no sample stores under {root}")
    tokens: dict[tuple[str, str], list[float]] = {}
    speed: dict[str, list[float]] = {}
    for manifest_path in manifests:
        key = json.loads(manifest_path.read_text())["key"]
        if get_backend(key.get("engine", {}).get("backend", "")).simulated:
            continue  # no model ran: nothing to learn about models
        model, benchmark = key["model"]["key"], key["benchmark"]
        for index_path in manifest_path.parent.glob("index-*.json"):
            for entry in json.loads(index_path.read_text())["chunks"].values():
                if "output_tokens" not in entry or not entry.get("samples"):
                    continue
                totals = tokens.setdefault((model, benchmark), [0.0, 0.0])
                totals[0] += entry["output_tokens"]
                totals[1] += entry["samples"]
                if entry.get("seconds"):
                    rate = speed.setdefault(model, [0.0, 0.0])
                    rate[0] += entry["output_tokens"]
                    rate[1] += entry["seconds"]
    if not tokens:
        raise ReproError(f"--calibrate {run_dir}: its stores record no output tokens (made by an older version, or "
                         "only simulated)")
    return Calibration({k: t / n for k, (t, n) in tokens.items()},
                       {m: t / s for m, (t, s) in speed.items() if s > 0}, f"measured in {run_dir}")


def total_gpu_hours(costs: Iterable[RunCost]) -> float:
    return sum(cost.gpu_hours for cost in costs)
