"""Sandbox throughput: checked programs per second on this machine, and the sandbox's overhead.

    .venv/bin/python scripts/bench_sandbox.py [--programs 120] [--workers N] [--timeout-share 0.1]

1. A mixed corpus -- LiveCodeBench-style programs that pass (stdin and call-based), fail
   (wrong answer, runtime error) and time out (1 s per-test limit) -- is judged with
   `check_program`, sequentially and then on a pool of N workers (default: one per CPU).
   Each check is one sandboxed child process, so the pool's workers are threads that wait on
   those children (`--pool process` uses worker processes instead; same children).
2. The same non-timing-out programs run bare, `subprocess.run([python, file])` with the first
   test's stdin, against `run_program` (sandbox, no test harness): the per-program overhead of
   the isolation layers alone.

3. Per-test cost for 1, 10 and 50 tests (`--tests`), a sandboxed check against a bare judge
   that runs the same solution in one plain `subprocess.run` per test and compares the output
   (no isolation at all): once through the command line (`repro sandbox SOLUTION --problem
   PROBLEM`, a whole process -- its plain form, judged before the CLI's typer is imported --
   against the bare judge run as a process too) and once through
   the grading path (`check_program` in a warm process, as a grading worker calls it, against
   the bare judge as a function). Each pair of measurements alternates, `--repeats` times, and
   the table gives medians, so the ratio is measured side by side. The command-line rows are
   given with the safety checks already cached and the sandbox service of the command's
   context running (every command after the first on a machine; repro/sandbox_client.py),
   and for the first command (an empty cache folder: it starts a service, which runs the
   protection probe and the self-check). `REPRO_SANDBOX_SERVICE=0` measures the command
   judging in its own process. The services the script started are ended at its end.
4. One test per check, checks one after another as a grading worker runs them, against bare
   judges one after another.

`--only per-test` skips 1 and 2. Prints Markdown tables. Absolute numbers depend on the
machine and its load; compare rows of one run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from repro.code_tests import TestSuite  # noqa: E402
from repro.grading.code import check_program  # noqa: E402
from repro.sandbox import detect_protections, run_program  # noqa: E402
from repro.sandbox.detect import choose_interpreter  # noqa: E402

try:
    from repro.sandbox.runner import fork_server_cpu_s, stop_fork_server  # noqa: E402
except ImportError:  # a version without the fork server (to measure "before" with this script)
    def fork_server_cpu_s() -> float:
        return 0.0

    def stop_fork_server() -> None:
        pass

STDIN_SUITE = TestSuite("stdin", tuple(f"{n}\n{' '.join(map(str, range(n)))}\n" for n in (5, 50, 500)),
                        tuple(f"{sum(range(n))}\n" for n in (5, 50, 500)), (1.0, 1.0, 1.0))
CALL_SUITE = TestSuite.livecodebench(
    [{"input": f"[{', '.join(map(str, range(n)))}]\n{n // 2}", "output": str(sum(range(n // 2))),
      "testtype": "functional"} for n in (4, 40, 400)], "prefixSum", timeout_s=1.0)

PASSING = [
    ("stdin", "n = int(input())\nprint(sum(map(int, input().split())))\n"),
    ("stdin", "import sys\nlines = sys.stdin.read().split('\\n')\nprint(sum(int(x) for x in lines[1].split()))\n"),
    ("call", "class Solution:\n    def prefixSum(self, nums: List[int], k: int) -> int:\n"
             "        return sum(nums[:k])\n"),
]
FAILING = [
    ("stdin", "n = int(input())\nprint(n)\n"),  # wrong answer
    ("stdin", "n = int(input())\nprint(1 / 0)\n"),  # runtime error
    ("call", "class Solution:\n    def prefixSum(self, nums, k):\n        return sum(nums)\n"),
]
TIMING_OUT = [("stdin", "while True:\n    pass\n")]


def corpus(size: int, timeout_share: float) -> list[tuple[str, str]]:
    timeouts = round(size * timeout_share)
    rest = size - timeouts
    programs = [PASSING[i % len(PASSING)] if i % 10 < 6 else FAILING[i % len(FAILING)] for i in range(rest)]
    programs += [TIMING_OUT[0]] * timeouts
    return programs


def judge(item: tuple[str, str]) -> str:
    mode, source = item
    return check_program(source, STDIN_SUITE if mode == "stdin" else CALL_SUITE, memory_mb=1024).status


def timed_checks(programs, workers: int, pool: str) -> tuple[float, dict[str, int]]:
    started = time.perf_counter()
    if workers == 1:
        statuses = [judge(item) for item in programs]
    else:
        executor = ThreadPoolExecutor if pool == "thread" else ProcessPoolExecutor
        with executor(max_workers=workers) as running:
            statuses = list(running.map(judge, programs))
    elapsed = time.perf_counter() - started
    counts: dict[str, int] = {}
    for status in statuses:
        counts[status] = counts.get(status, 0) + 1
    return elapsed, counts


def overhead(programs, interpreter: str) -> tuple[float, float]:
    """Mean seconds per program: bare subprocess vs run_program (same programs, same stdin)."""
    stdin_programs = [source for mode, source in programs if mode == "stdin"]
    text = STDIN_SUITE.inputs[1]
    with tempfile.TemporaryDirectory() as directory:
        paths = []
        for number, source in enumerate(stdin_programs):
            path = Path(directory) / f"p{number}.py"
            path.write_text(source)
            paths.append(path)
        started = time.perf_counter()
        for path in paths:
            subprocess.run([interpreter, str(path)], input=text, capture_output=True, text=True, timeout=10,
                           check=False)
        bare = (time.perf_counter() - started) / len(paths)
    started = time.perf_counter()
    for source in stdin_programs:
        run_program(source, text, time_limit_s=10, memory_mb=1024)
    sandboxed = (time.perf_counter() - started) / len(stdin_programs)
    return bare, sandboxed


# ------------------------------------------------------------------ per-test cost

# The solution every per-test measurement judges: sum the numbers of the test's input.
SUM_SOLUTION = "import sys\ndata = sys.stdin.read().split()\nprint(sum(map(int, data[1:])))\n"

# A judge without any isolation: one plain subprocess per test, LiveCodeBench's line
# comparison. Written to a file and run as a process for the command-line comparison, and
# imported for the in-process one. Standard library only.
BARE_JUDGE = """import json, subprocess, sys


def lines(text):
    return [line.strip() for line in text.strip().split("\\n")]


def judge(python, solution, tests):
    for test in tests:
        done = subprocess.run([python, solution], input=test["input"], capture_output=True, text=True,
                              timeout=60)
        if done.returncode != 0 or lines(done.stdout) != lines(test["output"]):
            return False
    return True


if __name__ == "__main__":
    with open(sys.argv[3]) as handle:
        passed = judge(sys.argv[1], sys.argv[2], json.load(handle)["tests"])
    print(json.dumps({"status": "pass" if passed else "fail"}))
    sys.exit(0 if passed else 1)
"""


def sum_tests(count: int) -> list[dict]:
    tests = []
    for number in range(count):
        values = list(range(number, number + 20))
        tests.append({"input": f"{len(values)}\n{' '.join(map(str, values))}\n", "output": f"{sum(values)}\n",
                      "testtype": "stdin"})
    return tests


# Where CPU time is read from: a cgroup v1 `cpuacct` group of this process (and so of every
# process it starts, whatever becomes of them), or, without one, resource usage of children.
_CPUACCT_ROOT = Path("/sys/fs/cgroup/cpuacct")
_cpuacct: dict[str, Path] = {}


def _start_cpu_accounting() -> str:
    """Move this process into its own `cpuacct` cgroup where it can (root, cgroup v1). The
    kernel counts there the CPU of every process started from here on, including the runs
    killed with their PID namespace: their CPU never reaches anyone's RUSAGE_CHILDREN (the
    namespace's dying init reaps them with SIGCHLD ignored, which skips that accounting), and
    a passing check is stopped that way whenever the caller's kill beats the harness's own
    exit. Returns how CPU time is measured, for the report."""
    group = _CPUACCT_ROOT / f"repro-bench-sandbox-{os.getpid()}"
    try:
        group.mkdir()
        (group / "cgroup.procs").write_text(str(os.getpid()))
    except OSError as error:
        try:
            group.rmdir()
        except OSError:
            pass
        return (f"CPU time: resource usage of finished children and the fork server's reports (no cpuacct "
                f"cgroup: {error.strerror or error}; the CPU of runs killed with their namespace is missed)")
    _cpuacct["group"] = group
    return "CPU time: cgroup v1 cpuacct of this process and everything it started"


def _stop_cpu_accounting() -> None:
    stop_fork_server()  # it runs in the group too
    group = _cpuacct.pop("group", None)
    if group is not None:
        # The sandbox services started by the `repro sandbox` measurements run in the group too:
        # asked to end (SIGTERM: they finish what they are doing and remove their sockets).
        for pid in (group / "cgroup.procs").read_text().split():
            if int(pid) != os.getpid():
                try:
                    os.kill(int(pid), signal.SIGTERM)
                except ProcessLookupError:
                    pass
        (_CPUACCT_ROOT / "cgroup.procs").write_text(str(os.getpid()))
        for _ in range(200):  # the fork server (ended with its socket) and the services may take a moment
            try:
                group.rmdir()
                return
            except OSError:
                time.sleep(0.05)


def _cpu_s() -> float:
    """CPU seconds so far: of the cpuacct group, or of this process, its finished children, and
    the fork server's runs and the server itself (the server's reports: its runs are not our
    children, and the server is still running)."""
    group = _cpuacct.get("group")
    if group is not None:
        return int((group / "cpuacct.usage").read_text()) / 1e9
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime + fork_server_cpu_s() + time.process_time()


def _timed(call) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process and what it started) of call()."""
    wall, cpu = time.perf_counter(), _cpu_s()
    call()
    return time.perf_counter() - wall, _cpu_s() - cpu


def _run_ok(argv: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=PROJECT, check=False)
    if done.returncode != 0 or json.loads(done.stdout)["status"] != "pass":
        raise SystemExit(f"{argv[1]} did not pass: exit {done.returncode}: {done.stdout[-300:]} {done.stderr[-300:]}")


def _rcu_expedited() -> str:
    """The kernel setting that decides how long a run's cgroup join can wait (docs/performance.md)."""
    try:
        return f"rcu_expedited {Path('/sys/kernel/rcu_expedited').read_text().strip()}"
    except OSError:
        return "rcu_expedited unknown"


def _bare_judge_in(folder: Path):
    """(the solution's file, the bare judge's file, the bare judge imported) in `folder`."""
    import importlib.util

    solution = folder / "solution.py"
    solution.write_text(SUM_SOLUTION)
    judge_path = folder / "bare_judge.py"
    judge_path.write_text(BARE_JUDGE)
    spec = importlib.util.spec_from_file_location("bare_judge", judge_path)
    bare = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bare)
    return solution, judge_path, bare


def per_test_costs(test_counts: list[int], repeats: int, interpreter: str) -> None:
    """Markdown tables: ms per test, sandbox against a bare judge, through the command line
    and through the grading path."""
    load_before = os.getloadavg()[0]

    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        solution, judge_path, bare = _bare_judge_in(folder)
        cache = folder / "cache"
        env = dict(os.environ, REPRO_CACHE_DIR=str(cache))
        cli_rows, grading_rows = [], []
        for count in test_counts:
            tests = sum_tests(count)
            problem = folder / f"problem-{count}.json"
            problem.write_text(json.dumps({"tests": tests, "metadata": {}}))
            suite = TestSuite.livecodebench(tests, None)
            bare_argv = [sys.executable, str(judge_path), interpreter, str(solution), str(problem)]
            repro_argv = [sys.executable, str(PROJECT / "cli.py"), "sandbox", str(solution), "--problem", str(problem)]
            samples: dict[str, list[tuple[float, float]]] = {name: [] for name in
                                                             ("bare-cli", "repro", "repro-cold", "bare", "check")}
            _run_ok(repro_argv, env)  # fills the cache of the safety checks
            for _ in range(repeats):
                samples["bare-cli"].append(_timed(lambda: _run_ok(bare_argv, env)))
                samples["repro"].append(_timed(lambda: _run_ok(repro_argv, env)))
                cold_env = dict(env, REPRO_CACHE_DIR=str(folder / f"cold-{count}-{len(samples['repro'])}"))
                samples["repro-cold"].append(_timed(lambda: _run_ok(repro_argv, cold_env)))
                samples["bare"].append(_timed(lambda: bare.judge(interpreter, str(solution), tests)))
                samples["check"].append(_timed(lambda: check_program(SUM_SOLUTION, suite)))
            per_test = {name: (statistics.median(w for w, _ in values) * 1000 / count,
                               statistics.median(c for _, c in values) * 1000 / count)
                        for name, values in samples.items()}
            cli_rows.append((count, per_test["bare-cli"], per_test["repro"], per_test["repro-cold"]))
            grading_rows.append((count, per_test["bare"], per_test["check"]))
    print(f"\nPer-test cost, ms (median of {repeats}; wall time, and CPU time of all processes in brackets)")
    # The machine's load blurs wall times (CPU times much less); bytecode caching changes what a
    # command costs to import (both sides run under the same setting).
    print(f"load average (1 min) {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end; "
          f"{len(os.sched_getaffinity(0))} CPUs; PYTHONDONTWRITEBYTECODE "
          f"{'set: modules compiled at every command' if os.environ.get('PYTHONDONTWRITEBYTECODE') else 'unset'}; "
          f"{_rcu_expedited()}\n")
    print("| tests | bare judge (process) | `repro sandbox` | ratio | `repro sandbox`, first command (empty cache) |")
    print("|---|---|---|---|---|")
    for count, (bare_wall, bare_cpu), (wall, cpu), (cold_wall, cold_cpu) in cli_rows:
        print(f"| {count} | {bare_wall:.1f} ({bare_cpu:.1f}) | {wall:.1f} ({cpu:.1f}) | {wall / bare_wall:.2f}x "
              f"({cpu / bare_cpu:.2f}x) | {cold_wall:.1f} ({cold_cpu:.1f}) |")
    print("\n| tests | bare judge (function) | `check_program` in a warm process | ratio |")
    print("|---|---|---|---|")
    for count, (bare_wall, bare_cpu), (wall, cpu) in grading_rows:
        print(f"| {count} | {bare_wall:.1f} ({bare_cpu:.1f}) | {wall:.1f} ({cpu:.1f}) | {wall / bare_wall:.2f}x "
              f"({cpu / bare_cpu:.2f}x) |")


def checks_in_a_row(repeats: int, interpreter: str, checks: int = 20) -> None:
    """A Markdown table: one test per check, `checks` checks one after another (a grading
    worker's pace) against as many bare judges one after another; blocks alternate `repeats`
    times, medians of the blocks. Measured apart from the table above because a check that
    follows an idle moment waits for the kernel (docs/performance.md): its run joins a cgroup,
    which on cgroup v1 waits for an RCU grace period unless another join happened a few
    milliseconds before."""
    with tempfile.TemporaryDirectory() as directory:
        solution, _, bare = _bare_judge_in(Path(directory))
        tests = sum_tests(1)
        suite = TestSuite.livecodebench(tests, None)
        samples: dict[str, list[tuple[float, float]]] = {"bare": [], "check": []}
        check_program(SUM_SOLUTION, suite)
        for _ in range(repeats):
            samples["bare"].append(_timed(lambda: [bare.judge(interpreter, str(solution), tests)
                                                   for _ in range(checks)]))
            samples["check"].append(_timed(lambda: [check_program(SUM_SOLUTION, suite) for _ in range(checks)]))
    (bare_wall, bare_cpu), (wall, cpu) = ((statistics.median(w for w, _ in samples[name]) * 1000 / checks,
                                           statistics.median(c for _, c in samples[name]) * 1000 / checks)
                                          for name in ("bare", "check"))
    print(f"\n| one test, {checks} checks in a row | bare judge (function) | `check_program` | ratio |")
    print("|---|---|---|---|")
    print(f"| ms per check | {bare_wall:.1f} ({bare_cpu:.1f}) | {wall:.1f} ({cpu:.1f}) | {wall / bare_wall:.2f}x "
          f"({cpu / bare_cpu:.2f}x) |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--programs", type=int, default=120)
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--timeout-share", type=float, default=0.1, help="share of programs that time out")
    parser.add_argument("--pool", choices=("thread", "process"), default="thread")
    parser.add_argument("--tests", default="1,10,50", help="test counts of the per-test comparison")
    parser.add_argument("--repeats", type=int, default=5, help="measurements per cell of the per-test comparison")
    parser.add_argument("--only", choices=("all", "per-test"), default="all")
    args = parser.parse_args()

    protections = detect_protections()
    print(f"protections: {protections.summary()}\n")
    if args.only == "per-test":
        print(_start_cpu_accounting())
        try:
            per_test_costs([int(n) for n in args.tests.split(",")], args.repeats, choose_interpreter())
            checks_in_a_row(args.repeats, choose_interpreter())
        finally:
            _stop_cpu_accounting()
        return
    programs = corpus(args.programs, args.timeout_share)
    judge(programs[0])  # warm-up: probe, imports

    print("| run | workers | programs | seconds | programs/s | outcomes |")
    print("|---|---|---|---|---|---|")
    for label, workers in (("sequential", 1), (f"{args.pool} pool", args.workers)):
        elapsed, counts = timed_checks(programs, workers, args.pool)
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        print(f"| {label} | {workers} | {len(programs)} | {elapsed:.1f} | {len(programs) / elapsed:.2f} | {outcomes} |")

    quick = [item for item in programs if item not in TIMING_OUT]
    bare, sandboxed = overhead(quick[:40], choose_interpreter())
    print("\n| runner (sequential, no test harness) | ms per program |")
    print("|---|---|")
    print(f"| bare `subprocess.run([python, file])` | {bare * 1000:.0f} |")
    print(f"| `run_program` (sandbox) | {sandboxed * 1000:.0f} |")
    print(f"| overhead | {(sandboxed - bare) * 1000:.0f} |")
    per_test_costs([int(n) for n in args.tests.split(",")], args.repeats, choose_interpreter())
    checks_in_a_row(args.repeats, choose_interpreter())


if __name__ == "__main__":
    main()
