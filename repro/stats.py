"""Sampling variance of pass@k estimates, for tolerances and claim verdicts.

Method (see docs/statistics.md for the argument):
- Problems are held fixed (the rerun and the paper use the same benchmark), so only the
  sampling of completions separates two runs.
- For problem i with c_i of n_i correct we take the Jeffreys posterior
  p_i ~ Beta(c_i + 1/2, n_i - c_i + 1/2) and compute the posterior expectation of the exact
  conditional variance Var(est_{m,k}(C) | p_i), C ~ Binomial(m, p_i), of the unbiased
  estimator computed from m samples. Averaging over the posterior keeps the variance
  honest for problems solved never or always (the plug-in p = c/n would give 0 there).
  The expectation is exact: E_post[P(C = c')] is the beta-binomial pmf, and
  E_post[(1-p)^j] = B(a, b + j) / B(a, b).
- A curve point is a mean over N problems, so its variance is sum_i Var_i / N^2.

Every log-gamma needed is at an integer or a half-integer (the Jeffreys prior adds 1/2),
so they come from two cumulative-sum tables instead of per-element calls.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache
from math import lgamma
from statistics import NormalDist

import numpy as np

# Default family-wise false-alarm rate of a panel: the chance that an honest rerun shows
# any point outside its tolerance somewhere in a panel is at most this (Bonferroni).
PANEL_FALSE_ALARM_RATE = 0.05


@lru_cache(maxsize=8)
def _log_factorial_table(size: int) -> np.ndarray:
    """log(j!) for j = 0..size-1."""
    table = np.zeros(size, dtype=np.float64)
    table[1:] = np.cumsum(np.log(np.arange(1, size, dtype=np.float64)))
    return table


@lru_cache(maxsize=8)
def _log_gamma_half_table(size: int) -> np.ndarray:
    """lgamma(j + 1/2) for j = 0..size-1."""
    table = np.empty(size, dtype=np.float64)
    table[0] = lgamma(0.5)
    table[1:] = table[0] + np.cumsum(np.log(np.arange(1, size, dtype=np.float64) - 0.5))
    return table


def _table_size(n: int, m: int, k: int) -> int:
    # Largest argument used: n + m (beta-binomial) and n + 2k (moments); round up so the
    # cache is shared between nearby calls.
    need = max(n + m, n + 2 * k) + 2
    return 1 << max(need - 1, 1).bit_length()


@lru_cache(maxsize=64)
def _estimator_matrix(m: int, ks: tuple[int, ...]) -> np.ndarray:
    """est_{m,k}(c) = 1 - C(m-c, k)/C(m, k) for each k in ks (rows) and c = 0..m (columns)."""
    lf = _log_factorial_table(_table_size(0, m, 0))
    c = np.arange(m + 1)
    out = np.ones((len(ks), m + 1), dtype=np.float64)
    for row, k in enumerate(ks):
        ok = (m - c) >= k
        cc = c[ok]
        log_ratio = lf[m - cc] - lf[m - cc - k] - lf[m] + lf[m - k]
        out[row, ok] = -np.expm1(log_ratio)
    return out


def _posterior_predictive_pmf(c: int, n: int, m: int) -> np.ndarray:
    """P(C' = c') for c' = 0..m, C' ~ Binomial(m, p), p ~ Beta(c + 1/2, n - c + 1/2)."""
    size = _table_size(n, m, 0)
    lf = _log_factorial_table(size)
    lgh = _log_gamma_half_table(size)
    cp = np.arange(m + 1)
    log_pmf = (
        lf[m] - lf[cp] - lf[m - cp]
        + lgh[cp + c] + lgh[m - cp + n - c] - lf[m + n]
        - (lgh[c] + lgh[n - c] - lf[n])
    )
    pmf = np.exp(log_pmf)
    return pmf / pmf.sum()


def _posterior_failure_moment(c: int, n: int, power: int) -> float:
    """E[(1-p)^power] for p ~ Beta(c + 1/2, n - c + 1/2)."""
    size = _table_size(n, 0, power)
    lf = _log_factorial_table(size)
    lgh = _log_gamma_half_table(size)
    f = n - c
    return float(np.exp(lgh[f + power] - lgh[f] - lf[n + power] + lf[n]))


def problem_variances(c: int, n: int, m: int, ks: Sequence[int]) -> np.ndarray:
    """Posterior-expected variance of one problem's pass@k estimate made from m samples,
    for each k in ks, given that c of n observed samples were correct."""
    if not 0 <= c <= n or n < 1:
        raise ValueError("need 0 <= c <= n and n >= 1")
    ks = tuple(int(k) for k in ks)
    if any(k < 1 or k > m for k in ks):
        raise ValueError(f"every k must be in 1..{m} to be estimated from {m} samples")
    pmf = _posterior_predictive_pmf(c, n, m)
    second_moment = (_estimator_matrix(m, ks) ** 2) @ pmf
    mean_square = np.array(
        [
            1.0 - 2.0 * _posterior_failure_moment(c, n, k) + _posterior_failure_moment(c, n, 2 * k)
            for k in ks
        ]
    )
    return np.maximum(second_moment - mean_square, 0.0)


def curve_variances(
    n: Sequence[int], c: Sequence[int], ks: Iterable[int], m: int | None = None
) -> dict[int, float]:
    """Variance of each curve point (mean pass@k over problems) for an estimate made from
    m samples per problem (default: each problem's observed n), given counts (n, c)."""
    ks = tuple(sorted(set(int(k) for k in ks)))
    if not ks:
        return {}
    groups = Counter((int(ci), int(ni), int(ni) if m is None else int(m)) for ni, ci in zip(n, c))
    total = np.zeros(len(ks), dtype=np.float64)
    for (ci, ni, mi), count in groups.items():
        total += count * problem_variances(ci, ni, mi, ks)
    problems = sum(groups.values())
    return {k: float(v) / problems**2 for k, v in zip(ks, total)}


def bonferroni_z(points: int, family_rate: float = PANEL_FALSE_ALARM_RATE) -> float:
    """Two-sided z such that `points` tests together raise a false alarm with probability
    at most `family_rate`, whatever their correlation."""
    points = max(int(points), 1)
    return NormalDist().inv_cdf(1.0 - family_rate / (2.0 * points))


def predictive_count_pmf(c: int, n: int, m: int) -> np.ndarray:
    """P(C' = c') for c' = 0..m: how many of m new samples of a problem would be correct, given
    c of n observed (Jeffreys posterior, as everywhere in this module)."""
    if not 0 <= c <= n or n < 1 or m < 1:
        raise ValueError("need 0 <= c <= n, n >= 1 and m >= 1")
    return _posterior_predictive_pmf(int(c), int(n), int(m))


def solved_probability(c: int, n: int, m: int) -> float:
    """P(at least one of m new samples is correct), given c of n observed: 1 - E[(1-p)^m]."""
    if not 0 <= c <= n or n < 1 or m < 1:
        raise ValueError("need 0 <= c <= n, n >= 1 and m >= 1")
    return 1.0 - _posterior_failure_moment(int(c), int(n), int(m))


def subset_share_variance(share: float, subset: int, population: int) -> float:
    """Variance of a share of problems measured on `subset` of a benchmark's `population`
    problems, as if the subset were drawn at random without replacement (a stand-in tier runs
    the first problems only; 0 when the rerun has them all): share (1 - share) / subset times the
    finite-population correction."""
    if subset >= population:
        return 0.0
    return share * (1.0 - share) / subset * (population - subset) / (population - 1)


def posterior_failure_moments(c: np.ndarray, n: np.ndarray, power: int) -> np.ndarray:
    """E[(1-p)^power] for each problem, p ~ Beta(c + 1/2, n - c + 1/2) (vectorized
    `_posterior_failure_moment`): the posterior chance that `power` new samples all fail."""
    c, n = np.asarray(c, dtype=np.int64), np.asarray(n, dtype=np.int64)
    if c.shape != n.shape or np.any(c < 0) or np.any(c > n) or np.any(n < 1) or power < 0:
        raise ValueError("need arrays of equal shape with 0 <= c <= n, n >= 1, and power >= 0")
    size = _table_size(int(n.max(initial=1)), 0, power)
    lf, lgh = _log_factorial_table(size), _log_gamma_half_table(size)
    f = n - c
    return np.exp(lgh[f + power] - lgh[f] - lf[n + power] + lf[n])


def unbiased_pass_at_k(n: np.ndarray, c: np.ndarray, k: int) -> np.ndarray:
    """Chen et al.'s 1 - C(n-c, k) / C(n, k) for each problem (vectorized; every n >= k), from
    the log-factorial table: the same values as repro.metrics.pass_at_k_per_problem."""
    c, n = np.asarray(c, dtype=np.int64), np.asarray(n, dtype=np.int64)
    if c.shape != n.shape or np.any(c < 0) or np.any(c > n) or np.any(n < k) or k < 1:
        raise ValueError(f"need 0 <= c <= n and n >= k = {k}")
    lf = _log_factorial_table(_table_size(int(n.max(initial=1)), 0, 0))
    out = np.ones(n.shape, dtype=np.float64)
    some_fail = (n - c) >= k
    f, m = (n - c)[some_fail], n[some_fail]
    out[some_fail] = -np.expm1(lf[f] - lf[f - k] - lf[m] + lf[m - k])
    return out
