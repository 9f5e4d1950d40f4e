"""The adaptive tier's method (repro.adaptive): its estimates, its alpha spending and its
stopping rule, on small simulated runs whose truth is known."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pytest

from repro import adaptive, metrics, stats
from repro.adaptive import (FAIL, OPEN, PASS, DirectionCheck, Linear, PointCheck, RunState, Term, ladder,
                            run_adaptive, spent_z)
from repro.claims import FAILS, HOLDS


def test_ladder_doubles_from_one_round_to_n():
    assert ladder(1024) == [32, 64, 128, 256, 512, 1024]
    assert ladder(128) == [32, 64, 128]
    assert ladder(32) == [32]
    assert ladder(48) == [32, 48]


def test_spent_rates_sum_to_the_family_rate():
    rate, looks = 0.01, 6
    shares = [2 * (1 - NormalDist().cdf(spent_z(rate, look, looks))) for look in range(looks)]
    assert sum(shares) == pytest.approx(rate)
    assert shares[-1] == pytest.approx(rate * adaptive.FINAL_SHARE)
    assert spent_z(rate, 0, 1) == pytest.approx(NormalDist().inv_cdf(1 - rate / 2))


def test_vectorized_estimators_match_the_reference_ones():
    n = np.array([32, 64, 128, 40, 7])
    c = np.array([0, 3, 128, 39, 2])
    for k in (1, 4, 7):
        assert np.allclose(stats.unbiased_pass_at_k(n, c, k), metrics.pass_at_k_per_problem(n, c, k))
    for power in (0, 1, 100, 2048):
        expected = [stats._posterior_failure_moment(int(ci), int(ni), power) for ni, ci in zip(n, c)]
        assert np.allclose(stats.posterior_failure_moments(c, n, power), expected)


def test_problems_beyond_their_samples_are_extrapolated_only_with_two_successes():
    state = RunState(1024, np.array([32, 32, 32, 1024]), np.array([20, 1, 0, 0]))
    terms = state.terms(1024)
    # 20 of 32: pass@1024 is 1 for all practical purposes, with no variance to speak of.
    assert terms["est"][0] > 1 - 1e-12 and terms["var"][0] < 1e-12
    # 1 or 0 of 32: unknown, an interval [0, 1] carried as a bound.
    assert list(terms["unknown"]) == [False, True, True, False]
    est, var, bound, _, _ = state.value(1024)
    assert bound == pytest.approx(0.5 * 2 / 4)
    assert est == pytest.approx((terms["est"][0] + 0.5 + 0.5 + 0.0) / 4)
    # The unknown problems are the ones the next round goes to.
    assert list(state.wanted(1024)[:3]) == [False, True, True]


def _draws(p: dict, seed: int):
    rng = np.random.default_rng(seed)
    blocks = {run: rng.binomial(32, np.repeat(probs[:, None], 64, axis=1)).cumsum(axis=1) for run, probs in p.items()}

    def draw(run, idx, start, stop):
        before = blocks[run][idx, start // 32 - 1] if start else 0
        return blocks[run][idx, stop // 32 - 1] - before
    return draw, blocks


def _point(run, k, truth, n=1024):
    return PointCheck(("point", k), (Linear((Term(run, k),)),), truth, 0.00005, n, 0.05 / 4, stats.bonferroni_z(4))


def test_a_point_on_the_true_curve_passes_early_and_a_shifted_one_fails():
    run = ("base", "bench")
    p = np.concatenate([np.full(20, 0.6), np.full(10, 0.02), np.full(10, 0.0)])
    truth = {k: float(np.mean(1 - (1 - p) ** k)) for k in (1, 16, 256, 1024)}
    honest = [_point(run, k, truth[k]) for k in truth]
    shifted = [_point(run, k, truth[k] + 0.08) for k in truth]
    draw, _ = _draws({run: p}, seed=3)
    outcome = run_adaptive(honest, {run: 1024}, {run: len(p)}, draw)
    assert {d.verdict for d in outcome.decisions.values()} == {PASS}
    # Easy problems stop early: far fewer samples than the full tier's 40 x 1024.
    assert outcome.samples()[run] < 0.7 * len(p) * 1024
    assert (outcome.states[run].m[:20] < 1024).all()
    outcome = run_adaptive(shifted, {run: 1024}, {run: len(p)}, draw)
    # At large k the 10 never-solved problems make the tolerance about as wide as the shift, in
    # the full tier too (their Jeffreys variance): the small k show it.
    assert [d.verdict for d in outcome.decisions.values()][:2] == [FAIL] * 2
    # A failing verdict is settled at the first look that shows it.
    assert min(d.look for d in outcome.decisions.values()) == 0


def test_a_claim_stops_as_soon_as_it_is_shown_and_never_before():
    a, b = ("rl", "bench"), ("base", "bench")
    p_hi, p_lo = np.full(50, 0.7), np.full(50, 0.3)
    draw, _ = _draws({a: p_hi, b: p_lo}, seed=5)
    check = DirectionCheck(Linear((Term(a, 1), Term(b, 1, -1.0))))
    wrapped = adaptive.AllOf(("claim",), (check,))
    outcome = run_adaptive([wrapped], {a: 1024, b: 1024}, {a: 50, b: 50}, draw)
    decision = outcome.decisions[("claim",)]
    assert decision.verdict == HOLDS and decision.look == 0
    assert outcome.samples() == {a: 50 * 32, b: 50 * 32}
    # The opposite direction fails, also at the first look.
    reverse = adaptive.AllOf(("claim",), (DirectionCheck(Linear((Term(b, 1), Term(a, 1, -1.0)))),))
    assert run_adaptive([reverse], {a: 1024, b: 1024}, {a: 50, b: 50}, draw).decisions[("claim",)].verdict == FAILS
    # Equal curves: nothing to show, so the claim stays open to the last look (n reached).
    same = adaptive.AllOf(("claim",), (DirectionCheck(Linear((Term(a, 1), Term(b, 1, -1.0)))),))
    draw, _ = _draws({a: p_lo, b: p_lo}, seed=7)
    outcome = run_adaptive([same], {a: 128, b: 128}, {a: 50, b: 50}, draw)
    assert outcome.decisions[("claim",)].look == len(ladder(128)) - 1


def test_an_open_verdict_is_open_until_the_last_look():
    run = ("base", "bench")
    state = RunState(1024, np.full(30, 32), np.zeros(30, dtype=np.int64))
    check = _point(run, 1024, 0.5)
    # Every problem unknown at k = 1024: bound 0.5, never a settled pass before the last look.
    assert check.decide({run: state}, 0, 6).verdict == OPEN
    assert check.decide({run: state}, 5, 6).verdict in (PASS, FAIL)


def test_honest_reruns_rarely_raise_a_false_alarm():
    """Over 40 honest reruns of a 4-point panel at family rate 5%, at most 3 show a failing
    point (the rate is at most 5%; 3 of 40 leaves room for chance)."""
    run = ("base", "bench")
    p = np.concatenate([np.linspace(0.05, 0.95, 30), np.full(5, 0.005), np.full(5, 0.0)])
    truth = {k: float(np.mean(1 - (1 - p) ** k)) for k in (1, 8, 64, 512)}
    alarms = 0
    for seed in range(40):
        draw, _ = _draws({run: p}, seed=100 + seed)
        outcome = run_adaptive([_point(run, k, truth[k], n=512) for k in truth], {run: 512}, {run: len(p)}, draw)
        alarms += any(d.verdict == FAIL for d in outcome.decisions.values())
    assert alarms <= 3
