"""Progress bars for long stages, on stderr so that stdout stays clean for tables."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager


@contextmanager
def no_progress(label: str, total: int) -> Iterator[Callable[[int], None]]:
    """A progress factory that shows nothing."""
    yield lambda done: None


@contextmanager
def terminal_progress(label: str, total: int) -> Iterator[Callable[[int], None]]:
    """A rich progress bar when stderr is a terminal; one line per stage otherwise (logs, CI)."""
    if not sys.stderr.isatty():
        print(f"{label}: {total} to do", file=sys.stderr, flush=True)
        yield lambda done: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda done: bar.advance(task, done)


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
