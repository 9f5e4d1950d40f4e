"""Progress of long stages, on stderr so that stdout stays clean for tables.

On a terminal: a bar (rich). Without one (Slurm, `docker run` without -t, CI logs): a line
when the stage starts, one every REPRO_PROGRESS_INTERVAL seconds (default 30) with done/total,
rate and time left, and one when it ends; a bar's redraws would only fill the log file.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import TextIO

from repro.errors import ReproError

INTERVAL_ENV = "REPRO_PROGRESS_INTERVAL"
DEFAULT_INTERVAL_S = 30.0


@contextmanager
def no_progress(label: str, total: int) -> Iterator[Callable[[int], None]]:
    """A progress factory that shows nothing."""
    yield lambda done: None


@contextmanager
def terminal_progress(label: str, total: int) -> Iterator[Callable[[int], None]]:
    """A rich progress bar when stderr is a terminal; start, periodic and end lines otherwise (logs, CI)."""
    if not sys.stderr.isatty():
        with line_progress(label, total) as update:
            yield update
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda done: bar.advance(task, done)


@contextmanager
def byte_progress(label: str, total: int | None, initial: int = 0) -> Iterator[Callable[[int], None]]:
    """terminal_progress for a download: counts are bytes (sizes and speeds in B, kB, MB, GB);
    `initial` bytes were there before (a resumed transfer). `total` None: not known."""
    if not sys.stderr.isatty():
        with line_progress(label, total or 0, unit="bytes", initial=initial) as update:
            yield update
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, \
        TransferSpeedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                  TimeRemainingColumn(), transient=True) as bar:
        task = bar.add_task(label, total=total, completed=initial)
        yield lambda done: bar.advance(task, done)


def interval_s(environ=None) -> float:
    """Seconds between two progress lines (REPRO_PROGRESS_INTERVAL), or one line saying what is wrong."""
    value = (os.environ if environ is None else environ).get(INTERVAL_ENV, "").strip()
    if not value:
        return DEFAULT_INTERVAL_S
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds > 0 or seconds == float("inf"):
        raise ReproError(f"{INTERVAL_ENV}={value!r} is not a number of seconds above 0")
    return seconds


def duration(seconds: float) -> str:
    """3725 -> "1h02m", 125 -> "2m05s", 7.4 -> "7s"."""
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


def size(count: float) -> str:
    """A number of bytes for people: 950 -> "950 B", 1_500_000 -> "1.5 MB" (powers of 1000)."""
    for unit in ("B", "kB", "MB", "GB"):
        if count < 1000 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.3g} {unit}"
        count /= 1000
    raise AssertionError("unreachable")


def rate(per_second: float, unit: str = "items") -> str:
    """Items per second, or per minute / hour when slower (a 32k-token sample can take minutes);
    bytes per second as a size."""
    if unit == "bytes":
        return f"{size(per_second)}/s"
    for unit, factor in (("s", 1), ("min", 60), ("h", 3600)):
        if per_second * factor >= 1 or unit == "h":
            value = per_second * factor
            return f"{value:.0f}/{unit}" if value >= 100 else f"{value:.3g}/{unit}"
    raise AssertionError("unreachable")


class ProgressLines:
    """update(n) counts n more done; a line goes to `stream` at the start, whenever `interval`
    seconds have passed since the last one, and at `finish`. `clock` is injectable (tests)."""

    def __init__(self, label: str, total: int, stream: TextIO, interval: float,
                 clock: Callable[[], float] = time.monotonic, unit: str = "items", initial: int = 0) -> None:
        self.label, self.total, self.stream, self.interval, self.clock = label, total, stream, interval, clock
        self.unit = unit  # "items", or "bytes" (shown as sizes)
        self.initial = self.done = initial  # a resumed download starts part-way; rates count this run only
        self.known = bool(total) or unit != "bytes"  # a download's size may be unknown (total 0)
        self.started = self.last_line = clock()
        if initial:
            self._say(f"{self._count(total - initial)} to do (resumed at {self._count(initial)})")
        else:
            self._say(f"{self._count(total)} to do" if self.known else "started (size unknown)")

    def _count(self, count: int) -> str:
        return size(count) if self.unit == "bytes" else str(count)

    def update(self, count: int) -> None:
        self.done += count
        now = self.clock()
        if now - self.last_line >= self.interval and (self.done < self.total or not self.known):
            self.last_line = now
            self._say(self._status(now))

    def _status(self, now: float) -> str:
        elapsed = now - self.started
        percent = f" ({100 * self.done / self.total:.0f}%)" if self.total else ""
        line = f"{self._count(self.done)}/{self._count(self.total)}{percent}" if self.known else self._count(self.done)
        if self.done > self.initial and elapsed > 0:
            per_second = (self.done - self.initial) / elapsed
            line += f", {rate(per_second, self.unit)}"
            if self.known:
                line += f", about {duration(max(self.total - self.done, 0) / per_second)} left"
        return line

    def finish(self, completed: bool) -> None:
        elapsed = self.clock() - self.started
        moved = self.done - self.initial
        speed = f" ({rate(moved / elapsed, self.unit)})" if moved and elapsed > 0 else ""
        done = f"{self._count(self.done)}/{self._count(self.total)}" if self.known else self._count(self.done)
        if completed:
            self._say(f"{done} done in {duration(elapsed)}{speed}")
        else:
            self._say(f"stopped at {done} after {duration(elapsed)}{speed}")

    def _say(self, text: str) -> None:
        print(f"{self.label}: {text}", file=self.stream, flush=True)


@contextmanager
def line_progress(label: str, total: int, *, stream: TextIO | None = None, interval: float | None = None,
                  clock: Callable[[], float] = time.monotonic, unit: str = "items",
                  initial: int = 0) -> Iterator[Callable[[int], None]]:
    """The progress factory for logs: start, periodic and end lines (see ProgressLines)."""
    lines = ProgressLines(label, total, sys.stderr if stream is None else stream,
                          interval_s() if interval is None else interval, clock, unit, initial)
    try:
        yield lines.update
    except BaseException:
        lines.finish(completed=False)
        raise
    lines.finish(completed=True)


@contextmanager
def started_on_first_update(progress, label: str, total: int) -> Iterator[Callable[[int], None]]:
    """An update(n) function that opens the `progress` display (a factory (label, total) ->
    context giving update(n)) only when work is reported, so a step that finds everything ready
    prints nothing."""
    if progress is None:
        yield lambda done: None
        return
    with ExitStack() as stack:
        update: list[Callable[[int], None]] = []

        def advance(done: int) -> None:
            if not update:
                update.append(stack.enter_context(progress(label, total)))
            update[0](done)

        yield advance
