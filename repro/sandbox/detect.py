"""Which isolation layers work on this machine, found by running a probe once per machine and
configuration (remembered between processes by `checks_cache.py`).

A layer counts as active only when a probe program, run through the real sandbox with that
layer on, observes it from the inside (its own uid, namespace ids, network interfaces, cgroup,
a read-only root), and the program itself holds no capability under a private uid and no file
descriptor beyond stdin, stdout and stderr (it runs in the interpreter that set it up, see
bootstrap.py). Candidates are tried strongest first; when one fails (Docker refuses
namespaces, the interpreter is not readable by another uid, the cgroup is read-only), the next
weaker combination is tried and the reason is kept in `Protections.notes`.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

from repro.sandbox import checks_cache, limits
from repro.sandbox.cgroups import CgroupSupport, find_cgroup_support, sweep_stale
from repro.sandbox.execution import SandboxSetupError, execute, sweep_stale_workdirs
from repro.sandbox.protections import BASE_RLIMITS, Protections

PROBE = r"""
import json, os, resource, socket, sys

def namespace(kind):
    try:
        return os.readlink(f"/proc/self/ns/{kind}")
    except OSError:
        return None

def can_write(directory):
    path = os.path.join(directory, ".repro-sandbox-probe")
    try:
        with open(path, "w") as handle:
            handle.write("x")
    except OSError:
        return False
    os.unlink(path)
    return True

def open_descriptors():
    listed = os.listdir("/proc/self/fd")  # its own descriptor is closed again below
    found = []
    for fd in sorted(int(name) for name in listed):
        try:
            os.fstat(fd)
        except OSError:
            continue
        found.append(fd)
    return found

def effective_capabilities():
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("CapEff:"):
                return int(line.split()[1], 16)
    return None

with open("/proc/self/cgroup") as handle:
    cgroup = handle.read()
print(json.dumps({
    "uid": os.getuid(),
    "namespaces": {kind: namespace(kind) for kind in ("net", "pid", "mnt", "user")},
    "interfaces": [name for _, name in socket.if_nameindex()],
    "cgroup": cgroup,
    "root_readonly": bool(os.statvfs("/").f_flag & os.ST_RDONLY),
    "cwd_writable": can_write("."),
    "version": sys.version.split()[0],
    "open_descriptors": open_descriptors(),
    "capabilities": effective_capabilities(),
}))
"""

_lock = threading.Lock()
_cached: Protections | None = None
_from_file = False  # _cached came from the checks cache, not from a probe of this process
_key: str | None = None  # the checks cache key of this process
_facts: dict = {}


def detect_protections(refresh: bool = False) -> Protections:
    """The verified layers of this machine: from the checks cache when this machine and
    configuration were probed before, else probed now (and remembered). `refresh`: probe
    again whatever is remembered."""
    global _cached, _from_file, _key, _facts
    with _lock:
        if _cached is None or refresh:
            # Once per process, before its first program: the leftovers of killed runs go.
            sweep_stale_workdirs()
            _facts = checks_cache.fingerprint(choose_interpreter())
            _key = checks_cache.key_of(_facts)
            found = None if refresh else checks_cache.load(_key)
            restored = _restored(found.get("protections")) if found else None
            if restored is not None:
                _cached, _from_file = restored, True
                if restored.cgroup_support is not None:
                    sweep_stale(p for p in (restored.cgroup_support.pids_parent,
                                            restored.cgroup_support.memory_parent) if p)
            else:
                _cached, _from_file = _detect(), False
                # A new probe: whatever else was remembered for this key is stale.
                checks_cache.save(_key, _facts, {"protections": _stored(_cached)})
        return _cached


def protections_from_cache() -> bool:
    """Whether this process took its protections from the checks cache (not its own probe)."""
    return _from_file


def remembered(check: str):
    """What another check (e.g. the code harness' self-check) stored for this machine and
    configuration, or None."""
    detect_protections()
    found = checks_cache.load(_key) if _key else None
    return found.get(check) if found else None


def remember(check: str, value) -> None:
    """Store what a check found, beside the protections (same key, same invalidation)."""
    protections = detect_protections()
    found = (checks_cache.load(_key) if _key else None) or {"protections": _stored(protections)}
    found[check] = value
    checks_cache.save(_key, _facts, found)


def _stored(protections: Protections) -> dict:
    support = protections.cgroup_support
    return {**protections.as_dict(), "unshare_argv": list(protections.unshare_argv),
            "cgroup_support": None if support is None else
            {"version": support.version, "pids_parent": support.pids_parent and str(support.pids_parent),
             "memory_parent": support.memory_parent and str(support.memory_parent)}}


def _restored(data) -> Protections | None:
    """The Protections of a stored dict, or None when it is not one (a damaged file)."""
    try:
        support = data["cgroup_support"]
        return Protections(
            interpreter=str(data["interpreter"]), interpreter_version=str(data["interpreter_version"]),
            namespaces=tuple(data["namespaces"]), readonly_root=bool(data["readonly_root"]),
            private_uid=bool(data["private_uid"]), cgroup=data["cgroup"],
            cgroup_controllers=tuple(data["cgroup_controllers"]), rlimits=tuple(data["rlimits"]),
            notes=tuple(data["notes"]), unshare_argv=tuple(data["unshare_argv"]),
            cgroup_support=None if support is None else CgroupSupport(
                int(support["version"]), support["pids_parent"] and Path(support["pids_parent"]),
                support["memory_parent"] and Path(support["memory_parent"])))
    except (KeyError, TypeError, ValueError):
        return None


def choose_interpreter() -> str:
    """REPRO_SANDBOX_PYTHON, else the sandbox environment (/opt/repro-sandbox, with numpy), else
    /usr/bin/python3 (readable by other users), else this Python."""
    configured = os.environ.get(limits.INTERPRETER_ENV)
    if configured:
        return configured
    if os.access(limits.SANDBOX_ENV_INTERPRETER, os.X_OK):
        return limits.SANDBOX_ENV_INTERPRETER
    if os.access(limits.DEFAULT_INTERPRETER, os.X_OK):
        return limits.DEFAULT_INTERPRETER
    return sys.executable


def _namespace_argv(notes: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(`unshare` command prefix, namespace names) when creating namespaces works here."""
    unshare = shutil.which("unshare") or ("/usr/bin/unshare" if os.path.exists("/usr/bin/unshare") else None)
    if unshare is None:
        notes.append("namespaces: `unshare` not found")
        return (), ()
    argv = [unshare]
    names = []
    if os.geteuid() != 0:
        # Unprivileged: a user namespace (we are root inside it) makes the others possible.
        argv += ["--user", "--map-root-user"]
        names.append("user")
    # --mount-proc implies a mount namespace; --kill-child: the namespace dies with unshare.
    argv += ["--net", "--pid", "--fork", "--mount-proc", "--kill-child", "--"]
    names += ["net", "pid", "mount"]
    try:
        check = subprocess.run([*argv, "/bin/true"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        notes.append(f"namespaces: unshare failed: {error}")
        return (), ()
    if check.returncode != 0:
        message = check.stderr.decode("utf-8", "replace").strip().splitlines()
        notes.append(f"namespaces: refused here ({message[-1] if message else f'exit {check.returncode}'})")
        return (), ()
    return tuple(argv), tuple(names)


def verify(candidate: Protections, report: dict, notes: list[str]) -> Protections | None:
    """The candidate's layers that the probe saw from the inside, or None if one is missing."""
    own = {kind: _own_namespace(kind) for kind in ("net", "pid", "mnt", "user")}
    seen = report["namespaces"]
    problems = []
    for name, kind in (("net", "net"), ("pid", "pid"), ("mount", "mnt"), ("user", "user")):
        if name in candidate.namespaces and seen.get(kind) == own[kind]:
            problems.append(f"{name} namespace not entered")
    if candidate.network_isolated and report["interfaces"] not in (["lo"], []):
        problems.append(f"network interfaces visible: {report['interfaces']}")
    if candidate.private_uid and report["uid"] in (0, os.getuid()):
        problems.append("program did not run as a private uid")
    if candidate.cgroup and "repro-sandbox-" not in report["cgroup"]:
        problems.append("program not in the run's cgroup")
    if candidate.private_uid and report.get("capabilities") != 0:
        problems.append("program kept capabilities after dropping to the private uid")
    if report.get("open_descriptors") != [0, 1, 2]:
        # The status pipe, or anything else of the sandbox's, would be the program's to use.
        problems.append(f"program holds file descriptors beyond stdin, stdout and stderr: "
                        f"{report.get('open_descriptors')}")
    if not report["cwd_writable"]:
        problems.append("the program cannot write its work directory")
    if problems:
        notes.append("; ".join(problems))
        return None
    return Protections(
        interpreter=candidate.interpreter, interpreter_version=report["version"], namespaces=candidate.namespaces,
        readonly_root=bool(report["root_readonly"]), private_uid=candidate.private_uid, cgroup=candidate.cgroup,
        cgroup_controllers=candidate.cgroup_controllers, rlimits=candidate.rlimits,
        unshare_argv=candidate.unshare_argv, cgroup_support=candidate.cgroup_support)


def _own_namespace(kind: str) -> str | None:
    try:
        return os.readlink(f"/proc/self/ns/{kind}")
    except OSError:
        return None


def _detect() -> Protections:
    notes: list[str] = []
    interpreter = choose_interpreter()
    unshare_argv, namespaces = _namespace_argv(notes)
    cgroup_support, why = find_cgroup_support()
    if cgroup_support is None:
        notes.append(f"cgroup: {why}")
    root = os.geteuid() == 0
    if not root:
        notes.append("uid: not root, so the program runs as the caller's uid "
                     "(RLIMIT_NPROC = the caller's process count + the run's allowance)")
    choices = itertools.product([True, False] if namespaces else [False],
                                [True, False] if root else [False],
                                [True, False] if cgroup_support else [False])
    for use_namespaces, use_uid, use_cgroup in choices:
        controllers: tuple[str, ...] = ()
        if use_cgroup:
            controllers = tuple(name for name, parent in (("pids", cgroup_support.pids_parent),
                                                          ("memory", cgroup_support.memory_parent)) if parent)
        candidate = Protections(
            interpreter=interpreter,
            namespaces=namespaces if use_namespaces else (),
            private_uid=use_uid,
            cgroup=f"v{cgroup_support.version}" if use_cgroup else None,
            cgroup_controllers=controllers,
            rlimits=BASE_RLIMITS + (("NPROC",) if use_uid or not root else ()),
            unshare_argv=unshare_argv if use_namespaces else (),
            cgroup_support=cgroup_support if use_cgroup else None,
        )
        try:
            result = execute(candidate, PROBE, time_limit_s=20, memory_mb=256)
        except (SandboxSetupError, OSError) as error:
            notes.append(f"probe with [{candidate.summary()}] failed: {error}")
            continue
        if result.status != "ok":
            notes.append(f"probe with [{candidate.summary()}] ended {result.status}: {result.stderr.strip()[-300:]}")
            continue
        try:
            report = json.loads(result.stdout)
        except json.JSONDecodeError:
            notes.append(f"probe printed no report: {result.stdout[-200:]!r}")
            continue
        verified = verify(candidate, report, notes)
        if verified is not None:
            if verified.private_filesystem and not verified.readonly_root:
                notes.append("mount namespace: the read-only remount did not take effect")
            return _with_notes(verified, notes)
    raise SandboxSetupError("no sandbox configuration could run a probe program: " + " | ".join(notes))


def _with_notes(protections: Protections, notes: list[str]) -> Protections:
    from dataclasses import replace

    return replace(protections, notes=tuple(notes))
