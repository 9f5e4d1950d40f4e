"""LiveCodeBench release_v5, the whole release (880 problems), with LiveCodeBench's test rules."""

from repro.benchmarks.base import CODE_EXTRACTION, CODE_GRADER, Benchmark
from repro.benchmarks.code_files import LiveCodeBenchWindow

BENCHMARK = Benchmark(
    key="lcb-2305-2501", title="LiveCodeBench 2023.05-2025.01", kind="code", size=880, paper_n=128,
    source=("livecodebench/code_generation_lite release_v5 at 0fe84c39 (code_files.LCB_SOURCES, sha256 per file), "
            "whole release (livecodebench.WINDOWS)"),
    data=LiveCodeBenchWindow(), grader=CODE_GRADER, extraction=CODE_EXTRACTION,
    stand_in_problems=451,  # Table 5 lists the problems of indices 400-450 solved at least once
)
