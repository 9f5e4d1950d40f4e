"""MathVision testmini, its 114 questions without options (Fig 4), graded by EasyR1's reward."""

from repro.benchmarks.base import VISUAL_EXTRACTION, VISUAL_GRADER, Benchmark
from repro.benchmarks.visual_files import MathVisionOpen

BENCHMARK = Benchmark(
    key="mathvision-open", title="MathVision testmini (no options)", kind="visual", size=114, paper_n=128,
    source=("mathllm/MATH-V data/testmini.jsonl at a1f5cc3a and one pinned image per row (sha256); rows "
            "without options (visual_files)"),
    data=MathVisionOpen(), grader=VISUAL_GRADER, extraction=VISUAL_EXTRACTION,
)
