"""Writing files so that a reader never sees half of one."""

from __future__ import annotations

import os
from pathlib import Path


def write_if_changed(path: Path, data: bytes) -> None:
    """Write `data` to `path` unless it already holds exactly that: through a temporary file
    beside it and an atomic rename, so a crash leaves the old file or the new one, never a mix."""
    if path.is_file() and path.read_bytes() == data:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.part")
    temporary.write_bytes(data)
    os.replace(temporary, path)
