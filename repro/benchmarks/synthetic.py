"""Synthetic stand-ins for benchmarks whose data are absent (smoke tier only).

Problems are short arithmetic questions with integer answers, generated deterministically
from the benchmark key, so two machines build the same stand-in.
"""

from __future__ import annotations

import random

from repro.problems import Problem

# A stand-in never needs more problems than this: the smoke tier checks the machinery,
# and pass@k precision at N problems is already shown in every tolerance.
MAX_SYNTHETIC_PROBLEMS = 2000


def synthetic_problems(benchmark_key: str, count: int) -> list[Problem]:
    rng = random.Random(f"synthetic:{benchmark_key}")
    problems = []
    for index in range(min(count, MAX_SYNTHETIC_PROBLEMS)):
        a, b = rng.randint(2, 999), rng.randint(2, 999)
        problems.append(
            Problem(
                problem_id=f"{benchmark_key}/synthetic-{index:04d}",
                index=index,
                question=f"What is {a} + {b}?",
                answer=str(a + b),
                meta={"synthetic": True},
            )
        )
    return problems
