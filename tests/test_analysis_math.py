"""Definitions and tests behind the perplexity and entropy stages: perplexity, token-mean
entropy, the exact Mann-Whitney test, the claim-4 predicate, and the temperature search."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from repro.claims import FAILS, HOLDS, INCONCLUSIVE
from repro.perplexity_claim import low_part_verdict
from repro.rank_test import p_x_smaller, u_distribution, u_statistic
from repro.scores import perplexity, token_mean_entropy
from repro.temperature_search import AT_LOW, BRACKETED, MATCHED, NOT_REACHED, match_temperature


def test_perplexity_is_the_exponentiated_mean_negative_log_likelihood():
    probabilities = [0.5, 0.25, 0.125]
    assert perplexity([math.log(p) for p in probabilities]) == pytest.approx((0.5 * 0.25 * 0.125) ** (-1 / 3))
    assert perplexity([0.0, 0.0]) == 1.0  # a response the model is sure of
    with pytest.raises(ValueError):
        perplexity([])


def test_token_mean_entropy_weighs_responses_by_their_length():
    assert token_mean_entropy([[1.0], [0.0, 0.0, 0.0]]) == pytest.approx(0.25)  # not (1 + 0) / 2
    with pytest.raises(ValueError):
        token_mean_entropy([[], []])


@pytest.mark.parametrize("m,n", [(1, 1), (2, 3), (3, 3), (4, 2), (5, 4)])
def test_the_u_distribution_equals_brute_force_enumeration(m, n):
    counts = np.zeros(m * n + 1)
    values = range(m + n)
    for chosen in itertools.combinations(values, m):  # ranks of the x sample
        others = [v for v in values if v not in chosen]
        counts[int(u_statistic(chosen, others))] += 1
    assert u_distribution(m, n) == pytest.approx(counts / counts.sum())


def test_the_rank_test_p_values():
    x, y = list(range(16)), list(range(100, 116))
    assert p_x_smaller(x, y) == pytest.approx(1 / math.comb(32, 16))  # every x below every y
    assert p_x_smaller(y, x) == pytest.approx(1.0)
    assert 0.3 < p_x_smaller([1, 3, 5, 7], [2, 4, 6, 8]) < 0.6  # interleaved: no evidence


def _ppl(rng, low, high, n=16):
    return list(rng.uniform(low, high, n))


def test_the_claim_holds_when_rl_responses_sit_in_the_low_part():
    rng = np.random.default_rng(0)
    base = _ppl(rng, 1.0, 2.0)
    verdict = low_part_verdict(_ppl(rng, 1.0, 1.3), base, "aime24/0001")
    assert verdict.verdict == HOLDS, verdict.evidence


def test_a_doctored_input_makes_the_claim_fail():
    rng = np.random.default_rng(0)
    base = _ppl(rng, 1.0, 2.0)
    doctored = [value + 1.0 for value in _ppl(rng, 1.0, 1.3)]  # RL responses now unlikely for the base
    verdict = low_part_verdict(doctored, base, "aime24/0001")
    assert verdict.verdict == FAILS, verdict.evidence


def test_the_same_distribution_is_inconclusive():
    rng = np.random.default_rng(1)
    verdict = low_part_verdict(_ppl(rng, 1.0, 2.0), _ppl(rng, 1.0, 2.0), "aime24/0001")
    assert verdict.verdict == INCONCLUSIVE, verdict.evidence


def _synthetic_entropy(temperature: float) -> float:
    """A smooth entropy curve rising with T (shaped like a real model's)."""
    return 1.2 * math.tanh(0.9 * (temperature - 0.3))


def test_the_search_finds_the_temperature_of_a_synthetic_entropy_curve():
    target = _synthetic_entropy(1.37)
    found = match_temperature(_synthetic_entropy, target, entropy_tolerance=1e-4, temperature_tolerance=1e-3)
    assert found.status in (MATCHED, BRACKETED)
    assert found.temperature == pytest.approx(1.37, abs=2e-3)
    assert abs(found.entropy - target) <= 1e-3
    assert len(found.evaluations) <= 2 + math.ceil(math.log2(1.4 / 1e-3))  # bisection, not a scan


def test_the_search_stops_within_its_stated_tolerances():
    target = _synthetic_entropy(0.9)
    found = match_temperature(_synthetic_entropy, target)  # defaults: 0.01 entropy, 0.05 temperature
    assert abs(found.temperature - 0.9) <= 0.05
    assert found.evaluations[0][0] == 0.6 and found.evaluations[1][0] == 2.0


def test_the_search_says_when_the_target_is_outside_the_range():
    assert match_temperature(_synthetic_entropy, 0.01).status == AT_LOW  # already above the target at T = 0.6
    assert match_temperature(_synthetic_entropy, 5.0).status == NOT_REACHED


def test_the_two_perplexity_problems_are_a_fixed_seeded_draw():
    from repro.analysis.perplexity import chosen_problems
    from repro.problems import Problem

    problems = [Problem(f"aime24/{i:04d}", i, "", "") for i in range(30)]
    assert [p.problem_id for p in chosen_problems(problems)] == ["aime24/0012", "aime24/0027"]  # docs/analysis.md


def test_external_responses_must_name_a_scored_problem(tmp_path):
    from repro.analysis.perplexity import read_external
    from repro.errors import InputFileError
    from repro.problems import Problem

    problems = [Problem("aime24/0012", 12, "", "")]
    path = tmp_path / "o1.jsonl"
    path.write_text('{"problem_id": "aime24/0012", "response": "x", "source": "o1"}\n')
    assert read_external(path, problems) == {"o1": {"aime24/0012": ["x"]}}
    path.write_text('{"problem_id": "aime24/0001", "response": "x"}\n')
    with pytest.raises(InputFileError, match="not one of the scored problems"):
        read_external(path, problems)
    path.write_bytes(b'{"problem_id": "aime24/0012", "response": "\xff"}\n')
    with pytest.raises(InputFileError, match="not a UTF-8 file"):
        read_external(path, problems)
    with pytest.raises(InputFileError, match="not a regular file"):
        read_external(tmp_path, problems)


def test_responses_are_for_the_perplexity_experiment_only(tmp_path):
    from typer.testing import CliRunner

    import cli

    (tmp_path / "o1.jsonl").write_text("")
    result = CliRunner().invoke(cli.app, ["run", "math-oat-zero", "--tier", "smoke", "--backend", "simulated",
                                          "--responses", str(tmp_path / "o1.jsonl"), "--out", str(tmp_path)])
    assert result.exit_code == 2 and "--responses gives other models' responses to the perplexity" in result.output


def test_a_kept_measurement_is_used_only_under_its_own_key(tmp_path):
    from repro.measurements import MeasurementCache

    cache = MeasurementCache(tmp_path)
    key = {"responses": "abc", "temperature": 0.6}
    cache.put("scores", key, [1, 2])
    assert cache.get("scores", key) == [1, 2]
    assert cache.get("scores", {**key, "temperature": 0.7}) is None
    # A file whose stored key differs (edited, or a digest collision) is not used.
    path = cache.path("scores", key)
    path.write_text(path.read_text().replace('"abc"', '"abd"'))
    assert cache.get("scores", key) is None


def test_the_standard_error_of_a_token_mean_is_the_ratio_estimators():
    import math

    from repro.scores import token_mean_of_sums, token_mean_standard_error

    sums, tokens = [10.0, 30.0, 20.0], [20, 40, 40]
    assert token_mean_of_sums(sums, tokens) == pytest.approx(0.6)
    by_hand = math.sqrt(3 / 2 * ((10 - 0.6 * 20) ** 2 + (30 - 0.6 * 40) ** 2 + (20 - 0.6 * 40) ** 2)) / 100
    assert token_mean_standard_error(sums, tokens) == pytest.approx(by_hand)
    assert token_mean_standard_error([5.0], [10]) == 0.0


def test_figure_17s_printed_entropies_are_scored_and_a_doctored_measurement_fails():
    from repro.analysis.entropy import Measured, score_printed_entropies
    from repro.compare import FAIL, PASS

    close = [("Qwen2.5-7B base (T = 0.6)", "AIME24", "aime24", Measured(0.472, 0.01)),
             ("SimpleRL-Zoo (T = 0.6)", "AMC23", "amc23", Measured(0.215, 0.01)),
             ("SimpleRL-Zoo (T = 0.6)", "AIME24", "aime24", Measured(0.3, 0.01))]  # not printed: left out
    points = score_printed_entropies(close)
    assert [(p.arm, p.paper, p.verdict, p.unit) for p in points] == [
        ("Qwen2.5-7B base (T = 0.6)", 0.47, PASS, "nats"), ("SimpleRL-Zoo (T = 0.6)", 0.22, PASS, "nats")]
    doctored = score_printed_entropies([("Qwen2.5-7B base (T = 0.6)", "AIME24", "aime24", Measured(0.9, 0.01))])
    assert [p.verdict for p in doctored] == [FAIL]
