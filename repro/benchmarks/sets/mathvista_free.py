"""MathVista testmini, its 460 free-form questions (Fig 4), graded by EasyR1's reward."""

from repro.benchmarks.base import VISUAL_EXTRACTION, VISUAL_GRADER, Benchmark
from repro.benchmarks.visual_files import MathVistaFree

BENCHMARK = Benchmark(
    key="mathvista-free", title="MathVista testmini (free-form)", kind="visual", size=460, paper_n=128,
    source=("lupantech/MathVista data/testmini.json at 53d52587 (sha256) and AI4Math/MathVista images.zip "
            "(sha256 recorded at first use); question_type == free_form (visual_files)"),
    data=MathVistaFree(), grader=VISUAL_GRADER, extraction=VISUAL_EXTRACTION,
)
