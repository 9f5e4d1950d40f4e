"""The one-sided Mann-Whitney U (Wilcoxon rank-sum) test with its exact null distribution.

scipy is not a dependency of the package, and the test needs only the distribution of U under
the null hypothesis (both samples from one continuous distribution), which the recurrence of
Mann & Whitney (1947), p(m, n, u) = m/(m+n) p(m-1, n, u-n) + n/(m+n) p(m, n-1, u), gives
exactly; it is computed here in probabilities (not counts), so it cannot overflow.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np


@lru_cache(maxsize=64)
def u_distribution(m: int, n: int) -> np.ndarray:
    """P(U = u), u = 0..m*n, for samples of sizes m and n under the null hypothesis, where U
    counts the pairs (x_i, y_j) with x_i < y_j."""
    # row[j] holds the distribution for sizes (i, j) while i runs from 0 to m.
    row = [np.ones(1) for _ in range(n + 1)]  # i = 0: U = 0 for every j
    for i in range(1, m + 1):
        new = [np.ones(1)]  # j = 0: U = 0
        for j in range(1, n + 1):
            # The largest of all i + j values is an x (probability i/(i+j)): it precedes no y,
            # U unchanged from (i-1, j); or a y: it follows all i x's, U grows by i from (i, j-1).
            out = np.zeros(i * j + 1)
            out[: (i - 1) * j + 1] += i / (i + j) * row[j]
            out[i : i + i * (j - 1) + 1] += j / (i + j) * new[j - 1]
            new.append(out)
        row = new
    return row[n]


def u_statistic(x: Sequence[float], y: Sequence[float]) -> float:
    """Pairs with x_i < y_j, ties counted one half."""
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    less = (xs[:, None] < ys[None, :]).sum()
    ties = (xs[:, None] == ys[None, :]).sum()
    return float(less + 0.5 * ties)


def p_x_smaller(x: Sequence[float], y: Sequence[float]) -> float:
    """One-sided p-value of "x tends to be smaller than y": P(U >= u observed) under the null.
    With ties between the samples U may be a half-integer; it is rounded down, which makes the
    p-value conservative."""
    if not len(x) or not len(y):
        raise ValueError("the rank test needs two non-empty samples")
    distribution = u_distribution(len(x), len(y))
    return float(min(1.0, distribution[math.floor(u_statistic(x, y)):].sum()))
