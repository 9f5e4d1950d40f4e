"""The model folder the engine is given: the base model itself, or a view of it whose chat
template passes the prompt through unchanged.

    needs_pass_through(run)             -> whether the run's prompt must reach the model as it is
    prepare_pass_through(base, view)    -> the view: links to every file of `base`, but a
                                           tokenizer_config.json whose chat template is PASS_THROUGH

Why a view: VeRL 0.3.0.post1 always wraps a row's `prompt` messages in the tokenizer's chat
template (verl/utils/dataset/rl_dataset.py, RLHFDataset.__getitem__:
`tokenizer.apply_chat_template(chat, add_generation_prompt=True, tokenize=False)`), with no
setting to turn that off, and it reads the tokenizer from actor_rollout_ref.model.path
(verl/trainer/main_ppo.py and verl/workers/fsdp_workers.py: `hf_tokenizer(copy_to_local(path))`).
The paper prints one prompt for "VeRL training ... and evaluation" (Figure 27, Appendix E): plain
text with no chat markup, unlike Figures 21 and 26, which print their ChatML tokens. Evaluation
sends that text as it is (the authors' math_eval.py with --apply_chat_template off), so Qwen's
ChatML around it during training would train the model on prompts evaluation never gives it. The
view makes the engine's tokenizer render exactly the text evaluation renders; tests check that
the two strings are equal, with the engine's own dataset class in the training environment.

The Figure 26 (visual) run keeps the model's own template: its prompt is Qwen2.5-VL's ChatML, and
the engine must expand the image placeholder inside it.

A merged checkpoint carries the tokenizer the engine saved (the view's); merging puts the base
model's tokenizer files back (repro.merging.restore_tokenizer), so the registered model has the
base's tokenizer and chat template with the trained weights.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from repro.errors import ReproError
from repro.merging import TEMPLATE_FILES, TOKENIZER_CONFIG
from repro.training.data import get_training_set
from repro.training.runs import Run

# Every message's content, nothing around it, add_generation_prompt ignored: for the one user
# message of a Figure 27 row the rendering is that message, character for character.
PASS_THROUGH = "{% for message in messages %}{{ message['content'] }}{% endfor %}"
VIEW_SUFFIX = ".pass-through-template"


def needs_pass_through(run: Run) -> bool:
    """A run whose training set's prompt is plain text that evaluation sends unwrapped."""
    return not get_training_set(run.train_set).chat_template


def view_folder(base: Path) -> Path:
    base = Path(base)
    return base.with_name(base.name + VIEW_SUFFIX)


def prepare_pass_through(base: Path, view: Path | None = None) -> Path:
    """(Re)build the pass-through view of the model in `base` and return its path. Built in a
    folder beside it and renamed into place, so the engine never reads a half-made view."""
    base = Path(base).resolve()
    view = Path(view) if view is not None else view_folder(base)
    config_path = base / TOKENIZER_CONFIG
    if not config_path.is_file():
        raise ReproError(f"{base}: no {TOKENIZER_CONFIG}; the base model's download is incomplete")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise ReproError(f"{config_path} is not JSON ({error})") from None
    config["chat_template"] = PASS_THROUGH
    view.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{view.name}.building-", dir=view.parent))
    try:
        for entry in sorted(base.iterdir()):
            if entry.name in (TOKENIZER_CONFIG, *TEMPLATE_FILES):
                continue
            os.symlink(entry, staging / entry.name)
        (staging / TOKENIZER_CONFIG).write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n",
                                                encoding="utf-8")
        if view.exists():
            shutil.rmtree(view)
        os.rename(staging, view)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return view
