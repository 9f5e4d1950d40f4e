"""The unit every stage passes around: one benchmark problem."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One benchmark item.

    `problem_id` is stable across runs and machines (it is part of every sample seed);
    `index` is the position in the benchmark's order, which is what the paper's Tables 4 and 5
    count: the file's order for most benchmarks; for LiveCodeBench the order of its own
    runner, question_id sorted as strings (docs/table5_ordering.md);
    `question` is the raw question text that a prompt template wraps;
    `answer` is the ground truth exactly as the grader compares it;
    `meta` holds anything else a grader or template needs (kept JSON-serializable).
    """

    problem_id: str
    index: int
    question: str
    answer: str
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
