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
    (["run", "perplexity", "--tier", "smoke"], "needs perplexity"),
    (["run", "visual-easyr1", "--tier", "full"], "needs training"),
    (["run", "visual-easyr1", "--checkpoint", "no-such-model=/tmp"], "unknown model 'no-such-model'"),
    (["run", "visual-easyr1", "--checkpoint", "qwen2.5-vl-7b-easyr1=/nonexistent-dir"], "is not a folder"),
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
    assert "not yet: needs perplexity" in listing.output
    assert "Qwen/Qwen2.5-7B" in invoke("list", "--models").output
    plan = invoke("plan", "math-zoo-qwen7b", "--tier", "full")
    assert plan.exit_code == 0 and "GPU-hours" in plan.output


def test_run_compare_grade_report_on_the_simulated_backend(tmp_path):
    out = str(tmp_path)
    result = invoke("run", "math-oat-zero", "--tier", "smoke", "--backend", "simulated", "--out", out)
    assert result.exit_code == 0, result.output
    results = tmp_path / "experiments" / "math-oat-zero" / "smoke" / "simulated" / "results"
    assert sorted(p.name for p in results.iterdir()) == ["base__aime24.csv", "rl__aime24.csv"]
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
    _write(tmp_path / "base__aime24.csv", [f"aime/{i},64,{(i * 7) % 64 if i % 3 else 0}" for i in range(30)])
    _write(tmp_path / "rl__aime24.csv", [f"aime/{i},64,{64 if i % 2 else 0}" for i in range(30)])
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


def test_sandbox_command_judges_one_solution(tmp_path):
    import json

    problem = tmp_path / "problem.json"
    problem.write_text(json.dumps({"tests": [{"input": "2 3\n", "output": "5\n", "testtype": "stdin"}],
                                   "metadata": {}}))
    right, wrong = tmp_path / "right.py", tmp_path / "wrong.py"
    right.write_text("a, b = map(int, input().split())\nprint(a + b)\n")
    wrong.write_text("a, b = map(int, input().split())\nprint(a * b)\n")
    passed = invoke("sandbox", str(right), "--problem", str(problem))
    failed = invoke("sandbox", str(wrong), "--problem", str(problem))
    assert passed.exit_code == 0 and json.loads(passed.output)["status"] == "pass"
    assert failed.exit_code == 1 and json.loads(failed.output)["first_failure"] == 0
    (tmp_path / "broken.json").write_text("{not json")
    broken = invoke("sandbox", str(right), "--problem", str(tmp_path / "broken.json"))
    assert broken.exit_code == 2 and "not valid JSON" in broken.output


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
