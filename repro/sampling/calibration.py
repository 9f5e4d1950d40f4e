"""Per-problem success probabilities whose pass@k curve matches a given curve.

The smoke tier's simulated backend uses them so that a simulated run has the shape of the
paper's curves: comparing it with the paper then exercises every verdict path with
realistic numbers. They are a fit, not a claim about the real models.

Method: a curve is a mixture, over problems, of the functions k -> 1-(1-p)^k. We fit
non-negative mixture weights on a fixed grid of p (non-negative least squares, with the
weights' sum tied to 1 by a heavily weighted extra row), give each of the N problems the
p at its quantile of the fitted mixture, then correct what N discrete problems miss:
single problems move between grid values (small benchmarks), and finally all move
continuously (Gauss-Newton). Fit errors on the paper's curves: at most 0.3 points for
AIME24 and AMC23 (30 and 40 problems), less for larger benchmarks.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

# p = 0 plus a log-spaced grid from 1e-5 to 1: large-k curves are decided by rare successes.
_GRID = np.concatenate([[0.0], np.logspace(-5, 0, 160)])
_SUM_TO_ONE_WEIGHT = 100.0
# Above this many problems, quantiles alone are within 1/(2N) of the curve, and moving
# problems one at a time (a Python loop) would cost seconds.
_MAX_PROBLEMS_MOVED = 400


def fit_success_probabilities(curve: Mapping[int, float], count: int) -> np.ndarray:
    """`count` probabilities, sorted from easiest to hardest, whose mean 1-(1-p)^k is close
    to curve[k] at every k of the curve."""
    if not curve:
        raise ValueError("need at least one curve point to fit")
    ks = np.array(sorted(curve), dtype=np.float64)
    targets = np.array([curve[int(k)] for k in ks], dtype=np.float64)
    basis = 1.0 - (1.0 - _GRID[None, :]) ** ks[:, None]  # (K, J)
    design = np.vstack([basis, _SUM_TO_ONE_WEIGHT * np.ones((1, len(_GRID)))])
    wanted = np.concatenate([targets, [_SUM_TO_ONE_WEIGHT]])
    weights = nonnegative_least_squares(design, wanted)
    weights = weights / weights.sum()
    start = _quantiles_of_mixture(weights, count)
    if count <= _MAX_PROBLEMS_MOVED:
        start = _move_one_at_a_time(start, ks, targets)
    return _refine(start, ks, targets)


def _quantiles_of_mixture(weights: np.ndarray, count: int) -> np.ndarray:
    """p of each of `count` problems, easiest first: problem r takes the mixture's
    quantile at (r + 1/2) / count, counted from the largest p down."""
    order = np.argsort(_GRID)[::-1]
    cumulative = np.cumsum(weights[order])
    levels = (np.arange(count) + 0.5) / count
    picks = np.searchsorted(cumulative, levels, side="left")
    return _GRID[order][np.minimum(picks, len(order) - 1)]


def _move_one_at_a_time(p: np.ndarray, ks: np.ndarray, targets: np.ndarray, sweeps: int = 4) -> np.ndarray:
    """Coordinate descent over the grid: move single problems to the grid value that most
    reduces the squared error. Quantiles leave groups of identical problems that a smooth
    method cannot separate; this step can (e.g. make one never-solved problem rare-solved
    when the curve's large-k end asks for it)."""
    p = p.copy()
    count = len(p)
    basis = 1.0 - (1.0 - _GRID[None, :]) ** ks[:, None]  # (K, G)
    curve = (1.0 - (1.0 - p[None, :]) ** ks[:, None]).mean(axis=1)
    for _ in range(sweeps):
        moved = False
        for i in range(count):
            own = 1.0 - (1.0 - p[i]) ** ks
            trial = (curve - own / count)[:, None] + basis / count  # curve with problem i at each grid p
            errors = ((trial - targets[:, None]) ** 2).sum(axis=0)
            best = int(np.argmin(errors))
            if errors[best] < ((curve - targets) ** 2).sum() - 1e-15:
                p[i] = _GRID[best]
                curve = trial[:, best]
                moved = True
        if not moved:
            break
    return p


def _refine(p: np.ndarray, ks: np.ndarray, targets: np.ndarray, steps: int = 60) -> np.ndarray:
    """Nudge the problems' probabilities so their mean curve meets the targets.

    Quantiles of a mixture over N problems miss the curve by up to about 1/(2N); small
    benchmarks (AIME's 30 problems) need this step. Gauss-Newton in logit space with the
    minimum-norm step (fewer equations than problems). Problems at p = 0 start at
    p = 1e-6 so that they can move when the curve's large-k end asks for it; always-solved
    problems (p = 1) stay fixed.
    """
    p = np.where(p == 0.0, 1e-6, p)
    active = p < 1
    if not active.any():
        return p
    theta = np.log(p[active] / (1 - p[active]))
    count = len(p)
    fixed_sum = (1.0 - (1.0 - p[~active][None, :]) ** ks[:, None]).sum(axis=1)
    def residual_of(theta_values: np.ndarray) -> np.ndarray:
        q = 1.0 / (1.0 + np.exp(-theta_values))
        return (fixed_sum + (1.0 - (1.0 - q)[None, :] ** ks[:, None]).sum(axis=1)) / count - targets

    residual = residual_of(theta)
    for _ in range(steps):
        if np.max(np.abs(residual)) < 1e-7:
            break
        q = 1.0 / (1.0 + np.exp(-theta))
        # d mean / d theta_i = k (1 - q)^(k - 1) q (1 - q) / N = k (1 - q)^k q / N
        jacobian = ks[:, None] * (1.0 - q)[None, :] ** ks[:, None] * q[None, :] / count
        gram = jacobian @ jacobian.T
        step = jacobian.T @ np.linalg.solve(gram + 1e-10 * np.trace(gram) * np.eye(len(ks)), residual)
        # Backtrack: the curve is far from linear in theta, so take a full step only if it helps.
        scale = 1.0
        while scale > 1e-4:
            candidate = np.clip(theta - scale * step, -30.0, 30.0)
            candidate_residual = residual_of(candidate)
            if np.sum(candidate_residual**2) < np.sum(residual**2):
                theta, residual = candidate, candidate_residual
                break
            scale /= 2
        else:
            break
    out = p.copy()
    out[active] = 1.0 / (1.0 + np.exp(-theta))
    return out


def nonnegative_least_squares(a: np.ndarray, b: np.ndarray, max_iterations: int = 500) -> np.ndarray:
    """min ||a x - b|| subject to x >= 0 (the active-set method of Lawson and Hanson, 1974)."""
    rows, cols = a.shape
    x = np.zeros(cols)
    passive = np.zeros(cols, dtype=bool)
    tolerance = 1e-12 * max(1.0, np.abs(a).max()) * max(rows, cols)
    for _ in range(max_iterations):
        gradient = a.T @ (b - a @ x)
        candidates = ~passive & (gradient > tolerance)
        if not candidates.any():
            break
        passive[np.argmax(np.where(candidates, gradient, -np.inf))] = True
        while True:
            z = np.zeros(cols)
            z[passive] = np.linalg.lstsq(a[:, passive], b, rcond=None)[0]
            if (z[passive] > 0).all():
                x = z
                break
            # Step back towards x until a passive variable hits zero, then drop it.
            shrinking = passive & (z <= 0)
            alpha = np.min(x[shrinking] / (x[shrinking] - z[shrinking]))
            x = x + alpha * (z - x)
            passive &= x > tolerance
            x[~passive] = 0.0
    return x


def probabilities_from_histogram(problems_per_bin: list[int], count: int) -> np.ndarray:
    """`count` probabilities, easiest first, spread over the paper's 12 accuracy bins in the
    histogram's proportions; a problem takes its bin's middle (0 and 1 for the end bins)."""
    if len(problems_per_bin) != 12 or sum(problems_per_bin) <= 0:
        raise ValueError("need the 12 bin counts of a non-empty histogram")
    middles = np.array([0.0] + [(j - 0.5) / 10 for j in range(1, 11)] + [1.0])
    weights = np.array(problems_per_bin, dtype=np.float64)
    order = np.argsort(middles)[::-1]
    cumulative = np.cumsum(weights[order]) / weights.sum()
    levels = (np.arange(count) + 0.5) / count
    return middles[order][np.minimum(np.searchsorted(cumulative, levels), len(order) - 1)]
