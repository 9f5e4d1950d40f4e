"""AMC 2023 (40 problems), as the paper's evaluator ships and reads it."""

from repro.benchmarks.base import MATH_GRADER, PAPER_MATH_EXTRACTION, Benchmark
from repro.benchmarks.math_files import MathFile, plain_answer

BENCHMARK = Benchmark(
    key="amc23", title="AMC23", kind="math", size=40, paper_n=1024,
    source="Qwen2.5-Math evaluation data, amc23/test.jsonl (math_files.MATH_SOURCES: limit-of-RLVR fd2cf37, sha256)",
    data=MathFile("amc23", data_name="amc23", answer=plain_answer),
    grader=MATH_GRADER, extraction=PAPER_MATH_EXTRACTION,
)
