"""GSM8K test set (1,319 grade-school problems), as the paper's evaluator ships and reads it."""

from repro.benchmarks.base import MATH_GRADER, PAPER_MATH_EXTRACTION, Benchmark
from repro.benchmarks.math_files import MathFile, answer_after_hashes

BENCHMARK = Benchmark(
    key="gsm8k", title="GSM8K", kind="math", size=1319, paper_n=128,
    source="Qwen2.5-Math evaluation data, gsm8k/test.jsonl (math_files.MATH_SOURCES: limit-of-RLVR fd2cf37, sha256)",
    data=MathFile("gsm8k", data_name="gsm8k", answer=answer_after_hashes),
    grader=MATH_GRADER, extraction=PAPER_MATH_EXTRACTION,
)
