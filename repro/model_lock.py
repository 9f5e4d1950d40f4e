"""The commit of every hub model a run folder uses, fixed on first use: OUT/models.lock.json.

Most released models have no revision that a public source pins (repro.models: revision None).
Their commit is resolved once -- by `repro fetch --models`, or by the first `repro run` that
samples them -- and written into the run folder's lock; every later run of that folder plans
with the locked commit, so samples are keyed by it (repro.plan) and the engine downloads
exactly it. A run that would use another commit (the catalogue now pins another one, or the
hub has moved and the lock is being refreshed) is refused unless --update-model-lock says so,
and the refusal names what changed.

Resolution, for a model not yet locked: the commit the local hub cache holds for the default
branch (what was downloaded first, maybe long ago: the commit the weights on this machine are
at), else the hub's answer for the default branch now. The hub is asked in one place,
`hub_commit`, so that downloads can move behind another client without touching the rest.

    {"format": 1, "models": {"Qwen/Qwen2.5-14B": {"commit": "...", "resolved_at": "...",
                                                  "source": "hub", "models": ["qwen2.5-14b"]}}}

Entries are keyed by hub id: two catalogue models with the same weights (qwen2.5-32b and its
DAPO-prompt twin) always share one commit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from repro.errors import ReproError
from repro.files import atomic_write
from repro.models import Model
from repro.provenance import utc_now

LOCK_FILE = "models.lock.json"
FORMAT = 1
UPDATE_OPTION = "--update-model-lock"
_COMMIT = re.compile(r"[0-9a-f]{40}")


class ModelLockError(ReproError):
    """The lock is damaged, disagrees with what a run would use, or a commit cannot be found."""


# (hub id, fresh) -> (commit of its default branch, where it was found). fresh: ask the hub
# itself, never the local cache (refreshing a lock).
Resolver = Callable[[str, bool], tuple[str, str]]


def lock_path(root: Path) -> Path:
    return Path(root) / LOCK_FILE


def read_lock(root: Path) -> dict[str, dict[str, Any]]:
    """Hub id -> entry of the run folder's lock ({} when there is none)."""
    path = lock_path(root)
    if not path.is_file():
        return {}
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ModelLockError(f"{path} is unreadable ({error}); restore it from a copy, or remove it to resolve the "
                             "commits again (samples of other commits are then not reused)") from None
    models = content.get("models") if isinstance(content, dict) else None
    if not isinstance(models, dict) or not all(isinstance(entry, dict) and _COMMIT.fullmatch(str(entry.get("commit")))
                                              for entry in models.values()):
        raise ModelLockError(f"{path} is damaged (every model needs a 40-hex commit); restore it from a copy, or "
                             "remove it to resolve the commits again")
    return models


def locked_revisions(root: Path | None) -> dict[str, str]:
    """Hub id -> locked commit, for planning (repro.plan)."""
    return {} if root is None else {hub_id: entry["commit"] for hub_id, entry in read_lock(root).items()}


def write_lock(root: Path, entries: dict[str, dict[str, Any]]) -> Path:
    path = lock_path(root)
    content = {"format": FORMAT, "models": dict(sorted(entries.items()))}
    atomic_write(path, (json.dumps(content, indent=2, sort_keys=True) + "\n").encode())
    return path


def hub_commit(hub_id: str, fresh: bool = False) -> tuple[str, str]:
    """(commit, where found) of a hub model's default branch: the local hub cache's, if the
    model was downloaded here and not `fresh`, else the hub's (huggingface_hub). Raises
    ModelLockError when neither knows it (not downloaded and no network, a gated model without
    a token, a wrong id)."""
    try:
        from huggingface_hub import HfApi, try_to_load_from_cache
    except ImportError:
        raise ModelLockError(f"cannot resolve the commit of {hub_id}: huggingface_hub is not installed") from None
    if not fresh:
        try:
            cached = try_to_load_from_cache(hub_id, "config.json")
        except Exception:  # an id the cache cannot hold: ask the hub, which says what is wrong
            cached = None
        if isinstance(cached, str) and _COMMIT.fullmatch(Path(cached).parent.name):
            return Path(cached).parent.name, "local hub cache"  # .../snapshots/<commit>/config.json
    try:
        return str(HfApi().model_info(hub_id).sha), "hub"
    except Exception as error:  # offline, gated, unknown: one line, with what to do
        detail = str(error).splitlines()[0] if str(error) else ""
        raise ModelLockError(f"cannot resolve the commit of {hub_id}: the hub did not answer ({type(error).__name__}: "
                             f"{detail}); run `repro fetch --models` where there is network (and a token for gated "
                             "models)") from None


def download_model(hub_id: str, commit: str) -> Path:
    """The files of a hub model at a commit, downloaded into the hub cache (HF_HOME) unless
    there already; the snapshot folder."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise ModelLockError(f"cannot download {hub_id}: huggingface_hub is not installed") from None
    try:
        return Path(snapshot_download(hub_id, revision=commit))
    except Exception as error:
        detail = str(error).splitlines()[0] if str(error) else ""
        raise ModelLockError(f"cannot download {hub_id} at {commit[:12]} ({type(error).__name__}: {detail})") from None


def lock_models(root: Path, models: Iterable[Model], *, update: bool = False, resolve: Resolver | None = None,
                say: Callable[[str], None] = print) -> dict[str, str]:
    """Fix a commit for the hub id of each model and write the lock; returns hub id -> commit.

    A model the lock already holds keeps its commit; one the catalogue pins is locked at that
    pin; any other is resolved (`resolve`, default `hub_commit`: the local hub cache, else the
    hub). A locked commit that differs from the catalogue's pin is refused unless `update`,
    which also asks the hub again for every unpinned model and moves the lock where the answer
    changed (each change is said)."""
    from filelock import FileLock  # as the sample store's writer lock (repro.store)

    models = list(models)
    if not models:  # a run of stand-ins and simulations: nothing to lock, no file to leave
        return locked_revisions(root)
    # Shards of one run may start together on several nodes: the first to hold the lock resolves
    # and writes, the others then read its commits instead of resolving again (the hub may have
    # moved in between, and shards on two commits would sample two different stores).
    Path(root).mkdir(parents=True, exist_ok=True)
    with FileLock(str(lock_path(root)) + ".lock"):
        return _lock_models(root, models, update, resolve or hub_commit, say)


def _lock_models(root: Path, models: Iterable[Model], update: bool, resolve: Resolver,
                 say: Callable[[str], None]) -> dict[str, str]:
    entries = read_lock(root)
    changed = False
    conflicts = []
    by_hub: dict[str, list[Model]] = {}
    for model in models:
        by_hub.setdefault(model.hf_id, []).append(model)
    for hub_id, group in sorted(by_hub.items()):
        keys = sorted({model.key for model in group})
        pins = {model.revision for model in group if model.revision}
        if len(pins) > 1:
            raise ModelLockError(f"the catalogue pins {hub_id} at {len(pins)} commits ({', '.join(sorted(pins))}); "
                                 "one hub model has one commit per run folder")
        pin = next(iter(pins), None)
        found_in = "catalogue"
        entry = entries.get(hub_id)
        if entry is not None and pin is None and not update:
            wanted = entry["commit"]
        elif pin is not None:
            wanted = pin
        else:
            wanted, found_in = resolve(hub_id, update)
            if not _COMMIT.fullmatch(wanted):
                raise ModelLockError(f"the hub gave {wanted!r} as the commit of {hub_id}, not a 40-hex commit id")
        if entry is not None and entry["commit"] != wanted and not update:
            conflicts.append(f"{hub_id} ({', '.join(keys)}) is locked at {entry['commit'][:12]} but the catalogue "
                             f"pins {wanted[:12]}")
            continue
        if entry is not None and entry["commit"] != wanted:
            say(f"{LOCK_FILE}: {hub_id} moves from {entry['commit'][:12]} to {wanted[:12]} ({UPDATE_OPTION}); samples "
                "of the old commit stay in their stores")
        if entry is None or entry["commit"] != wanted or sorted(set(entry.get("models", [])) | set(keys)) != \
                sorted(entry.get("models", [])):
            kept = entry if entry is not None and entry["commit"] == wanted else {}
            entries[hub_id] = {"commit": wanted, "resolved_at": kept.get("resolved_at") or utc_now(),
                               "source": kept.get("source") or found_in,
                               "models": sorted(set(kept.get("models", [])) | set(keys))}
            changed = True
    if conflicts:
        raise ModelLockError(f"{lock_path(root)}: {conflicts[0]}" + (f" (and {len(conflicts) - 1} more)"
                                                                     if len(conflicts) > 1 else "")
                             + f"; rerun with {UPDATE_OPTION} to move the lock (samples of the old commit stay in "
                             "their stores), or use another --out folder")
    if changed:
        write_lock(root, entries)
    return {hub_id: entry["commit"] for hub_id, entry in entries.items()}
