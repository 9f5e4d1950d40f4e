"""Checking a sample store against itself, and mending what can be mended.

    audit(store folder) -> Audit          every problem found, with what repair would do
    repair(store folder) -> Audit         does it (holding every writer lock), then audits again

What is checked: the manifest (present where samples are, its key matching its hash), every
index (valid, one per shard that has chunks), every listed chunk (present, its sha256 the one
its index lists), units held twice (overlapping shards), chunks no index lists and temporary
files (what killed writes leave), and every grades file (made from its chunk's exact bytes,
its checksum intact, its chunk still listed).

What repair does, and why it is safe: samples are seeded per request (problem, round), so a
unit dropped from the store is sampled again, identically for the same engine, by the next
run; grades are a pure function of samples and are recomputed. Repair therefore only removes
(debris, corrupt or missing chunks' entries, stale grades) and rebuilds a lost or corrupt index
from the chunks on disk whose gzip checksum and records are intact. It never invents samples,
and it cannot mend a lost manifest: what made those samples is unknown (move the folder away).
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from repro.errors import StoreError
from repro.files import atomic_write
from repro.store import (CHUNK_SUFFIX, MANIFEST, TEMPORARY_GLOB, SampleStore, Unit, canonical_json, index_problem,
                         shard_tag_of)


@dataclass(frozen=True)
class Finding:
    """One problem of a store: the file, what is wrong, and what repair does about it (empty
    when repair cannot mend it; `advice` then says what to do)."""

    path: Path
    problem: str
    action: str
    advice: str = ""
    fix: Callable[[], None] | None = field(default=None, compare=False, repr=False)


@dataclass
class Audit:
    store: Path
    findings: list[Finding]
    chunks_checked: int
    writers: dict[str, str]  # shard tag -> who holds its writer lock now

    @property
    def clean(self) -> bool:
        return not self.findings

    @property
    def repairable(self) -> list[Finding]:
        return [finding for finding in self.findings if finding.fix is not None]


def find_stores(paths: list[Path]) -> list[Path]:
    """Store folders at or under each path (a run folder, a samples folder or one store): any
    folder with a manifest, an index or a chunks folder."""
    stores: set[Path] = set()
    for path in paths:
        if not path.is_dir():
            raise StoreError(f"{path}: not a folder")
        for pattern in (MANIFEST, "index-*.json", "chunks"):
            stores.update(found.parent for found in path.rglob(pattern) if found.parent.name != "chunks")
        if _looks_like_store(path):
            stores.add(path)
    return sorted(stores)


def _looks_like_store(path: Path) -> bool:
    return (path / MANIFEST).exists() or (path / "chunks").is_dir() or any(path.glob("index-*.json"))


# ----------------------------------------------------------------------------- audit


def audit(root: Path, writers: dict[str, str] | None = None) -> Audit:
    """Every problem of the store at `root`. Files a writer may have in flight (its shard's
    temporary files and unlisted chunks) are not judged while it writes. `writers`: given by
    repair, which holds every lock itself."""
    store = SampleStore(root)
    writers = active_writers(root) if writers is None else writers
    findings: list[Finding] = []
    findings += _temporary_files(root, writers)
    findings += _manifest(store)
    listings, broken = _indexes(store, findings)
    checked = _chunks(store, listings, findings)
    findings += _unindexed_chunks(root, listings, broken, writers)
    findings += _overlaps(listings)
    findings += _grades(store, listings, broken)
    return Audit(root, findings, checked, writers)


def active_writers(root: Path) -> dict[str, str]:
    """Shard tag -> holder, for every writer lock of the store held right now (SampleStore.holds_lock:
    tried, since a lock file alone says nothing and a killed holder leaves it behind)."""
    store = SampleStore(root)
    held = {}
    for lock_path in root.glob("writer-*.lock"):
        tag = shard_tag_of(lock_path.name) or lock_path.name
        if store.holds_lock(tag):
            owner = lock_path.with_suffix(".owner")
            held[tag] = owner.read_text().strip() if owner.exists() else "another process"
    return held


def _temporary_files(root: Path, writers: dict[str, str]) -> list[Finding]:
    findings = []
    for path in sorted(root.rglob(TEMPORARY_GLOB)):
        tag = shard_tag_of(path.name)
        if (tag in writers) or (tag is None and writers):
            continue  # possibly a write in flight
        findings.append(Finding(path, "temporary file of an interrupted write", "remove it",
                                fix=lambda path=path: path.unlink(missing_ok=True)))
    return findings


def _manifest(store: SampleStore) -> list[Finding]:
    path = store.root / MANIFEST
    holds_samples = any(store.root.glob("index-*.json")) or any((store.root / "chunks").glob("*" + CHUNK_SUFFIX))
    if not path.exists():
        if not holds_samples:
            return []
        return [Finding(path, "missing: what made the samples is unknown", "",
                        "restore the manifest from a copy, or move the store away and rerun to sample it again")]
    try:
        store.manifest()
    except StoreError as error:
        return [Finding(path, str(error).removeprefix(f"{path} "), "",
                        "restore the manifest from a copy, or move the store away and rerun to sample it again")]
    return []


def _indexes(store: SampleStore, findings: list[Finding]) -> tuple[dict[str, dict[str, dict]], set[str]]:
    """(shard tag -> listed chunks of every valid index, tags whose index is missing or corrupt)."""
    listings: dict[str, dict[str, dict]] = {}
    broken: set[str] = set()
    for path in sorted(store.root.glob("index-*.json")):
        tag = shard_tag_of(path.name) or path.name
        problem = index_problem(path)
        if problem:
            broken.add(tag)
            findings.append(Finding(path, f"corrupt index ({problem})", "rebuild it from the intact chunks on disk",
                                    fix=lambda tag=tag: rebuild_index(store, tag)))
        else:
            listings[tag] = json.loads(path.read_text())["chunks"]
    for tag in store.unindexed_shards():
        broken.add(tag)
        findings.append(Finding(store.root / f"index-{tag}.json", "missing, but its shard's chunks are there",
                                "rebuild it from the intact chunks on disk",
                                fix=lambda tag=tag: rebuild_index(store, tag)))
    return listings, broken


def _chunks(store: SampleStore, listings: dict[str, dict[str, dict]], findings: list[Finding]) -> int:
    checked = 0
    for tag, listed in sorted(listings.items()):
        for name, entry in sorted(listed.items()):
            path = store.root / "chunks" / name
            units = len(entry["units"])
            drop = (lambda tag=tag, name=name: _drop_chunk(store, tag, name))
            if not path.exists():
                findings.append(Finding(path, "listed in its index but missing",
                                        f"drop it from the index (the next run samples its {units} units again)",
                                        fix=drop))
                continue
            checked += 1
            actual = hashlib.sha256(path.read_bytes()).hexdigest()
            if actual != entry["sha256"]:
                findings.append(Finding(path, f"corrupt (sha256 {actual[:12]}, its index says {entry['sha256'][:12]})",
                                        f"remove it and its grades (the next run samples its {units} units again)",
                                        fix=drop))
    return checked


def _unindexed_chunks(root: Path, listings: dict[str, dict[str, dict]], broken: set[str],
                      writers: dict[str, str]) -> list[Finding]:
    findings = []
    for path in sorted((root / "chunks").glob("*" + CHUNK_SUFFIX)):
        tag = shard_tag_of(path.name)
        if tag in broken or tag in writers or tag not in listings or path.name in listings[tag]:
            continue
        findings.append(Finding(path, "a chunk no index lists (the write in flight when a run died)", "remove it",
                                fix=lambda path=path: path.unlink(missing_ok=True)))
    return findings


def _overlaps(listings: dict[str, dict[str, dict]]) -> list[Finding]:
    owner: dict[Unit, str] = {}
    findings = []
    for tag, listed in sorted(listings.items()):
        for name, entry in sorted(listed.items()):
            for pid, round_index in entry["units"]:
                unit = (pid, int(round_index))
                if unit in owner and shard_tag_of(owner[unit]) != tag:
                    findings.append(Finding(Path("chunks") / name,
                                            f"problem {pid} round {round_index} is also in {owner[unit]} "
                                            "(shards of two splits overlap)", "",
                                            "move the store away and rerun to sample it again"))
                    return findings  # one is enough to say what to do
                owner[unit] = name
    return findings


def _grades(store: SampleStore, listings: dict[str, dict[str, dict]], broken: set[str]) -> list[Finding]:
    listed = {name: entry for chunks in listings.values() for name, entry in chunks.items()}
    findings = []
    for path in sorted((store.root / "grades").glob("*/*.json")):
        grader, chunk_name = path.parent.name, path.stem + CHUNK_SUFFIX
        remove = (lambda path=path: path.unlink(missing_ok=True))
        if shard_tag_of(chunk_name) in broken:
            continue  # judged once the index is rebuilt
        if chunk_name not in listed:
            findings.append(Finding(path, "grades of a chunk no index lists", "remove it", fix=remove))
            continue
        problem = store.grades_problem(grader, chunk_name, listed[chunk_name]["sha256"])
        if problem:
            findings.append(Finding(path, f"unusable grades: {problem}",
                                    "remove it (the next run grades the chunk again)", fix=remove))
    return findings


# ----------------------------------------------------------------------------- repair


def _drop_chunk(store: SampleStore, tag: str, name: str) -> None:
    """Forget one chunk: out of its index first (then a crash leaves only debris), then its file
    and grades."""
    index_path = store.root / f"index-{tag}.json"
    index = json.loads(index_path.read_text())
    index["chunks"].pop(name, None)
    atomic_write(index_path, (canonical_json(index) + "\n").encode())
    (store.root / "chunks" / name).unlink(missing_ok=True)
    for grades in (store.root / "grades").glob(f"*/{name.removesuffix(CHUNK_SUFFIX)}.json"):
        grades.unlink()


def rebuild_index(store: SampleStore, tag: str) -> None:
    """A shard's index made again from its chunks on disk: each must decompress (gzip checks
    its CRC-32 and length) into records that name a problem, a round and their samples, and
    hold no unit an earlier chunk holds; a chunk that fails is removed. The generation seconds
    are lost (`repro plan --calibrate` skips chunks without them)."""
    chunks: dict[str, dict] = {}
    held: set[Unit] = set()
    for path in sorted((store.root / "chunks").glob(f"{tag}-*{CHUNK_SUFFIX}")):
        data = path.read_bytes()
        records = _intact_records(data)
        units = [(record["problem_id"], record["round"]) for record in records or ()]
        if records is None or held.intersection(units) or len(set(units)) != len(units):
            path.unlink()
            continue
        held.update(units)
        chunks[path.name] = {
            "sha256": hashlib.sha256(data).hexdigest(),
            "units": [list(unit) for unit in units],
            "output_tokens": sum(int(sample.get("num_tokens", 0)) for record in records for sample in record["samples"]),
            "samples": sum(len(record["samples"]) for record in records),
        }
    atomic_write(store.root / f"index-{tag}.json", (canonical_json({"chunks": chunks}) + "\n").encode())


def _intact_records(data: bytes) -> list[dict] | None:
    try:
        records = [json.loads(line) for line in gzip.decompress(data).decode().splitlines()]
    except (OSError, EOFError, ValueError):  # bad gzip data or CRC, truncated, not UTF-8 or JSON
        return None
    for record in records:
        if not (isinstance(record, dict) and isinstance(record.get("problem_id"), str)
                and isinstance(record.get("round"), int) and isinstance(record.get("samples"), list)):
            return None
    return records or None


def repair(root: Path) -> tuple[list[Finding], Audit]:
    """Mend what can be mended, holding every writer lock of the store (a running writer makes
    repair refuse). Returns (what was done, the audit after)."""
    from filelock import FileLock, Timeout

    tags = {shard_tag_of(path.name) for pattern in ("index-*.json", "writer-*.lock", "chunks/*" + CHUNK_SUFFIX)
            for path in root.glob(pattern)}
    done: list[Finding] = []
    with ExitStack() as held:
        for tag in sorted(t for t in tags if t):
            lock = FileLock(root / f"writer-{tag}.lock", timeout=0)
            try:
                lock.acquire()
            except Timeout:
                owner = root / f"writer-{tag}.owner"
                holder = owner.read_text().strip() if owner.exists() else "another process"
                raise StoreError(f"{root} ({tag}) is being written by {holder}; repair it when that has "
                                 "finished (or stop it)") from None
            held.callback(lock.release)
        # A fix can reveal what it hid (a rebuilt index lets its chunks' grades be judged):
        # audit again until nothing mendable is left.
        for _ in range(3):
            mendable = audit(root, writers={}).repairable
            if not mendable:
                break
            for finding in mendable:
                finding.fix()
                done.append(finding)
        after = audit(root, writers={})
    return done, after
