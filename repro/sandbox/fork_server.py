"""A fork server for sandboxed runs: one per grading process, under the sandbox interpreter.

Started by `repro.sandbox.fork_client` as `python -I -S -X utf8 -c "...fork_server.serve(FD)"`,
with a scrubbed environment and a Unix socket (FD) as its only descriptor beside /dev/null.
Standard library only (it runs under the sandbox interpreter, not the project's environment),
like `bootstrap.py`, whose run steps it reuses.

Why: every sandboxed check used to start a fresh interpreter that imports the test harness's
modules and LiveCodeBench's import prelude -- about 25 ms of CPU, more than a bare test costs.
This process imports them once (never any program's code: it reads no work directory and
receives no test data) and then, per run, forks:

    server --fork--> A (like `unshare --fork --kill-child`): its own session; stdin, stdout,
                     stderr and the status pipe received from the caller on 0-3, every other
                     descriptor closed; new mount, network and PID namespaces; then forks
    A      --fork--> B, PID 1 of the new PID namespace (like `--mount-proc`: / made private,
                     a fresh /proc): `bootstrap.start_run`, as under `unshare` -- joins the
                     run's cgroup, mounts the private /tmp, copies the work directory in,
                     remounts the rest read-only, forks the program's process C (limits,
                     private uid, no capability, no_new_privs, descriptors 0-2 only) and
                     supervises it.
    C      returns from `serve()` to the `-c` command's top level, which runs the program
           as `bootstrap.main` does: no frame of the server is left below the program.

A child is a copy of the server's memory: what it changes stays in its copy, and it holds no
descriptor of the server's. The server runs as root in the caller's namespaces and never runs
anything but this file and the standard library's imports; it answers one run at a time.

Protocol (SOCK_SEQPACKET, marshal records): the caller sends {"config": ...} with four
descriptors (stdin read end, stdout and stderr write ends, status pipe write end); the server
answers {"event": "started", "pid": A} and, when A has been reaped, {"event": "exit",
"status": wait status, "run_cpu_s": CPU of the run's processes, "server_cpu_s": the server's
own CPU so far}. A setup failure before A exists is {"event": "error", "detail": ...}.
If the caller goes away (the socket hangs up), the server kills the run in progress and exits.
"""

import _signal as signal
import fcntl
import gc
import marshal
import os
import resource
import select
import socket

import bootstrap

_CLONE_NEWNS = 0x00020000
_CLONE_NEWPID = 0x20000000
_CLONE_NEWNET = 0x40000000
_MS_REC = 16384
_MS_PRIVATE = 1 << 18
_MNT_DETACH = 2
_NAMESPACE_FLAGS = {"mount": _CLONE_NEWNS, "pid": _CLONE_NEWPID, "net": _CLONE_NEWNET}
_STATUS_FD = 3  # where a run's status pipe lands in A, B and the supervisor (never in C)
_MESSAGE_BYTES = 1 << 16
_SPARE_READY = b"r"
_SPARE_READY_TIMEOUT_MS = 5000  # a cgroup join waits a grace period at most, even on a loaded machine

# What every checked program's process imports before the program: the harness's own modules
# (harness.py, including what its guard and its stdin wrapper import) and the standard-library
# modules of LiveCodeBench's and rllm's import preludes (harness.PRELUDES; numpy and pandas
# are not preloaded: the harness imports them only for a program that asks, see
# harness._PreloadedThere). Loaded here once, they are already in every forked run.
PRELOADED = ("json", "signal", "time", "types", "ast", "base64", "builtins", "faulthandler", "shutil",
             "subprocess", "importlib", "resource", "io", "fractions", "decimal", "string", "re", "datetime",
             "collections", "heapq", "bisect", "copy", "math", "random", "statistics", "itertools", "functools",
             "operator", "typing", "os.path")


def _preload():
    for name in PRELOADED:
        __import__(name)


def _site():
    """`site.main()` once, here, instead of in every run (about 2.5 ms of CPU each): the
    interpreter's site-packages on sys.path, after the standard library, as `python main.py`
    has them. A fresh start runs it as the run's uid; here it runs as the server's, which reads
    the same world-readable folders (docs/sandbox.md, "The programs' interpreter") and the same
    `.pth` files, installed with the sandbox interpreter's environment."""
    import site

    site.main()
    bootstrap._site_done = True


def _compiled_harness():
    """(source, code) of the test harness as a run finds it: `repro.grading.code` copies it as
    main.py into the work directory, which is /tmp/work in the run's mount namespace. Compiling
    it costs about 4 ms of CPU per run; `bootstrap._run_as_main` uses this code only for a
    main.py that holds exactly this source."""
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "harness.py"), "rb") as handle:
        source = handle.read()
    return source, compile(source, os.path.join(bootstrap.PRIVATE_WORKDIR, "main.py"), "exec")


def _unshare(flags):
    ctypes, libc = bootstrap._c()
    bootstrap._check(libc.unshare(ctypes.c_int(flags)), "unshare")


def _mount_fresh_proc():
    """As `unshare --mount-proc`: nothing of this namespace's mounts propagates back to the
    host, and /proc shows this PID namespace."""
    ctypes, libc = bootstrap._c()
    bootstrap._check(libc.mount(b"none", b"/", None, ctypes.c_ulong(_MS_REC | _MS_PRIVATE), None),
                     "make / private")
    bootstrap._check(libc.umount2(b"/proc", ctypes.c_int(_MNT_DETACH)), "unmount /proc")
    bootstrap._check(libc.mount(b"proc", b"/proc", b"proc",
                                ctypes.c_ulong(bootstrap._MS_NOSUID | bootstrap._MS_NOEXEC | bootstrap._MS_NODEV),
                                None), "mount /proc")


def _take_descriptors(received):
    """In A: the caller's pipes on 0-3, nothing else open (the server's socket included)."""
    # Copies above 3 first, so that no dup2 below overwrites a descriptor not yet moved.
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 16) for fd in received]
    for target, fd in enumerate(high):
        os.dup2(fd, target, inheritable=target != _STATUS_FD)
    os.closerange(_STATUS_FD + 1, os.sysconf("SC_OPEN_MAX"))


def _namespace_child(config, received, server_pid):
    """Process A. Never returns in A or B (every way out is `os._exit`, so that no exception can
    carry a run's process back into the server's loop); returns the program's path in C."""
    try:
        os.setsid()  # the caller kills the run's process group as a last resort
        bootstrap._prctl(bootstrap._PR_SET_PDEATHSIG, signal.SIGKILL)  # the server dies: so does the run
        if os.getppid() != server_pid:  # it died before the parent-death signal was set
            raise bootstrap.SetupError("the fork server is gone")
        _take_descriptors(received)
    except BaseException:  # noqa: BLE001 - no status pipe yet: the caller sees a run that never started
        os._exit(bootstrap.SETUP_FAILED_EXIT)
    try:
        flags = 0
        for name in config["namespaces"]:
            flags |= _NAMESPACE_FLAGS[name]
        _unshare(flags)
        pid = os.fork()
    except BaseException as error:  # noqa: BLE001 - reported to the caller, which raises it
        _report_setup_error(error)
    if pid == 0:
        try:
            bootstrap._prctl(bootstrap._PR_SET_PDEATHSIG, signal.SIGKILL)  # unshare's --kill-child
            if "pid" in config["namespaces"] and os.getpid() != 1:
                raise bootstrap.SetupError("not the init of a new PID namespace")
            if "mount" in config["namespaces"]:
                _mount_fresh_proc()
            # B supervises and ends in `os._exit`; only the program's process C returns.
            return bootstrap.start_run({**config, "status_fd": _STATUS_FD})
        except BaseException as error:  # noqa: BLE001
            _report_setup_error(error)
    # A, like `unshare --fork`: holds nothing of the run's, waits for its init, ends with it.
    code = bootstrap.SETUP_FAILED_EXIT
    try:
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.close(_STATUS_FD)
        os.close(null)
        _, status = os.waitpid(pid, 0)
        code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
    finally:
        os._exit(code)


def _report_setup_error(error):
    try:
        bootstrap._write_record(_STATUS_FD, {"event": "setup-error",
                                             "detail": f"fork server: {type(error).__name__}: {error}"})
    finally:
        os._exit(bootstrap.SETUP_FAILED_EXIT)


class _Spare:
    """A process forked ahead of the next run, parked in that run's cgroups.

    Joining a cgroup (writing to `cgroup.procs`) takes the kernel's cgroup threadgroup lock for
    writing, which on cgroup v1 waits for an RCU grace period (6-14 ms here) unless another join
    happened a few milliseconds before: a check after an idle moment waited that long before
    its program could start (docs/performance.md). So after each run the caller creates the
    next run's cgroups and asks for a spare; the spare joins them at once, while nobody waits,
    and then waits on its own socket. The next run whose configuration names those cgroups is
    handed to it: it becomes that run's A, and B, forked from it, is in the cgroups already.
    A run that names other cgroups (other limits) gets a fresh A, and the spare is killed."""

    def __init__(self, pid, connection, procs_files):
        self.pid = pid
        self.connection = connection
        self.procs_files = procs_files

    def discard(self):
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(self.pid, 0)
        self.connection.close()

    def remove(self):
        """Discard the spare and remove the cgroups it waited in: the server does it when its
        caller hangs up, so that no exit of the caller (even SIGKILL) leaves them behind."""
        self.discard()
        for procs_file in self.procs_files:
            for _ in range(20):  # a cgroup can stay busy a moment after its last task is reaped
                try:
                    os.rmdir(os.path.dirname(procs_file))
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    select.select([], [], [], 0.005)

    def take(self, config, received):
        """Hand the run to the spare (True), or False if it did not join its cgroups (it is then
        discarded, and the run forks a fresh A whose B joins them)."""
        poller = select.poll()
        poller.register(self.connection.fileno(), select.POLLIN)
        joined = bool(poller.poll(_SPARE_READY_TIMEOUT_MS)) and self.connection.recv(1) == _SPARE_READY
        if joined:
            try:
                socket.send_fds(self.connection, [marshal.dumps({**config, "cgroup_procs": []},
                                                                bootstrap.MARSHAL_VERSION)], received)
            except OSError:
                joined = False
        if not joined:
            self.discard()
            return False
        self.connection.close()
        return True


def _fork_spare(control, procs_files, server_pid):
    """(a new `_Spare`, whose process joins `procs_files` at once, or None if none could be
    forked; None). In the spare's own process: (None, the program's path), and only in the
    program's process C of the run handed to it, like `_namespace_child`."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        pid = os.fork()
    except OSError:
        ours.close()
        theirs.close()
        return None, None
    if pid != 0:
        theirs.close()
        return _Spare(pid, ours, procs_files), None
    try:
        bootstrap._prctl(bootstrap._PR_SET_PDEATHSIG, signal.SIGKILL)  # the server dies: so does the spare
        if os.getppid() != server_pid:
            raise bootstrap.SetupError("the fork server is gone")
        control.detach()
        ours.close()
        own = theirs.fileno()
        os.closerange(0, own)  # nothing of the server's but its own socket (A takes the run's pipes)
        os.closerange(own + 1, os.sysconf("SC_OPEN_MAX"))
        bootstrap._join_cgroups(procs_files)
        theirs.send(_SPARE_READY)
        message, received, _, _ = socket.recv_fds(theirs, _MESSAGE_BYTES, 4)
        if not message or len(received) != 4:
            os._exit(0)  # discarded (the server closed its end) or a broken handover
        config = marshal.loads(message)
        theirs.detach()  # closed by _take_descriptors, never by the socket object
    except BaseException:  # noqa: BLE001 - the server sees a spare that never got ready
        os._exit(bootstrap.SETUP_FAILED_EXIT)
    return None, _namespace_child(config, received, server_pid)


def _send(control, record):
    control.send(marshal.dumps(record, bootstrap.MARSHAL_VERSION))


def _kill_run(pid):
    """The caller is gone mid-run: kill the run's init (the kernel kills the namespace), then A."""
    for child in bootstrap.children_of(pid):
        try:
            os.kill(child, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _wait_for_run(control, pid):
    """Block until A ends; returns its wait status and the CPU time of A and what it reaped (the
    whole run), or None if the caller hung up (the run is then killed and reaped)."""
    pidfd = os.pidfd_open(pid)
    poller = select.poll()
    poller.register(control.fileno(), select.POLLIN | select.POLLHUP)
    poller.register(pidfd, select.POLLIN)
    try:
        while True:
            events = dict(poller.poll())
            if pidfd in events:
                _, status, usage = os.wait4(pid, 0)
                return status, usage.ru_utime + usage.ru_stime
            if events.get(control.fileno(), 0) & (select.POLLHUP | select.POLLERR):
                _kill_run(pid)
                os.waitpid(pid, 0)
                return None
            if control.fileno() in events:
                # Only a hang-up is expected while a run goes on; anything else is a broken caller.
                if not control.recv(_MESSAGE_BYTES):
                    _kill_run(pid)
                    os.waitpid(pid, 0)
                    return None
    finally:
        os.close(pidfd)


def serve(control_fd):
    """The server's loop. Returns only in a run's program process (C), with (the program's
    path, the compiled harness) for `bootstrap._run_as_main`."""
    control = socket.socket(fileno=control_fd)
    # Not the caller's child: the caller's process tree stays as it was without a server (and
    # what the caller reaps stays its own runs' business). The first process ends at once, the
    # caller reaps it; this one is adopted by init and ends when the caller hangs up.
    if os.fork() != 0:
        os._exit(0)
    _preload()
    _site()
    harness = _compiled_harness()
    bootstrap._c()  # ctypes and the C library, loaded once for every run's mounts and prctl
    # Everything loaded so far stays out of the garbage collector's reach in the children: a
    # collection would touch (and so copy, page by page) the whole forked image.
    gc.freeze()
    _send(control, {"event": "ready", "pid": os.getpid()})
    server_pid = os.getpid()
    spare = None
    while True:
        try:
            message, received, _, _ = socket.recv_fds(control, _MESSAGE_BYTES, 4)
        except (ConnectionError, OSError):
            message = b""
        if not message:  # the caller closed the socket, or went away
            if spare is not None:
                spare.remove()
            os._exit(0)
        try:
            request = marshal.loads(message)
            if "prepare" in request:  # the next run's cgroups: park a spare in them (no answer)
                for fd in received:
                    os.close(fd)
                if spare is not None:
                    spare.discard()
                spare, program = _fork_spare(control, list(request["prepare"]), server_pid)
                if program is not None:
                    return program, harness  # only the program's process of the spare's run returns
                continue
            config = request["config"]
            if len(received) != 4:
                raise ValueError(f"expected 4 descriptors, got {len(received)}")
            pid = None
            if spare is not None:
                if config["cgroup_procs"] != spare.procs_files:
                    spare.discard()  # not this run's cgroups (the caller made others)
                elif spare.take(config, received):  # (a spare that did not join is discarded)
                    pid = spare.pid
                spare = None
            if pid is None:
                pid = os.fork()
        except BaseException as error:  # noqa: BLE001 - the caller raises it
            for fd in received:
                os.close(fd)
            _send(control, {"event": "error", "detail": f"{type(error).__name__}: {error}"})
            continue
        if pid == 0:
            control.detach()  # closed by _take_descriptors, never by the socket object
            return _namespace_child(config, received, server_pid), harness  # only the program's process returns
        for fd in received:
            os.close(fd)
        _send(control, {"event": "started", "pid": pid})
        ended = _wait_for_run(control, pid)
        if ended is None:
            os._exit(0)
        own = resource.getrusage(resource.RUSAGE_SELF)
        # CPU times for the caller's accounting (its own RUSAGE_CHILDREN never sees the runs).
        _send(control, {"event": "exit", "status": ended[0], "run_cpu_s": ended[1],
                        "server_cpu_s": own.ru_utime + own.ru_stime})
