"""The one small interface every sampling backend implements.

A backend turns requests into completions. Each request carries its own seed, derived
from (run seed, problem id, round) by `repro.sampling.seeds.request_seed`, so a sample
never depends on batching, sharding or the point where a run was resumed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class SamplingParams:
    """Generation settings shared by all requests of one run."""

    temperature: float
    top_p: float
    max_new_tokens: int
    stop: tuple[str, ...] = ()
    max_model_len: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_new_tokens": self.max_new_tokens,
            "stop": list(self.stop),
            "max_model_len": self.max_model_len,
        }


@dataclass(frozen=True)
class Request:
    """Ask for `n` samples of one prompt with one seed (one "round" of one problem)."""

    problem_id: str
    round: int
    prompt: str
    seed: int
    n: int
    # Image files of a vision-language prompt, in the order of the prompt's image
    # placeholders (repro.prompts.IMAGE_PLACEHOLDER); empty for text prompts.
    images: tuple[str, ...] = ()


@dataclass(frozen=True)
class Completion:
    """One sampled continuation."""

    text: str
    finish_reason: str  # "stop", "length", or backend-specific
    num_tokens: int


@dataclass(frozen=True)
class ScoreRequest:
    """A response to score under a model, given the prompt it answered."""

    prompt: str
    response: str


@dataclass(frozen=True)
class ResponseScores:
    """Per-token scores of one response: position t is response token y_t given x, y_<t.

    `logprobs[t]` is log p(y_t | x, y_<t) under softmax(logits / temperature); `entropies[t]`
    is the entropy -sum_v p(v) log p(v) of that whole next-token distribution (all of the
    vocabulary), or None where the engine cannot give the full distribution (vLLM returns
    only top-k log-probabilities). Natural logarithms throughout.
    """

    token_ids: tuple[int, ...]
    logprobs: tuple[float, ...]
    entropies: tuple[float, ...] | None


class Backend(Protocol):
    """What the pipeline needs from a sampling engine."""

    name: str

    def describe(self) -> dict[str, Any]:
        """Everything about the engine that changes samples (name, version, model
        revision, engine options). Goes into the store key."""
        ...

    def generate(self, requests: list[Request], params: SamplingParams) -> list[list[Completion]]:
        """Return, for each request in order, exactly `request.n` completions."""
        ...

    def close(self) -> None:
        """Release the engine (memory, worker processes)."""
        ...


class Scorer(Protocol):
    """What the perplexity and entropy stages need from an engine (hf and vllm backends)."""

    # Whether `score` gives entropies of the full next-token distribution.
    full_distribution: bool

    def score(self, requests: list[ScoreRequest], temperature: float = 1.0) -> list[ResponseScores]:
        """For each request in order, the scores of its response tokens (the response is
        tokenized on its own and appended to the tokenized prompt: `response_token_ids`)."""
        ...
