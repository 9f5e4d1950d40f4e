"""Hostile programs: each one contained, each one not passing, the host and the harness unharmed.

Every program is a "solution" to a trivial problem (double the number on stdin), judged by
`check_program` exactly as model answers are -- including LiveCodeBench's function guard, which
the hostile programs undo first (`UNGUARD`) so that the sandbox alone stands in their way. A
second group runs bare programs through `run_program` to look at what they could see or reach.
After every run: no process of the run's uid is left, no child or zombie of this test process,
no cgroup or work directory of this process.

Containment is tested incrementally: bounded versions (150 sleeping children, one big
allocation) run first and must show the limits working; the real fork bomb and `kill -1` are
skipped, with the reason, where the layers that bound them are missing.

Run with `-s` to see the protections report.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from repro.code_tests import TestSuite
from repro.grading.code import check_program
from repro.sandbox import detect_protections, limits, run_program, runner
from repro.sandbox.cgroups import NAME_PREFIX
from repro.sandbox.execution import WORKDIR_PREFIX, ExecutionResult, processes_of_uid

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the sandbox needs Linux")

# The problem every hostile program pretends to solve; 1 s per test, 1 s for the whole check
# (+ the sandbox's start-up slack), so that hangs cost little.
SUITE = TestSuite("stdin", ("3\n", "5\n"), ("6\n", "10\n"), (1.0, 1.0), overall_timeout_s=1.0)
MEMORY_MB = 512  # small budgets: other people use this machine too
RAW_LIMIT_S = 2.0

# LCB's reliability_guard sets os.fork, os.kill, subprocess.Popen... to None; a hostile program
# takes them back from the `posix` module and by reloading modules.
UNGUARD = """import posix, os, sys, importlib, subprocess, shutil, signal, time, threading, ctypes
for _name in dir(posix):
    if getattr(os, _name, 1) is None:
        setattr(os, _name, getattr(posix, _name))
sys.modules.pop("resource", None)
importlib.reload(subprocess)
importlib.reload(shutil)
"""


@pytest.fixture(scope="module")
def protections():
    report = detect_protections()
    print(f"\nsandbox protections: {report.summary()}")
    for note in report.notes:
        print(f"  note: {note}")
    return report


@pytest.fixture(scope="module")
def bomb_safe(protections):
    """The process-count bound, verified with a bounded program before any real fork bomb."""
    if not protections.process_limit:
        pytest.skip("no process-count limit here (neither a private uid nor a pids cgroup): fork bombs not run")
    source = """
import os, time
count = 0
for _ in range(150):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(30)
        os._exit(0)
    count += 1
print(count)
"""
    _children_before.update(_children_of(os.getpid()))
    result = run_program(source, time_limit_s=10, memory_mb=MEMORY_MB)
    assert_host_clean(result)
    assert result.status == "ok", result.stderr
    assert int(result.stdout) < limits.MAX_PROCESSES, "the process limit did not stop 150 forks"
    return True


@pytest.fixture(scope="module")
def signal_safe(protections):
    if not protections.signal_isolated:
        pytest.skip("no private uid and no PID namespace: `kill -1` would reach this test process; not run")
    return True


# ------------------------------------------------------------------ host checks


def _children_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rfind(")") + 2:].split()[1]) == pid:
                found.append(int(entry))
    return found


def _own_leftovers() -> list[str]:
    owner = f"{os.getpid()}-"
    support = detect_protections().cgroup_support
    parents = {support.pids_parent, support.memory_parent} - {None} if support else set()
    # The cgroups a fork server prepared for the next run are not a leftover: its spare waits
    # there (repro/sandbox/fork_server.py, `_Spare`).
    server = runner._state.get("server")
    prepared = {str(path) for path in server.prepared.dirs} if server is not None and server.prepared else set()
    found = [str(path) for parent in parents for path in parent.glob(f"{NAME_PREFIX}{owner}*")
             if str(path) not in prepared]
    found += [str(path) for path in Path(tempfile.gettempdir()).glob(f"{WORKDIR_PREFIX}{owner}*")]
    return found


_children_before: set[int] = set()


@pytest.fixture(autouse=True)
def _remember_children():
    """Children this test process already had (other test modules may leave some running)."""
    _children_before.clear()
    _children_before.update(_children_of(os.getpid()))


def assert_host_clean(result: ExecutionResult) -> None:
    new_children = set(_children_of(os.getpid())) - _children_before
    assert not new_children, "a child (or zombie) of the test process was left behind"
    if result.uid is not None:
        assert processes_of_uid(result.uid) == [], f"processes of uid {result.uid} survived the run"
    assert _own_leftovers() == [], "cgroup or work directory left behind"


# ------------------------------------------------------------------ the corpus


@dataclass(frozen=True)
class Hostile:
    name: str
    source: str
    needs: str = ""  # "bomb" | "signal": a layer that must bound it, else the case is skipped
    status: str | None = None  # the verdict expected (always "not pass")


def _case(name, body, needs="", status=None, unguard=True):
    return Hostile(name, (UNGUARD if unguard else "") + body, needs, status)


CORPUS = [
    _case("fork_bomb", "while True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n",
          needs="bomb", status="timeout"),
    _case("fork_loop_zombies", "for _ in range(100000):\n    if os.fork() == 0:\n        os._exit(0)\n",
          needs="bomb"),
    _case("shell_fork_bomb", "subprocess.Popen(['/bin/sh', '-c', 'b() { b | b & }; b'])\ntime.sleep(30)\n",
          needs="bomb", status="timeout"),
    _case("memory_bomb", "chunks = []\nwhile True:\n    chunks.append(bytearray(50 * 1024 * 1024))\n"),
    _case("one_huge_allocation", "x = bytearray(64 * 1024 ** 3)\n", status="error"),
    _case("infinite_loop", "while True:\n    pass\n", status="timeout"),
    _case("ignore_every_signal", "for s in (signal.SIGALRM, signal.SIGTERM, signal.SIGINT, signal.SIGXCPU):\n"
          "    signal.signal(s, signal.SIG_IGN)\nwhile True:\n    pass\n", status="timeout"),
    _case("disarm_the_timer", "signal.setitimer(signal.ITIMER_REAL, 0)\nwhile True:\n    pass\n", status="timeout"),
    _case("swallow_the_timeout", "while True:\n    try:\n        while True:\n            pass\n"
          "    except BaseException:\n        pass\n", status="timeout"),
    _case("sleep_past_timeout", "time.sleep(100)\n", status="timeout"),
    _case("sigterm_ignored_then_sleep", "signal.signal(signal.SIGTERM, signal.SIG_IGN)\ntime.sleep(100)\n",
          status="timeout"),
    _case("busy_thread_main_returns", "def spin():\n    while True:\n        pass\n"
          "threading.Thread(target=spin).start()\nprint(0)\n", status="fail"),
    _case("many_threads", "for _ in range(100000):\n    threading.Thread(target=time.sleep, args=(60,)).start()\n",
          needs="bomb", status="error"),
    _case("deep_recursion_unbounded", "sys.setrecursionlimit(10 ** 9)\ndef f(n):\n    return f(n + 1) + 1\n"
          "f(0)\n"),
    _case("raise_the_limits", "resource = importlib.import_module('resource')\n"
          "for r in (resource.RLIMIT_AS, resource.RLIMIT_NPROC, resource.RLIMIT_CPU, resource.RLIMIT_NOFILE):\n"
          "    resource.setrlimit(r, (resource.RLIM_INFINITY,) * 2)\nprint(6)\n", status="error"),
    _case("fill_the_disk", "with open('big', 'wb') as f:\n    while True:\n        f.write(b'0' * 1024 * 1024)\n",
          status="error"),
    _case("fill_private_tmp", "for i in range(1000):\n    with open(f'/tmp/big{i}', 'wb') as f:\n"
          "        f.write(b'0' * 32 * 1024 * 1024)\n", status="error"),
    _case("too_many_open_files", "handles = [open('/dev/null') for _ in range(100000)]\n", status="error"),
    _case("read_etc_shadow", "print(open('/etc/shadow').read())\n", status="error"),
    _case("shell_subprocess", "print(subprocess.run('id; cat /etc/shadow; echo pwned > /tmp/pwned', shell=True,"
          " capture_output=True, text=True).stdout)\n", status="fail"),
    _case("kill_the_parent", "os.kill(os.getppid(), signal.SIGKILL)\nos.kill(1, signal.SIGKILL)\nprint(0)\n"),
    _case("kill_own_process_group", "os.killpg(os.getpgrp(), signal.SIGKILL)\n", status="error"),
    _case("kill_minus_one", "try:\n    os.kill(-1, signal.SIGKILL)\nexcept OSError:\n    pass\nprint(0)\n",
          needs="signal"),
    _case("shell_kill_minus_one", "subprocess.run('kill -9 -1', shell=True)\nprint(0)\n", needs="signal"),
    _case("kill_everything_visible", "for p in os.listdir('/proc'):\n    if p.isdigit() and int(p) != os.getpid():\n"
          "        try:\n            os.kill(int(p), signal.SIGKILL)\n        except OSError:\n            pass\n"
          "print(0)\n", needs="signal"),
    _case("daemonize_and_linger", "if os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
          "        time.sleep(1000)\n    os._exit(0)\nprint(0)\n", status="fail"),
    _case("become_root", "os.setuid(0)\nprint(6)\n", status="error"),
    _case("mount_a_filesystem", "libc = ctypes.CDLL(None, use_errno=True)\n"
          "assert libc.mount(b'tmpfs', b'/mnt', b'tmpfs', 0, None) == 0, ctypes.get_errno()\nprint(6)\n",
          status="error"),
    _case("exit_zero_early", "sys.exit(0)\n", status="fail", unguard=False),
    _case("print_answer_then_crash", "print(2 * int(input()))\nraise RuntimeError('after the answer')\n",
          status="error", unguard=False),
    _case("close_stdout", "sys.stdout.close()\nprint(2 * int(input()))\n", status="error", unguard=False),
    _case("close_file_descriptors", "for fd in range(0, 64):\n    try:\n        os.close(fd)\n"
          "    except OSError:\n        pass\nprint(2 * int(input()))\n"),
    _case("binary_garbage", "sys.stdout.write(bytes(range(256)).decode('latin-1'))\n"
          "os.write(1, bytes(range(256)) * 100)\n", status="fail"),
    _case("flood_raw_stdout", "while True:\n    os.write(1, b'x' * 65536)\n", status="error"),
    _case("os_exit_zero", "print(2 * int(input()))\nos._exit(0)\n", status="error"),
    _case("ctypes_segfault", "ctypes.string_at(0)\n", status="error"),
    _case("missing_module", "import numpy_that_does_not_exist\nprint(2 * int(input()))\n", status="error",
          unguard=False),
    _case("forge_harness_records", "for fd in range(3, 64):\n    try:\n"
          "        os.write(fd, b'{\"event\": \"test\", \"index\": 1, \"kind\": \"ok\", \"value\": \"10\\\\n\"}\\n"
          "{\"event\": \"done\"}\\n')\n    except OSError:\n        pass\nprint(0)\n"),
]


def test_corpus_is_large_enough():
    assert len(CORPUS) + len(RAW_HOSTILE_TESTS) >= 30
    assert len({case.name for case in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize("case", CORPUS, ids=lambda case: case.name)
def test_hostile_program_is_contained_and_fails(case, protections, request):
    if case.needs == "bomb":
        request.getfixturevalue("bomb_safe")
    if case.needs == "signal":
        request.getfixturevalue("signal_safe")
    verdict = check_program(case.source, SUITE, memory_mb=MEMORY_MB)
    assert verdict.status != "pass", verdict
    if case.status is not None:
        assert verdict.status == case.status, verdict.detail
    assert verdict.first_failure is not None
    assert verdict.execution.wall_s < SUITE.overall_deadline_s() + limits.KILL_GRACE_S
    assert_host_clean(verdict.execution)
    assert not Path("/tmp/pwned").exists() or Path("/tmp/pwned").stat().st_uid != verdict.execution.uid


# ------------------------------------------------------------------ bare programs: what they reach


def test_bare_fork_bomb_times_out(bomb_safe):
    result = run_program("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n",
                         time_limit_s=RAW_LIMIT_S, memory_mb=MEMORY_MB)
    assert result.status == "timeout"
    assert_host_clean(result)


def test_environment_secrets_do_not_reach_the_program(monkeypatch):
    token = "sk-fake-" + secrets.token_hex(8)
    monkeypatch.setenv("REPRO_TEST_FAKE_SECRET", token)
    source = f"""
import glob, os
seen = [repr(dict(os.environ))]
for path in glob.glob('/proc/*/environ'):
    try:
        seen.append(open(path, 'rb').read().decode('latin-1'))
    except OSError:
        pass
print('\\n'.join(seen))
raise SystemExit(0 if {token!r} in ''.join(seen) else 1)
"""
    result = run_program(source, time_limit_s=RAW_LIMIT_S, memory_mb=MEMORY_MB)
    assert token not in result.stdout + result.stderr
    assert result.status == "error"
    assert "REPRO_TEST_FAKE_SECRET" not in result.stdout
    assert_host_clean(result)


def test_network_is_unreachable(protections):
    if not protections.network_isolated:
        pytest.skip(f"no network namespace on this machine ({'; '.join(protections.notes)}): a program can "
                    f"reach 127.0.0.1 here; active layers: {protections.summary()}")
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(0.2)
        port = listener.getsockname()[1]
        source = f"""
import socket
s = socket.socket()
s.settimeout(1)
s.connect(('127.0.0.1', {port}))
s.sendall(b'escaped')
"""
        result = run_program(source, time_limit_s=RAW_LIMIT_S, memory_mb=MEMORY_MB)
        with pytest.raises(socket.timeout):
            listener.accept()
    assert result.status == "error"
    assert "unreachable" in result.stderr or "refused" in result.stderr
    dns = run_program("import socket\nsocket.getaddrinfo('pypi.org', 443)\n", time_limit_s=RAW_LIMIT_S,
                      memory_mb=MEMORY_MB)
    assert dns.status == "error"
    assert_host_clean(result)


def test_program_cannot_see_or_signal_the_harness(protections, signal_safe):
    me = os.getpid()
    source = f"""
import os, signal
visible = sorted(int(p) for p in os.listdir('/proc') if p.isdigit())
print('visible', visible)
outcomes = []
for target in ({me}, os.getppid(), 1):
    try:
        os.kill(target, signal.SIGKILL)
        outcomes.append(f'killed {{target}}')
    except OSError as error:
        outcomes.append(f'{{target}}: {{error.strerror}}')
try:
    os.killpg({os.getpgrp()}, signal.SIGKILL)
    outcomes.append('killed the test process group')
except OSError as error:
    outcomes.append(f'killpg: {{error.strerror}}')
print(outcomes)
raise SystemExit(1)
"""
    result = run_program(source, time_limit_s=RAW_LIMIT_S, memory_mb=MEMORY_MB)
    assert result.status == "error", result
    assert f"killed {me}" not in result.stdout and "killed the test process group" not in result.stdout
    if protections.pid_isolated:
        visible = result.stdout.split("visible ")[1].split("]")[0]
        assert str(me) not in visible.replace("[", " ").replace(",", " ").split()
    assert_host_clean(result)


def test_writes_outside_the_work_directory_do_not_appear():
    token = secrets.token_hex(6)
    targets = [f"/tmp/repro-hostile-{token}", f"/var/tmp/repro-hostile-{token}", f"/dev/shm/repro-hostile-{token}",
               f"/root/repro-hostile-{token}", f"/repro-hostile-{token}", f"/etc/repro-hostile-{token}",
               f"../repro-hostile-{token}"]
    source = f"""
wrote = []
for path in {targets!r}:
    try:
        with open(path, 'w') as handle:
            handle.write('escaped')
        wrote.append(path)
    except OSError:
        pass
print(wrote)
raise SystemExit(1)
"""
    result = run_program(source, time_limit_s=RAW_LIMIT_S, memory_mb=MEMORY_MB)
    assert result.status == "error"
    for target in targets:
        assert not os.path.exists(target), f"{target} appeared on the host"
    assert not list(Path("/tmp").glob(f"*repro-hostile-{token}*"))
    assert_host_clean(result)


def test_etc_shadow_is_not_readable():
    result = run_program("print(open('/etc/shadow').read())\n", time_limit_s=RAW_LIMIT_S, memory_mb=MEMORY_MB)
    assert result.status == "error" and "Permission denied" in result.stderr
    assert_host_clean(result)


def test_output_flood_is_cut_at_the_cap():
    result = run_program("import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n", time_limit_s=5,
                         memory_mb=MEMORY_MB, output_limit_bytes=100_000)
    assert result.status == "output-limit"
    assert len(result.stdout) + len(result.stderr) <= 100_000
    assert_host_clean(result)


def test_busy_thread_after_main_returns_is_a_timeout():
    # A non-daemon thread that spins without allocating: the interpreter waits for it forever.
    source = ("import threading\ndef spin():\n    while True:\n        pass\n"
              "threading.Thread(target=spin).start()\nprint('main done')\n")
    result = run_program(source, time_limit_s=RAW_LIMIT_S, memory_mb=MEMORY_MB)
    assert result.status == "timeout" and "main done" in result.stdout
    assert_host_clean(result)


def test_segfault_is_reported_as_killed():
    result = run_program("import ctypes\nctypes.string_at(0)\n", time_limit_s=RAW_LIMIT_S, memory_mb=MEMORY_MB)
    assert result.status == "killed" and result.returncode == -signal.SIGSEGV
    assert_host_clean(result)


def test_memory_of_the_whole_tree_is_bounded(protections):
    if not protections.memory_limit_total:
        pytest.skip("no memory cgroup here: only the per-process address-space limit applies")
    # Six children of 300 MB each: every one is within its own RLIMIT_AS, together far
    # beyond the run's memory cgroup (512 MB + extras). Safe even if the layer failed.
    source = """
import os
children = []
for _ in range(6):
    pid = os.fork()
    if pid == 0:
        block = bytearray(300 * 1024 * 1024)
        for i in range(0, len(block), 4096):
            block[i] = 1
        os._exit(0)
    children.append(pid)
statuses = [os.waitpid(pid, 0)[1] for pid in children]
print(statuses)
raise SystemExit(0 if all(s == 0 for s in statuses) else 1)
"""
    result = run_program(source, time_limit_s=10, memory_mb=MEMORY_MB)
    assert result.status != "ok", result
    assert_host_clean(result)


RAW_HOSTILE_TESTS = [test_bare_fork_bomb_times_out, test_environment_secrets_do_not_reach_the_program,
                     test_network_is_unreachable, test_program_cannot_see_or_signal_the_harness,
                     test_writes_outside_the_work_directory_do_not_appear, test_etc_shadow_is_not_readable,
                     test_output_flood_is_cut_at_the_cap, test_busy_thread_after_main_returns_is_a_timeout,
                     test_segfault_is_reported_as_killed, test_memory_of_the_whole_tree_is_bounded]


# ------------------------------------------------------------------ ordinary programs pass


ORDINARY = {
    "allocate_300_mb": "block = bytearray(300 * 1024 * 1024)\nblock[-1] = 1\nprint(2 * int(input()))\n",
    "recurse_10000_deep": "import sys\nsys.setrecursionlimit(20000)\ndef depth(k):\n"
                          "    return 0 if k == 0 else 1 + depth(k - 1)\nassert depth(10000) == 10000\n"
                          "print(2 * int(input()))\n",
    "start_a_thread": "import threading\nresult = []\nt = threading.Thread(target=lambda: result.append(1))\n"
                      "t.start()\nt.join()\nprint(2 * int(input()) * result[0])\n",
    "read_stdin_fully": "import sys\nprint(2 * int(sys.stdin.read().split()[0]))\n",
    "write_in_the_work_dir": "with open('scratch.txt', 'w') as f:\n    f.write('x' * 1000)\n"
                             "print(2 * int(input()))\n",
    "big_thread_stack": "import threading, sys\nthreading.stack_size(64 * 1024 * 1024)\nsys.setrecursionlimit(10**6)\n"
                        "out = []\ndef deep(k):\n    return 0 if k == 0 else 1 + deep(k - 1)\n"
                        "t = threading.Thread(target=lambda: out.append(deep(50000)))\nt.start()\nt.join()\n"
                        "print(2 * int(input()) + out[0] - 50000)\n",
}


@pytest.mark.parametrize("name", ORDINARY)
def test_ordinary_program_passes(name):
    verdict = check_program(ORDINARY[name], SUITE, memory_mb=MEMORY_MB)
    assert verdict.status == "pass", verdict.detail
    assert_host_clean(verdict.execution)


def test_ordinary_bare_program_reads_all_stdin_and_allocates():
    source = "import sys\ndata = sys.stdin.read()\nblock = bytearray(300 * 1024 * 1024)\nprint(len(data))\n"
    result = run_program(source, "x" * 3_000_000, time_limit_s=10, memory_mb=MEMORY_MB)
    assert (result.status, result.stdout.strip()) == ("ok", "3000000")
    assert_host_clean(result)


# The program runs in the interpreter that set the run up (bootstrap.py), not in a second one:
# it must start as `python -E -s -B -X utf8 main.py` would, holding nothing of the setup.
STARTS_AS_A_SCRIPT = r"""
import json, os, signal, sys
try:
    import limits  # a module of the sandbox's own folder: must not be importable
    sandbox_module = True
except ImportError:
    sandbox_module = False
with open("/proc/self/status") as handle:
    capabilities = [line.split()[1] for line in handle if line.startswith("CapEff:")]
descriptors = []
for fd in sorted(int(name) for name in os.listdir("/proc/self/fd")):
    try:
        os.fstat(fd)  # the listing's own descriptor is closed by now
        descriptors.append(fd)
    except OSError:
        pass
print(json.dumps({
    "name": __name__, "file": os.path.basename(__file__), "argv": sys.argv,
    "path0": sys.path[0] == os.getcwd(), "sandbox_module": sandbox_module,
    "bootstrap_loaded": "bootstrap" in sys.modules, "utf8": sys.flags.utf8_mode,
    "encoding": sys.stdout.encoding, "dont_write_bytecode": sys.dont_write_bytecode,
    "descriptors": descriptors,
    "capabilities": capabilities, "uid": os.getuid(),
    "sigint": signal.getsignal(signal.SIGINT) is signal.default_int_handler,
    "sigpipe": signal.getsignal(signal.SIGPIPE) == signal.SIG_IGN,
    "sigterm": signal.getsignal(signal.SIGTERM) == signal.SIG_DFL,
    "home": os.environ["HOME"] == os.getcwd(), "environment": sorted(os.environ),
}))
"""


def test_program_starts_as_a_script_would(protections):
    result = run_program(STARTS_AS_A_SCRIPT, time_limit_s=10, memory_mb=MEMORY_MB)
    assert result.status == "ok", result.stderr
    seen = json.loads(result.stdout)
    assert (seen["name"], seen["file"], seen["argv"]) == ("__main__", "main.py", ["main.py"])
    assert seen["path0"] and not seen["sandbox_module"] and not seen["bootstrap_loaded"]
    assert seen["utf8"] == 1 and seen["encoding"] == "utf-8" and seen["dont_write_bytecode"]
    assert seen["descriptors"] == [0, 1, 2], "the program holds a descriptor of the sandbox"
    assert seen["sigint"] and seen["sigpipe"] and seen["sigterm"]
    assert seen["home"]
    assert seen["environment"] == sorted(["PATH", "LANG", "LC_ALL", "MALLOC_ARENA_MAX", "HOME", "TMPDIR"])
    if protections.private_uid:
        assert seen["uid"] == result.uid and seen["capabilities"] == ["0000000000000000"]
    assert_host_clean(result)


@pytest.mark.parametrize("source,returncode,stderr_end", [
    ("def f(:\n    pass\n", 1, "SyntaxError: invalid syntax"),
    ("print('before')\nraise ValueError('bad')\n", 1, "ValueError: bad"),
    ("import sys\nprint('before')\nsys.exit('bye')\n", 1, "bye"),
    ("import sys\nprint('before')\nsys.exit(7)\n", 7, ""),
])
def test_program_errors_end_as_a_script_would(source, returncode, stderr_end):
    result = run_program(source, time_limit_s=10, memory_mb=MEMORY_MB)
    assert result.returncode == returncode and result.stderr.strip().endswith(stderr_end), result.stderr
    assert "bootstrap" not in result.stderr  # the traceback shows the program's frames only
    if "print" in source:
        assert result.stdout == "before\n"
    assert_host_clean(result)


# ------------------------------------------------------------------ the protections report


def test_protections_report_is_consistent(protections):
    assert detect_protections() is protections  # probed once, cached
    assert set(protections.namespaces) <= {"user", "net", "pid", "mount"}
    assert {"AS", "CPU", "FSIZE", "NOFILE"} <= set(protections.rlimits)
    assert ("NPROC" in protections.rlimits) == protections.private_uid
    assert protections.signal_isolated == (protections.pid_isolated or protections.private_uid)
    assert os.access(protections.interpreter, os.X_OK)
    report = protections.as_dict()
    assert report["interpreter"] == protections.interpreter
    print(f"\nprotections: {report}")
    result = run_program("print('hi')", time_limit_s=5)
    assert result.protections == protections


def _unshare_works() -> str | None:
    """None if `unshare` can create namespaces here, else why not."""
    if shutil.which("unshare") is None:
        return "`unshare` is not installed"
    extra = [] if os.geteuid() == 0 else ["--user", "--map-root-user"]
    check = subprocess.run(["unshare", *extra, "--net", "--pid", "--fork", "--mount-proc", "true"],
                           capture_output=True, text=True, check=False)
    return None if check.returncode == 0 else f"`unshare` is refused here: {check.stderr.strip()}"


def test_namespaces_are_active_where_unshare_works(protections):
    why_not = _unshare_works()
    if why_not:
        pytest.skip(why_not)
    assert {"net", "pid", "mount"} <= set(protections.namespaces), protections.notes
    assert protections.readonly_root


def test_work_folders_of_killed_graders_are_swept_and_live_ones_kept(tmp_path):
    from repro.sandbox.execution import sweep_stale_workdirs

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a pid that no longer runs: its folder is a leftover
    dead = tmp_path / f"{WORKDIR_PREFIX}{gone.pid}-abc"
    live = tmp_path / f"{WORKDIR_PREFIX}{os.getpid()}-def"
    for folder in (dead, live):
        folder.mkdir()
        (folder / "main.py").write_text("print('a model-written program')")
    assert sweep_stale_workdirs(tmp_path) == [dead]
    assert not dead.exists() and (live / "main.py").exists()


def test_children_of_reads_the_kernel_list_and_agrees_with_a_scan(monkeypatch):
    from repro.sandbox import bootstrap

    sleepers = [subprocess.Popen(["sleep", "30"]) for _ in range(2)]
    try:
        expected = {process.pid for process in sleepers}
        found = set(bootstrap.children_of(os.getpid()))
        assert expected <= found and found == set(bootstrap._children_by_scan(os.getpid()))
        # Where the kernel keeps no such list, the scan of /proc gives the same answer.
        real_open = open

        def no_children_file(path, *args, **kwargs):
            if str(path).endswith("/children"):
                raise FileNotFoundError(path)
            return real_open(path, *args, **kwargs)
        monkeypatch.setattr("builtins.open", no_children_file)
        assert set(bootstrap.children_of(os.getpid())) == found
    finally:
        for process in sleepers:
            process.kill()
            process.wait()
    assert bootstrap.children_of(2**22 + 1) == []  # no such process
