"""Graders with known misbehaviour, for the grading pool's tests (imported by workers)."""

from __future__ import annotations

import os
import signal
import time

from repro.errors import EnvironmentNotSupportedError
from repro.grading import Verdict


def misbehave(text: str) -> None:
    """Hang on "hang" (interruptible), hang with the timer signal blocked on "stuck" (as a long
    C call would), take the interpreter down on "die"; return on anything else."""
    if text == "hang":
        time.sleep(60)
    if text == "stuck":
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        time.sleep(60)
    if text == "die":
        os._exit(3)


def slow_or_right(problem, output: str) -> Verdict:
    """Misbehaves on "hang", "stuck" and "die" (misbehave), raises on "raise"; otherwise
    right when the output equals the answer."""
    misbehave(output)
    if output == "raise":
        raise RuntimeError("grader bug")
    if output == "broken":
        raise EnvironmentNotSupportedError("the sandbox cannot start programs here")
    if output == "sleep-1s":
        time.sleep(1.0)
    return Verdict(output == problem.answer, output)
