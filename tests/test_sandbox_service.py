"""The sandbox service (repro/sandbox_service.py, repro/sandbox_client.py): `repro sandbox`
answered by a warm process gives exactly what the command gives in its own process, only to
commands of its own context, and stops answering when its code or its machine changes.

Each test runs the command as a user does (`python cli.py sandbox ...`, a child process) with
a runtime folder of its own, and ends the services it started.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from repro import sandbox_client, sandbox_service
from repro.sandbox.detect import choose_interpreter  # world-readable, unlike this test's Python

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the sandbox needs Linux")

PROJECT = Path(__file__).resolve().parent.parent
RIGHT = "a, b = map(int, input().split())\nprint(a + b)\n"
WRONG = "a, b = map(int, input().split())\nprint(a * b)\n"
CALL = "class Solution:\n    def add(self, a: int, b: int) -> int:\n        return a + b\n"


@pytest.fixture
def runtime(monkeypatch):
    """A runtime folder of this test's (the services' sockets go there), ended services after.
    A short path: a Unix socket's address holds 107 bytes."""
    folder = Path(tempfile.mkdtemp(prefix="repro-test-"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(folder))
    monkeypatch.setenv(sandbox_client.IDLE_ENV, "30")
    monkeypatch.delenv(sandbox_client.SERVICE_ENV, raising=False)
    yield folder / "repro-sandbox"
    stop_services(folder / "repro-sandbox")
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def files(tmp_path):
    def write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    write("problem.json", json.dumps({"tests": [{"input": "2 3\n", "output": "5\n", "testtype": "stdin"},
                                                {"input": "4 4\n", "output": "8\n", "testtype": "stdin"}],
                                      "metadata": {}}))
    write("call.json", json.dumps({"tests": [{"input": "2\n3", "output": "5", "testtype": "functional"}],
                                   "metadata": json.dumps({"func_name": "add"})}))
    write("broken.json", "{not json")
    write("no-name.json", json.dumps({"tests": [{"input": "1", "output": "1", "testtype": "functional"}]}))
    write("right.py", RIGHT)
    write("wrong.py", WRONG)
    write("call.py", CALL)
    write("crlf.py", RIGHT.replace("\n", "\r\n"))
    (tmp_path / "latin.py").write_bytes(("# caf\xe9\n" + RIGHT).encode("latin-1"))  # not UTF-8
    return tmp_path


def command(*args: str, env: dict | None = None, cli: Path = PROJECT / "cli.py") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(cli), "sandbox", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, cwd=PROJECT, timeout=120)


def service_pid(socket_path: Path) -> int | None:
    """The pid of the service listening at `socket_path` (the peer's credentials), or None."""
    connection = sandbox_client.connect(str(socket_path))
    if connection is None:
        return None
    with connection:
        pid, _, _ = struct.unpack("3i", connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                              struct.calcsize("3i")))
    return pid


def services(folder: Path) -> dict[Path, int]:
    found = {}
    for path in sorted(folder.glob("*.sock")) if folder.is_dir() else []:
        pid = service_pid(path)
        if pid is not None:
            found[path] = pid
    return found


def stop_services(folder: Path) -> None:
    for pid in services(folder).values():
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 15
    while services(folder) and time.monotonic() < deadline:
        time.sleep(0.05)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as handle:
        return handle.read().split(")")[-1].split()[0] != "Z"


def without_wall_time(output: str) -> dict:
    verdict = json.loads(output)
    verdict.pop("wall_s")
    return verdict


def test_the_service_answers_what_the_command_answers_in_its_own_process(runtime, files):
    cases = [("right.py", "problem.json"), ("wrong.py", "problem.json"), ("call.py", "call.json"),
             ("crlf.py", "problem.json"), ("latin.py", "problem.json"), ("right.py", "broken.json"),
             ("right.py", "no-name.json"), ("missing.py", "problem.json"), ("right.py", "missing.json")]
    codes = set()
    for solution, problem in cases:
        args = (str(files / solution), "--problem", str(files / problem))
        served = command(*args)
        alone = command(*args, env={sandbox_client.SERVICE_ENV: "0"})
        assert (served.returncode, served.stderr) == (alone.returncode, alone.stderr), (solution, problem)
        if served.stdout or alone.stdout:
            assert without_wall_time(served.stdout) == without_wall_time(alone.stdout), (solution, problem)
        codes.add(served.returncode)
    assert codes == {0, 1, 2}
    # Every command of this context went to one service; the ones with the service off started none.
    assert len(services(runtime)) == 1


def test_one_service_per_context_reused_then_gone_when_idle(runtime, files):
    args = (str(files / "right.py"), "--problem", str(files / "problem.json"))
    assert command(*args, env={sandbox_client.IDLE_ENV: "2"}).returncode == 0
    (socket_path, pid), = services(runtime).items()
    assert command(*args, env={sandbox_client.IDLE_ENV: "2"}).returncode == 0
    assert services(runtime) == {socket_path: pid}
    # Another environment is another context: its own service.
    assert command(*args, env={sandbox_client.IDLE_ENV: "2", "SOME_SETTING": "x"}).returncode == 0
    assert len(services(runtime)) == 2
    deadline = time.monotonic() + 20
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(pid)
    # It left nothing behind: no socket, no lock, no empty log.
    assert not any(path.name.startswith(socket_path.stem) for path in runtime.iterdir())


def test_a_killed_service_is_replaced(runtime, files):
    args = (str(files / "right.py"), "--problem", str(files / "problem.json"))
    assert command(*args).returncode == 0
    (socket_path, pid), = services(runtime).items()
    os.kill(pid, signal.SIGKILL)
    while alive(pid):
        time.sleep(0.05)
    assert socket_path.exists()  # left behind: nobody listens there
    done = command(*args)
    assert done.returncode == 0 and json.loads(done.stdout)["status"] == "pass"
    (_, new_pid), = services(runtime).items()
    assert new_pid != pid


def test_commands_at_once_share_one_service(runtime, files):
    args = [(str(files / name), "--problem", str(files / "problem.json")) for name in ("right.py", "wrong.py") * 3]
    with ThreadPoolExecutor(len(args)) as pool:
        done = list(pool.map(lambda a: command(*a), args))
    assert [d.returncode for d in done] == [0, 1] * 3, [d.stderr for d in done]
    assert len(services(runtime)) == 1
    assert not [p for p in runtime.glob("*.lock") if p.stem not in {s.stem for s in services(runtime)}]


def test_a_changed_module_stops_the_service_and_the_command_judges_alone(runtime, files, tmp_path):
    copy = tmp_path / "project"
    copy.mkdir()
    shutil.copy(PROJECT / "cli.py", copy / "cli.py")
    shutil.copytree(PROJECT / "repro", copy / "repro", ignore=shutil.ignore_patterns("__pycache__"))
    args = (str(files / "right.py"), "--problem", str(files / "problem.json"))
    assert command(*args, cli=copy / "cli.py").returncode == 0
    (socket_path, pid), = services(runtime).items()
    module = copy / "repro" / "sandbox_command.py"
    module.write_text(module.read_text() + "\n# changed\n")
    done = command(*args, cli=copy / "cli.py")
    assert done.returncode == 0 and json.loads(done.stdout)["status"] == "pass"
    deadline = time.monotonic() + 15
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(pid)
    assert "a module of the package changed on disk" in socket_path.with_suffix(".log").read_text()


def test_a_bug_in_the_service_leaves_the_command_to_judge_alone(runtime, files, tmp_path):
    copy = tmp_path / "project"
    copy.mkdir()
    shutil.copy(PROJECT / "cli.py", copy / "cli.py")
    shutil.copytree(PROJECT / "repro", copy / "repro", ignore=shutil.ignore_patterns("__pycache__"))
    module = copy / "repro" / "sandbox_command.py"  # `judge` is what only the service calls
    module.write_text(module.read_text() + "\n\ndef judge(*args):\n    raise RuntimeError('a bug')\n")
    done = command(str(files / "wrong.py"), "--problem", str(files / "problem.json"), cli=copy / "cli.py")
    assert done.returncode == 1 and json.loads(done.stdout)["first_failure"] == 0, done.stderr
    (socket_path, _), = services(runtime).items()
    assert "RuntimeError: a bug" in socket_path.with_suffix(".log").read_text()


def test_a_folder_others_can_enter_is_not_used(runtime, files):
    runtime.mkdir(mode=0o755)
    runtime.chmod(0o755)
    done = command(str(files / "right.py"), "--problem", str(files / "problem.json"))
    assert done.returncode == 0 and json.loads(done.stdout)["status"] == "pass"
    assert not list(runtime.iterdir())


def test_switched_off_it_starts_nothing(runtime, files):
    done = command(str(files / "right.py"), "--problem", str(files / "problem.json"),
                   env={sandbox_client.SERVICE_ENV: "0"})
    assert done.returncode == 0
    assert not runtime.exists() or not list(runtime.iterdir())


def test_a_request_of_another_context_is_not_judged(runtime, files):
    assert command(str(files / "right.py"), "--problem", str(files / "problem.json")).returncode == 0
    (socket_path, _), = services(runtime).items()
    found = sandbox_client.context()
    found["environment"]["SOME_SETTING"] = "another"
    with sandbox_client.connect(str(socket_path)) as connection:
        sandbox_client.send_message(connection, {"solution": RIGHT.encode(), "problem": b"{}",
                                                 "names": ["a.py", "p.json"], "context": found})
        reply = sandbox_client.receive_message(connection)
    assert "fallback" in reply and "exit" not in reply


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root, to connect as another user")
def test_a_connection_from_another_user_is_refused():
    folder = Path(tempfile.mkdtemp(prefix="repro-test-"))  # one that the other user can enter
    folder.chmod(0o755)
    path = folder / "s.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    path.chmod(0o777)
    listener.listen(1)
    code = f"import socket; s = socket.socket(socket.AF_UNIX); s.connect({str(path)!r}); s.recv(1)"
    other = subprocess.Popen([choose_interpreter(), "-I", "-S", "-c", code], user=65534, group=65534, extra_groups=[])
    try:
        listener.settimeout(20)
        connection, _ = listener.accept()
        with connection:
            assert sandbox_service._same_user(connection) is False
        mine = socket.socket(socket.AF_UNIX)
        mine.connect(str(path))
        connection, _ = listener.accept()
        with connection, mine:
            assert sandbox_service._same_user(connection) is True
    finally:
        other.kill()
        other.wait()
        listener.close()
        shutil.rmtree(folder)


def test_an_interrupted_command_says_so_and_the_service_goes_on(runtime, files):
    args = (str(files / "right.py"), "--problem", str(files / "problem.json"))
    assert command(*args).returncode == 0
    (_, pid), = services(runtime).items()
    (files / "slow.py").write_text("import time\ntime.sleep(4)\n" + RIGHT)
    slow = subprocess.Popen([sys.executable, str(PROJECT / "cli.py"), "sandbox", str(files / "slow.py"), "--problem",
                             str(files / "problem.json")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=PROJECT, env=dict(os.environ))  # as command() passes it (pytest's C environment differs)
    time.sleep(1.5)  # the service is running the program
    slow.send_signal(signal.SIGINT)
    out, err = slow.communicate(timeout=60)
    assert slow.returncode == 130 and err.startswith("interrupted"), (slow.returncode, out, err)
    done = command(*args)
    assert done.returncode == 0 and list(services(runtime).values()) == [pid]
