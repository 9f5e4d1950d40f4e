"""Graders: pure functions (problem, completion text) -> Verdict."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    correct: bool
    extracted: str | None  # what the grader read as the answer (None: nothing found)
    detail: str = ""
