"""LiveCodeBench release_v5, problems of 2024-08-01..2025-02-01 (279), with LiveCodeBench's test rules."""

from repro.benchmarks.base import CODE_EXTRACTION, CODE_GRADER, Benchmark
from repro.benchmarks.code_files import LiveCodeBenchWindow

BENCHMARK = Benchmark(
    key="lcb-2408-2501", title="LiveCodeBench 2024.08-2025.01", kind="code", size=279, paper_n=128,
    source=("livecodebench/code_generation_lite release_v5 at 0fe84c39 (code_files.LCB_SOURCES, sha256 per file), "
            "2024-08-01..2025-02-01 (livecodebench.WINDOWS)"),
    data=LiveCodeBenchWindow(), grader=CODE_GRADER, extraction=CODE_EXTRACTION,
)
