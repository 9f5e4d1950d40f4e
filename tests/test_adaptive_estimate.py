"""`repro plan --tier adaptive`: the adaptive tier's samples and GPU-hours simulated from the
paper's curves (repro.adaptive_estimate), beside the full tier's. Small experiments and two
reruns keep these fast; how many reruns a stable estimate needs is in docs/performance.md."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from cli import app
from repro import adaptive_estimate
from repro.benchmarks import get_benchmark
from repro.commands import plan
from repro.experiments import get_experiment
from repro.pipeline import calibrated_probabilities
from repro.plan import calibration_source, plan_experiment, printed_problem_ranks, unique_runs
from repro.sampling import get_backend
from repro.tiers import get_tier

ADAPTIVE, VLLM = get_tier("adaptive"), get_backend("vllm")
RERUNS = 2


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Each test its own cache (nothing read from, or left in, this machine's), and plans of two
    reruns."""
    monkeypatch.setenv("REPRO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(adaptive_estimate, "DEFAULT_RERUNS", RERUNS)
    return tmp_path / "cache"


def planned(*experiment_ids: str):
    runs = [run for experiment_id in experiment_ids
            for run in plan_experiment(get_experiment(experiment_id), ADAPTIVE, VLLM)]
    return unique_runs(runs), {i: get_experiment(i) for i in experiment_ids}


def by_model(unique, found) -> dict[tuple[str, str], adaptive_estimate.RunEstimate]:
    return {(run.spec.model, run.spec.benchmark): found.runs[run.spec.key_sha256()] for run in unique}


def test_the_adaptive_tier_plans_the_full_tiers_runs():
    # Same store keys: the adaptive tier's samples are a prefix of the full tier's, reused by it.
    full = plan_experiment(get_experiment("math-dapo"), get_tier("full"), VLLM)
    adaptive = plan_experiment(get_experiment("math-dapo"), ADAPTIVE, VLLM)
    assert [run.spec for run in adaptive] == [run.spec for run in full]


def test_probabilities_are_the_simulated_backends_in_its_problem_order():
    experiment = get_experiment("math-oat-zero")
    source = calibration_source(experiment, experiment.arm("rl"), "aime24")
    fitted = calibrated_probabilities(source, get_benchmark("aime24").size)
    placed = adaptive_estimate.run_probabilities(experiment, "rl", "aime24")
    assert len(placed) == 30 and sorted(placed) == pytest.approx(sorted(fitted))
    # AIME24 has printed solved lists (Table 4): the problems every list names come first, and
    # get the fit's highest probabilities; the problems no list names get the lowest.
    ranks = printed_problem_ranks("aime24")
    named_by_all = [i for i, rank in ranks.items() if rank == 0]
    named_by_none = [i for i, rank in ranks.items() if rank == max(ranks.values())]
    assert named_by_all and named_by_none
    assert placed[named_by_all].min() >= placed[named_by_none].max()
    # Without printed lists the fit keeps its own order.
    dapo = get_experiment("math-dapo")
    assert not printed_problem_ranks("aime24-filtered")
    order = adaptive_estimate.simulation_order("aime24-filtered", np.arange(5.0))
    assert list(order) == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert set(adaptive_estimate.probabilities(dapo)) == set(dapo.runs())


def test_the_estimate_is_at_most_the_full_tiers_and_deterministic_for_a_seed(private_cache):
    unique, experiments = planned("math-dapo")
    first = adaptive_estimate.estimate(unique, experiments, reruns=RERUNS, seed=0)
    assert (first.simulated, first.cached) == (1, 0)
    for run in unique:
        estimate = first.runs[run.spec.key_sha256()]
        problems = get_benchmark(run.spec.benchmark).size
        assert estimate.full_samples == problems * run.spec.n
        # Every problem gets its first round, and no problem more than the full n.
        assert problems * 32 <= min(estimate.per_rerun) and max(estimate.per_rerun) <= estimate.full_samples
        assert estimate.samples < estimate.full_samples and estimate.simulated
    # The same seed gives the same estimate: from the cache, and simulated afresh.
    again = adaptive_estimate.estimate(unique, experiments, reruns=RERUNS, seed=0)
    assert (again.simulated, again.cached) == (0, 1) and again.runs == first.runs
    for stored in (private_cache / adaptive_estimate.CACHE_FOLDER).iterdir():
        stored.unlink()
    assert adaptive_estimate.estimate(unique, experiments, reruns=RERUNS, seed=0).runs == first.runs
    # Another seed draws other samples.
    other = adaptive_estimate.estimate(unique, experiments, reruns=RERUNS, seed=1)
    assert other.runs != first.runs


def test_a_damaged_cache_is_simulated_again(private_cache):
    unique, experiments = planned("math-dapo")
    first = adaptive_estimate.estimate(unique, experiments, reruns=RERUNS)
    [stored] = (private_cache / adaptive_estimate.CACHE_FOLDER).iterdir()
    stored.write_bytes(b"not a zip file")
    again = adaptive_estimate.estimate(unique, experiments, reruns=RERUNS)
    assert (again.simulated, again.cached) == (1, 0) and again.runs == first.runs


def test_a_change_of_method_or_paper_data_misses_the_cache(monkeypatch):
    unique, experiments = planned("math-dapo")
    adaptive_estimate.estimate(unique, experiments, reruns=RERUNS)
    monkeypatch.setattr(adaptive_estimate, "SIMULATION_VERSION", adaptive_estimate.SIMULATION_VERSION + 1)
    assert adaptive_estimate.estimate(unique, experiments, reruns=RERUNS).simulated == 1
    monkeypatch.setattr(adaptive_estimate, "paper_data_sha256", lambda: "another paper")
    assert adaptive_estimate.estimate(unique, experiments, reruns=RERUNS).simulated == 1


def test_a_run_shared_by_two_experiments_draws_per_problem_the_most_either_asks_for():
    # math-aime-filtered and cot-validity read the same AIME24-filtered runs.
    unique, experiments = planned("math-aime-filtered", "cot-validity")
    shared = [run for run in unique if run.experiments == ("math-aime-filtered", "cot-validity")]
    assert shared, "the two experiments no longer share a run"
    both = by_model(unique, adaptive_estimate.estimate(unique, experiments, reruns=RERUNS))
    alone = {}
    for experiment_id in experiments:
        mine, one = planned(experiment_id)
        alone[experiment_id] = by_model(mine, adaptive_estimate.estimate(mine, one, reruns=RERUNS))
    for run in shared:
        key = (run.spec.model, run.spec.benchmark)
        a, b = alone["math-aime-filtered"][key], alone["cot-validity"][key]
        # Counted once: the two experiments read the same draws, so each rerun's run takes at
        # least what either takes alone and at most both together (and never the full n twice).
        for joint, first, second in zip(both[key].per_rerun, a.per_rerun, b.per_rerun):
            assert max(first, second) <= joint <= min(first + second, both[key].full_samples)
    # Counted once in the plan, too.
    document = json.loads(plan(["math-aime-filtered", "cot-validity"], "adaptive", as_json=True))
    keys = [run["key_sha256"] for run in document["runs"]]
    assert len(keys) == len(set(keys))
    listed = {run["key_sha256"]: run for run in document["runs"]}
    for run in shared:
        row = listed[run.spec.key_sha256()]
        assert {use.split("/")[0] for use in row["experiments"]} == {"math-aime-filtered", "cot-validity"}
        assert row["adaptive"]["samples"] == pytest.approx(both[(run.spec.model, run.spec.benchmark)].samples)


def test_a_run_no_adaptive_loop_samples_counts_at_the_full_n():
    unique, experiments = planned("math-aime-filtered")
    found = adaptive_estimate.estimate(unique, experiments, reruns=1)
    # The AIME24 filter's direct answers are planned by repro plan, not by the experiment's runs:
    # here the experiment is given without them, so every run is simulated ...
    assert all(found.runs[run.spec.key_sha256()].simulated for run in unique)
    # ... while in the plan the filter run is at its full n.
    document = json.loads(plan(["math-aime-filtered"], "adaptive", as_json=True))
    filter_run = next(run for run in document["runs"] if run["experiments"] == ["math-aime-filtered/aime24-filter"])
    assert filter_run["adaptive"]["samples"] == filter_run["samples"] and not filter_run["adaptive"]["simulated"]


def test_plan_json_has_the_adaptive_estimate_in_the_full_tiers_cost_model():
    document = json.loads(plan(["math-dapo"], "adaptive", as_json=True, gpus=8))
    assert document["tier"] == "adaptive"
    for run in document["runs"]:
        estimate = run["adaptive"]
        assert 0 < estimate["samples"] <= run["samples"]
        assert estimate["share_of_full_samples"] == pytest.approx(estimate["samples"] / run["samples"])
        assert estimate["output_tokens"] == pytest.approx(estimate["samples"] * run["mean_output_tokens"])
        assert estimate["gpu_hours"] == pytest.approx(
            estimate["output_tokens"] / run["engine_tokens_per_s"] / 3600 * run["gpus"])
        assert estimate["gpu_hours"] <= run["gpu_hours"] and estimate["wall_hours"] <= run["wall_hours"]
    total = document["adaptive"]["total"]
    assert total["gpu_hours"] == pytest.approx(sum(run["adaptive"]["gpu_hours"] for run in document["runs"]))
    assert total["samples"] == pytest.approx(sum(run["adaptive"]["samples"] for run in document["runs"]))
    assert total["gpu_hours"] < document["total"]["gpu_hours"]
    assert total["gpu_hours_standard_error"] >= 0 and total["runs_at_full_n"] == 0
    assert document["adaptive"]["reruns"] == RERUNS
    assert "paper's curves" in document["adaptive"]["method"]
    # The full tier's plan has no estimate.
    assert "adaptive" not in json.loads(plan(["math-dapo"], "full", as_json=True))


def test_plan_table_shows_both_tiers_and_says_it_is_a_simulation():
    text = plan(["math-dapo"], "adaptive")
    header = next(line for line in text.splitlines() if line.lstrip().startswith("#"))
    for column in ("full samples", "full GPU-h", "adaptive samples", "adaptive GPU-h", "adaptive Mtokens"):
        assert column in header
    assert "Full tier: about" in text and "Adaptive tier, estimated: about" in text
    assert f"{RERUNS} reruns" in text and "paper's curves" in text
    assert "at most the full tier" in text


def test_smoke_adaptive_plans_like_smoke_without_gpu_hours():
    text = plan(["math-dapo"], "smoke-adaptive")
    assert "no GPU-hours" in text and "Adaptive tier" not in text
    document = json.loads(plan(["math-dapo"], "smoke-adaptive", as_json=True))
    assert document["total"]["gpu_hours"] is None and "adaptive" not in document


@pytest.mark.parametrize("args,message", [
    (["plan", "nope", "--tier", "adaptive"], "unknown experiment 'nope'"),
    (["plan", "math-dapo", "--tier", "adaptive", "--backend", "simulated"], "smoke tier only"),
    (["plan", "math-dapo", "--tier", "adaptive", "--backend", "gpt"], "unknown backend 'gpt'"),
    (["plan", "math-dapo", "--tier", "adaptive", "--calibrate", "/nonexistent-folder"], "no sample stores"),
])
def test_bad_input_to_an_adaptive_plan_gives_one_clean_line(args, message):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.output and len(result.output.strip().splitlines()) == 1


def test_the_cache_key_is_the_same_in_every_process():
    """Sets of runs (the checks that take the full n) iterate in an order that changes with
    Python's string hashing: the key must not, or no later plan would find the cache."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = ("from repro import adaptive_estimate as a; from repro.experiments import get_experiment; "
            "e = get_experiment('accuracy-histogram'); runs = e.runs(); "
            "streams = {r: a.stream_name(r[0], r[1], 0.6) for r in runs}; "
            "print(a.cache_key(e, runs, streams, 2, 0, 'paper', 'method'))")
    keys = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           cwd=Path(__file__).resolve().parent.parent,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout.strip() for seed in ("1", "2")}
    assert len(keys) == 1 and len(next(iter(keys))) == 64


def test_experiments_reading_one_run_read_the_same_random_numbers():
    problems = np.arange(50)
    low = adaptive_estimate.RunDraws(np.full(50, 0.3), 0, 0, "m/b/T0.6")
    high = adaptive_estimate.RunDraws(np.full(50, 0.6), 0, 0, "m/b/T0.6")
    # Coupled: a sample correct at p = 0.3 is correct at p = 0.6 (the same uniform number).
    assert (low(problems, 0, 64) <= high(problems, 0, 64)).all()
    assert (low(problems, 0, 64) < high(problems, 0, 64)).any()
    # Rounds are additive, and a partial last round (stop = n) is a prefix of its round.
    assert (low(problems, 0, 32) + low(problems, 32, 64) == low(problems, 0, 64)).all()
    assert (low(problems, 32, 40) <= low(problems, 32, 64)).all() and low(problems, 32, 40).max() <= 8
    # Only the chosen problems, in the order asked.
    assert (low(problems[::-1][:5], 0, 32) == low(problems, 0, 32)[::-1][:5]).all()
    # Another run, rerun or seed: other numbers.
    for other in (("m/b/T1", 0, 0), ("m/b/T0.6", 1, 0), ("m/b/T0.6", 0, 1)):
        stream, rerun, seed = other
        drawn = adaptive_estimate.RunDraws(np.full(50, 0.3), seed, rerun, stream)(problems, 0, 64)
        assert (drawn != low(problems, 0, 64)).any()


def test_an_experiment_with_nothing_to_fit_counts_at_the_full_n(monkeypatch):
    from repro.errors import ReproError

    def nothing(experiment, arm, benchmark):
        raise ReproError(f"{experiment.id}: nothing in the paper to calibrate a simulation of {arm.name}")

    monkeypatch.setattr(adaptive_estimate, "calibration_source", nothing)
    unique, experiments = planned("math-dapo")
    found = adaptive_estimate.estimate(unique, experiments, reruns=1)
    assert found.uncalibrated == ("math-dapo",)
    for run in unique:
        estimate = found.runs[run.spec.key_sha256()]
        assert estimate.samples == estimate.full_samples and not estimate.simulated
