"""Omni-MATH-Train: the 2,000 Omni-MATH-Rule problems of the package's split (the paper's is unpublished)."""

from repro.benchmarks.base import MATH_GRADER, PAPER_MATH_EXTRACTION, Benchmark
from repro.benchmarks.math_files import OMNI_SPLIT_NOTE, MathFile, boxed_or_plain_answer

BENCHMARK = Benchmark(
    key="omni-math-train", title="Omni-MATH-Train", kind="math", size=2000, paper_n=256,
    source=("omni-math-rule test.jsonl (math_files.MATH_SOURCES: KbsdJames/omni-math-rule 4793415, sha256), "
            "deterministic 2,000-problem part"),
    data=MathFile("omni-math-rule", data_name="omni-math", answer=boxed_or_plain_answer, part="train",
                  keep_raw_answer=True),
    grader=MATH_GRADER, extraction=PAPER_MATH_EXTRACTION, note=OMNI_SPLIT_NOTE,
)
