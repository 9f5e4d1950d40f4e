"""The adaptive tiers through the real pipeline (repro.adaptive_run, repro.adaptive_verdicts):
`repro run EXP --tier smoke-adaptive` samples rounds into the same stores as the smoke tier,
fewer of them, as a prefix of the smoke tier's; a resumed run takes the same decisions; the
report and the exit status follow the adaptive verdicts."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from cli import app
from repro import adaptive
from repro.adaptive_verdicts import (CARRIERS, FULL_RULE, adaptive_comparison, complete_decisions,
                                     full_tier_verdicts)
from repro.experiments import get_experiment
from repro.progress import no_progress
from repro.store import SampleStore
from tests.conftest import simulated_result

EXPERIMENT = "math-oat-zero"  # 2 runs of 30 AIME24 problems at n 2,048: seconds on the simulated backend
PROBLEMS, N, ROUND = 30, 2048, 32


def _run(*args: str):
    return CliRunner().invoke(app, ["run", EXPERIMENT, *args])


def _results(root: Path, tier: str, backend: str = "simulated") -> Path:
    return root / "experiments" / EXPERIMENT / tier / backend / "results"


def _record(root: Path, tier: str = "smoke-adaptive", backend: str = "simulated") -> dict:
    return json.loads((_results(root, tier, backend) / "adaptive.json").read_text())


def _stores(root: Path, backend: str = "simulated") -> list[Path]:
    return sorted(p.parent for p in (root / "samples" / backend).rglob("manifest.json"))


def _records(store: Path) -> list[dict]:
    """Every stored unit's record (problem, round, seed, samples), in storage order."""
    opened = SampleStore(store)
    return [record for name, entry in sorted(opened.chunk_listing().items())
            for record in opened.read_chunk(name, entry["sha256"])]


def _units(root: Path) -> list[tuple[str, str, int]]:
    """(store, problem, round) of every stored unit; a unit stored twice appears twice."""
    return [(store.name, r["problem_id"], r["round"]) for store in _stores(root) for r in _records(store)]


def _decisions(record: dict) -> list[tuple]:
    return [(tuple(v["key"]), v["verdict"], v["look"], v["samples"]) for v in record["verdicts"]]


@pytest.fixture(scope="module")
def adaptive_run(tmp_path_factory):
    """One uninterrupted smoke-adaptive run of the experiment on the simulated backend."""
    root = tmp_path_factory.mktemp("adaptive")
    result = _run("--tier", "smoke-adaptive", "--backend", "simulated", "--out", str(root))
    assert result.exit_code == 0, result.output
    return root, result.output


def test_the_adaptive_tier_draws_fewer_samples_than_the_full_tier_in_rounds(adaptive_run):
    root, output = adaptive_run
    record = _record(root)
    assert record["simulated"] is True and "simulated" in record["note"]
    assert {(r["arm"], r["benchmark"]) for r in record["runs"]} == {("base", "aime24"), ("rl", "aime24")}
    total = record["total"]
    assert total["full_samples"] == 2 * PROBLEMS * N
    assert 0 < total["samples"] < total["full_samples"]
    assert total["samples"] == sum(r["samples"] for r in record["runs"])
    # Every verdict of the full tier's comparison has an adaptive verdict, with its cost.
    kinds = {v["key"][0] for v in record["verdicts"]}
    assert kinds == {"point", "claim"}
    assert all(0 < v["samples"] <= v["full_samples"] for v in record["verdicts"])
    assert all(v["verdict"] in ("pass", "fail", "holds", "fails", "inconclusive") for v in record["verdicts"])
    # The results have per-problem n = the samples drawn, m_i on the ladder 32, 64, ... 2048.
    drawn = 0
    for run in record["runs"]:
        rows = list(csv.DictReader((_results(root, "smoke-adaptive") / f"{run['arm']}__aime24.csv").open()))
        sizes = [int(row["n"]) for row in rows]
        assert len(rows) == PROBLEMS and set(sizes) <= set(adaptive.ladder(N))
        assert sum(sizes) == run["samples"]
        drawn += sum(sizes)
    assert drawn == total["samples"]
    # The stores hold exactly those rounds: rounds 0..m_i/32-1 of each problem, each once.
    units = _units(root)
    assert len(units) == len(set(units)) == total["samples"] // ROUND
    for store in _stores(root):
        rounds: dict[str, set[int]] = {}
        for r in _records(store):
            rounds.setdefault(r["problem_id"], set()).add(r["round"])
        assert all(found == set(range(len(found))) for found in rounds.values())
    # Every output says it is a simulation, and the report shows the adaptive verdicts.
    assert "checks the machinery, not the paper" in output
    report = (root / "reports" / "smoke-adaptive" / "report.md").read_text()
    assert "### Adaptive verdicts" in report and "How the adaptive tier decides" in report
    assert "A simulation" in report and "docs/statistics.md" in report
    assert f"{total['samples']:,} of the full tier's {total['full_samples']:,} samples" in report
    assert f"differs from the full tier's with a chance of at most {100 * adaptive.PREDICTION_ERROR:g}%" in report


def test_the_full_tier_afterwards_draws_only_the_missing_rounds_and_gives_its_own_results(adaptive_run, tmp_path):
    root, _ = adaptive_run
    shared = tmp_path / "shared"
    shutil.copytree(root, shared)
    before = {(store.name, r["problem_id"], r["round"]): r for store in _stores(shared) for r in _records(store)}
    smoke = _run("--tier", "smoke", "--backend", "simulated", "--out", str(shared))
    assert smoke.exit_code == 0, smoke.output
    fresh = tmp_path / "fresh"
    alone = _run("--tier", "smoke", "--backend", "simulated", "--out", str(fresh))
    assert alone.exit_code == 0, alone.output
    # The same stores (same keys) hold every round once: the adaptive ones kept, the rest added.
    assert [p.relative_to(shared) for p in _stores(shared)] == [p.relative_to(fresh) for p in _stores(fresh)]
    after = _units(shared)
    assert len(after) == len(set(after)) == 2 * PROBLEMS * N // ROUND
    # The adaptive samples are the smoke tier's first rounds: the same seeds, the same texts.
    reference = {(store.name, r["problem_id"], r["round"]): r for store in _stores(fresh) for r in _records(store)}
    assert all(reference[unit] == record for unit, record in before.items())
    # And the smoke tier's results are its own, as if run alone.
    for arm in ("base", "rl"):
        name = f"{arm}__aime24.csv"
        assert (_results(shared, "smoke") / name).read_bytes() == (_results(fresh, "smoke") / name).read_bytes()
    # The adaptive run again on the full store samples nothing and takes the same decisions.
    again = _run("--tier", "smoke-adaptive", "--backend", "simulated", "--out", str(shared))
    assert again.exit_code == 0, again.output
    assert "generate " not in again.output
    assert _decisions(_record(shared)) == _decisions(_record(root))


class _Interrupted(Exception):
    pass


def test_an_interrupted_run_resumed_takes_the_same_decisions(adaptive_run, tmp_path, monkeypatch):
    from repro import adaptive_run as module
    from repro.commands import run

    root, _ = adaptive_run
    real, calls = module.sample_missing, []

    def dies_on_the_fourth_round(*args, **kwargs):
        calls.append(1)
        if len(calls) == 4:
            raise _Interrupted
        return real(*args, **kwargs)

    monkeypatch.setattr(module, "sample_missing", dies_on_the_fourth_round)
    with pytest.raises(_Interrupted):
        run([EXPERIMENT], "smoke-adaptive", "simulated", tmp_path, None, 0, no_progress)
    assert not (_results(tmp_path, "smoke-adaptive") / "adaptive.json").exists()
    kept = sum(len(_records(store)) for store in _stores(tmp_path))
    assert 0 < kept < _record(root)["total"]["samples"] // ROUND
    monkeypatch.setattr(module, "sample_missing", real)
    assert run([EXPERIMENT], "smoke-adaptive", "simulated", tmp_path, None, 0, no_progress) == 0
    assert _decisions(_record(tmp_path)) == _decisions(_record(root))
    units = _units(tmp_path)
    assert len(units) == len(set(units)) == _record(root)["total"]["samples"] // ROUND  # nothing drawn twice
    for arm in ("base", "rl"):
        name = f"{arm}__aime24.csv"
        assert (_results(tmp_path, "smoke-adaptive") / name).read_bytes() == \
            (_results(root, "smoke-adaptive") / name).read_bytes()


def test_report_and_compare_rebuild_the_adaptive_verdicts_from_the_record(adaptive_run, tmp_path):
    root, _ = adaptive_run
    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    report = CliRunner().invoke(app, ["report", "--tier", "smoke-adaptive", "--out", str(copy)])
    assert report.exit_code == 0, report.output
    assert "### Adaptive verdicts" in (copy / "reports" / "smoke-adaptive" / "report.md").read_text()
    # A verdict recorded as failing fails compare and report (exit 1), as in every tier.
    path = _results(copy, "smoke-adaptive") / "adaptive.json"
    data = json.loads(path.read_text())
    point = next(v for v in data["verdicts"] if v["key"][0] == "point")
    point["verdict"] = "fail"
    path.write_text(json.dumps(data))
    compared = CliRunner().invoke(app, ["compare", EXPERIMENT, "--tier", "smoke-adaptive", "--backend", "simulated",
                                        "--out", str(copy)])
    assert compared.exit_code == 1, compared.output
    assert CliRunner().invoke(app, ["report", "--tier", "smoke-adaptive", "--out", str(copy)]).exit_code == 1
    # A damaged or missing record is one line, exit 2.
    path.write_text("{not json")
    damaged = CliRunner().invoke(app, ["report", "--tier", "smoke-adaptive", "--out", str(copy)])
    assert damaged.exit_code == 2 and "adaptive.json is damaged" in damaged.output
    path.unlink()
    missing = CliRunner().invoke(app, ["report", "--tier", "smoke-adaptive", "--out", str(copy)])
    assert missing.exit_code == 2 and "adaptive.json: missing" in missing.output


@pytest.mark.parametrize("args, message", [
    (["--shard", "0/2"], "--shard does not apply to --tier smoke-adaptive"),
    (["--data-parallel", "2"], "--data-parallel does not apply to --tier smoke-adaptive"),
    (["--backend", "nope"], "unknown backend"),
])
def test_bad_options_are_one_line(tmp_path, args, message):
    result = _run("--tier", "smoke-adaptive", "--out", str(tmp_path), *args)
    assert result.exit_code == 2, result.output
    assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "samples").exists()


def test_what_the_adaptive_tier_does_not_run_is_refused_in_one_line(tmp_path):
    refused = CliRunner().invoke(app, ["run", "entropy", "--tier", "smoke-adaptive", "--out", str(tmp_path)])
    assert refused.exit_code == 2 and "entropy stage reads every sample" in refused.output
    external = CliRunner().invoke(app, ["compare", EXPERIMENT, "--tier", "smoke-adaptive", "--results",
                                        str(tmp_path)])
    assert external.exit_code == 2 and "compare results made elsewhere with --tier full" in external.output
    bundle = CliRunner().invoke(app, ["archive", "--tier", "smoke-adaptive", "--out", str(tmp_path)])
    assert bundle.exit_code == 2 and "bundles of an adaptive run are not supported yet" in bundle.output


def test_the_adaptive_tier_without_gpu_says_so_in_one_line(tmp_path, monkeypatch):
    import repro.pipeline

    monkeypatch.setattr(repro.pipeline, "gpu_available", lambda: False)
    result = _run("--tier", "adaptive", "--out", str(tmp_path))
    assert result.exit_code == 2, result.output
    assert result.output.strip() == ("error: --tier adaptive runs real models and needs a CUDA GPU, and none is "
                                     "visible; use --tier smoke-adaptive on this machine")
    simulated = _run("--tier", "adaptive", "--backend", "simulated", "--out", str(tmp_path))
    assert simulated.exit_code == 2 and "runs in the smoke tier only" in simulated.output


def test_tiny_models_go_through_the_same_path(tmp_path, monkeypatch):
    pytest.importorskip("vllm")
    pytest.importorskip("transformers")
    result = _run("--tier", "smoke-adaptive", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    for backend in ("vllm", "hf"):
        record = _record(tmp_path, backend=backend)
        assert record["simulated"] is False
        assert {(r["problems"], r["n"], r["samples"]) for r in record["runs"]} == {(4, 4, 16)}  # n 4: one look
        rows = list(csv.DictReader((_results(tmp_path, "smoke-adaptive", backend) / "base__aime24.csv").open()))
        assert [int(row["n"]) for row in rows] == [4] * 4
    report = (tmp_path / "reports" / "smoke-adaptive" / "report.md").read_text()
    assert "Backend vllm (engine check only)" in report and "Backend hf (engine check only)" in report
    # The simulated backend's verdicts decide the exit; the tiny models' are engine checks.
    assert re.search(r"\| simulated\s+\| verdict\s+\|", report) and re.search(r"\| hf\s+\| engine check only", report)
    before = {backend: _decisions(_record(tmp_path, backend=backend)) for backend in ("simulated", "vllm", "hf")}
    # Run again: every sample is stored, so no engine starts and the decisions are the same.
    import repro.adaptive_run

    def no_engine(*args, **kwargs):
        raise AssertionError("an engine started although every sample is stored")

    monkeypatch.setattr(repro.adaptive_run, "sample_missing", no_engine)
    again = _run("--tier", "smoke-adaptive", "--out", str(tmp_path))
    assert again.exit_code == 0, again.output
    assert {backend: _decisions(_record(tmp_path, backend=backend)) for backend in before} == before


# ----------------------------------------------------------------------------- the library


def _coverage_results(seed: int = 0) -> dict:
    experiment = get_experiment("coverage")
    rng = np.random.default_rng(seed)
    return experiment, {run: simulated_result(run[0], run[1], rng.beta(0.3, 0.6, 30), n, rng)
                        for run, n in experiment.runs().items()}


def test_verdicts_left_to_the_full_tiers_rule_are_taken_on_the_adaptive_samples():
    experiment, results = _coverage_results()
    full = full_tier_verdicts(experiment, results)
    assert {key[0] for key in full} == {"claim", "solved set"}  # coverage: solved sets only
    carrier = adaptive.Decision("full", 3, "", 500, 2000)
    outcome = adaptive.Outcome({CARRIERS[1]: carrier}, {})
    decisions = complete_decisions(experiment, outcome, results)
    assert decisions is outcome.decisions
    for key, verdict in full.items():
        taken = decisions[key]
        assert (taken.verdict, taken.look) == (verdict, -1) and taken.evidence.startswith(f"{FULL_RULE}: ")
        assert (taken.samples, taken.full_samples) == (500, 2000)  # the carrier's: its runs went to full n
    # The comparison the report and the exit status read: the decisions' verdicts.
    comparison = adaptive_comparison(experiment, results, decisions, "simulated")
    assert [c.verdict for c in comparison.claims] == [full[key] for key in full]
    assert all(c.evidence in decisions[key].evidence for c, key in zip(comparison.claims, full))
    assert not comparison.failed or "fails" in full.values()
    first = next(iter(full))
    decisions[first] = adaptive.Decision("fails", 2, "settled early", 10, 20)
    changed = adaptive_comparison(experiment, results, decisions, "simulated")
    assert changed.failed and changed.claims[0].evidence == "settled early"


def test_the_library_keys_every_adaptive_verdict_as_the_full_tier_does():
    """Every verdict the adaptive method takes has the key of a full-tier verdict (so the two
    can be compared, in the report and in scripts/bench_adaptive.py), and the full tier's rule
    keys what it takes itself."""
    oat = get_experiment(EXPERIMENT)
    rng = np.random.default_rng(2)
    oat_results = {run: simulated_result(run[0], run[1], rng.beta(0.3, 0.6, 30), n, rng)
                   for run, n in oat.runs().items()}
    full = full_tier_verdicts(oat, oat_results)
    checks = adaptive.checks_for(oat, oat.runs())
    keys = {adaptive.check_key(check) for check in checks} - {("full",), ("solved status",)}
    assert keys and keys <= set(full)
    assert {key[0] for key in full} >= {"point", "claim"}
    experiment, results = _coverage_results(1)
    assert set(full_tier_verdicts(experiment, results)) >= {adaptive.check_key(c) for c in
                                                          adaptive.checks_for(experiment, experiment.runs())
                                                          if adaptive.check_key(c)[0] in ("point", "claim", "printed")}


@pytest.mark.parametrize("adaptive_tier, plain_tier, backend", [
    ("adaptive", "full", "vllm"), ("smoke-adaptive", "smoke", "simulated"), ("smoke-adaptive", "smoke", "hf")])
def test_an_adaptive_tier_plans_the_runs_of_its_plain_tier(adaptive_tier, plain_tier, backend):
    """Same settings and n, hence the same store keys: the samples are shared."""
    from repro.plan import plan_experiment
    from repro.sampling import get_backend
    from repro.tiers import TIERS

    experiment = get_experiment("math-zoo-qwen7b")
    planned = [[(run.arm, run.spec.key_sha256(), run.spec.n, run.spec.problem_limit)
                for run in plan_experiment(experiment, TIERS[name], get_backend(backend))]
               for name in (adaptive_tier, plain_tier)]
    assert planned[0] == planned[1] and len(planned[0]) == 12
    assert TIERS[adaptive_tier].adaptive and not TIERS[plain_tier].adaptive
