"""Compose every run's configuration against the engine's own config tree, on CPU, without
importing verl or torch.

    config_dir()                 -> verl/trainer/config of the installed VeRL (found, not imported)
    compose(run, paths, ...)     -> the composed config (an OmegaConf DictConfig)
    check_run(run, ...)          -> the composed config, after checking that the intended
                                    algorithm is the one the engine will run

Hydra does the real work: `initialize_config_dir(<verl>/verl/trainer/config)` then
`compose("ppo_trainer", overrides)`. Hydra refuses an override of a key the tree lacks
("Could not override ...") and a `+key` the tree already has, so composition alone proves
every override names an existing key.

DAPO: the recipe (volcengine/verl@3a27a98 recipe/dapo/src/config/dapo_trainer.yaml) is not in
any wheel. When a checkout's recipe config folder is given (env REPRO_VERL_DAPO_CONFIG, the
train image sets it), the DAPO run composes against it. Otherwise it composes against the
wheel's ppo_trainer.yaml extended by DAPO_RECIPE_ADDS: the keys that recipe yaml adds to
ppo_trainer.yaml, with the recipe's defaults (read from the diff of the two files at those
commits). The DAPO-only keys are also checked to be ABSENT from ppo_trainer.yaml, so that
running DAPO through main_ppo by mistake could not silently drop them.

Needs hydra-core (the training CPU environment); imported lazily so the rest of the package
never depends on it.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from pathlib import Path

from repro.errors import ReproError
from repro.training.overrides import CONFIG_NAMES, Paths, example_paths, overrides
from repro.training.runs import Run

DAPO_CONFIG_ENV = "REPRO_VERL_DAPO_CONFIG"

# Keys recipe/dapo/src/config/dapo_trainer.yaml (verl@3a27a98) has and VeRL 0.3.0.post1's
# ppo_trainer.yaml lacks, with the recipe's defaults.
DAPO_RECIPE_ADDS: dict[str, object] = {
    "data.reward_fn_key": "data_source",
    "data.gen_batch_size": "${data.train_batch_size}",
    "actor_rollout_ref.actor.clip_ratio_low": 0.2,
    "actor_rollout_ref.actor.clip_ratio_high": 0.2,
    "actor_rollout_ref.actor.clip_ratio_c": 3.0,
    "actor_rollout_ref.actor.loss_agg_mode": "token-mean",
    "actor_rollout_ref.actor.optim.weight_decay": 0.01,
    "critic.rollout_n": "${actor_rollout_ref.rollout.n}",
    "critic.optim.weight_decay": 0.01,
    "reward_model.overlong_buffer.enable": False,
    "reward_model.overlong_buffer.len": 0,
    "reward_model.overlong_buffer.penalty_factor": 0.0,
    "reward_model.overlong_buffer.log": False,
    "algorithm.use_kl_in_reward": False,
    "algorithm.kl_ctrl.horizon": 10000,
    "algorithm.kl_ctrl.target_kl": 0.1,
    "algorithm.filter_groups.enable": False,
    "algorithm.filter_groups.metric": None,
    "algorithm.filter_groups.max_num_gen_batches": 0,
    "trainer.log_val_generations": 0,
    "trainer.val_before_train": True,
    "trainer.remove_previous_ckpt_in_save": False,
}
# ppo_trainer.yaml's trainer.val_generations_to_log_to_wandb is renamed log_val_generations there.
DAPO_RECIPE_DROPS = ("trainer.val_generations_to_log_to_wandb",)

# What each estimator means in the engine: critic or not (ray_trainer.py: use_critic only for gae).
ESTIMATORS = {"gae": "PPO (GAE with a critic)", "grpo": "GRPO", "reinforce_plus_plus": "Reinforce++",
              "rloo": "RLOO", "remax": "ReMax"}
INTENDED = {"ppo": "gae", "grpo": "grpo", "grpo-kl0.001": "grpo", "grpo-n32": "grpo", "dapo": "grpo",
            "reinforce-pp": "reinforce_plus_plus", "rloo": "rloo", "remax": "remax", "visual-grpo-geo3k": "grpo"}


class ConfigCheckError(ReproError):
    """A run's configuration does not compose, or composes to something else than intended."""


def config_dir() -> Path:
    """verl/trainer/config of the installed VeRL, located without importing verl (importing it
    pulls in torch, ray and transformers)."""
    spec = importlib.util.find_spec("verl")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigCheckError("VeRL is not installed in this environment (the training CPU environment has it: "
                               "scripts/install-train)")
    folder = Path(list(spec.submodule_search_locations)[0]) / "trainer" / "config"
    if not (folder / "ppo_trainer.yaml").is_file():
        raise ConfigCheckError(f"{folder} has no ppo_trainer.yaml")
    return folder


def dapo_config_dir() -> Path | None:
    value = os.environ.get(DAPO_CONFIG_ENV)
    if not value:
        return None
    folder = Path(value)
    if not (folder / "dapo_trainer.yaml").is_file():
        raise ConfigCheckError(f"${DAPO_CONFIG_ENV}={folder} has no dapo_trainer.yaml")
    return folder


def _compose(folder: Path, name: str, items: list[str]):
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    try:
        with initialize_config_dir(config_dir=str(folder.resolve()), version_base=None):
            return hydra_compose(config_name=name, overrides=items)
    except (HydraException, OmegaConfBaseException) as error:
        raise ConfigCheckError(f"{name} does not compose: {error}") from None


def _dapo_stand_in_overrides(items: list[str]) -> list[str]:
    """The run's overrides against ppo_trainer.yaml + DAPO_RECIPE_ADDS: each added key is first
    appended with the recipe's default, then the run's own value (if any) overrides it."""
    from repro.training.overrides import hydra_value

    appended = [f"+{key}={hydra_value(value)}" for key, value in DAPO_RECIPE_ADDS.items()]
    dropped = [f"~{key}" for key in DAPO_RECIPE_DROPS]
    return appended + dropped + items


def compose(run: Run, paths: Paths | None = None, *, nodes: int = 1, gpus_per_node: int = 8,
            extra: Sequence[str] = ()):
    """The run's configuration composed by Hydra from the engine's own tree (`extra`: overrides
    replacing the table's, as repro.training.overrides.overrides takes them)."""
    items = overrides(run, paths or example_paths(run), nodes=nodes, gpus_per_node=gpus_per_node, extra=extra)
    if run.engine == "verl-dapo":
        recipe = dapo_config_dir()
        if recipe is not None:
            return _compose(recipe, CONFIG_NAMES["verl-dapo"], items)
        return _compose(config_dir(), CONFIG_NAMES["verl"], _dapo_stand_in_overrides(items))
    return _compose(config_dir(), CONFIG_NAMES[run.engine], items)


def dapo_keys_absent_from_main_ppo() -> list[str]:
    """The DAPO-only keys that ppo_trainer.yaml does have (should be none: else main_ppo would
    accept a DAPO override and silently not implement it)."""
    from omegaconf import OmegaConf

    tree = OmegaConf.load(config_dir() / "ppo_trainer.yaml")
    return [key for key in DAPO_RECIPE_ADDS if OmegaConf.select(tree, key, default=_MISSING) is not _MISSING]


_MISSING = object()


def check_run(run: Run, paths: Paths | None = None, *, nodes: int = 1, gpus_per_node: int = 8,
              extra: Sequence[str] = ()):
    """Compose the run and check that the engine will run the intended algorithm with the
    table's values (except the keys `extra` sets on purpose); returns the composed config."""
    from omegaconf import OmegaConf

    from repro.training.overrides import override_key

    config = compose(run, paths, nodes=nodes, gpus_per_node=gpus_per_node, extra=extra)
    replaced = {override_key(item) for item in extra}
    estimator = config.algorithm.adv_estimator
    if estimator != INTENDED[run.id]:
        raise ConfigCheckError(f"{run.id}: adv_estimator is {estimator}, intended {INTENDED[run.id]}")
    if run.id == "dapo" and not (config.algorithm.filter_groups.enable and config.reward_model.overlong_buffer.enable
                                 and config.actor_rollout_ref.actor.clip_ratio_high > config.actor_rollout_ref.actor.clip_ratio_low):
        raise ConfigCheckError("dapo: dynamic sampling, overlong shaping and clip-higher must all be on")
    for setting in run.settings:
        if setting.key in replaced:
            continue
        actual = OmegaConf.select(config, setting.key)
        if isinstance(actual, (list, tuple)) or OmegaConf.is_list(actual):
            actual = list(actual)
        wanted = list(setting.value) if isinstance(setting.value, (list, tuple)) else setting.value
        if isinstance(wanted, str) and wanted.startswith("${"):
            continue  # an interpolation: resolved against another key
        if actual != wanted:
            raise ConfigCheckError(f"{run.id}: {setting.key} composed to {actual!r}, the table says {wanted!r}")
    return config


def resolved_yaml(config) -> str:
    from omegaconf import OmegaConf

    return OmegaConf.to_yaml(config, resolve=True)
