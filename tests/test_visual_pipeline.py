"""The visual experiment through the pipeline in the main environment: stand-in files in the
datasets' formats, the filter's counts in manifests and report, the visual grader, and the
engine checks reported as skipped where the vision stack cannot load."""

from __future__ import annotations

import csv
import importlib.util
import json

import pytest
from typer.testing import CliRunner

from cli import app
from repro.pipeline import gpu_available


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("REPRO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("REPRO_OFFLINE", "1")


def test_visual_experiment_runs_on_the_simulated_backend(tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", "visual-easyr1", "--tier", "smoke", "--backend", "simulated",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    folder = out / "experiments" / "visual-easyr1" / "smoke" / "simulated" / "results"
    for benchmark in ("mathvista-free", "mathvision-open"):
        rows = list(csv.DictReader((folder / f"rl__{benchmark}.csv").open()))
        correct = [int(row["correct"]) for row in rows]
        assert rows and all(int(row["n"]) == 128 for row in rows)
        assert 0 in correct and 128 in correct  # the visual grader marked answers both ways
    selections = [json.loads(m.read_text())["key"]["data"]["selection"]
                  for m in (out / "samples" / "simulated").glob("*/*/*/manifest.json")]
    assert len(selections) == 4
    assert all(s["kept"] < s["source_rows"] and s["rule"] for s in selections)
    report = (out / "reports" / "smoke" / "report.md").read_text()
    assert "question_type == 'free_form'" in report and "options == []" in report
    points = list(csv.DictReader((out / "reports" / "smoke" / "points.csv").open()))
    assert points and all(p["verdict"] == "pass" for p in points if p["backend"] == "simulated")


@pytest.mark.skipif(importlib.util.find_spec("qwen_vl_utils") is not None,
                    reason="this environment has the vision stack (tests/test_visual_engine.py runs the engine)")
def test_without_the_vision_stack_the_engine_checks_are_skipped_with_the_reason(tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", "visual-easyr1", "--tier", "smoke", "--backend", "hf", "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = (out / "reports" / "smoke" / "report.md").read_text()
    assert "engine check skipped" in report and "scripts/install-visual" in report
    assert report.count("engine check skipped") == 1  # one line for the four runs it stopped


def test_a_checkpoint_stands_in_for_training_the_unreleased_model(tmp_path):
    if gpu_available():
        pytest.skip("this machine has a GPU: the full tier would start")
    blocked = CliRunner().invoke(app, ["run", "visual-easyr1", "--tier", "full", "--out", str(tmp_path)])
    assert blocked.exit_code == 2 and "needs training" in blocked.output
    checkpoint = tmp_path / "checkpoint"  # a folder a model loads from: config and weights
    checkpoint.mkdir()
    (checkpoint / "config.json").write_text("{}")
    (checkpoint / "model.safetensors").write_bytes(b"weights")
    given = CliRunner().invoke(app, ["run", "visual-easyr1", "--tier", "full", "--out", str(tmp_path),
                                     "--checkpoint", f"qwen2.5-vl-7b-easyr1={checkpoint}"])
    # Past the stage check: what stops it now is the missing GPU, not the missing model.
    assert given.exit_code == 2 and "needs a CUDA GPU" in given.output
