"""What the sandbox's safety checks found on this machine, remembered between processes.

Two checks guard every sandboxed run: the protection probe (`detect.py`: which isolation
layers work here, seen from inside a probe program) and the self-check of the code harness
(`repro.grading.code`: three known-correct programs must pass). They took about 300 ms and
every process repeated them -- a grading worker, each `repro sandbox` command. What they find
depends on the machine and the configuration only, so it is kept in a small file under a key
that hashes everything that can change it:

- the machine and its boot: kernel release and version, boot id, machine id, host name;
- who runs and where: effective uid/gid, this process's cgroups, the cgroup mounts, the
  sysctls that allow namespaces;
- the configuration: the sandbox interpreter (path, and size, modification time and inode of
  the file it resolves to; for a virtual environment also its pyvenv.cfg and site-packages
  folders), `unshare` (the same), the settings read from the environment;
- the code: this Python (executable, version), the package version, and the text of every
  module the checks exercise (repro/sandbox/*.py, the code grader and test-suite modules).

Any change gives another key, and the checks run again. The file is written atomically; one
that cannot be read or parsed, or whose key differs, is ignored (the checks run and rewrite
it). A cached configuration that fails at run time is dropped, and the probe runs again
(`repro.sandbox.runner`). `REPRO_SANDBOX_RECHECK=1` ignores the file (the checks run every
process, as before).

Folder: `$REPRO_CACHE_DIR/sandbox/`, else `$XDG_CACHE_HOME/repro/sandbox/`, else
`~/.cache/repro/sandbox/`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

from repro import __version__
from repro.files import atomic_write
from repro.sandbox import limits

RECHECK_ENV = "REPRO_SANDBOX_RECHECK"
_FORMAT = 1
# The modules whose text decides what the checks find (the package's own source files).
_PACKAGE = Path(__file__).resolve().parent.parent
_SOURCES = ("sandbox/*.py", "grading/code.py", "code_tests.py")
_SYSCTLS = ("kernel/unprivileged_userns_clone", "kernel/apparmor_restrict_unprivileged_userns",
            "user/max_user_namespaces", "user/max_net_namespaces", "user/max_pid_namespaces",
            "user/max_mnt_namespaces", "kernel/yama/ptrace_scope")


def folder() -> Path:
    value = os.environ.get("REPRO_CACHE_DIR")
    if value:
        return Path(value).expanduser() / "sandbox"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path("~/.cache").expanduser()) / "repro" / "sandbox"


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read().strip()
    except OSError:
        return None


def _file_identity(path: str | None) -> list | None:
    if not path:
        return None
    try:
        real = os.path.realpath(path)
        status = os.stat(real)
    except OSError:
        return [path, None]
    return [path, real, status.st_size, status.st_mtime_ns, status.st_ino]


def _environment_identity(interpreter: str | None) -> list | None:
    """For an interpreter of a virtual environment (the sandbox's, with numpy): its pyvenv.cfg
    and its site-packages folders, whose modification time changes when a package is added,
    removed or replaced. Its bin/python is a link to the system Python, so the interpreter's
    own identity does not see that."""
    if not interpreter:
        return None
    root = Path(interpreter).parent.parent
    if not (root / "pyvenv.cfg").is_file():
        return None
    return [_file_identity(str(root / "pyvenv.cfg"))] + [
        _file_identity(str(folder)) for folder in sorted(root.glob("lib/python*/site-packages"))]


def _sources_digest() -> str:
    digest = hashlib.sha256()
    for pattern in _SOURCES:
        for path in sorted(_PACKAGE.glob(pattern)):
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def fingerprint(interpreter: str) -> dict:
    """Everything that can change what the checks find (see the module's docstring)."""
    system = os.uname()
    cgroup_mounts = [line for line in (_read("/proc/self/mountinfo") or "").splitlines() if " - cgroup" in line]
    return {
        "format": _FORMAT,
        "kernel": [system.release, system.version, system.machine],
        "boot_id": _read("/proc/sys/kernel/random/boot_id"),
        "machine_id": _read("/etc/machine-id"),
        "host": system.nodename,
        "ids": [os.geteuid(), os.getegid(), os.getuid()],
        "cgroup": _read("/proc/self/cgroup"),
        "cgroup_mounts": sorted(" ".join(line.split()[4:]) for line in cgroup_mounts),
        "sysctls": {name: _read(f"/proc/sys/{name}") for name in _SYSCTLS},
        "interpreter": _file_identity(interpreter),
        "interpreter_environment": _environment_identity(interpreter),
        "unshare": _file_identity(shutil.which("unshare")),
        "environment": {name: os.environ.get(name) for name in (limits.INTERPRETER_ENV, limits.ALLOW_WEAK_ENV)},
        "python": [sys.executable, sys.version],
        "package": __version__,
        "sources": _sources_digest(),
    }


def key_of(facts: dict) -> str:
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()


def _path(key: str) -> Path:
    return folder() / f"checks-{key[:24]}.json"


def load(key: str) -> dict | None:
    """The findings stored under `key`, or None (none stored, unreadable, another key, or
    REPRO_SANDBOX_RECHECK=1)."""
    if os.environ.get(RECHECK_ENV) == "1":
        return None
    try:
        stored = json.loads(_path(key).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(stored, dict) or stored.get("key") != key or not isinstance(stored.get("found"), dict):
        return None
    return stored["found"]


def save(key: str, facts: dict, found: dict) -> None:
    """Store `found` under `key` (atomically; a cache that cannot be written is not an error:
    the checks then simply run again next time)."""
    data = json.dumps({"key": key, "facts": facts, "found": found}, indent=1, sort_keys=True).encode()
    try:
        atomic_write(_path(key), data)
    except OSError:
        pass


def forget(key: str) -> None:
    try:
        _path(key).unlink()
    except OSError:
        pass
