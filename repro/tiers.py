"""Tiers: how much of an experiment to run.

- full:  the paper's settings (n up to 2048, 16k/32k new tokens). GPUs required.
- quick: the same models and problems at n <= 32 (one round), compared at the k that
         allows, with the wider tolerance that fewer samples imply. GPUs required.
- smoke: no real model. The simulated backend (calibrated to the paper's curves) runs at
         the paper's n on up to 100 problems per benchmark, and tiny random models run
         through the real vLLM and transformers engines on 4 problems. It checks the
         machinery, not the paper.
"""

from __future__ import annotations

from dataclasses import dataclass

from repro.errors import UnknownNameError

SAMPLES_PER_ROUND = 32  # the paper's evaluator drew 32 samples per seed


@dataclass(frozen=True)
class Tier:
    name: str
    summary: str
    default_backends: tuple[str, ...]
    needs_gpu: bool
    simulated_problem_limit: int | None
    engine_problem_limit: int | None
    engine_n: int | None  # None: the paper's n (capped by max_n)
    max_n: int | None
    engine_max_new_tokens: int | None  # None: the experiment's own

    def n_for(self, backend: str, paper_n: int) -> int:
        if backend != "simulated" and self.engine_n is not None:
            return self.engine_n
        return paper_n if self.max_n is None else min(paper_n, self.max_n)

    def problem_limit(self, backend: str) -> int | None:
        return self.simulated_problem_limit if backend == "simulated" else self.engine_problem_limit


TIERS: dict[str, Tier] = {
    "full": Tier("full", "the paper's settings; thousands of GPU-hours in total", ("vllm",), True,
                 None, None, None, None, None),
    "quick": Tier("quick", "real models, n <= 32; hours on one node", ("vllm",), True,
                  None, None, None, 32, None),
    "smoke": Tier("smoke", "tiny models and a simulation on CPU; checks the machinery, not the paper",
                  ("simulated", "vllm", "hf"), False, 100, 4, 4, None, 32),
}


def get_tier(name: str) -> Tier:
    try:
        return TIERS[name]
    except KeyError:
        raise UnknownNameError(f"unknown tier {name!r}; choose one of: {', '.join(TIERS)}") from None
