"""HumanEval+ (164 tasks), evalplus release v0.1.10, with evalplus' own test rules."""

from repro.benchmarks.base import CODE_EXTRACTION, CODE_GRADER, Benchmark
from repro.benchmarks.code_files import EvalplusRelease
from repro.benchmarks.code_standins import humaneval_standin_row

BENCHMARK = Benchmark(
    key="humaneval-plus", title="HumanEval+", kind="code", size=164, paper_n=128,
    source="evalplus HumanEval+ v0.1.10 release asset (code_files.EVALPLUS_SOURCES, sha256 of the JSONL)",
    data=EvalplusRelease("humaneval", standin_file="HumanEvalPlus.jsonl", standin_row=humaneval_standin_row),
    grader=CODE_GRADER, extraction=CODE_EXTRACTION,
)
