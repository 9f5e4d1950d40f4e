"""The grading pool: verdicts in order, a per-pair time limit, and survival of hangs,
crashes and grader exceptions."""

from __future__ import annotations

import time

import pytest

from repro.grading.pool import GraderBrokenError, GradingPool
from repro.problems import Problem
from split_graders_for_tests import grade

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


# ------------------------------------------------------------------ memoization

SPLIT = "split_graders_for_tests:grade"


def test_a_compared_key_is_remembered_and_each_pair_keeps_its_own_verdict():
    problem = Problem("p", 0, "q", "7")
    outputs = ["a:7", "b:7", "a:8", "c:7", "none", "b:8"] * 5
    with GradingPool(SPLIT, workers=1, timeout_s=2) as pool:
        assert pool.grade([(problem, output) for output in outputs]) == [grade(problem, o) for o in outputs]
        assert pool.comparisons == 2  # "7" and "8", once each
    with GradingPool(SPLIT, workers=2, timeout_s=2) as pool:
        verdicts = pool.grade([(problem, output) for output in outputs])
        # Both workers may meet a key before either has reported it: once per worker at most.
        first = pool.comparisons
        assert 2 <= first <= 4
        again = pool.grade([(problem, "d:7"), (Problem("p2", 1, "q", "8"), "e:8")])
        assert pool.comparisons == first + 1  # ("7", "7") remembered; ("8", "8") is a new key
    assert [v.correct for v in verdicts] == [o.endswith(":7") for o in outputs]
    assert [v.detail for v in verdicts[:6]] == ["route=a", "route=b", "route=a", "route=c", "no answer", "route=b"]
    assert [(v.correct, v.detail) for v in again] == [(True, "route=d"), (True, "route=e")]


def test_a_timeout_is_remembered_as_a_timeout_for_every_pair_of_its_key():
    problem = Problem("p", 0, "q", "7")
    outputs = ["a:hang", "a:7", "b:hang", "c:8", "d:hang"]
    started = time.monotonic()
    with GradingPool(SPLIT, workers=1, timeout_s=0.5) as pool:
        verdicts = pool.grade([(problem, output) for output in outputs])
        assert pool.comparisons == 3 and pool.timeouts == 3
        later = pool.grade([(problem, "e:hang")])
        assert pool.comparisons == 3 and pool.timeouts == 4
    assert time.monotonic() - started < 15  # one overrun, not four
    assert [v.correct for v in verdicts] == [False, True, False, False, False]
    assert all(verdicts[i].detail.startswith("timeout after 0.5 s") for i in (0, 2, 4))
    assert later[0].detail.startswith("timeout") and not verdicts[3].detail.startswith("timeout")


def test_a_killed_or_crashing_comparison_is_remembered_and_charged_to_its_pairs_only():
    problem = Problem("p", 0, "q", "7")
    outputs = ["a:stuck", "b:7", "c:die", "d:stuck", "e:die", "f:7"]
    with GradingPool(SPLIT, workers=1, timeout_s=0.3, backstop_slack_s=0.5) as pool:
        verdicts = pool.grade([(problem, output) for output in outputs])
        assert pool.comparisons == 3
    assert [v.correct for v in verdicts] == [False, True, False, False, False, True]
    assert "killed" in verdicts[0].detail and "killed" in verdicts[3].detail
    assert "died" in verdicts[2].detail and "died" in verdicts[4].detail


def test_a_worker_killed_while_reading_charges_that_pair_not_the_key_it_compared_before():
    problem = Problem("p", 0, "q", "7")
    # Batches of two: "a:7" is compared, then reading "stuck:9" blocks the timer and the worker
    # is killed; the key ("7", "7") it had finished comparing must not be charged.
    outputs = ["a:7", "stuck:9", "b:7", "c:7"] * 2
    with GradingPool(SPLIT, workers=1, timeout_s=0.3, backstop_slack_s=0.5) as pool:
        verdicts = pool.grade([(problem, output) for output in outputs])
    assert [v.correct for v in verdicts] == [o.endswith(":7") for o in outputs]
    assert all("killed" in verdicts[i].detail for i in (1, 5))


def test_without_memoization_every_pair_is_compared_with_the_same_verdicts():
    problem = Problem("p", 0, "q", "7")
    pairs = [(problem, output) for output in ["a:7", "b:7", "a:8", "none"] * 3]
    with GradingPool(SPLIT, workers=2, timeout_s=2, memoize=False) as pool:
        plain = pool.grade(pairs)
        assert pool.comparisons == 0  # graded with `grade`, pair by pair
    with GradingPool(SPLIT, workers=2, timeout_s=2) as pool:
        assert pool.grade(pairs) == plain
        assert 2 <= pool.comparisons <= 4  # ("7", "7") and ("8", "7"), at most once per worker
    assert plain == [grade(*pair) for pair in pairs]


def _shuffled_repeats(pairs: list, copies: int) -> list:
    import random

    repeated = [pair for pair in pairs for _ in range(copies)]
    random.Random(14).shuffle(repeated)
    return repeated


def test_memoized_math_verdicts_equal_grading_every_pair_on_the_golden_cases():
    import json
    from pathlib import Path

    from repro.grading.math_paper import grade

    golden = Path(__file__).parent / "golden" / "math_grading_cases.jsonl"
    cases = [json.loads(line) for line in golden.read_text(encoding="utf-8").splitlines() if line.strip()]
    # Distinct texts of one answer too (a problem's outputs differ in their reasoning), then
    # every pair twice, shuffled. `grade` is a pure function: each distinct pair is graded once.
    pairs = [(Problem(f"{c['benchmark']}/0000", 0, "", c["answer"], {"benchmark": c["benchmark"]}),
              prefix + c["output"]) for i, c in enumerate(cases) for prefix in ("", "Let us think.\n")[:1 + (i % 3 == 0)]]
    graded = {id(pair): grade(*pair) for pair in pairs}
    corpus = _shuffled_repeats(pairs, 2)
    expected = [graded[id(pair)] for pair in corpus]
    # A generous limit: a pair must not time out on a busy machine in one run and not the other.
    with GradingPool("math-paper-v3", workers=2, timeout_s=60) as pool:
        verdicts = pool.grade(corpus)
        compared = pool.comparisons
    assert verdicts == expected
    assert sum(v.correct for v in verdicts) > 0 and sum(not v.correct for v in verdicts) > 0
    # Each distinct key compared at most once per worker (two workers may meet it at the same time).
    assert compared <= 2 * len(cases) and compared < len(corpus) / 2


def test_memoized_visual_verdicts_equal_grading_every_pair_on_the_golden_cases():
    import json
    from pathlib import Path

    pytest.importorskip("mathruler")
    from repro.grading.visual import grade

    golden = Path(__file__).parent / "golden" / "visual_grading_cases.jsonl"
    cases = [json.loads(line) for line in golden.read_text(encoding="utf-8").splitlines() if line.strip()]
    pairs = [(Problem(f"{c['benchmark']}/1", 0, "", c["answer"], {"answer_type": c["answer_type"],
                                                                   "precision": c["precision"], "unit": c["unit"]}),
              prefix + c["output"]) for c in cases for prefix in ("", "Looking again. ")]
    corpus = _shuffled_repeats(pairs, 4)
    expected = [grade(problem, output) for problem, output in corpus]
    with GradingPool("visual-v1", workers=2, timeout_s=60) as pool:
        verdicts = pool.grade(corpus)
        compared = pool.comparisons
    assert verdicts == expected
    assert compared <= 2 * len(cases) < len(corpus) / 2
