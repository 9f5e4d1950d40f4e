"""One cgroup per sandboxed run: a pids limit and a memory limit for the program's whole tree.

Each run's cgroup is created INSIDE the caller's own cgroup (read from /proc/self/cgroup), so a
program can never get more than the caller itself has, and removed when the run ends. Both
cgroup v1 (separate `pids` and `memory` hierarchies, as on these machines) and v2 (one
unified hierarchy) are handled; in v2 the caller's cgroup must already delegate the pids and
memory controllers to its children, which is rarely true inside containers -- then there is
simply no cgroup layer, and the protections report says why.
"""

from __future__ import annotations

import itertools
import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

NAME_PREFIX = "repro-sandbox-"
_counter = itertools.count()
_counter_lock = threading.Lock()


@dataclass(frozen=True)
class CgroupSupport:
    version: int  # 1 or 2
    pids_parent: Path | None  # where run cgroups with a pids limit are created
    memory_parent: Path | None  # where run cgroups with a memory limit are created


def _mount_points() -> dict[str, list[tuple[str, str]]]:
    """File system type -> [(mount point, super options)] from /proc/self/mountinfo."""
    found: dict[str, list[tuple[str, str]]] = {}
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(tail) >= 3:
            found.setdefault(tail[0], []).append((fields[4], tail[2]))
    return found


def _own_paths() -> dict[str, str]:
    """Controller (or "" for v2) -> this process's cgroup path, from /proc/self/cgroup."""
    paths = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for name in controllers.split(",") if controllers else [""]:
            paths[name] = path
    return paths


def _usable(parent: Path, needed_file: str) -> bool:
    """Can a child cgroup with `needed_file` be created (and removed) under `parent`?"""
    probe = parent / f"{NAME_PREFIX}probe-{os.getpid()}"
    try:
        probe.mkdir()
    except OSError:
        return False
    try:
        return (probe / needed_file).exists()
    finally:
        _rmdir_quietly(probe)


def find_cgroup_support() -> tuple[CgroupSupport | None, str]:
    """The cgroup layer available to this process, and a one-line reason when there is none."""
    try:
        mounts, own = _mount_points(), _own_paths()
    except OSError as error:
        return None, f"cannot read /proc: {error}"
    parents: dict[str, Path | None] = {}
    for controller, limit_file in (("pids", "pids.max"), ("memory", "memory.limit_in_bytes")):
        mount = next((point for point, options in mounts.get("cgroup", []) if controller in options.split(",")), None)
        if mount and controller in own:
            parent = Path(mount + own[controller])
            parents[controller] = parent if _usable(parent, limit_file) else None
    if any(parents.values()):
        sweep_stale(p for p in parents.values() if p)
        return CgroupSupport(1, parents.get("pids"), parents.get("memory")), ""
    if parents:
        return None, f"cgroup v1 {' and '.join(parents)} hierarchies not writable here"
    for point, _ in mounts.get("cgroup2", []):
        if "" not in own:
            break
        parent = Path(point + own[""])
        try:
            delegated = (parent / "cgroup.subtree_control").read_text().split()
        except OSError:
            continue
        if {"pids", "memory"} <= set(delegated) and _usable(parent, "pids.max"):
            sweep_stale([parent])
            return CgroupSupport(2, parent, parent), ""
        return None, f"cgroup v2 at {parent} does not delegate pids+memory to child cgroups"
    return None, "no writable pids or memory cgroup under this process's own cgroup"


def sweep_stale(parents) -> None:
    """Remove empty run cgroups left by processes that died before cleaning up."""
    for parent in parents:
        for entry in parent.glob(NAME_PREFIX + "*"):
            owner = entry.name[len(NAME_PREFIX):].split("-")[0]
            if owner.isdigit() and not _alive(int(owner)):
                _rmdir_quietly(entry)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _rmdir_quietly(path: Path) -> bool:
    try:
        path.rmdir()
        return True
    except OSError:
        return False


class RunCgroup:
    """The cgroup(s) of one run. Use `procs_files()` to join, `kill_all()`, then `remove()`."""

    def __init__(self, support: CgroupSupport, max_processes: int, memory_bytes: int):
        with _counter_lock:
            name = f"{NAME_PREFIX}{os.getpid()}-{next(_counter)}"
        self.support = support
        self.dirs: list[Path] = []
        try:
            if support.version == 2:
                self._create(support.pids_parent / name, {"pids.max": max_processes, "memory.max": memory_bytes,
                                                           "memory.swap.max": 0})
            else:
                if support.pids_parent:
                    self._create(support.pids_parent / name, {"pids.max": max_processes})
                if support.memory_parent:
                    # The swap limit (memsw) includes memory, so it is written after it.
                    self._create(support.memory_parent / name, {"memory.limit_in_bytes": memory_bytes,
                                                                 "memory.memsw.limit_in_bytes": memory_bytes})
        except BaseException:
            self.remove()
            raise

    def _create(self, path: Path, settings: dict[str, int]) -> None:
        path.mkdir()
        self.dirs.append(path)
        for file_name, value in settings.items():
            target = path / file_name
            if target.exists():  # memsw / swap files exist only with swap accounting
                target.write_text(str(value))

    def procs_files(self) -> list[str]:
        return [str(d / "cgroup.procs") for d in self.dirs]

    def pids(self) -> set[int]:
        found: set[int] = set()
        for d in self.dirs:
            try:
                found.update(int(x) for x in (d / "cgroup.procs").read_text().split())
            except OSError:
                pass
        return found

    def kill_all(self, deadline_s: float = 2.0, spare: frozenset[int] | set[int] = frozenset()) -> bool:
        """SIGKILL every process of the run but `spare` until none is left (a fork bomb races,
        but the pids limit bounds it). True when nothing but `spare` is left."""
        stop = time.monotonic() + deadline_s
        while time.monotonic() < stop:
            for d in self.dirs:
                kill_file = d / "cgroup.kill"  # v2, Linux 5.14+: atomic
                if not spare and kill_file.exists():
                    try:
                        kill_file.write_text("1")
                    except OSError:
                        pass
            pids = self.pids() - set(spare)
            if not pids:
                return True
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.005)
        return not self.pids() - set(spare)

    def memory_limit_hit(self) -> bool:
        """Did the kernel kill a process of the run for exceeding the memory limit?"""
        for d in self.dirs:
            for file_name in ("memory.oom_control", "memory.events"):
                try:
                    for line in (d / file_name).read_text().splitlines():
                        key, _, value = line.partition(" ")
                        if key == "oom_kill" and int(value) > 0:
                            return True
                except (OSError, ValueError):
                    pass
        return False

    def remove(self) -> None:
        """Remove the run's cgroups (empty by then); retried briefly while exiting tasks drain."""
        for d in list(self.dirs):
            for _ in range(200):
                if _rmdir_quietly(d) or not d.exists():
                    self.dirs.remove(d)
                    break
                self.kill_all(0.05)
                time.sleep(0.005)
