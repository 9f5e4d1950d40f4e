"""Run one untrusted Python program under given isolation layers and collect what it did.

    execute(protections, source, stdin, time_limit_s=...) -> ExecutionResult

The parent side (this module, trusted) prepares a throw-away work directory, a private uid, a
cgroup, a scrubbed environment, and starts `bootstrap.py` -- under `unshare` when namespaces
are available -- in its own session/process group. It then feeds stdin, reads stdout and
stderr incrementally up to a cap, and enforces the wall-clock deadline. Whatever happens (exit,
crash, timeout, output flood, a program that forks, daemonizes or kills), the run ends with the
whole process tree gone and reaped, the cgroup removed and the work directory deleted.

Which layers to use is the caller's: `detect.py` probes candidate layers with `execute`, and
`runner.run_program` runs programs under the layers `detect_protections()` verified. Given a
fork server (`fork_client.py`), the same run is forked by it instead of started under
`unshare`: the rest of this module (pipes, deadline, kill, cleanup) is the same.
"""

from __future__ import annotations

import math
import os
import random
import selectors
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from repro.errors import EnvironmentNotSupportedError
from repro.sandbox import limits
from repro.sandbox.bootstrap import children_of, encode_config, read_records
from repro.sandbox.cgroups import RunCgroup
from repro.sandbox.protections import Protections

BOOTSTRAP = Path(__file__).with_name("bootstrap.py")
# The bootstrap is imported (from this folder, after the standard library on sys.path), not run
# as a script: its bytecode is then cached beside it instead of compiled at every run. Its
# interpreter becomes the program's (bootstrap.py), hence -X utf8, which only a start can set.
_BOOTSTRAP_COMMAND = ("import sys; sys.path.append(" + repr(str(BOOTSTRAP.parent)) + "); import bootstrap; "
                      "bootstrap.main()")
PROGRAM_NAME = "main.py"
WORKDIR_PREFIX = "repro-sandbox-"  # + the caller's pid, so leftovers can be traced to their owner
# World-writable places a program without a private mount namespace could leave files in.
SHARED_WRITABLE_DIRS = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")
# Nothing of the caller's environment reaches the program (API keys, tokens, HF_TOKEN...).
ENVIRONMENT = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
                # Fewer malloc arenas: threads then reserve less of the address-space budget.
                "MALLOC_ARENA_MAX": "2"}
_READ_CHUNK = 65536

STATUSES = ("ok", "error", "timeout", "killed", "output-limit", "stopped")


class SandboxSetupError(EnvironmentNotSupportedError):
    """The sandbox itself failed to start the program (never the program's fault). Raised,
    never turned into a failed verdict: a broken sandbox must not silently score answers 0."""


class SandboxStartError(SandboxSetupError):
    """The program never started: the layers could not be set up (a remembered configuration
    that no longer holds is probed again, `repro.sandbox.runner`)."""


@dataclass(frozen=True)
class ExecutionResult:
    # ok: exit code 0; error: another exit code; timeout: past the wall-clock or CPU limit;
    # killed: ended by a signal (crash, memory limit, killed itself); output-limit: stdout +
    # stderr beyond the cap; stopped: the caller's `on_stdout` asked to stop.
    status: str
    returncode: int | None  # exit code, or -signal; None when unknown (killed by us)
    stdout: str
    stderr: str
    wall_s: float
    protections: Protections
    note: str = ""  # e.g. "memory cgroup limit reached"
    uid: int | None = None  # the private uid the program ran as (None: the caller's)


# ------------------------------------------------------------------ private uids

_uids_in_use: set[int] = set()
_uid_lock = threading.Lock()
_random = random.SystemRandom()


def _allocate_uid() -> int:
    with _uid_lock:
        while True:
            uid = limits.UID_BASE + _random.randrange(limits.UID_SPAN)
            if uid not in _uids_in_use and uid != os.getuid():
                _uids_in_use.add(uid)
                return uid


def _release_uid(uid: int) -> None:
    with _uid_lock:
        _uids_in_use.discard(uid)


def processes_of_uid(uid: int) -> list[int]:
    """Pids whose real uid is `uid` (to check that a run left nothing behind)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as handle:
                for line in handle:
                    if line.startswith("Uid:"):
                        if int(line.split()[1]) == uid:
                            found.append(int(entry))
                        break
        except (OSError, ValueError):
            continue
    return found


def _kill_uid(interpreter: str, uid: int) -> None:
    """SIGKILL every process of `uid`: `kill(-1)` run AS that uid reaches exactly those."""
    code = "import os, signal\ntry:\n    os.kill(-1, signal.SIGKILL)\nexcept ProcessLookupError:\n    pass\n"
    for _ in range(5):
        if not processes_of_uid(uid):
            return
        subprocess.run([interpreter, "-I", "-S", "-c", code], user=uid, group=uid, extra_groups=[], env={},
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=limits.KILL_GRACE_S, check=False)


def _sweep_uid_files(uid: int) -> None:
    """Without a private /tmp, delete what the run's uid created in the shared writable dirs
    (top level; the private uid makes ownership an exact test)."""
    for directory in SHARED_WRITABLE_DIRS:
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.stat(follow_symlinks=False).st_uid != uid:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
            except OSError:
                pass


# ------------------------------------------------------------------ the run


def _process_limit(protections: Protections) -> int | None:
    """RLIMIT_NPROC for the program, or None where the kernel would ignore it (root)."""
    if protections.private_uid:
        return limits.MAX_PROCESSES  # the uid is the run's alone
    if "NPROC" in protections.rlimits and os.geteuid() != 0:
        # The caller's own uid: its processes elsewhere count too, so the run gets this many more.
        return len(processes_of_uid(os.getuid())) + limits.MAX_PROCESSES
    return None


def sweep_stale_workdirs(parent: Path | None = None) -> list[Path]:
    """Remove the work directories of runs whose process died before cleaning up (kill -9 of a
    grading worker): they hold model-written programs. A directory is its owner's while that
    pid lives (its name carries it); a reused pid only delays the sweep. Returns what it removed."""
    removed = []
    for entry in Path(parent or tempfile.gettempdir()).glob(WORKDIR_PREFIX + "*"):
        owner = entry.name[len(WORKDIR_PREFIX):].split("-")[0]
        if entry.is_dir() and not entry.is_symlink() and owner.isdigit() and not _process_alive(int(owner)):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def _check_file_name(name: str) -> None:
    if not name or "/" in name or name in (".", "..") or "\0" in name or name == PROGRAM_NAME:
        raise ValueError(f"extra file name must be a plain file name other than {PROGRAM_NAME}: {name!r}")


def execute(protections: Protections, source: str, stdin: str = "", *, time_limit_s: float,
            memory_mb: int = limits.MEMORY_MB, output_limit_bytes: int = limits.OUTPUT_LIMIT_BYTES,
            extra_files: dict[str, str] | None = None,
            on_stdout: Callable[[bytes], bool] | None = None, fork_server=None) -> ExecutionResult:
    """`run_program` with explicit layers (detect.py probes candidate layers with it).

    `fork_server` (a `fork_client.ForkServer`, held by the caller for this run): the run is
    forked by that server, in the same namespaces, cgroup, uid and limits, instead of started
    as a fresh interpreter under `unshare`."""
    files = {PROGRAM_NAME: source, **(extra_files or {})}
    for name in extra_files or {}:
        _check_file_name(name)
    uid = _allocate_uid() if protections.private_uid else None
    cgroup = None
    cgroup_limits = (protections.cgroup_support, limits.MAX_PROCESSES + limits.CGROUP_EXTRA_PROCESSES,
                     (memory_mb + limits.CGROUP_EXTRA_MEMORY_MB) * 1024 * 1024)
    workdir = Path(tempfile.mkdtemp(prefix=f"{WORKDIR_PREFIX}{os.getpid()}-"))
    status_read = status_write = -1
    try:
        for name, text in files.items():
            (workdir / name).write_text(text, encoding="utf-8")
        if uid is not None and not protections.private_filesystem:
            # The program works in this very directory: it must own it.
            for path in [workdir, *(workdir / name for name in files)]:
                os.chown(path, uid, uid)
        if protections.cgroup_support is not None:
            # From a fork server: the cgroups it prepared after the last run, a spare process
            # already in them (fork_server.py, `_Spare`); else new ones, joined by the run.
            cgroup = fork_server.prepared_cgroup(*cgroup_limits) if fork_server is not None else None
            try:
                cgroup = cgroup or RunCgroup(*cgroup_limits)
            except OSError as error:
                raise SandboxStartError(f"cannot create the run's cgroup: {error}") from error
        status_read, status_write = os.pipe()
        config = {
            "host_workdir": str(workdir),
            "files": list(files),
            "program": PROGRAM_NAME,
            "interpreter": protections.interpreter,
            "bootstrap_dir": str(BOOTSTRAP.parent),
            "mount_ns": protections.private_filesystem,
            "parent_mount_ns": os.readlink("/proc/self/ns/mnt"),
            "pid_ns": protections.pid_isolated,
            "uid": uid,
            "gid": uid,
            "cgroup_procs": cgroup.procs_files() if cgroup else [],
            "status_fd": status_write,
            "tmpfs_bytes": limits.TMPFS_BYTES,
            "small_tmpfs_bytes": limits.SMALL_TMPFS_BYTES,
            "limits": {
                "address_space_extra": memory_mb * 1024 * 1024,
                "cpu_s": math.ceil(time_limit_s) + limits.CPU_SLACK_S,
                "file_bytes": limits.MAX_FILE_BYTES,
                "open_files": limits.MAX_OPEN_FILES,
                "stack_bytes": limits.STACK_BYTES,
                "stack_hard_bytes": max(limits.STACK_BYTES, memory_mb * 1024 * 1024),
                "processes": _process_limit(protections),
            },
        }
        started = time.monotonic()
        if fork_server is not None:
            # The server's run (A) enters these namespaces itself, as `unshare` would.
            config["namespaces"] = [name for name in protections.namespaces if name != "user"]
            process = fork_server.launch(config, status_write)
        else:
            argv = [*protections.unshare_argv, protections.interpreter, "-I", "-S", "-X", "utf8", "-c",
                    _BOOTSTRAP_COMMAND, encode_config(config)]
            try:
                process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                           stderr=subprocess.PIPE, env=ENVIRONMENT, cwd="/", start_new_session=True,
                                           pass_fds=(status_write,))
            except OSError as error:  # `unshare` or the interpreter missing
                raise SandboxStartError(f"cannot start {argv[0]}: {error}") from error
        os.close(status_write)
        status_write = -1
        deadline = started + time_limit_s
        try:
            stdout, stderr, reason = _pump(process, stdin.encode("utf-8"), deadline, output_limit_bytes, on_stdout)
            if reason is None:
                try:
                    process.wait(timeout=max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    reason = "timeout"
        finally:
            # Also on KeyboardInterrupt or a bug above: the tree never outlives this call.
            if process.poll() is None:
                _kill_tree(process, protections, cgroup, uid)
            _wait_or_raise(process)
        wall_s = time.monotonic() - started
        records = _read_records(status_read)
        status, returncode, note = _classify(reason, records, process, stderr)
        if cgroup is not None and cgroup.memory_limit_hit():
            note = (note + "; " if note else "") + "memory cgroup limit reached"
        return ExecutionResult(status, returncode, stdout.decode("utf-8", "replace"),
                               stderr.decode("utf-8", "replace"), wall_s, protections, note, uid)
    finally:
        for fd in (status_read, status_write):
            if fd >= 0:
                os.close(fd)
        if cgroup is not None:
            cgroup.kill_all()
            cgroup.remove()
        if uid is not None:
            if not protections.pid_isolated:
                _kill_uid(protections.interpreter, uid)
            if not protections.private_filesystem:
                _sweep_uid_files(uid)
            _release_uid(uid)
        shutil.rmtree(workdir, ignore_errors=True)
        if fork_server is not None and protections.cgroup_support is not None:
            fork_server.prepare_next(*cgroup_limits)


def _pump(process: subprocess.Popen, data: bytes, deadline: float, cap: int,
          on_stdout: Callable[[bytes], bool] | None) -> tuple[bytearray, bytearray, str | None]:
    """Feed stdin and read stdout/stderr until both close, the deadline, the cap, or a stop."""
    stdout, stderr = bytearray(), bytearray()
    total = 0
    reason = None
    selector = selectors.DefaultSelector()
    position = 0
    if data:
        os.set_blocking(process.stdin.fileno(), False)
        selector.register(process.stdin, selectors.EVENT_WRITE)
    else:
        process.stdin.close()
    selector.register(process.stdout, selectors.EVENT_READ, stdout)
    selector.register(process.stderr, selectors.EVENT_READ, stderr)
    readers = 2
    try:
        while readers and reason is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                reason = "timeout"
                break
            for key, _ in selector.select(remaining):
                if key.fileobj is process.stdin:
                    try:
                        position += os.write(key.fd, data[position:position + _READ_CHUNK])
                    except (BrokenPipeError, OSError):
                        position = len(data)  # the program stopped reading: that is its business
                    if position >= len(data):
                        selector.unregister(process.stdin)
                        process.stdin.close()
                    continue
                chunk = os.read(key.fd, _READ_CHUNK)
                if not chunk:
                    selector.unregister(key.fileobj)
                    readers -= 1
                    continue
                buffer = key.data
                buffer.extend(chunk[:max(0, cap - total)])
                total += len(chunk)
                if total > cap:
                    reason = "output-limit"
                    break
                if buffer is stdout and on_stdout is not None and on_stdout(chunk):
                    reason = "stopped"
                    break
    finally:
        selector.close()
        if not process.stdin.closed:
            try:
                process.stdin.close()
            except OSError:
                pass
    return stdout, stderr, reason


def _kill_tree(process: subprocess.Popen, protections: Protections, cgroup: RunCgroup | None,
               uid: int | None) -> None:
    """SIGKILL everything the run started, never anything else."""
    if protections.pid_isolated:
        # Kill the namespace's init (the supervisor, `unshare`'s only child): the kernel then
        # kills every process of the namespace, whatever session or group it moved to, the
        # dying init reaps them, and `unshare` reaps the init and exits -- no zombie is handed
        # to the machine's init. The process group is the fallback.
        for pid in children_of(process.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            process.wait(timeout=limits.SUPERVISOR_GRACE_S)
        except subprocess.TimeoutExpired:
            pass
        _killpg(process.pid)
        return
    # Without a PID namespace, killing the supervisor first would hand the program's
    # processes to the machine's init, which may never reap them (it does not here). So the
    # supervisor is asked to end the program and reap it (SIGTERM), the program's processes
    # are killed by cgroup and uid around it, and only then the process group goes.
    supervisor = process.pid
    try:
        os.kill(supervisor, signal.SIGTERM)
    except ProcessLookupError:
        pass
    if cgroup is not None:
        cgroup.kill_all(spare={supervisor})
    if uid is not None:
        _kill_uid(protections.interpreter, uid)
    try:
        process.wait(timeout=limits.SUPERVISOR_GRACE_S)
    except subprocess.TimeoutExpired:
        pass
    _killpg(process.pid)


def _killpg(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _wait_or_raise(process: subprocess.Popen) -> None:
    try:
        process.wait(timeout=limits.KILL_GRACE_S)
    except subprocess.TimeoutExpired:
        _killpg(process.pid)
        process.kill()
        try:
            process.wait(timeout=limits.KILL_GRACE_S)
        except subprocess.TimeoutExpired:
            raise SandboxSetupError(f"sandboxed process {process.pid} survived SIGKILL") from None
    for stream in (process.stdout, process.stderr):
        stream.close()


def _read_records(fd: int) -> list[dict]:
    os.set_blocking(fd, False)
    data = b""
    while True:
        try:
            chunk = os.read(fd, _READ_CHUNK)
        except BlockingIOError:
            break
        if not chunk:
            break
        data += chunk
    return read_records(data)


def _classify(reason: str | None, records: list[dict], process: subprocess.Popen,
              stderr: bytes) -> tuple[str, int | None, str]:
    """(status, returncode, note) of a finished run."""
    events = {record.get("event"): record for record in records}
    if "setup-error" in events:
        raise SandboxStartError(f"sandbox setup failed: {events['setup-error'].get('detail')}")
    exit_record = events.get("exit")
    returncode = None
    if exit_record is not None:
        signal_number = exit_record.get("signal")
        returncode = -signal_number if signal_number else exit_record.get("returncode")
    if reason is not None:
        return reason, returncode, ""
    if exit_record is None:
        if "exec" not in events:
            tail = stderr.decode("utf-8", "replace").strip()[-500:]
            raise SandboxStartError(f"sandbox did not start the program (exit {process.returncode}): {tail}")
        # The supervisor vanished (only possible without a private uid or PID namespace).
        return "killed", None, "the sandbox supervisor was killed"
    if returncode is not None and returncode < 0:
        signal_number = -returncode
        if signal_number == signal.SIGXCPU:
            return "timeout", returncode, "CPU time limit"
        return "killed", returncode, ""
    return ("ok" if returncode == 0 else "error"), returncode, ""
