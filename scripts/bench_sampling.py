"""Sampling through the package's vLLM backend against bare vLLM, on the same requests.

    .venv/bin/python scripts/bench_sampling.py [--prompts 64] [--n 8] [--max-new-tokens 32] [--repeats 5]
    python scripts/bench_sampling.py --model Qwen/Qwen2.5-7B --dtype auto --max-model-len 4096 \\
        --max-new-tokens 1024 --prompts 500 --n 8          # on a GPU, a real model

One engine is started by the package's backend (`repro.sampling.vllm_backend.VllmBackend`,
with the settings it chooses: on CPU no chunked prefill, docs/engines.md). The same requests
-- MATH500 problems rendered with the qwen-boxed template, one seed per request derived as
the pipeline derives it (`request_seed(run seed, problem id, round)`), the paper's
temperature 0.6, top-p 0.95 and the qwen-boxed stop strings -- then go

- through the package: `VllmBackend.generate(requests, params)` (its SamplingParams, its
  conversion of the outputs into `Completion`s);
- to bare vLLM: `vllm.LLM.generate` on the same engine object with `vllm.SamplingParams`
  written out by hand, outputs read as they come.

Both use the same engine, so the comparison isolates what the package adds around vLLM (a
second engine would double the memory a real model needs and add its own noise). The two
alternate `--repeats` times after one warm-up call each, in ABBA order; the table gives
medians and the ratio bare seconds / package seconds, which is the package's throughput
relative to bare vLLM (the target is >= 0.98), also from the fastest call of each side (on a
machine shared with other jobs the slow calls are the other jobs' doing, so the fastest
calls are the cleaner comparison there); every call's time is printed. Every repeat must give identical samples on both sides (text,
finish reason, token count); the script exits 1 where they differ.

`--model tiny` (default) builds the tiny random Qwen2 model in a scratch folder (CPU). The
prompts come from the data folder (REPRO_DATA_DIR); without MATH500 there the benchmark's
synthetic stand-in is used, and the output says so. Prints a Markdown table. Absolute
numbers depend on the machine and its load; compare the two columns of one run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from repro.benchmarks.loading import load_benchmark  # noqa: E402
from repro.models import QWEN_BOXED_STOPS  # noqa: E402
from repro.prompts import render_prompt  # noqa: E402
from repro.sampling.base import Request, SamplingParams  # noqa: E402
from repro.sampling.seeds import request_seed  # noqa: E402

TEMPLATE = "qwen-boxed"
RUN_SEED = 0


def make_requests(count: int, n: int) -> tuple[list[Request], str]:
    loaded = load_benchmark("math500", allow_synthetic=True, download=False)
    origin = "synthetic stand-in (no MATH500 in the data folder)" if loaded.synthetic else "MATH500"
    problems = loaded.problems[:count]
    requests = [Request(problem.problem_id, 0, render_prompt(TEMPLATE, problem),
                        request_seed(RUN_SEED, problem.problem_id, 0), n) for problem in problems]
    return requests, f"{len(requests)} {origin} prompts"


def through_package(backend, requests: list[Request], params: SamplingParams) -> list[list[tuple]]:
    outputs = backend.generate(requests, params)
    return [[(c.text, c.finish_reason, c.num_tokens) for c in completions] for completions in outputs]


def through_bare_vllm(llm, vllm, requests: list[Request], params: SamplingParams) -> list[list[tuple]]:
    sampling = [vllm.SamplingParams(n=request.n, seed=request.seed, temperature=params.temperature,
                                    top_p=params.top_p, max_tokens=params.max_new_tokens, stop=list(params.stop))
                for request in requests]
    outputs = llm.generate([request.prompt for request in requests], sampling, use_tqdm=False)
    return [[(s.text, s.finish_reason, len(s.token_ids)) for s in output.outputs] for output in outputs]


def outside_the_engine(llm, sides: dict, repeats: int) -> dict[str, float]:
    """Median seconds each side spends besides the engine's own work (building the sampling
    settings, reading the outputs): `llm.generate` is replaced, for this measurement only, by
    a function that returns outputs it recorded. Milliseconds that no load on the machine
    blurs as it blurs the engine's seconds."""
    real_generate = llm.generate
    recorded = None
    try:
        def record(*args, **kwargs):
            nonlocal recorded
            recorded = real_generate(*args, **kwargs)
            return recorded

        llm.generate = record
        sides["bare vLLM"]()
        llm.generate = lambda *args, **kwargs: recorded
        return {side: statistics.median(timed(call)[0] for _ in range(repeats)) for side, call in sides.items()}
    finally:
        del llm.generate  # the instance attribute; the class's method shows through again


def timed(call):
    started = time.perf_counter()
    result = call()
    return time.perf_counter() - started, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny", help="'tiny' (built locally) or a model folder / hub name")
    parser.add_argument("--dtype", default=None, help="engine dtype (default: float32 for tiny, else auto)")
    parser.add_argument("--max-model-len", type=int, default=1024)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--prompts", type=int, default=64, help="first MATH500 problems")
    parser.add_argument("--n", type=int, default=8, help="samples per request")
    parser.add_argument("--temperature", type=float, default=0.6)
    parser.add_argument("--top-p", type=float, default=0.95)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--tensor-parallel-size", type=int, default=1)
    args = parser.parse_args()

    requests, described = make_requests(args.prompts, args.n)
    # No per-run max_model_len below the engine's: the backend then passes max_new_tokens
    # as vLLM's max_tokens, exactly what the bare side asks for.
    params = SamplingParams(temperature=args.temperature, top_p=args.top_p, max_new_tokens=args.max_new_tokens,
                            stop=QWEN_BOXED_STOPS)

    with tempfile.TemporaryDirectory(prefix="bench-sampling-") as scratch:
        if args.model == "tiny":
            from repro.sampling.tiny_models import tiny_model_path

            model, dtype = str(tiny_model_path("tiny-base", Path(scratch))), args.dtype or "float32"
        else:
            model, dtype = args.model, args.dtype or "auto"
        from repro.sampling.vllm_backend import VllmBackend

        backend = VllmBackend(model, max_model_len=args.max_model_len, dtype=dtype,
                              tensor_parallel_size=args.tensor_parallel_size)
        try:
            import vllm

            llm = backend._engine()
            sides = {"package": lambda: through_package(backend, requests, params),
                     "bare vLLM": lambda: through_bare_vllm(llm, vllm, requests, params)}
            for call in sides.values():
                call()  # warm-up: first-call allocations and caches on both sides
            seconds: dict[str, list[float]] = {side: [] for side in sides}
            mismatches = 0
            for repeat in range(args.repeats):
                results = {}
                # ABBA order: whatever favours the first (or second) call of a pair evens out.
                order = list(sides) if repeat % 2 == 0 else list(sides)[::-1]
                for side in order:
                    elapsed, results[side] = timed(sides[side])
                    seconds[side].append(elapsed)
                mismatches += results["package"] != results["bare vLLM"]
            wrapper = outside_the_engine(llm, sides, 20)
            samples = sum(len(completions) for completions in results["package"])
            tokens = sum(count for completions in results["package"] for _, _, count in completions)
            device, engine = backend.device, backend.describe()
        finally:
            backend.close()

    package, bare = statistics.median(seconds["package"]), statistics.median(seconds["bare vLLM"])
    print(f"{described}, n = {args.n}, {samples} samples, {tokens} generated tokens per call; model {args.model} "
          f"({engine['dtype']}, max_model_len {engine['max_model_len']}) on {device}, vLLM {engine['vllm_version']}; "
          f"medians of {args.repeats} alternating calls\n")
    print("| side | seconds per call (median) | range | samples / s | tokens / s |")
    print("|---|---:|---:|---:|---:|")
    for side, label in (("package", "package (VllmBackend.generate)"), ("bare vLLM", "bare vLLM (LLM.generate)")):
        median = statistics.median(seconds[side])
        print(f"| {label} | {median:.3f} | {min(seconds[side]):.3f}-{max(seconds[side]):.3f} | "
              f"{samples / median:.1f} | {tokens / median:.0f} |")
    for side in seconds:
        print(f"\n{side}, seconds of each call in order: {', '.join(f'{x:.3f}' for x in seconds[side])}", end="")
    print()
    best_package, best_bare = min(seconds["package"]), min(seconds["bare vLLM"])
    print(f"\npackage throughput / bare vLLM: {bare / package:.3f} from the medians, {best_bare / best_package:.3f} "
          f"from the fastest call of each side (target >= 0.98); wrapper cost "
          f"{1000 * (package - bare) / len(requests):+.2f} ms per request (medians)")
    extra = wrapper["package"] - wrapper["bare vLLM"]
    print(f"\noutside the engine (llm.generate answering from recorded outputs; medians of 20): package "
          f"{1000 * wrapper['package']:.2f} ms, bare vLLM {1000 * wrapper['bare vLLM']:.2f} ms per call: the package "
          f"adds {1000 * extra:+.2f} ms per call ({1000 * extra / len(requests):+.3f} ms per request), "
          f"{extra / best_bare:.3%} of the fastest bare call")
    if mismatches:
        print(f"SAMPLES DIFFER in {mismatches} of {args.repeats} repeats")
        return 1
    print(f"samples identical on both sides in all {args.repeats} repeats")
    return 0


if __name__ == "__main__":
    sys.exit(main())
