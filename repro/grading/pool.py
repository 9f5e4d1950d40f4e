"""Grade many (problem, output) pairs in worker processes, each pair under a time limit.

Symbolic equality can take arbitrarily long (the paper's evaluator gave each pair 3 s and
counted a timeout as wrong). Here every pair gets the same limit, twice enforced:

- inside the worker, an interval timer interrupts a pair that overruns (cheap and precise;
  it works whenever the grader runs Python code, which is where sympy spends its time);
- from the parent, a worker that does not answer by its batch's deadline (a hang inside C
  code, or a crash) is killed and replaced, and its batch is retried pair by pair so that
  only the pair at fault is charged.

Pairs travel in batches to keep the cost of inter-process messages low for cheap pairs.

Memoization. At large n most outputs of a problem end in a few answers (30 problems at
n = 1,024: 30,720 outputs, 136 distinct (answer, reference) pairs), and the comparison --
sympy -- is the costly part. A grader module that splits its `grade` in two (`SplitGrader`:
`answer_key`, extraction and normalization, cheap, per output; `judge_key`, the comparison, a
pure function of the key; `verdict_of`) is graded in one pass in the workers: each worker
reads an output's key and compares it unless it knows the key's outcome already, each call
under the per-pair limit (the paper's evaluator limited only the comparison; its extraction
ran unlimited). The parent keeps the outcome of every compared key for the rest of the
command and sends each worker, with its next batch, the outcomes it has not seen yet, so a key
is compared once, or a few times when several workers meet it before any of them has
reported it (at most once per worker). The first outcome the parent receives for a key is the
one every pair of that key gets, so the verdicts are exactly those of grading every pair with
`grade` once, with one draw per key for timing-dependent outcomes. A comparison that overran
its limit, was killed or took its worker down is remembered as such (a worker says which key
it starts comparing, so a kill is charged to that key): every pair with that key gets that
verdict, as grading it again would most likely give -- a 3 s overrun comes from the answer far
more than from the moment (docs/performance.md). One pass, not a pass to read every key and
then one to compare the distinct keys, so that a corpus of nearly distinct pairs costs what
grading every pair costs: no second round of messages, no wait between the two passes. Math and
visual graders are split; the code grader is not (its per-command cache is the pipeline's).

Workers are spawned, not forked: the parent may hold vLLM and torch threads. Spawned
workers import the parent's main module, so a script that grades must keep its work under
`if __name__ == "__main__":` (the `repro` command does).
"""

from __future__ import annotations

import importlib
import math
import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from repro.errors import ReproError
from repro.grading import Verdict
from repro.problems import Problem

PAIR_TIMEOUT_S = 3.0  # the paper's evaluator: 3 s per pair, a timeout counts as wrong
BATCH_SIZE = 64
# The parent's deadline for a batch: every pair at its limit, plus start-up slack.
_BACKSTOP_SLACK_S = 5.0
# ... plus, for the first batch of a new worker, the time to start it (spawn, import the
# grader, warm sympy up: seconds, more on a busy machine), which a small batch would not cover.
_WORKER_START_S = 120.0
TIMEOUT_DETAIL = "timeout"
# Compared keys a pool remembers; past this it starts afresh (a bound on memory, never reached
# by the paper's runs: a few hundred thousand distinct answers at most).
MEMO_MAX_KEYS = 2_000_000

# Grader name -> "module:function"; the function is (problem, output) -> Verdict.
GRADERS = {
    "math-basic-v1": "repro.grading.math_basic:grade",
    "math-paper-v3": "repro.grading.math_paper:grade",
    "code-v3": "repro.grading.code:grade",
    "visual-v1": "repro.grading.visual:grade",
}

# Pool settings that differ from the math defaults. A code check runs a sandboxed program
# that enforces the benchmark's own time limits (6 s per LiveCodeBench test, evalplus'
# per-test limits, an overall deadline) and kills itself on overrun, so the 3 s timer of the
# math graders must not apply; each pair is its own batch (a check costs 0.1 s to minutes, so
# messages are cheap, and one slow program must not hold others back); the parent's backstop
# is far above any suite's overall deadline.
POOL_SETTINGS = {
    "code-v3": {"timeout_s": None, "batch_size": 1, "backstop_per_pair_s": 3600.0},
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


@dataclass(frozen=True)
class SplitGrader:
    """A grader in two steps, for memoization. Its module defines, beside `grade`:

    - answer_key(problem, output) -> (key, note): what the comparison depends on (hashable;
      for math, the normalized answer and reference) and what the verdict needs besides (the
      extraction route); key None means the verdict is known without comparing: it is `note`;
    - judge_key(key) -> result: the comparison, a pure function of the key;
    - verdict_of(key, note, result) -> Verdict.

    and `grade(problem, output)` must equal `verdict_of(key, note, judge_key(key))`.
    """

    answer_key: Callable[[Problem, str], tuple[Hashable | None, Any]]
    judge_key: Callable[[Hashable], Any]
    verdict_of: Callable[[Hashable, Any, Any], Verdict]


def split_grader(name: str) -> SplitGrader | None:
    """The two-step form of a grader whose module provides one (its function must be `grade`)."""
    module_name, function_name = grader_spec(name).split(":")
    module = importlib.import_module(module_name)
    parts = [getattr(module, part, None) for part in ("answer_key", "judge_key", "verdict_of")]
    if function_name != "grade" or not all(callable(part) for part in parts):
        return None
    return SplitGrader(*parts)


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
    outcome = call_with_limit(grade, (problem, output), timeout_s)
    return outcome.verdict if outcome.verdict is not None else outcome.value


@dataclass(frozen=True)
class _Outcome:
    """What one limited call gave: a value, or the verdict it ends in (timeout, grader error)."""

    value: Any = None
    verdict: Verdict | None = None


def call_with_limit(function, args: tuple, timeout_s: float | None) -> _Outcome:
    """function(*args) under an interval timer (main thread of a process only); None: no timer.
    An overrun or a grader exception becomes a wrong verdict; a ReproError propagates."""
    if timeout_s is not None:
        signal.setitimer(signal.ITIMER_REAL, timeout_s)
    try:
        return _Outcome(value=function(*args))
    except _PairTimeout:
        return _Outcome(verdict=Verdict(False, None, f"{TIMEOUT_DETAIL} after {timeout_s:g} s"))
    except ReproError:
        # The grader's environment is broken (e.g. a sandbox that cannot start programs, a
        # test suite changed on disk): never the sample's fault, so never a wrong verdict.
        raise
    except Exception as error:  # a grader bug on one pair must not stop the run
        return _Outcome(verdict=Verdict(False, None, f"grader error: {type(error).__name__}: {error}"[:200]))
    finally:
        if timeout_s is not None:
            signal.setitimer(signal.ITIMER_REAL, 0)


def _worker_main(spec: str, timeout_s: float | None, connection: Connection) -> None:
    grade = resolve_grader(spec)
    split = split_grader(spec)
    memo: dict[Hashable, _Outcome] = {}  # this worker's copy of the pool's compared keys
    signal.signal(signal.SIGALRM, _on_alarm)
    connection.send(_READY)  # imports done: the parent's deadlines no longer include start-up
    while True:
        try:
            message = connection.recv()
        except EOFError:
            return
        if message is None:
            return
        step, batch, known = message
        try:
            if step == "grade":
                connection.send([call_with_limit(grade, args, timeout_s) for args in batch])
                continue
            if len(memo) > MEMO_MAX_KEYS:
                memo.clear()
            memo.update(known)
            connection.send([_read_and_judge(split, memo, problem, output, timeout_s, connection)
                             for problem, output in batch])
        except ReproError as error:
            connection.send(_Broken(f"{type(error).__name__}: {error}"))
            return


def _read_and_judge(split: SplitGrader, memo: dict, problem: Problem, output: str, timeout_s: float | None,
                    connection: Connection) -> _Memoized:
    """One pair of a split grader: its key, and the key's outcome from memory or compared now."""
    read = call_with_limit(split.answer_key, (problem, output), timeout_s)
    if read.verdict is not None:  # reading the output timed out or failed
        return _Memoized(verdict=read.verdict)
    key, note = read.value
    if key is None:  # decided without comparing (e.g. no answer found)
        return _Memoized(verdict=note)
    if key in memo:
        return _Memoized(key=key, note=note, outcome=memo[key])
    # Say which key this worker compares: if the comparison kills the worker, the parent
    # charges that key, not whichever pair of the batch it retries.
    connection.send(_Comparing(key))
    memo[key] = call_with_limit(split.judge_key, (key,), timeout_s)
    connection.send(_Comparing(None))  # done: a kill from here on is not this key's
    return _Memoized(key=key, note=note, outcome=memo[key], compared=True)


@dataclass(frozen=True)
class _Memoized:
    """A worker's answer for one pair of a split grader: a verdict known without comparing, or
    the key, the note `verdict_of` needs and the comparison's outcome (compared now or not)."""

    verdict: Verdict | None = None
    key: Hashable = None
    note: Any = None
    outcome: _Outcome | None = None
    compared: bool = False


@dataclass(frozen=True)
class _Comparing:
    """A worker's notice that it starts comparing a key, or (None) that it is done with it."""

    key: Hashable


@dataclass(frozen=True)
class _Broken:
    """A worker's report that its grader cannot work at all (the run must stop)."""

    message: str


_READY = "ready"


@dataclass(eq=False)
class _Worker:
    process: multiprocessing.Process
    connection: Connection
    job: tuple[int, int] | None = None  # (first index, count) of the batch in flight
    deadline: float = 0.0
    started: bool = False  # has said it is ready (so it is past its start-up)
    comparing: Hashable = None  # the key it said it compares, in the batch in flight
    known: int = 0  # how many of the pool's compared keys it has been sent


class GradingPool:
    def __init__(self, grader: str, workers: int | None = None, timeout_s: float | None = PAIR_TIMEOUT_S,
                 batch_size: int = BATCH_SIZE, backstop_slack_s: float = _BACKSTOP_SLACK_S,
                 backstop_per_pair_s: float | None = None, memoize: bool = True):
        """`timeout_s`: the limit of one pair (None: the grader enforces its own limits);
        the parent kills a worker whose batch takes longer than backstop_per_pair_s (default
        timeout_s) per pair plus backstop_slack_s. `memoize`: compare each distinct key of a
        split grader once per pool (False: grade every pair with `grade`, as before
        memoization; same verdicts; for measurements)."""
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
        self._split = split_grader(self.spec)
        self.memoize = memoize and self._split is not None
        # Key of a split grader -> the outcome of comparing it (value, or timeout/error
        # verdict); the order in which keys were added, to send each worker what is new to it.
        self._judged: dict[Hashable, _Outcome] = {}
        self._judged_order: list[Hashable] = []
        self.comparisons = 0  # comparisons the workers made (memoized pools)

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
        if self.memoize:
            verdicts = self._grade_memoized(pairs)
        else:
            outcomes = self._run("grade", list(pairs))
            verdicts = [o.verdict if o.verdict is not None else o.value for o in outcomes]
        self.timeouts += sum(v.detail.startswith(TIMEOUT_DETAIL) for v in verdicts)
        return verdicts

    def _grade_memoized(self, pairs: Sequence[tuple[Problem, str]]) -> list[Verdict]:
        if len(self._judged) > MEMO_MAX_KEYS:
            self._judged.clear()
            self._judged_order.clear()
            for worker in self._workers:
                worker.known = 0
        verdicts = []
        for answer in self._run("memo", list(pairs)):
            if isinstance(answer, _Outcome):  # the pair's worker was killed or died on it
                verdicts.append(answer.verdict)
            elif answer.verdict is not None:
                verdicts.append(answer.verdict)
            else:
                outcome = self._judged.get(answer.key, answer.outcome)
                verdicts.append(outcome.verdict if outcome.verdict is not None
                                else self._split.verdict_of(answer.key, answer.note, outcome.value))
        return verdicts

    def _remember(self, key: Hashable, outcome: _Outcome) -> None:
        """The first outcome the pool receives for a key is the one all its pairs get."""
        if key not in self._judged:
            self._judged[key] = outcome
            self._judged_order.append(key)

    def _message(self, worker: _Worker, step: str, batch: list) -> tuple:
        if step != "memo":
            return step, batch, []
        known = [(key, self._judged[key]) for key in self._judged_order[worker.known:]]
        worker.known = len(self._judged_order)
        return step, batch, known

    def _run(self, step: str, items: list) -> list:
        """Answers of one step on every item, in order, each item under the per-pair limit
        (`_Outcome`s for "grade"; for "memo", `_Memoized`s, or an `_Outcome` for a pair whose
        worker was killed or died on it)."""
        results: list = [None] * len(items)
        # Small batches when items are few, so that every worker gets some.
        size = max(1, min(self.batch_size, math.ceil(len(items) / (self.size * 4)))) if items else 1
        queue = [(start, min(size, len(items) - start)) for start in range(0, len(items), size)]
        while queue and len(self._workers) < self.size:
            self._workers.append(self._start_worker())
        while queue or any(w.job for w in self._workers):
            for worker in self._workers:
                if worker.job is None and queue:
                    start, count = queue.pop(0)
                    worker.connection.send(self._message(worker, step, items[start:start + count]))
                    worker.job = (start, count)
                    worker.comparing = None
                    worker.deadline = self._deadline(count) + (0.0 if worker.started else _WORKER_START_S)
            busy = [w for w in self._workers if w.job]
            nearest = min(w.deadline for w in busy)
            ready = wait([w.connection for w in busy], timeout=max(0.0, nearest - time.monotonic()))
            for worker in busy:
                start, count = worker.job
                died = False
                if worker.connection in ready:
                    try:
                        answer = worker.connection.recv()
                    except EOFError:  # the worker died (e.g. the grader crashed the interpreter)
                        died = True
                    else:
                        if isinstance(answer, _Broken):
                            raise GraderBrokenError(f"grader {self.grader} cannot grade: {answer.message}")
                        if answer == _READY:  # start-up over: the batch's own deadline starts now
                            worker.started = True
                            worker.deadline = self._deadline(count)
                            continue
                        if isinstance(answer, _Comparing):
                            worker.comparing = answer.key
                            continue
                        for i, item in enumerate(answer):
                            if isinstance(item, _Memoized) and item.compared:
                                self.comparisons += 1
                                self._remember(item.key, item.outcome)
                            results[start + i] = item
                        worker.job = None
                        continue
                elif time.monotonic() < worker.deadline:
                    continue
                # Past the backstop deadline, or died: replace the worker. If it said which key
                # it was comparing, that key is charged (and remembered); then retry a batch item
                # by item, or charge the single item at fault.
                if died:
                    charged = _Outcome(verdict=Verdict(False, None, "the grader process died on this pair"))
                else:
                    charged = _Outcome(verdict=Verdict(
                        False, None, f"{TIMEOUT_DETAIL} after {self.backstop_per_pair_s:g} s (killed)"))
                if worker.comparing is not None:
                    self.comparisons += 1
                    self._remember(worker.comparing, charged)
                self._replace(worker)
                if count > 1:
                    queue[:0] = [(start + i, 1) for i in range(count)]
                else:
                    results[start] = charged
        return results

    def _deadline(self, count: int) -> float:
        """When the parent gives up on a batch of `count` items sent now (a started worker)."""
        return time.monotonic() + self.backstop_per_pair_s * count + self.backstop_slack_s

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
