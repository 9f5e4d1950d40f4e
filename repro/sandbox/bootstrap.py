"""First code of every sandboxed run, executed by the sandbox interpreter before the program.

Started by `repro.sandbox.execution` (directly, or under `unshare` when namespaces are
available) with one argument, its configuration (marshal, in hexadecimal), or imported by the
fork server (`fork_server.py`), which calls `start_run` in each forked run; standard library
only, because it runs under the system interpreter, not the project's virtual environment. It
never imports the project.

Its start-up is paid by every run, so it imports little: `marshal` (built in) rather than
`json`, `_signal` rather than `signal` (both pull in `re`, `enum` and `functools`: about half
of this interpreter's start-up), and it is imported as a module, so its bytecode is cached.
Status records go to the parent as marshal frames (`write_record` / `read_records`).

It runs as root (or as root of a user namespace) and does, in order:
1. join the run's cgroups (so every later process is counted);
2. in a private mount namespace only (checked, never assumed): private tmpfs on /tmp,
   /var/tmp, /dev/shm and /run/lock, the work directory copied into the private /tmp, and every
   other mount remounted read-only -- so nothing written outside the work directory survives;
3. fork. The child sets the resource limits (address space measured on top of its own size),
   drops to the run's unprivileged uid/gid, forbids privilege gain, closes the status pipe, and
   then runs the program itself, as `python -E -s -B -X utf8 main.py` would (this interpreter
   was started with -I -S -X utf8: the script's folder goes first on sys.path, `site` runs as
   the run's uid, no bytecode is written): one interpreter start per run, not two. The parent
   stays behind as the subreaper: it waits for the program, kills whatever the program left
   running, reaps everything, and reports the exit status on a private pipe the program never
   holds.
"""

import _signal as signal  # the C module: `signal` imports enum, re and functools
import marshal
import os
import resource
import sys

_MS_RDONLY = 1
_MS_NOSUID = 2
_MS_NODEV = 4
_MS_NOEXEC = 8
_MS_REMOUNT = 32
_MS_NOATIME = 1024
_MS_NODIRATIME = 2048
_MS_BIND = 4096
_MS_RELATIME = 1 << 21
_MS_STRICTATIME = 1 << 24
_PER_MOUNT_FLAGS = {"nosuid": _MS_NOSUID, "nodev": _MS_NODEV, "noexec": _MS_NOEXEC, "noatime": _MS_NOATIME,
                    "nodiratime": _MS_NODIRATIME, "relatime": _MS_RELATIME}
_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
_PR_SET_NO_NEW_PRIVS = 38
# Mount points left alone by the read-only remount: pseudo file systems the interpreter needs.
_KEEP_WRITABLE_PREFIXES = ("/proc", "/sys", "/dev")
SETUP_FAILED_EXIT = 125
# The work directory as the program sees it, in a private mount namespace.
PRIVATE_WORKDIR = "/tmp/work"



_loaded = []
# Whether `site.main()` already ran in this interpreter (set by the fork server).
_site_done = False


def _c():
    """(ctypes, the C library), loaded on first use: the parent imports this module for
    `children_of` and the record format, and never needs them."""
    if not _loaded:
        import ctypes

        _loaded.extend((ctypes, ctypes.CDLL(None, use_errno=True)))
    return _loaded[0], _loaded[1]


class SetupError(Exception):
    pass


def _check(result, what):
    if result != 0:
        error = _c()[0].get_errno()
        raise SetupError(f"{what}: {os.strerror(error)}")


def _mount(source, target, fstype, flags, data):
    ctypes, libc = _c()
    _check(libc.mount(source and source.encode(), target.encode(), fstype and fstype.encode(),
                      ctypes.c_ulong(flags), data and data.encode()), f"mount {target}")


def _prctl(option, value):
    ctypes, libc = _c()
    _check(libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0), f"prctl {option}")


# marshal format 2 is read by every Python 3, whichever of the two interpreters writes it.
MARSHAL_VERSION = 2
_FRAME_LENGTH_BYTES = 4


def _write_record(fd, record):
    body = marshal.dumps(record, MARSHAL_VERSION)
    data = len(body).to_bytes(_FRAME_LENGTH_BYTES, "big") + body
    while data:
        data = data[os.write(fd, data):]


def read_records(data):
    """The records of a status stream (the parent's side); a truncated last frame is dropped."""
    records, position = [], 0
    while position + _FRAME_LENGTH_BYTES <= len(data):
        length = int.from_bytes(data[position:position + _FRAME_LENGTH_BYTES], "big")
        frame = data[position + _FRAME_LENGTH_BYTES:position + _FRAME_LENGTH_BYTES + length]
        if len(frame) < length:
            break
        try:
            record = marshal.loads(frame)
        except (EOFError, ValueError, TypeError):
            break
        if isinstance(record, dict):
            records.append(record)
        position += _FRAME_LENGTH_BYTES + length
    return records


def encode_config(config):
    """The command-line form of a configuration (the parent's side)."""
    return marshal.dumps(config, MARSHAL_VERSION).hex()


def _join_cgroups(procs_files):
    for path in procs_files:
        with open(path, "w") as handle:  # "0": the writing process itself (v1 and v2)
            handle.write("0")


def _mount_points():
    """(mount point, per-mount options) of this mount namespace, parents before children."""
    points = []
    with open("/proc/self/mountinfo") as handle:
        for line in handle:
            fields = line.split()
            # Octal escapes (\040 for a space) stay as they are: such paths are simply skipped.
            points.append((fields[4], fields[5]))
    return points


def _private_filesystem(config):
    """Steps of the mount namespace. Returns the work directory the program will use."""
    if os.readlink("/proc/self/ns/mnt") == config["parent_mount_ns"]:
        # Never mount anything in the caller's namespace: that would hide the host's /tmp.
        raise SetupError("mount namespace requested but the process is still in the caller's")
    files = {}
    for name in config["files"]:
        with open(os.path.join(config["host_workdir"], name), "rb") as handle:
            files[name] = handle.read()
    masked = []
    for path, size in (("/tmp", config["tmpfs_bytes"]), ("/var/tmp", config["small_tmpfs_bytes"]),
                       ("/dev/shm", config["small_tmpfs_bytes"]), ("/run/lock", config["small_tmpfs_bytes"])):
        if os.path.isdir(path) and not os.path.islink(path):
            _mount("tmpfs", path, "tmpfs", _MS_NOSUID | _MS_NODEV, f"size={size},mode=1777")
            masked.append(path)
    workdir = PRIVATE_WORKDIR
    os.mkdir(workdir, 0o700)
    for name, data in files.items():
        with open(os.path.join(workdir, name), "wb") as handle:
            handle.write(data)
    if config["uid"] is not None:
        for name in [""] + list(files):
            os.chown(os.path.join(workdir, name), config["uid"], config["gid"])
    for point, options in _mount_points():
        if point in masked or point.startswith(_KEEP_WRITABLE_PREFIXES) or "\\" in point:
            continue
        flags = _MS_REMOUNT | _MS_BIND | _MS_RDONLY
        for option in options.split(","):
            flags |= _PER_MOUNT_FLAGS.get(option, 0)
        # Keep going on failure: a locked mount (user namespaces) stays as it was, and the
        # probe in detect_protections() reports whether writes outside the work dir are stopped.
        ctypes, libc = _c()
        libc.mount(None, point.encode(), None, ctypes.c_ulong(flags), None)
    return workdir


def _vm_size_bytes():
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _limit(which, value):
    resource.setrlimit(which, (value, value))


def _become_program(config, workdir, status_fd):
    """In the forked child: limits, identity, signals, environment, then this very interpreter
    becomes the program's, as `python -E -s -B -X utf8 main.py` would start it (a second
    interpreter start cost about 10 ms of CPU per run, docs/performance.md). Returns the
    program's path; on any failure, reports a setup error and ends the child."""
    try:
        os.chdir(workdir)
        limits = config["limits"]
        # The budget goes on top of what this process already maps: the program gets about the
        # budget for itself.
        _limit(resource.RLIMIT_AS, _vm_size_bytes() + limits["address_space_extra"])
        resource.setrlimit(resource.RLIMIT_CPU, (limits["cpu_s"], limits["cpu_s"] + 1))
        _limit(resource.RLIMIT_FSIZE, limits["file_bytes"])
        _limit(resource.RLIMIT_NOFILE, limits["open_files"])
        resource.setrlimit(resource.RLIMIT_STACK, (limits["stack_bytes"], limits["stack_hard_bytes"]))
        _limit(resource.RLIMIT_CORE, 0)
        if limits["processes"] is not None:
            # Counted per uid (per user namespace on Linux 5.14+) and ignored for root: the
            # caller sets it only for a private uid or an unprivileged caller.
            _limit(resource.RLIMIT_NPROC, limits["processes"])
        if config["uid"] is not None:
            os.setgroups([])
            os.setresgid(config["gid"], config["gid"], config["gid"])
            # From root to another uid in all three ids: the kernel clears every capability.
            os.setresuid(config["uid"], config["uid"], config["uid"])
        _prctl(_PR_SET_NO_NEW_PRIVS, 1)  # no setuid binaries, no file capabilities
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)  # after setresuid, which clears it
        # Signals as a fresh interpreter sets them up: everything default (whatever the caller
        # ignored), except Python's own SIGINT handler and ignored SIGPIPE and SIGXFSZ.
        for number in range(1, signal.NSIG):
            if number not in (signal.SIGKILL, signal.SIGSTOP):
                try:
                    signal.signal(number, signal.SIG_DFL)
                except (OSError, ValueError):
                    pass
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        os.environ["HOME"] = os.environ["TMPDIR"] = workdir  # os.environ also sets the C environment
        path = os.path.join(workdir, config["program"])
        # The same start as `python main.py`: the script's folder first on sys.path, not the
        # bootstrap's; the standard library stays; `site` adds the interpreter's site-packages,
        # read as the run's uid (-I already left the user's site-packages out, like -s).
        sys.path[:] = [workdir] + [entry for entry in sys.path if entry != config["bootstrap_dir"]]
        sys.argv[:] = [config["program"]]
        sys.dont_write_bytecode = True  # -B: no __pycache__ in the work directory
        for name in ("bootstrap", "fork_server"):  # the sandbox's own modules leave with their folder
            sys.modules.pop(name, None)
        if not os.access(config["interpreter"], os.X_OK) or not os.access(os.path.dirname(os.__file__),
                                                                           os.R_OK | os.X_OK):
            raise SetupError(f"{config['interpreter']} or its standard library is not usable by the run's uid")
        if not _site_done:  # the fork server ran it once, before forking (fork_server.py)
            import site

            site.main()
        _write_record(status_fd, {"event": "exec"})  # the program starts now
        os.close(status_fd)  # the program never holds the supervisor's pipe
        return path
    except BaseException as error:  # noqa: BLE001 - report anything, the parent raises it
        try:
            _write_record(status_fd, {"event": "setup-error", "detail": f"{type(error).__name__}: {error}"})
        finally:
            os._exit(SETUP_FAILED_EXIT)


def _run_as_main(path, compiled=None):
    """Run the program as the interpreter runs a script: module `__main__`, an uncaught
    exception printed (without this frame) and exit status 1, SystemExit and KeyboardInterrupt
    left to the interpreter, which exits with their status. `compiled`: (source bytes, code
    object) of a file compiled in advance (the fork server's test harness), used only when the
    file holds exactly that source and the code was compiled under this very path."""
    main_module = type(sys)("__main__")
    main_module.__dict__.update(__file__=path, __cached__=None, __builtins__=sys.modules["builtins"])
    sys.modules["__main__"] = main_module
    try:
        with open(path, "rb") as handle:
            source = handle.read()
        if compiled is not None and compiled[0] == source and compiled[1].co_filename == path:
            code = compiled[1]
        else:
            code = compile(source, path, "exec")
        del compiled
        exec(code, main_module.__dict__)
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as error:  # noqa: BLE001 - the program's own error, as Python reports it
        error.__traceback__ = error.__traceback__.tb_next  # the traceback printer reads this one
        sys.excepthook(type(error), error, error.__traceback__)
        _flush_standard_streams()
        raise SystemExit(1) from None
    # As after a script: what was printed goes out now, before the interpreter waits for the
    # program's threads at exit (a thread that never ends must not hold back the output).
    _flush_standard_streams()


def _flush_standard_streams():
    for stream in (sys.stderr, sys.stdout):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 - closed or replaced by the program: nothing to flush
            pass


def _children():
    """Pids whose parent is this process (we are their subreaper or PID 1)."""
    return children_of(os.getpid())


def children_of(pid):
    """Pids whose parent is `pid` (zombies included). Also used by the runner on the host:
    this module is standard library only, so importing it there costs nothing."""
    try:
        # The kernel's list, thread by thread (CONFIG_PROC_CHILDREN): a few reads instead of
        # one per process of the machine (about 15 ms of a loaded machine at every stopped run).
        found = []
        for thread in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{thread}/children") as handle:
                found.extend(int(child) for child in handle.read().split())
        return found
    except FileNotFoundError:
        if os.path.exists(f"/proc/{pid}"):
            return _children_by_scan(pid)
        return []
    except OSError:
        return _children_by_scan(pid)


def _children_by_scan(pid):
    parent = str(pid)
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                stat = handle.read()
        except OSError:
            continue
        # The command name may hold spaces or parentheses: fields start after the last ")".
        if stat[stat.rfind(")") + 2:].split()[1] == parent:
            found.append(int(entry))
    return found


def _kill_leftovers(config):
    """Kill everything the program left running. Never signals anything outside the run."""
    if os.getpid() == 1 and config["pid_ns"]:
        try:
            os.kill(-1, signal.SIGKILL)  # PID 1 of the run's own PID namespace: only the run's processes
        except ProcessLookupError:
            pass  # nothing left
        return
    if config["uid"] is not None:
        # kill(-1) as the run's private uid reaches exactly the run's processes.
        killer = os.fork()
        if killer == 0:
            try:
                os.setresgid(config["gid"], config["gid"], config["gid"])
                os.setresuid(config["uid"], config["uid"], config["uid"])
                os.kill(-1, signal.SIGKILL)
            except BaseException:  # noqa: BLE001 - nothing left to kill, or cannot: the parent cleans up
                pass
            finally:
                os._exit(0)
        os.waitpid(killer, 0)
    for _ in range(100):  # no private uid: as subreaper, every orphan becomes our child
        pids = _children()
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        _reap(block=False)


def _reap(block):
    while True:
        try:
            pid, _ = os.waitpid(-1, 0 if block else os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _supervise(config, program_pid, status_fd):
    """The subreaper: wait for the program, clean up, report."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):  # so the caller's pipes reach EOF when the program's tree is gone
        os.dup2(null, fd)
    try:
        with open("/proc/self/oom_score_adj", "w") as handle:
            handle.write("-1000")  # under memory pressure the cgroup kills the program, not us
    except OSError:
        pass
    record = {"event": "exit"}
    signal.signal(signal.SIGTERM, _on_terminate)
    try:
        try:
            while True:
                pid, status = os.waitpid(-1, 0)
                if pid == program_pid:
                    break
            if os.WIFSIGNALED(status):
                record["signal"] = os.WTERMSIG(status)
            else:
                record["returncode"] = os.WEXITSTATUS(status)
        finally:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
    except _Terminate:
        # The caller's deadline passed: end the program here, so that its processes are
        # reaped by us and not handed, as zombies, to the machine's init.
        record["terminated"] = True
        try:
            os.kill(program_pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    _kill_leftovers(config)
    _reap(block=True)
    _write_record(status_fd, record)
    os._exit(0)


class _Terminate(Exception):
    pass


def _on_terminate(signum, frame):
    raise _Terminate()


def main():
    config = marshal.loads(bytes.fromhex(sys.argv[1]))
    path = start_run(config)
    # Only the program's process gets here. Returns when the program ends normally: the
    # interpreter then exits as after a script.
    _run_as_main(path)


def start_run(config):
    """Steps 1-3 above, in the run's namespaces. Returns, in the program's process only, the
    program's path (the caller then runs it with `_run_as_main`, from its top-level frame);
    the supervisor never returns."""
    status_fd = config["status_fd"]
    try:
        _join_cgroups(config["cgroup_procs"])
        workdir = config["host_workdir"]
        if config["mount_ns"]:
            workdir = _private_filesystem(config)
        _prctl(_PR_SET_CHILD_SUBREAPER, 1)
    except BaseException as error:  # noqa: BLE001
        _write_record(status_fd, {"event": "setup-error", "detail": f"{type(error).__name__}: {error}"})
        os._exit(SETUP_FAILED_EXIT)
    pid = os.fork()
    if pid == 0:
        return _become_program(config, workdir, status_fd)
    _supervise(config, pid, status_fd)


if __name__ == "__main__":
    main()
