"""Local checkpoints given with `--checkpoint MODEL=DIR`, checked before anything runs.

A checkpoint stands in for a model of the catalogue (one the paper never released and that was
trained here or elsewhere, or a local copy of a released one). It is accepted only if a model
can be loaded from it: a readable config.json and readable weights (safetensors or PyTorch
files; every shard that a weight index lists). Its content hash (sha256 over every file's
relative path and bytes) goes into the run specification and the report, so the samples of
two different checkpoints are never mixed and a reader can tell which one ran.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from repro.errors import ReproError
from repro.progress import no_progress

WEIGHT_PATTERNS = ("*.safetensors", "pytorch_model*.bin")
WEIGHT_INDEXES = ("model.safetensors.index.json", "pytorch_model.bin.index.json")
_READ_BLOCK = 8 * 1024 * 1024


class CheckpointError(ReproError):
    """A --checkpoint folder that no model can be loaded from."""


@dataclass(frozen=True)
class Checkpoint:
    path: str  # absolute; not part of the store key (a moved folder keeps its samples)
    sha256: str  # content hash of every file
    # sha256 of the training configuration that made it, where the package trained it
    # (repro.trained reads it from the checkpoint's manifest); None for a --checkpoint folder.
    training_config_sha256: str | None = None


def _fail(model: str, directory: Path, why: str) -> CheckpointError:
    return CheckpointError(f"--checkpoint {model}={directory}: {why}")


def _read_json(model: str, directory: Path, name: str) -> dict:
    path = directory / name
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise _fail(model, directory, f"cannot read {name} ({error.strerror or error})") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise _fail(model, directory, f"{name} is not valid JSON ({error})") from None


def weight_files(model: str, directory: Path) -> list[Path]:
    """The weight files a loader would read; refuses a folder without them."""
    for index_name in WEIGHT_INDEXES:
        if (directory / index_name).is_file():
            shards = sorted(set(_read_json(model, directory, index_name).get("weight_map", {}).values()))
            if not shards:
                raise _fail(model, directory, f"{index_name} lists no weight files")
            missing = [name for name in shards if not (directory / name).is_file()]
            if missing:
                raise _fail(model, directory, f"{index_name} lists {len(missing)} missing file(s), e.g. {missing[0]}")
            return [directory / name for name in shards]
    files = sorted({path for pattern in WEIGHT_PATTERNS for path in directory.glob(pattern) if path.is_file()})
    if not files:
        raise _fail(model, directory, "no weights (*.safetensors or pytorch_model*.bin)")
    return files


def config_context(config: dict) -> int | None:
    """max_position_embeddings of a model config (a vision-language config keeps it in its
    text part); None when the config does not say."""
    for part in (config, config.get("text_config") or {}):
        value = part.get("max_position_embeddings")
        if isinstance(value, int):
            return value
    return None


def content_sha256(directory: Path, progress=None) -> str:
    """sha256 over every file's relative path, size and bytes, in path order."""
    files = sorted(path for path in directory.rglob("*") if path.is_file())
    digest = hashlib.sha256()
    total = sum(path.stat().st_size for path in files)
    with (progress or no_progress)(f"hash {directory.name}", total) as advance:
        for path in files:
            digest.update(f"{path.relative_to(directory).as_posix()}\0{path.stat().st_size}\0".encode())
            with path.open("rb") as handle:
                while block := handle.read(_READ_BLOCK):
                    digest.update(block)
                    advance(len(block))
    return digest.hexdigest()


def validate_checkpoint(model: str, directory: str | Path, progress=None) -> Checkpoint:
    """A checkpoint a model can be loaded from, with its content hash; else one clear error."""
    directory = Path(directory).expanduser()
    if not directory.is_dir():
        raise _fail(model, directory, "not a folder")
    if not (directory / "config.json").is_file():
        raise _fail(model, directory, "no config.json (not a model folder)")
    _read_json(model, directory, "config.json")
    for path in weight_files(model, directory):
        try:
            with path.open("rb") as handle:
                if not handle.read(1):
                    raise _fail(model, directory, f"{path.name} is empty")
        except OSError as error:
            raise _fail(model, directory, f"cannot read {path.name} ({error.strerror or error})") from None
    try:
        sha256 = content_sha256(directory, progress)
    except OSError as error:
        raise _fail(model, directory, f"cannot read every file ({error})") from None
    return Checkpoint(str(directory.resolve()), sha256)
