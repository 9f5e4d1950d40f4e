"""What a benchmark module declares, and what loading one gives.

Every benchmark of the paper is one module of `repro/benchmarks/sets/` declaring one
`Benchmark`: its title, kind and size, the n the paper draws, its sources with their pins
(a `DataSource` that loads the real, verified data and builds the smoke tier's stand-in), the
grader that scores it (id and version), how an answer or program is read from a completion,
and its sampling budget. `repro/benchmarks/__init__.py` registers the modules, one line each.
Shaped after lighteval's one-task-per-file declarations (learned from, not copied).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Protocol

from repro.lengths import BUDGETS, Budget
from repro.problems import Problem

# Graders by id and version (repro.grading.pool.GRADERS maps them to functions): bumped
# whenever a verdict can change, so stored verdicts of an older version are never reused.
# v2: completions of the r1-zero and deepseek-r1 templates are read from their <answer> tag first
# v3: sympy's random test points are seeded per comparison (a verdict depends on the pair only)
MATH_GRADER = "math-paper-v3"  # the paper's evaluator semantics (docs/math_grader_parity.md)
# v2: programs read as each harness reads them (evalplus' sanitizer, rllm's block rule)
# v3: LiveCodeBench parity (docs/code_grader_parity.md): `from sys import stdin` reads the test
# input, numpy importable, Fraction/Decimal/ndarray returns compared as LCB does, the per-test
# timer fires once; DeepCoder graded with rllm's prelude; evalplus parity (same doc): find_zero
# as evalplus 0.3.1 grades it, loading time charged to the base and plus runs, evalplus' stack
# limit, modules evalplus has loaded importable
CODE_GRADER = "code-v3"
VISUAL_GRADER = "visual-v1"  # EasyR1's math reward (mathruler), MathVista's answer types

PAPER_MATH_EXTRACTION = ("the paper's evaluator: the last \\boxed{} (or the prompt's answer line), else "
                         "'the answer is', else the last number (repro/grading/math_paper.py); for the "
                         "r1-zero and deepseek-r1 templates the last <answer> tag comes first "
                         "(repro/grading/answer_tag.py)")
CODE_EXTRACTION = "the prompt template's harness rule (repro/code_prompts.py EXTRACTIONS)"
VISUAL_EXTRACTION = "EasyR1's reward: the content of the last \\boxed{} (mathruler)"


@dataclass(frozen=True)
class LoadedData:
    """What a data source gives: problems and the identity of what they were read from."""

    problems: list[Problem]
    checksum: str  # sha256 of the verified source files (or of a stand-in's)
    origin: str  # "data folder", "cache", "downloaded" (several joined by "+") or "synthetic"
    # How the problems were selected from the source rows, where they were (the visual sets
    # keep only free-form questions): {"source_rows", "kept", "rule"}.
    selection: dict | None = None
    note: str = ""  # a caveat of this data (a stand-in says so)


class DataSource(Protocol):
    """Where a benchmark's problems come from."""

    def load(self, benchmark: Benchmark, *, download: bool, progress=None) -> LoadedData:
        """The real problems, from the data folder, the cache or a pinned download, verified
        by sha256; `repro.benchmarks.fetch.DataMissingError` when they are not to be had."""
        ...

    def stand_in(self, benchmark: Benchmark, *, progress=None) -> LoadedData:
        """Problems in the benchmark's real format, made locally (smoke tier only)."""
        ...


@dataclass(frozen=True)
class Benchmark:
    key: str
    title: str
    kind: str  # "math", "code" or "visual"
    size: int  # problems the paper evaluates (visual sets: kept by their filter, checked when loaded)
    paper_n: int  # samples per problem the paper draws where an experiment does not say (App. A.2)
    source: str  # where the data come from, in words (the pins are in `data`)
    data: DataSource
    grader: str  # grader id and version
    extraction: str  # how an answer or program is read from a completion, in words
    note: str = ""  # a caveat every run on this benchmark reports
    # The name its grader knows its rules by, where that is not the key (math: one of the paper's
    # evaluator's data names, repro.grading.math_paper; e.g. "aime24" for a new AIME-like set).
    grades_as: str = ""
    budget_override: Budget | None = None  # None: the kind's budget (repro.lengths.BUDGETS)
    # Problems a stand-in tier must hold at least, where the paper names problems by index this
    # far (Table 5: LiveCodeBench 400-450); None: the tier's own limit.
    stand_in_problems: int | None = None

    @property
    def budget(self) -> Budget:
        return self.budget_override or BUDGETS[self.kind]


def problems_checksum(problems: list[Problem]) -> str:
    """sha256 of synthetic problems (ids, questions, answers)."""
    return hashlib.sha256("\n".join(f"{p.problem_id}\t{p.question}\t{p.answer}" for p in problems).encode()).hexdigest()
