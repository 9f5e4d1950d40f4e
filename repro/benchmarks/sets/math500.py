"""MATH500 (the 500-problem subset of MATH), as the paper's evaluator ships and reads it."""

from repro.benchmarks.base import MATH_GRADER, PAPER_MATH_EXTRACTION, Benchmark
from repro.benchmarks.math_files import MathFile, boxed_solution

BENCHMARK = Benchmark(
    key="math500", title="MATH500", kind="math", size=500, paper_n=128,
    source="Qwen2.5-Math evaluation data, math500/test.jsonl (math_files.MATH_SOURCES: limit-of-RLVR fd2cf37, sha256)",
    data=MathFile("math500", data_name="math500", answer=boxed_solution),
    grader=MATH_GRADER, extraction=PAPER_MATH_EXTRACTION,
)
