"""`repro train`, `repro list --training` and `repro plan --training`, without a model or a GPU.

The dry runs compose each run against VeRL's own config tree, so they need the training
environment (scripts/install-train: hydra-core, the VeRL wheel, pyarrow) and skip without it;
the refusals, the help, the list and the plan run everywhere. Nothing here starts a process:
subprocess and Ray are replaced by tripwires, and the training data by two-row files (the real
rows are checked in tests/test_training_config.py)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import shlex
import subprocess

import pytest
from typer.testing import CliRunner

from cli import app
from repro import train_command
from repro.training import cost
from repro.training.compose import INTENDED
from repro.training.overrides import MAIN_DAPO, MAIN_PPO
from repro.training.runs import RUN_IDS, RUNS, get_run

HAVE_TRAIN_ENV = all(importlib.util.find_spec(name) is not None for name in ("hydra", "verl", "pyarrow"))
needs_train_env = pytest.mark.skipif(not HAVE_TRAIN_ENV,
                                     reason="training environment absent (hydra, verl, pyarrow: scripts/install-train)")


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def nothing_starts(monkeypatch):
    """Any process start or Ray head fails the test."""
    def tripwire(*args, **kwargs):
        raise AssertionError(f"something was started: {args!r}")
    monkeypatch.setattr(subprocess, "run", tripwire)
    monkeypatch.setattr(subprocess, "Popen", tripwire)
    monkeypatch.setattr(train_command, "run_on_ray", tripwire)
    monkeypatch.setattr(train_command, "_fetch_base_model", tripwire)


@pytest.fixture
def tiny_data(monkeypatch):
    """Two-row parquet files in VeRL's schema instead of the real sets (no benchmark download)."""
    from repro.training.data import write_rows

    def write(set_key, folder, download=True):
        written = {}
        for part in ("train", "test"):
            row = {"data_source": set_key, "prompt": [{"role": "user", "content": f"{part} question"}],
                   "ability": "math", "reward_model": {"style": "rule", "ground_truth": "1"},
                   "extra_info": {"split": part, "index": 0, "problem_id": "p0", "template": "r1-zero"}}
            path = folder / f"{part}.parquet"
            written[part] = (path, write_rows([row, row], path))
        return written
    monkeypatch.setattr(train_command, "write_training_set", write)


# ----------------------------------------------------------------------------- refusals


def test_an_unknown_run_is_one_line_naming_the_runs(tmp_path):
    result = invoke("train", "no-such-run", "--dry-run", "--out", str(tmp_path))
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0
    assert "unknown training run 'no-such-run'" in result.output
    for run_id in RUN_IDS:
        assert run_id in result.output


def test_without_a_gpu_training_is_refused_in_one_line_before_anything_is_written(tmp_path, monkeypatch,
                                                                                   nothing_starts):
    monkeypatch.setattr(train_command, "_cuda_available", lambda: False)
    result = invoke("train", "grpo", "--out", str(tmp_path))
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0
    assert "a CUDA GPU" in result.output and "--dry-run" in result.output
    assert not any(tmp_path.iterdir())


def test_several_nodes_need_a_ray_cluster(tmp_path, monkeypatch, nothing_starts):
    monkeypatch.setattr(train_command, "missing_for_training", lambda: [])
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    result = invoke("train", "grpo", "--nodes", "2", "--out", str(tmp_path))
    assert result.exit_code == 2 and "RAY_ADDRESS" in result.output
    assert result.output.strip().count("\n") == 0


def test_the_help_teaches_every_run_and_the_models_it_makes():
    result = invoke("train", "--help")
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for run in RUNS:
        assert re.search(rf"\b{re.escape(run.id)}\b", text), run.id
        for model in run.models:
            assert model in text, model
    assert "--dry-run" in text and "--resume" in text and "RAY_ADDRESS" in text


# ----------------------------------------------------------------------------- dry runs


@needs_train_env
@pytest.mark.parametrize("run_id", RUN_IDS)
def test_the_dry_run_prints_the_command_and_writes_the_resolved_configuration(run_id, tmp_path, tiny_data,
                                                                             nothing_starts):
    from omegaconf import OmegaConf

    run = get_run(run_id)
    result = invoke("train", run_id, "--dry-run", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    command = next(line for line in lines if line.startswith("command: "))
    # the engine's entry point, the intended algorithm and the package's grader as the reward
    assert f" -m {MAIN_DAPO if run.engine == 'verl-dapo' else MAIN_PPO} " in command
    assert f" algorithm.adv_estimator={INTENDED[run_id]} " in command
    assert re.search(r" custom_reward_function\.path=/\S+/repro/training_reward\.py ", command), command
    assert " custom_reward_function.name=compute_score" in command
    assert " trainer.resume_mode=disable " in command  # a fresh start never continues an old run
    assert f"actor_rollout_ref.rollout.n={run.value('actor_rollout_ref.rollout.n')} " in command
    # the resolved configuration and its hash, as printed; a dry run leaves config.yaml (a launch's) alone
    config = tmp_path / "training" / run_id / "config.dry-run.yaml"
    digest = hashlib.sha256(config.read_bytes()).hexdigest()
    assert f"configuration: {config} sha256 {digest}" in lines
    assert (tmp_path / "training" / run_id / "config.dry-run.yaml.sha256").read_text().split()[0] == digest
    assert not (tmp_path / "training" / run_id / "config.yaml").exists()
    # the plain-text Figure 27 prompt goes through the base model's pass-through view; the visual
    # run's ChatML prompt through the model's own template
    model_path = re.search(r" actor_rollout_ref\.model\.path=(\S+) ", command).group(1)
    base = str(tmp_path / "training" / "models" / run.base_model)
    if run.train_set == "omni-math-rule":
        assert model_path == base + ".pass-through-template"
        assert any(line.startswith("prompt: ") and "unwrapped" in line for line in lines)
    else:
        assert model_path == base
    resolved = OmegaConf.load(config)
    assert resolved.algorithm.adv_estimator == INTENDED[run_id]
    assert resolved.trainer.total_training_steps == run.steps
    assert resolved.data.train_files == str(tmp_path / "training" / "data" / run.train_set / "train.parquet")
    assert "${" not in config.read_text()  # resolved: no interpolation left
    # the checkpoints it will save include the ones that become models, and the cost is the table's
    saved = next(line for line in lines if line.startswith("engine checkpoints"))
    for step in run.save_steps:
        assert re.search(rf"\b{step}\b", saved.split(":", 1)[1])
    assert f"{cost.run_cost(run).gpu_hours:,.0f} GPU-hours" in result.output
    assert lines[-1] == "dry run: nothing started"
    assert not (tmp_path / "checkpoints").exists()


@needs_train_env
def test_resume_names_the_last_saved_step_and_a_fresh_start_refuses_to_overwrite(tmp_path, tiny_data,
                                                                                 nothing_starts):
    engine = tmp_path / "training" / "grpo" / "engine"
    (engine / "global_step_300").mkdir(parents=True)
    (engine / "latest_checkpointed_iteration.txt").write_text("300\n")
    result = invoke("train", "grpo", "--dry-run", "--resume", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert " trainer.resume_mode=resume_path " in result.output
    assert f" trainer.resume_from_path={engine / 'global_step_300'}" in result.output
    assert result.output.count("trainer.resume_mode=") == 1  # replaced in place, not given twice
    fresh = invoke("train", "grpo", "--dry-run", "--out", str(tmp_path))
    assert fresh.exit_code == 2 and "--resume" in fresh.output
    assert fresh.output.strip().count("\n") == 0


@needs_train_env
def test_a_launch_runs_the_printed_command_then_merges_each_kept_step(tmp_path, monkeypatch, tiny_data):
    calls, merged = [], []
    monkeypatch.setattr(train_command, "missing_for_training", lambda: [])
    monkeypatch.setattr(train_command, "_fetch_base_model", fake_download)
    monkeypatch.setattr(train_command, "merge_checkpoint",
                        lambda checkpoints, step, target, **kw: merged.append((step, kw["model"], target, kw)))
    printed = []

    def engine(command, **kw):
        calls.append(command)
        # the engine is given the pass-through view, built by now
        view = tmp_path.resolve() / "training" / "models" / "qwen2.5-7b-r1-prompt.pass-through-template"
        assert f"actor_rollout_ref.model.path={view}" in command
        assert (view / "tokenizer_config.json").is_file()
        # a dry run while the engine runs does not touch the configuration the models are hashed with
        train_command.train("grpo", tmp_path, dry_run=True, nodes=2, say=lambda line: None)
        return 0
    monkeypatch.setattr(train_command, "start_overrides", lambda *a: ["trainer.resume_mode=disable"])
    train_command.train("grpo", tmp_path, say=printed.append, runner=engine)
    assert len(calls) == 1
    assert "command: " + shlex.join(calls[0]) == next(p for p in printed if p.startswith("command: "))
    assert [(step, model) for step, model, _, _ in merged] == [
        (150, "verl-grpo-step150"), (300, "verl-grpo-step300"), (450, "verl-grpo-step450")]
    step, model, target, kw = merged[0]
    assert target == tmp_path.resolve() / "checkpoints" / model
    folder = tmp_path.resolve() / "training" / "grpo"
    assert kw["training_config"] == folder / "config.yaml"
    assert kw["run"] == "grpo"
    assert kw["tokenizer_from"] == tmp_path.resolve() / "training" / "models" / "qwen2.5-7b-r1-prompt"
    # the launch history: the configuration launched is the one on disk at merge time
    launches = [json.loads(line) for line in (folder / "launches.jsonl").read_text().splitlines()]
    assert [entry["event"] for entry in launches] == ["launch", "end"]
    digest = hashlib.sha256((folder / "config.yaml").read_bytes()).hexdigest()
    assert launches[0]["config_sha256"] == digest and launches[0]["command"] == calls[0]
    assert launches[0]["environment"]["package"]["name"] == "repro-limit-of-rlvr"  # where it was launched from
    assert launches[1]["exit_status"] == 0

    # a failed engine is one line that says how to continue, and nothing is merged
    merged.clear()
    monkeypatch.setattr(train_command, "start_overrides", lambda *a: ["trainer.resume_mode=disable"])
    with pytest.raises(train_command.ReproError, match="--resume"):
        train_command.train("ppo", tmp_path, say=printed.append, runner=lambda command, **kw: 1)
    assert merged == []


def fake_download(layout, say):
    """The base model's download, as far as the launch reads it: its tokenizer_config.json."""
    folder = layout.base_model
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tokenizer_config.json").write_text('{"chat_template": "ChatML"}')
    (folder / "config.json").write_text("{}")


@needs_train_env
def test_a_second_launch_of_the_same_run_is_refused_while_one_runs(tmp_path, monkeypatch, tiny_data):
    monkeypatch.setattr(train_command, "missing_for_training", lambda: [])
    monkeypatch.setattr(train_command, "_fetch_base_model", fake_download)
    monkeypatch.setattr(train_command, "merge_checkpoint", lambda *a, **kw: None)
    monkeypatch.setattr(train_command, "start_overrides", lambda *a: ["trainer.resume_mode=disable"])
    refused = []

    def engine(command, **kw):
        with pytest.raises(train_command.ReproError, match="another `repro train grpo` is running") as caught:
            train_command.train("grpo", tmp_path, say=lambda line: None, runner=lambda *a, **k: 0)
        refused.append(str(caught.value))
        return 0
    assert train_command.train("grpo", tmp_path, say=lambda line: None, runner=engine) == 0
    assert len(refused) == 1
    # the lock is released at the end: the next launch goes ahead
    assert train_command.train("grpo", tmp_path, say=lambda line: None, runner=lambda *a, **k: 0) == 0


def test_a_given_ray_cluster_is_used_and_no_head_is_started(monkeypatch):
    seen = {}

    def fake_run(command, env, check):
        seen.update(command=command, address=env.get("RAY_ADDRESS"), path=env.get("PYTHONPATH"))
        return subprocess.CompletedProcess(command, 0)
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.1:6379")
    monkeypatch.setattr(subprocess, "run", fake_run)
    assert train_command.run_on_ray(["engine"], gpus_per_node=8, say=lambda line: None,
                                    extra_env={"PYTHONPATH": "/recipe"}) == 0
    assert seen == {"command": ["engine"], "address": "10.0.0.1:6379", "path": "/recipe"}


def test_dapo_runs_from_the_recipe_checkout(tmp_path, monkeypatch):
    monkeypatch.delenv(train_command.DAPO_DIR_ENV, raising=False)
    with pytest.raises(train_command.ReproError, match="REPRO_VERL_DAPO_DIR"):
        train_command.engine_environment(get_run("dapo"))
    (tmp_path / "recipe/dapo/src").mkdir(parents=True)
    (tmp_path / "recipe/dapo/src/main_dapo.py").write_text("")
    monkeypatch.setenv(train_command.DAPO_DIR_ENV, str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    assert train_command.engine_environment(get_run("dapo")) == {"PYTHONPATH": f"{tmp_path}:/elsewhere"}
    assert train_command.engine_environment(get_run("grpo")) == {}


# ----------------------------------------------------------------------------- list and plan


def _rows(text: str, first_column: set[str]) -> dict[str, list[str]]:
    rows = {}
    for line in text.splitlines():
        cells = line.split()
        if cells and cells[0] in first_column:
            rows[cells[0]] = cells
    return rows


def test_the_training_plan_total_is_the_sum_of_the_runs():
    result = invoke("plan", "--training")
    assert result.exit_code == 0, result.output
    rows = _rows(result.output, set(RUN_IDS) | {"total"})
    assert set(rows) == set(RUN_IDS) | {"total"}
    hours = {run_id: float(cells[-2].replace(",", "")) for run_id, cells in rows.items()}
    total = hours.pop("total")
    assert total == pytest.approx(sum(hours.values()), abs=0.05 * len(hours))
    assert total == pytest.approx(sum(c.gpu_hours for c in cost.all_costs()), abs=0.05)
    for run in RUNS:
        assert hours[run.id] == pytest.approx(cost.run_cost(run).gpu_hours, abs=0.05)
    for word in ("tokens per rollout", "throughput", "MFU", "steps x"):
        assert word in result.output


def test_list_training_shows_each_run_with_its_models_steps_gpus_and_hours():
    result = invoke("list", "--training")
    assert result.exit_code == 0, result.output
    rows = _rows(result.output, set(RUN_IDS))
    assert set(rows) == set(RUN_IDS)
    for run in RUNS:
        line = " ".join(rows[run.id])
        assert str(run.steps) in rows[run.id]
        for model in run.models:
            assert model in line
        assert rows[run.id][-1] == f"{cost.run_cost(run).gpu_hours:,.0f}"


# ----------------------------------------------------------------------------- the cost arithmetic


def test_rollouts_per_step_follow_each_algorithm():
    assert cost.rollouts_per_step(get_run("grpo")) == (128 * 8, 128 * 8)
    assert cost.rollouts_per_step(get_run("grpo-n32")) == (128 * 32, 128 * 32)
    assert cost.rollouts_per_step(get_run("remax")) == (128 * 8 + 128, 128 * 8)  # the greedy baseline
    assert cost.rollouts_per_step(get_run("dapo")) == (384 * 8, 128 * 8)  # one dynamic-sampling round
    assert cost.rollouts_per_step(get_run("visual-grpo-geo3k")) == (512 * 5, 512 * 5)


def test_the_grpo_cost_by_hand():
    c = cost.run_cost(get_run("grpo"))
    generation = 1024 * 1000 / 5500
    training = 1024 * (250 + 1000) * 6 * 2 * 7.61e9 / (989e12 * 0.30)
    assert c.generation_gpu_seconds == pytest.approx(generation)
    assert c.training_gpu_seconds == pytest.approx(training)
    assert c.gpu_hours == pytest.approx(450 * (generation + training) / 3600)
    # PPO trains a critic too: the same rollouts cost more
    assert cost.run_cost(get_run("ppo")).training_gpu_seconds == pytest.approx(training * 11 / 6)


@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="ray absent (the training environment has it)")
def test_a_local_ray_head_is_started_and_the_engine_connects_to_it(monkeypatch, tmp_path):
    """The real Ray: a head started with ray.init, an engine stand-in that connects through
    RAY_ADDRESS (as VeRL's main_ppo does with its own ray.init()) and sees the GPUs given. Ray
    2.5x turns on token authentication for a new head; the child must inherit it."""
    import sys

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    child = ("import os, ray; ray.init(); print('GPUs', ray.cluster_resources().get('GPU'), os.environ['RAY_ADDRESS']); "
             "ray.shutdown()")
    out = tmp_path / "child.txt"
    said = []
    with out.open("w") as handle:
        real_run = subprocess.run
        monkeypatch.setattr(subprocess, "run", lambda command, env, check: real_run(command, env=env, check=check,
                                                                                     stdout=handle))
        code = train_command.run_on_ray([sys.executable, "-c", child], gpus_per_node=2, say=said.append)
    assert code == 0
    address = said[0].rsplit(" ", 1)[1]
    assert out.read_text().split() == ["GPUs", "2.0", address]
    import ray
    assert not ray.is_initialized()  # the head started here is stopped again


@pytest.mark.parametrize("run_id", ["grpo", "visual-grpo-geo3k"])
def test_the_base_model_is_the_run_folders_locked_snapshot(run_id, tmp_path, monkeypatch):
    from repro import model_lock
    from repro.model_lock import locked_revisions
    from repro.models import get_model

    moved = "b" * 40
    monkeypatch.setattr(model_lock, "hub_commit", lambda hub_id, fresh=False: (moved, "hub"))

    def download(hub_id, commit):
        folder = tmp_path / "hub" / hub_id.replace("/", "--") / commit
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.json").write_text("{}")
        return folder
    monkeypatch.setattr(train_command, "download_model", download)
    run = get_run(run_id)
    layout = train_command.Layout(tmp_path / "out", run)
    train_command._fetch_base_model(layout, say=lambda line: None)
    model = get_model(run.base_model)
    commit = locked_revisions(tmp_path / "out")[model.hf_id]
    assert commit == (model.revision or moved)  # the catalogue's pin, else the commit fixed on first use
    assert layout.base_model.is_symlink() and (layout.base_model / "config.json").is_file()
    assert layout.base_model.resolve() == (tmp_path / "hub" / model.hf_id.replace("/", "--") / commit).resolve()
    train_command._fetch_base_model(layout, say=lambda line: None)  # again: the same link
    assert layout.base_model.resolve().name == commit
    layout.base_model.unlink()
    layout.base_model.mkdir()
    with pytest.raises(train_command.ReproError, match="not a link"):
        train_command._fetch_base_model(layout, say=lambda line: None)
