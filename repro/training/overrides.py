"""A run of the table as the engine's own launch: Hydra overrides and the command line.

    overrides(run, paths, nodes=1, gpus_per_node=8) -> ["algorithm.adv_estimator=grpo", ...]
    launch_command(run, paths, ...)                  -> ["python3", "-m", "verl.trainer.main_ppo", ...]

Every override is a plain `key=value` (Hydra refuses it unless the key exists in the engine's
config), except the few keys the engine reads with a default but its yaml does not declare
(APPENDED_KEYS), which get Hydra's `+` (refused if the key does exist). So a typo, or a key
that a different engine version renamed, fails composition instead of being ignored.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from repro.training.runs import Run

# Entry points (module names run with `python3 -m`).
MAIN_PPO = "verl.trainer.main_ppo"  # VeRL 0.3.0.post1: verl/trainer/main_ppo.py, config ppo_trainer.yaml
MAIN_DAPO = "recipe.dapo.src.main_dapo"  # verl@3a27a98: recipe/dapo/src/main_dapo.py, config dapo_trainer.yaml
ENTRY_POINTS = {"verl": MAIN_PPO, "verl-dapo": MAIN_DAPO}
CONFIG_NAMES = {"verl": "ppo_trainer", "verl-dapo": "dapo_trainer"}

# Keys read by the engine with a default but absent from its yaml (engine -> key -> where it is read).
APPENDED_KEYS: dict[str, dict[str, str]] = {
    "verl": {
        "trainer.val_before_train": "verl/trainer/ppo/ray_trainer.py: config.trainer.get('val_before_train', True)",
        "actor_rollout_ref.actor.optim.weight_decay":
            "verl/workers/fsdp_workers.py: optim_config.get('weight_decay', 1e-2)",
    },
    "verl-dapo": {},  # the recipe's yaml declares both
}

# The reward: the package's grader behind VeRL's custom-reward interface
# (custom_reward_function.path / .name, verl/trainer/main_ppo.py get_custom_reward_fn):
# repro/training_reward.py, which VeRL loads by path as a standalone module.
REWARD_FILE = "repro/training_reward.py"
REWARD_FUNCTION = "compute_score"


@dataclass(frozen=True)
class Paths:
    """Where the engine finds its inputs and writes its checkpoints (absolute paths)."""

    train_files: str
    val_files: str
    model: str
    checkpoints: str
    reward_file: str


def hydra_value(value: object) -> str:
    """A value in Hydra's override grammar: booleans True/False, None null, lists [a,b],
    interpolations as they are, strings quoted unless they are plain words or paths."""
    if isinstance(value, bool):
        return "True" if value else "False"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(hydra_value(item) for item in value) + "]"
    text = str(value)
    if text.startswith("${") or re.fullmatch(r"[A-Za-z0-9_./~-]+", text):
        return text
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _key(engine: str, key: str) -> str:
    return ("+" + key) if key in APPENDED_KEYS[engine] else key


def overrides(run: Run, paths: Paths, *, nodes: int = 1, gpus_per_node: int = 8,
              extra: Sequence[str] = ()) -> list[str]:
    """The run's full list of Hydra overrides, table settings first, then paths and resources.
    `extra`: `key=value` overrides that replace the same key in place, or are appended (the
    fresh-start or resume overrides of repro.merging.start_overrides)."""
    placed = {
        "data.train_files": paths.train_files,
        "data.val_files": paths.val_files,
        "data.prompt_key": "prompt",
        "actor_rollout_ref.model.path": paths.model,
        "trainer.default_local_dir": paths.checkpoints,
        "custom_reward_function.path": paths.reward_file,
        "custom_reward_function.name": REWARD_FUNCTION,
        "trainer.nnodes": nodes,
        "trainer.n_gpus_per_node": gpus_per_node,
    }
    pairs = [(setting.key, setting.value) for setting in run.settings] + list(placed.items())
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise ValueError(f"run {run.id} sets {key} twice")
        seen.add(key)
    items = [f"{_key(run.engine, key)}={hydra_value(value)}" for key, value in pairs]
    return replace_overrides(items, extra)


def override_key(item: str) -> str:
    """The key of a `key=value` or `+key=value` override."""
    return item.split("=", 1)[0].lstrip("+~")


def replace_overrides(items: Sequence[str], extra: Sequence[str]) -> list[str]:
    """`items` with each of `extra` replacing the override of the same key (in its place), or
    appended: one override per key, so the command shows each value once."""
    result = list(items)
    where = {override_key(item): i for i, item in enumerate(result)}
    for item in extra:
        key = override_key(item)
        if key in where:
            result[where[key]] = result[where[key]].split("=", 1)[0] + "=" + item.split("=", 1)[1]
        else:
            where[key] = len(result)
            result.append(item)
    return result


def launch_command(run: Run, paths: Paths, *, nodes: int = 1, gpus_per_node: int = 8,
                   python: str = "python3", extra: Sequence[str] = ()) -> list[str]:
    """The engine's own launch, as an argument list (no shell)."""
    return [python, "-m", ENTRY_POINTS[run.engine],
            *overrides(run, paths, nodes=nodes, gpus_per_node=gpus_per_node, extra=extra)]


def example_paths(run: Run, root: str = "/data/repro-train") -> Paths:
    """Paths of the documented layout under `root` (what `repro train` uses by default)."""
    data = f"{root}/data/{run.train_set}"
    return Paths(train_files=f"{data}/train.parquet", val_files=f"{data}/test.parquet",
                 model=f"{root}/models/{run.base_model}", checkpoints=f"{root}/checkpoints/{run.id}",
                 reward_file=f"{root}/code/{REWARD_FILE}")
