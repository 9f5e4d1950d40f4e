"""Grade many (problem, output) pairs in worker processes, each pair under a time limit.

Symbolic equality can take arbitrarily long (the paper's evaluator gave each pair 3 s and
counted a timeout as wrong). Here every pair gets the same limit, twice enforced:

- inside the worker, an interval timer interrupts a pair that overruns (cheap and precise;
  it works whenever the grader runs Python code, which is where sympy spends its time);
- from the parent, a worker that does not answer by its batch's deadline (a hang inside C
  code, or a crash) is killed and replaced, and its batch is retried pair by pair so that
  only the pair at fault is charged.

Pairs travel in batches to keep the cost of inter-process messages low for cheap pairs.
Workers are spawned, not forked: the parent may hold vLLM and torch threads. Spawned
workers import the parent's main module, so a script that grades must keep its work under
`if __name__ == "__main__":` (the `repro` command does).
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait

from repro.errors import ReproError
from repro.grading import Verdict
from repro.problems import Problem

PAIR_TIMEOUT_S = 3.0  # the paper's evaluator: 3 s per pair, a timeout counts as wrong
BATCH_SIZE = 64
# The parent's deadline for a batch: every pair at its limit, plus start-up slack.
_BACKSTOP_SLACK_S = 5.0
TIMEOUT_DETAIL = "timeout"

# Grader name -> "module:function"; the function is (problem, output) -> Verdict.
GRADERS = {
    "math-basic-v1": "repro.grading.math_basic:grade",
    "math-paper-v2": "repro.grading.math_paper:grade",
    "code-v2": "repro.grading.code:grade",
    "visual-v1": "repro.grading.visual:grade",
}

# Pool settings that differ from the math defaults. A code check runs a sandboxed program
# that enforces the benchmark's own time limits (6 s per LiveCodeBench test, evalplus'
# per-test limits, an overall deadline) and kills itself on overrun, so the 3 s timer of the
# math graders must not apply; each pair is its own batch (a check costs 0.1 s to minutes, so
# messages are cheap, and one slow program must not hold others back); the parent's backstop
# is far above any suite's overall deadline.
POOL_SETTINGS = {
    "code-v2": {"timeout_s": None, "batch_size": 1, "backstop_per_pair_s": 3600.0},
}


def grader_spec(name: str) -> str:
    """"module:function" of a grader given by name (or already given as a spec)."""
    if name in GRADERS:
        return GRADERS[name]
    if ":" in name:
        return name
    raise ValueError(f"unknown grader {name!r}; known: {', '.join(GRADERS)}")


def resolve_grader(name: str):
    module_name, function_name = grader_spec(name).split(":")
    return getattr(importlib.import_module(module_name), function_name)


def default_workers() -> int:
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


class GraderBrokenError(ReproError):
    """A grader reported that it cannot work here; no verdict of it can be trusted."""


class _PairTimeout(BaseException):
    # BaseException: graders and sympy catch Exception widely and would swallow the timer.
    pass


def _on_alarm(signum, frame):
    raise _PairTimeout


def grade_with_limit(grade, problem: Problem, output: str, timeout_s: float | None) -> Verdict:
    """One pair under an interval timer (main thread of a process only); None: no timer."""
    if timeout_s is not None:
        signal.setitimer(signal.ITIMER_REAL, timeout_s)
    try:
        return grade(problem, output)
    except _PairTimeout:
        return Verdict(False, None, f"{TIMEOUT_DETAIL} after {timeout_s:g} s")
    except ReproError:
        # The grader's environment is broken (e.g. a sandbox that cannot start programs, a
        # test suite changed on disk): never the sample's fault, so never a wrong verdict.
        raise
    except Exception as error:  # a grader bug on one pair must not stop the run
        return Verdict(False, None, f"grader error: {type(error).__name__}: {error}"[:200])
    finally:
        if timeout_s is not None:
            signal.setitimer(signal.ITIMER_REAL, 0)


def _worker_main(spec: str, timeout_s: float | None, connection: Connection) -> None:
    grade = resolve_grader(spec)
    signal.signal(signal.SIGALRM, _on_alarm)
    while True:
        try:
            batch = connection.recv()
        except EOFError:
            return
        if batch is None:
            return
        try:
            connection.send([grade_with_limit(grade, problem, output, timeout_s) for problem, output in batch])
        except ReproError as error:
            connection.send(_Broken(f"{type(error).__name__}: {error}"))
            return


@dataclass(frozen=True)
class _Broken:
    """A worker's report that its grader cannot work at all (the run must stop)."""

    message: str


@dataclass(eq=False)
class _Worker:
    process: multiprocessing.Process
    connection: Connection
    job: tuple[int, int] | None = None  # (first index, count) of the batch in flight
    deadline: float = 0.0


class GradingPool:
    def __init__(self, grader: str, workers: int | None = None, timeout_s: float | None = PAIR_TIMEOUT_S,
                 batch_size: int = BATCH_SIZE, backstop_slack_s: float = _BACKSTOP_SLACK_S,
                 backstop_per_pair_s: float | None = None):
        """`timeout_s`: the limit of one pair (None: the grader enforces its own limits);
        the parent kills a worker whose batch takes longer than backstop_per_pair_s (default
        timeout_s) per pair plus backstop_slack_s."""
        self.grader = grader
        self.backstop_slack_s = backstop_slack_s
        self.spec = grader_spec(grader)
        self.size = workers or default_workers()
        self.timeout_s = timeout_s
        self.batch_size = batch_size
        self.backstop_per_pair_s = backstop_per_pair_s if backstop_per_pair_s is not None else timeout_s
        if self.backstop_per_pair_s is None:
            raise ValueError("a pool without a per-pair timeout needs backstop_per_pair_s")
        self._context = multiprocessing.get_context("spawn")
        self._workers: list[_Worker] = []
        self.timeouts = 0

    def _start_worker(self) -> _Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(target=_worker_main, args=(self.spec, self.timeout_s, child), daemon=True)
        process.start()
        child.close()
        return _Worker(process, parent)

    def _replace(self, worker: _Worker) -> None:
        worker.process.kill()
        worker.process.join()
        worker.connection.close()
        position = next(i for i, w in enumerate(self._workers) if w is worker)
        self._workers[position] = self._start_worker()

    def grade(self, pairs: Sequence[tuple[Problem, str]]) -> list[Verdict]:
        """Verdicts in the order of `pairs`."""
        results: list[Verdict | None] = [None] * len(pairs)
        queue = [(start, min(self.batch_size, len(pairs) - start)) for start in range(0, len(pairs), self.batch_size)]
        while len(self._workers) < self.size:
            self._workers.append(self._start_worker())
        while queue or any(w.job for w in self._workers):
            for worker in self._workers:
                if worker.job is None and queue:
                    start, count = queue.pop(0)
                    worker.connection.send(list(pairs[start:start + count]))
                    worker.job = (start, count)
                    worker.deadline = time.monotonic() + self.backstop_per_pair_s * count + self.backstop_slack_s
            busy = [w for w in self._workers if w.job]
            nearest = min(w.deadline for w in busy)
            ready = wait([w.connection for w in busy], timeout=max(0.0, nearest - time.monotonic()))
            for worker in busy:
                start, count = worker.job
                died = False
                if worker.connection in ready:
                    try:
                        verdicts = worker.connection.recv()
                    except EOFError:  # the worker died (e.g. the grader crashed the interpreter)
                        died = True
                    else:
                        if isinstance(verdicts, _Broken):
                            raise GraderBrokenError(f"grader {self.grader} cannot grade: {verdicts.message}")
                        results[start:start + count] = verdicts
                        self.timeouts += sum(v.detail.startswith(TIMEOUT_DETAIL) for v in verdicts)
                        worker.job = None
                        continue
                elif time.monotonic() < worker.deadline:
                    continue
                # Past the backstop deadline, or died: replace the worker; retry a batch pair
                # by pair, or charge the single pair at fault.
                self._replace(worker)
                if count > 1:
                    queue[:0] = [(start + i, 1) for i in range(count)]
                elif died:
                    results[start] = Verdict(False, None, "the grader process died on this pair")
                else:
                    self.timeouts += 1
                    results[start] = Verdict(False, None,
                                             f"{TIMEOUT_DETAIL} after {self.backstop_per_pair_s:g} s (killed)")
        return list(results)  # type: ignore[arg-type]

    @classmethod
    def for_grader(cls, grader: str, workers: int | None = None) -> GradingPool:
        """A pool with the settings this grader needs (POOL_SETTINGS)."""
        return cls(grader, workers=workers, **POOL_SETTINGS.get(grader, {}))

    def close(self) -> None:
        for worker in self._workers:
            try:
                worker.connection.send(None)
            except (BrokenPipeError, OSError):
                pass
        for worker in self._workers:
            worker.process.join(timeout=2)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.connection.close()
        self._workers.clear()

    def __enter__(self) -> GradingPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
