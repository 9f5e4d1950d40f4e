"""AIME 2024 (30 problems), as the paper's evaluator ships and reads it."""

from repro.benchmarks.base import MATH_GRADER, PAPER_MATH_EXTRACTION, Benchmark
from repro.benchmarks.math_files import MathFile, plain_answer

BENCHMARK = Benchmark(
    key="aime24", title="AIME24", kind="math", size=30, paper_n=1024,
    source="Qwen2.5-Math evaluation data, aime24/test.jsonl (math_files.MATH_SOURCES: limit-of-RLVR fd2cf37, sha256)",
    data=MathFile("aime24", data_name="aime24", answer=plain_answer),
    grader=MATH_GRADER, extraction=PAPER_MATH_EXTRACTION,
)
