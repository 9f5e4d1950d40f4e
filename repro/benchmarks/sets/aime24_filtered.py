"""AIME24 without its 'guessable' problems (Fig 12, App. D.2): the paper kept 18 of 30 and does
not list them. A run rebuilds the list by the paper's procedure (repro.aime_filter, the rule in
repro.guess_filter) and samples the problems of AIME24 it keeps; this module's data source only
serves where no list was made (a stand-in in the smoke tier, refused elsewhere)."""

from repro.benchmarks.base import MATH_GRADER, PAPER_MATH_EXTRACTION, Benchmark
from repro.benchmarks.math_files import Unpublished

# The benchmark whose problems the filter selects from.
PARENT = "aime24"

# If the authors ever publish the 18 problems they kept, put their AIME24 problem ids here
# (as repro's aime24 loader names them) with the source in PUBLISHED_SOURCE: runs then use
# this list instead of rebuilding one, and say so.
PUBLISHED_KEPT_IDS: tuple[str, ...] | None = None
PUBLISHED_SOURCE = ""

BENCHMARK = Benchmark(
    key="aime24-filtered", title="AIME24 (filtered)", kind="math", size=18, paper_n=1024,
    source="AIME24 minus its 'guessable' problems (App. D.2; the paper kept 18), the list rebuilt by each run",
    data=Unpublished("the paper does not list the 18 AIME24 problems it kept; `repro run` rebuilds the list"),
    grader=MATH_GRADER, extraction=PAPER_MATH_EXTRACTION,
    note="the problem list is rebuilt by this run's own filter (App. D.2's procedure), not the paper's unpublished one",
)
