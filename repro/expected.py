"""The paper's numbers: load and validate the files in `expected/`.

Four CSV files (described in `expected/README.md`) hold everything the experiments are
compared against:

* `passk_curves.csv`   - digitized pass@k curves, one row per plotted point;
* `histogram_bars.csv` - digitized accuracy histograms (Figures 5 and 13), one row per bar;
* `printed_values.csv` - numbers printed in tables, figure annotations and prose;
* `solved_sets.csv`    - Tables 4 and 5, one row per problem solved at least once.

Every loader checks its file completely and raises `ExpectedTableError` with a one-line
message naming the file and line (e.g. ``expected/passk_curves.csv line 17: pass_at_k 1.3
is outside [0, 1]``), so a bad edit is caught before any comparison uses it. Parsed files
are cached by (path, modification time, size), so repeated calls are cheap and an edited
file is re-read.

The folder is `expected/` next to the `repro` package, or the folder named by the
environment variable ``REPRO_EXPECTED_DIR``.
"""

from __future__ import annotations

import csv
import functools
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from repro.errors import ExpectedTableError, UnknownNameError

ENV_VAR = "REPRO_EXPECTED_DIR"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_EXPECTED_DIR = PROJECT_ROOT / "expected"

CURVES_FILE = "passk_curves.csv"
HISTOGRAMS_FILE = "histogram_bars.csv"
PRINTED_FILE = "printed_values.csv"
SOLVED_FILE = "solved_sets.csv"

CURVE_COLUMNS = ("figure", "panel", "family", "curve", "role", "k", "pass_at_k", "provenance", "abs_error")
HISTOGRAM_COLUMNS = ("figure", "panel", "family", "series", "role", "bin", "bin_index",
                     "n_problems_in_bin", "n_problems", "provenance")
PRINTED_COLUMNS = ("source", "row", "benchmark", "metric", "k", "value", "unit", "provenance", "abs_error", "note")
SOLVED_COLUMNS = ("source", "model", "benchmark", "problem_index", "provenance")

# Columns of printed_values.csv that may be empty: k (not every number is a pass@k) and note.
PRINTED_OPTIONAL = frozenset({"k", "note"})

ROLES = frozenset({"base", "rl", "instruct", "distill"})
UNITS = frozenset({"fraction", "count", "points", "entropy"})
# The 12 accuracy bins of Figures 5 and 13, in bin_index order, as labelled in the paper.
BIN_LABELS = ("0.0", "(0.0,0.1]", "(0.1,0.2]", "(0.2,0.3]", "(0.3,0.4]", "(0.4,0.5]",
              "(0.5,0.6]", "(0.6,0.7]", "(0.7,0.8]", "(0.8,0.9]", "(0.9,1.0)", "1.0")


def expected_dir() -> Path:
    """The folder of expected files, read from the environment at every call."""
    override = os.environ.get(ENV_VAR)
    return Path(override) if override else DEFAULT_EXPECTED_DIR


# Evaluated once at import; loaders call expected_dir() so a later override still counts.
EXPECTED_DIR = expected_dir()


# ---------------------------------------------------------------- records


@dataclass(frozen=True)
class ExpectedPoint:
    """One digitized point of a pass@k curve; `value` is pass@k as a fraction."""

    figure: str
    panel: str
    family: str
    curve: str
    role: str
    k: int
    value: float
    provenance: str
    abs_error: float

    @property
    def curve_key(self) -> tuple[str, str, str, str]:
        """(figure, panel, family, curve): what identifies a curve."""
        return (self.figure, self.panel, self.family, self.curve)


@dataclass(frozen=True)
class HistogramBar:
    """One bar of an accuracy histogram: `count` of `n_problems` problems fall in `bin`."""

    figure: str
    panel: str
    family: str
    series: str
    role: str
    bin: str
    bin_index: int
    count: int
    n_problems: int
    provenance: str

    @property
    def series_key(self) -> tuple[str, str, str, str]:
        """(figure, panel, family, series): what identifies one histogram."""
        return (self.figure, self.panel, self.family, self.series)


@dataclass(frozen=True)
class PrintedValue:
    """A number printed in the paper (or quoted from elsewhere); `unit` says how to read it.

    `k` is set only for pass@k-type values. Fractions are in 0..1 (tables' percent / 100).
    """

    source: str
    row: str
    benchmark: str
    metric: str
    k: int | None
    value: float
    unit: str
    provenance: str
    abs_error: float
    note: str


@dataclass(frozen=True)
class SolvedProblem:
    """A problem index (from 0) that a model solved at least once (Tables 4 and 5)."""

    source: str
    model: str
    benchmark: str
    problem_index: int
    provenance: str


# ---------------------------------------------------------------- reading helpers


@dataclass(frozen=True)
class _Where:
    """A file and line, to build error messages."""

    file: str
    line: int

    def error(self, what: str) -> ExpectedTableError:
        return ExpectedTableError(f"{self.file} line {self.line}: {what}")


def _display_name(path: Path) -> str:
    """Short name for messages: relative to the project root or the cwd when possible."""
    for base in (PROJECT_ROOT, Path.cwd()):
        try:
            return path.relative_to(base).as_posix()
        except ValueError:
            continue
    return str(path)


def _resolve(path: str | os.PathLike | None, file_name: str) -> Path:
    return (Path(path) if path is not None else expected_dir() / file_name).resolve()


def _stamp(path: Path) -> tuple[int, int]:
    """(mtime_ns, size) for the cache key; a missing file is reported here."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise ExpectedTableError(f"{_display_name(path)}: file not found") from None
    except OSError as error:
        raise ExpectedTableError(f"{_display_name(path)}: cannot read ({error.strerror})") from None
    if not path.is_file():
        raise ExpectedTableError(f"{_display_name(path)}: not a file")
    return stat.st_mtime_ns, stat.st_size


def _read_rows(path: Path, columns: tuple[str, ...],
               optional: frozenset[str] = frozenset()) -> Iterator[tuple[_Where, dict[str, str]]]:
    """Yield (where, row) for each data row after checking the header is exactly `columns`,
    each row has as many fields, and no required field is empty."""
    name = _display_name(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                raise _Where(name, 1).error(f"empty file, expected header {','.join(columns)}")
            if tuple(header) != columns:
                raise _Where(name, 1).error(_header_problem(header, columns))
            for fields in reader:
                where = _Where(name, reader.line_num)
                if not fields:  # a blank line carries nothing
                    continue
                if len(fields) != len(columns):
                    raise where.error(f"{len(fields)} fields, expected {len(columns)}")
                row = dict(zip(columns, fields))
                for column in columns:
                    if column not in optional and not row[column].strip():
                        raise where.error(f"empty field '{column}'")
                yield where, row
    except UnicodeDecodeError:
        raise ExpectedTableError(f"{name}: not UTF-8 text") from None
    except csv.Error as error:
        raise ExpectedTableError(f"{name}: malformed CSV ({error})") from None


def _header_problem(header: list[str], columns: tuple[str, ...]) -> str:
    missing = [column for column in columns if column not in header]
    unexpected = [column for column in header if column not in columns]
    details = []
    if missing:
        details.append("missing " + ",".join(missing))
    if unexpected:
        details.append("unexpected " + ",".join(unexpected))
    if not details:
        details.append("columns out of order or repeated")
    return f"header must be exactly {','.join(columns)} ({'; '.join(details)})"


def _number(where: _Where, column: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise where.error(f"{column} {text.strip()!r} is not a number") from None
    if not math.isfinite(value):
        raise where.error(f"{column} {text.strip()} is not a finite number")
    return value


def _integer(where: _Where, column: str, text: str, minimum: int) -> int:
    value = _number(where, column, text)
    if not value.is_integer():
        raise where.error(f"{column} {text.strip()} is not an integer")
    if value < minimum:
        raise where.error(f"{column} {text.strip()} is below {minimum}")
    return int(value)


def _fraction(where: _Where, column: str, text: str) -> float:
    value = _number(where, column, text)
    if not 0.0 <= value <= 1.0:
        raise where.error(f"{column} {text.strip()} is outside [0, 1]")
    return value


def _abs_error(where: _Where, text: str) -> float:
    value = _number(where, "abs_error", text)
    if value < 0:
        raise where.error(f"abs_error {text.strip()} is negative")
    return value


def _role(where: _Where, text: str) -> str:
    if text not in ROLES:
        raise where.error(f"unknown role {text!r} (allowed: {', '.join(sorted(ROLES))})")
    return text


# ---------------------------------------------------------------- curves


@functools.lru_cache(maxsize=32)
def _load_curves_cached(path: Path, mtime_ns: int, size: int) -> tuple[ExpectedPoint, ...]:
    points: list[ExpectedPoint] = []
    lines: list[int] = []  # line of each point, for the monotonicity message
    first_seen: dict[tuple[tuple[str, str, str, str], int], tuple[float, int]] = {}
    for where, row in _read_rows(path, CURVE_COLUMNS):
        point = ExpectedPoint(
            figure=row["figure"], panel=row["panel"], family=row["family"], curve=row["curve"],
            role=_role(where, row["role"]),
            k=_integer(where, "k", row["k"], minimum=1),
            value=_fraction(where, "pass_at_k", row["pass_at_k"]),
            provenance=row["provenance"],
            abs_error=_abs_error(where, row["abs_error"]),
        )
        key = (point.curve_key, point.k)
        if key in first_seen:
            earlier_value, earlier_line = first_seen[key]
            if earlier_value != point.value:
                raise where.error(f"pass_at_k {row['pass_at_k']} at k={point.k} disagrees with "
                                  f"{earlier_value:g} on line {earlier_line} (same curve)")
        else:
            first_seen[key] = (point.value, where.line)
        points.append(point)
        lines.append(where.line)
    _check_monotone(_display_name(path), points, lines)
    return tuple(points)


def _check_monotone(file: str, points: list[ExpectedPoint], lines: list[int]) -> None:
    """pass@k cannot decrease with k; allow 2*abs_error for the rounding of two values.

    Each point is compared with the highest value at any smaller k (not only the previous
    point), so many small allowed dips cannot add up to a real decrease.
    """
    by_curve: dict[tuple[str, str, str, str], list[tuple[int, float, float, int]]] = {}
    for point, line in zip(points, lines):
        by_curve.setdefault(point.curve_key, []).append((point.k, point.value, point.abs_error, line))
    for entries in by_curve.values():
        entries.sort()
        best_value, best_error, best_k, best_line = -math.inf, 0.0, 0, 0
        for k, value, abs_error, line in entries:
            if k > best_k and value < best_value - 2 * max(abs_error, best_error):
                raise _Where(file, line).error(
                    f"pass_at_k {value:g} at k={k} is below {best_value:g} at k={best_k} "
                    f"(line {best_line}); pass@k cannot decrease")
            if value > best_value:
                best_value, best_error, best_k, best_line = value, abs_error, k, line


def load_curves(path: str | os.PathLike | None = None) -> list[ExpectedPoint]:
    """All digitized pass@k points, in file order (default: expected/passk_curves.csv)."""
    resolved = _resolve(path, CURVES_FILE)
    return list(_load_curves_cached(resolved, *_stamp(resolved)))


def curve_keys(points: list[ExpectedPoint]) -> list[tuple[str, str, str, str]]:
    """The distinct (figure, panel, family, curve) keys, in first-appearance order."""
    return list(dict.fromkeys(point.curve_key for point in points))


def curve_points(points: list[ExpectedPoint], figure: str, panel: str, family: str,
                 curve: str) -> list[ExpectedPoint]:
    """The points of one curve sorted by k, one per k (identical repeats are dropped).

    Raises UnknownNameError if no point matches, so a misspelt name is not silently an
    empty curve, and ExpectedTableError if two points at the same k disagree.
    """
    key = (figure, panel, family, curve)
    by_k: dict[int, ExpectedPoint] = {}
    for point in points:
        if point.curve_key != key:
            continue
        kept = by_k.setdefault(point.k, point)
        if kept.value != point.value:
            raise ExpectedTableError(f"curve {' / '.join(key)}: k={point.k} has two values "
                                     f"{kept.value:g} and {point.value:g}")
    if not by_k:
        raise UnknownNameError(f"no expected curve {' / '.join(key)}")
    return [by_k[k] for k in sorted(by_k)]


# ---------------------------------------------------------------- histograms


@functools.lru_cache(maxsize=32)
def _load_histograms_cached(path: Path, mtime_ns: int, size: int) -> tuple[HistogramBar, ...]:
    bars: list[HistogramBar] = []
    # Per series: (n_problems, its line, running sum, last line, bin_index -> line).
    series: dict[tuple[str, str, str, str], tuple[int, int, int, int, dict[int, int]]] = {}
    for where, row in _read_rows(path, HISTOGRAM_COLUMNS):
        bin_index = _integer(where, "bin_index", row["bin_index"], minimum=0)
        if bin_index >= len(BIN_LABELS):
            raise where.error(f"bin_index {bin_index} is outside 0..{len(BIN_LABELS) - 1}")
        if row["bin"] != BIN_LABELS[bin_index]:
            raise where.error(f"bin {row['bin']!r} does not match bin_index {bin_index} "
                              f"({BIN_LABELS[bin_index]!r})")
        bar = HistogramBar(
            figure=row["figure"], panel=row["panel"], family=row["family"], series=row["series"],
            role=_role(where, row["role"]), bin=row["bin"], bin_index=bin_index,
            count=_integer(where, "n_problems_in_bin", row["n_problems_in_bin"], minimum=0),
            n_problems=_integer(where, "n_problems", row["n_problems"], minimum=1),
            provenance=row["provenance"],
        )
        n_problems, n_line, total, _, bins = series.get(bar.series_key, (bar.n_problems, where.line, 0, 0, {}))
        if bar.n_problems != n_problems:
            raise where.error(f"n_problems {bar.n_problems} differs from {n_problems} on line {n_line} "
                              f"(same series)")
        if bin_index in bins:
            raise where.error(f"bin_index {bin_index} repeats line {bins[bin_index]} (same series)")
        bins[bin_index] = where.line
        series[bar.series_key] = (n_problems, n_line, total + bar.count, where.line, bins)
        bars.append(bar)
    file = _display_name(path)
    for key, (n_problems, _, total, last_line, _) in series.items():
        if total != n_problems:
            raise _Where(file, last_line).error(
                f"bins of {' / '.join(key)} sum to {total}, not n_problems {n_problems}")
    return tuple(bars)


def load_histograms(path: str | os.PathLike | None = None) -> list[HistogramBar]:
    """All histogram bars, in file order (default: expected/histogram_bars.csv)."""
    resolved = _resolve(path, HISTOGRAMS_FILE)
    return list(_load_histograms_cached(resolved, *_stamp(resolved)))


def histogram_series(bars: list[HistogramBar], figure: str, panel: str, family: str,
                     series: str) -> list[HistogramBar]:
    """The bars of one histogram sorted by bin_index; UnknownNameError if there are none."""
    key = (figure, panel, family, series)
    chosen = sorted((bar for bar in bars if bar.series_key == key), key=lambda bar: bar.bin_index)
    if not chosen:
        raise UnknownNameError(f"no expected histogram {' / '.join(key)}")
    return chosen


# ---------------------------------------------------------------- printed values


@functools.lru_cache(maxsize=32)
def _load_printed_cached(path: Path, mtime_ns: int, size: int) -> tuple[PrintedValue, ...]:
    values: list[PrintedValue] = []
    first_seen: dict[tuple[str, str, str, str], int] = {}
    for where, row in _read_rows(path, PRINTED_COLUMNS, optional=PRINTED_OPTIONAL):
        unit = row["unit"]
        if unit not in UNITS:
            raise where.error(f"unknown unit {unit!r} (allowed: {', '.join(sorted(UNITS))})")
        if unit == "fraction":
            value = _fraction(where, "value", row["value"])
        elif unit == "count":
            value = float(_integer(where, "value", row["value"], minimum=0))
        else:
            value = _number(where, "value", row["value"])
        k = _integer(where, "k", row["k"], minimum=1) if row["k"].strip() else None
        printed = PrintedValue(
            source=row["source"], row=row["row"], benchmark=row["benchmark"], metric=row["metric"],
            k=k, value=value, unit=unit, provenance=row["provenance"],
            abs_error=_abs_error(where, row["abs_error"]), note=row["note"],
        )
        key = (printed.source, printed.row, printed.benchmark, printed.metric)
        if key in first_seen:
            raise where.error(f"{' / '.join(key)} repeats line {first_seen[key]}")
        first_seen[key] = where.line
        values.append(printed)
    return tuple(values)


def load_printed(path: str | os.PathLike | None = None) -> list[PrintedValue]:
    """All printed numbers, in file order (default: expected/printed_values.csv)."""
    resolved = _resolve(path, PRINTED_FILE)
    return list(_load_printed_cached(resolved, *_stamp(resolved)))


def find_printed(values: list[PrintedValue], source: str, row: str, benchmark: str,
                 metric: str) -> PrintedValue:
    """The printed value with this (source, row, benchmark, metric), e.g.
    ("Table 2", "GRPO", "MATH500", "pass@1"); UnknownNameError if there is none."""
    for value in values:
        if (value.source, value.row, value.benchmark, value.metric) == (source, row, benchmark, metric):
            return value
    raise UnknownNameError(f"no printed value {source} / {row} / {benchmark} / {metric}")


# ---------------------------------------------------------------- solved sets


@functools.lru_cache(maxsize=32)
def _load_solved_cached(path: Path, mtime_ns: int, size: int) -> tuple[SolvedProblem, ...]:
    problems: list[SolvedProblem] = []
    first_seen: dict[tuple[str, str, int], int] = {}
    benchmark_of: dict[tuple[str, str], tuple[str, int]] = {}
    for where, row in _read_rows(path, SOLVED_COLUMNS):
        problem = SolvedProblem(
            source=row["source"], model=row["model"], benchmark=row["benchmark"],
            problem_index=_integer(where, "problem_index", row["problem_index"], minimum=0),
            provenance=row["provenance"],
        )
        # load_solved_sets() keys by (source, model), so one set must have one benchmark.
        benchmark, benchmark_line = benchmark_of.setdefault((problem.source, problem.model),
                                                            (problem.benchmark, where.line))
        if problem.benchmark != benchmark:
            raise where.error(f"benchmark {problem.benchmark!r} differs from {benchmark!r} on line "
                              f"{benchmark_line} (same source and model)")
        key = (problem.source, problem.model, problem.problem_index)
        if key in first_seen:
            raise where.error(f"problem_index {problem.problem_index} repeats line {first_seen[key]}")
        first_seen[key] = where.line
        problems.append(problem)
    return tuple(problems)


def load_solved_problems(path: str | os.PathLike | None = None) -> list[SolvedProblem]:
    """One record per solved problem, in file order (default: expected/solved_sets.csv)."""
    resolved = _resolve(path, SOLVED_FILE)
    return list(_load_solved_cached(resolved, *_stamp(resolved)))


def load_solved_sets(path: str | os.PathLike | None = None) -> dict[tuple[str, str], frozenset[int]]:
    """{(source, model): indices solved at least once}, e.g. ("Table 4", "Qwen2.5-7B-Base")."""
    sets: dict[tuple[str, str], set[int]] = {}
    for problem in load_solved_problems(path):
        sets.setdefault((problem.source, problem.model), set()).add(problem.problem_index)
    return {key: frozenset(indices) for key, indices in sets.items()}
