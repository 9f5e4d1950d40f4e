"""Math grading throughput: the package's grading pool, memoized and not, against the paper's
official evaluator, on a large-n workload and on the parity corpus.

    .venv/bin/python scripts/bench_grading.py [--problems 30] [--outputs 1024] [--workers 2] \\
        [--official-checkout SCRATCH/limit-of-RLVR/math/examples/math_eval \\
         --official-python SCRATCH/venv/bin/python] [--data-dir SHARED/data] [--parity-pairs 2000]

Workloads:
- large n: `--problems` problems x `--outputs` outputs each, made from the golden grading
  cases (tests/golden/math_grading_cases.jsonl, whose verdicts are the official's). As at
  n = 1,024, most outputs of a problem end in a few answers: each problem takes one golden case
  as its reference and draws its outputs from that case's own output and four other outputs of
  its benchmark (weights 0.6, 0.2, 0.1, 0.05, 0.03) and, for 2 %, a boxed random integer
  below 50; every output starts with its own reasoning line, so no two texts are equal.
- parity corpus (with `--data-dir`): the pairs of scripts/math_grader_parity.py (real ground
  truths, every answer style and extraction route, nearly all pairs distinct).

Each workload is graded three times, one after the other in this process, so that the ratios
are side by side on a noisy machine (absolute numbers are not meaningful here):
- official: its own code, run as the parity script runs it (`--worker official`: its
  extraction in a process pool, its `math_equal` in a pebble pool with 3 s per pair), from a
  scratch checkout at fd2cf37 under its own interpreter (docs/math_grader_parity.md, "How to
  rerun"); skipped when the two official options are not given;
- ours, every pair graded (`GradingPool(memoize=False)`: `grade` on every pair, one pass, the
  cost before memoization);
- ours, memoized (one pass too: each distinct (prediction, reference) compared once per
  worker at most, remembered by the pool).
With `--repeats R`, each of ours runs R times, alternating, and the median is reported; every
run's wall and CPU seconds (the parent's and its workers', steadier than wall time on a shared
machine) are printed.
Both pools are started before the clock (the pipeline keeps one per command); the official
forks its pools from an interpreter that has imported its code, inside its timing.
The verdicts of the two runs of ours must be identical, but for pairs whose comparison runs
near the 3 s limit and times out in one run only (machine noise; the script says how many,
and stops on any other difference); the agreement with the official is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from argparse import Namespace
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "scripts"))

import math_grader_parity as parity  # noqa: E402
from repro.grading.pool import GradingPool, default_workers  # noqa: E402
from repro.problems import Problem  # noqa: E402

GOLDEN = PROJECT / "tests" / "golden" / "math_grading_cases.jsonl"
GRADER = "math-paper-v3"
# How often a problem's outputs end in its 1st, 2nd... candidate answer; the rest are unique-ish.
ANSWER_WEIGHTS = (0.6, 0.2, 0.1, 0.05, 0.03)
LONGEST_OUTPUT = 4000  # characters: the few huge golden outputs test extraction limits, not n
# The official's data name for our benchmark keys (as the parity script's --check-golden uses).
OFFICIAL_BENCH = {"omni-math-train": "omni-math", "omni-math-test": "omni-math"}


def large_n_pairs(problems: int, outputs: int, seed: int = 14) -> list[dict]:
    """Pairs in the parity script's format (id, bench, row, answer, output) plus "key"."""
    rng = random.Random(seed)
    cases = [json.loads(line) for line in GOLDEN.read_text(encoding="utf-8").splitlines() if line.strip()]
    cases = [case for case in cases if len(case["output"]) <= LONGEST_OUTPUT]
    by_bench: dict[str, list[dict]] = {}
    for case in cases:
        by_bench.setdefault(case["benchmark"], []).append(case)
    chosen = rng.sample(cases, problems)
    pairs = []
    for number, case in enumerate(chosen):
        others = [other for other in by_bench[case["benchmark"]] if other is not case]
        candidates = [case["output"]] + [other["output"] for other in rng.sample(others, len(ANSWER_WEIGHTS) - 1)]
        for index in range(outputs):
            draw = rng.random()
            text, cumulative = None, 0.0
            for candidate, weight in zip(candidates, ANSWER_WEIGHTS):
                cumulative += weight
                if draw < cumulative:
                    text = candidate
                    break
            if text is None:
                text = f"So the answer is $\\boxed{{{rng.randrange(50)}}}$."
            reasoning = f"Step {index}: we compute {rng.randrange(10**6)} + {rng.randrange(10**6)} first.\n"
            pairs.append({"id": f"large/{number:02d}/{index:05d}", "bench": OFFICIAL_BENCH.get(case["benchmark"],
                                                                                           case["benchmark"]),
                          "key": case["benchmark"], "row": None, "answer": case["answer"], "output": reasoning + text})
    return pairs


def parity_pairs(data_dir: Path, total: int) -> list[dict]:
    return parity.build_pairs(data_dir, parity.DEFAULT_SEED, total)


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of these processes so far (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        stat = Path(f"/proc/{pid}/stat").read_text()
        fields = stat[stat.rfind(")") + 2:].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def ours(pairs: list[dict], workers: int, memoize: bool) -> tuple[float, float, list, int]:
    """(wall seconds, CPU seconds of the parent and its workers, verdicts, comparisons) of one
    pool grading every pair."""
    graded = [(Problem(pair["id"], 0, "", pair["answer"], {"benchmark": pair["key"]}), pair["output"])
              for pair in pairs]
    with GradingPool(GRADER, workers=workers, memoize=memoize) as pool:
        # Start the workers (sympy loads in each) on pairs of another reference, before the clock.
        pool.grade([(Problem("warm-up", 0, "", "warm-up only", {"benchmark": "math500"}), "\\boxed{1}")] * workers)
        before = pool.comparisons
        pids = [worker.process.pid for worker in pool._workers]
        cpu_before = time.process_time() + _cpu_seconds(pids)
        started = time.perf_counter()
        verdicts = pool.grade(graded)
        seconds = time.perf_counter() - started
        # A worker replaced during the run (killed on a stuck pair) is not counted: rare, and
        # the script says how many pairs were killed.
        alive = [worker.process.pid for worker in pool._workers if worker.process.pid in pids]
        cpu = time.process_time() + _cpu_seconds(alive) - cpu_before
        return seconds, cpu, verdicts, pool.comparisons - before


def official(pairs: list[dict], args) -> tuple[float, list[dict], dict]:
    """(seconds inside the official worker, its results, its own split of the time)."""
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as folder:
        pairs_file, results_file = Path(folder) / "pairs.jsonl", Path(folder) / "official.jsonl"
        parity.write_jsonl(pairs_file, pairs)
        options = Namespace(workers=args.workers, data_dir=args.data_dir, official_checkout=args.official_checkout)
        detail = parity._run_worker(args.official_python, "official", options, pairs_file, results_file)
        results = parity.read_jsonl(results_file)
    return detail["extract_s"] + detail["equal_s"], results, detail


def compare(label: str, pairs: list[dict], args) -> None:
    distinct_texts = len({(pair["answer"], pair["output"]) for pair in pairs})
    print(f"\n### {label}: {len(pairs):,} pairs ({distinct_texts:,} distinct texts), {args.workers} workers, "
          f"{args.repeats} repeat(s)\n", flush=True)
    # Alternating runs (every pair, memoized, memoized, every pair, ...: ABBA), medians kept,
    # so that a change of the machine's load does not fall on one side only.
    runs: dict[bool, list[tuple[float, float, list, int]]] = {False: [], True: []}
    for repeat in range(args.repeats):
        for memoize in ((False, True) if repeat % 2 == 0 else (True, False)):
            runs[memoize].append(ours(pairs, args.workers, memoize=memoize))
    plain_s, plain_cpu, plain, compared_plain = _median_run(runs[False])
    memo_s, memo_cpu, memo, compared_memo = _median_run(runs[True])
    differing = [(a, b) for a, b in zip(memo, plain) if a != b]
    if any(not (a.detail.startswith("timeout") or b.detail.startswith("timeout")) for a, b in differing):
        raise SystemExit(f"{label}: memoized verdicts differ from grading every pair on {len(differing)} pairs")
    rows = [("ours, every pair graded", plain_s, plain_cpu, len(pairs), plain),
            ("ours, memoized", memo_s, memo_cpu, compared_memo, memo)]
    official_s = None
    if args.official_python:
        official_s, results, detail = official(pairs, args)
        agree = sum(result["correct"] == verdict.correct for result, verdict in zip(results, memo))
        rows.insert(0, ("official evaluator", official_s, None, len(pairs), None))
        print(f"official: extraction {detail['extract_s']:.1f} s, math_equal {detail['equal_s']:.1f} s; "
              f"verdicts equal to ours on {agree:,} of {len(pairs):,} pairs "
              f"({sum(r['note'] == 'timeout' for r in results)} official timeouts)\n")
    for memoize, name in ((False, "every pair"), (True, "memoized")):
        walls = ", ".join(f"{run[0]:.1f}" for run in runs[memoize])
        cpus = ", ".join(f"{run[1]:.1f}" for run in runs[memoize])
        print(f"ours, {name}: wall seconds {walls}; CPU seconds {cpus}")
    print("\n| grader | seconds | CPU seconds | pairs/s | comparisons | correct | timeouts | speed-up vs official "
          "| vs every pair (wall) | vs every pair (CPU) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, seconds, cpu, comparisons, verdicts in rows:
        correct = sum(v.correct for v in verdicts) if verdicts else "-"
        timeouts = sum(v.detail.startswith("timeout") for v in verdicts) if verdicts else "-"
        versus_official = f"{official_s / seconds:.1f}x" if official_s else "-"
        cpu_text, versus_cpu = (f"{cpu:.1f}", f"{plain_cpu / cpu:.2f}x") if cpu else ("-", "-")
        print(f"| {name} | {seconds:.1f} | {cpu_text} | {len(pairs) / seconds:,.0f} | {comparisons:,} | {correct} | "
              f"{timeouts} | {versus_official} | {plain_s / seconds:.2f}x | {versus_cpu} |")
    if differing:
        # A comparison that runs near the 3 s limit times out in one run and not in the other
        # on a busy machine; two runs without memoization differ the same way.
        print(f"\nmemoized and every-pair verdicts identical on {len(pairs) - len(differing):,} of {len(pairs):,} "
              f"pairs; the {len(differing)} others differ by a time-limit outcome only (one run timed out)", flush=True)
    else:
        print(f"\nmemoized and every-pair verdicts identical on all {len(pairs):,} pairs", flush=True)


def _median_run(runs: list[tuple[float, float, list, int]]) -> tuple[float, float, list, int]:
    """The run of median wall time, with the median CPU time of all runs."""
    by_wall = sorted(runs, key=lambda run: run[0])
    middle = by_wall[len(by_wall) // 2]
    cpus = sorted(run[1] for run in runs)
    return middle[0], cpus[len(cpus) // 2], middle[2], middle[3]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=30)
    parser.add_argument("--outputs", type=int, default=1024, help="outputs per problem of the large-n workload")
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--official-checkout", help="folder holding the official parser.py and grader.py")
    parser.add_argument("--official-python", help="interpreter of the official evaluator's scratch venv")
    parser.add_argument("--data-dir", help="folder with math/<benchmark>/test.jsonl (for the parity corpus)")
    parser.add_argument("--parity-pairs", type=int, default=2000)
    parser.add_argument("--workloads", default="large,parity", help="which workloads to run (comma-separated)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="runs of each of ours, alternating (ABBA); the median is reported")
    args = parser.parse_args()
    if bool(args.official_checkout) != bool(args.official_python):
        parser.error("--official-checkout and --official-python go together")
    workloads = args.workloads.split(",")
    if "large" in workloads:
        compare(f"large n ({args.problems} problems x {args.outputs} outputs)",
                large_n_pairs(args.problems, args.outputs), args)
    if "parity" in workloads and args.data_dir:
        compare("parity corpus", parity_pairs(Path(args.data_dir), args.parity_pairs), args)


if __name__ == "__main__":
    main()
