"""Printed numbers (expected/printed_values.csv) are expected values: every row is scored by an
experiment or says why not, and a doctored rerun fails them."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import simulated_result
from repro.compare import FAIL, NOT_RUN, PASS, compare_printed
from repro.expected import find_printed, load_printed
from repro.experiments import EXPERIMENTS, get_experiment
from repro.experiments.registry import printed_not_scored
from repro.printed import Gap, PassAt, PrintedRef, SmallestGap, SolvedCount


def _refs():
    return [(experiment, ref) for experiment in EXPERIMENTS for ref in experiment.printed]


def test_every_printed_row_is_scored_or_says_why_not():
    values = load_printed()
    scored = {ref.printed for _, ref in _refs()}
    for value in values:
        key = (value.source, value.row, value.benchmark, value.metric)
        assert key in scored or printed_not_scored(key), f"{key} is neither scored nor explained"
        assert not (key in scored and printed_not_scored(key)), f"{key} is scored and also said not to be"
    for experiment, ref in _refs():
        find_printed(values, *ref.printed)  # every reference names a real row
        for key in ref.scored_against or ():
            find_printed(values, *key)
        assert ref.needs() <= set(experiment.runs()), (experiment.id, ref.printed)


def _faithful(experiment_id: str, n: int = 256, problems: int = 300, seed: int = 0) -> dict:
    """Results whose arms reproduce the experiment's printed pass@1 and pass@256 well: each
    arm's per-problem rates are drawn so that its mean rate is the printed pass@1."""
    rng = np.random.default_rng(seed)
    experiment = get_experiment(experiment_id)
    results = {}
    for arm, benchmark in experiment.runs():
        p = rng.beta(0.3, 0.9, size=problems)
        results[(arm, benchmark)] = simulated_result(arm, benchmark, p, n, rng)
    return results


def test_section_4_3_is_scored_against_table_2_with_the_texts_number_beside():
    experiment = get_experiment("rl-algorithms")
    rows = [p for p in compare_printed(experiment.printed, {}) if p.panel == "Section 4.3 (printed)"]
    grpo = next(p for p in rows if p.curve.startswith("GRPO"))
    assert grpo.paper == pytest.approx(0.691 - 0.251) and "the text prints 43.9" in grpo.curve
    assert grpo.paper_error == pytest.approx(0.001) and grpo.verdict == NOT_RUN


def _constant(arm: str, benchmark: str, rate: float, n: int = 256, problems: int = 200) -> tuple:
    """A rerun whose every problem is solved at `rate` exactly (c = rate * n)."""
    from repro.results import RunResult

    ids = tuple(f"{benchmark}/{i:04d}" for i in range(problems))
    c = np.full(problems, round(rate * n))
    return (arm, benchmark), RunResult(arm, benchmark, ids, tuple(range(problems)), np.full(problems, n), c)


def test_a_pass_at_k_value_passes_when_reproduced_and_fails_when_doctored():
    ref = PrintedRef(("Table 2", "GRPO", "MATH500", "pass@1"), PassAt("grpo", "math500", 1), 256)
    (good,) = compare_printed((ref,), dict([_constant("grpo", "math500", 0.744)]))
    (bad,) = compare_printed((ref,), dict([_constant("grpo", "math500", 0.70)]))
    assert good.verdict == PASS and bad.verdict == FAIL
    assert good.paper == pytest.approx(0.744) and bad.rerun == pytest.approx(179 / 256)


def test_delta_se_and_the_smallest_gap_of_figure_8():
    base = _constant("base", "math500", 0.9)
    rerun = dict([base, _constant("a", "math500", 0.70), _constant("b", "math500", 0.76)])
    gaps = SmallestGap((("a", Gap(PassAt("base", "math500", 256), PassAt("a", "math500", 1))),
                        ("b", Gap(PassAt("base", "math500", 256), PassAt("b", "math500", 1)))))
    estimate = gaps.estimate(rerun, 256)
    assert estimate.value == pytest.approx(rerun[("base", "math500")].value(256) - rerun[("b", "math500")].value(1))
    assert estimate.detail.startswith("smallest: b;") and "a " in estimate.detail
    ref = PrintedRef(("Figure 8", "best RL algorithm", "MATH500", "Delta_SE"), gaps, 256)
    (point,) = compare_printed((ref,), rerun)
    assert point.verdict == FAIL  # 1.0 - 0.76 = 0.24 against the printed 0.206, with no noise to hide it
    (close,) = compare_printed((ref,), {**rerun, **dict([_constant("b", "math500", 0.794)])})
    assert close.verdict == PASS


def test_solved_counts_follow_the_per_problem_chances():
    from repro.results import RunResult

    n, problems = 128, 500
    ids = tuple(f"math500/{i:04d}" for i in range(problems))
    # 460 problems both solve often, 20 only the base solves, 5 only RL, 15 neither.
    base_c = np.array([40] * 460 + [40] * 20 + [0] * 5 + [0] * 15)
    rl_c = np.array([60] * 460 + [0] * 20 + [40] * 5 + [0] * 15)
    rerun = {("base", "math500"): RunResult("base", "math500", ids, tuple(range(problems)), np.full(problems, n), base_c),
             ("rl", "math500"): RunResult("rl", "math500", ids, tuple(range(problems)), np.full(problems, n), rl_c)}
    both = SolvedCount("solved by both", "base", "rl", "math500", 128).estimate(rerun, 128)
    assert both.value == pytest.approx(460 / 500)  # drawn at the paper's n: the observed cells
    refs = tuple(PrintedRef(("v5", "Qwen2.5-7B vs SimpleRL-Zoo", "MATH500", category),
                            SolvedCount(category, "base", "rl", "math500", 128), 128)
                 for category in ("solved by both", "solved by base only", "solved by RL only", "solved by neither"))
    verdicts = [point.verdict for point in compare_printed(refs, rerun)]
    assert verdicts == [PASS, PASS, PASS, PASS]  # printed 462 / 18 / 5 / 15
    rl_c = np.array([60] * 400 + [0] * 60 + [0] * 20 + [40] * 5 + [0] * 15)  # doctored: 60 lost by RL
    rerun[("rl", "math500")] = RunResult("rl", "math500", ids, tuple(range(problems)), np.full(problems, n), rl_c)
    assert FAIL in [point.verdict for point in compare_printed(refs, rerun)]


def test_every_experiments_printed_values_are_scored_on_faithful_shapes_without_error():
    # Not a reproduction (random shapes): every reference evaluates to a verdict, none crash.
    for experiment_id in ("rl-algorithms", "rl-steps", "math-zoo-qwen7b", "math-zoo-qwen32b"):
        experiment = get_experiment(experiment_id)
        points = compare_printed(experiment.printed, _faithful(experiment_id))
        assert len(points) == len(experiment.printed)
        assert all(point.verdict in (PASS, FAIL) for point in points)
