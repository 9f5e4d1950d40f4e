"""A grader in two steps (repro.grading.pool.SplitGrader) with known misbehaviour, for the
memoization tests of the grading pool (imported by its workers).

The output is "<route>:<answer>"; the key is (answer, reference). Comparing the answer "hang"
overruns any limit (interruptible), "stuck" blocks the timer signal (as a long C call would),
"die" takes the worker down; the
same routes misbehave while the output is read."""

from __future__ import annotations

from repro.grading import Verdict
from graders_for_tests import misbehave  # the same misbehaviour (tests/ is on the workers' path)


def answer_key(problem, output: str):
    route, _, answer = output.partition(":")
    misbehave(route)  # reading can misbehave too: the route "stuck" blocks the timer
    if not answer:
        return None, Verdict(False, None, "no answer")
    return (answer, problem.answer), route


def judge_key(key) -> bool:
    answer, reference = key
    misbehave(answer)
    return answer == reference


def verdict_of(key, route: str, equal: bool) -> Verdict:
    return Verdict(equal, key[0], f"route={route}")


def grade(problem, output: str) -> Verdict:
    key, note = answer_key(problem, output)
    return note if key is None else verdict_of(key, note, judge_key(key))
