"""Graders with known misbehaviour, for the grading pool's tests (imported by workers)."""

from __future__ import annotations

import os
import signal
import time

from repro.errors import EnvironmentNotSupportedError
from repro.grading import Verdict


def slow_or_right(problem, output: str) -> Verdict:
    """Hangs on "hang" (interruptible), hangs with the timer signal blocked on "stuck" (as
    a long C call would), crashes the interpreter on "die", raises on "raise"; otherwise
    right when the output equals the answer."""
    if output == "hang":
        time.sleep(60)
    if output == "stuck":
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        time.sleep(60)
    if output == "die":
        os._exit(3)
    if output == "raise":
        raise RuntimeError("grader bug")
    if output == "broken":
        raise EnvironmentNotSupportedError("the sandbox cannot start programs here")
    if output == "sleep-1s":
        time.sleep(1.0)
    return Verdict(output == problem.answer, output)
