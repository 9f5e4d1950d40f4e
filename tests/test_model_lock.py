"""The model lock (repro.model_lock): hub commits fixed on first use in OUT/models.lock.json,
used by every later run, and a different commit refused unless --update-model-lock. Nothing is
downloaded: the hub client is replaced by fakes and a tiny local model folder."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime
from types import SimpleNamespace

import huggingface_hub
import pytest
from typer.testing import CliRunner

import repro.commands
from cli import app
from repro import model_lock
from repro.errors import ReproError
from repro.experiments import get_experiment
from repro.model_lock import LOCK_FILE, ModelLockError, hub_commit, lock_models, locked_revisions, read_lock
from repro.models import get_model
from repro.plan import plan_experiment
from repro.sampling import get_backend
from repro.tiers import get_tier

C1, C2 = "1" * 40, "2" * 40
QWEN7B_PIN = get_model("qwen2.5-7b").revision
FULL, VLLM = get_tier("full"), get_backend("vllm")


class FakeHub:
    """A resolver: hub id -> commit, counting the questions."""

    def __init__(self, commit: str = C1):
        self.commit = commit
        self.asked: list[tuple[str, bool]] = []

    def __call__(self, hub_id: str, fresh: bool = False) -> tuple[str, str]:
        self.asked.append((hub_id, fresh))
        return self.commit, "hub"


def write_lock(root, entries):
    (root / LOCK_FILE).write_text(json.dumps({"format": 1, "models": entries}))


# ----------------------------------------------------------------------------- the lock


def test_the_first_use_resolves_unpinned_models_and_locks_pinned_ones_at_their_pin(tmp_path):
    hub = FakeHub()
    revisions = lock_models(tmp_path, [get_model("qwen2.5-14b"), get_model("simplerl-zoo-qwen2.5-14b"),
                                       get_model("qwen2.5-7b")], resolve=hub, say=lambda line: None)
    assert revisions == {"Qwen/Qwen2.5-14B": C1, "hkust-nlp/Qwen-2.5-14B-SimpleRL-Zoo": C1, "Qwen/Qwen2.5-7B": QWEN7B_PIN}
    assert sorted(hub.asked) == [("Qwen/Qwen2.5-14B", False), ("hkust-nlp/Qwen-2.5-14B-SimpleRL-Zoo", False)]
    entries = read_lock(tmp_path)
    assert entries["Qwen/Qwen2.5-14B"]["models"] == ["qwen2.5-14b"] and entries["Qwen/Qwen2.5-14B"]["source"] == "hub"
    assert entries["Qwen/Qwen2.5-7B"]["source"] == "catalogue"
    datetime.fromisoformat(entries["Qwen/Qwen2.5-14B"]["resolved_at"])


def test_later_runs_use_the_locked_commit_without_asking_the_hub(tmp_path):
    lock_models(tmp_path, [get_model("qwen2.5-14b")], resolve=FakeHub(C1), say=lambda line: None)
    before = (tmp_path / LOCK_FILE).read_bytes()
    moved = FakeHub(C2)  # the hub has moved on
    assert lock_models(tmp_path, [get_model("qwen2.5-14b")], resolve=moved) == {"Qwen/Qwen2.5-14B": C1}
    assert moved.asked == [] and (tmp_path / LOCK_FILE).read_bytes() == before
    assert locked_revisions(tmp_path) == {"Qwen/Qwen2.5-14B": C1}


def test_updating_asks_the_hub_afresh_and_says_what_moved(tmp_path):
    lock_models(tmp_path, [get_model("qwen2.5-14b")], resolve=FakeHub(C1), say=lambda line: None)
    said, moved = [], FakeHub(C2)
    lock_models(tmp_path, [get_model("qwen2.5-14b")], update=True, resolve=moved, say=said.append)
    assert moved.asked == [("Qwen/Qwen2.5-14B", True)] and locked_revisions(tmp_path) == {"Qwen/Qwen2.5-14B": C2}
    assert said == [f"{LOCK_FILE}: Qwen/Qwen2.5-14B moves from {C1[:12]} to {C2[:12]} (--update-model-lock); samples of "
                    "the old commit stay in their stores"]


def test_a_lock_that_disagrees_with_the_catalogue_pin_is_refused_unless_updated(tmp_path):
    write_lock(tmp_path, {"Qwen/Qwen2.5-7B": {"commit": C1, "models": ["qwen2.5-7b"]}})
    with pytest.raises(ModelLockError) as refused:
        lock_models(tmp_path, [get_model("qwen2.5-7b")], resolve=FakeHub())
    message = str(refused.value)
    assert "\n" not in message and "Qwen/Qwen2.5-7B (qwen2.5-7b) is locked at 111111111111" in message
    assert f"the catalogue pins {QWEN7B_PIN[:12]}" in message and "--update-model-lock" in message
    assert locked_revisions(tmp_path) == {"Qwen/Qwen2.5-7B": C1}  # untouched
    lock_models(tmp_path, [get_model("qwen2.5-7b")], update=True, resolve=FakeHub(), say=lambda line: None)
    assert locked_revisions(tmp_path) == {"Qwen/Qwen2.5-7B": QWEN7B_PIN}


def test_two_catalogue_models_with_the_same_weights_share_one_commit(tmp_path):
    hub = FakeHub()
    lock_models(tmp_path, [get_model("qwen2.5-32b"), get_model("qwen2.5-32b-dapo-prompt")], resolve=hub,
                say=lambda line: None)
    assert hub.asked == [("Qwen/Qwen2.5-32B", False)]
    assert read_lock(tmp_path)["Qwen/Qwen2.5-32B"]["models"] == ["qwen2.5-32b", "qwen2.5-32b-dapo-prompt"]


def test_shards_starting_together_lock_one_commit(tmp_path):
    first_resolving = threading.Event()

    def slow_first(hub_id, fresh):
        first_resolving.set()
        time.sleep(0.5)  # the second shard starts meanwhile
        return C1, "hub"

    answers = {}
    first = threading.Thread(target=lambda: answers.update(a=lock_models(
        tmp_path, [get_model("qwen2.5-14b")], resolve=slow_first, say=lambda line: None)))
    first.start()
    assert first_resolving.wait(10)
    second = lock_models(tmp_path, [get_model("qwen2.5-14b")], resolve=FakeHub(C2), say=lambda line: None)
    first.join()
    assert answers["a"] == second == {"Qwen/Qwen2.5-14B": C1}  # the hub moved, yet both shards use one commit


@pytest.mark.parametrize("content", ["{", json.dumps({"models": {"a/b": {"commit": "main"}}}), "[]"])
def test_a_damaged_lock_is_an_error_with_advice(tmp_path, content):
    (tmp_path / LOCK_FILE).write_text(content)
    with pytest.raises(ModelLockError, match="restore it from a copy"):
        read_lock(tmp_path)


def test_a_commit_that_is_not_a_commit_is_refused(tmp_path):
    with pytest.raises(ModelLockError, match="not a 40-hex commit"):
        lock_models(tmp_path, [get_model("qwen2.5-14b")], resolve=lambda hub_id, fresh: ("main", "hub"))
    assert not (tmp_path / LOCK_FILE).exists()


# ----------------------------------------------------------------------------- the hub client


def test_the_commit_comes_from_the_local_hub_cache_then_from_the_hub(monkeypatch):
    cached = {"a/b": f"/cache/models--a--b/snapshots/{C1}/config.json"}
    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", lambda repo, name, **kw: cached.get(repo))
    monkeypatch.setattr(huggingface_hub, "HfApi", lambda: SimpleNamespace(model_info=lambda repo: SimpleNamespace(sha=C2)))
    assert hub_commit("a/b") == (C1, "local hub cache")
    assert hub_commit("a/b", fresh=True) == (C2, "hub")  # refreshing never trusts the cache
    assert hub_commit("c/d") == (C2, "hub")


def test_a_hub_that_does_not_answer_gives_one_line_with_what_to_do(monkeypatch):
    def offline(repo):
        raise OSError("Cannot reach the hub\nsecond line")

    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", lambda repo, name, **kw: None)
    monkeypatch.setattr(huggingface_hub, "HfApi", lambda: SimpleNamespace(model_info=offline))
    with pytest.raises(ModelLockError) as refused:
        hub_commit("a/b")
    assert str(refused.value) == ("cannot resolve the commit of a/b: the hub did not answer (OSError: Cannot reach the "
                                  "hub); run `repro fetch --models` where there is network (and a token for gated models)")


# ----------------------------------------------------------------------------- planning and the CLI


def test_planning_keys_samples_by_the_locked_commit():
    experiment = get_experiment("math-zoo-qwen14b")
    unlocked = {run.arm: run.spec for run in plan_experiment(experiment, FULL, VLLM)}
    locked = {run.arm: run.spec for run in plan_experiment(experiment, FULL, VLLM,
                                                           revisions={"Qwen/Qwen2.5-14B": C1})}
    assert unlocked["base"].weights.revision is None and locked["base"].weights.revision == C1
    assert locked["base"].key()["model"]["revision"] == C1
    assert locked["base"].key_sha256() != unlocked["base"].key_sha256()
    assert locked["rl"].key_sha256() == unlocked["rl"].key_sha256()  # not locked: as before


def test_plan_shows_the_locked_commit(tmp_path):
    write_lock(tmp_path, {"Qwen/Qwen2.5-14B": {"commit": C1, "models": ["qwen2.5-14b"]}})
    result = CliRunner().invoke(app, ["plan", "math-zoo-qwen14b", "--tier", "full", "--json", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    weights = {run["model"]: run["weights"] for run in json.loads(result.output)["runs"]}
    assert weights["qwen2.5-14b"] == f"Qwen/Qwen2.5-14B@{C1}"
    assert weights["simplerl-zoo-qwen2.5-14b"].endswith("@resolved at download")
    listing = CliRunner().invoke(app, ["list", "--models", "--out", str(tmp_path)]).output
    assert f"{C1} (models.lock.json)" in listing


@pytest.fixture
def gpu_run(monkeypatch):
    """A full-tier run on this CPU machine up to its first experiment: the GPU check passes, the
    hub is a fake, and the experiment records the specs it would run, then stops."""
    hub = FakeHub(C1)
    planned = []
    monkeypatch.setattr(repro.commands, "check_environment", lambda tier, backends: None)
    monkeypatch.setattr(model_lock, "hub_commit", hub)

    def stop(context, experiment):
        from repro.pipeline import plan_for

        planned.extend(run.spec for run in plan_for(context, experiment))
        raise ReproError("stopped by the test before any engine")

    monkeypatch.setattr(repro.commands, "run_experiment", stop)
    return hub, planned


def test_a_run_locks_the_commits_then_plans_with_them(tmp_path, gpu_run):
    hub, planned = gpu_run
    result = CliRunner().invoke(app, ["run", "math-zoo-qwen14b", "--tier", "full", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "stopped by the test" in result.output
    assert locked_revisions(tmp_path) == {"Qwen/Qwen2.5-14B": C1, "hkust-nlp/Qwen-2.5-14B-SimpleRL-Zoo": C1}
    assert planned and all(spec.weights.revision == C1 for spec in planned)
    hub.commit = C2  # the hub moves: the next run keeps the locked commit
    planned.clear()
    CliRunner().invoke(app, ["run", "math-zoo-qwen14b", "--tier", "full", "--out", str(tmp_path)])
    assert all(spec.weights.revision == C1 for spec in planned) and len(hub.asked) == 2


def test_a_run_refuses_a_lock_that_disagrees_with_the_catalogue_in_one_line(tmp_path, gpu_run):
    write_lock(tmp_path, {"Qwen/Qwen2.5-7B": {"commit": C1, "models": ["qwen2.5-7b"]}})
    result = CliRunner().invoke(app, ["run", "math-zoo-qwen7b", "--tier", "full", "--out", str(tmp_path)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "--update-model-lock" in lines[0]
    result = CliRunner().invoke(app, ["run", "math-zoo-qwen7b", "--tier", "full", "--out", str(tmp_path),
                                      "--update-model-lock"])
    assert "stopped by the test" in result.output
    assert locked_revisions(tmp_path)["Qwen/Qwen2.5-7B"] == QWEN7B_PIN


def test_regrading_never_asks_the_hub(tmp_path, gpu_run):
    hub, _ = gpu_run
    result = CliRunner().invoke(app, ["grade", "math-zoo-qwen14b", "--tier", "full", "--out", str(tmp_path)])
    assert result.exit_code == 2 and hub.asked == [] and not (tmp_path / LOCK_FILE).exists()


def fake_download(tmp_path, calls, wrong: bool = False):
    """snapshot_download into a tiny local model folder named by the commit, as the hub cache does."""
    def download(repo_id, revision=None, **kwargs):
        calls.append((repo_id, revision))
        folder = tmp_path / "hub" / repo_id.replace("/", "--") / "snapshots" / (C2 if wrong else revision)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.json").write_text(json.dumps({"max_position_embeddings": 131072}))
        return str(folder)

    return download


def test_fetch_models_locks_and_downloads_each_model_at_its_commit(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(model_lock, "hub_commit", FakeHub(C1))
    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_download(tmp_path, calls))
    out = tmp_path / "runs"
    result = CliRunner().invoke(app, ["fetch", "--models", "--no-benchmarks", "-e", "math-zoo-qwen14b",
                                      "-e", "math-zoo-qwen7b", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(calls) == [("Qwen/Qwen2.5-14B", C1), ("Qwen/Qwen2.5-7B", QWEN7B_PIN),
                             ("hkust-nlp/Qwen-2.5-14B-SimpleRL-Zoo", C1),
                             ("hkust-nlp/Qwen-2.5-7B-SimpleRL-Zoo", get_model("simplerl-zoo-qwen2.5-7b").revision)]
    assert locked_revisions(out)["Qwen/Qwen2.5-14B"] == C1 and str(out / LOCK_FILE) in result.output


def test_fetch_lock_only_downloads_nothing_and_a_wrong_snapshot_is_refused(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(model_lock, "hub_commit", FakeHub(C1))
    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_download(tmp_path, calls, wrong=True))
    out = tmp_path / "runs"
    args = ["fetch", "--models", "--no-benchmarks", "-e", "math-zoo-qwen14b", "--out", str(out)]
    assert CliRunner().invoke(app, [*args, "--lock-only"]).exit_code == 0 and calls == []
    assert locked_revisions(out)["Qwen/Qwen2.5-14B"] == C1
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "not the locked commit" in result.output


def test_fetch_with_nothing_to_fetch_is_refused():
    result = CliRunner().invoke(app, ["fetch", "--no-benchmarks"])
    assert result.exit_code == 2 and "fetches nothing" in result.output
