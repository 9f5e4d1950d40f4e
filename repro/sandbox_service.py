"""The sandbox service: a warm process that answers `repro sandbox SOLUTION --problem PROBLEM`
for commands run in exactly its context (`repro/sandbox_client.py` says which, and why).

Started by the first such command of a context, in its own session, as

    python -c "...main(argv)" PACKAGE_PARENT SOCKET LOCK LOG

It takes LOCK (one service per context; a second one waits for the first to finish exiting, or
leaves at once if the first is serving), binds SOCKET (a Unix socket in the user's private
folder), loads the checker, reads or runs the sandbox's safety checks, starts and verifies a
fork server (`repro/sandbox/runner.py`, `warm_fork_server`), and then answers requests, each in
its own thread:

    request  {"solution": bytes, "problem": bytes, "names": [solution path, problem path],
              "context": the client's `context()`}
    answer   {"exit": 0 | 1 | 2, "stdout": the verdict line, "stderr": an error line}
             or {"fallback": why}: the command judges in its own process

It answers a request only from a process of its own user (SO_PEERCRED), with the same context
as its own, while none of the package's modules it loaded has changed on disk and the sandbox's
checks fingerprint is the one it started under; otherwise it answers "fallback" (and, for a
change of code or machine, stops taking new commands and exits). The judging itself is
`repro.sandbox_command.judge`, the command's own code: same verdict, same error lines (a
`ReproError` becomes exit 2 and "error: ..." as in the command). Any other exception is
answered with "fallback", so that the command meets it in its own process and reports it as
every command reports a bug.

It exits after REPRO_SANDBOX_SERVICE_IDLE_S seconds (default 60) without a request and with no
check running, or on SIGTERM: it removes its socket first, answers the commands already queued
on it, waits for the checks in progress, and ends (its fork server ends with it). A command
interrupted while its program runs does not stop that run: the service finishes it within the
problem's time limits and drops the verdict.
"""

from __future__ import annotations

import fcntl
import os
import signal
import socket
import struct
import sys
import threading
import time
import traceback

from repro import sandbox_client
from repro.errors import ReproError

_ACCEPT_POLL_S = 1.0  # how often the idle loop looks at the clock and at a stop request
_LOCK_POLL_S = 0.02
_REQUEST_TIMEOUT_S = 30.0


class _Service:
    def __init__(self, socket_path: str, idle_s: float):
        self.socket_path = socket_path
        self.idle_s = idle_s
        self.context = sandbox_client.context()
        self.stop = threading.Event()
        self.active = 0
        self.active_lock = threading.Lock()
        self.last_request = time.monotonic()
        self.listener: socket.socket | None = None
        self.bound_inode: int | None = None
        self.modules: dict[str, tuple | None] = {}
        self.modules_lock = threading.Lock()
        self.checks_key: str | None = None
        self.judge = None  # repro.sandbox_command.judge, once warm

    # -------------------------------------------------------------- start and stop

    def bind(self) -> None:
        """Bind the socket (a file left by a service that died is removed: the lock says that no
        live service owns it)."""
        try:
            os.unlink(self.socket_path)
        except FileNotFoundError:
            pass
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(self.socket_path)
        listener.listen(64)
        listener.settimeout(_ACCEPT_POLL_S)
        self.listener = listener
        self.bound_inode = os.stat(self.socket_path).st_ino

    def warm_up(self) -> None:
        """Load the checker, the safety checks and the fork server before the first answer; then
        note what the answers depend on, to notice when it changes."""
        from repro.sandbox import runner
        from repro.sandbox_command import judge  # the checker's imports, done once here

        self.judge = judge
        runner.warm_fork_server()  # reads (or runs) the safety checks first
        self.modules = _module_files({})
        self.checks_key = _checks_key()

    def take_out_of_service(self) -> None:
        """No new command reaches this service (its socket file goes, if it is still ours)."""
        try:
            if os.stat(self.socket_path).st_ino == self.bound_inode:
                os.unlink(self.socket_path)
        except OSError:
            pass

    # -------------------------------------------------------------- the loop

    def serve(self) -> None:
        while not self.stop.is_set():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                with self.active_lock:
                    idle = self.active == 0 and time.monotonic() - self.last_request > self.idle_s
                if idle:
                    self.stop.set()
                continue
            self._start_answer(connection)
        self.take_out_of_service()
        # Commands that connected before the socket file went are answered (by fallback when
        # the service stopped for a change), then the checks in progress finish.
        self.listener.setblocking(False)
        while True:
            try:
                connection, _ = self.listener.accept()
            except (BlockingIOError, OSError):
                break
            connection.setblocking(True)
            self._start_answer(connection)
        self.listener.close()
        while True:
            with self.active_lock:
                if self.active == 0:
                    return
            time.sleep(0.05)

    def _start_answer(self, connection: socket.socket) -> None:
        with self.active_lock:
            self.active += 1
            self.last_request = time.monotonic()
        threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        try:
            with connection:
                if not _same_user(connection):
                    return
                # A command sends its request at once; one that does not (stopped, stuck) must
                # not keep the service from ending.
                connection.settimeout(_REQUEST_TIMEOUT_S)
                request = sandbox_client.receive_message(connection)
                if request is None:
                    return  # a connection test (another service looking for a live one)
                connection.settimeout(None)
                sandbox_client.send_message(connection, self._reply(request))
        except Exception as error:  # noqa: BLE001 - one command's failure; the command judges alone
            print(f"sandbox service: a request failed: {type(error).__name__}: {error}", file=sys.stderr)
        finally:
            with self.active_lock:
                self.active -= 1
                self.last_request = time.monotonic()

    def _reply(self, request: dict) -> dict:
        if request.get("context") != self.context:
            return {"fallback": "another context (Python, package, environment, folder, cgroup or ids)"}
        changed = self._what_changed()
        if changed is not None:
            self.take_out_of_service()
            self.stop.set()
            print(f"sandbox service: stopping: {changed}", file=sys.stderr)
            return {"fallback": changed}
        solution_name, problem_name = request["names"]
        try:
            code, line = self.judge(request["solution"], request["problem"], problem_name)
        except ReproError as error:
            return {"exit": error.exit_code, "stdout": "", "stderr": f"error: {error}\n"}
        except Exception as error:  # noqa: BLE001 - the command meets it in its own process
            print(f"sandbox service: {solution_name}: {type(error).__name__}: {error}", file=sys.stderr)
            return {"fallback": f"{type(error).__name__}: {error}"}
        return {"exit": code, "stdout": line + "\n", "stderr": ""}

    def _what_changed(self) -> str | None:
        with self.modules_lock:
            if any(_identity(path) != identity for path, identity in self.modules.items()):
                return "a module of the package changed on disk"
            self.modules = _module_files(self.modules)  # and those loaded since, as they are now
        if _checks_key() != self.checks_key:
            return "the sandbox's checks fingerprint changed (machine, interpreter or configuration)"
        return None


def _same_user(connection: socket.socket) -> bool:
    """Whether the peer runs as this service's user (the folder's permissions say so already;
    this does not rely on them)."""
    credentials = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _, uid, _ = struct.unpack("3i", credentials)
    return uid == os.getuid()


def _identity(path: str | int) -> tuple | None:
    """Size, modification time and inode of a file (a path, or an open descriptor's file)."""
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_size, status.st_mtime_ns, status.st_ino


def _module_files(known: dict[str, tuple | None]) -> dict[str, tuple | None]:
    """`known`, plus the size, modification time and inode of the file of every other module of
    the package loaded now."""
    found = dict(known)
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if (name == "repro" or name.startswith("repro.")) and path and path not in found:
            found[path] = _identity(path)
    return found


def _checks_key() -> str:
    from repro.sandbox import checks_cache
    from repro.sandbox.detect import choose_interpreter

    return checks_cache.key_of(checks_cache.fingerprint(choose_interpreter()))


def _take_lock(lock_path: str, socket_path: str) -> int | None:
    """The lock of this context's service (a descriptor held until this process ends), or None
    when another service serves the context. A service that is exiting holds the lock a moment
    longer than its socket: that one is waited for."""
    deadline = time.monotonic() + sandbox_client.START_TIMEOUT_S
    while True:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if _identity(lock_path) == _identity(fd):
                return fd
            # The service that held it removed the file as it ended: lock the file now there.
        except BlockingIOError:
            pass
        live = sandbox_client.connect(socket_path)
        if live is not None:
            live.close()
            os.close(fd)
            return None
        os.close(fd)
        if time.monotonic() > deadline:
            return None
        time.sleep(_LOCK_POLL_S)


def idle_seconds() -> float:
    value = os.environ.get(sandbox_client.IDLE_ENV)
    try:
        return float(value) if value else sandbox_client.DEFAULT_IDLE_S
    except ValueError:
        return sandbox_client.DEFAULT_IDLE_S


def main(argv: list[str]) -> None:
    socket_path, lock_path, log_path = argv
    lock = _take_lock(lock_path, socket_path)
    if lock is None:
        return
    try:
        os.truncate(log_path, 0)  # the log (this process's stderr, opened for appending) is this service's
    except OSError:
        pass
    service = _Service(socket_path, idle_seconds())
    # SIGTERM: stop as after an idle period (the socket goes, queued commands are answered).
    signal.signal(signal.SIGTERM, lambda *_: service.stop.set())
    service.bind()
    try:
        service.warm_up()
        service.serve()
    except Exception:  # noqa: BLE001 - into the log, which is then kept; commands judge alone
        traceback.print_exc()
        raise SystemExit(1) from None
    finally:
        service.take_out_of_service()
        # Leave nothing behind but a log worth reading. The lock file goes while still locked
        # (a service waiting for it sees that its file is gone, and takes the new one).
        for path in (lock_path, log_path):
            try:
                if path == lock_path or os.path.getsize(log_path) == 0:
                    os.unlink(path)
            except OSError:
                pass
        os.close(lock)
