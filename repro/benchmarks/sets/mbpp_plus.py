"""MBPP+ (378 tasks), evalplus release v0.2.0, with evalplus' own test rules."""

from repro.benchmarks.base import CODE_EXTRACTION, CODE_GRADER, Benchmark
from repro.benchmarks.code_files import EvalplusRelease
from repro.benchmarks.code_standins import mbpp_standin_row

BENCHMARK = Benchmark(
    key="mbpp-plus", title="MBPP+", kind="code", size=378, paper_n=128,
    source="evalplus MBPP+ v0.2.0 release asset (code_files.EVALPLUS_SOURCES, sha256 of the JSONL; v0.2.0 assumed)",
    data=EvalplusRelease("mbpp", standin_file="MbppPlus.jsonl", standin_row=mbpp_standin_row),
    grader=CODE_GRADER, extraction=CODE_EXTRACTION,
)
