"""Measured values (perplexities, entropies) kept so that a rerun does not recompute them.

In the spirit of the sample store: a value is filed under the sha256 of everything that
changes it (which responses: their store's key, the problems and how many; which model and
engine scored them; at which temperature; which definition), and the key is written beside the
value, so a file found under a digest is used only if its key is exactly the one asked for.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from repro.files import atomic_write
from repro.store import canonical_json, key_digest


class MeasurementCache:
    def __init__(self, root: Path):
        self.root = Path(root) / "measurements"

    def path(self, kind: str, key: dict[str, Any]) -> Path:
        return self.root / kind / f"{key_digest(key)[:32]}.json"

    def get(self, kind: str, key: dict[str, Any]) -> Any | None:
        """The stored value, or None when absent, unreadable or filed under another key."""
        path = self.path(kind, key)
        try:
            content = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError, UnicodeDecodeError):
            return None
        if not isinstance(content, dict) or canonical_json(content.get("key")) != canonical_json(key):
            return None
        return content.get("value")

    def put(self, kind: str, key: dict[str, Any], value: Any) -> None:
        atomic_write(self.path(kind, key), (json.dumps({"key": key, "value": value}, indent=1) + "\n").encode())
