"""The training runs' table, their Hydra overrides, their composition against VeRL's own config
tree (needs the training environment: hydra-core and the VeRL wheel; skipped without it), and
the training data in VeRL's parquet schema (needs pyarrow; skipped without it)."""

from __future__ import annotations

import dataclasses
import importlib.util
import io
import os

import pytest

from repro.models import get_model
from repro.training.overrides import APPENDED_KEYS, MAIN_DAPO, MAIN_PPO, example_paths, hydra_value, launch_command
from repro.training.runs import RUNS, Setting, get_run

HAVE_TRAIN_ENV = importlib.util.find_spec("hydra") is not None and importlib.util.find_spec("verl") is not None
needs_train_env = pytest.mark.skipif(not HAVE_TRAIN_ENV, reason="training environment absent (scripts/install-train)")
needs_pyarrow = pytest.mark.skipif(importlib.util.find_spec("pyarrow") is None, reason="pyarrow absent")


# ----------------------------------------------------------------------------- the table


def test_the_ten_runs_are_there_and_become_the_registered_models():
    assert len(RUNS) == 9  # nine engine runs; GRPO keeps three checkpoints: ten VeRL models, one visual
    models = [model for run in RUNS for model in run.models]
    assert len(models) == len(set(models)) == 11
    for run in RUNS:
        assert len(run.models) == len(run.save_steps)
        for key in run.models:
            assert get_model(key).released is False
    assert get_run("grpo").save_steps == (150, 300, 450)


def test_every_setting_has_a_source_and_appears_once():
    for run in RUNS:
        keys = [setting.key for setting in run.settings]
        assert len(keys) == len(set(keys)), run.id
        for setting in run.settings:
            assert setting.source.strip(), (run.id, setting.key)


def test_the_paper_settings_of_the_verl_runs():
    for run in RUNS:
        if run.train_set != "omni-math-rule":
            continue
        assert run.value("data.train_batch_size") == 128
        assert run.value("data.max_response_length") == 8192
        assert run.value("actor_rollout_ref.rollout.temperature") == 1.0
        assert run.value("actor_rollout_ref.rollout.n") == (32 if run.id == "grpo-n32" else 8)
        assert run.value("trainer.total_training_steps") == run.steps == (220 if run.id == "grpo-n32" else 450)
        # enough epochs for the steps (VeRL stops at whichever ends first; 2000 // 128 = 15 steps an epoch)
        assert run.value("trainer.total_epochs") * 15 >= run.steps
        kl = run.id == "grpo-kl0.001"
        assert run.value("actor_rollout_ref.actor.use_kl_loss") is kl
        assert run.value("algorithm.kl_ctrl.kl_coef") == 0.0  # else VeRL 0.3 adds a reward KL of 0.001
        if kl:
            assert run.value("actor_rollout_ref.actor.kl_loss_coef") == 0.001


def test_the_visual_run_has_easyr1s_defaults():
    run = get_run("visual-grpo-geo3k")
    assert run.base_model == "qwen2.5-vl-7b-instruct" and run.template == "visual-r1"
    assert run.value("actor_rollout_ref.rollout.n") == 5
    assert run.value("actor_rollout_ref.actor.kl_loss_coef") == 0.01
    assert run.value("actor_rollout_ref.actor.optim.lr") == 1e-6
    assert run.value("data.max_response_length") == 2048
    assert run.value("trainer.total_epochs") == 15
    assert all("EasyR1" in s.source or "verl" in s.source.lower() or "plumbing" in s.source or "derived" in s.source
               or "paper" in s.source for s in run.settings)


# ----------------------------------------------------------------------------- overrides


def test_hydra_values():
    assert hydra_value(True) == "True" and hydra_value(None) == "null" and hydra_value(1e-6) == "1e-06"
    assert hydra_value(["console"]) == "[console]"
    assert hydra_value("/data/x/train.parquet") == "/data/x/train.parquet"
    assert hydra_value("${actor_rollout_ref.model.path}") == "${actor_rollout_ref.model.path}"
    assert hydra_value("it's") == "'it\\'s'"


def test_launch_commands_use_the_engines_entry_points():
    for run in RUNS:
        command = launch_command(run, example_paths(run), nodes=2, gpus_per_node=4)
        assert command[:3] == ["python3", "-m", MAIN_DAPO if run.id == "dapo" else MAIN_PPO]
        assert "trainer.nnodes=2" in command and "trainer.n_gpus_per_node=4" in command
        appended = [item for item in command[3:] if item.startswith("+")]
        assert all(item[1:].split("=")[0] in APPENDED_KEYS[run.engine] for item in appended)


# ----------------------------------------------------------------------------- composition


@needs_train_env
@pytest.mark.parametrize("run_id", [run.id for run in RUNS])
def test_every_run_composes_against_verls_own_config_tree(run_id):
    from repro.training.compose import check_run

    config = check_run(get_run(run_id))
    assert config.trainer.default_local_dir.endswith(run_id)
    assert config.custom_reward_function.name == "compute_score"


@needs_train_env
def test_a_key_the_engine_lacks_fails_composition():
    from repro.training.compose import ConfigCheckError, compose

    run = get_run("grpo")
    broken = dataclasses.replace(run, settings=run.settings + (Setting("algorithm.no_such_key", 1, "test"),))
    with pytest.raises(ConfigCheckError, match="no_such_key"):
        compose(broken)


@needs_train_env
def test_a_wrong_algorithm_is_caught():
    from repro.training.compose import ConfigCheckError, check_run

    run = get_run("rloo")
    wrong = dataclasses.replace(run, settings=tuple(
        Setting(s.key, "grpo", s.source) if s.key == "algorithm.adv_estimator" else s for s in run.settings))
    with pytest.raises(ConfigCheckError, match="intended rloo"):
        check_run(wrong)


@needs_train_env
def test_dapo_keys_are_not_in_main_ppo_so_the_recipe_is_needed():
    from repro.training.compose import dapo_keys_absent_from_main_ppo

    assert dapo_keys_absent_from_main_ppo() == []


@needs_train_env
def test_the_recipe_config_is_used_when_given(tmp_path, monkeypatch):
    from repro.training.compose import DAPO_CONFIG_ENV, ConfigCheckError, compose

    (tmp_path / "dapo_trainer.yaml").write_text("data:\n  train_batch_size: 1\n")
    monkeypatch.setenv(DAPO_CONFIG_ENV, str(tmp_path))
    with pytest.raises(ConfigCheckError):  # a tree without the recipe's keys refuses the DAPO overrides
        compose(get_run("dapo"))


# ----------------------------------------------------------------------------- data


def _geometry3k_parquet(path, rows: int):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist([
        {"images": [{"bytes": f"png-{i}".encode(), "path": None}], "problem": f"<image>Find x{i}.", "answer": str(i)}
        for i in range(rows)])
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)


@needs_pyarrow
def test_geometry3k_rows_in_verls_schema_and_their_checksums(tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    from repro.benchmarks import geometry3k
    from repro.training import data

    monkeypatch.setenv("REPRO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("REPRO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(geometry3k, "SPLIT_SIZES", {"train": 3, "test": 2})
    _geometry3k_parquet(tmp_path / "data/visual/geometry3k/train.parquet", 3)
    _geometry3k_parquet(tmp_path / "data/visual/geometry3k/test.parquet", 2)

    written = data.write_training_set("geometry3k", tmp_path / "out", download=False)
    rows = pq.read_table(written["train"][0]).to_pylist()
    assert len(rows) == 3
    row = rows[1]
    assert set(row) == {"data_source", "prompt", "images", "ability", "reward_model", "extra_info"}
    assert row["prompt"][0]["role"] == "system" and "MUST BE put in \\boxed{}" in row["prompt"][0]["content"]
    assert row["prompt"][1] == {"role": "user", "content": "<image>Find x1."}
    assert row["images"][0]["bytes"] == b"png-1"
    assert row["reward_model"] == {"style": "rule", "ground_truth": "1"}
    assert data.verify_written(written["train"][0]) == written["train"][1]

    # the source's sha256 was recorded at first use: an altered copy is refused
    _geometry3k_parquet(tmp_path / "data/visual/geometry3k/train.parquet", 4)
    with pytest.raises(Exception, match="recorded"):
        data.write_training_set("geometry3k", tmp_path / "out2", download=False)
    # and a tampered output no longer matches its record
    written["test"][0].write_bytes(written["test"][0].read_bytes() + b"x")
    with pytest.raises(Exception, match="rebuild"):
        data.verify_written(written["test"][0])


@needs_pyarrow
@pytest.mark.skipif(not os.environ.get("REPRO_DATA_DIR"), reason="no data folder with Omni-MATH-Rule")
def test_omni_math_rows_are_the_packages_split_with_the_figure_27_prompt(tmp_path):
    import pyarrow.parquet as pq

    from repro.benchmarks.fetch import DataMissingError
    from repro.training import data

    try:
        written = data.write_training_set("omni-math-rule", tmp_path, download=False)
    except DataMissingError:
        pytest.skip("Omni-MATH-Rule is not in the data folder")
    train = pq.read_table(written["train"][0]).to_pylist()
    test = pq.read_table(written["test"][0]).to_pylist()
    assert (len(train), len(test)) == (2000, 821)
    assert not {r["extra_info"]["problem_id"] for r in train} & {r["extra_info"]["problem_id"] for r in test}
    content = train[0]["prompt"][0]["content"]
    assert content.startswith("A conversation between User and Assistant.") and content.endswith("\nAssistant:")
    assert io.BytesIO(written["train"][0].read_bytes()).getbuffer().nbytes > 0


def test_docs_list_every_setting_with_its_value():
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "docs" / "training.md").read_text()
    for run in RUNS:
        section = text.split(f"### `{run.id}`:")[1].split("\n### ")[0]
        for setting in run.settings:
            assert f"| `{setting.key}` | `{hydra_value(setting.value)}` |" in section, (run.id, setting.key)


@needs_pyarrow
def test_geometry3k_downloads_only_at_a_named_commit_and_records_it(isolated_downloads, file_server, monkeypatch):
    import json

    from repro.benchmarks import fetch, geometry3k
    from repro.benchmarks.fetch import DataMissingError

    monkeypatch.setattr(geometry3k, "SPLIT_SIZES", {"train": 3, "test": 2})
    monkeypatch.delenv(geometry3k.REVISION_ENV, raising=False)
    # no commit named: no download, and the message says how to name one
    with pytest.raises(DataMissingError, match=geometry3k.REVISION_ENV):
        geometry3k.load_geometry3k("train", download=True)
    # a branch name is not a commit
    monkeypatch.setenv(geometry3k.REVISION_ENV, "main")
    with pytest.raises(Exception, match="40 hex digits"):
        geometry3k.load_geometry3k("train", download=True)
    commit = "0123456789abcdef0123456789abcdef01234567"
    monkeypatch.setenv(geometry3k.REVISION_ENV, commit)
    parquet = isolated_downloads / "made" / "train.parquet"
    _geometry3k_parquet(parquet, 3)
    monkeypatch.setattr(fetch, "HF_BASE_URL", file_server.base)
    file_server.files[f"/datasets/hiyouga/geometry3k/resolve/{commit}/data/train-00000-of-00001.parquet"] = \
        parquet.read_bytes()
    problems, sha256, origin = geometry3k.load_geometry3k("train", download=True)
    assert origin == "downloaded" and len(problems) == 3 and len(file_server.requests) == 1
    records = list((isolated_downloads / "cache").rglob("*.json"))
    record = json.loads(next(path for path in records if "geometry3k" in str(path)).read_text())
    assert record["sha256"] == sha256 and f"/resolve/{commit}/" in record["url"]
