"""`repro pair`: a base/RL pair declared by a user runs through the experiments' own plan,
pipeline and claims. Declared on the command line or as TOML, it is the same experiment; bad
input is one line and exit 2; several RL models share the base's runs; on doctored success
probabilities the crossing point and claims 1-3 come out as constructed."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from repro.claims import FAILS, HOLDS
from repro.models import MODELS, declared_models
from repro.pair import (PAPER_BENCHMARKS, PairError, declaration_from_options, declaration_from_toml, resolve_pair)
from repro.plan import plan_experiment, unique_runs
from repro.sampling import get_backend
from repro.tiers import get_tier

PROJECT = Path(__file__).resolve().parent.parent
runner = CliRunner()


@pytest.fixture(autouse=True)
def stand_in_data(tmp_path, monkeypatch):
    """Stand-in problems, made locally: no data folder, no download."""
    monkeypatch.setenv("REPRO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("REPRO_OFFLINE", "1")
    monkeypatch.delenv("REPRO_DATA_DIR", raising=False)


def invoke(*args: str):
    return runner.invoke(app, ["pair", *args])


def results_of(root: Path, pair_id: str, backend: str = "simulated") -> dict[str, list[list[str]]]:
    folder = root / "experiments" / pair_id / "smoke" / backend / "results"
    return {path.name: list(csv.reader(path.open())) for path in sorted(folder.glob("*.csv"))}


def analysis_of(root: Path, pair_id: str, backend: str = "simulated") -> dict:
    return json.loads((root / "reports" / "pairs" / pair_id / "smoke" / backend / "analysis.json").read_text())


def write_toml(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- declaration


def test_defaults_follow_the_paper():
    pair = resolve_pair(declaration_from_options("Qwen/Qwen2.5-7B", ["hkust-nlp/Qwen-2.5-7B-SimpleRL-Zoo"]))
    experiment = pair.experiment
    assert {b for _, b in experiment.runs()} == set(PAPER_BENCHMARKS)
    assert experiment.runs()[("base", "aime24")] == 1024 and experiment.runs()[("rl", "math500")] == 128
    assert pair.ks[0] == 1 and pair.ks[-1] == 128  # up to the smallest paper n of the six
    assert all(arm.temperature == 0.6 for arm in experiment.arms) and experiment.top_p == 0.95
    # The paper's own models keep their catalogue entries: their samples are the paper experiments'.
    assert [arm.model for arm in experiment.arms] == ["qwen2.5-7b", "simplerl-zoo-qwen2.5-7b"]


def test_an_unknown_hub_model_gets_its_family_template_and_a_revision_pin():
    pair = resolve_pair(declaration_from_options("Qwen/Qwen2.5-Math-1.5B@" + "a" * 40, ["org/llama-rl-8b"],
                                                 benchmarks=["aime24"]))
    base, rl = (m.model for m in pair.models)
    assert base.template == rl.template == "qwen-boxed"
    assert base.revision == "a" * 40 and rl.revision is None and base.declared and base.key not in MODELS


def test_command_line_and_toml_declare_the_same_experiment(tmp_path):
    toml = write_toml(tmp_path / "pair.toml", 'base = "Qwen/Qwen2.5-Math-1.5B"\nrl = "org/qwen-rl-1.5b"\n'
                      'benchmarks = ["aime24"]\nn = 16\nk = [1, 4, 16]\ntier = "smoke"\nbackend = "simulated"\n')
    from_file = resolve_pair(declaration_from_toml(toml))
    from_options = resolve_pair(declaration_from_options("Qwen/Qwen2.5-Math-1.5B", ["org/qwen-rl-1.5b"],
                                                         benchmarks=["aime24"], n=16, ks=(1, 4, 16), tier="smoke",
                                                         backend="simulated"))
    assert from_file.experiment == from_options.experiment and from_file.ks == from_options.ks


def test_the_example_toml_in_the_repository_resolves_and_plans():
    pair = resolve_pair(declaration_from_toml(PROJECT / "examples" / "pair_smoke.toml"))
    tier = get_tier(pair.declaration.tier)
    with declared_models(m.model for m in pair.models):
        planned = plan_experiment(pair.experiment, tier, get_backend(pair.declaration.backend))
    assert {run.spec.n for run in planned} == {256} and pair.ks[-1] == 256
    assert all(dict(run.spec.calibration).get("points") for run in planned)


@pytest.mark.parametrize("args,message", [
    (["--base", "Qwen/Qwen2.5-7B", "--rl", "org/qwen-rl", "--benchmarks", "no-such-bench"], "unknown benchmark"),
    (["--base", "Qwen/Qwen2.5-7B", "--rl", "org/qwen-rl", "--template", "no-such-template"],
     "prompt template 'no-such-template' is not available"),
    (["--base", "Qwen/Qwen2.5-7B", "--rl", "org/qwen-rl", "--n", "8", "--k", "1,4,16"],
     "--n 8 is smaller than the largest k asked (16)"),
    (["--base", "Qwen/Qwen2.5-7B", "--rl", "org/unknown-family"], "no paper prompt is known for its family"),
    (["--base", "Qwen/Qwen2.5-7B"], "needs --base MODEL and at least one --rl MODEL"),
    (["--base", "not a model!", "--rl", "org/qwen-rl"], "neither a folder nor a hub id"),
    (["--base", "Qwen/Qwen2.5-7B", "--rl", "org/qwen-rl", "--tier", "full", "--backend", "simulated"],
     "runs in the smoke tier only"),
])
def test_bad_input_exits_2_with_one_line(args, message):
    result = invoke(*args, "--plan")
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in result.output


def test_a_model_folder_that_cannot_be_loaded_exits_2(tmp_path):
    empty = tmp_path / "qwen-empty"
    empty.mkdir()
    no_weights = tmp_path / "qwen-no-weights"
    no_weights.mkdir()
    (no_weights / "config.json").write_text('{"model_type": "qwen2", "max_position_embeddings": 4096}')
    for folder, why in ((empty, "no config.json"), (no_weights, "no weights")):
        result = invoke("--base", str(folder), "--rl", "org/qwen-rl", "--plan")
        assert result.exit_code == 2, result.output
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: base model {folder}: ") and why in lines[0]


def test_a_toml_file_with_an_unknown_key_or_a_mixed_declaration_is_refused(tmp_path):
    bad = write_toml(tmp_path / "bad.toml", 'base = "Qwen/Qwen2.5-7B"\nrl = "org/qwen-rl"\nsamples = 4\n')
    result = invoke(str(bad), "--plan")
    assert result.exit_code == 2 and "unknown key 'samples'" in result.output
    good = write_toml(tmp_path / "good.toml", 'base = "Qwen/Qwen2.5-7B"\nrl = "org/qwen-rl"\n')
    result = invoke(str(good), "--n", "4", "--plan")
    assert result.exit_code == 2 and "give --n in the file" in result.output
    with pytest.raises(PairError, match="the pair's arms are base, rl"):
        resolve_pair(declaration_from_toml(write_toml(
            tmp_path / "arm.toml", 'base = "Qwen/Qwen2.5-7B"\nrl = "org/qwen-rl"\n[simulate.rl-9]\n'
                                   'probabilities = [0.5]\n')))


# ----------------------------------------------------------------------------- several RL models


def test_several_rl_models_share_the_base_runs_and_the_plan_counts_them_once(tmp_path):
    declaration = declaration_from_options("Qwen/Qwen2.5-Math-1.5B", ["org/qwen-rl-a", "org/qwen-rl-b"],
                                           benchmarks=["aime24", "amc23"], n=64, tier="full", backend="vllm")
    pair = resolve_pair(declaration)
    assert pair.rl_arms == ("rl-1", "rl-2")
    with declared_models(m.model for m in pair.models):
        runs = unique_runs(plan_experiment(pair.experiment, get_tier("full"), get_backend("vllm")))
    assert len(runs) == 6  # (base, rl-1, rl-2) x 2 benchmarks: the base once per benchmark
    assert sorted(run.use_names for run in runs if "base" in run.use_names[0]) == [
        (f"{pair.experiment.id}/base",), (f"{pair.experiment.id}/base",)]
    result = invoke("--base", "Qwen/Qwen2.5-Math-1.5B", "--rl", "org/qwen-rl-a", "--rl", "org/qwen-rl-b",
                    "--benchmarks", "aime24", "--benchmarks", "amc23", "--n", "64", "--tier", "full", "--backend",
                    "vllm", "--plan", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "6 runs, 13,440 samples" in result.output  # (30 + 40) problems x 64 x 3 models, the base once
    assert "GPU-hours" in result.output


def test_separate_pairs_of_one_base_share_its_samples(tmp_path):
    """Two commands, one base: the base's run has one store key, so the second samples only its RL model."""
    for rl in ("org/qwen-rl-a", "org/qwen-rl-b"):
        result = invoke("--base", "Qwen/Qwen2.5-Math-1.5B", "--rl", rl, "--benchmarks", "aime24", "--n", "8",
                        "--tier", "smoke", "--backend", "simulated", "--out", str(tmp_path))
        assert result.exit_code == 0, result.output
    base_stores = list((tmp_path / "samples" / "simulated" / "hub--qwen--qwen2.5-math-1.5b" / "aime24").iterdir())
    assert len(base_stores) == 1  # another key would have made another store
    rl_models = [path.name for path in (tmp_path / "samples" / "simulated").iterdir() if "rl" in path.name]
    assert sorted(rl_models) == ["hub--org--qwen-rl-a", "hub--org--qwen-rl-b"]


# ----------------------------------------------------------------------------- command line = TOML, end to end


def test_command_line_and_toml_give_identical_results_on_the_simulated_backend(tmp_path):
    options = ["--base", "Qwen/Qwen2.5-Math-1.5B", "--rl", "org/qwen-rl", "--benchmarks", "aime24", "--n", "32",
               "--tier", "smoke", "--backend", "simulated"]
    first = invoke(*options, "--out", str(tmp_path / "a"))
    assert first.exit_code == 0, first.output
    toml = write_toml(tmp_path / "pair.toml", 'base = "Qwen/Qwen2.5-Math-1.5B"\nrl = ["org/qwen-rl"]\n'
                      'benchmarks = ["aime24"]\nn = 32\ntier = "smoke"\nbackend = "simulated"\n')
    second = invoke(str(toml), "--out", str(tmp_path / "b"))
    assert second.exit_code == 0, second.output
    pair_id = resolve_pair(declaration_from_toml(toml)).experiment.id
    assert results_of(tmp_path / "a", pair_id) == results_of(tmp_path / "b", pair_id) != {}
    assert analysis_of(tmp_path / "a", pair_id) == analysis_of(tmp_path / "b", pair_id)


@pytest.fixture(scope="module")
def tiny_folders(tmp_path_factory):
    pytest.importorskip("transformers")
    from repro.sampling.tiny_models import build_tiny_text_model

    root = tmp_path_factory.mktemp("tiny")
    return build_tiny_text_model(root / "qwen-tiny-base", seed=0), build_tiny_text_model(root / "qwen-tiny-rl", seed=1)


def test_tiny_local_folders_are_hashed_named_and_give_identical_results_from_toml(tmp_path, tiny_folders):
    base, rl = tiny_folders
    options = ["--base", str(base), "--rl", str(rl), "--benchmarks", "gsm8k", "--tier", "smoke", "--backend", "hf"]
    first = invoke(*options, "--out", str(tmp_path / "a"))
    assert first.exit_code == 0, first.output
    toml = write_toml(tmp_path / "pair.toml", f'base = "{base}"\nrl = "{rl}"\nbenchmarks = ["gsm8k"]\n'
                                              'tier = "smoke"\nbackend = "hf"\n')
    second = invoke(str(toml), "--out", str(tmp_path / "b"))
    assert second.exit_code == 0, second.output
    pair = resolve_pair(declaration_from_toml(toml))
    assert results_of(tmp_path / "a", pair.experiment.id, "hf") == results_of(tmp_path / "b", pair.experiment.id, "hf")
    assert len(results_of(tmp_path / "a", pair.experiment.id, "hf")) == 2
    # The folders ran themselves (not tiny stand-ins), and the report names each with its hash.
    specs = json.loads((tmp_path / "a" / "experiments" / pair.experiment.id / "smoke" / "hf" / "results"
                        / "specs.json").read_text())
    assert {record["key"]["model"]["source"] for record in specs.values()} == {"checkpoint"}
    report = (tmp_path / "a" / "reports" / "pairs" / pair.experiment.id / "smoke" / "hf" / "report.md").read_text()
    for model in pair.models:
        assert model.checkpoint is not None and model.checkpoint.sha256 in report and model.checkpoint.path in report


# ----------------------------------------------------------------------------- doctored probabilities


def _run_doctored(tmp_path: Path, base: list[float], rl: list[float], n: int = 128) -> dict:
    toml = write_toml(tmp_path / "doctored.toml", "\n".join([
        'name = "doctored"', 'base = "Qwen/Qwen2.5-Math-1.5B"', 'rl = "org/qwen-rl"', 'benchmarks = ["aime24"]',
        f"n = {n}", 'tier = "smoke"', 'backend = "simulated"',
        "[simulate.base]", f"probabilities = {base}", "[simulate.rl]", f"probabilities = {rl}", ""]))
    result = invoke(str(toml), "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    return analysis_of(tmp_path / "out", "pair-doctored")


def _verdicts(analysis: dict) -> dict[int, str]:
    return {claim["claim"]: claim["verdict"] for claim in analysis["claims"]}


def test_the_paper_shape_gives_claims_1_to_3_holding_and_the_constructed_crossing(tmp_path):
    # 25 of 30 problems rarely solved by the base (p = 0.05), 5 never; RL solves 10 of those
    # always, the rest never. base@k = (25/30)(1 - 0.95^k) passes RL's 1/3 between k = 8 and 16.
    base = [0.05] * 25 + [0.0] * 5
    rl = [1.0] * 10 + [0.0] * 20
    analysis = _run_doctored(tmp_path, base, rl)
    assert _verdicts(analysis) == {1: HOLDS, 2: HOLDS, 3: HOLDS}
    crossing = analysis["findings"][0]["crossing"]
    assert crossing["k"] == 16 and crossing["earliest"] in (8, 16) and crossing["shown_from"] in (16, 32)
    delta = analysis["findings"][0]["delta_se"]
    assert delta["k"] == 128 and delta["value"] == pytest.approx(25 / 30 * (1 - 0.95**128) - 1 / 3, abs=0.03)
    assert "simulated backend" in analysis["verdict"]


def test_rl_that_widens_coverage_fails_claim_2(tmp_path):
    base = [0.5] * 10 + [0.0] * 20
    rl = [0.5] * 20 + [0.0] * 10  # solves ten problems the base never does
    analysis = _run_doctored(tmp_path, base, rl)
    assert _verdicts(analysis)[2] == FAILS
    assert "RL-only 10" in next(c["evidence"] for c in analysis["claims"] if c["claim"] == 2)
    assert _verdicts(analysis)[1] == FAILS  # RL above at k = 1 and still above at the largest k


def test_rl_above_the_base_at_every_k_fails_claim_1_with_no_crossing(tmp_path):
    base = [0.1] * 15 + [0.0] * 15
    rl = [0.6] * 25 + [0.0] * 5
    analysis = _run_doctored(tmp_path, base, rl)
    verdicts = _verdicts(analysis)
    assert verdicts[1] == FAILS and verdicts[2] == FAILS
    crossing = analysis["findings"][0]["crossing"]
    assert crossing["k"] is None and crossing["shown_from"] is None and crossing["earliest"] is None


def test_rl_that_leaves_fewer_problems_unsolved_fails_claim_3(tmp_path):
    # RL moves the base's middling problems to always-solved and solves most of the base's
    # unsolved ones too: the share at accuracy 0 falls, the opposite of claim 3.
    base = [0.5] * 15 + [0.0] * 15
    rl = [1.0] * 27 + [0.0] * 3
    analysis = _run_doctored(tmp_path, base, rl)
    evidence = next(c["evidence"] for c in analysis["claims"] if c["claim"] == 3)
    assert "accuracy 0: base 15 -> RL 3" in evidence and "accuracy 1: base 0 -> RL 27" in evidence
    assert _verdicts(analysis)[3] == FAILS


def test_two_rl_models_in_one_run_are_each_judged_against_one_base_store(tmp_path):
    toml = write_toml(tmp_path / "two.toml", "\n".join([
        'name = "two"', 'base = "Qwen/Qwen2.5-Math-1.5B"', 'rl = ["org/qwen-rl-a", "org/qwen-rl-b"]',
        'benchmarks = ["aime24"]', "n = 64", 'tier = "smoke"', 'backend = "simulated"',
        "[simulate.base]", f"probabilities = {[0.05] * 25 + [0.0] * 5}",
        "[simulate.rl-1]", f"probabilities = {[1.0] * 10 + [0.0] * 20}",
        "[simulate.rl-2]", f"probabilities = {[0.5] * 28 + [0.0] * 2}", ""]))
    result = invoke(str(toml), "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    analysis = analysis_of(tmp_path / "out", "pair-two")
    assert [(f["rl"], f["benchmark"]) for f in analysis["findings"]] == [("rl-1", "aime24"), ("rl-2", "aime24")]
    by_arm = {(c["claim"], c["text"].split(":")[0] if c["claim"] != 3 else c["scope"].split(",")[0]): c["verdict"]
              for c in analysis["claims"]}
    assert by_arm[(2, "rl-1")] == HOLDS and by_arm[(2, "rl-2")] == FAILS  # rl-2 solves problems the base never does
    assert "For rl-1," in analysis["verdict"] and "For rl-2," in analysis["verdict"]
    stores = tmp_path / "out" / "samples" / "simulated"
    assert len(list((stores / "hub--qwen--qwen2.5-math-1.5b" / "aime24").iterdir())) == 1


def test_crossing_point_and_delta_se_on_exact_counts():
    import numpy as np

    from repro.pair_analysis import crossing_point, delta_se
    from repro.results import RunResult

    ids = tuple(f"p{i}" for i in range(4))
    # base: three problems at 1 of 8, so base@k = (3/4)(k/8); RL: one problem always, so RL@k = 1/4.
    base = RunResult("base", "b", ids, (0, 1, 2, 3), np.full(4, 8), np.array([1, 1, 1, 0]))
    rl = RunResult("rl", "b", ids, (0, 1, 2, 3), np.full(4, 8), np.array([8, 0, 0, 0]))
    crossing = crossing_point(base, rl, (1, 2, 4, 8))
    assert crossing.k == 4 and crossing.largest_k == 8  # 3k/32 >= 1/4 first at k = 4 of the grid
    value, sd, k = delta_se(base, rl)
    assert k == 8 and value == pytest.approx(0.75 - 0.25) and sd > 0
