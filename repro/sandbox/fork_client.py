"""The caller's side of the fork server (`fork_server.py`): start it, hand it a run, follow it.

    server = ForkServer.start(interpreter)
    process = server.launch(config, status_write)   # looks like the subprocess.Popen that
                                                    # execute() would otherwise have started

One server per process that checks programs (a grading worker), started lazily by the runner
(`runner.py`, which also decides when it may be used and verifies it with the protection probe
first). It answers one run at a time: `ForkServer.lease()` hands it out under a lock, and a
caller that finds it busy starts a fresh interpreter as before.
"""

from __future__ import annotations

import marshal
import os
import select
import signal
import socket
import subprocess
import tempfile
import threading
from pathlib import Path

from repro.sandbox.bootstrap import MARSHAL_VERSION
from repro.sandbox.cgroups import CgroupSupport, RunCgroup
from repro.sandbox.execution import ENVIRONMENT, SandboxStartError

SERVER_FOLDER = Path(__file__).parent
_START_TIMEOUT_S = 30.0  # imports of a cold interpreter on a loaded machine
_REPLY_TIMEOUT_S = 30.0  # a fork, on a loaded machine
_MESSAGE_BYTES = 1 << 16


def _command(control_fd: int) -> str:
    # Imported from its folder (bytecode cached), like the bootstrap. `serve` returns only in a
    # run's program process, which then runs the program from this top-level frame.
    return (f"import sys; sys.path.append({str(SERVER_FOLDER)!r}); import bootstrap, fork_server; "
            f"bootstrap._run_as_main(*fork_server.serve({control_fd}))")


class ForkServer:
    """A running fork server and the socket to it. Not shared between processes."""

    def __init__(self, process: subprocess.Popen, control: socket.socket, pid: int):
        self.process = process
        self.control = control
        self.server_pid = pid
        self.owner = os.getpid()
        self.lock = threading.Lock()
        self.broken: str | None = None
        self.runs_cpu_s = 0.0  # CPU of the runs the server reaped (never in our RUSAGE_CHILDREN)
        self.own_cpu_s = 0.0  # the server's own CPU, as of its last report
        # The next run's cgroups, with the server's spare process in them, and their limits.
        self.prepared: RunCgroup | None = None
        self.prepared_limits: tuple | None = None

    def cpu_s(self) -> float:
        """CPU time spent by the server and its finished runs, for benchmarks."""
        return self.runs_cpu_s + self.own_cpu_s

    @classmethod
    def start(cls, interpreter: str) -> ForkServer:
        """Start a server under `interpreter`; SandboxStartError if it does not come up."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        errors = tempfile.TemporaryFile()
        try:
            process = subprocess.Popen(
                [interpreter, "-I", "-S", "-X", "utf8", "-c", _command(theirs.fileno())],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors, env=ENVIRONMENT, cwd="/",
                start_new_session=True, pass_fds=(theirs.fileno(),))
        except OSError as error:
            ours.close()
            errors.close()
            raise SandboxStartError(f"cannot start the fork server: {error}") from error
        finally:
            theirs.close()
        server = cls(process, ours, process.pid)
        try:
            ready = server._answer(_START_TIMEOUT_S)
        except SandboxStartError as error:
            server.close()
            errors.seek(0)
            tail = errors.read().decode("utf-8", "replace").strip()[-300:]
            raise SandboxStartError(f"{error}: {tail}") from None
        finally:
            errors.close()
        if ready.get("event") != "ready":
            server.close()
            raise SandboxStartError(f"fork server: unexpected first message {ready!r}")
        server.server_pid = ready["pid"]
        process.wait()  # the first process forked the server and left
        return server

    def alive(self) -> bool:
        return self.broken is None and self.owner == os.getpid()

    def prepared_cgroup(self, support: CgroupSupport, max_processes: int, memory_bytes: int) -> RunCgroup | None:
        """The cgroups prepared for the next run (`prepare_next`), if they have these limits: the
        server's spare process is in them already, so the run does not wait for the kernel to
        let it join (fork_server.py, `_Spare`). None: the caller creates the run's cgroups (a
        spare in other ones is killed by the server when the run names them)."""
        prepared, limits, self.prepared, self.prepared_limits = self.prepared, self.prepared_limits, None, None
        if prepared is not None and limits == (support, max_processes, memory_bytes):
            return prepared
        if prepared is not None:
            prepared.remove()  # kills the spare in it, if it is still there
        return None

    def prepare_next(self, support: CgroupSupport, max_processes: int, memory_bytes: int) -> None:
        """Create the next run's cgroups and have the server park a spare process in them now,
        while nothing waits. Anything that fails here only means the next run joins its cgroups
        itself."""
        if not self.alive():
            return
        try:
            cgroup = RunCgroup(support, max_processes, memory_bytes)
        except OSError:
            return
        try:
            socket.send_fds(self.control, [marshal.dumps({"prepare": cgroup.procs_files()}, MARSHAL_VERSION)], [])
        except OSError as error:
            cgroup.remove()
            self.broken = f"cannot reach the fork server: {error}"
            return
        self.prepared, self.prepared_limits = cgroup, (support, max_processes, memory_bytes)

    def launch(self, config: dict, status_write: int) -> ServerRun:
        """Have the server fork a run; the returned object stands for the run's first process.
        Call under `lock`, one run at a time."""
        pipes = [os.pipe() for _ in range(3)]  # stdin, stdout, stderr
        theirs = [pipes[0][0], pipes[1][1], pipes[2][1], status_write]
        ours = [pipes[0][1], pipes[1][0], pipes[2][0]]
        try:
            try:
                socket.send_fds(self.control, [marshal.dumps({"config": config}, MARSHAL_VERSION)], theirs)
            except OSError as error:
                self.broken = f"cannot reach the fork server: {error}"
                raise SandboxStartError(self.broken) from error
            reply = self._answer(_REPLY_TIMEOUT_S)
        except BaseException:
            for fd in ours:
                os.close(fd)
            raise
        finally:
            for fd in theirs[:3]:
                os.close(fd)
        if reply.get("event") != "started":
            for fd in ours:
                os.close(fd)
            raise SandboxStartError(f"the fork server could not start a run: {reply.get('detail', reply)}")
        return ServerRun(self, reply["pid"], *ours)

    def _receive(self, timeout: float | None) -> dict | None:
        """The server's next message; None if none came within `timeout`; SandboxStartError if
        the server is gone."""
        ready, _, _ = select.select([self.control], [], [], timeout)
        if not ready:
            return None
        try:
            data = self.control.recv(_MESSAGE_BYTES)
        except OSError as error:
            data = b""
            self.broken = f"fork server: {error}"
        if not data:
            self.broken = self.broken or "the fork server ended"
            raise SandboxStartError(self.broken)
        return marshal.loads(data)

    def _answer(self, timeout: float) -> dict:
        reply = self._receive(timeout)
        if reply is None:
            self.broken = f"the fork server did not answer within {timeout:.0f} s"
            raise SandboxStartError(self.broken)
        return reply

    def close(self) -> None:
        """End the server: it exits when the caller hangs up (killing a run in progress)."""
        if self.owner != os.getpid():
            return  # a forked copy of the caller: the server is the parent's
        self.control.close()
        try:
            self.process.wait(timeout=5)  # the first process, normally long gone
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.prepared is not None:  # its spare dies with the server (parent-death signal)
            self.prepared.remove()
            self.prepared = self.prepared_limits = None


class ServerRun:
    """A run forked by the server, with the parts of `subprocess.Popen` that execute() uses:
    `pid` (the run's first process, A: its session and process group leader, parent of the
    namespace's init), the three pipes, `poll`, `wait` and `kill`."""

    def __init__(self, server: ForkServer, pid: int, stdin: int, stdout: int, stderr: int):
        self.server = server
        self.pid = pid
        self.returncode: int | None = None
        self.stdin = open(stdin, "wb", buffering=0)
        self.stdout = open(stdout, "rb", buffering=0)
        self.stderr = open(stderr, "rb", buffering=0)

    def poll(self) -> int | None:
        if self.returncode is None:
            self._wait(0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None and not self._wait(timeout):
            raise subprocess.TimeoutExpired(f"sandboxed run {self.pid}", timeout)
        return self.returncode

    def kill(self) -> None:
        if self.returncode is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def _wait(self, timeout: float | None) -> bool:
        """Whether the server reported the run's end within `timeout`."""
        try:
            reply = self.server._receive(timeout)
        except SandboxStartError:
            # The server is gone: its runs die with it (A's parent-death signal, then the namespace).
            self.returncode = -signal.SIGKILL
            return True
        if reply is None:
            return False
        if reply.get("event") != "exit":
            self.server.broken = f"fork server: unexpected message {reply!r}"
            self.returncode = -signal.SIGKILL
            return True
        status = reply["status"]
        self.server.runs_cpu_s += reply.get("run_cpu_s", 0.0)
        self.server.own_cpu_s = reply.get("server_cpu_s", self.server.own_cpu_s)
        self.returncode = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        return True
