"""Minerva Math (272 problems), as the paper's evaluator ships and reads it (units kept)."""

from repro.benchmarks.base import MATH_GRADER, PAPER_MATH_EXTRACTION, Benchmark
from repro.benchmarks.math_files import MathFile, boxed_solution

BENCHMARK = Benchmark(
    key="minerva", title="Minerva", kind="math", size=272, paper_n=128,
    source=("Qwen2.5-Math evaluation data, minerva_math/test.jsonl (math_files.MATH_SOURCES: limit-of-RLVR "
            "fd2cf37, sha256)"),
    data=MathFile("minerva", data_name="minerva_math", answer=boxed_solution),
    grader=MATH_GRADER, extraction=PAPER_MATH_EXTRACTION,
)
