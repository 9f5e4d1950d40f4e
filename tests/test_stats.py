"""The variance model behind every tolerance, against direct numerical integration and
simulation."""

from __future__ import annotations

from math import comb

import numpy as np
import pytest

from repro import metrics, stats


def conditional_variance(p: float, m: int, k: int) -> float:
    """Var of the unbiased pass@k estimate from m samples when the success probability is p."""
    c = np.arange(m + 1)
    pmf = np.array([comb(m, int(j)) * p**j * (1 - p) ** (m - j) for j in c])
    est = metrics.pass_at_k_table(np.full(m + 1, m), c, k)[:, k - 1]
    return float(pmf @ est**2 - (pmf @ est) ** 2)


def posterior_expected_variance_by_quadrature(c: int, n: int, m: int, k: int) -> float:
    """E over p ~ Beta(c+1/2, n-c+1/2) of the conditional variance, by brute-force
    integration. The density's p^(-1/2) edges are removed by substituting p = t^2 on
    [0, 1/2] and p = 1 - s^2 on [1/2, 1], which leaves smooth integrands."""

    def integrate(weight_and_value):
        return sum(np.trapezoid(w * v, x) for x, w, v in weight_and_value)

    t = np.linspace(0.0, np.sqrt(0.5), 1001)
    s = np.linspace(0.0, np.sqrt(0.5), 1001)
    p_low, p_high = t**2, 1 - s**2
    # Jacobians: dp = 2t dt and dp = -2s ds (orientation handled by integrating over s).
    w_low = 2 * t ** (2 * c) * (1 - p_low) ** (n - c - 0.5)
    w_high = 2 * s ** (2 * (n - c)) * p_high ** (c - 0.5)
    v_low = np.array([conditional_variance(float(p), m, k) for p in p_low])
    v_high = np.array([conditional_variance(float(p), m, k) for p in p_high])
    numerator = integrate([(t, w_low, v_low), (s, w_high, v_high)])
    denominator = integrate([(t, w_low, 1.0), (s, w_high, 1.0)])
    return float(numerator / denominator)


@pytest.mark.parametrize("c,n,m,k", [(0, 8, 8, 1), (0, 8, 8, 8), (3, 8, 8, 2), (8, 8, 8, 4), (2, 6, 12, 5)])
def test_posterior_variance_matches_numerical_integration(c, n, m, k):
    exact = stats.problem_variances(c, n, m, [k])[0]
    numeric = posterior_expected_variance_by_quadrature(c, n, m, k)
    assert exact == pytest.approx(numeric, rel=0.02, abs=1e-5)


def test_unsolved_problems_keep_a_positive_variance():
    # The plug-in p = 0 would claim certainty; the posterior does not.
    assert stats.problem_variances(0, 128, 128, [128])[0] > 0.05
    assert stats.problem_variances(128, 128, 128, [1])[0] > 0


def test_curve_variance_predicts_the_spread_of_reruns():
    rng = np.random.default_rng(7)
    p = rng.beta(0.4, 1.2, size=200)
    n, ks = 32, [1, 4, 32]
    values = {k: [] for k in ks}
    predicted = {k: [] for k in ks}
    for _ in range(300):
        c = rng.binomial(n, p)
        curve = metrics.pass_at_k_curve(np.full(len(p), n), c, ks)
        variances = stats.curve_variances(np.full(len(p), n), c, ks)
        for k in ks:
            values[k].append(curve[k])
            predicted[k].append(variances[k])
    for k in ks:
        observed_sd = np.std(values[k])
        predicted_sd = np.sqrt(np.mean(predicted[k]))
        # Posterior averaging is meant to be somewhat conservative, never optimistic.
        assert 0.85 * observed_sd <= predicted_sd <= 1.8 * observed_sd, (k, observed_sd, predicted_sd)


def test_bonferroni_z_grows_with_points():
    assert stats.bonferroni_z(1) == pytest.approx(1.96, abs=0.01)
    assert stats.bonferroni_z(30) > stats.bonferroni_z(10) > stats.bonferroni_z(1)


def test_large_n_is_fast_and_finite():
    n = np.full(500, 2048)
    c = np.random.default_rng(0).integers(0, 2049, size=500)
    variances = stats.curve_variances(n, c, [1, 256, 2048])
    assert all(np.isfinite(v) and v >= 0 for v in variances.values())
