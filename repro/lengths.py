"""How long a sample may be: one table for every run of the package.

A run's lengths are decided here and nowhere else:

    max_new_tokens = the benchmark kind's budget (or an experiment's sourced override)
    max_model_len  = min(the kind's model length, the model's own context)

so the same model on the same kind of benchmark always gets the same lengths, whichever
experiment asks (and two experiments asking for the same run share its samples). Engines cut
the new-token budget to what the prompt leaves of `max_model_len`
(`repro.sampling.hf_backend.fit_max_new_tokens`, and vLLM's own length cap).

The 4,096 question (docs/models.md, "Lengths"): a model whose own context is 4,096 tokens
(the Qwen2.5-Math-7B family) runs with max_model_len 4,096 and generates until prompt plus
output fill it, as the paper's evaluator ran it; a model with a longer context is never held
to 4,096. An explicit override longer than the model's context is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from repro.errors import ReproError


class LengthError(ReproError):
    """A run asks for more tokens than its model can hold."""


@dataclass(frozen=True)
class Budget:
    """New tokens and model length of one benchmark kind, with where the numbers come from."""

    max_new_tokens: int
    max_model_len: int
    source: str


# The one table. Every number names its source; "package's choice" marks what no source fixes.
BUDGETS: dict[str, Budget] = {
    "math": Budget(
        16384, 32768,
        "paper §3 'Evaluation protocol': up to 16,384 new tokens; max_model_len 32,768 as the official "
        "evaluator from math_eval.py@69ca20ff on (fd2cf37 had 4,096: see docs/models.md)"),
    "code": Budget(
        32768, 32768 + 4096,
        "paper §3.2: 'both models take 32k response length'; 4,096 tokens of room for the prompt "
        "(package's choice; no code prompt of the paper is longer)"),
    "visual": Budget(
        16384, 32768,
        "package's choice: the paper's protocol for math (§3); the evaluation length of the EasyR1 runs "
        "is not stated anywhere"),
}


@dataclass(frozen=True)
class LengthOverride:
    """An experiment's own lengths, allowed only where the paper or its code says so."""

    source: str
    max_new_tokens: int | None = None
    max_model_len: int | None = None


@dataclass(frozen=True)
class Lengths:
    max_new_tokens: int
    max_model_len: int
    source: str  # why these numbers, in words


def lengths_for(budget: Budget, model_key: str, model_context: int, override: LengthOverride | None = None) -> Lengths:
    """The lengths of a run of `model_key` (context `model_context`) on a benchmark with this
    budget (its module's: the kind's row of BUDGETS unless it says otherwise)."""
    new_tokens, model_len, source = budget.max_new_tokens, budget.max_model_len, budget.source
    if override is not None and override.max_new_tokens is not None:
        new_tokens, source = override.max_new_tokens, override.source
    if override is not None and override.max_model_len is not None:
        model_len, source = override.max_model_len, override.source
    elif model_len > model_context:
        model_len = model_context
        source += f"; bounded by the model's {model_context:,}-token context"
    check_fits(model_key, model_context, model_len)
    return Lengths(new_tokens, model_len, source)


def check_fits(model_key: str, model_context: int, max_model_len: int) -> None:
    """Refuse a model length the model cannot hold (one line, for the command line)."""
    if max_model_len > model_context:
        raise LengthError(f"{model_key}: max_model_len {max_model_len:,} exceeds the model's context of "
                          f"{model_context:,} tokens")
