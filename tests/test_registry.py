"""The registry is complete and consistent with expected/, the catalogue and the benchmarks."""

from __future__ import annotations

import re

from repro.benchmarks import BENCHMARKS
from repro.expected import curve_points, histogram_series, load_curves, load_histograms, load_solved_sets
from repro.experiments import EXPERIMENTS, get_experiment
from repro.models import MODELS
from repro.prompts import TEMPLATES
from repro.stages import status_line

# EXPERIMENTS.md's ids, sections A-F.
PAPER_IDS = {
    "math-zoo-qwen7b", "math-zoo-qwen14b", "math-zoo-qwen32b", "math-zoo-llama8b", "math-oat-zero", "math-dapo",
    "math-aime-filtered", "code-r1", "code-deepcoder", "visual-easyr1", "coverage", "accuracy-histogram",
    "perplexity", "distillation", "temperature", "entropy", "cot-validity", "rl-algorithms", "rl-steps",
    "rl-kl-rollouts", "visual-easyr1-train",
}


def test_every_experiment_is_registered_once():
    ids = [e.id for e in EXPERIMENTS]
    assert len(ids) == len(set(ids))
    assert set(ids) == PAPER_IDS


def test_every_figure_and_table_is_covered():
    covered = " ".join(figure for e in EXPERIMENTS for figure in e.figures)
    # Figs 1-17 except the illustrations and out-of-scope figures (Fig 1 left is a drawing;
    # Fig 18 is training curves); Tables 2-5.
    for number in range(1, 18):
        assert re.search(rf"Figure {number}\b", covered), f"Figure {number} has no experiment"
    for number in range(2, 6):
        assert f"Table {number}" in covered


def test_every_expected_curve_exists_and_every_digitized_curve_is_used():
    points = load_curves()
    used = set()
    for experiment in EXPERIMENTS:
        for panel in experiment.panels:
            for arm, ref in panel.curves:
                experiment.arm(arm)  # the arm exists
                assert curve_points(points, ref.figure, ref.panel, ref.family, ref.curve)
                assert max(p.k for p in curve_points(points, ref.figure, ref.panel, ref.family, ref.curve)) <= panel.n
                used.add((ref.figure, ref.panel, ref.family, ref.curve))
    every = {(p.figure, p.panel, p.family, p.curve) for p in points}
    assert every == used, sorted(every - used)[:5]


def test_histograms_and_solved_sets_exist():
    bars = load_histograms()
    solved = load_solved_sets()
    for experiment in EXPERIMENTS:
        for ref in experiment.histograms:
            assert len(histogram_series(bars, ref.figure, ref.panel, ref.family, ref.series)) == 12
        for ref in experiment.solved_sets:
            assert (ref.source, ref.model) in solved
    assert len(get_experiment("accuracy-histogram").histograms) == 48


def test_models_benchmarks_and_templates_resolve():
    for experiment in EXPERIMENTS:
        for arm in experiment.arms:
            model = MODELS[arm.model]
            assert model.template in TEMPLATES or model.template in {"lcb-codeqwen", "deepcoder", "visual-r1"}
        for _, benchmark in experiment.runs():
            assert benchmark in BENCHMARKS


def test_pinned_revisions_from_the_sources():
    assert MODELS["dapo-qwen-32b"].revision == "38b8075427d3f7d12075377d1e40495875066189"
    assert MODELS["simplerl-zoo-qwen2.5-7b"].revision == "d630142f26acc8adf8051298cba8023232169d56"
    assert MODELS["qwen2.5-32b"].tensor_parallel_size > 1
    # Stopping never depends on a path: every model declares its stop strings.
    assert all(model.stop for model in MODELS.values())


def test_status_column_is_honest():
    assert status_line(get_experiment("math-zoo-qwen7b")).startswith("runs")
    assert status_line(get_experiment("code-r1")).startswith("runs")
    assert status_line(get_experiment("visual-easyr1")).startswith("smoke only; full needs training")
    # Measured, not taken from the paper: the scoring stages exist.
    assert status_line(get_experiment("perplexity")).startswith("runs")
    assert status_line(get_experiment("entropy")).startswith("runs")
    assert "training" in status_line(get_experiment("rl-algorithms"))
