"""`repro run perplexity` and `repro run entropy` in the smoke tier: tiny models built
in-process, sampled and scored by transformers on CPU, end to end through the CLI; a rerun
finds every sample and every measurement kept and recomputes nothing."""

from __future__ import annotations

import csv
import json

import pytest
from typer.testing import CliRunner

pytest.importorskip("transformers")

from cli import app  # noqa: E402

pytestmark = pytest.mark.slow


def _run(*args: str):
    return CliRunner().invoke(app, ["run", *args, "--tier", "smoke", "--backend", "hf"])


def _kept(root):
    """Every sample chunk and every kept measurement, with its bytes."""
    files = [*(root / "samples").rglob("*.jsonl.gz"), *(root / "measurements").rglob("*.json")]
    return {path: path.read_bytes() for path in files}


def test_perplexity_end_to_end_and_kept(tmp_path):
    result = _run("perplexity", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    folder = tmp_path / "experiments" / "perplexity" / "smoke" / "hf" / "results"
    rows = list(csv.DictReader((folder / "perplexity.csv").open()))
    summary = json.loads((folder / "perplexity.json").read_text())
    assert len(summary["problems"]) == 2
    # Both models score both models' responses: 4 groups of 2 problems x n responses (n = 4 here),
    # empty responses excepted.
    groups = {(row["scorer"], row["responses_of"]) for row in rows}
    assert groups == {("base", "base"), ("base", "rl"), ("rl", "rl"), ("rl", "base")}
    assert 0 < len(rows) <= 4 * 2 * 4 and all(float(row["perplexity"]) >= 1.0 for row in rows)
    assert summary["evidence"].startswith("NOT evidence")
    assert [claim["scope"] for claim in summary["claims"]] == summary["problems"]
    assert (folder / "perplexity.png").stat().st_size > 0
    report = (tmp_path / "reports" / "smoke" / "report.md").read_text()
    assert "Mann-Whitney" in report and "NOT evidence" in report  # claim 4's verdicts, in the claims table
    kept = _kept(tmp_path)
    table = (folder / "perplexity.csv").read_bytes()
    assert any("measurements" in str(path) for path in kept)
    again = _run("perplexity", "--out", str(tmp_path))
    assert again.exit_code == 0, again.output
    assert _kept(tmp_path) == kept  # nothing sampled or scored again
    assert (folder / "perplexity.csv").read_bytes() == table


def test_entropy_end_to_end_records_measured_and_paper_temperatures(tmp_path):
    result = _run("entropy", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    folder = tmp_path / "experiments" / "entropy" / "smoke" / "hf" / "results"
    rows = list(csv.DictReader((folder / "entropy.csv").open()))
    assert [row["benchmark"] for row in rows] == ["aime24", "amc23", "gsm8k", "math500", "minerva", "olympiad"]
    assert [float(row["paper_temperature"]) for row in rows] == [1.5, 0.9, 1.0, 0.85, 0.85, 1.0]
    assert [float(row["paper_base_entropy_T0.6"]) for row in rows] == [0.47, 0.51, 0.75, 0.72, 0.63, 0.5]
    for row in rows:
        assert 0.6 <= float(row["matched_temperature"]) <= 2.0
        assert 0 < float(row["base_entropy_T0.6"]) <= 7.0  # at most log(vocabulary) of the tiny model
        assert (folder / f"rl-matched__{row['benchmark']}.csv").is_file()  # pass@k at the measured temperature
    assert json.loads((folder / "entropy.json").read_text())["evidence"].startswith("NOT evidence")
    report = (tmp_path / "reports" / "smoke" / "report.md").read_text()
    assert "rl-matched@" in report and "NOT evidence" in report  # claim 9 at the measured temperature
    kept = _kept(tmp_path)
    again = _run("entropy", "--out", str(tmp_path))
    assert again.exit_code == 0, again.output
    assert _kept(tmp_path) == kept
