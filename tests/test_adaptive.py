"""The adaptive tier's method (repro.adaptive): its estimates, its alpha spending and its
stopping rule, on small simulated runs whose truth is known."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pytest

from repro import adaptive, metrics, stats
from repro.adaptive import (FAIL, OPEN, PASS, DirectionCheck, Linear, PointCheck, RunState, Term, ladder,
                            predict_z, run_adaptive)
from repro.claims import FAILS, HOLDS


def test_ladder_doubles_from_one_round_to_n():
    assert ladder(1024) == [32, 64, 128, 256, 512, 1024]
    assert ladder(128) == [32, 64, 128]
    assert ladder(32) == [32]
    assert ladder(48) == [32, 48]


def test_the_prediction_error_is_spent_over_the_looks_before_the_last():
    looks = 6
    shares = [1 - NormalDist().cdf(predict_z(look, looks)) for look in range(looks - 1)]
    assert sum(shares) == pytest.approx(adaptive.PREDICTION_ERROR)


def test_nested_estimates_differ_by_the_difference_of_their_variances():
    """The reach of a verdict rests on Var(full - prefix) = Var(prefix) - Var(full) for the
    unbiased estimates from m and from n samples of one problem (exchangeability): checked
    by drawing."""
    rng = np.random.default_rng(0)
    p, m, n, k = 0.3, 32, 128, 4
    draws = rng.random((20000, n)) < p
    prefix = stats.unbiased_pass_at_k(np.full(20000, m), draws[:, :m].sum(axis=1), k)
    full = stats.unbiased_pass_at_k(np.full(20000, n), draws.sum(axis=1), k)
    assert np.var(full - prefix) == pytest.approx(np.var(prefix) - np.var(full), rel=0.05)


def test_vectorized_estimators_match_the_reference_ones():
    n = np.array([32, 64, 128, 40, 7])
    c = np.array([0, 3, 128, 39, 2])
    for k in (1, 4, 7):
        assert np.allclose(stats.unbiased_pass_at_k(n, c, k), metrics.pass_at_k_per_problem(n, c, k))
    for power in (0, 1, 100, 2048):
        expected = [stats._posterior_failure_moment(int(ci), int(ni), power) for ni, ci in zip(n, c)]
        assert np.allclose(stats.posterior_failure_moments(c, n, power), expected)


def test_problems_beyond_their_samples_are_extrapolated_bounded_or_unknown():
    assert adaptive.EXTRAPOLATE_MIN_CORRECT == 5
    state = RunState(1024, np.array([32, 32, 32, 1024]), np.array([20, 1, 0, 0]))
    terms = state.terms(1024)
    # 20 of 32: pass@1024 is 1 for all practical purposes, with no variance to speak of.
    assert terms["est"][0] > 1 - 1e-12 and terms["var"][0] < 1e-12
    # 1 of 32 at k = n: the full tier's pass@n counts the problem as solved, exactly.
    assert terms["est"][1] == 1.0 and terms["half_width"][1] == 0.0 and not terms["unknown"][1]
    # 0 of 32: unknown, an interval [0, 1] carried as a bound.
    assert list(terms["unknown"]) == [False, False, True, False]
    value = state.value(1024)
    assert value.bound == pytest.approx(0.5 / 4)
    assert value.estimate == pytest.approx((terms["est"][0] + 1.0 + 0.5 + 0.0) / 4)
    # The unknown problem is the one the next round goes to; the saturated ones and the one at
    # n are not.
    assert list(state.wanted(1024)) == [False, False, True, False]
    # At pass@1 nothing is saturated: every problem below n goes up together.
    assert list(state.wanted(1)) == [True, True, True, False]
    # Below n (k <= n - c), one to four successes say nothing prior-free: unknown.
    below = RunState(1024, np.array([32, 32, 32]), np.array([1, 4, 5])).terms(608)
    assert below["unknown"].tolist() == [True, True, False]


@pytest.mark.parametrize("m, c, n, k", [(32, 1, 128, 128), (32, 3, 96, 95), (64, 2, 256, 255), (32, 1, 64, 64)])
def test_a_problem_solved_before_k_beyond_n_minus_c_is_certain_for_every_rest_of_its_samples(m, c, n, k):
    """Whatever the n - m samples still to come hold, the full tier's unbiased pass@k of a
    problem solved c times in its first m samples is 1 when k > n - c: the adaptive tier takes
    it as exactly that."""
    terms = RunState(n, np.array([m]), np.array([c])).terms(k)
    assert terms["est"][0] == 1.0 and terms["half_width"][0] == 0.0 and terms["remaining"][0] == 0.0
    rest = np.arange(0, n - m + 1)
    assert (stats.unbiased_pass_at_k(np.full(len(rest), n), c + rest, k) == 1.0).all()


def test_own_tests_spend_their_error_over_the_looks():
    z = stats.bonferroni_z(23)
    assert adaptive.spent_z(z, 2) == pytest.approx(z)
    alpha = 2 * (1 - NormalDist().cdf(z))
    assert 2 * (1 - NormalDist().cdf(adaptive.spent_z(z, 6))) == pytest.approx(alpha / 5)
    assert 1 - NormalDist().cdf(adaptive.spent_z(2.576, 4, sides=1)) == pytest.approx((1 - NormalDist().cdf(2.576)) / 3)


def _draws(p: dict, seed: int):
    rng = np.random.default_rng(seed)
    blocks = {run: rng.binomial(32, np.repeat(probs[:, None], 64, axis=1)).cumsum(axis=1) for run, probs in p.items()}

    def draw(run, idx, start, stop):
        before = blocks[run][idx, start // 32 - 1] if start else 0
        return blocks[run][idx, stop // 32 - 1] - before
    return draw, blocks


def _point(run, k, truth, n=1024):
    return PointCheck(("point", k), (Linear((Term(run, k),)),), truth, 0.00005, n, stats.bonferroni_z(4))


def test_large_k_points_leave_easy_problems_at_one_round_and_a_shifted_curve_fails_early():
    run = ("base", "bench")
    p = np.concatenate([np.full(20, 0.6), np.full(10, 0.02), np.full(10, 0.0)])
    truth = {k: float(np.mean(1 - (1 - p) ** k)) for k in (1, 16, 256, 1024)}
    draw, _ = _draws({run: p}, seed=3)
    outcome = run_adaptive([_point(run, k, truth[k]) for k in (256, 1024)], {run: 1024}, {run: len(p)}, draw)
    assert {d.verdict for d in outcome.decisions.values()} == {PASS}
    # Problems solved 60% of the time are saturated at k >= 256 after one round: they stay at 32;
    # the hard ones are the ones sampled.
    assert (outcome.states[run].m[:20] == 32).all()
    assert (outcome.states[run].m[20:] > 32).all()
    shifted = [_point(run, k, truth[k] + 0.15) for k in (1, 16)]
    outcome = run_adaptive(shifted, {run: 1024}, {run: len(p)}, draw)
    assert [d.verdict for d in outcome.decisions.values()] == [FAIL] * 2
    # A verdict that is sure is settled at the first look, with one round per problem.
    assert max(d.look for d in outcome.decisions.values()) == 0
    assert outcome.samples()[run] == 32 * len(p)


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


def test_settled_verdicts_are_the_full_tiers():
    """A panel whose paper values sit 0 to 3 points off the truth (near the tolerance, where a
    prediction can go wrong): in each of 30 reruns the adaptive verdict of every point is the
    verdict the full tier takes on all the samples, but for at most 2 (point, rerun) pairs."""

    run = ("base", "bench")
    p = np.concatenate([np.linspace(0.02, 0.98, 40), np.full(5, 0.003), np.full(5, 0.0)])
    ks, n = (1, 4, 16, 64, 256), 256
    offsets = dict(zip(ks, (0.0, 0.01, 0.02, 0.03, 0.015)))
    truth = {k: float(np.mean(1 - (1 - p) ** k)) + offsets[k] for k in ks}
    z = stats.bonferroni_z(len(ks))
    disagreements = 0
    for seed in range(30):
        draw, blocks = _draws({run: p}, seed=500 + seed)
        checks = [_point(run, k, truth[k], n=n) for k in ks]
        checks = [PointCheck(c.key, c.candidates, c.paper, c.paper_error, c.paper_n, z) for c in checks]
        outcome = run_adaptive(checks, {run: n}, {run: len(p)}, draw)
        counts = blocks[run][:, n // 32 - 1]
        values = metrics.pass_at_k_curve(np.full(len(p), n), counts, ks)
        variances = stats.curve_variances(np.full(len(p), n), counts, ks)
        for k in ks:
            tolerance = z * np.sqrt(2 * variances[k]) + 0.00005
            full = PASS if abs(values[k] - truth[k]) <= tolerance else FAIL
            disagreements += outcome.decisions[("point", k)].verdict != full
    assert disagreements <= 2


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


def test_the_benchmark_compares_every_adaptive_verdict_with_the_full_tier():
    """scripts/bench_adaptive.py on one rerun of a small experiment: every adaptive verdict has
    its full-tier counterpart (none unmatched), and the doctored rerun fails in both tiers."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "scripts" / "bench_adaptive.py"
    result = subprocess.run([sys.executable, str(script), "--reruns", "1", "--experiments", "math-oat-zero",
                             "--scenarios", "honest", "rl-wins"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if "math-oat-zero" in line}
    assert set(lines) == {"honest", "rl-wins"}
    assert all("unmatched 0" in line for line in lines.values())
    assert "any fail full 1.000 adaptive 1.000" in lines["rl-wins"]


def test_each_verdict_says_what_it_took_and_what_the_full_tier_spends():
    run = ("base", "bench")
    p = np.concatenate([np.full(20, 0.6), np.full(10, 0.02), np.full(10, 0.0)])
    draw, _ = _draws({run: p}, seed=3)
    early = _point(run, 1, float(np.mean(p)) + 0.15)
    late = _point(run, 1024, float(np.mean(1 - (1 - p) ** 1024)))
    outcome = run_adaptive([early, late], {run: 1024}, {run: len(p)}, draw)
    first, last = outcome.decisions[("point", 1)], outcome.decisions[("point", 1024)]
    assert first.full_samples == last.full_samples == 40 * 1024
    assert first.samples == 40 * 32  # settled at the first look
    assert first.samples < last.samples <= outcome.samples()[run]


def test_solved_sets_stop_a_problem_at_its_first_success_and_take_the_rest_to_n():
    a, b = ("rl", "bench"), ("base", "bench")
    p = np.concatenate([np.full(10, 0.5), np.full(5, 0.01), np.full(5, 0.0)])
    draw, blocks = _draws({a: p, b: p}, seed=11)
    outcome = run_adaptive([adaptive.SolvedStatus(("solved status",), frozenset({a, b}))], {a: 512, b: 512},
                           {a: 20, b: 20}, draw)
    assert outcome.decisions[("solved status",)].verdict == "full"
    for run in (a, b):
        state = outcome.states[run]
        full_solved = blocks[run][:, 512 // 32 - 1] > 0
        # The same solved set as the full tier's, from fewer samples: solved problems stopped
        # at the round that solved them, the never-solved ones went to n.
        assert ((state.c > 0) == full_solved).all()
        assert (state.m[state.c == 0] == 512).all()
        assert (state.m[:10] == 32).all()
        # A problem solved but rarely goes on until its chance of being solved in n (the weight
        # the full tier's rule gives it) is sure, or n.
        chances = np.array([stats.solved_probability(int(c), int(m), 512) for c, m in zip(state.c, state.m)])
        assert ((chances >= adaptive.SOLVED_SURE) | (state.m == 512)).all()
    rare = RunState(512, np.array([32, 32, 32]), np.array([1, 6, 0]))
    assert rare.status_open().tolist() == [True, False, True]


def test_solved_sets_weigh_each_problem_as_the_full_tier_does():
    """Tables 4 and 5 are judged against the disagreements expected from sampling alone, sum_i
    (s_i ? 1 - q_i : q_i), q_i a problem's chance of being solved in a draw of n from its counts.
    A problem solved once in 32 has a lower q_i than it gets at n: the adaptive samples must give
    the full tier's expectation, not only its solved set (30 reruns)."""
    from repro.results import RunResult

    run = ("rl", "bench")
    p = np.concatenate([np.full(20, 0.5), np.full(30, 0.03), np.full(10, 0.004), np.full(10, 0.0)])
    n, ids = 512, tuple(map(str, range(len(p))))
    worst = 0.0
    for seed in range(30):
        draw, blocks = _draws({run: p}, seed=700 + seed)
        outcome = run_adaptive([adaptive.SolvedStatus(("solved status",), frozenset({run}))], {run: n}, {run: len(p)}, draw)
        state = outcome.states[run]
        expected = []
        for m, c in ((np.full(len(p), n), blocks[run][:, n // 32 - 1]), (state.m, state.c)):
            result = RunResult(run[0], run[1], ids, tuple(range(len(p))), m, c)
            chance = result.solved_chances(n)
            expected.append(float(np.where(result.c > 0, 1 - chance, chance).sum()))
        worst = max(worst, abs(expected[0] - expected[1]))
        assert (outcome.states[run].c > 0).sum() == (blocks[run][:, n // 32 - 1] > 0).sum()
    assert worst < 0.05


def _own(check, rule):
    return PointCheck(check.key, check.candidates, check.paper, check.paper_error, check.paper_n, check.z_full, rule)


def test_own_tests_settle_small_k_points_early_within_their_resolution_only():
    """At k = 1 the full tier's verdict cannot be predicted from one round of 1,024 (the bound
    in docs/statistics.md); the adaptive tier's own test passes an on-target point there, but
    only when its tolerance is within the resolution it promises."""
    run = ("base", "bench")
    p = np.linspace(0.05, 0.95, 200)
    truth = float(np.mean(p))
    draw, _ = _draws({run: p}, seed=11)
    predicted = run_adaptive([_point(run, 1, truth)], {run: 1024}, {run: len(p)}, draw).decisions[("point", 1)]
    assert predicted.verdict == PASS and predicted.look > 0
    loose = adaptive.Rule(own_points=True, resolution=0.05)
    own = run_adaptive([_own(_point(run, 1, truth), loose)], {run: 1024}, {run: len(p)}, draw).decisions[("point", 1)]
    assert own.verdict == PASS and own.look == 0 and own.samples == 32 * len(p)
    tight = adaptive.Rule(own_points=True, resolution=0.001)
    strict = run_adaptive([_own(_point(run, 1, truth), tight)], {run: 1024}, {run: len(p)}, draw).decisions[("point", 1)]
    assert strict.look > 0
    # A curve 5 points off still fails, at the first look.
    off = run_adaptive([_own(_point(run, 1, truth + 0.05), loose)], {run: 1024}, {run: len(p)}, draw)
    assert off.decisions[("point", 1)].verdict == FAIL and off.decisions[("point", 1)].look == 0


def test_own_tests_keep_honest_false_alarms_at_the_stated_rate():
    run = ("base", "bench")
    p = np.concatenate([np.linspace(0.05, 0.95, 30), np.full(5, 0.005), np.full(5, 0.0)])
    truth = {k: float(np.mean(1 - (1 - p) ** k)) for k in (1, 8, 64, 512)}
    rule = adaptive.Rule(own_points=True, own_claims=True, resolution=0.03)
    alarms = 0
    for seed in range(40):
        draw, _ = _draws({run: p}, seed=300 + seed)
        checks = [_own(_point(run, k, truth[k], n=512), rule) for k in truth]
        outcome = run_adaptive(checks, {run: 512}, {run: len(p)}, draw)
        alarms += any(d.verdict == FAIL for d in outcome.decisions.values())
    assert alarms <= 3


def test_an_own_claim_test_holds_early_only_beyond_its_spent_error():
    a, b = ("rl", "bench"), ("base", "bench")
    rule = adaptive.Rule(own_claims=True)
    draw, _ = _draws({a: np.full(50, 0.7), b: np.full(50, 0.3)}, seed=5)
    clear = adaptive.AllOf(("claim",), (DirectionCheck(Linear((Term(a, 1), Term(b, 1, -1.0))), rule),))
    decision = run_adaptive([clear], {a: 1024, b: 1024}, {a: 50, b: 50}, draw).decisions[("claim",)]
    assert decision.verdict == HOLDS and decision.look == 0
    draw, _ = _draws({a: np.full(50, 0.3), b: np.full(50, 0.3)}, seed=9)
    tie = adaptive.AllOf(("claim",), (DirectionCheck(Linear((Term(a, 1), Term(b, 1, -1.0))), rule),))
    assert run_adaptive([tie], {a: 128, b: 128}, {a: 50, b: 50}, draw).decisions[("claim",)].look == len(ladder(128)) - 1


def test_printed_numbers_are_settled_with_the_full_tiers_z():
    """The full tier's Bonferroni z counts every number of a source it scores, solved-count
    cells included; the adaptive checks of the other numbers must use the same z (with a smaller
    one, a number near its tolerance failed here and passed there)."""
    from repro.benchmarks import get_benchmark
    from repro.compare import compare_printed
    from repro.experiments import EXPERIMENTS
    from repro.results import RunResult

    experiment = next(e for e in EXPERIMENTS if e.id == "math-zoo-qwen7b")
    runs = experiment.runs()
    rng = np.random.default_rng(0)
    results = {}
    for (arm, benchmark), n in runs.items():
        size = get_benchmark(benchmark).size
        results[(arm, benchmark)] = RunResult(arm, benchmark, tuple(map(str, range(size))), tuple(range(size)),
                                              np.full(size, n), rng.integers(0, n + 1, size))
    full = {("printed",) + tuple(ref.printed): comparison.z
            for ref, comparison in zip(experiment.printed, compare_printed(tuple(experiment.printed), results))}
    checks = [c for c in adaptive.checks_for(experiment, runs) if adaptive.check_key(c)[0] == "printed"]
    assert len(checks) >= 4
    for check in checks:
        assert check.z_full == pytest.approx(full[check.key])
    assert len({check.z_full for check in checks}) < len(checks)  # several numbers share a source
