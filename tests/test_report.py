"""The report: plots with the tolerance band and failing points marked, one self-contained
HTML page (markdown-it-py; images embedded, data escaped, verdicts coloured), the environment
records, and a tier's report covering every experiment on disk."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from cli import app
from repro.compare import FAIL, compare_panel
from repro.expected import load_curves
from repro.experiments import get_experiment
from repro.provenance import ENVIRONMENT_FILE, read_environment
from repro.report.environment import environment_section
from repro.report.page import markdown_to_html
from repro.report.plots import panel_figure
from repro.results import RunResult

runner = CliRunner()

# The shape of the environment.json that runs write beside specs.json (repro.provenance).
ENVIRONMENT = {
    "package": {"version": "0.4.0", "git_commit": "3268724abc"},
    "python": "3.11.2",
    "packages": {"numpy": "2.3.1", "torch": "2.13.0+cpu", "vllm": "0.32.0"},
    "gpus": [{"name": "NVIDIA H100 80GB HBM3", "memory_gib": 80}, {"name": "NVIDIA H100 80GB HBM3", "memory_gib": 80}],
    "cuda": "12.8",
    "image": "repro:gpu",
    "host": "node-7",
    "started_at": "2026-12-01T10:00:00Z",
    "ended_at": "2026-12-01T12:30:00Z",
    "command": "repro run math-oat-zero --tier full",
}


def _result(arm: str, benchmark: str, c: np.ndarray, n: int) -> RunResult:
    ids = tuple(f"{benchmark}/{i:04d}" for i in range(len(c)))
    return RunResult(arm, benchmark, ids, tuple(range(len(c))), np.full(len(c), n), c, backend="simulated")


def test_a_panel_plot_draws_the_tolerance_band_and_marks_each_failing_point():
    import matplotlib.pyplot as plt
    from matplotlib.collections import PathCollection

    panel = get_experiment("math-oat-zero").panels[0]
    (base_arm, _), (rl_arm, _) = panel.curves
    rng = np.random.default_rng(3)
    results = {(base_arm, "aime24"): _result(base_arm, "aime24", rng.binomial(64, 0.3, 30), 64),
               (rl_arm, "aime24"): _result(rl_arm, "aime24", np.zeros(30, dtype=int), 64)}  # never right: fails
    expected = load_curves()
    points = compare_panel(panel, results, expected)
    failing = [p for p in points if p.verdict == FAIL]
    assert failing and len(failing) < len(points)
    figure = panel_figure(panel, expected, {"simulated": results}, {"simulated": points})
    try:
        axes = figure.axes[0]
        labels = [text.get_text() for text in axes.get_legend().get_texts()]
        assert f"outside tolerance ({len(failing)})" in labels
        assert "band: paper ± tolerance (simulated)" in labels
        crosses = [c for c in axes.collections if isinstance(c, PathCollection)]
        assert len(crosses) == 1
        marked = {(round(x), round(y, 9)) for x, y in crosses[0].get_offsets()}
        assert marked == {(p.k, round(p.rerun, 9)) for p in failing}
        # The first curve's band spans the paper value ± the tolerance the comparison used.
        base = [p for p in points if p.arm == base_arm and p.tolerance is not None]
        band = axes.collections[0].get_paths()[0].vertices
        assert band[:, 1].min() == pytest.approx(min(p.paper - p.tolerance for p in base))
        assert band[:, 1].max() == pytest.approx(max(p.paper + p.tolerance for p in base))
    finally:
        plt.close(figure)


def test_the_html_page_embeds_its_images_escapes_data_and_colours_verdicts(tmp_path):
    png = b"\x89PNG\r\n\x1a\nnot really a picture"
    (tmp_path / "plots").mkdir()
    (tmp_path / "plots" / "a.png").write_bytes(png)
    markdown = "\n".join([
        "# Report", "", "> **smoke**: not evidence", "",
        "![panel A](plots/a.png)", "", "![panel B](plots/missing.png)", "",
        "| curve | verdict |", "|---|---|", "| <script>alert(1)</script> | fail |", "| RL | pass |",
        "| RL | not run |", "",
        "<img src=x onerror=alert(1)>", "", "## Summary", "", "## Summary", "",
    ])
    page = markdown_to_html(markdown, "Report <tier>", tmp_path)
    sources = re.findall(r'<img src="([^"]*)"', page)
    assert sources == ["data:image/png;base64," + base64.b64encode(png).decode()]
    assert "(plot missing: plots/missing.png)" in page
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page  # raw HTML stays text
    assert "<title>Report &lt;tier&gt;</title>" in page
    assert '<tr class="row-fail">' in page and '<td class="v-fail">fail</td>' in page
    assert '<td class="v-pass">pass</td>' in page and '<td class="v-not-run">not run</td>' in page
    assert page.count("<tr") == 4 and page.count('class="row-fail"') == 1
    assert '<h2 id="summary">' in page and '<h2 id="summary-1">' in page
    assert "<blockquote>" in page


def test_environment_records_are_shown_once_per_distinct_environment(tmp_path):
    first, second, third, bare = (tmp_path / name for name in ("a", "b", "c", "d"))
    for folder, record in ((first, ENVIRONMENT), (second, {**ENVIRONMENT, "started_at": "2026-12-02T09:00:00Z"}),
                           (third, {**ENVIRONMENT, "cuda": "12.4", "host": "a|b"})):
        folder.mkdir()
        (folder / ENVIRONMENT_FILE).write_text(json.dumps(record))
    bare.mkdir()
    assert read_environment(bare) is None
    assert environment_section({}) == []
    records = {"math-oat-zero / vllm": read_environment(first), "math-dapo / vllm": read_environment(second),
               "code-r1 / vllm": read_environment(third)}
    md = "\n".join(environment_section(records))
    assert md.count("### Environment ") == 2  # the first two differ only in their times
    assert "2 × name NVIDIA H100 80GB HBM3, memory_gib 80" in md
    assert "numpy 2.3.1, torch 2.13.0+cpu, vllm 0.32.0" in md
    assert "version 0.4.0, git_commit 3268724abc" in md
    assert "a\\|b" in md  # a "|" from data does not split the table
    assert re.search(r"math-dapo / vllm\s*\| 2026-12-02T09:00:00Z .*\|\s*A\s*\|", md)
    assert re.search(r"code-r1 / vllm .*\|\s*B\s*\|", md)
    (bare / ENVIRONMENT_FILE).write_text("{not json")
    assert "error" in read_environment(bare)


def _write(path: Path, rows: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(["problem_id,n,correct", *rows]) + "\n")


def test_a_run_keeps_the_experiments_run_earlier_in_the_tiers_report(tmp_path):
    # visual-easyr1's results from an earlier command (far below the paper: its points fail),
    # with the environment they were made in.
    earlier = tmp_path / "experiments" / "visual-easyr1" / "smoke" / "simulated" / "results"
    for name in ("base__mathvista-free.csv", "rl__mathvista-free.csv"):
        _write(earlier / name, [f"mathvista/{i},128,{i % 3}" for i in range(20)])
    (earlier / ENVIRONMENT_FILE).write_text(json.dumps(ENVIRONMENT))
    result = runner.invoke(app, ["run", "math-oat-zero", "--tier", "smoke", "--backend", "simulated",
                                 "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output  # this command's experiment passes; the earlier one is not its
    assert "it also covers 1 experiment(s) run earlier" in result.output
    summary = result.output.split("report:")[0]
    assert "math-oat-zero" in summary and "visual-easyr1" not in summary
    report = (tmp_path / "reports" / "smoke" / "report.md").read_text()
    assert "## math-oat-zero: " in report and "## visual-easyr1: " in report
    assert "from results already on disk (an earlier command)" in report
    assert "## Points outside tolerance" in report and "| visual-easyr1 " in report.split("## Claims")[0]
    assert "## Environment" in report and "visual-easyr1 [simulated]" in report
    assert "### Claim 1: RL beats its base model at pass@1" in report
    page = (tmp_path / "reports" / "smoke" / "report.html").read_text()
    sources = re.findall(r'<img src="([^"]*)"', page)
    plots = sorted((tmp_path / "reports" / "smoke" / "plots").glob("*.png"))
    assert len(sources) == len(plots) == report.count("](plots/") >= 2
    assert all(source.startswith("data:image/png;base64,") for source in sources)
    assert 'class="v-fail"' in page and 'class="v-pass"' in page
    # `repro report` rebuilds the same experiments from disk, and its exit code counts them all.
    rebuilt = runner.invoke(app, ["report", "--tier", "smoke", "--out", str(tmp_path)])
    assert rebuilt.exit_code == 1, rebuilt.output
    again = (tmp_path / "reports" / "smoke" / "report.md").read_text()
    assert "## math-oat-zero: " in again and "## visual-easyr1: " in again
    assert "from results already on disk" not in again  # nothing is earlier than `repro report` itself


def test_a_figure_a_stage_drew_beside_its_results_is_copied_and_embedded(tmp_path):
    from repro.compare import ExperimentComparison
    from repro.report import ExperimentSection, write_report
    from repro.tiers import get_tier

    picture = tmp_path / "results" / "perplexity.png"
    picture.parent.mkdir()
    picture.write_bytes(b"\x89PNG\r\n\x1a\nbox plots")
    section = ExperimentSection(get_experiment("perplexity"),
                                comparisons={"hf": ExperimentComparison("perplexity", "hf", (), ())},
                                figures={"hf": [picture]})
    out = tmp_path / "reports" / "smoke"
    write_report(out, get_tier("smoke"), [section], ("hf",))
    assert (out / "plots" / "perplexity--hf--perplexity.png").read_bytes() == picture.read_bytes()
    assert "![perplexity](plots/perplexity--hf--perplexity.png)" in (out / "report.md").read_text()
    page = (out / "report.html").read_text()
    assert f'src="data:image/png;base64,{base64.b64encode(picture.read_bytes()).decode()}"' in page


def test_a_plot_is_drawn_again_only_when_what_it_shows_changed(tmp_path, monkeypatch):
    import repro.report.plots as plots

    panel = get_experiment("math-oat-zero").panels[0]
    (base_arm, _), (rl_arm, _) = panel.curves
    rng = np.random.default_rng(5)
    results = {(arm, "aime24"): _result(arm, "aime24", rng.binomial(64, 0.4, 30), 64) for arm in (base_arm, rl_arm)}
    expected = load_curves()
    drawn = []
    real = plots.panel_figure
    monkeypatch.setattr(plots, "panel_figure", lambda *args: drawn.append(1) or real(*args))
    path = tmp_path / "panel.png"

    def plot(results):
        plots.plot_panel(path, panel, expected, {"simulated": results},
                         {"simulated": compare_panel(panel, results, expected)})

    plot(results)
    plot(results)
    assert len(drawn) == 1 and path.stat().st_size > 1000  # the same inputs: the file is kept
    changed = dict(results)
    changed[(rl_arm, "aime24")] = _result(rl_arm, "aime24", rng.binomial(64, 0.1, 30), 64)
    plot(changed)
    assert len(drawn) == 2
    monkeypatch.setattr(plots, "PLOT_STYLE", "another style")
    plot(changed)
    assert len(drawn) == 3
    path.write_bytes(b"not a png")  # damaged: drawn again
    plot(changed)
    assert len(drawn) == 4 and path.read_bytes().startswith(b"\x89PNG")
