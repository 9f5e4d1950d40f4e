"""The fork server (repro/sandbox/fork_server.py): hostile programs forked from it cannot reach
the server or the runs after them, and every layer of a fresh start holds.

Each test first makes sure this process's server is up (a process's second run goes through
it), runs something hostile, and then checks that the server is the same process, alive, with
no run of its own left, and that the next run starts from a clean image.
"""

from __future__ import annotations

import json
import os
import posixpath
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from repro.code_tests import TestSuite
from repro.grading.code import check_program
from repro.sandbox import detect_protections, runner
from repro.sandbox.bootstrap import PRIVATE_WORKDIR, children_of
from repro.sandbox.cgroups import NAME_PREFIX
from repro.sandbox.detect import PROBE
from repro.sandbox.execution import execute, processes_of_uid
from repro.sandbox.fork_client import ForkServer

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the sandbox needs Linux")

MEMORY_MB = 512
PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def protections():
    found = detect_protections()
    reason = runner._why_not(found)
    if reason is not None:
        pytest.skip(f"no fork server on this machine: {reason}")
    return found


@pytest.fixture()
def server(protections):
    """This process's fork server, up and verified (started by a second run if need be)."""
    for _ in range(2):
        result = runner.run_program("print('up')", time_limit_s=10)
        assert result.stdout == "up\n"
    assert result.protections.launch == "fork-server", result.protections.notes
    found = runner._state["server"]
    assert found.alive()
    return found


def run(source: str, stdin: str = "", time_limit_s: float = 5.0):
    result = runner.run_program(source, stdin, time_limit_s=time_limit_s, memory_mb=MEMORY_MB)
    assert result.protections.launch == "fork-server"
    return result


def assert_server_unharmed(server: ForkServer, result) -> None:
    os.kill(server.server_pid, 0)  # still there
    assert runner._state["server"] is server and server.alive()
    # Its one child between runs is the spare parked in the next run's cgroups (fork_server.py),
    # once it has joined them (which can take a kernel grace period).
    deadline = time.monotonic() + 5
    while True:
        spare = set(server.prepared.pids()) if server.prepared is not None else set()
        if set(children_of(server.server_pid)) <= spare and len(spare) <= 1 or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    assert set(children_of(server.server_pid)) <= spare and len(spare) <= 1, "the server kept a run's process"
    if result.uid is not None:
        assert processes_of_uid(result.uid) == [], "a process of the run's uid survived"
    after = run("print(6)")
    assert (after.status, after.stdout) == ("ok", "6\n")


def test_second_run_is_forked_and_has_every_layer(server, protections):
    """The probe, through the server: the same layers as a fresh start."""
    result = run(PROBE)
    report = json.loads(result.stdout)
    notes: list[str] = []
    verified = runner.detect.verify(protections, report, notes)
    assert verified is not None, notes
    assert replace(verified, notes=()) == replace(protections, notes=())
    assert report["open_descriptors"] == [0, 1, 2]
    assert report["root_readonly"] == protections.readonly_root
    assert report["capabilities"] == 0
    assert "launch=fork-server" in result.protections.summary()


STATE = """
import builtins, json, os, sys
print(json.dumps({"path": sys.path, "argv": sys.argv, "cwd": os.getcwd(), "environ": dict(os.environ),
                  "flags": list(sys.flags), "builtins": sorted(vars(builtins)), "uid": os.getuid() > 0,
                  "main": sorted(k for k in vars(sys.modules["__main__"]) if k != "__builtins__"),
                  "recursion": sys.getrecursionlimit(), "umask": os.umask(0o22)}))
"""


def test_program_starts_as_in_a_fresh_interpreter(server, monkeypatch):
    forked = json.loads(run(STATE).stdout)
    monkeypatch.setitem(runner._state, "refused", "compared with a fresh start")
    fresh_result = runner.run_program(STATE, time_limit_s=10)
    assert fresh_result.protections.launch == "interpreter"
    assert forked == json.loads(fresh_result.stdout)


def test_program_cannot_see_or_signal_the_server(server):
    source = f"""
import os, signal
seen = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
print("pids", seen)
for target in ({server.server_pid}, os.getppid(), 1, -1):
    try:
        os.kill(target, signal.SIGKILL)
        print("killed", target)
    except OSError as error:
        print("refused", target, type(error).__name__)
"""
    result = run(source)
    lines = result.stdout.splitlines()
    assert lines[0] == "pids [1, 2]", "the run sees processes outside its own namespace"
    assert "killed 1" not in lines and f"killed {server.server_pid}" not in lines
    assert_server_unharmed(server, result)


def test_program_cannot_read_or_trace_its_supervisor(server):
    """The supervisor (the namespace's init, root, a copy of the server's image) is out of
    reach: no ptrace, no reading its memory."""
    source = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
print("attach", libc.ptrace(16, 1, None, None), ctypes.get_errno() != 0)   # PTRACE_ATTACH
try:
    open("/proc/1/mem", "rb").read(1)
    print("mem readable")
except OSError as error:
    print("mem", type(error).__name__)
try:
    print("environ", open("/proc/1/environ", "rb").read()[:20])
except OSError as error:
    print("environ", type(error).__name__)
"""
    result = run(source)
    assert result.stdout.splitlines() == ["attach -1 True", "mem PermissionError", "environ PermissionError"], \
        result.stdout + result.stderr
    assert_server_unharmed(server, result)


def test_program_holds_no_descriptor_of_the_server(server):
    source = """
import os
import posixpath
fds = sorted(int(fd) for fd in os.listdir("/proc/self/fd"))
print([fd for fd in fds if fd > 2 and os.path.exists(f"/proc/self/fd/{fd}") and
       not os.readlink(f"/proc/self/fd/{fd}").startswith("/proc")])
import socket
for fd in range(3, 64):
    try:
        s = socket.socket(fileno=fd)
        s.send(b"x")
        print("sent on", fd)
    except OSError:
        pass
"""
    result = run(source)
    assert result.stdout.splitlines() == ["[]"], result.stdout
    assert_server_unharmed(server, result)


def test_process_left_behind_dies_with_the_run(server):
    source = """
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(60)
    os._exit(0)
print("left")
"""
    result = run(source)
    assert result.stdout == "left\n"
    assert_server_unharmed(server, result)


def test_files_and_memory_never_reach_the_next_run(server):
    # The run's private work folder and the folder above it, both inside its mount namespace.
    work, above = PRIVATE_WORKDIR, posixpath.dirname(PRIVATE_WORKDIR)
    first = f"""
import json, random, sys, os
open("{above}/left-by-first", "w").write("x")
open("{work}/left-by-first", "w").write("x")
json.dumps = None          # a preloaded module, changed in this run's copy
sys.modules["planted"] = object()
sys.setrecursionlimit(123)
print(random.random())
"""
    second = f"""
import json, os, random, sys
print(os.path.exists("{above}/left-by-first"), os.path.exists("{work}/left-by-first"))
print(json.dumps is not None, "planted" in sys.modules, sys.getrecursionlimit())
print(random.random())
"""
    one = run(first)
    two = run(second)
    assert one.status == "ok" and two.status == "ok", (one.stderr, two.stderr)
    lines = two.stdout.splitlines()
    assert lines[0] == "False False"
    assert lines[1] == f"True False {sys.getrecursionlimit()}"
    # Each forked run reseeds `random` (as a fresh interpreter seeds it from the system).
    assert one.stdout.strip() != lines[2]
    assert_server_unharmed(server, two)


def test_memory_hog_and_fork_bomb_are_bounded(server):
    hog = run("x = bytearray(2 * 1024 * 1024 * 1024)\nprint('allocated')")
    assert hog.status in ("error", "killed") and "allocated" not in hog.stdout
    assert_server_unharmed(server, hog)
    bomb = run("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n",
               time_limit_s=2)
    assert bomb.status in ("timeout", "killed", "error")
    assert_server_unharmed(server, bomb)


def test_checks_through_the_server_keep_their_verdicts(server):
    suite = TestSuite("stdin", ("3\n", "5\n"), ("6\n", "10\n"), (1.0, 1.0), overall_timeout_s=1.0)
    verdicts = [check_program(source, suite) for source in (
        "print(int(input()) * 2)", "print(int(input()) * 3)", "import time\ntime.sleep(5)", "raise ValueError('x')")]
    assert [v.status for v in verdicts] == ["pass", "fail", "timeout", "error"]
    assert all(v.execution.protections.launch == "fork-server" for v in verdicts)
    assert_server_unharmed(server, verdicts[-1].execution)


def test_server_death_ends_its_run(protections):
    """A server killed mid-run takes the run with it (parent-death signals, then the namespace)."""
    server = ForkServer.start(protections.interpreter)
    try:
        with server.lock:
            started = time.monotonic()
            killer = subprocess.Popen([sys.executable, "-c", f"import os, signal, time; time.sleep(1); "
                                                             f"os.kill({server.server_pid}, signal.SIGKILL)"])
            result = execute(protections, "import time\ntime.sleep(30)", time_limit_s=20, memory_mb=MEMORY_MB,
                             fork_server=server)
            killer.wait()
        assert time.monotonic() - started < 10, "the run outlived its server"
        assert result.status == "killed"
        assert processes_of_uid(result.uid) == []
    finally:
        server.close()


def test_server_leaves_when_its_caller_hangs_up(protections):
    server = ForkServer.start(protections.interpreter)
    pid = server.server_pid
    server.close()
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        if open(f"/proc/{pid}/stat").read().split(")")[-1].split()[0] == "Z":
            return  # gone, waiting for init to reap it
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    pytest.fail("the fork server outlived its caller's socket")


def test_where_the_server_is_not_used_the_report_says_why(protections, monkeypatch):
    assert runner._why_not(replace(protections, namespaces=("net",))) == "needs network, PID and mount namespaces"
    assert runner._why_not(replace(protections, private_uid=False)) == "needs the private uid"
    monkeypatch.setenv("REPRO_SANDBOX_FORK_SERVER", "0")
    assert runner._why_not(protections) == "REPRO_SANDBOX_FORK_SERVER=0"
    saved = dict(runner._state)
    runner._state.clear()
    try:
        results = [runner.run_program("print(1)", time_limit_s=10) for _ in range(3)]
        assert [r.protections.launch for r in results] == ["interpreter"] * 3
        assert any("fork server: not used (REPRO_SANDBOX_FORK_SERVER=0)" in note
                   for note in results[-1].protections.notes)
    finally:
        runner._state.clear()
        runner._state.update(saved)


CGROUPS = "print(open('/proc/self/cgroup').read())"


def _run_cgroups(text: str) -> set[str]:
    """The run's cgroup paths, from the /proc/self/cgroup lines a program printed."""
    return {line.split(":", 2)[2] for line in text.splitlines() if NAME_PREFIX in line}


def test_a_run_handed_to_the_spare_is_in_the_cgroups_prepared_for_it(server):
    run("print(1)")  # the run after this one is handed to a spare
    prepared = server.prepared
    assert prepared is not None and prepared.dirs
    hierarchies = len(prepared.dirs)  # pids and memory on cgroup v1
    names = {path.name for path in prepared.dirs}
    result = run(CGROUPS)
    found = _run_cgroups(result.stdout)
    assert len(found) == hierarchies and {path.rsplit("/", 1)[-1] for path in found} == names, (result.stdout, names)
    with open(f"/proc/{server.server_pid}/cgroup") as handle:
        assert NAME_PREFIX not in handle.read(), "the server joined a run's cgroup"
    assert_server_unharmed(server, result)


def test_a_run_with_other_limits_gets_cgroups_of_its_own(server):
    run("print(1)")
    spare_cgroup = server.prepared
    other = runner.run_program(CGROUPS, time_limit_s=5, memory_mb=MEMORY_MB * 2)
    assert other.protections.launch == "fork-server"
    names = {path.rsplit("/", 1)[-1] for path in _run_cgroups(other.stdout)}
    assert names and not names & {path.name for path in spare_cgroup.dirs}
    assert not spare_cgroup.dirs, "the unused prepared cgroups were not removed"
    assert_server_unharmed(server, other)


def test_closing_the_server_removes_the_prepared_cgroups(protections):
    server = ForkServer.start(protections.interpreter)
    with server.lock:
        for _ in range(2):
            result = execute(protections, "print(1)", time_limit_s=10, memory_mb=MEMORY_MB, fork_server=server)
            assert result.stdout == "1\n"
    dirs = list(server.prepared.dirs)
    assert dirs and all(path.is_dir() for path in dirs)
    server.close()
    assert not any(path.exists() for path in dirs)


def test_a_caller_killed_leaves_no_prepared_cgroup(protections, tmp_path):
    """The server removes the spare's cgroups when its caller goes away, however it went."""
    script = tmp_path / "caller.py"
    script.write_text(f"""import json, sys, time
sys.path.insert(0, {str(PROJECT)!r})
from repro.sandbox import runner
for _ in range(3):
    runner.run_program("print(1)", time_limit_s=10)
server = runner._state["server"]
print(json.dumps([str(path) for path in server.prepared.dirs]), flush=True)
time.sleep(60)
""")
    caller = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    dirs = json.loads(caller.stdout.readline())
    assert dirs and all(os.path.isdir(path) for path in dirs)
    caller.kill()
    caller.wait()
    deadline = time.monotonic() + 10
    while any(os.path.exists(path) for path in dirs) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(os.path.exists(path) for path in dirs)
