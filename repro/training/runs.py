"""The ten training runs whose checkpoints the paper never released: one table, every setting
with its source.

A run is a list of `Setting`s, each a key of the engine's configuration (VeRL's Hydra tree
`verl/trainer/config/ppo_trainer.yaml`, or the DAPO recipe's `dapo_trainer.yaml`), its value,
and where the value comes from:

- the paper (§4.3 "Experiment Setup": prompt batch 128, 8 rollouts, 8,192 rollout tokens,
  temperature 1.0, no KL term; §4.4 / App. D.5: the steps, the KL 0.001 and n = 32 ablations;
  §3.3 and EXPERIMENTS.md F for the visual run);
- where the paper is silent, the VeRL example of that algorithm at the paper's time (VERL_*
  pins below), said per setting;
- engine plumbing that does not change what is learned (paths, GPU counts, logging, dynamic
  batching), marked "plumbing".

Nothing here imports an engine: the table is data, rendered into Hydra overrides by
`repro.training.overrides` and checked against the engine's own config tree by
`repro.training.compose`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from repro.errors import ReproError

# ----------------------------------------------------------------------------- pinned engines

# VeRL on PyPI at the paper's time (first arXiv version 2025-04-18): 0.3.0.post1, tag
# v0.3.0.post1 = commit 070ed6ac3f6aea13a916556794f34e8f2bde7dde (2025-04-03). The wheel's
# verl/trainer/config/ppo_trainer.yaml is byte-identical to the tag's.
VERL_VERSION = "0.3.0.post1"
VERL_COMMIT = "070ed6ac3f6aea13a916556794f34e8f2bde7dde"
# The DAPO recipe is not in that release (nor in any wheel): it first appeared in the
# repository at 3a27a98 (2025-04-04, "integrate DAPO and provide reproduction script", #623),
# as recipe/dapo/src/ with its own trainer and a complete config, dapo_trainer.yaml. That is the
# commit pinned for the DAPO run (the recipe imports the verl of its own checkout).
VERL_DAPO_COMMIT = "3a27a98647536fef2b848c4897aebdcfb0b42110"
# Reinforce++ had no example at v0.3.0.post1; the first one, examples/reinforce_plus_plus_trainer/
# run_qwen2-7b_math_rf.sh, came the next day in 30259d2 (2025-04-04, #908).
VERL_RFPP_COMMIT = "30259d2c0b3c5343f4a7031eb329e3b3908713c2"
# EasyR1's examples of March 2025 (SOURCES.md §3c): examples/config.yaml and
# examples/qwen2_5_vl_7b_geo3k_grpo.sh at 3b9ae08 (2025-03-25).
EASYR1_COMMIT = "3b9ae08c813e39b18843c48f0ae04f3ce0effe06"

PAPER = "paper §4.3 Experiment Setup"
PAPER_STEPS = "paper §4.3-4.4 and EXPERIMENTS.md E (450 steps per algorithm)"
PAPER_D5 = "paper App. D.5, Figure 15"
PAPER_VISUAL = "paper §3.3 ('EasyR1 defaults'); EXPERIMENTS.md F"
PLUMBING = "plumbing (does not change what is learned)"


def verl_example(path: str, commit: str = VERL_COMMIT) -> str:
    return f"volcengine/verl@{commit[:7]} {path}"


def verl_default(key: str) -> str:
    return f"VeRL {VERL_VERSION} default (verl/trainer/config/ppo_trainer.yaml {key}); the paper and the example are silent"


def easyr1(key: str) -> str:
    return f"hiyouga/EasyR1@{EASYR1_COMMIT[:7]} examples/config.yaml {key}"


GRPO_EXAMPLE = verl_example("examples/grpo_trainer/run_qwen2-7b_math.sh")
PPO_EXAMPLE = verl_example("examples/ppo_trainer/run_qwen2-7b_seq_balance.sh")
RLOO_EXAMPLE = verl_example("examples/rloo_trainer/run_qwen2-7b.sh")
REMAX_EXAMPLE = verl_example("examples/remax_trainer/run_qwen2.5-7b_seq_balance.sh")
RFPP_EXAMPLE = verl_example("examples/reinforce_plus_plus_trainer/run_qwen2-7b_math_rf.sh", VERL_RFPP_COMMIT)
DAPO_EXAMPLE = verl_example("recipe/dapo/test_dapo_7b.sh", VERL_DAPO_COMMIT)
VL_EXAMPLE = verl_example("examples/grpo_trainer/run_qwen2_5_vl-7b.sh")

# ----------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class Setting:
    key: str  # a dotted key of the engine's config (repro.training.overrides.APPENDED_KEYS: read but not in the yaml)
    value: object
    source: str


@dataclass(frozen=True)
class Run:
    id: str
    title: str
    engine: str  # "verl" (verl.trainer.main_ppo) or "verl-dapo" (the DAPO recipe's main_dapo)
    base_model: str  # key of repro.models
    train_set: str  # key of repro.training.data.TRAINING_SETS
    template: str  # prompt template of repro.prompts (the reward reads completions made with it)
    steps: int
    save_steps: tuple[int, ...]  # steps whose checkpoints become models
    models: tuple[str, ...]  # the repro.models keys the checkpoints become, in save_steps order
    settings: tuple[Setting, ...]
    notes: tuple[str, ...] = ()

    @property
    def adv_estimator(self) -> str:
        return str(self.value("algorithm.adv_estimator"))

    def value(self, key: str) -> object:
        for setting in self.settings:
            if setting.key == key:
                return setting.value
        raise KeyError(key)


OMNI_TRAIN_PROBLEMS = 2000  # repro.benchmarks.math_files.OMNI_TRAIN_SIZE
GEO3K_TRAIN_PROBLEMS = 2101  # SOURCES.md §2b: hiyouga/geometry3k train


def steps_per_epoch(problems: int, prompt_batch: int) -> int:
    """VeRL's train loader drops the last partial batch (ray_trainer.py `_create_dataloader`,
    drop_last=True), so an epoch is floor(problems / batch) steps."""
    return problems // prompt_batch


def epochs_for(steps: int, problems: int, prompt_batch: int) -> int:
    """Epochs VeRL must be allowed so that `trainer.total_training_steps` is reached: the loop
    stops at whichever comes first."""
    return math.ceil(steps / steps_per_epoch(problems, prompt_batch))


def _paper_math(n: int, steps: int, save_every: int, keep: int | None) -> tuple[Setting, ...]:
    """The settings the paper states for every VeRL run, and the plumbing they all share."""
    batch = 128
    return (
        Setting("data.train_batch_size", batch, PAPER + ": 'a prompt batch size of 128'"),
        Setting("actor_rollout_ref.rollout.n", n, PAPER + ": 'sample 8 responses per prompt'" if n == 8
                else PAPER_D5 + ": 'We increase n from 8 to 32' at the same prompt batch"),
        Setting("data.max_response_length", 8192, PAPER + ": 'maximum rollout length to 8,192 tokens'"),
        Setting("actor_rollout_ref.rollout.temperature", 1.0, PAPER + ": 'temperature to 1.0'"),
        Setting("trainer.total_training_steps", steps, PAPER_STEPS if steps == 450 else PAPER_D5 + ": 220 steps"),
        Setting("trainer.total_epochs", epochs_for(steps, OMNI_TRAIN_PROBLEMS, batch),
                "derived: ceil(steps / floor(2000 / 128)) so the step count, not the epoch count, ends training"),
        # The Figure 27 prompt's longest rendering here is about 1,600 characters; 1,024 tokens
        # hold it, and truncation=error makes a longer one fail loudly instead of being cut.
        Setting("data.max_prompt_length", 1024, GRPO_EXAMPLE + " (data.max_prompt_length=1024)"),
        Setting("data.truncation", "error", GRPO_EXAMPLE + " (data.truncation='error')"),
        # filter_overlong_prompts would silently drop training problems: left off.
        Setting("data.filter_overlong_prompts", False,
                verl_default("data.filter_overlong_prompts") + "; kept off so no training problem is dropped"),
        Setting("actor_rollout_ref.rollout.top_p", 1.0, verl_default("rollout.top_p") + " (pure temperature sampling)"),
        Setting("actor_rollout_ref.rollout.top_k", -1, verl_default("rollout.top_k")),
        Setting("trainer.save_freq", save_every, PLUMBING + (": checkpoints at steps 150, 300, 450 (Figure 1 right, "
                "Table 3)" if save_every == 150 else ": a resume point every 50 steps; the last step is always saved")),
        Setting("trainer.max_actor_ckpt_to_keep", keep,
                PLUMBING + (": keep every saved step" if keep is None else ": keep the newest (resume) only")),
        Setting("trainer.resume_mode", "auto", verl_default("trainer.resume_mode") + ": resume from the last checkpoint"),
        Setting("trainer.test_freq", -1, PLUMBING + ": evaluation is `repro run`'s job, with the paper's n"),
        Setting("trainer.val_before_train", False, PLUMBING + ": no validation pass before step 1"),
        Setting("trainer.logger", ["console"], PLUMBING + ": no account-bound logger by default"),
        Setting("trainer.project_name", "repro-limit-of-rlvr", PLUMBING),
        Setting("trainer.critic_warmup", 0, GRPO_EXAMPLE + " (trainer.critic_warmup=0)"),
        Setting("actor_rollout_ref.model.use_remove_padding", True, GRPO_EXAMPLE + " (use_remove_padding=True)"),
        Setting("actor_rollout_ref.model.enable_gradient_checkpointing", True, GRPO_EXAMPLE),
        # Token-budget batching instead of fixed micro-batches: 8,192-token rollouts would not fit
        # the examples' 16 sequences per GPU; the loss is the same (the recipe calls it
        # "mathematically equivalent").
        Setting("actor_rollout_ref.actor.use_dynamic_bsz", True, PLUMBING + ": " + PPO_EXAMPLE + " (use_dynamic_bsz)"),
        Setting("actor_rollout_ref.actor.ppo_max_token_len_per_gpu", 24000,
                PLUMBING + ": " + PPO_EXAMPLE + " (24000, above 1,024 + 8,192)"),
        Setting("actor_rollout_ref.rollout.log_prob_max_token_len_per_gpu", 24000, PLUMBING + ": " + PPO_EXAMPLE),
        Setting("actor_rollout_ref.ref.log_prob_max_token_len_per_gpu", 24000, PLUMBING + ": " + PPO_EXAMPLE),
        Setting("actor_rollout_ref.rollout.name", "vllm", GRPO_EXAMPLE),
        Setting("actor_rollout_ref.rollout.tensor_model_parallel_size", 2, GRPO_EXAMPLE + " (7B: 2)"),
        Setting("actor_rollout_ref.rollout.gpu_memory_utilization", 0.6, GRPO_EXAMPLE),
        Setting("actor_rollout_ref.actor.fsdp_config.param_offload", False, GRPO_EXAMPLE),
        Setting("actor_rollout_ref.actor.fsdp_config.optimizer_offload", False, GRPO_EXAMPLE),
        Setting("actor_rollout_ref.ref.fsdp_config.param_offload", True, GRPO_EXAMPLE),
    )


def _no_kl() -> tuple[Setting, ...]:
    # In VeRL 0.3.0.post1 the reference policy is always built, and when use_kl_loss is False a
    # KL penalty is put into the reward with algorithm.kl_ctrl.kl_coef (default 0.001;
    # ray_trainer.py apply_kl_penalty). "No KL term" therefore needs both settings.
    why = PAPER + ": 'we remove the KL term'"
    return (
        Setting("actor_rollout_ref.actor.use_kl_loss", False, why),
        Setting("algorithm.kl_ctrl.kl_coef", 0.0, why + "; 0.0 because VeRL 0.3.0.post1 otherwise adds a reward KL "
                "penalty with its default 0.001 (ray_trainer.py apply_kl_penalty)"),
    )


def _actor(example: str, lr: float, mini_batch: int, example_ratio: str, entropy: float, entropy_source: str
           ) -> tuple[Setting, ...]:
    return (
        Setting("actor_rollout_ref.actor.optim.lr", lr, example),
        # The examples use far larger prompt batches (1,024-4,096); the paper's is 128. The
        # mini-batch keeps the example's number of policy updates per step (batch / mini-batch).
        Setting("actor_rollout_ref.actor.ppo_mini_batch_size", mini_batch,
                f"{example}: scaled to the paper's batch of 128 keeping the example's {example_ratio} updates per step"),
        Setting("actor_rollout_ref.actor.clip_ratio", 0.2, verl_default("actor.clip_ratio") + " (PPO's 0.2)"),
        Setting("actor_rollout_ref.actor.entropy_coeff", entropy, entropy_source),
    )


def _estimator(name: str, example: str) -> Setting:
    return Setting("algorithm.adv_estimator", name, example)


def _math_run(id_: str, title: str, settings: tuple[Setting, ...], *, n: int = 8, steps: int = 450,
              save_steps: tuple[int, ...] | None = None, models: tuple[str, ...], engine: str = "verl",
              notes: tuple[str, ...] = ()) -> Run:
    # Default: the last step becomes the model (for grpo-n32 that is step 220, not 450).
    save_steps = save_steps or (steps,)
    grpo_points = save_steps != (steps,)
    common = _paper_math(n, steps, 150 if grpo_points else 50, None if grpo_points else 1)
    names = (Setting("trainer.experiment_name", id_, PLUMBING),)
    return Run(id_, title, engine, "qwen2.5-7b-r1-prompt", "omni-math-rule", "r1-zero", steps, save_steps, models,
               common + settings + names, notes)


_ENTROPY_DEFAULT = verl_default("actor.entropy_coeff") + " (the example leaves it unset)"


def _build() -> tuple[Run, ...]:
    grpo_actor = _actor(GRPO_EXAMPLE, 1e-6, 32, "1024/256 = 4", 0.0, GRPO_EXAMPLE + " (entropy_coeff=0)")
    runs = [
        _math_run("grpo", "GRPO, 450 steps (checkpoints at 150, 300, 450)",
                  (_estimator("grpo", GRPO_EXAMPLE),) + grpo_actor + _no_kl(),
                  save_steps=(150, 300, 450), models=("verl-grpo-step150", "verl-grpo-step300", "verl-grpo-step450")),
        _math_run("ppo", "PPO, 450 steps",
                  (_estimator("gae", PPO_EXAMPLE + " (adv_estimator left at the default gae: PPO with a critic)"),)
                  + _actor(PPO_EXAMPLE, 1e-6, 16, "4096/512 = 8", 0.001, _ENTROPY_DEFAULT) + _no_kl() + (
                      Setting("critic.optim.lr", 1e-5, PPO_EXAMPLE + " (critic.optim.lr=1e-5)"),
                      Setting("critic.model.path", "${actor_rollout_ref.model.path}",
                              PPO_EXAMPLE + " (the critic starts from the policy's model)"),
                      Setting("critic.model.use_remove_padding", True, PPO_EXAMPLE),
                      Setting("critic.model.enable_gradient_checkpointing", True, PPO_EXAMPLE),
                      Setting("critic.ppo_max_token_len_per_gpu", 98304, PLUMBING + ": " + PPO_EXAMPLE),
                      Setting("critic.cliprange_value", 0.5, verl_default("critic.cliprange_value")),
                      Setting("algorithm.gamma", 1.0, verl_default("algorithm.gamma")),
                      Setting("algorithm.lam", 1.0, verl_default("algorithm.lam")),
                  ), models=("verl-ppo",)),
        _math_run("reinforce-pp", "Reinforce++, 450 steps",
                  (_estimator("reinforce_plus_plus", RFPP_EXAMPLE),)
                  + _actor(RFPP_EXAMPLE, 3e-6, 128, "1024/1024 = 1", 0.0, RFPP_EXAMPLE + " (entropy_coeff=0)")
                  + _no_kl(), models=("verl-reinforce-pp",),
                  notes=("the example also sets algorithm.use_kl_in_reward=False, a key VeRL 0.3.0.post1 does not "
                         "have; kl_ctrl.kl_coef=0.0 does the same there",)),
        _math_run("rloo", "RLOO, 450 steps",
                  (_estimator("rloo", RLOO_EXAMPLE),)
                  + _actor(RLOO_EXAMPLE, 1e-6, 32, "1024/256 = 4", 0.001, _ENTROPY_DEFAULT) + _no_kl(),
                  models=("verl-rloo",)),
        _math_run("remax", "ReMax, 450 steps",
                  (_estimator("remax", REMAX_EXAMPLE),)
                  + _actor(REMAX_EXAMPLE, 1e-6, 32, "1024/256 = 4", 0.001, _ENTROPY_DEFAULT) + _no_kl(),
                  models=("verl-remax",),
                  notes=("ReMax generates one greedy baseline rollout per prompt besides the n samples "
                         "(ray_trainer.py, AdvantageEstimator.REMAX)",)),
        _math_run("dapo", "DAPO (VeRL recipe), 450 steps",
                  (_estimator("grpo", DAPO_EXAMPLE + " (DAPO is GRPO's estimator plus the recipe's changes)"),)
                  + _actor(DAPO_EXAMPLE, 1e-6, 8, "512/32 = 16", 0.0, DAPO_EXAMPLE + " (entropy_coeff=0)") + _no_kl()
                  + _dapo_specific(), engine="verl-dapo", models=("verl-dapo",),
                  notes=("runs the recipe's own entry point (recipe.dapo.src.main_dapo) from a checkout of "
                         f"volcengine/verl at {VERL_DAPO_COMMIT[:7]}; its config is the recipe's dapo_trainer.yaml, "
                         "a superset of ppo_trainer.yaml",)),
        _math_run("grpo-kl0.001", "GRPO with a KL term of 0.001, 450 steps",
                  (_estimator("grpo", GRPO_EXAMPLE),) + grpo_actor + (
                      Setting("actor_rollout_ref.actor.use_kl_loss", True,
                              PAPER_D5 + ": 'applying a KL term'; as a loss, the GRPO example's form"),
                      Setting("actor_rollout_ref.actor.kl_loss_coef", 0.001, PAPER_D5 + ": 'coefficient 0.001'"),
                      Setting("actor_rollout_ref.actor.kl_loss_type", "low_var_kl", GRPO_EXAMPLE),
                      Setting("algorithm.kl_ctrl.kl_coef", 0.0, PAPER_D5 + ": one KL term, the loss, not also the reward"),
                  ), models=("verl-grpo-kl0.001",)),
        _math_run("grpo-n32", "GRPO with 32 rollouts per prompt, 220 steps",
                  (_estimator("grpo", GRPO_EXAMPLE),) + grpo_actor + _no_kl(), n=32, steps=220,
                  models=("verl-grpo-n32",)),
        _visual_run(),
    ]
    return tuple(runs)


def _dapo_specific() -> tuple[Setting, ...]:
    """DAPO's own settings (Yu et al. 2025); the paper names DAPO but gives none of them: the
    recipe's script at the pinned commit, scaled to the paper's batch where it is a batch."""
    return (
        Setting("actor_rollout_ref.actor.clip_ratio_low", 0.2, DAPO_EXAMPLE + " (clip-higher: low 0.2)"),
        Setting("actor_rollout_ref.actor.clip_ratio_high", 0.28, DAPO_EXAMPLE + " (clip-higher: high 0.28)"),
        Setting("actor_rollout_ref.actor.clip_ratio_c", 10.0, DAPO_EXAMPLE),
        Setting("actor_rollout_ref.actor.loss_agg_mode", "token-mean", DAPO_EXAMPLE + " (token-level loss)"),
        Setting("algorithm.filter_groups.enable", True, DAPO_EXAMPLE + " (dynamic sampling)"),
        Setting("algorithm.filter_groups.metric", "acc", DAPO_EXAMPLE),
        Setting("algorithm.filter_groups.max_num_gen_batches", 10, DAPO_EXAMPLE),
        Setting("data.gen_batch_size", 384, DAPO_EXAMPLE + " (gen batch = 3 x train batch)"),
        Setting("reward_model.reward_manager", "dapo", DAPO_EXAMPLE),
        Setting("algorithm.use_kl_in_reward", False, PAPER + ": no KL term; " + DAPO_EXAMPLE),
        Setting("reward_model.overlong_buffer.enable", True, DAPO_EXAMPLE + " (overlong reward shaping)"),
        Setting("reward_model.overlong_buffer.len", 512, DAPO_EXAMPLE),
        Setting("reward_model.overlong_buffer.penalty_factor", 1.0, DAPO_EXAMPLE),
        Setting("actor_rollout_ref.actor.optim.lr_warmup_steps", 10, DAPO_EXAMPLE),
        Setting("actor_rollout_ref.actor.optim.weight_decay", 0.1, DAPO_EXAMPLE),
    )


def _visual_run() -> Run:
    """Qwen2.5-VL-7B-Instruct, GRPO on Geometry3K with EasyR1's March-2025 defaults, run on
    VeRL 0.3.0.post1's own Qwen2.5-VL GRPO path (main_ppo: it reads images from the parquet's
    `images` column), so the run composes and is checked like the others. docs/training.md lists
    what differs from running EasyR1 itself."""
    batch = 512
    steps = 15 * steps_per_epoch(GEO3K_TRAIN_PROBLEMS, batch)
    settings = (
        Setting("algorithm.adv_estimator", "grpo", PAPER_VISUAL + "; " + easyr1("algorithm.adv_estimator")),
        Setting("data.train_batch_size", batch, easyr1("data.rollout_batch_size=512")),
        Setting("actor_rollout_ref.actor.ppo_mini_batch_size", 128, easyr1("worker.actor.global_batch_size=128")),
        Setting("actor_rollout_ref.rollout.n", 5, easyr1("worker.rollout.n=5")),
        Setting("actor_rollout_ref.rollout.temperature", 1.0, easyr1("worker.rollout.temperature=1.0")),
        Setting("data.max_response_length", 2048, easyr1("data.max_response_length=2048")),
        Setting("data.max_prompt_length", 2048, easyr1("data.max_prompt_length=2048")),
        Setting("data.truncation", "error", VL_EXAMPLE),
        Setting("data.image_key", "images", VL_EXAMPLE + "; " + easyr1("data.image_key")),
        Setting("actor_rollout_ref.actor.optim.lr", 1e-6, easyr1("worker.actor.optim.lr=1.0e-6")),
        Setting("actor_rollout_ref.actor.optim.weight_decay", 0.01,
                easyr1("worker.actor.optim.weight_decay=1.0e-2") + " (VeRL's own fallback is 1e-2 too)"),
        Setting("actor_rollout_ref.actor.use_kl_loss", True, easyr1("algorithm.use_kl_loss=true")),
        Setting("actor_rollout_ref.actor.kl_loss_coef", 0.01, easyr1("algorithm.kl_coef=1.0e-2")),
        Setting("actor_rollout_ref.actor.kl_loss_type", "low_var_kl", easyr1("algorithm.kl_penalty=low_var_kl")),
        Setting("algorithm.kl_ctrl.kl_coef", 0.0, "EasyR1 has one KL term (the loss); with use_kl_loss VeRL adds none "
                "to the reward either"),
        Setting("actor_rollout_ref.actor.grad_clip", 1.0, easyr1("worker.actor.max_grad_norm=1.0")),
        Setting("actor_rollout_ref.actor.entropy_coeff", 0.0, VL_EXAMPLE + " (EasyR1 has no entropy bonus)"),
        Setting("actor_rollout_ref.actor.clip_ratio", 0.2, verl_default("actor.clip_ratio") + "; EasyR1's is 0.2 too"),
        Setting("trainer.total_epochs", 15, easyr1("trainer.total_episodes=15")),
        Setting("trainer.total_training_steps", steps,
                "derived: 15 episodes x floor(2101 / 512) steps"),
        Setting("actor_rollout_ref.model.use_remove_padding", True, VL_EXAMPLE + "; " + easyr1("padding_free")),
        Setting("actor_rollout_ref.model.enable_gradient_checkpointing", True, VL_EXAMPLE),
        Setting("actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu", 4,
                PLUMBING + ": " + easyr1("micro_batch_size_per_device_for_update=4")),
        Setting("actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu", 16,
                PLUMBING + ": " + easyr1("micro_batch_size_per_device_for_experience=16")),
        Setting("actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu", 16, PLUMBING),
        Setting("actor_rollout_ref.rollout.name", "vllm", VL_EXAMPLE),
        Setting("actor_rollout_ref.rollout.tensor_model_parallel_size", 2,
                VL_EXAMPLE + "; " + easyr1("worker.rollout.tensor_parallel_size=2")),
        Setting("actor_rollout_ref.rollout.gpu_memory_utilization", 0.6, easyr1("worker.rollout.gpu_memory_utilization")),
        Setting("actor_rollout_ref.rollout.enable_chunked_prefill", False, VL_EXAMPLE + "; EasyR1's geo3k script"),
        Setting("actor_rollout_ref.rollout.enforce_eager", False, VL_EXAMPLE + "; " + easyr1("enforce_eager=false")),
        Setting("actor_rollout_ref.rollout.free_cache_engine", False, VL_EXAMPLE),
        Setting("actor_rollout_ref.ref.fsdp_config.param_offload", True, VL_EXAMPLE),
        Setting("trainer.critic_warmup", 0, VL_EXAMPLE),
        Setting("trainer.save_freq", 5, easyr1("trainer.save_freq=5")),
        Setting("trainer.max_actor_ckpt_to_keep", 3, easyr1("trainer.save_limit=3")),
        Setting("trainer.resume_mode", "auto", verl_default("trainer.resume_mode")),
        Setting("trainer.test_freq", -1, PLUMBING + ": evaluation is `repro run`'s job"),
        Setting("trainer.val_before_train", False, PLUMBING + ": no validation pass before step 1"),
        Setting("trainer.logger", ["console"], PLUMBING),
        Setting("trainer.project_name", "repro-limit-of-rlvr", PLUMBING),
        Setting("trainer.experiment_name", "visual-grpo-geo3k", PLUMBING),
    )
    return Run("visual-grpo-geo3k", "Qwen2.5-VL-7B-Instruct, GRPO on Geometry3K (EasyR1 defaults of March 2025)",
               "verl", "qwen2.5-vl-7b-instruct", "geometry3k", "visual-r1",
               steps, (steps,), ("qwen2.5-vl-7b-easyr1",), settings,
               notes=("EasyR1 itself (hiyouga/EasyR1, not on PyPI, its own OmegaConf config) is the alternative the "
                      "paper used; docs/training.md lists the differences",))


RUNS: tuple[Run, ...] = _build()
RUN_IDS: tuple[str, ...] = tuple(run.id for run in RUNS)


def get_run(run_id: str) -> Run:
    for run in RUNS:
        if run.id == run_id:
            return run
    raise ReproError(f"unknown training run {run_id!r}; known: {', '.join(RUN_IDS)}")
