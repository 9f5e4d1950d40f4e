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
    "math-paper-v1": "repro.grading.math_paper:grade",
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


class _PairTimeout(BaseException):
    # BaseException: graders and sympy catch Exception widely and would swallow the timer.
    pass


def _on_alarm(signum, frame):
    raise _PairTimeout


def grade_with_limit(grade, problem: Problem, output: str, timeout_s: float) -> Verdict:
    """One pair under an interval timer (main thread of a process only)."""
    signal.setitimer(signal.ITIMER_REAL, timeout_s)
    try:
        return grade(problem, output)
    except _PairTimeout:
        return Verdict(False, None, f"{TIMEOUT_DETAIL} after {timeout_s:g} s")
    except Exception as error:  # a grader bug on one pair must not stop the run
        return Verdict(False, None, f"grader error: {type(error).__name__}: {error}"[:200])
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _worker_main(spec: str, timeout_s: float, connection: Connection) -> None:
    grade = resolve_grader(spec)
    signal.signal(signal.SIGALRM, _on_alarm)
    while True:
        try:
            batch = connection.recv()
        except EOFError:
            return
        if batch is None:
            return
        connection.send([grade_with_limit(grade, problem, output, timeout_s) for problem, output in batch])


@dataclass(eq=False)
class _Worker:
    process: multiprocessing.Process
    connection: Connection
    job: tuple[int, int] | None = None  # (first index, count) of the batch in flight
    deadline: float = 0.0


class GradingPool:
    def __init__(self, grader: str, workers: int | None = None, timeout_s: float = PAIR_TIMEOUT_S,
                 batch_size: int = BATCH_SIZE, backstop_slack_s: float = _BACKSTOP_SLACK_S):
        self.grader = grader
        self.backstop_slack_s = backstop_slack_s
        self.spec = grader_spec(grader)
        self.size = workers or default_workers()
        self.timeout_s = timeout_s
        self.batch_size = batch_size
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
                    worker.deadline = time.monotonic() + self.timeout_s * count + self.backstop_slack_s
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
                    results[start] = Verdict(False, None, f"{TIMEOUT_DETAIL} after {self.timeout_s:g} s (killed)")
        return list(results)  # type: ignore[arg-type]

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
