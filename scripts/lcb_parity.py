"""Parity study: our code grader (repro.grading.code.check_program) against LiveCodeBench's own
`run_test`, and against rllm's copy of it (DeepCoder's evaluation), on the corpus of
scripts/lcb_parity_corpus.py. Prints a Markdown report (docs/code_grader_parity.md quotes it).

    .venv/bin/python scripts/lcb_parity.py \\
        --lcb-checkout SCRATCH/LiveCodeBench --lcb-python SCRATCH/venv/bin/python \\
        [--rllm-checkout SCRATCH/rllm --rllm-python SCRATCH/venv/bin/python] \\
        [--workers 2] [--only ID_PREFIX] [--write-golden tests/golden/lcb_parity.json] [--report FILE]

SCRATCH is a scratch folder outside the project: a checkout of LiveCodeBench at commit 15808c7,
one of rllm at aba20b14, and a virtual environment with what their harnesses import (numpy,
tqdm, pandas; docs/code_grader_parity.md gives the exact steps). Nothing of their code is
copied or imported here: this file runs itself under the scratch interpreter, in a
subprocess, as a driver (`--driver lcb|rllm`) that imports their harness from the checkout.

- LiveCodeBench: each pair goes through `evaluate_generations_by_problem` of
  lcb_runner/evaluation/compute_code_generation_metrics.py (check_correctness: a Manager, a
  forked test process running `run_test`, the global timeout), and counts as passed as LCB's
  pass@k counts it: `np.all(np.array(results) > 0)` (pass_k_utils.compute_metrics_from_results).
- rllm: `run_test` of rllm/rewards/code_utils/livecodebench.py, called as rllm's
  `lcb_check_correctness_v2` (rllm/rewards/code_reward.py) calls it -- a Manager, a forked
  process, the same global timeout, passed iff `all(x == True for x in result)`. That function
  is not imported, because its module imports rllm's tool clients (together, e2b, firejail);
  the driver repeats its dozen lines. numpy and pandas are imported first: rllm's reward runs
  inside verl's process, which has both loaded.
- Ours: check_program(program, TestSuite.livecodebench(tests, func_name, timeout), rules=...).

`--write-golden` stores the corpus with the originals' verdicts (tests/test_lcb_parity.py
checks the package against them, where the originals cannot be fetched). The top level imports
the standard library only, because the driver runs under the scratch interpreter.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LCB_REPO, LCB_COMMIT = "LiveCodeBench/LiveCodeBench", "15808c76fbd459a73ce6b60d111e56860ab45f6d"
RLLM_REPO, RLLM_COMMIT = "agentica-project/rllm", "aba20b148f1bfd28e7dcc4b1b3a7dd3b2ec54f7f"
GOLDEN_FORMAT = "repro-lcb-parity-1"


# ------------------------------------------------------------------ drivers (scratch interpreter)


def _sample(pair: dict) -> dict:
    """LCB's evaluation sample (lcb_runner/benchmarks/code_generation.py get_evaluation_sample)."""
    return {"input_output": json.dumps({"inputs": [t["input"] for t in pair["tests"]],
                                        "outputs": [t["output"] for t in pair["tests"]],
                                        "fn_name": pair["func_name"]})}


def _lcb_verdict(pair: dict) -> dict:
    import numpy as np
    from lcb_runner.evaluation.compute_code_generation_metrics import evaluate_generations_by_problem

    results, metadata = evaluate_generations_by_problem(([pair["program"]], _sample(pair), False, pair["timeout"]))
    passed = bool(np.all(np.array(results[0]) > 0))
    return {"passed": passed, "results": repr(results[0])[:200], "detail": str(metadata[0].get("error_message", ""))[:200]}


def _rllm_verdict(pair: dict) -> dict:
    import multiprocessing

    from rllm.rewards.code_utils.livecodebench import run_test

    sample = {"input_output": json.dumps({"inputs": [t["input"] for t in pair["tests"]],
                                          "outputs": [t["output"] for t in pair["tests"]],
                                          **({"fn_name": pair["func_name"]} if pair["func_name"] else {})})}
    manager = multiprocessing.Manager()
    result, metadata = manager.list(), manager.list()

    def run(sample, program, result, metadata, timeout):
        res, meta = run_test(sample, test=program, debug=False, timeout=timeout)
        result.append(res)
        metadata.append(meta)

    process = multiprocessing.Process(target=run, args=(sample, pair["program"], result, metadata, pair["timeout"]))
    process.start()
    process.join(timeout=(pair["timeout"] + 1) * len(pair["tests"]) + 5)
    if process.is_alive():
        process.kill()
    outcome = list(result[0]) if result else [-1] * len(pair["tests"])
    detail = str(metadata[0].get("error_message", "")) if metadata else "global timeout or crash"
    try:
        passed = all(x == True for x in outcome)  # noqa: E712 - rllm's own test
    except ValueError as error:
        # A numpy array among the results (LCB appends the comparison before testing it):
        # rllm's own test raises, and its reward is not given -- a failure.
        passed, detail = False, f"rllm's verdict raises {error!r}"
    manager.shutdown()
    return {"passed": bool(passed), "results": repr(outcome)[:200], "detail": detail[:200]}


def driver(args) -> None:
    sys.path.insert(0, str(Path(args.checkout).resolve()))
    os.chdir(args.checkout)
    if args.driver == "rllm":
        import importlib

        for name in ("numpy", "pandas"):  # loaded in verl's process, where rllm's reward runs
            importlib.import_module(name)
    verdict = _lcb_verdict if args.driver == "lcb" else _rllm_verdict
    pairs = json.loads(Path(args.pairs).read_text())
    out = {}
    for pair in pairs:
        try:
            out[pair["id"]] = verdict(pair)
        except Exception as error:  # noqa: BLE001 - the harness itself failed: recorded, not hidden
            out[pair["id"]] = {"passed": None, "results": "", "detail": f"driver error: {error!r}"[:200]}
        # Results go to a file: the harness prints ("timeout occured") and programs print too.
        Path(args.results).write_text(json.dumps(out))


def run_original(kind: str, checkout: Path, python: Path, pairs: list[dict], workers: int) -> dict:
    """The original's verdict on every pair, `workers` driver processes at a time."""
    chunks = [chunk for chunk in (pairs[i::workers] for i in range(workers)) if chunk]
    out: dict = {}
    with tempfile.TemporaryDirectory() as folder:
        procs = []
        for number, chunk in enumerate(chunks):
            pairs_file, results_file = Path(folder, f"pairs{number}.json"), Path(folder, f"results{number}.json")
            pairs_file.write_text(json.dumps(chunk))
            procs.append((subprocess.Popen(
                [str(python), str(Path(__file__).resolve()), "--driver", kind, "--checkout", str(checkout),
                 "--pairs", str(pairs_file), "--results", str(results_file)],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE), results_file))
        for proc, results_file in procs:
            _, stderr = proc.communicate()
            if proc.returncode != 0:
                sys.exit(f"the {kind} driver failed ({proc.returncode}): {stderr.decode()[-2000:]}")
            out.update(json.loads(results_file.read_text()))
    return out


# ------------------------------------------------------------------ ours


def run_ours(pairs: list[dict], rules: str, workers: int) -> dict:
    from repro.code_tests import TestSuite
    from repro.grading.code import check_program

    def one(pair):
        suite = TestSuite.livecodebench(pair["tests"], pair["func_name"], timeout_s=pair["timeout"])
        verdict = check_program(pair["program"], suite, rules=rules)
        return pair["id"], {"passed": verdict.correct, "status": verdict.status, "detail": verdict.detail[:200]}

    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        return dict(pool.map(one, pairs))


# ------------------------------------------------------------------ report


def _versions(python: Path) -> str:
    code = ("import sys, importlib.metadata as m\nv = []\nfor n in ('numpy', 'pandas', 'tqdm'):\n"
            "    try: v.append(n + ' ' + m.version(n))\n    except m.PackageNotFoundError: pass\n"
            "print('Python ' + sys.version.split()[0] + ', ' + ', '.join(v))")
    return subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def report(pairs: list[dict], originals: dict, ours: dict, header: list[str]) -> str:
    lines = header + [""]
    for kind in originals:
        rows, differences = collections.OrderedDict(), []
        for pair in pairs:
            theirs, mine = originals[kind][pair["id"]], ours[kind][pair["id"]]
            row = rows.setdefault(pair["group"], [0, 0, 0, 0])
            row[0] += 1
            row[1] += bool(theirs["passed"])
            row[2] += bool(mine["passed"])
            if theirs["passed"] == mine["passed"]:
                row[3] += 1
            else:
                differences.append((pair, theirs, mine))
        total = [sum(row[i] for row in rows.values()) for i in range(4)]
        name = {"lcb": "LiveCodeBench `run_test`", "rllm": "rllm `run_test` (DeepCoder)"}[kind]
        lines += [f"### Against {name} (rules=\"{kind}\")", "",
                  f"Agreement on pass/fail: **{total[3]} of {total[0]}** pairs "
                  f"({100 * total[3] / total[0]:.1f}%).", "",
                  "| group | pairs | original passes | ours passes | agree |", "|---|---|---|---|---|"]
        lines += [f"| {group} | {r[0]} | {r[1]} | {r[2]} | {r[3]} |" for group, r in rows.items()]
        lines += [f"| **all** | {total[0]} | {total[1]} | {total[2]} | {total[3]} |", ""]
        if differences:
            lines += ["Pairs that differ:", ""]
            lines += [f"- `{pair['id']}` ({pair['note']}): original {'passes' if theirs['passed'] else 'fails'} "
                      f"({theirs['detail'] or theirs['results']}), ours {mine['status']} ({mine['detail']})"
                      for pair, theirs, mine in differences]
            lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lcb-checkout", type=Path, help="LiveCodeBench at commit 15808c7")
    parser.add_argument("--lcb-python", type=Path, help="an interpreter with numpy and tqdm")
    parser.add_argument("--rllm-checkout", type=Path, help="rllm at commit aba20b14 (optional)")
    parser.add_argument("--rllm-python", type=Path, help="an interpreter with numpy and pandas")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--only", default="", help="only the pairs whose id starts with this")
    parser.add_argument("--write-golden", type=Path, help="store the corpus and the originals' verdicts here")
    parser.add_argument("--report", type=Path, help="write the Markdown report here (default: print it)")
    parser.add_argument("--driver", choices=("lcb", "rllm"), help=argparse.SUPPRESS)
    parser.add_argument("--checkout", help=argparse.SUPPRESS)
    parser.add_argument("--pairs", help=argparse.SUPPRESS)
    parser.add_argument("--results", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.driver:
        driver(args)
        return
    if not (args.lcb_checkout and args.lcb_python):
        parser.error("--lcb-checkout and --lcb-python are required")
    here = Path(__file__).resolve().parent
    sys.path[:0] = [str(here), str(here.parent)]  # the corpus, and this checkout's package
    from lcb_parity_corpus import build_corpus

    pairs = [pair for pair in build_corpus() if pair["id"].startswith(args.only)]
    targets = {"lcb": (args.lcb_checkout, args.lcb_python)}
    if args.rllm_checkout and args.rllm_python:
        targets["rllm"] = (args.rllm_checkout, args.rllm_python)
    started = time.time()
    originals, ours = {}, {}
    for kind, (checkout, python) in targets.items():
        originals[kind] = run_original(kind, checkout, python, pairs, args.workers)
        ours[kind] = run_ours(pairs, kind, args.workers)
    broken = [f"{kind}:{pid}" for kind in originals for pid, v in originals[kind].items() if v["passed"] is None]
    if broken:
        sys.exit(f"the original harness could not judge: {broken}")
    from repro.sandbox.detect import detect_protections

    header = [f"Corpus: {len(pairs)} pairs (scripts/lcb_parity_corpus.py); "
              f"{time.time() - started:.0f} s on {os.cpu_count()} CPUs, {args.workers} workers.",
              f"- LiveCodeBench {LCB_COMMIT[:7]} under {_versions(args.lcb_python)}."]
    if "rllm" in targets:
        header.append(f"- rllm {RLLM_COMMIT[:8]} under {_versions(args.rllm_python)}.")
    protections = detect_protections()
    header.append(f"- Ours: sandbox interpreter {protections.interpreter} ({protections.interpreter_version}), "
                  f"{_versions(Path(protections.interpreter))}; grader process Python {platform.python_version()}.")
    text = report(pairs, originals, ours, header)
    if args.report:
        args.report.write_text(text + "\n")
    else:
        print(text)
    if args.write_golden:
        golden = {"format": GOLDEN_FORMAT,
                  "how": ("verdicts of the original harnesses as measured by scripts/lcb_parity.py: "
                          f"{LCB_REPO} {LCB_COMMIT} ({_versions(args.lcb_python)})"
                          + (f"; {RLLM_REPO} {RLLM_COMMIT} ({_versions(args.rllm_python)})" if "rllm" in targets else "")),
                  "pairs": [{**pair, "original": {kind: originals[kind][pair["id"]]["passed"] for kind in originals}}
                            for pair in pairs]}
        args.write_golden.write_text(json.dumps(golden, indent=1) + "\n")


if __name__ == "__main__":
    main()
