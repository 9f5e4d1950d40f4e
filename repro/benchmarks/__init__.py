"""Every benchmark of the paper, registered once: one module each in `sets/`, one line here.

A module declares a `repro.benchmarks.base.Benchmark`: what it is, its sources with their pins
and how to load them (real data verified by sha256; a stand-in for the smoke tier), its grader,
its extraction rule and its sampling budget. Loading: `repro.benchmarks.loading.load_benchmark`.
docs/extending.md says how to add one.
"""

from __future__ import annotations

from repro.benchmarks.base import Benchmark
from repro.benchmarks.math_files import OMNI_SPLIT_NOTE
from repro.benchmarks.sets import (
    aime24,
    aime24_filtered,
    amc23,
    gsm8k,
    humaneval_plus,
    lcb_2305_2501,
    lcb_2408_2501,
    math500,
    mathvision_open,
    mathvista_free,
    mbpp_plus,
    minerva,
    olympiad,
    omni_math_test,
    omni_math_train,
)
from repro.errors import UnknownNameError

__all__ = ["BENCHMARKS", "OMNI_SPLIT_NOTE", "Benchmark", "get_benchmark", "register", "source_of"]

BENCHMARKS: dict[str, Benchmark] = {}


def register(benchmark: Benchmark) -> Benchmark:
    """Make a benchmark known by its key (a key is registered once)."""
    if benchmark.key in BENCHMARKS:
        raise ValueError(f"benchmark {benchmark.key!r} is registered twice")
    BENCHMARKS[benchmark.key] = benchmark
    return benchmark


register(gsm8k.BENCHMARK)
register(math500.BENCHMARK)
register(minerva.BENCHMARK)
register(olympiad.BENCHMARK)
register(aime24.BENCHMARK)
register(amc23.BENCHMARK)
register(aime24_filtered.BENCHMARK)
register(omni_math_train.BENCHMARK)
register(omni_math_test.BENCHMARK)
register(humaneval_plus.BENCHMARK)
register(mbpp_plus.BENCHMARK)
register(lcb_2408_2501.BENCHMARK)
register(lcb_2305_2501.BENCHMARK)
register(mathvista_free.BENCHMARK)
register(mathvision_open.BENCHMARK)


def get_benchmark(key: str) -> Benchmark:
    try:
        return BENCHMARKS[key]
    except KeyError:
        raise UnknownNameError(f"unknown benchmark {key!r}; known: {', '.join(BENCHMARKS)}") from None


def source_of(key: str, source_type: type, what: str):
    """The data source a benchmark's module declares, which must be a `source_type` (the loaders
    of a kind call it instead of switching on keys); else one clear error naming the known keys."""
    source = BENCHMARKS[key].data if key in BENCHMARKS else None
    if not isinstance(source, source_type):
        known = ", ".join(k for k, benchmark in BENCHMARKS.items() if isinstance(benchmark.data, source_type))
        raise UnknownNameError(f"{key!r} is not a {what} benchmark; known: {known}")
    return source
