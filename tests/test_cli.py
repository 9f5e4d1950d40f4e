"""The command line: clean one-line errors, and the commands end to end on the simulated
backend (fast); the engines end to end are in test_smoke_engines.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app

runner = CliRunner()
PROJECT = Path(__file__).resolve().parent.parent


def invoke(*args: str):
    return runner.invoke(app, list(args))


@pytest.mark.parametrize("args,message", [
    (["run", "no-such-experiment", "--tier", "smoke"], "unknown experiment 'no-such-experiment'"),
    (["run", "math-zoo-qwen7b", "--tier", "huge"], "unknown tier 'huge'"),
    (["run", "math-zoo-qwen7b", "--tier", "smoke", "--backend", "gpt"], "unknown backend 'gpt'"),
    (["run", "visual-easyr1-train", "--tier", "smoke"], "needs training"),
    (["run", "visual-easyr1", "--tier", "full"], "needs training"),
    (["run", "visual-easyr1", "--checkpoint", "no-such-model=/tmp"], "unknown model 'no-such-model'"),
    (["run", "visual-easyr1", "--checkpoint", "qwen2.5-vl-7b-easyr1=/nonexistent-dir"], "not a folder"),
    (["run", "visual-easyr1", "--checkpoint", "qwen2.5-vl-7b-easyr1"], "takes MODEL=DIR"),
    (["run", "math-zoo-qwen7b", "--tier", "smoke", "--shard", "5/2"], "need 0 <= i < N"),
    (["compare", "math-zoo-qwen7b", "--results", "/nonexistent-folder"], "not a folder"),
    (["plan", "nope"], "unknown experiment"),
    (["fetch", "--kind", "nope"], "unknown benchmark kind 'nope'"),
])
def test_bad_input_gives_one_clean_line(args, message):
    result = invoke(*args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_full_tier_without_gpu_is_refused(tmp_path):
    from repro.pipeline import gpu_available

    if gpu_available():
        pytest.skip("this machine has a GPU")
    result = invoke("run", "math-zoo-qwen7b", "--tier", "full", "--out", str(tmp_path))
    assert result.exit_code == 2 and "needs a CUDA GPU" in result.output


def test_errors_are_clean_in_a_real_process():
    done = subprocess.run([sys.executable, str(PROJECT / "cli.py"), "run", "nope", "--tier", "smoke"],
                          capture_output=True, text=True, cwd=PROJECT)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == ["error: unknown experiment 'nope'; run `repro list` to see the 21 experiments"]


def test_list_and_plan():
    listing = invoke("list")
    assert listing.exit_code == 0
    for experiment in ("math-zoo-qwen7b", "rl-algorithms", "visual-easyr1", "perplexity"):
        assert experiment in listing.output
    assert "not yet: needs training" in listing.output
    assert "Qwen/Qwen2.5-7B" in invoke("list", "--models").output
    plan = invoke("plan", "math-zoo-qwen7b", "--tier", "full")
    assert plan.exit_code == 0 and "GPU-hours" in plan.output


def test_plan_counts_a_shared_run_once_and_its_gpus_once():
    import json

    alone = json.loads(invoke("plan", "math-zoo-qwen32b", "--json").output)
    both = json.loads(invoke("plan", "math-zoo-qwen32b", "accuracy-histogram", "--json").output)
    runs = {(run["model"], run["benchmark"]): run for run in both["runs"]}
    aime = runs[("qwen2.5-32b", "aime24")]
    assert aime["experiments"] == ["math-zoo-qwen32b/base", "accuracy-histogram/base-qwen2532b"]
    # Counted once: the 32B runs cost what they cost alone, and a 4-GPU engine counts 4 GPUs, once.
    alone_hours = {(run["model"], run["benchmark"]): run["gpu_hours"] for run in alone["runs"]}
    assert aime["gpu_hours"] == alone_hours[("qwen2.5-32b", "aime24")]
    assert aime["gpus"] == 4
    expected = aime["samples"] * aime["mean_output_tokens"] / aime["engine_tokens_per_s"] / 3600 * 4
    assert aime["gpu_hours"] == pytest.approx(expected)
    assert both["total"]["gpu_hours"] == pytest.approx(sum(run["gpu_hours"] for run in both["runs"]))
    assert len(both["runs"]) == len(alone["runs"]) + 36  # the histogram's other three families


@pytest.mark.parametrize("tier", ["full", "quick"])
def test_simulated_backend_outside_the_smoke_tier_exits_2_with_one_line(tmp_path, tier):
    for command in ("run", "grade", "compare"):
        result = invoke(command, "math-oat-zero", "--tier", tier, "--backend", "simulated", "--out", str(tmp_path))
        assert result.exit_code == 2, (command, result.output)
        assert len(result.output.strip().splitlines()) == 1 and "smoke tier only" in result.output
    assert not (tmp_path / "reports").exists()


def _checkpoint(folder: Path, *, config: str | None = "{}", weights: bytes | None = b"w", index: str | None = None):
    folder.mkdir()
    if config is not None:
        (folder / "config.json").write_text(config)
    if weights is not None:
        (folder / "model.safetensors").write_bytes(weights)
    if index is not None:
        (folder / "model.safetensors.index.json").write_text(index)
    return folder


@pytest.mark.parametrize("layout,message", [
    ({"config": None, "weights": None}, "no config.json"),
    ({"weights": None}, "no weights"),
    ({"config": "{oops"}, "config.json is not valid JSON"),
    ({"weights": b""}, "model.safetensors is empty"),
    ({"index": '{"weight_map": {"a": "model-00002.safetensors"}}'}, "lists 1 missing file(s)"),
])
def test_checkpoint_folders_no_model_loads_from_exit_2_with_one_line(tmp_path, layout, message):
    folder = _checkpoint(tmp_path / "ckpt", **layout)
    result = invoke("run", "visual-easyr1", "--tier", "smoke", "--backend", "simulated", "--out", str(tmp_path),
                    "--checkpoint", f"qwen2.5-vl-7b-easyr1={folder}")
    assert result.exit_code == 2 and message in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_checkpoints_content_hash_is_in_the_spec_and_the_plan(tmp_path):
    import json

    first = _checkpoint(tmp_path / "a", weights=b"one")
    second = _checkpoint(tmp_path / "b", weights=b"two")
    plans = [json.loads(invoke("plan", "visual-easyr1", "--json", "--checkpoint",
                               f"qwen2.5-vl-7b-easyr1={folder}").output) for folder in (first, second)]
    rl = [[run for run in plan["runs"] if run["model"] == "qwen2.5-vl-7b-easyr1"] for plan in plans]
    assert all("local checkpoint" in run["weights"] for runs in rl for run in runs)
    assert {run["key_sha256"] for run in rl[0]}.isdisjoint(run["key_sha256"] for run in rl[1])


def test_grade_compare_and_report_of_a_full_tier_run_need_no_gpu_and_no_model(tmp_path, monkeypatch, data_dir):
    """A full-tier store filled here (as if a GPU node had sampled), then finished on this CPU."""
    import repro.pipeline
    from repro.benchmarks.loading import load_benchmark
    from repro.experiments import get_experiment
    from repro.pipeline import store_key, store_path
    from repro.plan import plan_experiment
    from repro.sampling import get_backend
    from repro.store import WHOLE, SampleStore
    from repro.tiers import get_tier

    def no_engine(*args, **kwargs):
        raise AssertionError("an engine was started")

    monkeypatch.setattr(repro.pipeline, "engine_for", no_engine)
    monkeypatch.setattr(repro.pipeline, "gpu_available", lambda: False)
    loaded = load_benchmark("aime24", allow_synthetic=False, download=False)
    for planned in plan_experiment(get_experiment("math-oat-zero"), get_tier("full"), get_backend("vllm")):
        spec = planned.spec
        key = store_key(spec, loaded)
        store = SampleStore.open(store_path(tmp_path, spec, key), key)
        for problem in loaded.problems:  # the first (index % 4) samples of every round are right
            right = problem.index % 4
            records = [{"problem_id": problem.problem_id, "round": r, "seed": r, "samples": [
                {"text": f"so \\boxed{{{problem.answer}}}" if j < right else "no idea", "finish_reason": "stop",
                 "num_tokens": 3} for j in range(spec.samples_per_round)]} for r in range(spec.rounds)]
            store.append_chunk(WHOLE, records)
    graded = invoke("grade", "math-oat-zero", "--tier", "full", "--out", str(tmp_path))
    assert graded.exit_code in (0, 1), graded.output  # 1: the made-up samples fail the paper's points
    assert "needs a CUDA GPU" not in graded.output
    results = tmp_path / "experiments" / "math-oat-zero" / "full" / "vllm" / "results"
    rows = (results / "rl__aime24.csv").read_text().splitlines()
    assert rows[1:] == [f"{p.problem_id},2048,{64 * (p.index % 4)}" for p in loaded.problems]
    compared = invoke("compare", "math-oat-zero", "--tier", "full", "--out", str(tmp_path))
    assert compared.exit_code in (0, 1) and "Figure 10" in compared.output, compared.output
    reported = invoke("report", "--tier", "full", "--out", str(tmp_path))
    assert reported.exit_code in (0, 1), reported.output
    report = (tmp_path / "reports" / "full" / "report.md").read_text()
    assert "math-oat-zero" in report and "checks the machinery" not in report


def test_run_compare_grade_report_on_the_simulated_backend(tmp_path):
    import json

    out = str(tmp_path)
    result = invoke("run", "math-oat-zero", "--tier", "smoke", "--backend", "simulated", "--out", out)
    assert result.exit_code == 0, result.output
    results = tmp_path / "experiments" / "math-oat-zero" / "smoke" / "simulated" / "results"
    assert sorted(p.name for p in results.iterdir()) == ["base__aime24.csv", "environment.json", "rl__aime24.csv",
                                                         "specs.json"]
    specs = json.loads((results / "specs.json").read_text())
    assert specs["rl__aime24.csv"]["key"]["model"]["key"] == "oat-zero-7b" and specs["rl__aime24.csv"]["n"] == 2048
    report = tmp_path / "reports" / "smoke"
    assert "checks the machinery, not the paper" in (report / "report.md").read_text()
    assert (report / "report.html").read_text().startswith("<!DOCTYPE html>")
    assert list((report / "plots").glob("*.png"))

    compared = invoke("compare", "math-oat-zero", "--tier", "smoke", "--backend", "simulated", "--out", out)
    assert compared.exit_code == 0, compared.output
    assert "pass" in compared.output

    before = (results / "rl__aime24.csv").read_text()
    graded = sorted((tmp_path / "samples").rglob("grades/*/*.json"))
    for path in graded:
        path.unlink()  # re-grading must rebuild these from the stored samples alone
    regraded = invoke("grade", "math-oat-zero", "--tier", "smoke", "--backend", "simulated", "--out", out)
    assert regraded.exit_code == 0, regraded.output
    assert all(path.exists() for path in graded)
    assert (results / "rl__aime24.csv").read_text() == before

    rebuilt = invoke("report", "--tier", "smoke", "--out", out)
    assert rebuilt.exit_code == 0, rebuilt.output


def test_grade_never_samples(tmp_path):
    result = invoke("grade", "math-oat-zero", "--tier", "smoke", "--backend", "simulated", "--out", str(tmp_path))
    assert result.exit_code == 2 and "run `repro run` first" in result.output
    assert not list(tmp_path.rglob("*.jsonl.gz"))


def _write(path: Path, rows: list[str]) -> None:
    path.write_text("\n".join(["problem_id,n,correct", *rows]) + "\n")


def test_compare_accepts_results_made_elsewhere(tmp_path):
    # 30 AIME problems at n = 64: an RL model far above the paper at k = 1 must fail.
    _write(tmp_path / "base__aime24.csv", [f"aime24/{i:04d},64,{(i * 7) % 64 if i % 3 else 0}" for i in range(30)])
    _write(tmp_path / "rl__aime24.csv", [f"aime24/{i:04d},64,{64 if i % 2 else 0}" for i in range(30)])
    result = invoke("compare", "math-zoo-qwen7b", "--results", str(tmp_path))
    assert result.exit_code == 1, result.output
    assert "fail" in result.output and "Figure 2: AIME24 (Qwen-2.5-7B)" in result.output


@pytest.mark.parametrize("rows,message", [
    (["a,10"], "expected 3 fields"),
    (["a,10,11"], "0 <= correct <= n"),
    (["a,ten,1"], "must be integers"),
    (["a,10,1", "a,10,2"], "appears twice"),
])
def test_compare_refuses_malformed_csv(tmp_path, rows, message):
    _write(tmp_path / "base__aime24.csv", rows)
    result = invoke("compare", "math-zoo-qwen7b", "--results", str(tmp_path))
    assert result.exit_code == 2 and message in result.output and "base__aime24.csv line" in result.output


def test_compare_refuses_a_wrong_header(tmp_path):
    (tmp_path / "base__aime24.csv").write_text("id,samples,ok\nx,1,1\n")
    result = invoke("compare", "math-zoo-qwen7b", "--results", str(tmp_path))
    assert result.exit_code == 2 and "header must be exactly problem_id,n,correct" in result.output


def test_compare_without_results_names_the_expected_files(tmp_path):
    result = invoke("compare", "math-zoo-qwen7b", "--results", str(tmp_path))
    assert result.exit_code == 2 and "base__aime24.csv" in result.output


def test_keep_dapo_answer_changes_the_stop_list_and_the_store(tmp_path):
    import json

    for flag in ("--stop-at-dapo-answer", "--keep-dapo-answer"):
        result = invoke("run", "math-dapo", "--tier", "smoke", "--backend", "simulated", "--out", str(tmp_path), flag)
        assert result.exit_code == 0, result.output
    manifests = [json.loads(p.read_text()) for p in (tmp_path / "samples").rglob("dapo-qwen-32b/*/*/manifest.json")]
    stops = sorted(tuple(m["key"]["sampling"]["stop"]) for m in manifests)
    assert len(stops) == 2 and ("Answer:" in stops[0]) != ("Answer:" in stops[1])


def test_sandbox_command_judges_one_solution(tmp_path, sandbox_problem):
    import json

    problem, right, wrong = sandbox_problem
    passed = invoke("sandbox", str(right), "--problem", str(problem))
    failed = invoke("sandbox", str(wrong), "--problem", str(problem))
    assert passed.exit_code == 0 and json.loads(passed.output)["status"] == "pass"
    assert failed.exit_code == 1 and json.loads(failed.output)["first_failure"] == 0
    (tmp_path / "broken.json").write_text("{not json")
    broken = invoke("sandbox", str(right), "--problem", str(tmp_path / "broken.json"))
    assert broken.exit_code == 2 and "not valid JSON" in broken.output


# `repro sandbox SOLUTION --problem PROBLEM` is judged before typer is imported (cli.py). These
# run cli.py as the command does, in a child process: what it prints, its exit code, and
# whether typer was loaded.
_RUN_CLI = """import json, runpy, sys
sys.argv = json.loads(sys.argv[1])
sys.path.insert(0, sys.argv.pop(0))
if len(sys.argv[0].split("!")) == 2:  # "!fail": sandbox_command raises a bug
    sys.argv[0] = sys.argv[0].split("!")[0]
    import repro.sandbox_command

    def broken(*args):
        raise RuntimeError("a bug")
    repro.sandbox_command.sandbox_command = broken
try:
    if sys.argv[0].endswith("cli.py"):  # python cli.py ...
        runpy.run_path(sys.argv[0], run_name="__main__")
        code = None
    else:  # the installed `repro` script
        from cli import main

        code = main()
except SystemExit as done:
    code = done.code
print("typer loaded:", "typer" in sys.modules, file=sys.stderr)
sys.exit(code)
"""


def _run_cli(argv0: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import json
    import os

    return subprocess.run([sys.executable, "-c", _RUN_CLI, json.dumps([str(PROJECT), argv0, *args])],
                          capture_output=True, text=True, cwd=PROJECT, env={**os.environ, **(env or {})})


@pytest.fixture
def sandbox_problem(tmp_path):
    import json

    problem = tmp_path / "problem.json"
    problem.write_text(json.dumps({"tests": [{"input": "2 3\n", "output": "5\n", "testtype": "stdin"}],
                                   "metadata": {}}))
    right, wrong = tmp_path / "right.py", tmp_path / "wrong.py"
    right.write_text("a, b = map(int, input().split())\nprint(a + b)\n")
    wrong.write_text("a, b = map(int, input().split())\nprint(a * b)\n")
    return problem, right, wrong


@pytest.mark.parametrize("argv0", [str(PROJECT / "cli.py"), "/usr/local/bin/repro"])
def test_plain_sandbox_command_runs_without_typer_and_answers_the_same(argv0, sandbox_problem):
    import json

    problem, right, wrong = sandbox_problem
    for solution, options, code in ((right, ["--problem", str(problem)], 0),
                                    (wrong, [f"--problem={problem}"], 1),
                                    (right, ["-p", str(problem)], 0)):
        fast = _run_cli(argv0, "sandbox", *options, str(solution))
        assert fast.returncode == code, fast.stderr
        assert "typer loaded: False" in fast.stderr
        typed = invoke("sandbox", str(solution), *options)
        assert typed.exit_code == code
        fast_verdict, typed_verdict = json.loads(fast.stdout), json.loads(typed.output)
        fast_verdict.pop("wall_s"), typed_verdict.pop("wall_s")
        assert fast_verdict == typed_verdict
    broken = _run_cli(argv0, "sandbox", str(right), "--problem", str(problem.with_name("missing.json")))
    assert broken.returncode == 2 and broken.stderr.startswith("error: ") and "cannot read" in broken.stderr
    assert "typer loaded: False" in broken.stderr


@pytest.mark.parametrize("args,code,message", [
    (["sandbox", "--help"], 0, "Usage"),
    (["sandbox", "SOLUTION"], 2, "Missing option"),
    (["sandbox", "A", "B", "--problem", "P"], 2, "unexpected extra argument"),
    (["sandbox", "A", "--problem", "P", "--problem", "Q"], None, None),
])
def test_other_sandbox_calls_go_through_typer(args, code, message):
    done = _run_cli(str(PROJECT / "cli.py"), *args)
    assert "typer loaded: True" in done.stderr
    if code is not None:
        assert done.returncode == code and message in done.stdout + done.stderr


def test_a_bug_in_the_plain_sandbox_command_is_reported_as_an_internal_error(tmp_path, sandbox_problem):
    problem, right, _ = sandbox_problem
    # The sandbox service off: the bug is planted in this command's process (the service's own
    # bugs leave the command to judge alone: tests/test_sandbox_service.py).
    done = _run_cli(str(PROJECT / "cli.py") + "!fail", "sandbox", str(right), "--problem", str(problem),
                    env={"REPRO_HOME": str(tmp_path / "runs"), "REPRO_SANDBOX_SERVICE": "0"})
    assert done.returncode == 3, done.stderr
    assert "internal error (a bug in repro, not in your input): RuntimeError: a bug" in done.stderr


def test_one_failing_experiment_does_not_stop_the_others(tmp_path, monkeypatch):
    import repro.commands
    from repro.errors import ReproError

    real = repro.commands.run_experiment

    def failing_for_dapo(context, experiment):
        if experiment.id == "math-dapo":
            raise ReproError("data refused: sha256 mismatch")
        return real(context, experiment)

    monkeypatch.setattr(repro.commands, "run_experiment", failing_for_dapo)
    result = invoke("run", "math-dapo", "math-oat-zero", "--tier", "smoke", "--backend", "simulated",
                    "--out", str(tmp_path))
    assert result.exit_code == 2
    assert "error: math-dapo: data refused" in result.output
    report = (tmp_path / "reports" / "smoke" / "report.md").read_text()
    assert "data refused" in report and "math-oat-zero" in report
    assert (tmp_path / "experiments" / "math-oat-zero" / "smoke" / "simulated" / "results").is_dir()
    # A single experiment still fails fast, with its one-line error.
    alone = invoke("run", "math-dapo", "--tier", "smoke", "--backend", "simulated", "--out", str(tmp_path))
    assert alone.exit_code == 2 and alone.output.strip().endswith("data refused: sha256 mismatch")


def test_fetch_finds_the_pinned_files_and_says_where(tmp_path, monkeypatch, data_dir):
    monkeypatch.setenv("REPRO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("REPRO_OFFLINE", "1")
    result = invoke("fetch", "--kind", "math")
    assert result.exit_code == 0, result.output
    assert result.output.count("data folder") == 7  # six benchmarks and Omni-MATH-Rule, each verified
    # Offline and absent: one clear line naming the file, its source and hash, exit 2.
    missing = invoke("fetch", "--kind", "code", "--no-livecodebench")
    assert missing.exit_code == 2 and "HumanEvalPlus" in missing.output and "sha256" in missing.output


def test_the_report_names_the_checkpoint_a_result_came_from(tmp_path):
    import json

    results = tmp_path / "experiments" / "visual-easyr1" / "full" / "vllm" / "results"
    results.mkdir(parents=True)
    for name in ("base__mathvista-free.csv", "rl__mathvista-free.csv"):
        _write(results / name, [f"mathvista/{i},128,{i}" for i in range(20)])
    record = {"key": {"model": {"key": "qwen2.5-vl-7b-easyr1", "source": "checkpoint"}},
              "weights": "local checkpoint /ckpt/easyr1 (sha256 0123456789ab)"}
    (results / "specs.json").write_text(json.dumps({"rl__mathvista-free.csv": record}))
    result = invoke("report", "--tier", "full", "--out", str(tmp_path))
    assert result.exit_code in (0, 1), result.output
    report = (tmp_path / "reports" / "full" / "report.md").read_text()
    assert "qwen2.5-vl-7b-easyr1 = local checkpoint /ckpt/easyr1 (sha256 0123456789ab)" in report


def test_an_internal_error_is_one_line_exit_3_and_a_log_with_the_traceback(tmp_path, monkeypatch):
    import repro.commands

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in the package")

    monkeypatch.setattr(repro.commands, "run", broken)
    result = invoke("run", "math-oat-zero", "--tier", "smoke", "--out", str(tmp_path))
    assert result.exit_code == 3
    line = result.output.strip()
    assert len(line.splitlines()) == 1 and "internal error" in line and "RuntimeError: a bug in the package" in line
    (log,) = (tmp_path / "logs").glob("crash-*.log")
    assert str(log) in line and "Traceback" in log.read_text() and "a bug in the package" in log.read_text()


@pytest.mark.parametrize("code,words", [(28, "the disk is full"), (30, "the file system is read-only")])
def test_a_full_disk_or_a_read_only_folder_is_one_line_exit_2(tmp_path, monkeypatch, code, words):
    import errno

    import repro.commands

    assert code in (errno.ENOSPC, errno.EROFS)

    def faulty(*args, **kwargs):
        raise OSError(code, "machine fault", str(tmp_path / "samples" / "chunk"))

    monkeypatch.setattr(repro.commands, "run", faulty)
    result = invoke("run", "math-oat-zero", "--tier", "smoke", "--out", str(tmp_path))
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert words in result.output and "rerun" in result.output and "Traceback" not in result.output


def test_another_os_error_is_a_bug_not_a_machine_fault(tmp_path, monkeypatch):
    import repro.commands

    def buggy(*args, **kwargs):
        raise FileNotFoundError(2, "No such file or directory", "/missing")

    monkeypatch.setattr(repro.commands, "report", buggy)
    result = invoke("report", "--tier", "smoke", "--out", str(tmp_path))
    assert result.exit_code == 3 and "internal error" in result.output


# ----------------------------------------------------------------------------- --json, --log-level


def test_list_json_has_a_format_and_every_experiment():
    import json

    listing = json.loads(invoke("list", "--json").output)
    assert listing["format"] == "repro.list/1"
    by_id = {e["id"]: e for e in listing["experiments"]}
    assert len(by_id) == 21 and by_id["math-dapo"]["benchmarks"] == ["aime24"]
    assert by_id["math-dapo"]["arms"][0] == {"name": "base", "model": "qwen2.5-32b-dapo-prompt"}
    assert by_id["visual-easyr1-train"]["status"] == "not yet: needs training"
    assert "training" in listing["stages"]
    models = json.loads(invoke("list", "--models", "--json").output)
    assert models["format"] == "repro.models/1"
    assert {"key": "qwen2.5-7b", "hub_id": "Qwen/Qwen2.5-7B"}.items() <= models["models"][0].items()
    refused = invoke("list", "--training", "--json")
    assert refused.exit_code == 2 and "--json is not available with --training" in refused.output
    assert json.loads(invoke("plan", "math-dapo", "--json").output)["format"] == "repro.plan/1"


def test_compare_json_carries_every_point_and_the_exit_status(tmp_path):
    import json

    _write(tmp_path / "base__aime24.csv", [f"aime24/{i:04d},64,{(i * 7) % 64 if i % 3 else 0}" for i in range(30)])
    _write(tmp_path / "rl__aime24.csv", [f"aime24/{i:04d},64,{64 if i % 2 else 0}" for i in range(30)])
    result = invoke("compare", "math-zoo-qwen7b", "--results", str(tmp_path), "--json")
    assert result.exit_code == 1
    document = json.loads(result.output)  # nothing but the document on stdout
    assert document["format"] == "repro.compare/1" and document["failed"] is True
    assert document["results_folder"] == str(tmp_path)
    (backend,) = document["backends"]
    assert backend["backend"] == "external" and backend["decides_exit"] and not backend["simulated"]
    failing = [p for p in backend["points"] if p["verdict"] == "fail"]
    assert failing and backend["counts"]["fail"] == len(failing)
    point = failing[0]
    assert point["panel"].startswith("Figure 2") and abs(point["difference"] - (point["rerun"] - point["paper"])) < 1e-12
    assert {c["verdict"] for c in backend["claims"]} <= {"holds", "fails", "inconclusive", "not run"}


def test_compare_json_of_a_simulated_run_says_so(tmp_path):
    import json

    out = str(tmp_path)
    assert invoke("run", "math-oat-zero", "--tier", "smoke", "--backend", "simulated", "--out", out).exit_code == 0
    compared = invoke("compare", "math-oat-zero", "--tier", "smoke", "--backend", "simulated", "--out", out, "--json")
    document = json.loads(compared.output)
    assert document["tier"] == "smoke" and document["backends"][0]["simulated"] is True


@pytest.mark.parametrize("option,value,message", [
    ("--log-level", "loud", "--log-level 'loud' is not one of debug, info, warning, error"),
    ("--engine-log", "syslog", "--engine-log 'syslog' is not one of file, stderr"),
])
def test_bad_log_options_give_one_clean_line(tmp_path, option, value, message):
    result = invoke("run", "math-oat-zero", "--tier", "smoke", "--backend", "simulated", "--out", str(tmp_path),
                    option, value)
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


def test_a_bad_progress_interval_is_refused_before_anything_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("REPRO_PROGRESS_INTERVAL", "often")
    result = invoke("run", "math-oat-zero", "--tier", "smoke", "--backend", "simulated", "--out", str(tmp_path))
    assert result.exit_code == 2 and "REPRO_PROGRESS_INTERVAL='often'" in result.output
    assert not (tmp_path / "samples").exists()
