"""OlympiadBench (675 problems), as the paper's evaluator ships and reads it."""

from repro.benchmarks.base import MATH_GRADER, PAPER_MATH_EXTRACTION, Benchmark
from repro.benchmarks.math_files import MathFile, first_final_answer

BENCHMARK = Benchmark(
    key="olympiad", title="OlympiadBench", kind="math", size=675, paper_n=128,
    source=("Qwen2.5-Math evaluation data, olympiadbench/test.jsonl (math_files.MATH_SOURCES: limit-of-RLVR "
            "fd2cf37, sha256)"),
    data=MathFile("olympiad", data_name="olympiadbench", answer=first_final_answer),
    grader=MATH_GRADER, extraction=PAPER_MATH_EXTRACTION,
)
