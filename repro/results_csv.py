"""Per-problem results as CSV: `problem_id,n,correct`, one row per problem, in benchmark
order (a row's position is the problem's index, as in the paper's Tables 4 and 5).

`repro run` writes these files; `repro compare --results DIR` reads files named
`<arm>__<benchmark>.csv` from a run made anywhere, so a reviewer can check someone else's
samples without regenerating them.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from repro.errors import InputFileError
from repro.results import RunResult
from repro.files import atomic_write

COLUMNS = ("problem_id", "n", "correct")


def file_name(arm: str, benchmark: str) -> str:
    return f"{arm}__{benchmark}.csv"


def write_results_csv(path: Path, result: RunResult) -> None:
    lines = [",".join(COLUMNS)]
    lines += [f"{pid},{int(ni)},{int(ci)}" for pid, ni, ci in zip(result.problem_ids, result.n, result.c)]
    atomic_write(Path(path), ("\n".join(lines) + "\n").encode())


def read_results_csv(path: Path, arm: str, benchmark: str, backend: str = "external") -> RunResult:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputFileError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise InputFileError(f"{path}: not a UTF-8 text file") from None
    rows = list(csv.reader(text.splitlines()))
    if not rows or tuple(cell.strip() for cell in rows[0]) != COLUMNS:
        raise InputFileError(f"{path} line 1: header must be exactly {','.join(COLUMNS)}")
    ids, n, c = [], [], []
    seen: set[str] = set()
    for line_number, row in enumerate(rows[1:], start=2):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != 3:
            raise InputFileError(f"{path} line {line_number}: expected 3 fields, found {len(row)}")
        problem_id = row[0].strip()
        if not problem_id:
            raise InputFileError(f"{path} line {line_number}: empty problem_id")
        if problem_id in seen:
            raise InputFileError(f"{path} line {line_number}: problem_id {problem_id!r} appears twice")
        seen.add(problem_id)
        try:
            samples, correct = int(row[1]), int(row[2])
        except ValueError:
            raise InputFileError(f"{path} line {line_number}: n and correct must be integers") from None
        if samples < 1 or not 0 <= correct <= samples:
            raise InputFileError(f"{path} line {line_number}: need n >= 1 and 0 <= correct <= n (got {samples}, {correct})")
        ids.append(problem_id)
        n.append(samples)
        c.append(correct)
    if not ids:
        raise InputFileError(f"{path}: no problems")
    return RunResult(arm, benchmark, tuple(ids), tuple(range(len(ids))), np.array(n, dtype=np.int64),
                     np.array(c, dtype=np.int64), backend=backend)
