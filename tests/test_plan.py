"""Declare, then execute: specs decide every setting, equal specs share samples, planning
starts no engine, and stand-ins never pass for evidence."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from repro.benchmarks.loading import LoadedBenchmark
from repro.experiments import EXPERIMENTS, get_experiment
from repro.plan import plan_experiment, unique_runs
from repro.pipeline import store_key
from repro.problems import Problem
from repro.sampling import get_backend
from repro.store import key_digest
from repro.tiers import EvidenceError, get_tier

PROJECT = Path(__file__).resolve().parent.parent
FULL, SMOKE, VLLM, SIMULATED = get_tier("full"), get_tier("smoke"), get_backend("vllm"), get_backend("simulated")


def keys(experiment_id: str, tier=FULL, backend=VLLM) -> dict[tuple[str, str], str]:
    """(model, benchmark, temperature) of every run of an experiment -> its store key digest."""
    return {(run.spec.model, run.spec.benchmark, run.spec.temperature): run.spec.key_sha256()
            for run in plan_experiment(get_experiment(experiment_id), tier, backend)}


def test_equal_specs_from_different_experiments_give_equal_store_keys():
    zoo, temperature = keys("math-zoo-qwen7b"), keys("temperature")
    shared = ("qwen2.5-7b", "aime24", 0.6)
    assert zoo[shared] == temperature[shared]
    # ... and so do the store keys proper, once the same data are bound to them.
    loaded = LoadedBenchmark("aime24", [Problem("aime24/0000", 0, "q", "1")], "sha", False)
    specs = {run.experiment: run.spec for experiment in ("math-zoo-qwen7b", "temperature")
             for run in plan_experiment(get_experiment(experiment), FULL, VLLM)
             if (run.spec.model, run.spec.benchmark, run.spec.temperature) == shared}
    assert key_digest(store_key(specs["math-zoo-qwen7b"], loaded)) == key_digest(store_key(specs["temperature"], loaded))
    # Another temperature is another run.
    assert temperature[("qwen2.5-7b", "aime24", 1.2)] != zoo[shared]


def test_a_setting_that_changes_samples_changes_the_key():
    run = plan_experiment(get_experiment("math-zoo-qwen7b"), FULL, VLLM)[0]
    from dataclasses import replace

    spec = run.spec
    for changed in (replace(spec, top_p=0.9), replace(spec, stop=()), replace(spec, run_seed=1),
                    replace(spec, max_new_tokens=100), replace(spec, template_sha256="0"),
                    replace(spec, engine=(("backend", "vllm"),))):
        assert changed.key_sha256() != spec.key_sha256()
    # n, the grader and the reason for the lengths change no sample.
    assert replace(spec, n=7, grader="x", lengths_source="y").key_sha256() == spec.key_sha256()


def test_coverage_plans_no_livecodebench_sampling_beyond_code_r1s():
    code_r1 = set(keys("code-r1").values())
    coverage_code = {key for (model, bench, _), key in keys("coverage").items() if bench.startswith("lcb")}
    assert coverage_code and coverage_code <= code_r1


def test_accuracy_histogram_plans_no_sampling_beyond_the_zoos():
    zoo = set().union(*(keys(experiment.id).values() for experiment in EXPERIMENTS
                        if experiment.id.startswith("math-zoo-")))
    histogram = set(keys("accuracy-histogram").values())
    assert histogram and histogram <= zoo


def test_a_shared_run_is_planned_once_at_the_largest_n():
    planned = [run for experiment in ("math-zoo-llama8b", "accuracy-histogram")
               for run in plan_experiment(get_experiment(experiment), FULL, VLLM)]
    runs = unique_runs(planned)
    olympiad = [run for run in runs if (run.spec.model, run.spec.benchmark) == ("llama3.1-8b", "olympiad")]
    assert len(olympiad) == 1 and olympiad[0].spec.n == 512  # the zoo's 512, not the histogram's 128
    assert olympiad[0].experiments == ("math-zoo-llama8b", "accuracy-histogram")


def test_planning_imports_no_engine():
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(PROJECT)!r})
        from repro.commands import plan
        plan([], "full")
        plan([], "smoke")
        plan([], "full", as_json=True)
        loaded = [name for name in ("torch", "vllm", "transformers") if name in sys.modules]
        print("loaded:", loaded)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=PROJECT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "loaded: []"


@pytest.mark.parametrize("tier", ["full", "quick"])
def test_the_simulated_backend_is_refused_outside_the_smoke_tier(tier):
    with pytest.raises(EvidenceError, match="smoke tier only"):
        plan_experiment(get_experiment("math-oat-zero"), get_tier(tier), SIMULATED)


def test_simulated_runs_name_the_paper_data_they_are_fitted_to():
    for run in plan_experiment(get_experiment("coverage"), SMOKE, SIMULATED):
        calibration = dict(run.spec.calibration)
        # Table 5 names LiveCodeBench problems up to index 450: the simulation takes them all.
        limit = 451 if run.spec.benchmark == "lcb-2305-2501" else 100
        assert ("curve" in calibration) and calibration["problem_limit"] == run.spec.problem_limit == limit
        # Both benchmarks have printed solved lists (Tables 4, 5): the problems are ordered by them.
        assert "problem_order" in calibration and "problem_order" in run.spec.key()["calibration"]
    # Real engines have no calibration, and the stand-in tier runs them on tiny models.
    for run in plan_experiment(get_experiment("coverage"), SMOKE, VLLM):
        assert run.spec.calibration is None and run.spec.weights.source == "tiny"


def test_unreleased_models_need_a_checkpoint_outside_the_smoke_tier(tmp_path):
    from repro.errors import ReproError

    with pytest.raises(ReproError, match="never released"):
        plan_experiment(get_experiment("visual-easyr1"), FULL, VLLM)


def test_plan_calibrates_from_what_a_finished_run_measured(tmp_path):
    import json

    from repro.commands import plan
    from repro.store import WHOLE, SampleStore

    spec = next(run.spec for run in plan_experiment(get_experiment("math-oat-zero"), FULL, VLLM)
                if run.arm == "rl")
    store = SampleStore.open(tmp_path / "samples" / "vllm" / spec.model / "aime24" / "T0.6-x", spec.key())
    records = [{"problem_id": "aime24/0000", "round": 0, "seed": 1,
                "samples": [{"text": "a", "finish_reason": "stop", "num_tokens": 900}] * 4}]
    store.append_chunk(WHOLE, records, seconds=0.36)  # 3,600 tokens in 0.36 s: 10,000 tokens/s
    planned = json.loads(plan(["math-oat-zero"], "full", as_json=True, calibrate_from=tmp_path))
    runs = {run["model"]: run for run in planned["runs"]}
    assert runs["oat-zero-7b"]["mean_output_tokens"] == 900 and runs["oat-zero-7b"]["measured"]
    assert runs["oat-zero-7b"]["engine_tokens_per_s"] == pytest.approx(10_000)
    assert not runs["qwen2.5-math-7b"]["measured"]  # that run had no such model: assumed values stay
    from repro.errors import ReproError

    with pytest.raises(ReproError, match="no sample stores"):
        plan(["math-oat-zero"], "full", calibrate_from=tmp_path / "nothing")


def test_the_full_tier_total_in_the_docs_is_what_repro_plan_says():
    import json
    import re

    from repro.commands import plan

    text = (PROJECT / "docs" / "performance.md").read_text()
    match = re.search(r"Total: ([\d,]+) unique runs, ([\d,]+) samples, about ([\d,]+) GPU-hours", text)
    assert match, "docs/performance.md lost its total line"
    planned = json.loads(plan([], "full", as_json=True))["total"]
    assert int(match[1].replace(",", "")) == planned["runs"]
    assert int(match[2].replace(",", "")) == planned["samples"]
    assert int(match[3].replace(",", "")) == round(planned["gpu_hours"])
