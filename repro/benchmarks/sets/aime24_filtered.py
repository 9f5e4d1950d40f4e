"""AIME24 without its 12 'guessable' problems (Fig 12): the paper does not list the 18 kept."""

from repro.benchmarks.base import MATH_GRADER, PAPER_MATH_EXTRACTION, Benchmark
from repro.benchmarks.math_files import Unpublished

BENCHMARK = Benchmark(
    key="aime24-filtered", title="AIME24 (filtered)", kind="math", size=18, paper_n=1024,
    source="AIME24 minus 12 'guessable' problems",
    data=Unpublished("the paper does not list the 18 AIME24 problems it kept"),
    grader=MATH_GRADER, extraction=PAPER_MATH_EXTRACTION,
    note="the paper does not list the 18 problems kept; no faithful rerun is possible",
)
