"""Graded samples per second: the grading pool sized to this machine against one worker
(the paper's evaluator graded with one worker and a 3 s limit per pair).

    .venv/bin/python scripts/bench_grading.py [--grader math-paper-v2] [--pairs 4000]

The corpus mixes the golden grading cases (tests/golden/math_grading_cases.jsonl, every
answer style of the six benchmarks) repeated to the requested size, so cheap string matches
and expensive symbolic comparisons appear in realistic proportion. Both runs grade the same
pairs in the same order, one after the other in one process, so their ratio is meaningful
on a noisy machine; absolute numbers are not.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from repro.grading.pool import GradingPool, default_workers
from repro.problems import Problem

GOLDEN = Path(__file__).resolve().parent.parent / "tests" / "golden" / "math_grading_cases.jsonl"


def corpus(size: int) -> list[tuple[Problem, str]]:
    cases = [json.loads(line) for line in GOLDEN.read_text().splitlines() if line.strip()]
    pairs = []
    for i in range(size):
        case = cases[i % len(cases)]
        problem = Problem(f"{case['benchmark']}/{i}", i, "", case["answer"], {"benchmark": case["benchmark"]})
        pairs.append((problem, case["output"]))
    return pairs


def rate(grader: str, pairs, workers: int) -> tuple[float, int, int]:
    with GradingPool(grader, workers=workers) as pool:
        pool.grade(pairs[: 2 * workers])  # start the workers before timing
        started = time.perf_counter()
        verdicts = pool.grade(pairs)
        elapsed = time.perf_counter() - started
        return len(pairs) / elapsed, sum(v.correct for v in verdicts), pool.timeouts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grader", default="math-paper-v2")
    parser.add_argument("--pairs", type=int, default=4000)
    args = parser.parse_args()
    pairs = corpus(args.pairs)
    one, correct_one, timeouts_one = rate(args.grader, pairs, 1)
    workers = default_workers()
    many, correct_many, timeouts_many = rate(args.grader, pairs, workers)
    print(f"grader {args.grader}, {len(pairs)} pairs")
    print("| workers | graded pairs/s | correct | timeouts |\n|---|---|---|---|")
    print(f"| 1 | {one:,.0f} | {correct_one} | {timeouts_one} |")
    print(f"| {workers} | {many:,.0f} | {correct_many} | {timeouts_many} |")
    print(f"speed-up: {many / one:.2f}x")


if __name__ == "__main__":
    main()
