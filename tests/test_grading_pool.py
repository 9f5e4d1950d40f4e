"""The grading pool: verdicts in order, a per-pair time limit, and survival of hangs,
crashes and grader exceptions."""

from __future__ import annotations

import time

import pytest

from repro.grading.pool import GraderBrokenError, GradingPool
from repro.problems import Problem

SPEC = "graders_for_tests:slow_or_right"


def pairs(outputs: list[str]) -> list[tuple[Problem, str]]:
    return [(Problem(f"p{i}", i, "q", "ok"), output) for i, output in enumerate(outputs)]


def test_verdicts_come_back_in_order():
    outputs = ["ok" if i % 3 else "no" for i in range(300)]
    with GradingPool(SPEC, workers=2, batch_size=7) as pool:
        verdicts = pool.grade(pairs(outputs))
    assert [v.correct for v in verdicts] == [o == "ok" for o in outputs]


def test_a_hanging_pair_is_wrong_after_its_time_limit():
    outputs = ["ok"] * 20 + ["hang"] + ["ok"] * 20
    started = time.monotonic()
    with GradingPool(SPEC, workers=2, timeout_s=0.5, batch_size=8) as pool:
        verdicts = pool.grade(pairs(outputs))
        assert pool.timeouts == 1
    assert [v.correct for v in verdicts] == [o == "ok" for o in outputs]
    assert verdicts[20].detail.startswith("timeout")
    assert time.monotonic() - started < 15


def test_a_pair_stuck_beyond_the_timer_is_killed_and_only_it_is_charged():
    outputs = ["ok"] * 5 + ["stuck"] + ["ok"] * 5
    with GradingPool(SPEC, workers=1, timeout_s=0.3, batch_size=4, backstop_slack_s=0.5) as pool:
        verdicts = pool.grade(pairs(outputs))
        assert pool.timeouts == 1
    assert [v.correct for v in verdicts] == [o == "ok" for o in outputs]
    assert "killed" in verdicts[5].detail


def test_crashes_and_exceptions_are_wrong_and_the_pool_goes_on():
    outputs = ["ok", "die", "ok", "raise", "ok"]
    with GradingPool(SPEC, workers=1, timeout_s=2, batch_size=5) as pool:
        verdicts = pool.grade(pairs(outputs))
        again = pool.grade(pairs(["ok", "no"]))
    assert [v.correct for v in verdicts] == [True, False, True, False, True]
    assert "grader error" in verdicts[3].detail and "died" in verdicts[1].detail
    assert [v.correct for v in again] == [True, False]


def test_a_grader_that_cannot_work_stops_the_run_instead_of_marking_answers_wrong():
    # A broken environment (e.g. a sandbox that cannot start programs) is never a sample's
    # fault: scoring every answer 0 would publish a false result.
    with GradingPool(SPEC, workers=1, timeout_s=2, batch_size=2) as pool:
        with pytest.raises(GraderBrokenError, match="cannot start programs"):
            pool.grade(pairs(["ok", "broken", "ok"]))


def test_without_a_pair_timer_slow_pairs_finish_and_the_backstop_still_kills():
    # Code graders enforce their own limits: the pool must not cut them at 3 s...
    with GradingPool(SPEC, workers=1, timeout_s=None, batch_size=1, backstop_per_pair_s=20) as pool:
        verdicts = pool.grade([(Problem("p", 0, "q", "sleep-1s"), "sleep-1s")])
    assert verdicts[0].correct
    # ... but a pair that never ends is still killed by the parent, and only it is charged.
    with GradingPool(SPEC, workers=1, timeout_s=None, batch_size=1, backstop_per_pair_s=0.5,
                     backstop_slack_s=0.5) as pool:
        verdicts = pool.grade(pairs(["ok", "hang", "ok"]))
    assert [v.correct for v in verdicts] == [True, False, True]
    assert "killed" in verdicts[1].detail


def test_a_pool_without_timer_or_backstop_is_refused():
    with pytest.raises(ValueError, match="backstop"):
        GradingPool(SPEC, timeout_s=None)
