"""Tiers: how much of an experiment to run, and what may stand in for what.

- full:  the paper's settings (n up to 2048, 16k/32k new tokens). GPUs required.
- quick: the same models and problems at n <= 32 (one round), compared at the k that
         allows, with the wider tolerance that fewer samples imply. GPUs required.
- smoke: no real model. The simulated backend (calibrated to the paper's curves) runs at
         the paper's n on up to 100 problems per benchmark, and tiny random models run
         through the real vLLM and transformers engines on 4 problems. It checks the
         machinery, not the paper.

Only a tier that `uses_stand_ins` lets anything stand in for the real thing: the simulated
backend, tiny models, stand-in problems where data are absent, simulated checkpoints the paper
never released. Everywhere else results must come from real models on real data.
"""

from __future__ import annotations

from dataclasses import dataclass

from repro.errors import ReproError, UnknownNameError

SAMPLES_PER_ROUND = 32  # the paper's evaluator drew 32 samples per seed


class EvidenceError(ReproError):
    """A stand-in was asked for where only real evidence may be produced."""


@dataclass(frozen=True)
class EngineStandIn:
    """What a stand-in tier runs real engines with: tiny models, few samples, short outputs."""

    problem_limit: int
    n: int
    max_new_tokens: int
    max_model_len: int
    dtype: str  # tiny models are fp32 (vLLM's "auto" would pick bfloat16 on CPU)


@dataclass(frozen=True)
class Tier:
    name: str
    summary: str
    default_backends: tuple[str, ...]
    needs_gpu: bool
    uses_stand_ins: bool
    max_n: int | None = None  # None: the paper's n
    simulated_problem_limit: int | None = None
    engine_stand_in: EngineStandIn | None = None  # None: real models at the paper's lengths
    adaptive: bool = False  # sample in rounds; each verdict stops once settled (repro.adaptive)

    def check_backend(self, backend) -> None:
        """Refuse the simulated backend outside a stand-in tier: it is fitted to the paper's
        curves, so its agreement with the paper is by construction, never evidence."""
        if backend.simulated and not self.uses_stand_ins:
            raise EvidenceError(f"--backend {backend.name} runs in the smoke tier only: its samples are drawn from "
                                f"the paper's own curves and can never be evidence (--tier {self.name} needs a real "
                                "model: --backend vllm or hf)")

    def n_for(self, backend, paper_n: int) -> int:
        if not backend.simulated and self.engine_stand_in is not None:
            return self.engine_stand_in.n
        return paper_n if self.max_n is None else min(paper_n, self.max_n)

    def problem_limit(self, backend) -> int | None:
        if backend.simulated:
            return self.simulated_problem_limit
        return self.engine_stand_in.problem_limit if self.engine_stand_in else None

    def decides_exit(self, backend) -> bool:
        """Whether this backend's comparisons decide the exit status. In a stand-in tier the
        tiny models only check the engines, and the simulated backend's comparisons check the
        comparison machinery end to end; elsewhere every comparison counts."""
        return backend.simulated if self.uses_stand_ins else True


TIERS: dict[str, Tier] = {
    "full": Tier("full", "the paper's settings; thousands of GPU-hours in total", ("vllm",), needs_gpu=True,
                 uses_stand_ins=False),
    "quick": Tier("quick", "real models, n <= 32; hours on one node", ("vllm",), needs_gpu=True,
                  uses_stand_ins=False, max_n=32),
    "adaptive": Tier("adaptive", "real models in rounds of 32 per problem, each verdict stopped once settled; "
                     "at most the full tier's samples", ("vllm",), needs_gpu=True, uses_stand_ins=False,
                     adaptive=True),
    "smoke": Tier("smoke", "tiny models and a simulation on CPU; checks the machinery, not the paper",
                  ("simulated", "vllm", "hf"), needs_gpu=False, uses_stand_ins=True, simulated_problem_limit=100,
                  # 1,024 tokens: a prompt and a few dozen new tokens of a tiny model.
                  engine_stand_in=EngineStandIn(problem_limit=4, n=4, max_new_tokens=32, max_model_len=1024,
                                                dtype="float32")),
    "smoke-adaptive": Tier("smoke-adaptive", "the smoke tier sampled in rounds (the adaptive tier's machinery on CPU)",
                           ("simulated", "vllm", "hf"), needs_gpu=False, uses_stand_ins=True,
                           simulated_problem_limit=100,
                           engine_stand_in=EngineStandIn(problem_limit=4, n=4, max_new_tokens=32, max_model_len=1024,
                                                         dtype="float32"),
                           adaptive=True),
}


def get_tier(name: str) -> Tier:
    try:
        return TIERS[name]
    except KeyError:
        raise UnknownNameError(f"unknown tier {name!r}; choose one of: {', '.join(TIERS)}") from None
