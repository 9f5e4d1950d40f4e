"""Claims as predicates: each verdict reached on data built to produce it."""

from __future__ import annotations

import numpy as np

from repro.claims import (
    FAILS,
    HOLDS,
    INCONCLUSIVE,
    NOT_RUN,
    AboveEverywhere,
    Crossing,
    Greater,
    HistogramShift,
    NearlySubset,
    NeedsStage,
    Similar,
)
from tests.conftest import simulated_result

N_PROBLEMS = 400


def pair(base_p, rl_p, n=256, seed=0):
    rng = np.random.default_rng(seed)
    return {("base", "b"): simulated_result("base", "b", np.asarray(base_p), n, rng),
            ("rl", "b"): simulated_result("rl", "b", np.asarray(rl_p), n, rng)}


def paper_like():
    """RL sharper on what it solves, base solves more problems overall (the paper's picture)."""
    rng = np.random.default_rng(1)
    base = rng.beta(0.5, 2.0, N_PROBLEMS)
    rl = np.where(base > 0.08, np.minimum(1.0, base * 2.0), 0.0)
    return base, rl


def test_crossing_holds_on_the_papers_picture():
    base, rl = paper_like()
    verdict = Crossing("base", "rl", ("b",)).evaluate(pair(base, rl))[0]
    assert verdict.verdict == HOLDS, verdict.evidence


def test_crossing_fails_when_rl_dominates_everywhere():
    base, _ = paper_like()
    better = np.minimum(1.0, base * 1.5 + 0.05)
    assert Crossing("base", "rl", ("b",)).evaluate(pair(base, better))[0].verdict == FAILS


def test_crossing_is_inconclusive_for_identical_models():
    base, _ = paper_like()
    assert Crossing("base", "rl", ("b",)).evaluate(pair(base, base, seed=3))[0].verdict == INCONCLUSIVE


def test_missing_runs_are_not_run():
    base, rl = paper_like()
    results = pair(base, rl)
    del results[("rl", "b")]
    assert Crossing("base", "rl", ("b",)).evaluate(results)[0].verdict == NOT_RUN
    assert NeedsStage(4, "ppl", "no stage").evaluate(results)[0].verdict == NOT_RUN


def test_greater_with_offset_and_k_beyond_n():
    base, rl = paper_like()
    results = pair(base, rl, n=64)
    # Delta_SE-style: base@64 - rl@1 beyond an offset.
    small = Greater(6, "gap", "base", 64, "rl", 1, "b", offset=0.0).evaluate(results)[0]
    huge = Greater(6, "gap", "base", 64, "rl", 1, "b", offset=0.99).evaluate(results)[0]
    assert small.verdict == HOLDS and huge.verdict == FAILS
    assert Greater(6, "gap", "base", 256, "rl", 1, "b").evaluate(results)[0].verdict == NOT_RUN


def test_similar_within_margin():
    base, _ = paper_like()
    assert Similar(8, "same", "rl", "base", 1, "b", margin=0.02).evaluate(pair(base, base, seed=4))[0].verdict == HOLDS
    assert Similar(8, "same", "rl", "base", 1, "b", margin=0.02).evaluate(pair(base, base * 0.5))[0].verdict == FAILS


def test_above_everywhere():
    base, _ = paper_like()
    higher = np.minimum(1.0, base + 0.3)
    assert AboveEverywhere(5, "d", "rl", "base", "b").evaluate(pair(base, higher))[0].verdict == HOLDS
    assert AboveEverywhere(5, "d", "base", "rl", "b").evaluate(pair(base, higher))[0].verdict == FAILS


def test_nearly_subset():
    base, rl = paper_like()
    assert NearlySubset("base", "rl", "b").evaluate(pair(base, rl))[0].verdict == HOLDS
    # RL solving a block of problems the base never solves breaks the subset.
    base2 = base.copy()
    base2[:100] = 0.0
    rl2 = rl.copy()
    rl2[:100] = 0.5
    verdict = NearlySubset("base", "rl", "b").evaluate(pair(base2, rl2))[0]
    assert verdict.verdict == FAILS and "RL-only 100" in verdict.evidence


def test_histogram_shift():
    base, rl = paper_like()
    assert HistogramShift("base", "rl", ("b",)).evaluate(pair(base, rl))[0].verdict == HOLDS
    assert HistogramShift("base", "rl", ("b",)).evaluate(pair(rl, base))[0].verdict == FAILS


def test_every_claim_of_every_experiment_has_its_statement_and_histogram_claims_name_their_family():
    from repro.claims import CLAIM_STATEMENTS, HistogramShift, claim_heading
    from repro.experiments import EXPERIMENTS, get_experiment

    numbers = {claim.paper_claim for experiment in EXPERIMENTS for claim in experiment.claims}
    assert numbers <= set(CLAIM_STATEMENTS) and set(CLAIM_STATEMENTS) == set(range(1, 10))
    assert claim_heading(2).startswith("Claim 2: the problems RL solves are (nearly) a subset")
    shifts = [c for c in get_experiment("accuracy-histogram").claims if isinstance(c, HistogramShift)]
    families = [claim.family for claim in shifts]
    assert len(families) == len(set(families)) == 4 and all(families)
    (verdict, *_) = shifts[0].evaluate({})
    assert verdict.scope.startswith(families[0] + ", ")


def test_compare_prints_each_claims_statement(tmp_path):
    from typer.testing import CliRunner

    import cli

    for arm in ("base", "rl"):
        (tmp_path / f"{arm}__aime24.csv").write_text(
            "problem_id,n,correct\n" + "".join(f"aime24/{i:04d},64,{i % 9}\n" for i in range(30)))
    result = CliRunner().invoke(cli.app, ["compare", "math-zoo-qwen7b", "--results", str(tmp_path)])
    assert "Claim 1: RL beats its base model at pass@1" in result.output, result.output
