"""The fault suite: the CLI and its sample store under kill -9, concurrent writers, overlapping
shards, damaged files and machine faults, each scenario with its expected outcome.

    python scripts/fault_suite.py            # full size: 21 kill points, 5 two-writer trials
    python scripts/fault_suite.py --small    # what CI runs (scripts/test): 3 kill points, 1 trial
    python scripts/fault_suite.py --markdown results.md --seed 7

Every scenario runs the real command line in subprocesses, on one smoke-tier experiment with the
simulated backend (seconds a run), and compares what it ends with against a reference run made
once without faults: the per-problem results, the report's points.csv and every stored sample
must be identical. docs/reliability.md explains the scenarios and holds the full-size results.
The disk-full and read-only scenarios mount a small tmpfs in a private mount namespace
(`unshare --mount`), which needs root, as in the project's CI and container.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from tabulate import tabulate  # noqa: E402

from repro.store import SampleStore  # noqa: E402
from repro.store_audit import audit, find_stores  # noqa: E402

EXPERIMENT = "math-oat-zero"
RUN = ["run", EXPERIMENT, "--tier", "smoke", "--backend", "simulated"]
REPRO = [sys.executable, str(PROJECT / "cli.py")]


@dataclass
class Outcome:
    scenario: str
    expected: str
    observed: str
    passed: bool
    seconds: float = 0.0


# ----------------------------------------------------------------------------- helpers


def repro(args: list[str], out: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([*REPRO, *args, "--out", str(out)], capture_output=True, text=True, timeout=timeout,
                          cwd=PROJECT)


def start(args: list[str], out: Path) -> subprocess.Popen:
    # Its own session, so that kill -9 reaches the grading workers too, as a crash of the machine would.
    return subprocess.Popen([*REPRO, *args, "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=PROJECT, start_new_session=True)


def fingerprint(out: Path) -> dict[str, str]:
    """sha256 of what a run ends with: every results CSV, the report's points.csv, and the samples
    of every store (by unit, so that chunking, which differs between sharded and whole runs, does
    not count)."""
    prints = {}
    for path in sorted((out / "experiments").rglob("*.csv")):
        prints[str(path.relative_to(out))] = hashlib.sha256(path.read_bytes()).hexdigest()
    points = out / "reports" / "smoke" / "points.csv"
    prints["points.csv"] = hashlib.sha256(points.read_bytes()).hexdigest() if points.exists() else "missing"
    for manifest in sorted((out / "samples").rglob("manifest.json")):
        samples = SampleStore(manifest.parent).samples()
        text = repr(sorted(samples.items()))
        prints[str(manifest.parent.relative_to(out))] = hashlib.sha256(text.encode()).hexdigest()
    return prints


def error_line(done: subprocess.CompletedProcess | tuple[int, str]) -> str:
    stderr = done.stderr if isinstance(done, subprocess.CompletedProcess) else done[1]
    lines = [line for line in stderr.splitlines() if line.startswith(("error:", "internal error"))]
    return lines[-1] if lines else ""


def no_traceback(*texts: str) -> bool:
    return not any("Traceback" in text for text in texts)


def resumed_equals(reference: dict[str, str], out: Path) -> tuple[bool, str]:
    """Rerun to the end; True when it exits 0 and ends with the reference's results and samples."""
    done = repro(RUN, out)
    if done.returncode != 0:
        return False, f"rerun exit {done.returncode}: {error_line(done) or done.stderr[-300:]}"
    same = fingerprint(out) == reference
    return same, "rerun exit 0, " + ("identical to the reference" if same else "DIFFERENT from the reference")


def store_check(out: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*REPRO, "store", "check", "--out", str(out)], capture_output=True, text=True, cwd=PROJECT)


def first_store(out: Path) -> Path:
    return sorted(path.parent for path in (out / "samples").rglob("manifest.json"))[0]


def _count(out: Path, pattern: str) -> int:
    return len(list(out.glob(pattern))) if out.exists() else 0


CHUNKS = "samples/*/*/*/*/chunks/*.jsonl.gz"
GRADES = "samples/*/*/*/*/grades/*/*.json"
RESULTS = "experiments/*/*/*/results/*.csv"
STAGES = ("sampling", "grading", "report writing")


def reference_run(out: Path) -> tuple[int, float, float]:
    """The run without faults: (exit code, seconds, seconds from its first results file to its
    end, when the report is written)."""
    began = time.monotonic()
    process = start(RUN, out)
    results_at = None
    while process.poll() is None:
        if results_at is None and _count(out, RESULTS):
            results_at = time.monotonic()
        time.sleep(0.005)
    process.communicate()
    ended = time.monotonic()
    return process.returncode, ended - began, ended - (results_at or ended)


def kill_when(stage: str, reference_out: Path, out: Path, rng: random.Random, report_seconds: float) -> str:
    """Run, and kill -9 the run's whole process group at a random point of `stage`: once a random
    number of its chunks (sampling) or grades files (grading) are on disk, or at a random moment
    of the report's writing (as long after the first results file as in the reference run).
    Returns where. A run that finishes before its kill point (a faster machine than the
    reference's) is run again from scratch with half the delay, down to none."""
    if stage == "sampling":
        target, pattern = rng.randint(1, _count(reference_out, CHUNKS) - 1), CHUNKS
    elif stage == "grading":
        target, pattern = rng.randint(1, _count(reference_out, GRADES) - 1), GRADES
    else:
        target, pattern = 1, RESULTS
    delay = rng.uniform(0.0, 0.9 * report_seconds) if stage == "report writing" else 0.0
    for attempt in range(4):
        shutil.rmtree(out, ignore_errors=True)
        process = start(RUN, out)
        while process.poll() is None and _count(out, pattern) < target:
            time.sleep(0.005)
        time.sleep(delay)
        killed = process.poll() is None
        if killed:
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        if killed:
            break
        delay = delay / 2 if attempt < 2 else 0.0
    where = {"sampling": f"after {target} chunk(s)", "grading": f"after {target} grades file(s)",
             "report writing": f"{delay:.2f} s after the first results file"}[stage]
    return where if killed else where + "; too late, it had finished"


def kill_points(reference: dict[str, str], reference_out: Path, work: Path, count: int, rng: random.Random,
                report_seconds: float) -> list[Outcome]:
    outcomes = []
    for point in range(count):
        out = work / f"killed-{point}"
        began = time.monotonic()
        stage = STAGES[point % len(STAGES)]
        where = kill_when(stage, reference_out, out, rng, report_seconds)
        found = [finding.problem for store in find_stores([out]) for finding in audit(store).findings] \
            if (out / "samples").exists() else []
        damage = [problem for problem in found if not problem.startswith(DEBRIS)]
        same, said = resumed_equals(reference, out)
        state = "DAMAGE: " + damage[0] if damage else f"{len(found)} debris file(s)" if found else "sound"
        outcomes.append(Outcome(f"kill -9 while {stage} ({where})",
                                "only whole chunks, at most debris; the rerun ends identical",
                                f"store: {state}; {said}", same and not damage and "too late" not in where,
                                time.monotonic() - began))
    return outcomes


# What a killed write may leave (repro.store_audit's findings): anything else is damage.
DEBRIS = ("temporary file of an interrupted write", "a chunk no index lists")


def two_writers(reference: dict[str, str], work: Path, trials: int) -> list[Outcome]:
    outcomes = []
    for trial in range(trials):
        out = work / f"two-writers-{trial}"
        began = time.monotonic()
        first, second = start(RUN, out), start(RUN, out)
        results = [(process.wait(), process.communicate()[1]) for process in (first, second)]
        codes = [code for code, _ in results]
        refused_cleanly = all(code == 0 or (code == 2 and "is being written by" in error_line((code, stderr)))
                              for code, stderr in results)
        same, said = resumed_equals(reference, out)
        checked = store_check(out)
        outcomes.append(Outcome(f"two writers of one store at once (trial {trial + 1})",
                                "each exits 0, or 2 naming the holder; a rerun ends identical; store sound",
                                f"exits {codes[0]} and {codes[1]}; {said}; store check exit {checked.returncode}",
                                refused_cleanly and same and checked.returncode == 0
                                and no_traceback(*(stderr for _, stderr in results)), time.monotonic() - began))
    return outcomes


def overlapping_shards(reference: dict[str, str], work: Path) -> list[Outcome]:
    outcomes = []
    # One after the other: the second split is refused before it samples.
    out = work / "overlap-sequential"
    began = time.monotonic()
    first = repro([*RUN, "--shard", "0/2"], out)
    chunks = {path: path.read_bytes() for path in (out / "samples").rglob("chunks/*")}
    second = repro([*RUN, "--shard", "0/3"], out)
    after = {path: path.read_bytes() for path in (out / "samples").rglob("chunks/*")}
    refused = second.returncode == 2 and "2-way split" in error_line(second) and after == chunks
    repro([*RUN, "--shard", "1/2"], out)
    same, said = resumed_equals(reference, out)
    outcomes.append(Outcome("--shard 0/3 after --shard 0/2", "exit 2 before sampling (no chunk written); the "
                            "2-way split then completes identical",
                            f"exits {first.returncode} then {second.returncode}: ...{error_line(second)[-110:]}; {said}",
                            first.returncode == 0 and refused and same, time.monotonic() - began))
    # At once: they cannot both pass the check.
    out = work / "overlap-concurrent"
    began = time.monotonic()
    two, three = start([*RUN, "--shard", "0/2"], out), start([*RUN, "--shard", "0/3"], out)
    results = [(process.wait(), process.communicate()[1]) for process in (two, three)]
    refusals = [code == 2 and "split" in error_line((code, stderr)) for code, stderr in results]
    splits = sorted({path.name.split("of")[1].split(".")[0] for path in (out / "samples").rglob("index-*.json")
                     if SampleStore(path.parent).chunk_listing()})
    for count in splits[:1] or ["2"]:
        for index in range(int(count)):
            repro([*RUN, "--shard", f"{index}/{count}"], out)
    same, said = resumed_equals(reference, out)
    outcomes.append(Outcome("--shard 0/2 and --shard 0/3 started at once",
                            "at least one exits 2 before sampling; one split's shards only; completes identical",
                            f"exits {results[0][0]} and {results[1][0]}; splits in the store: {splits}; {said}",
                            any(refusals) and len(splits) <= 1 and same and no_traceback(*(s for _, s in results)),
                            time.monotonic() - began))
    return outcomes


def _flip(out: Path) -> None:
    path = sorted((first_store(out) / "chunks").iterdir())[0]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _truncate(out: Path) -> None:
    path = sorted((first_store(out) / "chunks").iterdir())[0]
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])


def _garble_index(out: Path) -> None:
    (first_store(out) / "index-shard0of1.json").write_text('{"chunks": ')


def _delete_index(out: Path) -> None:
    (first_store(out) / "index-shard0of1.json").unlink()


def _delete_manifest(out: Path) -> None:
    (first_store(out) / "manifest.json").unlink()


def _edit_grades(out: Path) -> None:
    import json

    path = sorted((first_store(out) / "grades").rglob("*.json"))[0]
    content = json.loads(path.read_text())
    pid, round_index, marks = content["verdicts"][0]
    content["verdicts"][0] = [pid, round_index, [not mark for mark in marks]]
    path.write_text(json.dumps(content))


# name -> (damage, what `run` says, how the advice is followed)
DAMAGE: dict[str, tuple[Callable[[Path], None], str, str]] = {
    "flipped byte in a chunk": (_flip, "is corrupt", "repair"),
    "truncated chunk": (_truncate, "is corrupt", "repair"),
    "corrupt index": (_garble_index, "is corrupt", "repair"),
    "deleted index": (_delete_index, "is missing but its chunks are there", "repair"),
    "deleted manifest": (_delete_manifest, "no manifest.json", "move away"),
    "edited grades file": (_edit_grades, "graded again", "none"),
}


def damaged_files(reference: dict[str, str], reference_out: Path, work: Path) -> list[Outcome]:
    outcomes = []
    for name, (damage, says, advice) in DAMAGE.items():
        began = time.monotonic()
        out = work / f"damage-{name.replace(' ', '-')}"
        shutil.copytree(reference_out, out)
        damage(out)
        compared = repro(["compare", EXPERIMENT, "--tier", "smoke", "--backend", "simulated"], out)
        reported = repro(["report", "--tier", "smoke"], out)
        ran = repro(RUN, out)
        # compare and report read results, and refuse them when the samples behind them are damaged.
        compare_ok = compared.returncode == 2 and "damaged" in error_line(compared)
        report_ok = reported.returncode == 2 and "damaged" in error_line(reported)
        if advice == "none":  # grades are recomputed from the samples: a warning, and the run goes on
            run_ok = ran.returncode == 0 and says in ran.stderr
        else:
            run_ok = ran.returncode == 2 and says in error_line(ran)
        if advice == "repair":
            subprocess.run([*REPRO, "store", "repair", "--out", str(out)], capture_output=True, cwd=PROJECT)
        elif advice == "move away":
            for folder in {p.parent.parent for p in (out / "samples").rglob("chunks/*.jsonl.gz")}:
                if not (folder / "manifest.json").exists():
                    folder.rename(work / f"moved-{folder.name}-{name.replace(' ', '-')}")
        same, said = resumed_equals(reference, out)
        outcomes.append(Outcome(name, "run, compare and report say so, exit 2 (edited grades: run warns and "
                                      "regrades); the advice, followed, ends identical",
                                f"run exit {ran.returncode}, compare {compared.returncode}, report "
                                f"{reported.returncode}; advice: {advice}; {said}",
                                run_ok and compare_ok and report_ok and same
                                and no_traceback(ran.stderr, compared.stderr, reported.stderr),
                                time.monotonic() - began))
    return outcomes


def _in_small_filesystem(out: Path, options: str, keep: Path | None) -> subprocess.CompletedProcess:
    """`repro run` with --out on a tmpfs mounted with `options` in a private mount namespace;
    what it wrote is copied to `keep` before the namespace (and the tmpfs) goes."""
    out.mkdir(parents=True, exist_ok=True)
    script = ('mount -t tmpfs -o "$1" repro-fault "$2" || exit 97; shift 2; keep="$1"; shift; "$@"; code=$?; '
              'if [ -n "$keep" ]; then cp -a "$OUT/." "$keep/"; fi; exit $code')
    command = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", options, str(out),
               str(keep or ""), *REPRO, *RUN, "--out", str(out)]
    return subprocess.run(command, capture_output=True, text=True, cwd=PROJECT, env={**os.environ, "OUT": str(out)},
                          timeout=600)


def machine_faults(reference: dict[str, str], work: Path) -> list[Outcome]:
    outcomes = []
    began = time.monotonic()
    keep = work / "disk-full-kept"
    keep.mkdir()
    full = _in_small_filesystem(work / "disk-full", "size=400k", keep)
    if full.returncode == 97:
        outcomes.append(Outcome("disk full", "exit 2, one line", f"could not mount a tmpfs here: {full.stderr[-200:]}",
                                False))
    else:
        one_line = full.returncode == 2 and "the disk is full" in error_line(full) and no_traceback(full.stderr)
        same, said = resumed_equals(reference, keep)
        outcomes.append(Outcome("disk full while sampling (400 KB tmpfs)",
                                "exit 2 with one line; moved to a roomy disk, the rerun ends identical",
                                f"exit {full.returncode}: {error_line(full)[:80]}...; {said}", one_line and same,
                                time.monotonic() - began))
    began = time.monotonic()
    read_only = _in_small_filesystem(work / "read-only", "ro,size=1m", None)
    outcomes.append(Outcome("read-only --out folder", "exit 2 with one line",
                            f"exit {read_only.returncode}: {error_line(read_only)[:80]}...",
                            read_only.returncode == 2 and "read-only" in error_line(read_only)
                            and no_traceback(read_only.stderr), time.monotonic() - began))
    return outcomes


# ----------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true", help="CI size: 3 kill points, one two-writer trial")
    parser.add_argument("--seed", type=int, default=2504, help="seed of the kill points")
    parser.add_argument("--markdown", type=Path, help="also write the results table here")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (printed) for inspection")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="repro-fault-suite-"))
    try:
        reference_out = work / "reference"
        code, seconds, report_seconds = reference_run(reference_out)
        if code != 0:
            print(f"the reference run failed (exit {code}); run `repro {' '.join(RUN)}` to see why", file=sys.stderr)
            return 2
        reference = fingerprint(reference_out)
        print(f"reference run: {seconds:.1f} s ({report_seconds:.1f} s writing the report)", flush=True)
        outcomes = [Outcome("reference run", "exit 0", "exit 0", True, seconds)]
        outcomes += kill_points(reference, reference_out, work, 3 if args.small else 21, rng, report_seconds)
        outcomes += two_writers(reference, work, 1 if args.small else 5)
        outcomes += overlapping_shards(reference, work)
        outcomes += damaged_files(reference, reference_out, work)
        outcomes += machine_faults(reference, work)
    finally:
        if args.keep:
            print(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    # The work folder is this machine's: left out of what is printed and kept.
    rows = [[o.scenario, o.expected, o.observed.replace(str(work), "<work>"), "pass" if o.passed else "FAIL",
             f"{o.seconds:.1f}"] for o in outcomes]
    table = tabulate(rows, headers=["scenario", "expected", "observed", "verdict", "s"], tablefmt="github")
    print(table)
    failed = sum(not o.passed for o in outcomes)
    summary = f"{len(outcomes) - failed} of {len(outcomes)} scenarios pass (seed {args.seed}{', small' if args.small else ''})."
    print(summary)
    if args.markdown:
        args.markdown.write_text(table + "\n\n" + summary + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
