"""Checkpoints trained here become models (issue 12, item 6): the engine's merger command,
the checkpoint home and its manifest, discovery without --checkpoint, the store key and the
report, and the engine's resume settings."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest

from repro.checkpoints import CheckpointError, content_sha256
from repro.experiments import get_experiment
from repro.merging import EASYR1, VERL, MergeError, merge_checkpoint, merger_command, start_overrides
from repro.plan import plan_experiment
from repro.sampling import get_backend
from repro.stages import missing_stages, status_line
from repro.tiers import TIERS
from repro.trained import (MANIFEST_FILE, MODEL_DIR, files_sha256, find_trained, model_home, register_checkpoint,
                           registered_models, trained_checkpoints)

STEP_MODELS = ("verl-grpo-step150", "verl-grpo-step300", "verl-grpo-step450")


def _fake_model(folder: Path, weights: bytes = b"weights") -> Path:
    """A folder a model loads from as far as repro.checkpoints can tell (config and weights)."""
    folder.mkdir(parents=True)
    (folder / "config.json").write_text('{"architectures": ["Qwen2ForCausalLM"]}')
    (folder / "model.safetensors").write_bytes(weights)
    return folder


def _register(root: Path, model: str, source: Path, config_sha: str = "c" * 64):
    return register_checkpoint(source, model_home(root, model), model=model, run="verl-grpo", step=150,
                               engine="verl", engine_version=VERL.version, training_config_sha256=config_sha,
                               data_sha256="d" * 64)


# ----------------------------------------------------------------------------- the merger


def test_the_merger_command_is_verls_own(tmp_path, monkeypatch):
    monkeypatch.delenv(VERL.merger_env, raising=False)
    command = merger_command(tmp_path / "run", 150, VERL, python="python3")
    # No merger on this machine: the command names where it comes from, at the pinned commit.
    assert command == ["python3", "<volcengine/verl@070ed6a>/scripts/model_merger.py", "--local_dir",
                       str(tmp_path / "run" / "global_step_150" / "actor")]
    monkeypatch.setenv(VERL.merger_env, "/opt/verl/scripts/model_merger.py")
    assert merger_command(tmp_path / "run", 300, VERL, python="python3")[1:] == [
        "/opt/verl/scripts/model_merger.py", "--local_dir", str(tmp_path / "run" / "global_step_300" / "actor")]


def test_a_dry_run_prints_the_command_and_starts_nothing(tmp_path):
    said = []
    result = merge_checkpoint(tmp_path / "run", 150, tmp_path / "home", model="verl-grpo-step150", run="verl-grpo",
                              training_config=tmp_path / "none.yaml", data=[], merger=Path("merger.py"),
                              python="python3", dry_run=True, say=said.append)
    assert result is None and not (tmp_path / "home").exists()
    assert said == [f"python3 merger.py --local_dir {tmp_path / 'run' / 'global_step_150' / 'actor'}"]


# A stand-in for the engine's merger: it checks the command line it is given and writes what the
# real one writes (Hugging Face weights into <local_dir>/huggingface, beside the trainer's config).
_MERGER = """
import sys, pathlib
assert sys.argv[1] == "--local_dir" and len(sys.argv) == 3, sys.argv
actor = pathlib.Path(sys.argv[2])
assert (actor / "model_world_size_2_rank_0.pt").is_file()
(actor / "huggingface" / "model.safetensors").write_bytes(b"merged weights of " + actor.parent.name.encode())
"""


def _saved_step(run_dir: Path, step: int) -> Path:
    """What VeRL 0.3.0.post1 saves for one step: FSDP shards, and the config in actor/huggingface."""
    actor = run_dir / f"global_step_{step}" / "actor"
    (actor / "huggingface").mkdir(parents=True)
    for rank in (0, 1):
        (actor / f"model_world_size_2_rank_{rank}.pt").write_bytes(b"shard")
    (actor / "huggingface" / "config.json").write_text('{"architectures": ["Qwen2ForCausalLM"]}')
    return actor


def test_merging_runs_the_merger_and_registers_the_model_with_its_manifest(tmp_path):
    run_dir, root = tmp_path / "verl-grpo", tmp_path / "out"
    actor = _saved_step(run_dir, 150)
    merger = tmp_path / "model_merger.py"
    merger.write_text(_MERGER)
    config = tmp_path / "resolved.yaml"
    config.write_text("algorithm:\n  adv_estimator: grpo\n")
    data = [tmp_path / "train.parquet"]
    data[0].write_bytes(b"rows")
    target = model_home(root, "verl-grpo-step150")
    manifest = merge_checkpoint(run_dir, 150, target, model="verl-grpo-step150", run="verl-grpo",
                                training_config=config, data=data, merger=merger, python=sys.executable,
                                say=lambda line: None)
    assert (target / MODEL_DIR / "model.safetensors").read_bytes() == b"merged weights of global_step_150"
    assert not (actor / "huggingface").exists()  # moved, not copied; the shards stay for another merge
    assert (actor / "model_world_size_2_rank_0.pt").is_file()
    written = json.loads((target / MANIFEST_FILE).read_text())
    assert written == manifest.as_dict()
    assert written["checkpoint_sha256"] == content_sha256(target / MODEL_DIR)
    assert written["training_config_sha256"] == hashlib.sha256(config.read_bytes()).hexdigest()
    assert written["data_sha256"] == files_sha256(data) != files_sha256([config])
    assert (written["model"], written["run"], written["step"]) == ("verl-grpo-step150", "verl-grpo", 150)
    assert (written["engine"], written["engine_version"]) == ("verl", "0.3.0.post1")
    found = find_trained("verl-grpo-step150", root)
    assert found.sha256 == written["checkpoint_sha256"]
    assert found.training_config_sha256 == written["training_config_sha256"]


def test_a_failed_merge_registers_nothing(tmp_path):
    run_dir = tmp_path / "run"
    _saved_step(run_dir, 150)
    merger = tmp_path / "broken_merger.py"
    merger.write_text("raise SystemExit(3)\n")
    target = model_home(tmp_path / "out", "verl-grpo-step150")
    kwargs = dict(model="verl-grpo-step150", run="verl-grpo", training_config=merger, data=[], python=sys.executable,
                  say=lambda line: None)
    with pytest.raises(MergeError, match="exited with status 3"):
        merge_checkpoint(run_dir, 150, target, merger=merger, **kwargs)
    with pytest.raises(MergeError, match="no such folder"):  # a step that was never saved
        merge_checkpoint(run_dir, 300, target, merger=merger, **kwargs)
    with pytest.raises(MergeError, match="not part of the engine's package"):
        merge_checkpoint(run_dir, 150, target, merger=tmp_path / "absent.py", **kwargs)
    # The merger "succeeded" but wrote no weights: nothing a model loads from is registered.
    merger.write_text("pass\n")
    with pytest.raises(CheckpointError, match="no weights"):
        merge_checkpoint(run_dir, 150, target, merger=merger, **kwargs)
    assert not target.exists() and find_trained("verl-grpo-step150", tmp_path / "out") is None


# ----------------------------------------------------------------------------- discovery


def test_a_registered_checkpoint_whose_files_changed_is_refused(tmp_path):
    _register(tmp_path, "verl-ppo", _fake_model(tmp_path / "merged"))
    assert find_trained("verl-ppo", tmp_path).sha256 == content_sha256(model_home(tmp_path, "verl-ppo") / MODEL_DIR)
    (model_home(tmp_path, "verl-ppo") / MODEL_DIR / "model.safetensors").write_bytes(b"edited")
    with pytest.raises(CheckpointError, match="changed after it was registered"):
        find_trained("verl-ppo", tmp_path)


def test_a_manifest_for_another_model_or_a_folder_without_one_is_refused(tmp_path):
    _register(tmp_path, "verl-rloo", _fake_model(tmp_path / "merged"))
    (model_home(tmp_path, "verl-remax")).mkdir()
    (model_home(tmp_path, "verl-remax") / MANIFEST_FILE).write_text(
        (model_home(tmp_path, "verl-rloo") / MANIFEST_FILE).read_text())
    with pytest.raises(CheckpointError, match="is for 'verl-rloo'"):
        find_trained("verl-remax", tmp_path)
    _fake_model(model_home(tmp_path, "verl-dapo") / MODEL_DIR)
    with pytest.raises(CheckpointError, match="no manifest.json"):
        find_trained("verl-dapo", tmp_path)
    assert find_trained("verl-grpo-n32", tmp_path) is None  # nothing there: not an error


def test_found_checkpoints_enter_the_plan_and_an_explicit_one_wins(tmp_path):
    from repro.checkpoints import validate_checkpoint
    from repro.commands import with_trained

    experiment = get_experiment("rl-steps")
    _register(tmp_path, "verl-grpo-step150", _fake_model(tmp_path / "merged"))
    checkpoints = with_trained({}, [experiment], tmp_path)
    assert set(checkpoints) == {"verl-grpo-step150"}
    full = {run.spec.model: run.spec for run in plan_experiment(experiment, TIERS["full"], get_backend("vllm"),
                                                                checkpoints={**checkpoints, **{
                                                                    m: checkpoints["verl-grpo-step150"]
                                                                    for m in STEP_MODELS}})}
    weights = full["verl-grpo-step150"].key()["model"]
    assert weights["sha256"] == checkpoints["verl-grpo-step150"].sha256
    assert weights["training_config_sha256"] == "c" * 64
    # A --checkpoint folder keeps the key it had before (no training config): its samples stay found.
    given = validate_checkpoint("verl-grpo-step150", _fake_model(tmp_path / "given", b"other"))
    chosen = with_trained({"verl-grpo-step150": given}, [experiment], tmp_path)
    assert chosen["verl-grpo-step150"] == given
    spec = plan_experiment(experiment, TIERS["full"], get_backend("vllm"),
                           checkpoints={**chosen, **{m: given for m in STEP_MODELS}})[-1].spec
    assert "training_config_sha256" not in spec.key()["model"]


def test_the_smoke_tier_runs_a_found_checkpoint_instead_of_the_tiny_stand_in(tmp_path):
    experiment = get_experiment("rl-steps")
    _register(tmp_path, "verl-grpo-step150", _fake_model(tmp_path / "merged"))
    found = trained_checkpoints(STEP_MODELS, tmp_path)
    sources = {run.spec.model: run.spec.weights.source
               for run in plan_experiment(experiment, TIERS["smoke"], get_backend("hf"), checkpoints=found)}
    assert sources == {"qwen2.5-7b-r1-prompt": "tiny", "verl-grpo-step150": "checkpoint",
                       "verl-grpo-step300": "tiny", "verl-grpo-step450": "tiny"}
    simulated = plan_experiment(experiment, TIERS["smoke"], get_backend("simulated"), checkpoints=found)
    assert {run.spec.weights.source for run in simulated} == {"none"}


def test_training_is_no_longer_missing_once_every_unreleased_model_of_the_experiment_is_trained(tmp_path):
    from repro.commands import list_experiments

    experiment, full = get_experiment("rl-steps"), TIERS["full"]

    def line() -> str:
        return next(row for row in list_experiments(root=tmp_path).splitlines() if row.startswith("rl-steps "))

    assert missing_stages(experiment, full, registered_models(tmp_path)) == ["training"]
    for model in STEP_MODELS[:2]:
        _register(tmp_path, model, _fake_model(tmp_path / model))
    assert missing_stages(experiment, full, registered_models(tmp_path)) == ["training"]
    assert "full needs training" in line()
    _register(tmp_path, STEP_MODELS[2], _fake_model(tmp_path / STEP_MODELS[2]))
    assert missing_stages(experiment, full, registered_models(tmp_path)) == []
    assert status_line(experiment, registered_models(tmp_path)) == "runs (all tiers)"
    assert "runs (all tiers)" in line() and "training" not in line()
    # The same experiment in another run folder has no checkpoints.
    assert "full needs training" in next(row for row in list_experiments(root=tmp_path / "elsewhere").splitlines()
                                         if row.startswith("rl-steps "))
    models = list_experiments(show_models=True, root=tmp_path)
    assert "no: trained here" in next(row for row in models.splitlines() if row.startswith("verl-grpo-step150 "))
    assert "no: train" in next(row for row in models.splitlines() if row.startswith("verl-ppo "))


# ----------------------------------------------------------------------------- resume


def test_resume_names_the_last_saved_step_with_verls_own_settings(tmp_path):
    run_dir = tmp_path / "verl-grpo"
    assert start_overrides(run_dir, resume=False) == ["trainer.resume_mode=disable",
                                                      f"trainer.default_local_dir={run_dir.resolve()}"]
    with pytest.raises(MergeError, match="nothing to resume"):
        start_overrides(run_dir, resume=True)
    for step in (50, 100):
        _saved_step(run_dir, step)
    (run_dir / VERL.tracker).write_text("100")
    assert start_overrides(run_dir, resume=True) == [
        "trainer.resume_mode=resume_path", f"trainer.resume_from_path={run_dir.resolve() / 'global_step_100'}",
        f"trainer.default_local_dir={run_dir.resolve()}"]
    with pytest.raises(MergeError, match="already holds step 100"):  # a relaunch never restarts a run silently
        start_overrides(run_dir, resume=False)
    (run_dir / VERL.tracker).write_text("150")  # the tracker names a step whose folder is gone
    with pytest.raises(MergeError, match="step 150"):
        start_overrides(run_dir, resume=True)


def test_resume_with_easyr1s_own_settings(tmp_path):
    run_dir = tmp_path / "easyr1"
    assert start_overrides(run_dir, resume=False, engine=EASYR1) == [f"trainer.save_checkpoint_path={run_dir.resolve()}"]
    _saved_step(run_dir, 5)
    (run_dir / VERL.tracker).write_text("5")  # VeRL's tracker name: EasyR1 does not read it
    with pytest.raises(MergeError, match="latest_global_step.txt"):
        start_overrides(run_dir, resume=True, engine=EASYR1)
    (run_dir / EASYR1.tracker).write_text("5\n")
    assert start_overrides(run_dir, resume=True, engine=EASYR1) == [
        f"trainer.save_checkpoint_path={run_dir.resolve()}",
        f"trainer.load_checkpoint_path={run_dir.resolve() / 'global_step_5'}"]


# ----------------------------------------------------------------------------- end to end


@pytest.mark.slow
def test_a_tiny_model_in_the_checkpoint_home_is_run_by_the_smoke_tier_without_checkpoint(tmp_path):
    """The issue's CPU done-when: a tiny random model (not trained: it only has the merged
    format) saved where `repro train` leaves a merged checkpoint is picked up by `repro run
    rl-steps --tier smoke` without --checkpoint, and its hashes are in specs.json and the report."""
    pytest.importorskip("transformers")
    from typer.testing import CliRunner

    from cli import app
    from repro.sampling.tiny_models import build_tiny_text_model

    out = tmp_path / "out"
    merged = build_tiny_text_model(tmp_path / "merged", seed=7)  # seed 7: neither tiny-base nor tiny-rl
    manifest = register_checkpoint(merged, model_home(out, "verl-grpo-step150"), model="verl-grpo-step150",
                                   run="tiny-model-not-trained", step=150, engine="verl", engine_version=VERL.version,
                                   training_config_sha256=hashlib.sha256(b"stand-in config").hexdigest(),
                                   data_sha256=hashlib.sha256(b"stand-in data").hexdigest())
    result = CliRunner().invoke(app, ["run", "rl-steps", "--tier", "smoke", "--backend", "hf", "--out", str(out)])
    assert result.exit_code == 0, result.output
    specs = json.loads((out / "experiments" / "rl-steps" / "smoke" / "hf" / "results" / "specs.json").read_text())
    step150 = {name: record for name, record in specs.items() if name.startswith("grpo-step150__")}
    assert len(step150) == 3  # omni-math-train, omni-math-test, math500
    for record in step150.values():
        assert record["key"]["model"]["source"] == "checkpoint"
        assert record["key"]["model"]["sha256"] == manifest.checkpoint_sha256
        assert record["key"]["model"]["training_config_sha256"] == manifest.training_config_sha256
    assert all(record["key"]["model"]["source"] == "tiny" for name, record in specs.items() if name not in step150)
    report = (out / "reports" / "smoke" / "report.md").read_text()
    assert manifest.checkpoint_sha256 in report and manifest.training_config_sha256 in report


def test_a_pass_through_run_is_registered_with_its_base_tokenizer(tmp_path):
    """The engine saved the view's tokenizer (pass-through template); the registered model has
    the base model's tokenizer_config.json, and the checkpoint hash covers it."""
    run_dir, root, base = tmp_path / "verl-grpo", tmp_path / "out", tmp_path / "base"
    actor = _saved_step(run_dir, 150)
    (actor / "huggingface" / "tokenizer_config.json").write_text('{"chat_template": "pass-through"}')
    (actor / "huggingface" / "chat_template.jinja").write_text("pass-through")
    base.mkdir()
    (base / "tokenizer_config.json").write_text('{"chat_template": "ChatML"}')
    merger = tmp_path / "model_merger.py"
    merger.write_text(_MERGER)
    config = tmp_path / "resolved.yaml"
    config.write_text("algorithm:\n  adv_estimator: grpo\n")
    target = model_home(root, "verl-grpo-step150")
    manifest = merge_checkpoint(run_dir, 150, target, model="verl-grpo-step150", run="verl-grpo",
                                training_config=config, data=[config], merger=merger, python=sys.executable,
                                tokenizer_from=base, say=lambda line: None)
    assert (target / MODEL_DIR / "tokenizer_config.json").read_text() == '{"chat_template": "ChatML"}'
    assert not (target / MODEL_DIR / "chat_template.jinja").exists()
    assert manifest.checkpoint_sha256 == content_sha256(target / MODEL_DIR)
