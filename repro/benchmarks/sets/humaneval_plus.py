"""HumanEval+ (164 tasks), evalplus release v0.1.10, with evalplus' own test rules."""

from repro.benchmarks.base import CODE_EXTRACTION, CODE_GRADER, Benchmark
from repro.benchmarks.code_files import CodeFiles

BENCHMARK = Benchmark(
    key="humaneval-plus", title="HumanEval+", kind="code", size=164, paper_n=128,
    source="evalplus HumanEval+ v0.1.10 release asset (code_files.EVALPLUS_SOURCES, sha256 of the JSONL)",
    data=CodeFiles(), grader=CODE_GRADER, extraction=CODE_EXTRACTION,
)
