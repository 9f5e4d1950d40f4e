"""Checkpoints trained here: where `repro train` leaves each model, and how runs find it.

The paper never released its VeRL and EasyR1 checkpoints (models with `released=False` in
repro.models). Once trained and merged into the Hugging Face format (repro.merging), each one
lives in the run folder (--out, $REPRO_HOME or ./runs) under

    checkpoints/<model key>/model/          the merged Hugging Face checkpoint
    checkpoints/<model key>/manifest.json   what made it

The manifest sits beside the model, not inside it: it records the model folder's content hash
(repro.checkpoints.content_sha256), which could not cover itself. It also records the training
run and step, the engine and its version, and the sha256 of the training configuration (the
resolved engine configuration file) and of the training data. `repro run` and `repro plan`
find these checkpoints without `--checkpoint`; an explicit `--checkpoint MODEL=DIR` wins.

A found checkpoint is validated like a given one, and its content hash must still equal the
manifest's: a model folder edited after it was registered is refused, not silently used.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from repro.checkpoints import Checkpoint, CheckpointError, content_sha256, validate_checkpoint
from repro.models import get_model

CHECKPOINTS_DIR = "checkpoints"
MODEL_DIR = "model"
MANIFEST_FILE = "manifest.json"
MANIFEST_FORMAT = 1
_READ_BLOCK = 8 * 1024 * 1024


@dataclass(frozen=True)
class Manifest:
    """What a trained checkpoint is and what made it."""

    model: str  # catalogue key (repro.models)
    run: str  # the training run (a row of `repro train`'s table)
    step: int  # the training step the checkpoint was saved at
    engine: str  # "verl" or "easyr1"
    engine_version: str  # package version, or the pinned commit where the engine has no release
    training_config_sha256: str  # sha256 of the resolved engine configuration file
    data_sha256: str  # sha256 over the training data files (files_sha256)
    checkpoint_sha256: str  # content hash of model/ (repro.checkpoints.content_sha256)
    merged_from: str = ""  # the engine's checkpoint folder it was merged from (for a reader; not checked)
    format: int = MANIFEST_FORMAT

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict, where: Path) -> Manifest:
        fields = set(cls.__dataclass_fields__)
        missing = sorted(fields - {"merged_from", "format"} - set(data))
        if missing:
            raise CheckpointError(f"{where}: the manifest lacks {', '.join(missing)}")
        if data.get("format", MANIFEST_FORMAT) != MANIFEST_FORMAT:
            raise CheckpointError(f"{where}: manifest format {data.get('format')!r}; this version reads "
                                  f"{MANIFEST_FORMAT}")
        manifest = cls(**{name: data[name] for name in fields if name in data})
        if not isinstance(manifest.step, int) or manifest.step < 0:
            raise CheckpointError(f"{where}: step must be a non-negative integer, not {manifest.step!r}")
        return manifest


def checkpoint_home(root: Path) -> Path:
    """The folder of every trained checkpoint of a run folder."""
    return Path(root) / CHECKPOINTS_DIR


def model_home(root: Path, model: str) -> Path:
    """Where the trained checkpoint of one model lives (model/ and manifest.json)."""
    return checkpoint_home(root) / model


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while block := handle.read(_READ_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def files_sha256(paths: Sequence[Path]) -> str:
    """sha256 over several files (each one's name, size and sha256, in the order given): the
    training data of a run (its parquet files) as one hash."""
    digest = hashlib.sha256()
    for path in paths:
        path = Path(path)
        digest.update(f"{path.name}\0{path.stat().st_size}\0".encode())
        digest.update(bytes.fromhex(file_sha256(path)))
    return digest.hexdigest()


def read_manifest(root: Path, model: str) -> Manifest:
    path = model_home(root, model) / MANIFEST_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise CheckpointError(f"{path}: cannot read the manifest ({error.strerror or error})") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{path}: the manifest is not valid JSON ({error})") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{path}: the manifest is not a JSON object")
    manifest = Manifest.from_dict(data, path)
    if manifest.model != model:
        raise CheckpointError(f"{path}: the manifest is for {manifest.model!r}, not {model!r}")
    return manifest


def registered_models(root: Path) -> set[str]:
    """Catalogue models with a trained checkpoint in this run folder (a manifest is there).
    Cheap: nothing is hashed; `find_trained` checks a checkpoint before it is used."""
    from repro.models import MODELS

    home = checkpoint_home(root)
    return {key for key in MODELS if (home / key / MANIFEST_FILE).is_file()}


def find_trained(model: str, root: Path, progress=None) -> Checkpoint | None:
    """The trained checkpoint of `model` in this run folder, validated and hashed; None when
    none was registered. A registered one that no model loads from, or whose files changed
    since (content hash differs from the manifest's), is an error."""
    get_model(model)
    folder = model_home(root, model)
    if not (folder / MANIFEST_FILE).is_file():
        if folder.is_dir() and any(folder.iterdir()):
            raise CheckpointError(f"{folder}: no {MANIFEST_FILE} (register the checkpoint with the merger, "
                                  "or give it with --checkpoint MODEL=DIR)")
        return None
    manifest = read_manifest(root, model)
    checkpoint = validate_checkpoint(model, folder / MODEL_DIR, progress)
    if checkpoint.sha256 != manifest.checkpoint_sha256:
        raise CheckpointError(f"{folder / MODEL_DIR}: content sha256 {checkpoint.sha256[:12]} differs from "
                              f"the manifest's {manifest.checkpoint_sha256[:12]}: its files changed after it was "
                              "registered; merge it again")
    return replace(checkpoint, training_config_sha256=manifest.training_config_sha256)


def trained_checkpoints(models: Iterable[str], root: Path, progress=None) -> dict[str, Checkpoint]:
    """{model: checkpoint} for each of `models` that has a trained checkpoint here."""
    found = {}
    for model in dict.fromkeys(models):
        checkpoint = find_trained(model, root, progress)
        if checkpoint is not None:
            found[model] = checkpoint
    return found


def _make_readable_like_mkdir(directory: Path) -> None:
    # mkdtemp creates mode 0700; a checkpoint home may be shared, so use the umask as mkdir does.
    umask = os.umask(0)
    os.umask(umask)
    directory.chmod(0o777 & ~umask)


def register_checkpoint(source: Path, target: Path, *, model: str, run: str, step: int, engine: str,
                        engine_version: str, training_config_sha256: str, data_sha256: str,
                        merged_from: str = "") -> Manifest:
    """Move a merged Hugging Face checkpoint (`source`) to `target`/model, hash it and write
    `target`/manifest.json. Built in a folder beside `target` and renamed into place, so a
    reader never finds a model without its manifest; a checkpoint already at `target` is
    replaced only once the new one is complete."""
    get_model(model)
    source, target = Path(source), Path(target)
    validate_checkpoint(model, source)  # refuse a merge that produced no loadable model, before moving it
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.registering-", dir=target.parent))
    moved = staging / MODEL_DIR
    try:
        shutil.move(str(source), moved)
        manifest = Manifest(model=model, run=run, step=step, engine=engine, engine_version=engine_version,
                            training_config_sha256=training_config_sha256, data_sha256=data_sha256,
                            checkpoint_sha256=content_sha256(moved), merged_from=merged_from)
        (staging / MANIFEST_FILE).write_text(json.dumps(manifest.as_dict(), indent=2, sort_keys=True) + "\n",
                                             encoding="utf-8")
        _make_readable_like_mkdir(staging)
        if target.exists():
            old = target.with_name(f".{target.name}.replaced-{os.getpid()}")
            os.rename(target, old)
            os.rename(staging, target)
            shutil.rmtree(old)
        else:
            os.rename(staging, target)
    except BaseException:
        if moved.exists() and not source.exists():  # give the merged model back: merging again costs minutes
            shutil.move(str(moved), source)
        raise
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return manifest
