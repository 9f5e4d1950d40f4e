"""Claim 4 (paper §4.1, Figure 6): "PPL_Base(Y_RL | x) closely matches the lower portion of
the PPL_Base(Y_Base | x) distribution", as a predicate with a stated test.

For one problem, with x = the base model's perplexities on the RL model's responses and y =
its perplexities on its own responses:

- holds: median(x) <= the q-th quantile of y (q = 0.5: the RL responses sit in the lower
  half of what the base model finds likely) and a one-sided Mann-Whitney U test of "x tends
  to be smaller than y" gives p < alpha (alpha = 0.05), so the shift is beyond the noise of
  16 + 16 responses;
- fails: median(x) > the q-th quantile of y and the opposite one-sided test gives p < alpha
  (the RL responses are shown to sit in the upper part);
- inconclusive: anything else.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from repro.claims import FAILS, HOLDS, INCONCLUSIVE, NOT_RUN, ClaimVerdict, combine
from repro.rank_test import p_x_smaller

CLAIM = 4
TEXT = "PPL_base(Y_RL) falls in the low part of PPL_base(Y_base)"
QUANTILE = 0.5
ALPHA = 0.05


def low_part_verdict(ppl_base_on_rl: Sequence[float], ppl_base_on_base: Sequence[float], scope: str,
                     quantile: float = QUANTILE, alpha: float = ALPHA) -> ClaimVerdict:
    if len(ppl_base_on_rl) == 0 or len(ppl_base_on_base) == 0:
        return ClaimVerdict(CLAIM, TEXT, scope, NOT_RUN, "no scored responses")
    x, y = np.asarray(ppl_base_on_rl, dtype=float), np.asarray(ppl_base_on_base, dtype=float)
    median, bound = float(np.median(x)), float(np.quantile(y, quantile))
    p_lower, p_higher = p_x_smaller(x, y), p_x_smaller(y, x)
    if median <= bound and p_lower < alpha:
        verdict = HOLDS
    elif median > bound and p_higher < alpha:
        verdict = FAILS
    else:
        verdict = INCONCLUSIVE
    evidence = (f"median PPL_base(Y_RL) {median:.4g} vs the {quantile:g}-quantile of PPL_base(Y_base) {bound:.4g}; "
                f"one-sided Mann-Whitney p = {p_lower:.2g} (RL lower), {p_higher:.2g} (RL higher); "
                f"n = {len(x)} + {len(y)}, alpha {alpha:g}")
    return ClaimVerdict(CLAIM, TEXT, scope, verdict, evidence)


def overall(verdicts: Sequence[ClaimVerdict]) -> str:
    """One verdict over the problems (every problem must hold for the claim to hold)."""
    return combine([verdict.verdict for verdict in verdicts])
