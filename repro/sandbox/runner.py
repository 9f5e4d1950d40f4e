"""Run one untrusted Python program in isolation and collect what it did.

    run_program(source, stdin, time_limit_s=...) -> ExecutionResult

`detect_protections()` (detect.py) decides once which layers this machine supports; the run
itself (work directory, private uid, cgroup, `bootstrap.py` under `unshare`, the deadline and
the cleanup) is `execute` (execution.py), under those layers. Every result carries that report.

From a process's second run on, runs are forked by a fork server (fork_server.py: the harness
and LiveCodeBench's prelude imported once) instead of started as fresh interpreters, where the
machine allows it: as root, with network, PID and mount namespaces. The server is verified
with the protection probe before its first run; where it is not used, `Protections.notes`
says why, and runs start as before. `Protections.launch` tells which way a run started.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace

from repro.errors import EnvironmentNotSupportedError
from repro.sandbox import detect, limits
from repro.sandbox.detect import detect_protections, protections_from_cache
from repro.sandbox.execution import ExecutionResult, SandboxSetupError, SandboxStartError, execute
from repro.sandbox.fork_client import ForkServer
from repro.sandbox.protections import Protections


def run_program(source: str, stdin: str = "", *, time_limit_s: float, memory_mb: int = limits.MEMORY_MB,
                output_limit_bytes: int = limits.OUTPUT_LIMIT_BYTES, extra_files: dict[str, str] | None = None,
                on_stdout: Callable[[bytes], bool] | None = None, _reprobe: bool = False) -> ExecutionResult:
    """Run `source` as `python main.py` with `stdin`, under every layer this machine supports.

    `extra_files` are written next to main.py (plain names only). `on_stdout`, if given, sees
    each chunk of stdout as it arrives and may return True to stop the program at once
    (status "stopped"): the test harness uses it to stop at the first failing test.
    """
    protections = detect_protections(refresh=_reprobe)
    if os.geteuid() == 0 and not protections.private_uid and os.environ.get(limits.ALLOW_WEAK_ENV) != "1":
        # Root keeps its capabilities inside unshare's namespaces (no user namespace): it could
        # mount the host's disk. Without the private uid there is no real barrier.
        raise EnvironmentNotSupportedError(
            f"the code sandbox would run untrusted programs as root ({protections.summary()}); make "
            f"{limits.INTERPRETER_ENV} an interpreter that other users can run (e.g. /usr/bin/python3), "
            f"or set {limits.ALLOW_WEAK_ENV}=1 to accept the risk")
    arguments = dict(time_limit_s=time_limit_s, memory_mb=memory_mb, output_limit_bytes=output_limit_bytes,
                     extra_files=extra_files, on_stdout=on_stdout)
    with _fork_server_for(protections) as (server, reported):
        if server is not None:
            try:
                return execute(reported, source, stdin, fork_server=server, **arguments)
            except SandboxStartError as error:
                # The program has not started: stop using the server, run it the usual way.
                _refuse(f"stopped after a failed start: {error}")
                reported = replace(protections, notes=protections.notes + (_note(),))
        try:
            return execute(reported, source, stdin, **arguments)
        except SandboxStartError:
            if not protections_from_cache():
                raise
    # The remembered layers no longer start a program (something outside the cache key
    # changed): probe again, remember the new finding, and run under it (the program had not
    # started, so it runs once).
    return run_program(source, stdin, _reprobe=True, **arguments)


# ------------------------------------------------------------------ the fork server, per process

# This process's: "for" (the Protections they belong to), "runs" started, "server", "refused"
# (why it is not used).
_state: dict = {}
_state_lock = threading.Lock()
_eager = False  # warm_fork_server was called: the first run forks too


def _reset_after_fork() -> None:
    """A forked copy of this process (a pool worker) gets its own server, never its parent's."""
    global _state_lock, _eager
    _state.clear()
    _state_lock = threading.Lock()
    _eager = False


os.register_at_fork(after_in_child=_reset_after_fork)


def warm_fork_server() -> bool:
    """Start and verify this process's fork server now, and fork every run from it from now on,
    the first included: for a process that will check many programs (the sandbox service,
    `repro/sandbox_service.py`). Whether the server is in use (where it is not, runs start
    fresh interpreters, and their reports say why)."""
    global _eager
    _eager = True
    with _fork_server_for(detect_protections()) as (server, _):
        return server is not None


def fork_server_cpu_s() -> float:
    """CPU seconds spent so far by this process's fork server and the runs it forked (they are
    not this process's children, so `RUSAGE_CHILDREN` misses them; benchmarks add this)."""
    with _state_lock:
        server = _state.get("server")
    return server.cpu_s() if server is not None else 0.0


def stop_fork_server() -> None:
    """End this process's fork server now (it also ends when this process exits); a later run
    starts a new one."""
    with _state_lock:
        server = _state.pop("server", None)
    if server is not None:
        server.close()


def _why_not(protections: Protections) -> str | None:
    """Why this machine's layers cannot be applied by the fork server, or None."""
    if os.environ.get(limits.FORK_SERVER_ENV) == "0":
        return f"{limits.FORK_SERVER_ENV}=0"
    if os.geteuid() != 0 or "user" in protections.namespaces:
        return "needs root (it applies the namespaces without a user namespace)"
    if not {"net", "pid", "mount"} <= set(protections.namespaces):
        return "needs network, PID and mount namespaces"
    if not protections.private_uid:
        return "needs the private uid"
    return None


def _note() -> str:
    return f"fork server: not used ({_state.get('refused', 'stopped')}); every run starts a fresh interpreter"


def _refuse(reason: str) -> None:
    with _state_lock:
        _state["refused"] = reason
        server = _state.pop("server", None)
    if server is not None:
        server.close()


@contextmanager
def _fork_server_for(protections: Protections) -> Iterator[tuple[ForkServer | None, Protections]]:
    """(the fork server, held for one run, or None; the protections to report for the run).
    The first run of a process starts a fresh interpreter (a one-shot command does not pay for
    a server); so does a run that finds the server busy with another thread's run."""
    stale = None
    with _state_lock:
        if _state.get("for") is not protections:
            # Layers found anew (a new probe, or read again from the checks cache): a server set
            # up and verified for the old ones is not used for them.
            stale = _state.get("server")
            _state.clear()
            _state["for"] = protections
        if "refused" not in _state:
            reason = _why_not(protections)
            if reason is not None:
                _state["refused"] = reason
        _state["runs"] = runs = _state.get("runs", 0) + 1
        refused = "refused" in _state
        server = _state.get("server")
    if stale is not None:
        stale.close()
    if refused:
        yield None, replace(protections, notes=protections.notes + (_note(),))
        return
    if runs == 1 and not _eager:
        yield None, protections
        return
    if server is not None and not server.alive():
        _refuse(f"it stopped: {server.broken}")
        yield None, replace(protections, notes=protections.notes + (_note(),))
        return
    if server is None:
        server = _start_verified(protections)
        if server is None:
            yield None, replace(protections, notes=protections.notes + (_note(),))
            return
    if not server.lock.acquire(blocking=False):
        yield None, protections  # busy with another thread's run
        return
    try:
        yield server, replace(protections, launch="fork-server")
    finally:
        server.lock.release()


def _start_verified(protections: Protections) -> ForkServer | None:
    """A new server whose runs the protection probe saw with every layer of `protections`
    (the same checks as detect.py's), or None (the reason kept in `_state["refused"]`)."""
    with _state_lock:
        if _state.get("server") is not None:
            return _state["server"]
        try:
            server = ForkServer.start(protections.interpreter)
        except SandboxSetupError as error:
            _state["refused"] = str(error)
            return None
        # Twice: a run forked afresh (its B joins the run's cgroups), then one handed to the
        # spare parked in the cgroups prepared after it (fork_server.py, `_Spare`).
        for _ in range(2):
            _verify_through(server, protections)
            if "refused" in _state:
                server.close()
                return None
        _state["server"] = server
        return server


def _verify_through(server: ForkServer, protections: Protections) -> None:
    """Run the protection probe through `server`; what it did not see goes to `_state["refused"]`."""
    try:
        with server.lock:
            result = execute(protections, detect.PROBE, time_limit_s=20, memory_mb=256, fork_server=server)
        report = json.loads(result.stdout) if result.status == "ok" else None
    except (SandboxSetupError, OSError, json.JSONDecodeError) as error:
        result, report = None, None
        _state["refused"] = f"its probe failed: {error}"
    if report is not None:
        notes: list[str] = []
        verified = detect.verify(protections, report, notes)
        if verified is None:
            _state["refused"] = f"its probe did not see every layer: {'; '.join(notes)}"
        elif replace(verified, notes=()) != replace(protections, notes=()):
            _state["refused"] = f"its probe saw other layers: {verified.summary()}"
        elif protections.readonly_root and not verified.readonly_root:
            _state["refused"] = "its probe saw a writable root"
    elif "refused" not in _state:
        _state["refused"] = f"its probe ended {result.status}: {result.stderr.strip()[-300:]}"
