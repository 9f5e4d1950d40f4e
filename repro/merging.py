"""From an engine's saved training state to a model: the engine's own merger, and resuming.

VeRL saves FSDP shards, one file per GPU rank, under

    <checkpoint dir>/global_step_<N>/actor/model_world_size_<W>_rank_<R>.pt
    <checkpoint dir>/global_step_<N>/actor/huggingface/      (config and tokenizer only)
    <checkpoint dir>/latest_checkpointed_iteration.txt         (the last step saved)

(volcengine/verl v0.3.0.post1 = 070ed6ac3f6aea13a916556794f34e8f2bde7dde:
verl/trainer/ppo/ray_trainer.py `_save_checkpoint`, verl/utils/checkpoint/fsdp_checkpoint_manager.py
`save_checkpoint`). Its merger, scripts/model_merger.py at that commit, takes one argument,
`--local_dir <...>/global_step_<N>/actor`, gathers the shards (FSDP only: it refuses tensor
parallel meshes), casts them to bfloat16 and writes the Hugging Face weights into
`<local_dir>/huggingface`, beside the config the trainer saved there. EasyR1 (hiyouga/EasyR1 at
d061cacfaa0b6fa6b47fe3c995b1e4836be5d558, March 2025) keeps the same layout and the same
merger command line (scripts/model_merger.py, `--local_dir`); its tracker file is
latest_global_step.txt (verl/utils/checkpoint/checkpoint_manager.py, CHECKPOINT_TRACKER).

The merger is a script of the engine's repository, not a module of its wheel: the training
image copies it from the pinned commit and names it in REPRO_MERGER_VERL / REPRO_MERGER_EASYR1.
`merge_checkpoint` runs it and registers the result (repro.trained), so `repro run` finds it.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from repro.errors import ReproError
from repro.trained import Manifest, file_sha256, files_sha256, register_checkpoint


class MergeError(ReproError):
    """A training checkpoint that cannot be merged or resumed from."""


@dataclass(frozen=True)
class TrainingEngine:
    name: str
    version: str  # what the manifest records: the release, or the pinned commit
    repository: str
    commit: str
    merger: str  # the merger script's path in the repository at `commit`
    tracker: str  # file in the checkpoint folder naming the last step saved
    merger_env: str  # environment variable naming the merger script on this machine


VERL = TrainingEngine("verl", "0.3.0.post1", "volcengine/verl", "070ed6ac3f6aea13a916556794f34e8f2bde7dde",
                      "scripts/model_merger.py", "latest_checkpointed_iteration.txt", "REPRO_MERGER_VERL")
EASYR1 = TrainingEngine("easyr1", "d061cacfaa0b6fa6b47fe3c995b1e4836be5d558", "hiyouga/EasyR1",
                        "d061cacfaa0b6fa6b47fe3c995b1e4836be5d558", "scripts/model_merger.py",
                        "latest_global_step.txt", "REPRO_MERGER_EASYR1")
ENGINES = {engine.name: engine for engine in (VERL, EASYR1)}

TOKENIZER_CONFIG = "tokenizer_config.json"
# transformers also reads a chat template from these files, ahead of tokenizer_config.json's
# (newer saves write chat_template.jinja).
TEMPLATE_FILES = ("chat_template.jinja", "chat_template.json")

_SHARD = re.compile(r"model_world_size_(\d+)_rank_0\.pt")


def get_engine(name: str) -> TrainingEngine:
    try:
        return ENGINES[name]
    except KeyError:
        raise MergeError(f"unknown training engine {name!r}; choose one of: {', '.join(ENGINES)}") from None


def step_folder(checkpoint_dir: Path, step: int) -> Path:
    return Path(checkpoint_dir) / f"global_step_{step}"


def actor_folder(checkpoint_dir: Path, step: int) -> Path:
    """What the merger reads (--local_dir): the actor's shards of one step."""
    return step_folder(checkpoint_dir, step) / "actor"


def merger_script(engine: TrainingEngine, merger: Path | None = None) -> Path | None:
    """The merger script: the one given, else the one its environment variable names; None if neither."""
    if merger is not None:
        return Path(merger)
    named = os.environ.get(engine.merger_env)
    return Path(named) if named else None


def merger_command(checkpoint_dir: Path, step: int, engine: TrainingEngine = VERL, merger: Path | None = None,
                   python: str | None = None) -> list[str]:
    """The engine's merger command line for one saved step. Without a merger script here (a
    dry run on a machine without the engine), the script's place is shown as
    <repository@commit>/<path>."""
    script = merger_script(engine, merger)
    shown = str(script) if script is not None else f"<{engine.repository}@{engine.commit[:7]}>/{engine.merger}"
    return [python or sys.executable, shown, "--local_dir", str(actor_folder(checkpoint_dir, step))]


def _check_shards(actor: Path) -> None:
    if not actor.is_dir():
        raise MergeError(f"{actor}: no such folder (was this step saved? trainer.save_freq decides which are)")
    if not any(_SHARD.fullmatch(path.name) for path in actor.iterdir()):
        raise MergeError(f"{actor}: no model_world_size_<W>_rank_0.pt (the engine's FSDP shards)")
    if not (actor / "huggingface" / "config.json").is_file():
        raise MergeError(f"{actor / 'huggingface'}: no config.json; the trainer saves it there when "
                         "checkpoint.contents lists 'hf_model' (the engine's default)")


def merge_checkpoint(checkpoint_dir: Path, step: int, target: Path, *, model: str, run: str,
                     training_config: Path, data: Sequence[Path], engine: TrainingEngine = VERL,
                     merger: Path | None = None, python: str | None = None, dry_run: bool = False,
                     tokenizer_from: Path | None = None,
                     say: Callable[[str], None] = print) -> Manifest | None:
    """Merge one saved step of a training run into a Hugging Face checkpoint with the engine's
    own merger and register it at `target` (repro.trained.model_home(root, model)) with its
    manifest. `training_config`: the resolved engine configuration file the run used;
    `data`: its training data files. `tokenizer_from`: a model folder whose tokenizer files
    replace the ones the engine saved (restore_tokenizer). `dry_run`: print the command and
    start nothing (None)."""
    command = merger_command(checkpoint_dir, step, engine, merger, python)
    say(shlex.join(command))
    if dry_run:
        return None
    actor = actor_folder(checkpoint_dir, step)
    _check_shards(actor)
    if merger_script(engine, merger) is None or not Path(command[1]).is_file():
        raise MergeError(f"the merger of {engine.name} {engine.version} is not here: it is {engine.merger} of "
                         f"{engine.repository} at {engine.commit}, not part of the engine's package; the training "
                         f"image has it (set {engine.merger_env} to its path)")
    completed = subprocess.run(command, check=False)
    if completed.returncode != 0:
        raise MergeError(f"the merger exited with status {completed.returncode}: {shlex.join(command)}")
    if tokenizer_from is not None:
        restore_tokenizer(tokenizer_from, actor / "huggingface")
    return register_checkpoint(actor / "huggingface", target, model=model, run=run, step=step, engine=engine.name,
                               engine_version=engine.version, training_config_sha256=file_sha256(training_config),
                               data_sha256=files_sha256(data), merged_from=str(actor))


def restore_tokenizer(base: Path, merged: Path) -> None:
    """Put a model's tokenizer_config.json and chat template files into a merged checkpoint in
    place of the ones the engine saved (a run trained through a pass-through chat template,
    repro.training.engine_model, gets its base model's template back)."""
    base, merged = Path(base), Path(merged)
    if not (base / TOKENIZER_CONFIG).is_file():
        raise MergeError(f"{base}: no {TOKENIZER_CONFIG} to restore into the merged model")
    for name in TEMPLATE_FILES:
        (merged / name).unlink(missing_ok=True)
    for name in (TOKENIZER_CONFIG, *TEMPLATE_FILES):
        if (base / name).is_file():
            shutil.copyfile(base / name, merged / name)


# ----------------------------------------------------------------------------- resume


def last_saved_step(checkpoint_dir: Path, engine: TrainingEngine = VERL) -> int | None:
    """The last step the engine saved in this folder (its tracker file), None if none was;
    a tracker naming a step whose folder is gone is an error (the engine would start over)."""
    tracker = Path(checkpoint_dir) / engine.tracker
    if not tracker.is_file():
        return None
    text = tracker.read_text(encoding="utf-8").strip()
    if not text.isdigit():
        raise MergeError(f"{tracker}: {text!r} is not a step number")
    step = int(text)
    if not step_folder(checkpoint_dir, step).is_dir():
        raise MergeError(f"{tracker} names step {step}, but {step_folder(checkpoint_dir, step)} is not there")
    return step


def start_overrides(checkpoint_dir: Path, resume: bool, engine: TrainingEngine = VERL) -> list[str]:
    """The engine's own overrides that start a run fresh, or resume it from its last saved step.

    VeRL 0.3.0.post1 (verl/trainer/config/ppo_trainer.yaml; ray_trainer.py `_load_checkpoint`):
    checkpoints go to trainer.default_local_dir; trainer.resume_mode is `auto` by default (resume
    from the tracker's step if there is one), `disable`, or `resume_path` with
    trainer.resume_from_path = a global_step_<N> folder. Resuming names the step explicitly
    (resume_path) so the dry run shows which one; a fresh start disables resuming, so that a
    relaunch never continues an old run by accident. EasyR1 (examples/config.yaml) saves to
    trainer.save_checkpoint_path and resumes only from an explicit trainer.load_checkpoint_path.
    """
    checkpoint_dir = Path(checkpoint_dir).resolve()
    step = last_saved_step(checkpoint_dir, engine)
    if not resume:
        if step is not None:
            raise MergeError(f"{checkpoint_dir} already holds step {step} of a run: resume it (--resume) or "
                             "move that folder away to start over")
        if engine is EASYR1:
            return [f"trainer.save_checkpoint_path={checkpoint_dir}"]
        return ["trainer.resume_mode=disable", f"trainer.default_local_dir={checkpoint_dir}"]
    if step is None:
        raise MergeError(f"nothing to resume in {checkpoint_dir}: no {engine.tracker} (no step was saved yet); "
                         "start the run without --resume")
    if engine is EASYR1:
        return [f"trainer.save_checkpoint_path={checkpoint_dir}",
                f"trainer.load_checkpoint_path={step_folder(checkpoint_dir, step)}"]
    return ["trainer.resume_mode=resume_path", f"trainer.resume_from_path={step_folder(checkpoint_dir, step)}",
            f"trainer.default_local_dir={checkpoint_dir}"]
