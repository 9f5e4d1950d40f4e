"""pass@k, histograms and coverage against brute force."""

from __future__ import annotations

import itertools
from fractions import Fraction
from math import comb

import numpy as np
import pytest

from repro import metrics


def brute_force_pass_at_k(outcomes: list[bool], k: int) -> float:
    """Fraction of all k-subsets of the samples that contain a correct one."""
    subsets = list(itertools.combinations(range(len(outcomes)), k))
    return sum(any(outcomes[i] for i in subset) for subset in subsets) / len(subsets)


@pytest.mark.parametrize("n", range(1, 9))
def test_pass_at_k_equals_enumeration_for_small_n(n):
    for c in range(n + 1):
        outcomes = [True] * c + [False] * (n - c)
        for k in range(1, n + 1):
            expected = brute_force_pass_at_k(outcomes, k)
            assert metrics.pass_at_k([n], [c], k) == pytest.approx(expected, abs=1e-12)
            assert metrics.pass_at_k_table([n], [c], k)[0, k - 1] == pytest.approx(expected, abs=1e-12)


def test_curve_is_mean_over_problems():
    n, c = [10, 10, 10], [0, 3, 10]
    curve = metrics.pass_at_k_curve(n, c, [1, 5])
    assert curve[1] == pytest.approx((0 + 0.3 + 1) / 3)
    assert curve[5] == pytest.approx((0 + (1 - comb(7, 5) / comb(10, 5)) + 1) / 3)


@pytest.mark.parametrize("c", [0, 1, 2, 7, 100, 1024, 2047, 2048])
def test_stable_and_exact_for_n_2048(c):
    n = 2048
    ks = [1, 2, 16, 256, 1024, 2048]
    table = metrics.pass_at_k_table([n], [c], 2048)[0]
    for k in ks:
        exact = 1 - Fraction(comb(n - c, k), comb(n, k))
        assert table[k - 1] == pytest.approx(float(exact), abs=1e-12)
        assert metrics.pass_at_k([n], [c], k) == pytest.approx(float(exact), abs=1e-12)
    assert np.all(np.diff(table) >= -1e-15), "pass@k must not decrease with k"
    assert np.all((table >= 0) & (table <= 1))


def test_rejects_impossible_inputs():
    with pytest.raises(ValueError):
        metrics.pass_at_k([4], [5], 1)
    with pytest.raises(ValueError):
        metrics.pass_at_k([4], [1], 5)
    with pytest.raises(ValueError):
        metrics.pass_at_k([4], [1], 0)


def test_histogram_bins_follow_the_paper():
    n = 100
    cases = {0: 0, 1: 1, 10: 1, 11: 2, 50: 5, 90: 9, 91: 10, 99: 10, 100: 11}
    for c, expected_bin in cases.items():
        assert metrics.accuracy_bin(n, c) == expected_bin, (c, metrics.HISTOGRAM_BINS[expected_bin])
    assert metrics.accuracy_histogram([n] * 3, [0, 0, 100]) == [2] + [0] * 10 + [1]


def test_solved_set():
    assert metrics.solved_set(["a", "b", "c"], [0, 2, 1]) == {"b", "c"}
