"""Which isolation layers work on this machine, found once per process by running a probe.

A layer counts as active only when a probe program, run through the real sandbox with that
layer on, observes it from the inside (its own uid, namespace ids, network interfaces, cgroup,
a read-only root). Candidates are tried strongest first; when one fails (Docker refuses
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

from repro.sandbox import limits
from repro.sandbox.cgroups import find_cgroup_support
from repro.sandbox.execution import SandboxSetupError, execute, sweep_stale_workdirs
from repro.sandbox.protections import BASE_RLIMITS, Protections

_PROBE = r"""
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
}))
"""

_lock = threading.Lock()
_cached: Protections | None = None


def detect_protections(refresh: bool = False) -> Protections:
    """The verified layers of this machine (probed on first use, then cached)."""
    global _cached
    with _lock:
        if _cached is None or refresh:
            # Once per process, before its first program: the leftovers of killed runs go.
            sweep_stale_workdirs()
            _cached = _detect()
        return _cached


def choose_interpreter() -> str:
    """REPRO_SANDBOX_PYTHON, else /usr/bin/python3 (readable by other users), else this Python."""
    configured = os.environ.get(limits.INTERPRETER_ENV)
    if configured:
        return configured
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


def _verify(candidate: Protections, report: dict, notes: list[str]) -> Protections | None:
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
            result = execute(candidate, _PROBE, time_limit_s=20, memory_mb=256)
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
        verified = _verify(candidate, report, notes)
        if verified is not None:
            if verified.private_filesystem and not verified.readonly_root:
                notes.append("mount namespace: the read-only remount did not take effect")
            return _with_notes(verified, notes)
    raise SandboxSetupError("no sandbox configuration could run a probe program: " + " | ".join(notes))


def _with_notes(protections: Protections, notes: list[str]) -> Protections:
    from dataclasses import replace

    return replace(protections, notes=tuple(notes))
