"""Choose where a benchmark's problems come from for a given tier."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from repro.benchmarks import get_benchmark
from repro.benchmarks.math_files import MATH_FILES, DataMissingError, load_math_benchmark, math_file
from repro.benchmarks.synthetic import synthetic_problems
from repro.errors import ReproError
from repro.problems import Problem

_MATH_KEYS = set(MATH_FILES) | {"omni-math-train", "omni-math-test"}


@dataclass(frozen=True)
class LoadedBenchmark:
    key: str
    problems: list[Problem]
    checksum: str  # sha256 of the source file, or of the synthetic problems
    synthetic: bool  # True when a stand-in replaced absent data (smoke tier only)


def has_real_data(key: str) -> bool:
    if key in ("omni-math-train", "omni-math-test"):
        return math_file("omni-math-rule") is not None
    return key in MATH_FILES and math_file(key) is not None


def load_benchmark(key: str, *, allow_synthetic: bool) -> LoadedBenchmark:
    benchmark = get_benchmark(key)
    if key in _MATH_KEYS and has_real_data(key):
        problems, checksum = load_math_benchmark(key)
        return LoadedBenchmark(key, problems, checksum, synthetic=False)
    if not allow_synthetic:
        if key in _MATH_KEYS:
            raise DataMissingError(
                f"no data for {benchmark.title}: set REPRO_DATA_DIR to a folder holding math/*/test.jsonl "
                "(the container has them), or use --tier smoke"
            )
        raise ReproError(f"loading {benchmark.title} is not implemented yet ({benchmark.kind} benchmarks)")
    size = benchmark.size or 100
    problems = synthetic_problems(key, size)
    digest = hashlib.sha256("\n".join(f"{p.problem_id}\t{p.question}\t{p.answer}" for p in problems).encode())
    return LoadedBenchmark(key, problems, "synthetic:" + digest.hexdigest(), synthetic=True)
