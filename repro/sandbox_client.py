"""The caller's side of the sandbox service: `repro sandbox SOLUTION --problem PROBLEM` asks a
warm process to judge, instead of importing the checker and starting the sandbox itself.

    answer = judge_through_service(solution_path, problem_path)   # (exit code, stdout, stderr)
                                                                  # or None: judge in this process

Why: a `repro sandbox` command used to cost about three times a bare subprocess judging the
same test (docs/performance.md, "Code sandbox"): the checker's imports and a fresh sandboxed
interpreter per command. The service (`repro/sandbox_service.py`) keeps both warm -- the
imports, the checks cache, and a fork server -- so a command pays its own interpreter start,
this module, and one forked run.

What makes it safe to reuse: a service answers only commands that would have run exactly like
it -- the same Python, the same package folder, the same environment (every variable), the same
working directory, the same cgroup and ids. That context is hashed into the service's socket
name (so each configuration gets its own service) and compared in full by the service at every
request. The service also stops answering as soon as a module it loaded changes on disk or the
sandbox's checks fingerprint changes (`repro/sandbox/checks_cache.py`): the command then judges
in its own process, and the next one starts a fresh service.

Where: a folder of this user's only (mode 0700, owned by the user, not a link):
`$XDG_RUNTIME_DIR/repro-sandbox/`, else `$TMPDIR` (or /tmp) `/repro-sandbox-UID/`. A folder
that fails these tests is not used. The service ends after `REPRO_SANDBOX_SERVICE_IDLE_S`
seconds without a request (default 60); `REPRO_SANDBOX_SERVICE=0` turns it off.

Anything unexpected -- no folder, no service within the start timeout, a service that died,
a refusal -- returns None, and the command judges in its own process, exactly as without the
service; a file that cannot be read is left to that path too, so its error message is the usual
one. This module imports only what the command's fast path can afford (no repro module).
"""

from __future__ import annotations

import marshal
import os
import socket
import stat
import sys
import time
import zlib

SERVICE_ENV = "REPRO_SANDBOX_SERVICE"
IDLE_ENV = "REPRO_SANDBOX_SERVICE_IDLE_S"
DEFAULT_IDLE_S = 60.0
START_TIMEOUT_S = 30.0  # a cold service's imports and safety checks on a loaded machine
PROTOCOL = 1
MARSHAL_VERSION = 4
_LENGTH_BYTES = 8
MAX_MESSAGE_BYTES = 1 << 31  # a problem's tests can be large; anything longer is a broken peer
_PACKAGE = os.path.dirname(os.path.abspath(__file__))
_SOCKET_PATH_BYTES = 108  # sun_path, with its final NUL (Linux)

# How the client starts a service: this Python, the package's parent folder first on sys.path
# (the folder this module was imported from, installed or not), then the socket, lock and log.
_SERVICE_COMMAND = ("import sys; sys.path.insert(0, sys.argv.pop(1)); "
                    "from repro.sandbox_service import main; main(sys.argv[1:])")


class ServicePaths:
    """The socket, lock and log file of the service for one context."""

    def __init__(self, folder: str, key: str):
        self.socket = os.path.join(folder, f"{key}.sock")
        self.lock = os.path.join(folder, f"{key}.lock")
        self.log = os.path.join(folder, f"{key}.log")


def context() -> dict:
    """Everything that decides how this process would judge a program, short of the package's
    files and the machine's sandbox layers (the service watches those itself)."""
    try:
        with open("/proc/self/cgroup", encoding="utf-8", errors="replace") as handle:
            cgroup = handle.read()
    except OSError:
        cgroup = None
    return {"protocol": PROTOCOL, "python": sys.executable, "package": _PACKAGE, "cwd": os.getcwd(),
            "environment": dict(os.environ), "cgroup": cgroup, "ids": [os.getuid(), os.geteuid(), os.getgid()]}


def key_of(found: dict) -> str:
    """The socket's name for a context: two checksums of it (64 bits). Not hashlib: loading
    OpenSSL costs a command more than the rest of this module. A collision only gives two
    contexts one socket name; the service, which compares contexts in full, then has the
    second one judge in its own process."""
    text = repr(sorted((name, found[name] if name != "environment" else sorted(found[name].items()))
                       for name in found)).encode("utf-8", "surrogateescape")
    return f"{zlib.crc32(text):08x}{zlib.adler32(text):08x}"


def service_folder() -> str | None:
    """This user's folder for service sockets, created if needed; None if it is not private
    (another owner, other permissions, a link) or cannot be made."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isabs(runtime) and os.path.isdir(runtime):
        folder = os.path.join(runtime, "repro-sandbox")
    else:
        folder = os.path.join(os.environ.get("TMPDIR") or "/tmp", f"repro-sandbox-{os.getuid()}")
    try:
        os.mkdir(folder, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    try:
        status = os.lstat(folder)
    except OSError:
        return None
    if not stat.S_ISDIR(status.st_mode) or status.st_uid != os.getuid() or status.st_mode & 0o077:
        return None
    return folder


# Messages are marshal data behind an 8-byte length: marshal is built in (nothing to import),
# carries bytes as they are (a solution need not be UTF-8), and both ends are this package under
# the same Python. The peer is always a process of the same user (the folder is the user's, and
# the service checks the peer's uid), so loading its data trusts no one new.
def send_message(connection: socket.socket, message: dict) -> None:
    data = marshal.dumps(message, MARSHAL_VERSION)
    connection.sendall(len(data).to_bytes(_LENGTH_BYTES, "big") + data)


def receive_message(connection: socket.socket) -> dict | None:
    """The peer's next message, or None if it closed the connection first."""
    header = _receive_exactly(connection, _LENGTH_BYTES)
    if header is None:
        return None
    length = int.from_bytes(header, "big")
    if length > MAX_MESSAGE_BYTES:
        raise ValueError(f"message of {length} bytes")
    data = _receive_exactly(connection, length)
    if data is None:
        return None
    message = marshal.loads(data)
    if not isinstance(message, dict):
        raise ValueError("a message that is not a dict")
    return message


def _receive_exactly(connection: socket.socket, size: int) -> bytes | None:
    chunks, missing = [], size
    while missing:
        chunk = connection.recv(min(missing, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        missing -= len(chunk)
    return b"".join(chunks)


def judge_through_service(solution_path, problem_path) -> tuple[int, str, str] | None:
    """(exit code, stdout, stderr) of `repro sandbox SOLUTION --problem PROBLEM` as the service
    judged it, or None: judge in this process."""
    if os.environ.get(SERVICE_ENV) == "0":
        return None
    try:
        with open(solution_path, "rb") as handle:
            solution = handle.read()
        with open(problem_path, "rb") as handle:
            problem = handle.read()
    except OSError:
        return None  # the in-process path says what is wrong, in its usual words
    folder = service_folder()
    if folder is None:
        return None
    found = context()
    paths = ServicePaths(folder, key_of(found))
    if len(os.fsencode(paths.socket)) >= _SOCKET_PATH_BYTES:
        return None  # too long for a Unix socket's address
    request = {"solution": solution, "problem": problem, "names": [str(solution_path), str(problem_path)],
               "context": found}
    try:
        connection = connect(paths.socket) or _start_and_connect(paths)
        if connection is None:
            return None
        with connection:
            send_message(connection, request)
            reply = receive_message(connection)
    except (OSError, ValueError, EOFError, TypeError):
        return None
    if reply is None or "exit" not in reply:
        return None  # the service refused ("fallback": why) or went away mid-check
    return reply["exit"], reply["stdout"], reply["stderr"]


def connect(path: str) -> socket.socket | None:
    """A connection to the service listening at `path`, or None if none listens there."""
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(path)
    except (FileNotFoundError, ConnectionRefusedError):
        connection.close()
        return None
    except OSError:
        connection.close()
        raise
    return connection


def _start_and_connect(paths: ServicePaths) -> socket.socket | None:
    """Start a service for this context and connect to it; None if none comes up in time."""
    import subprocess  # only the first command of a configuration starts a service

    log = os.open(paths.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
    try:
        process = subprocess.Popen(
            [sys.executable, "-c", _SERVICE_COMMAND, os.path.dirname(_PACKAGE), paths.socket, paths.lock, paths.log],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, close_fds=True)
    finally:
        os.close(log)
    deadline = time.monotonic() + START_TIMEOUT_S
    pause = 0.002
    while time.monotonic() < deadline:
        connection = connect(paths.socket)
        if connection is not None:
            return connection
        code = process.poll()
        if code not in (None, 0):
            return None  # it failed to start; its log says why
        time.sleep(pause)
        pause = min(pause * 2, 0.05)
    return None
