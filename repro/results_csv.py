"""Per-problem results as CSV: `problem_id,n,correct`, one row per problem, in benchmark
order (a row's position is the problem's index, as in the paper's Tables 4 and 5).

`repro run` writes these files; `repro compare --results DIR` reads files named
`<arm>__<benchmark>.csv` from a run made anywhere, so a reviewer can check someone else's
samples without regenerating them.
"""

from __future__ import annotations

import csv
import re
import stat
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


# Limits of an external results file: nothing the paper ran comes near them (the largest
# benchmark has 2,821 problems, the largest n is 2,048), and they keep a hostile file from
# costing minutes or gigabytes before it is refused.
MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_N = 1_000_000
_INTEGER = re.compile(r"[0-9]{1,7}")


def _read_text(path: Path) -> str:
    """The text of a regular, UTF-8 file no larger than MAX_FILE_BYTES (a FIFO, a device or a
    folder is refused before it is opened, so nothing can hang or stream forever)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InputFileError(f"{path}: no such file") from None
    except OSError as error:
        raise InputFileError(f"{path}: cannot read ({error.strerror or error})") from None
    if not stat.S_ISREG(info.st_mode):
        raise InputFileError(f"{path}: not a regular file")
    if info.st_size > MAX_FILE_BYTES:
        raise InputFileError(f"{path}: {info.st_size:,} bytes; a results file is at most {MAX_FILE_BYTES:,}")
    with path.open("rb") as handle:
        data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise InputFileError(f"{path}: more than {MAX_FILE_BYTES:,} bytes; a results file is at most that")
    if b"\0" in data:
        line = data[:data.index(b"\0")].count(b"\n") + 1
        raise InputFileError(f"{path} line {line}: a NUL byte (not a text file)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputFileError(f"{path}: not a UTF-8 text file") from None


def _count(path: Path, line_number: int, name: str, cell: str) -> int:
    text = cell.strip()
    if not _INTEGER.fullmatch(text):
        raise InputFileError(f"{path} line {line_number}: n and correct must be integers from 0 to {MAX_N:,} "
                             f"({name} is {cell[:20]!r})")
    value = int(text)
    if value > MAX_N:
        raise InputFileError(f"{path} line {line_number}: {name} = {value:,} is more than {MAX_N:,}")
    return value


def read_results_csv(path: Path, arm: str, benchmark: str, backend: str = "external",
                     same_n: bool = True) -> RunResult:
    """Per-problem results from a file, read as untrusted input: a regular UTF-8 file of bounded
    size, exactly the header, one row per problem (its id once), integers in range, and one n
    for every problem (a smaller n on one row would lower "the largest k" of every claim) unless
    not `same_n` (an adaptive tier's results: each problem has the samples it drew).
    Any violation is one line naming the file and the row."""
    path = Path(path)
    text = _read_text(path)
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
        samples, correct = _count(path, line_number, "n", row[1]), _count(path, line_number, "correct", row[2])
        if samples < 1 or not 0 <= correct <= samples:
            raise InputFileError(f"{path} line {line_number}: need n >= 1 and 0 <= correct <= n (got {samples}, {correct})")
        if same_n and n and samples != n[0]:
            raise InputFileError(f"{path} line {line_number}: problem {problem_id!r} has n = {samples}, the rows "
                                 f"before it n = {n[0]}; every problem of a file must have the same n")
        ids.append(problem_id)
        n.append(samples)
        c.append(correct)
    if not ids:
        raise InputFileError(f"{path}: no problems")
    return RunResult(arm, benchmark, tuple(ids), tuple(range(len(ids))), np.array(n, dtype=np.int64),
                     np.array(c, dtype=np.int64), backend=backend)
