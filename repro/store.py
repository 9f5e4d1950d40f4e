"""Append-only sample store.

Layout of one store (one model x benchmark x configuration):

    manifest.json            the key (everything that changes samples) and its sha256; once an
                             engine has sampled, what that engine said of itself ("engine_facts");
                             the environment of the command that created the store ("environment",
                             repro.provenance) and one short entry per later command that added
                             samples ("writers": when, host hash, package commit, GPUs)
    chunks/<shard>-<seq>.jsonl.gz samples, one JSON line per unit (problem, round), gzipped
    index-<shard>.json       chunk file -> sha256, the units it holds, and the output tokens and
                             seconds it took (for `repro plan --calibrate`), one per shard
    grades/<grader>/<chunk>.json  verdicts of one chunk by one grader
    writer-<shard>.lock, .owner   the shard's writer lock (`SampleStore.writing`) and its holder
    manifest.lock            held while a writer's entry is added to the manifest (shards of
                             one store may start at once)

Every file is written to a temporary name and renamed, so a killed run leaves either the
old or the new file, never half of one. A shard's index exists (empty) before its first chunk,
and a chunk is listed in it only after it is complete on disk; a chunk that is not listed (the
one in flight when a run died) is ignored, removed by the shard's next writer with the
temporary files of killed writes, and regenerated. Chunks whose shard has no index mean the
index was lost: an error, never a silent regeneration. Reading checks each listed chunk's
sha256 and names the corrupt file; `repro store check|repair` (repro.store_audit) checks and
mends a whole store.

The key is decided before any engine starts (repro.plan). What only a started engine can tell
-- the commit the hub resolved, the checksum of a local model's files, the length and dtype it
really runs with -- is recorded beside the key by the first engine that samples into the
store, and every later engine must say the same, or it is refused: samples of two different
engines are never mixed.

A unit is one request: `samples_per_round` samples of one problem with one seed. The
number of samples wanted (n) is not part of the key: round r of a problem has the same
samples whatever n is, so raising n tops up the missing rounds instead of starting over.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import socket
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from repro.errors import StoreError
from repro.files import atomic_write

MANIFEST = "manifest.json"
CHUNK_SUFFIX = ".jsonl.gz"
FORMAT_VERSION = 1
# repro.files.atomic_write's temporary names: "." + the target's name + random + ".tmp".
TEMPORARY_GLOB = ".*.tmp"
_SHARD_TAG = re.compile(r"shard\d+of\d+")
_SHA256 = re.compile(r"[0-9a-f]{64}")


def shard_tag_of(name: str) -> str | None:
    """The shard tag (shard0of2) that a chunk, grades, index or temporary file name carries."""
    match = _SHARD_TAG.search(name)
    return match[0] if match else None


def repair_advice(root: Path) -> str:
    return f"run `repro store repair {root}` (it says what it removes; a rerun samples that again)"

Unit = tuple[str, int]  # (problem id, round)


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def key_digest(key: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(key).encode()).hexdigest()


@dataclass(frozen=True)
class Shard:
    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        try:
            left, right = text.split("/")
            shard = cls(int(left), int(right))
        except ValueError:
            raise StoreError(f"shard {text!r} is not of the form i/N (e.g. 0/4)") from None
        if shard.count < 1 or not 0 <= shard.index < shard.count:
            raise StoreError(f"shard {text!r}: need 0 <= i < N")
        return shard

    @property
    def tag(self) -> str:
        return f"shard{self.index}of{self.count}"

    def owns(self, problem_index: int) -> bool:
        # Interleaved, so each shard gets easy and hard problems alike.
        return problem_index % self.count == self.index


WHOLE = Shard(0, 1)


class SampleStore:
    def __init__(self, root: Path):
        self.root = Path(root)

    # ----- manifest -------------------------------------------------------------------
    @classmethod
    def open(cls, root: Path, key: dict[str, Any], environment: dict[str, Any] | None = None) -> SampleStore:
        """Open (creating if needed) the store for `key`; refuse a store made for another key.
        `environment`: what the calling command runs in (repro.provenance), kept in the manifest
        of a store it creates. Not part of the key: it changes no sample by itself (what of the
        engine does is bound by `bind_engine_facts`)."""
        store = cls(root)
        digest = key_digest(key)
        manifest_path = store.root / MANIFEST
        if manifest_path.exists():
            manifest = store.manifest()
            if manifest.get("key_sha256") != digest:
                raise StoreError(
                    f"{manifest_path} belongs to another configuration (key {manifest.get('key_sha256', '?')[:12]}, "
                    f"wanted {digest[:12]}); use another folder"
                )
        elif any(store.root.glob("index-*.json")) or any((store.root / "chunks").glob("*" + CHUNK_SUFFIX)):
            # Samples whose key is lost cannot be trusted to be this key's (a folder moved from
            # another run would report that run's samples as this one's): never recreate it.
            raise StoreError(f"{store.root} holds samples but no {MANIFEST}, so what made them is unknown; move "
                             "that folder away (or restore its manifest) and rerun to sample it again")
        else:
            manifest = {"format": FORMAT_VERSION, "key": key, "key_sha256": digest}
            if environment is not None:
                manifest["environment"] = environment
            store._write_manifest(manifest)
        return store

    def manifest(self) -> dict[str, Any]:
        path = self.root / MANIFEST
        try:
            manifest = json.loads(path.read_text())
        except FileNotFoundError:
            raise StoreError(f"{self.root} is not a sample store (no {MANIFEST})") from None
        except json.JSONDecodeError as error:
            raise StoreError(f"{path} is corrupt: {error}") from None
        if manifest.get("key_sha256") != key_digest(manifest.get("key", {})):
            raise StoreError(f"{path} is corrupt: its key does not match its key_sha256")
        return manifest

    def _write_manifest(self, manifest: dict[str, Any]) -> None:
        atomic_write(self.root / MANIFEST, (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode())

    def bind_engine_facts(self, facts: dict[str, Any]) -> None:
        """Record what the first engine said of itself; refuse an engine that says otherwise."""
        from filelock import FileLock

        with FileLock(self.root / "manifest.lock"):  # beside record_writer's read-modify-write
            manifest = self.manifest()
            recorded = manifest.get("engine_facts")
            if recorded is None:
                manifest["engine_facts"] = facts
                self._write_manifest(manifest)
                return
        if canonical_json(recorded) != canonical_json(facts):
            changed = sorted(name for name in set(recorded) | set(facts) if recorded.get(name) != facts.get(name))
            detail = "; ".join(f"{name}: {recorded.get(name)!r} then, {facts.get(name)!r} now" for name in changed[:3])
            raise StoreError(f"{self.root}: its samples came from another engine ({detail}); samples are never "
                             "mixed: move that folder away to sample again")

    def record_writer(self, environment: dict[str, Any], entry: dict[str, Any]) -> None:
        """Note in the manifest that another command adds samples: `entry` (a compact form of
        its `environment`) is appended to "writers", unless this command created the store (its
        full record is there already) or its entry is the last one. Held under a short lock of
        its own: shards of one store may start at once, and none may lose another's entry."""
        from filelock import FileLock

        with FileLock(self.root / "manifest.lock"):
            manifest = self.manifest()
            if canonical_json(manifest.get("environment")) == canonical_json(environment):
                return
            writers = manifest.setdefault("writers", [])
            if writers and canonical_json(writers[-1]) == canonical_json(entry):
                return
            writers.append(entry)
            self._write_manifest(manifest)

    # ----- writers ----------------------------------------------------------------------
    @contextmanager
    def writing(self, shard: Shard, sampling: bool = True) -> Iterator[None]:
        """Hold this shard's writer lock while sampling or grading into the store.

        A second writer of the same shard exits at once, with one line saying who holds it;
        shards of one split write side by side (each has its own lock and index). The lock is
        `filelock`'s: flock(2) on the lock file, which the kernel releases when the holder dies
        (kill -9 included), so no stale lock survives a crash. It holds across processes on one
        machine, and across nodes only where the shared file system honours flock (NFS clients
        on Linux map it to POSIX locks; Lustre needs the `flock` mount option): tests/test_store.py
        checks the semantics relied on. `sampling`: samples will be added, so shards of another
        split are refused first (their problems would overlap); grading alone (the run without
        --shard that follows the shards) may follow any split."""
        from filelock import FileLock, Timeout  # a maintained cross-platform lock; not hand-written

        lock = FileLock(self.root / f"writer-{shard.tag}.lock", timeout=0)
        owner = self.root / f"writer-{shard.tag}.owner"
        try:
            lock.acquire()
        except Timeout:
            holder = owner.read_text().strip() if owner.exists() else "another process"
            raise StoreError(f"{self.root} ({shard.tag}) is being written by {holder}; wait for it to finish, or "
                             "stop it, then rerun") from None
        try:
            owner.write_text(f"pid {os.getpid()} on {socket.gethostname()} since "
                             f"{time.strftime('%Y-%m-%d %H:%M:%S')}{'' if sampling else GRADING_ONLY}\n")
            if sampling:
                # After the owner file is written: of two splits starting at once, the later
                # check sees the other's owner file, so they cannot both pass.
                self._check_split(shard)
            self.remove_debris(shard)
            yield
        finally:
            owner.unlink(missing_ok=True)
            lock.release()

    def holds_lock(self, tag: str) -> bool:
        """Whether some process holds the writer lock of a shard now (tried without waiting: an
        owner file alone says nothing, a killed writer leaves it behind)."""
        from filelock import FileLock, Timeout

        lock = FileLock(self.root / f"writer-{tag}.lock", timeout=0)
        try:
            lock.acquire()
        except Timeout:
            return True
        lock.release()
        return False

    def remove_debris(self, shard: Shard) -> list[Path]:
        """What killed writes of this shard left (temporary files; chunks never listed in its
        index), removed: call only while holding the shard's writer lock. Returns what went."""
        debris = [path for path in self.root.rglob(TEMPORARY_GLOB) if shard_tag_of(path.name) == shard.tag]
        index_path = self._index_path(shard)
        if index_path.exists():
            listed = self._read_index(index_path)["chunks"]
            debris += [path for path in (self.root / "chunks").glob(f"{shard.tag}-*{CHUNK_SUFFIX}")
                       if path.name not in listed]
        for path in debris:
            path.unlink(missing_ok=True)
        return debris

    def _check_split(self, shard: Shard) -> None:
        """Refuse to write shard i/N where shards of another N were written (an index with chunks)
        or are being written (a held lock)."""
        # A writer that only grades adds no units, so it overlaps nothing: a grading pass of one
        # split (the run after a node's engines finished) never blocks another split's sampling.
        tags = {tag for path in self.root.glob("writer-*.owner")
                if (tag := shard_tag_of(path.name)) and tag != shard.tag and self.holds_lock(tag)
                and not _grading_only(path)}
        splits = self.sampled_splits() | {int(tag.split("of")[1]) for tag in tags}
        others = sorted(splits - {shard.count})
        if others:
            raise StoreError(f"{self.root} holds shards of a {others[0]}-way split; --shard {shard.index}/{shard.count} "
                             f"would overlap them: use the same split (--shard i/{others[0]}), or move the store "
                             "away to start over")

    def sampled_splits(self) -> set[int]:
        """N of every split (--shard i/N) with chunks in this store."""
        tags = {shard_tag_of(path.name) for path in self.root.glob("index-*.json")
                if not index_problem(path) and json.loads(path.read_text())["chunks"]}
        return {int(tag.split("of")[1]) for tag in tags if tag}

    # ----- index ----------------------------------------------------------------------
    def _index_path(self, shard: Shard) -> Path:
        return self.root / f"index-{shard.tag}.json"

    def _read_index(self, path: Path) -> dict[str, Any]:
        problem = index_problem(path)
        if problem:
            raise StoreError(f"{path} is corrupt ({problem}); {repair_advice(self.root)}")
        return json.loads(path.read_text())

    def unindexed_shards(self) -> list[str]:
        """Shard tags that have chunks on disk but no index: the index was deleted or lost."""
        indexed = {shard_tag_of(path.name) for path in self.root.glob("index-*.json")}
        on_disk = {shard_tag_of(path.name) for path in (self.root / "chunks").glob("*" + CHUNK_SUFFIX)}
        return sorted(tag for tag in on_disk - indexed if tag)

    def chunk_listing(self) -> dict[str, dict[str, Any]]:
        """chunk file name -> {"sha256", "units"} over all shards; refuses overlaps, and chunks
        whose index is gone (regenerating them silently would hide the loss)."""
        lost = self.unindexed_shards()
        if lost:
            raise StoreError(f"{self.root}: index-{lost[0]}.json is missing but its chunks are there; "
                             f"run `repro store repair {self.root}` (it rebuilds the index from the chunks), "
                             "or move the store away and rerun to sample it again")
        listing: dict[str, dict[str, Any]] = {}
        owner: dict[Unit, str] = {}
        for path in sorted(self.root.glob("index-*.json")):
            for name, entry in self._read_index(path)["chunks"].items():
                for pid, round_index in entry["units"]:
                    unit = (pid, int(round_index))
                    if unit in owner:
                        raise StoreError(
                            f"{self.root}: problem {pid} round {round_index} is in both {owner[unit]} and {name} "
                            "(overlapping shards); move the store away and rerun to sample it again"
                        )
                    owner[unit] = name
                listing[name] = entry
        return listing

    def done_units(self) -> set[Unit]:
        return {(pid, int(r)) for entry in self.chunk_listing().values() for pid, r in entry["units"]}

    # ----- writing --------------------------------------------------------------------
    def append_chunk(self, shard: Shard, records: list[dict[str, Any]], seconds: float | None = None) -> str:
        """Write one chunk of unit records, then list it in the shard's index. `seconds`: how
        long the engine took to make them (recorded with their output tokens, for planning)."""
        if not records:
            raise ValueError("empty chunk")
        index_path = self._index_path(shard)
        if index_path.exists():
            index = self._read_index(index_path)
        else:
            # The (empty) index first: a chunk on disk without its shard's index then always
            # means a lost index, never the first chunk of a killed run.
            index = {"chunks": {}}
            atomic_write(index_path, (canonical_json(index) + "\n").encode())
        sequence = len(index["chunks"])
        name = f"{shard.tag}-{sequence:06d}{CHUNK_SUFFIX}"
        while name in index["chunks"] or (self.root / "chunks" / name).exists():
            # A leftover from a killed run (never indexed): don't reuse its name.
            sequence += 1
            name = f"{shard.tag}-{sequence:06d}{CHUNK_SUFFIX}"
        # mtime=0: the same records always give the same bytes (and the same sha256).
        data = gzip.compress("".join(canonical_json(record) + "\n" for record in records).encode(), mtime=0)
        atomic_write(self.root / "chunks" / name, data)
        index["chunks"][name] = {
            "sha256": hashlib.sha256(data).hexdigest(),
            "units": [[record["problem_id"], record["round"]] for record in records],
            "output_tokens": sum(int(sample.get("num_tokens", 0)) for record in records
                                 for sample in record.get("samples", ())),
            "samples": sum(len(record.get("samples", ())) for record in records),
        }
        if seconds is not None:
            index["chunks"][name]["seconds"] = round(seconds, 3)
        atomic_write(index_path, (canonical_json(index) + "\n").encode())
        return name

    # ----- reading --------------------------------------------------------------------
    def read_chunk(self, name: str, expected_sha256: str) -> list[dict[str, Any]]:
        data = self.chunk_bytes(name, expected_sha256)
        return [json.loads(line) for line in gzip.decompress(data).decode().splitlines()]

    def chunk_bytes(self, name: str, expected_sha256: str) -> bytes:
        """A chunk's bytes, checked against the sha256 its index lists; a missing or corrupt
        chunk is named, with what to do."""
        path = self.root / "chunks" / name
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise StoreError(f"chunk {path} is listed in the index but missing; restore it from a copy, or "
                             f"{repair_advice(self.root)}") from None
        actual = hashlib.sha256(data).hexdigest()
        if actual != expected_sha256:
            raise StoreError(
                f"chunk {path} is corrupt (sha256 {actual[:12]}, index says {expected_sha256[:12]}); restore it "
                f"from a copy, or {repair_advice(self.root)}"
            )
        return data

    def iter_chunks(self) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        for name, entry in sorted(self.chunk_listing().items()):
            yield name, self.read_chunk(name, entry["sha256"])

    def verify(self) -> int:
        """Check every listed chunk; returns how many were checked."""
        checked = 0
        for _ in self.iter_chunks():
            checked += 1
        return checked

    def samples(self) -> dict[Unit, list[dict[str, Any]]]:
        return {
            (record["problem_id"], int(record["round"])): record["samples"]
            for _, records in self.iter_chunks()
            for record in records
        }

    # ----- grades ---------------------------------------------------------------------
    def grades_path(self, grader: str, chunk_name: str) -> Path:
        return self.root / "grades" / grader / (chunk_name.removesuffix(CHUNK_SUFFIX) + ".json")

    def read_grades(self, grader: str, chunk_name: str, chunk_sha256: str) -> dict[Unit, list[bool]] | None:
        """Verdicts of a chunk by a grader, or None if absent or unusable (`grades_problem`):
        such a chunk is graded again."""
        path = self.grades_path(grader, chunk_name)
        if not path.exists() or self.grades_problem(grader, chunk_name, chunk_sha256):
            return None
        content = json.loads(path.read_text())
        return {(pid, int(r)): verdicts for pid, r, verdicts in content["verdicts"]}

    def grades_problem(self, grader: str, chunk_name: str, chunk_sha256: str) -> str | None:
        """Why a chunk's stored grades cannot be used, or None when they can (or there are none)."""
        path = self.grades_path(grader, chunk_name)
        try:
            content = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        except (json.JSONDecodeError, UnicodeDecodeError):
            return "not valid JSON (a torn or damaged file)"
        if not isinstance(content, dict) or not isinstance(content.get("verdicts"), list):
            return "no verdict list"
        if content.get("chunk_sha256") != chunk_sha256:
            return "made from other samples than the chunk's"
        if content.get("grader", grader) != grader:  # files before the name was written carry none
            return f"made by grader {content['grader']}, not {grader}"
        if content.get("grades_sha256") != _grades_digest(content):
            return "its checksum does not match its verdicts (edited, or written by an older version)"
        return None

    def write_grades(self, grader: str, chunk_name: str, chunk_sha256: str,
                     verdicts: Iterable[tuple[str, int, list[bool]]],
                     details: Iterable[tuple[str, int, list[str]]] | None = None) -> None:
        """`details`: what the grader said of each sample (kept for audits; code graders give
        the status and the first failing test), in the order of `verdicts`."""
        content: dict[str, Any] = {"grader": grader, "chunk_sha256": chunk_sha256,
                                   "verdicts": [[p, r, v] for p, r, v in verdicts]}
        if details is not None:
            content["details"] = [[p, r, d] for p, r, d in details]
        content["grades_sha256"] = _grades_digest(content)
        atomic_write(self.grades_path(grader, chunk_name), (canonical_json(content) + "\n").encode())



GRADING_ONLY = " (grading only)"  # the end of a writer's owner line when it adds no samples


def _grading_only(owner: Path) -> bool:
    try:
        return owner.read_text().rstrip("\n").endswith(GRADING_ONLY)
    except FileNotFoundError:  # its writer finished meanwhile
        return True


def index_problem(path: Path) -> str | None:
    """What is wrong with an index file, or None: JSON with a chunk list whose entries name a
    sha256 and a list of (problem id, round) units."""
    try:
        index = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        return f"not valid JSON: {error}"
    if not isinstance(index, dict) or not isinstance(index.get("chunks"), dict):
        return "no chunk list"
    for name, entry in index["chunks"].items():
        if not (isinstance(entry, dict) and isinstance(entry.get("sha256"), str) and _SHA256.fullmatch(entry["sha256"])
                and isinstance(entry.get("units"), list)
                and all(isinstance(unit, list) and len(unit) == 2 and isinstance(unit[0], str)
                        and isinstance(unit[1], int) for unit in entry["units"])):
            return f"entry {name!r} lacks a sha256 or a list of (problem, round) units"
    return None


def _grades_digest(content: dict[str, Any]) -> str:
    """sha256 of a grades file's verdicts, details, chunk hash and grader (with its version): an
    edited file no longer matches. The grader is hashed only where written, so that files made
    before it was keep their checksum."""
    covered = {name: content.get(name) for name in ("chunk_sha256", "verdicts", "details")}
    if "grader" in content:
        covered["grader"] = content["grader"]
    return key_digest(covered)
