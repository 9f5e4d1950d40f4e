"""Perplexity and output entropy from per-token scores (repro.sampling.base.ResponseScores).

Perplexity, paper §4.1 (v2 p. 8): PPL_m(Y | x) = exp(-(1/T) sum_t log P_m(y_t | x, y_<t)),
the exponentiated mean negative log-likelihood of the T response tokens given the prompt.

Output entropy, paper §4.5 and Figure 17: the paper gives no formula. It cites DAPO (Yu et
al., 2025) and its Figure 18 plots verl's "actor generation entropy"; verl computes, for each
response token, the entropy of the full next-token distribution softmax(logits / T) at the
sampling temperature T, and averages over all response tokens of the batch ("token-mean").
That is the definition used here: `token_mean_entropy` over the responses sampled at T,
each position's entropy computed from the whole vocabulary at that same T
(docs/analysis.md says what is exact and what is a choice).
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def perplexity(logprobs: Sequence[float]) -> float:
    """exp of the mean negative log-probability (natural log) of a response's tokens."""
    if not logprobs:
        raise ValueError("perplexity of an empty response is undefined")
    return math.exp(-math.fsum(logprobs) / len(logprobs))


def token_mean_entropy(entropies: Sequence[Sequence[float]]) -> float:
    """Mean per-token entropy over every token of every response (responses weigh by their
    length, as verl's token-mean does)."""
    return token_mean_of_sums([math.fsum(response) for response in entropies], [len(r) for r in entropies])


def token_mean_of_sums(sums: Sequence[float], counts: Sequence[int]) -> float:
    """The same token-mean from per-response sums and token counts (what the stages keep)."""
    count = sum(counts)
    if count == 0:
        raise ValueError("no response tokens to average the entropy over")
    return math.fsum(sums) / count


def token_mean_standard_error(sums: Sequence[float], counts: Sequence[int]) -> float:
    """Standard error of `token_mean_of_sums` over responses (responses are the independent
    draws; the mean is a ratio of sums): sqrt(m / (m - 1) * sum (s_i - E t_i)^2) / sum t_i,
    the usual linearized variance of a ratio estimator. 0 for fewer than two responses."""
    m = len(sums)
    if m < 2:
        return 0.0
    mean = token_mean_of_sums(sums, counts)
    spread = math.fsum((s - mean * t) ** 2 for s, t in zip(sums, counts))
    return math.sqrt(m / (m - 1) * spread) / sum(counts)
