"""pass@k, coverage sets and accuracy histograms from per-problem counts.

All estimates are computed in float64 from raw counts (n_i samples, c_i correct) and
rounded only for display.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

# The paper's accuracy bins (Fig 5, Fig 13): exactly 0, (0,0.1], (0.1,0.2], ..., (0.8,0.9],
# (0.9,1) and exactly 1.
HISTOGRAM_BINS = (
    "0.0",
    "(0.0,0.1]",
    "(0.1,0.2]",
    "(0.2,0.3]",
    "(0.3,0.4]",
    "(0.4,0.5]",
    "(0.5,0.6]",
    "(0.6,0.7]",
    "(0.7,0.8]",
    "(0.8,0.9]",
    "(0.9,1.0)",
    "1.0",
)


def pass_at_k_per_problem(n: Sequence[int] | np.ndarray, c: Sequence[int] | np.ndarray, k: int) -> np.ndarray:
    """Unbiased estimate of 1-(1-p)^k for each problem (Chen et al. 2021).

    Uses the product form 1 - prod_{j=n-c+1}^{n} (1 - k/j), which never forms a binomial
    coefficient and is exact (1.0) when fewer than k samples are wrong.
    """
    n_arr = np.asarray(n, dtype=np.int64)
    c_arr = np.asarray(c, dtype=np.int64)
    if n_arr.shape != c_arr.shape:
        raise ValueError("n and c must have the same shape")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if np.any(c_arr < 0) or np.any(c_arr > n_arr):
        raise ValueError("counts must satisfy 0 <= c <= n")
    if np.any(n_arr < k):
        raise ValueError(f"pass@{k} needs at least {k} samples per problem (smallest n is {n_arr.min()})")
    out = np.empty(n_arr.shape, dtype=np.float64)
    for i, (ni, ci) in enumerate(zip(n_arr.ravel(), c_arr.ravel())):
        out.flat[i] = _pass_at_k_one(int(ni), int(ci), k)
    return out


def _pass_at_k_one(n: int, c: int, k: int) -> float:
    if n - c < k:
        return 1.0
    if c == 0:
        return 0.0
    denominators = np.arange(n - c + 1, n + 1, dtype=np.float64)
    return float(1.0 - np.prod(1.0 - k / denominators))


def pass_at_k(n: Sequence[int], c: Sequence[int], k: int) -> float:
    """Mean pass@k over problems (a point of a curve)."""
    return float(np.mean(pass_at_k_per_problem(n, c, k)))


def pass_at_k_table(n: Sequence[int], c: Sequence[int], max_k: int | None = None) -> np.ndarray:
    """Per-problem pass@k for every k = 1..max_k at once: shape (problems, max_k).

    One cumulative product per problem gives all k, so a whole curve costs O(N * n).
    Column k-1 holds pass@k.
    """
    n_arr = np.asarray(n, dtype=np.int64)
    c_arr = np.asarray(c, dtype=np.int64)
    max_k = int(n_arr.min()) if max_k is None else max_k
    if max_k > n_arr.min():
        raise ValueError(f"pass@{max_k} needs at least {max_k} samples per problem")
    table = np.empty((len(n_arr), max_k), dtype=np.float64)
    ks = np.arange(1, max_k + 1, dtype=np.float64)
    # Problems with the same (n, c) share their row: at large n most problems of a benchmark
    # repeat a few counts (never or always solved), and each row costs O(max_k * c).
    rows: dict[tuple[int, int], np.ndarray] = {}
    for row, key in enumerate(zip(n_arr.tolist(), c_arr.tolist())):
        if key not in rows:
            rows[key] = _all_k_one(key[0], key[1], ks)
        table[row] = rows[key]
    return table


def _all_k_one(n: int, c: int, ks: np.ndarray) -> np.ndarray:
    """pass@k for all k in `ks` for one problem, via log-space sums (stable for n=2048).

    1 - pass@k = prod_{j=n-c+1}^{n} (1 - k/j) = C(n-c, k) / C(n, k); for k > n - c it is 0.
    """
    if c == 0:
        return np.zeros_like(ks)
    result = np.ones_like(ks)
    feasible = ks <= n - c
    if not np.any(feasible):
        return result
    k_ok = ks[feasible]
    j = np.arange(n - c + 1, n + 1, dtype=np.float64)
    # log(1 - k/j) summed over j, for each k; 1 - k/j > 0 because k <= n - c < j.
    log_fail = np.log1p(-k_ok[:, None] / j[None, :]).sum(axis=1)
    result[feasible] = -np.expm1(log_fail)
    return result


def pass_at_k_curve(n: Sequence[int], c: Sequence[int], ks: Iterable[int]) -> dict[int, float]:
    """Mean pass@k at each requested k (every k must be <= the smallest n)."""
    ks = sorted(set(int(k) for k in ks))
    if not ks:
        return {}
    table = pass_at_k_table(n, c, max(ks))
    means = table.mean(axis=0)
    return {k: float(means[k - 1]) for k in ks}


def solved_set(problem_ids: Sequence[str], c: Sequence[int]) -> frozenset[str]:
    """Problems solved at least once (the paper's coverage, Tables 4 and 5)."""
    return frozenset(pid for pid, ci in zip(problem_ids, c) if ci > 0)


def accuracy_bin(n: int, c: int) -> int:
    """Index into HISTOGRAM_BINS of a problem's accuracy c/n."""
    if c == 0:
        return 0
    if c == n:
        return len(HISTOGRAM_BINS) - 1
    # (j/10, (j+1)/10] -> bin j+1, compared in integers to avoid float edge errors;
    # accuracies in (0.9, 1) fall in bin 10 by the clamp.
    j = (10 * c - 1) // n  # largest j with j/10 < c/n
    return min(int(j) + 1, len(HISTOGRAM_BINS) - 2)


def accuracy_histogram(n: Sequence[int], c: Sequence[int]) -> list[int]:
    """Number of problems in each of the paper's accuracy bins."""
    counts = [0] * len(HISTOGRAM_BINS)
    for ni, ci in zip(n, c):
        counts[accuracy_bin(int(ni), int(ci))] += 1
    return counts
