"""What each training run costs in GPU-hours, with every assumption named.

    run_cost(run) -> TrainingCost (per step: rollouts, tokens, generation and training GPU-seconds)

One step of VeRL's PPO loop (verl/trainer/ppo/ray_trainer.py `fit`, 0.3.0.post1) generates the
rollouts, then recomputes their log-probabilities under the current policy (old_log_prob) and
the reference policy, then updates the actor (and, for PPO, the critic). So

    GPU-seconds per step = generation + training
    generation = rollouts generated x tokens per rollout / generation throughput per GPU
    training   = rollouts trained x (prompt + response tokens) x FLOPs per token / (GPU peak x MFU)
    GPU-hours  = steps x GPU-seconds per step / 3600

- rollouts generated: prompt batch x n; ReMax adds one greedy rollout per prompt (its baseline);
  DAPO's dynamic sampling generates `data.gen_batch_size` prompts x n per round and is assumed to
  need one round (it keeps 128 prompts whose rollouts disagree; a harder set needs more rounds).
- FLOPs per token: 2 x parameters per forward pass (attention's quadratic term left out, small
  next to the weights at these lengths); the actor update is forward + backward (3 forwards) plus
  the forward that gradient checkpointing recomputes: 4; old_log_prob 1; reference 1 (VeRL
  0.3.0.post1 builds and runs the reference policy in every run here). PPO's critic adds its
  values (1) and its update (4).
- tokens per rollout, prompt tokens, throughput and MFU: ASSUMPTIONS below, each with its
  reason; measure a few steps (VeRL logs timing_s/gen and timing_s/update_actor per step) and
  replace them.

The wall-clock time is GPU-hours / GPUs. The numbers are for H100 80GB GPUs.
"""

from __future__ import annotations

from dataclasses import dataclass

from repro.training.runs import RUNS, Run


@dataclass(frozen=True)
class Assumption:
    value: float
    source: str


# Parameters (billions), from the model cards (config.json: Qwen2.5-7B 7.61B, Qwen2.5-VL-7B 8.29B).
PARAMETERS_B = {
    "qwen2.5-7b-r1-prompt": Assumption(7.61, "Qwen/Qwen2.5-7B model card: 7.61B parameters"),
    "qwen2.5-vl-7b-instruct": Assumption(8.29, "Qwen/Qwen2.5-VL-7B-Instruct: 8.29B parameters (LLM + vision encoder)"),
}

# Mean response tokens per rollout, by training set.
RESPONSE_TOKENS = {
    "omni-math-rule": Assumption(1_000.0, "zero-RL Qwen2.5-7B on competition problems writes 1-2k tokens and its "
                                          "responses grow during training; the same 1,000 as repro.costs assumes for "
                                          "Omni-MATH evaluation (the cap, 8,192, is far above)"),
    "geometry3k": Assumption(400.0, "Qwen2.5-VL-7B-Instruct's Geometry3K answers: a few hundred tokens (cap 2,048)"),
}
# Prompt tokens per rollout (the whole prompt is processed again in every training pass).
PROMPT_TOKENS = {
    "omni-math-rule": Assumption(250.0, "the Figure 27 prompt (about 130 tokens) plus an Omni-MATH question"),
    "geometry3k": Assumption(800.0, "the Figure 26 system prompt, the question and the image's vision tokens "
                                    "(Geometry3K diagrams are small: a few hundred 28x28 patches)"),
}
# Output tokens per second per GPU while generating rollouts.
GENERATION_THROUGHPUT = Assumption(
    5_500.0, "half of repro.costs' 11,000 tok/s for a 7B vLLM engine on one H100: in training vLLM gets 60% of the "
             "memory (gpu_memory_utilization 0.6, the rest holds the FSDP actor), runs tensor-parallel 2, and each "
             "step waits for its longest rollouts")
GPU_PEAK_FLOPS = Assumption(989e12, "H100 SXM dense bf16 peak, 989 TFLOP/s (NVIDIA datasheet)")
MFU = Assumption(0.30, "model FLOPs utilization of FSDP training with sequence packing (use_remove_padding) and "
                       "gradient checkpointing; 30-40% is typical for 7B models on H100s")

ACTOR_PASSES = 4 + 1 + 1  # update (fwd + bwd + recompute), old_log_prob, reference log_prob
CRITIC_PASSES = 1 + 4  # PPO only: values, then the critic's update


@dataclass(frozen=True)
class TrainingCost:
    run: Run
    steps: int
    rollouts_generated: int  # per step
    rollouts_trained: int  # per step
    response_tokens: float
    prompt_tokens: float
    generation_gpu_seconds: float  # per step
    training_gpu_seconds: float  # per step

    @property
    def gpu_seconds_per_step(self) -> float:
        return self.generation_gpu_seconds + self.training_gpu_seconds

    @property
    def gpu_hours(self) -> float:
        return self.steps * self.gpu_seconds_per_step / 3600

    def wall_hours(self, gpus: int) -> float:
        return self.gpu_hours / gpus


def rollouts_per_step(run: Run) -> tuple[int, int]:
    """(generated, trained) rollouts of one step."""
    batch = int(run.value("data.train_batch_size"))
    n = int(run.value("actor_rollout_ref.rollout.n"))
    trained = batch * n
    if run.adv_estimator == "remax":
        return trained + batch, trained  # one greedy baseline per prompt (ray_trainer.py, REMAX)
    if run.engine == "verl-dapo":
        return int(run.value("data.gen_batch_size")) * n, trained
    return trained, trained


def run_cost(run: Run) -> TrainingCost:
    generated, trained = rollouts_per_step(run)
    response = RESPONSE_TOKENS[run.train_set].value
    prompt = PROMPT_TOKENS[run.train_set].value
    passes = ACTOR_PASSES + (CRITIC_PASSES if run.adv_estimator == "gae" else 0)
    flops = trained * (prompt + response) * passes * 2 * PARAMETERS_B[run.base_model].value * 1e9
    return TrainingCost(
        run=run, steps=run.steps, rollouts_generated=generated, rollouts_trained=trained,
        response_tokens=response, prompt_tokens=prompt,
        generation_gpu_seconds=generated * response / GENERATION_THROUGHPUT.value,
        training_gpu_seconds=flops / (GPU_PEAK_FLOPS.value * MFU.value))


def all_costs() -> list[TrainingCost]:
    return [run_cost(run) for run in RUNS]


def assumptions() -> list[tuple[str, str]]:
    """(what, value and source) lines for the plan's footer."""
    lines = [(f"response tokens per rollout ({key})", f"{a.value:,.0f}: {a.source}") for key, a in RESPONSE_TOKENS.items()]
    lines += [(f"prompt tokens per rollout ({key})", f"{a.value:,.0f}: {a.source}") for key, a in PROMPT_TOKENS.items()]
    lines += [(f"parameters ({key})", f"{a.value}B: {a.source}") for key, a in PARAMETERS_B.items()]
    lines += [("generation throughput per GPU", f"{GENERATION_THROUGHPUT.value:,.0f} tok/s: {GENERATION_THROUGHPUT.source}"),
              ("training FLOPs", f"{ACTOR_PASSES} forward passes of 2 x parameters per token (+{CRITIC_PASSES} for "
                                 "PPO's critic); peak {:.0f} TFLOP/s x MFU {:.0%}".format(GPU_PEAK_FLOPS.value / 1e12,
                                                                                         MFU.value))]
    return lines
