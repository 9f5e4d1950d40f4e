"""Parity study: our code grader (repro.grading.code, evalplus "function" mode) against
evalplus 0.3.1's own evaluation, on a corpus of HumanEval+/MBPP+-format problems and programs.

    .venv/bin/python scripts/evalplus_parity.py --evalplus-python SCRATCH/venv/bin/python \\
        [--corpus tests/golden/evalplus_parity] [--data-dir DATA] [--json RESULTS.json] [--record]

SCRATCH/venv is a scratch virtual environment outside the project holding evalplus 0.3.1 and
what its evaluation path imports (docs/code_grader_parity.md, "## evalplus", gives the exact
steps). Nothing of evalplus is copied here: its code is imported at run time, in a subprocess
under the scratch interpreter (`--worker`), which runs evalplus' own pipeline on the corpus:

- its loaders read the corpus' release files (`HUMANEVAL_OVERRIDE_PATH`, `MBPP_OVERRIDE_PATH`:
  `get_human_eval_plus`, `get_mbpp_plus`, so MBPP+ inputs go through its
  `mbpp_deserialize_inputs`);
- its `get_groundtruth` runs the canonical solutions (with the "not None" rule for MBPP+),
  caching into a temporary folder (XDG_CACHE_HOME);
- its `check_correctness` runs each program, base tests then plus tests, with `fast_check` as
  `evalplus.evaluate` sets it by default (`not test_details`); both go through
  `untrusted_check`, its per-test limits max(1 s, 4 x ground-truth time) and its comparison.
  A program is correct for HumanEval+/MBPP+ when both statuses are "pass" (evaluate's
  "base + extra tests" count).

Our side runs the project's own path: `repro.benchmarks.code_files.evalplus_problems` loads the
same release files (our deserializer, ground truth computed in the sandbox), and
`repro.grading.code.check_program` grades each program in the sandbox.

With `--data-dir`, programs made from real MBPP+ release rows of the data folder (the canonical
solution, and the same with its result changed: tuple/list, float near-misses, int/float,
bool/int, reversed, off by one, None) are graded too, in a temporary corpus.

`--record` writes evalplus' statuses into the corpus' programs.jsonl (`evalplus` field), which
tests/test_evalplus_parity.py then checks our grader against without evalplus installed.

This file's top level imports the standard library only, because the worker mode runs under
the scratch interpreter.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = PROJECT_ROOT / "tests" / "golden" / "evalplus_parity"
FILES = {"humaneval": "HumanEvalPlus-parity.jsonl", "mbpp": "MbppPlus-parity.jsonl"}
PROGRAMS = "programs.jsonl"


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def dataset_of(task_id: str) -> str:
    return "humaneval" if task_id.startswith("HumanEval/") else "mbpp"


# =============================================================================================
# Worker: evalplus' own evaluation (runs under the scratch interpreter)
# =============================================================================================


def worker(corpus: Path) -> None:
    """One JSON line per program: evalplus' base and plus statuses."""
    # Read at import time by evalplus.data: point its loaders at the corpus.
    os.environ["HUMANEVAL_OVERRIDE_PATH"] = str(corpus / FILES["humaneval"])
    os.environ["MBPP_OVERRIDE_PATH"] = str(corpus / FILES["mbpp"])
    # evalplus.data imports `datasets` for its EvalPerf loader only; an empty stand-in spares
    # the scratch environment that stack (the evaluation path never calls it).
    stand_in = types.ModuleType("datasets")
    stand_in.load_dataset = None
    sys.modules["datasets"] = stand_in
    from evalplus.data import get_human_eval_plus, get_human_eval_plus_hash, get_mbpp_plus, get_mbpp_plus_hash
    from evalplus.eval._special_oracle import MBPP_OUTPUT_NOT_NONE_TASKS
    from evalplus.evaluate import check_correctness, get_groundtruth

    problems = {"humaneval": get_human_eval_plus(), "mbpp": get_mbpp_plus()}  # an empty file: no tasks
    expected = {"humaneval": get_groundtruth(problems["humaneval"], get_human_eval_plus_hash(), []),
                "mbpp": get_groundtruth(problems["mbpp"], get_mbpp_plus_hash(), MBPP_OUTPUT_NOT_NONE_TASKS)}
    for number, program in enumerate(read_jsonl(corpus / PROGRAMS)):
        dataset = dataset_of(program["task_id"])
        started = time.monotonic()
        result = check_correctness(dataset, number, problems[dataset][program["task_id"]], program["solution"],
                                   expected[dataset][program["task_id"]], base_only=False, fast_check=True)
        print(json.dumps({"index": number, "base": result["base"][0], "plus": result["plus"][0],
                          "seconds": round(time.monotonic() - started, 3)}), flush=True)


def run_evalplus(python: str, corpus: Path) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="evalplus-parity-") as cache:
        env = {**os.environ, "XDG_CACHE_HOME": cache}
        completed = subprocess.run([python, __file__, "--worker", str(corpus)], capture_output=True, text=True,
                                   env=env, cwd=cache)
    if completed.returncode != 0:
        sys.exit(f"the evalplus worker failed (exit {completed.returncode}):\n{completed.stderr[-3000:]}")
    rows = [json.loads(line) for line in completed.stdout.splitlines() if line.startswith("{")]
    return sorted(rows, key=lambda row: row["index"])


# =============================================================================================
# Our side: the project's loader and grader
# =============================================================================================


def run_ours(corpus: Path) -> list[dict]:
    sys.path.insert(0, str(PROJECT_ROOT))
    with tempfile.TemporaryDirectory(prefix="repro-parity-") as work:
        os.environ["REPRO_CACHE_DIR"] = str(Path(work) / "cache")  # our ground-truth cache: fresh
        from repro.benchmarks.code_files import evalplus_problems
        from repro.code_tests import read_suite
        from repro.grading.code import check_program

        suites = {}
        for dataset, name in FILES.items():
            path = corpus / name
            if not path.read_text(encoding="utf-8").strip():
                continue
            checksum = hashlib.sha256(path.read_bytes()).hexdigest()
            for problem in evalplus_problems(path, dataset, dataset, checksum, Path(work) / dataset):
                suites[problem.problem_id] = read_suite(problem.meta["suite_path"], problem.meta["suite_sha256"])
        rows = []
        for number, program in enumerate(read_jsonl(corpus / PROGRAMS)):
            started = time.monotonic()
            verdict = check_program(program["solution"], suites[program["task_id"]])
            rows.append({"index": number, "status": verdict.status, "detail": verdict.detail,
                         "seconds": round(time.monotonic() - started, 3)})
    return rows


# =============================================================================================
# Real rows (optional): MBPP+ release rows from the data folder, programs made from them
# =============================================================================================

REAL_MBPP_ROWS = Path("formats") / "mbppplus" / "MbppPlus-v0.1.0.sample5.jsonl"
# Each program: the canonical solution, with its result changed on the way out (None: as is).
RESULT_CHANGES = {
    "canonical": None,
    "tuple-as-list": "list(r) if isinstance(r, tuple) else r",
    "list-as-tuple": "tuple(r) if isinstance(r, list) else r",
    "float-plus-1e-7": "r + 1e-7 if isinstance(r, float) else r",
    "float-plus-1e-3": "r + 1e-3 if isinstance(r, float) else r",
    "int-as-float": "float(r) if type(r) is int else r",
    "bool-as-int": "int(r) if isinstance(r, bool) else r",
    "reversed": "r[::-1] if isinstance(r, (list, tuple, str)) else r",
    "int-plus-1": "r + 1 if type(r) is int else r",
    "none": "None",
}


def real_rows_corpus(data_dir: Path, folder: Path) -> None:
    """Write a corpus from real MBPP+ release rows into a temporary folder (never committed:
    the data folder's files stay there)."""
    source = data_dir / REAL_MBPP_ROWS
    folder.mkdir(parents=True, exist_ok=True)
    (folder / FILES["mbpp"]).write_bytes(source.read_bytes())
    (folder / FILES["humaneval"]).write_text("", encoding="utf-8")
    with (folder / PROGRAMS).open("w", encoding="utf-8") as handle:
        for row in read_jsonl(source):
            for name, change in RESULT_CHANGES.items():
                solution = row["canonical_solution"]
                if change is not None:
                    solution += (f"\n\n_reference = {row['entry_point']}\n\n\ndef {row['entry_point']}(*args):\n"
                                 f"    r = _reference(*args)\n    return {change}\n")
                handle.write(json.dumps({"task_id": row["task_id"], "name": name, "category": "real-rows",
                                         "solution": solution}) + "\n")


# =============================================================================================
# Report
# =============================================================================================


def evalplus_correct(row: dict) -> bool:
    return row["base"] == row["plus"] == "pass"


# Why a program may be graded differently, by the corpus' `known_difference` field (or its
# `needs` field, for a sandbox interpreter without that module). docs/code_grader_parity.md
# explains each and why it stays.
REASONS = {
    "equality-claimed": "the result is an object whose == claims equality; evalplus compares it in the "
                        "program's process, we compare plain data outside it (the expected outputs never "
                        "enter the sandbox)",
    "numpy": "the sandbox interpreter has no numpy; evalplus' own process always has it (its dependency)",
}


def explanation(program: dict, ours: dict) -> str | None:
    """The known cause of a difference on this program, or None if none applies."""
    if program.get("known_difference"):
        return REASONS[program["known_difference"]]
    if program.get("needs") == "numpy" and "No module named 'numpy'" in ours["detail"]:
        return REASONS["numpy"]
    return None


def report(programs: list[dict], theirs: list[dict], ours: list[dict], seconds: dict[str, float]) -> str:
    agree = [evalplus_correct(t) == (o["status"] == "pass") for t, o in zip(theirs, ours, strict=True)]
    by_category = collections.defaultdict(lambda: [0, 0, 0])  # programs, evalplus correct, agreements
    for program, t, same in zip(programs, theirs, agree, strict=True):
        entry = by_category[program["category"]]
        entry[0] += 1
        entry[1] += evalplus_correct(t)
        entry[2] += same
    statuses = collections.Counter((f"{t['base']}/{t['plus']}", o["status"]) for t, o in zip(theirs, ours,
                                                                                               strict=True))
    lines = [f"- programs: {len(programs)} on {len({p['task_id'] for p in programs})} problems "
             f"({sum(evalplus_correct(t) for t in theirs)} correct for evalplus)",
             f"- agreement on the verdict (correct or not): **{sum(agree)} / {len(agree)} "
             f"({100 * sum(agree) / len(agree):.2f}%)**",
             f"- time: evalplus {seconds['evalplus']:.0f} s, ours {seconds['ours']:.0f} s (one process each, "
             "programs one after another)", "",
             "| category | programs | correct (evalplus) | agree |", "|---|---|---|---|"]
    for category, (count, correct, same) in sorted(by_category.items()):
        lines.append(f"| {category} | {count} | {correct} | {same} |")
    lines += ["", "| evalplus base/plus | ours | programs |", "|---|---|---|"]
    for (their_status, our_status), count in sorted(statuses.items()):
        lines.append(f"| {their_status} | {our_status} | {count} |")
    differences = [(p, t, o) for p, t, o, same in zip(programs, theirs, ours, agree, strict=True) if not same]
    explained = [(p, t, o) for p, t, o in differences if explanation(p, o)]
    unexplained = [(p, t, o) for p, t, o in differences if not explanation(p, o)]
    lines[1] += f"; differences: {len(explained)} explained, {len(unexplained)} unexplained"
    for title, rows in (("Explained differences", explained), ("Unexplained differences", unexplained)):
        if rows:
            lines += ["", f"{title}:", ""]
        for program, t, o in rows:
            why = explanation(program, o)
            lines.append(f"- {program['task_id']} `{program['name']}`: evalplus {t['base']}/{t['plus']}, "
                         f"ours {o['status']} ({o['detail'][:120]})" + (f"; {why}" if why else ""))
    return "\n".join(lines) + "\n"


def record(corpus: Path, programs: list[dict], theirs: list[dict]) -> None:
    """Write evalplus' statuses into programs.jsonl (the golden verdicts of the pytest)."""
    with (corpus / PROGRAMS).open("w", encoding="utf-8") as handle:
        for program, t in zip(programs, theirs, strict=True):
            handle.write(json.dumps({**program, "evalplus": {"base": t["base"], "plus": t["plus"]}},
                                    ensure_ascii=False) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--evalplus-python", help="the scratch interpreter that has evalplus 0.3.1 installed")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS,
                        help="folder with HumanEvalPlus-parity.jsonl, MbppPlus-parity.jsonl, programs.jsonl")
    parser.add_argument("--data-dir", type=Path,
                        help="also grade programs made from the real MBPP+ rows of this data folder "
                             f"({REAL_MBPP_ROWS}), in a temporary corpus")
    parser.add_argument("--json", type=Path, help="also write every program's two verdicts here")
    parser.add_argument("--record", action="store_true",
                        help="write evalplus' statuses into the corpus' programs.jsonl (golden verdicts)")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return
    if not args.evalplus_python or not Path(args.evalplus_python).is_file():
        parser.error("--evalplus-python must name the scratch interpreter that has evalplus 0.3.1 "
                     "(docs/code_grader_parity.md, \"Rerun\")")
    if not all((args.corpus / name).is_file() for name in (*FILES.values(), PROGRAMS)):
        parser.error(f"--corpus {args.corpus} lacks {', '.join(FILES.values())} or {PROGRAMS}")
    if args.data_dir and not (args.data_dir / REAL_MBPP_ROWS).is_file():
        parser.error(f"--data-dir: {args.data_dir / REAL_MBPP_ROWS} not found")
    programs, theirs, ours, text = study(args.evalplus_python, args.corpus.resolve())
    print(text, end="")
    if args.record:
        record(args.corpus, programs, theirs)
    rows = [{**p, "evalplus": t, "ours": o} for p, t, o in zip(programs, theirs, ours, strict=True)]
    unexplained = [row for row in rows if is_unexplained(row)]
    if args.data_dir:
        with tempfile.TemporaryDirectory(prefix="evalplus-parity-real-") as folder:
            real_rows_corpus(args.data_dir, Path(folder))
            real = study(args.evalplus_python, Path(folder))
        print(f"\nReal MBPP+ rows ({REAL_MBPP_ROWS.name}), programs made from their canonical solutions:\n")
        print(real[3], end="")
        real_rows = [{**p, "evalplus": t, "ours": o} for p, t, o in zip(*real[:3], strict=True)]
        unexplained += [row for row in real_rows if is_unexplained(row)]
        rows += [{**row, "solution": "(from the data folder)"} for row in real_rows]
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    sys.exit(1 if unexplained else 0)


def study(python: str, corpus: Path) -> tuple[list[dict], list[dict], list[dict], str]:
    """Both sides on one corpus: (programs, evalplus' rows, our rows, the report)."""
    programs = [{key: value for key, value in program.items() if key != "evalplus"}
                for program in read_jsonl(corpus / PROGRAMS)]
    started = time.monotonic()
    theirs = run_evalplus(python, corpus)
    seconds = {"evalplus": time.monotonic() - started}
    if len(theirs) != len(programs):
        sys.exit(f"the evalplus worker graded {len(theirs)} of {len(programs)} programs")
    started = time.monotonic()
    ours = run_ours(corpus)
    seconds["ours"] = time.monotonic() - started
    return programs, theirs, ours, report(programs, theirs, ours, seconds)


def is_unexplained(row: dict) -> bool:
    return evalplus_correct(row["evalplus"]) != (row["ours"]["status"] == "pass") and not explanation(row, row["ours"])


if __name__ == "__main__":
    main()
