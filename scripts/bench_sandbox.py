"""Sandbox throughput: checked programs per second on this machine, and the sandbox's overhead.

    .venv/bin/python scripts/bench_sandbox.py [--programs 120] [--workers N] [--timeout-share 0.1]

1. A mixed corpus -- LiveCodeBench-style programs that pass (stdin and call-based), fail
   (wrong answer, runtime error) and time out (1 s per-test limit) -- is judged with
   `check_program`, sequentially and then on a pool of N workers (default: one per CPU).
   Each check is one sandboxed child process, so the pool's workers are threads that wait on
   those children (`--pool process` uses worker processes instead; same children).
2. The same non-timing-out programs run bare, `subprocess.run([python, file])` with the first
   test's stdin, against `run_program` (sandbox, no test harness): the per-program overhead of
   the isolation layers alone.

Prints Markdown tables. Absolute numbers depend on the machine and its load; compare rows of
one run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from repro.code_tests import TestSuite  # noqa: E402
from repro.grading.code import check_program  # noqa: E402
from repro.sandbox import detect_protections, run_program  # noqa: E402
from repro.sandbox.detect import choose_interpreter  # noqa: E402

STDIN_SUITE = TestSuite("stdin", tuple(f"{n}\n{' '.join(map(str, range(n)))}\n" for n in (5, 50, 500)),
                        tuple(f"{sum(range(n))}\n" for n in (5, 50, 500)), (1.0, 1.0, 1.0))
CALL_SUITE = TestSuite.livecodebench(
    [{"input": f"[{', '.join(map(str, range(n)))}]\n{n // 2}", "output": str(sum(range(n // 2))),
      "testtype": "functional"} for n in (4, 40, 400)], "prefixSum", timeout_s=1.0)

PASSING = [
    ("stdin", "n = int(input())\nprint(sum(map(int, input().split())))\n"),
    ("stdin", "import sys\nlines = sys.stdin.read().split('\\n')\nprint(sum(int(x) for x in lines[1].split()))\n"),
    ("call", "class Solution:\n    def prefixSum(self, nums: List[int], k: int) -> int:\n"
             "        return sum(nums[:k])\n"),
]
FAILING = [
    ("stdin", "n = int(input())\nprint(n)\n"),  # wrong answer
    ("stdin", "n = int(input())\nprint(1 / 0)\n"),  # runtime error
    ("call", "class Solution:\n    def prefixSum(self, nums, k):\n        return sum(nums)\n"),
]
TIMING_OUT = [("stdin", "while True:\n    pass\n")]


def corpus(size: int, timeout_share: float) -> list[tuple[str, str]]:
    timeouts = round(size * timeout_share)
    rest = size - timeouts
    programs = [PASSING[i % len(PASSING)] if i % 10 < 6 else FAILING[i % len(FAILING)] for i in range(rest)]
    programs += [TIMING_OUT[0]] * timeouts
    return programs


def judge(item: tuple[str, str]) -> str:
    mode, source = item
    return check_program(source, STDIN_SUITE if mode == "stdin" else CALL_SUITE, memory_mb=1024).status


def timed_checks(programs, workers: int, pool: str) -> tuple[float, dict[str, int]]:
    started = time.perf_counter()
    if workers == 1:
        statuses = [judge(item) for item in programs]
    else:
        executor = ThreadPoolExecutor if pool == "thread" else ProcessPoolExecutor
        with executor(max_workers=workers) as running:
            statuses = list(running.map(judge, programs))
    elapsed = time.perf_counter() - started
    counts: dict[str, int] = {}
    for status in statuses:
        counts[status] = counts.get(status, 0) + 1
    return elapsed, counts


def overhead(programs, interpreter: str) -> tuple[float, float]:
    """Mean seconds per program: bare subprocess vs run_program (same programs, same stdin)."""
    stdin_programs = [source for mode, source in programs if mode == "stdin"]
    text = STDIN_SUITE.inputs[1]
    with tempfile.TemporaryDirectory() as directory:
        paths = []
        for number, source in enumerate(stdin_programs):
            path = Path(directory) / f"p{number}.py"
            path.write_text(source)
            paths.append(path)
        started = time.perf_counter()
        for path in paths:
            subprocess.run([interpreter, str(path)], input=text, capture_output=True, text=True, timeout=10,
                           check=False)
        bare = (time.perf_counter() - started) / len(paths)
    started = time.perf_counter()
    for source in stdin_programs:
        run_program(source, text, time_limit_s=10, memory_mb=1024)
    sandboxed = (time.perf_counter() - started) / len(stdin_programs)
    return bare, sandboxed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--programs", type=int, default=120)
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--timeout-share", type=float, default=0.1, help="share of programs that time out")
    parser.add_argument("--pool", choices=("thread", "process"), default="thread")
    args = parser.parse_args()

    protections = detect_protections()
    print(f"protections: {protections.summary()}\n")
    programs = corpus(args.programs, args.timeout_share)
    judge(programs[0])  # warm-up: probe, imports

    print("| run | workers | programs | seconds | programs/s | outcomes |")
    print("|---|---|---|---|---|---|")
    for label, workers in (("sequential", 1), (f"{args.pool} pool", args.workers)):
        elapsed, counts = timed_checks(programs, workers, args.pool)
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        print(f"| {label} | {workers} | {len(programs)} | {elapsed:.1f} | {len(programs) / elapsed:.2f} | {outcomes} |")

    quick = [item for item in programs if item not in TIMING_OUT]
    bare, sandboxed = overhead(quick[:40], choose_interpreter())
    print("\n| runner (sequential, no test harness) | ms per program |")
    print("|---|---|")
    print(f"| bare `subprocess.run([python, file])` | {bare * 1000:.0f} |")
    print(f"| `run_program` (sandbox) | {sandboxed * 1000:.0f} |")
    print(f"| overhead | {(sandboxed - bare) * 1000:.0f} |")


if __name__ == "__main__":
    main()
