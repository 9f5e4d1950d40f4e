"""Writing files so that a reader never sees half of one."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


# Readable by all, as the benchmark downloader leaves its files: caches, stores and reports may
# be shared (a container writing as root to a volume others read).
FILE_MODE = 0o644


def atomic_write(path: Path, data: bytes) -> None:
    """Write data to path so that readers see the old file or the whole new one: a temporary
    file beside it, flushed to disk, then renamed over it, with mode FILE_MODE (mkstemp alone
    would leave it readable by its owner only)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, FILE_MODE)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_if_changed(path: Path, data: bytes) -> None:
    """atomic_write, skipped when `path` already holds exactly `data`."""
    if path.is_file() and path.read_bytes() == data:
        return
    atomic_write(path, data)


def atomic_write_with_sha256(path: Path, data: bytes) -> str:
    """atomic_write, then `<path>.sha256` beside it in sha256sum's format (checkable with
    `sha256sum -c`); returns the sha256."""
    atomic_write(path, data)
    digest = hashlib.sha256(data).hexdigest()
    atomic_write(path.with_name(path.name + ".sha256"), f"{digest}  {path.name}\n".encode())
    return digest
