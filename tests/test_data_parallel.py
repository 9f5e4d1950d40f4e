"""Every GPU used: the GPU layout for faked device counts, data-parallel engines that give the
samples and results of one engine, and `repro all --shard` on two "nodes" merged into the
results of an unsharded run."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

import repro.commands
from cli import app
from repro.data_parallel import engine_layout, engine_shards
from repro.experiments import get_experiment
from repro.gpu_layout import LayoutError, cpu_layout, gpu_layout, visible_gpus, worker_environment
from repro.models import MODELS
from repro.plan import plan_experiment
from repro.sampling import get_backend
from repro.store import WHOLE, SampleStore, Shard
from repro.tiers import get_tier

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, [str(arg) for arg in args])


def gpus(count: int) -> tuple[str, ...]:
    return tuple(str(index) for index in range(count))


# ----------------------------------------------------------------------------- the layout

# Visible GPUs -> (engines, groups) for tensor-parallel size 1 (every 7B, 8B and 14B model) and
# 4 (the 32B models); None: refused.
EXPECTED = {
    1: {1: [("0",)], 4: None},
    2: {1: [("0",), ("1",)], 4: None},
    4: {1: [("0",), ("1",), ("2",), ("3",)], 4: [("0", "1", "2", "3")]},
    8: {1: [(str(i),) for i in range(8)], 4: [("0", "1", "2", "3"), ("4", "5", "6", "7")]},
}


@pytest.mark.parametrize("visible", sorted(EXPECTED))
def test_the_layout_of_every_model_for_1_2_4_and_8_gpus(visible):
    for model in MODELS.values():
        expected = EXPECTED[visible][model.tensor_parallel_size]
        size = model.size_b
        assert model.tensor_parallel_size == (4 if size >= 32 else 1), model.key  # the catalogue the table assumes
        if expected is None:
            with pytest.raises(LayoutError, match=f"needs 4 GPUs; {visible} visible"):
                gpu_layout(gpus(visible), model.tensor_parallel_size)
            continue
        layout = gpu_layout(gpus(visible), model.tensor_parallel_size)
        assert list(layout.groups) == expected, model.key
        assert layout.data_parallel == len(expected) and layout.idle == ()


def test_the_layout_can_be_overridden_and_says_what_it_cannot_do():
    assert gpu_layout(gpus(8), 1, data_parallel=3).groups == (("0",), ("1",), ("2",))
    assert gpu_layout(gpus(8), 1, data_parallel=3).idle == gpus(8)[3:]
    assert gpu_layout(gpus(6), 4).idle == ("4", "5")  # two GPUs too few for a second engine
    assert gpu_layout(("GPU-a", "GPU-b"), 2).groups == (("GPU-a", "GPU-b"),)  # UUIDs as CUDA names them
    for args, message in [((gpus(8), 4, 3), "--data-parallel 3 with tensor-parallel size 4 needs 12 GPUs; 8 visible"),
                          ((gpus(2), 4, None), "tensor-parallel size 4 needs 4 GPUs; 2 visible (0,1)"),
                          ((gpus(0), 1, None), "needs 1 GPU; 0 visible"),
                          ((gpus(4), 1, 0), "--data-parallel must be at least 1, not 0")]:
        with pytest.raises(LayoutError) as caught:
            gpu_layout(*args)
        assert message in str(caught.value) and "\n" not in str(caught.value)


def test_visible_gpus_follow_cuda_visible_devices_or_the_device_count():
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": "0,1,2"}) == ("0", "1", "2")
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": "4, 6"}) == ("4", "6")
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": ""}, count=lambda: 8) == ()
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": "1,-1,2"}) == ("1",)  # CUDA stops at the first invalid entry
    assert visible_gpus({}, count=lambda: 4) == gpus(4)
    assert visible_gpus({}, count=lambda: 0) == ()


def test_each_engine_process_sees_only_its_gpus():
    env = worker_environment({"CUDA_VISIBLE_DEVICES": "0,1,2,3", "HOME": "/h"}, ("2", "3"))
    assert env == {"CUDA_VISIBLE_DEVICES": "2,3", "HOME": "/h"}
    assert worker_environment({"HOME": "/h"}, ()) == {"HOME": "/h"}  # an engine on CPU: nothing pinned


def _spec(experiment: str, tier: str, backend: str, device: str | None = None):
    spec = plan_experiment(get_experiment(experiment), get_tier(tier), get_backend(backend))[0].spec
    if device is not None:
        spec = replace(spec, engine=tuple(sorted({**dict(spec.engine), "device": device}.items())))
    return spec


def test_engine_layout_by_where_the_engine_runs():
    def eight():
        return gpus(8)

    def never():
        raise AssertionError("GPUs counted for an engine that needs none")

    on_gpus = _spec("math-zoo-qwen32b", "full", "vllm", device="cuda")
    assert engine_layout(on_gpus, None, eight).groups == (("0", "1", "2", "3"), ("4", "5", "6", "7"))
    assert engine_layout(on_gpus, 1, eight) is None  # one engine: this process, as before
    with pytest.raises(LayoutError, match="needs 4 GPUs; 2 visible"):
        engine_layout(on_gpus, None, lambda: gpus(2))
    seven = _spec("math-oat-zero", "full", "vllm", device="cuda")
    assert engine_layout(seven, None, eight).data_parallel == 8
    assert engine_layout(seven, None, lambda: gpus(1)) is None
    tiny = _spec("math-oat-zero", "smoke", "vllm", device="cuda")
    assert tiny.weights.source == "tiny" and engine_layout(tiny, None, eight) is None
    assert engine_layout(tiny, 2, eight).data_parallel == 2
    simulated = _spec("math-oat-zero", "smoke", "simulated")
    assert engine_layout(simulated, None, never) is None
    assert engine_layout(simulated, 3, never) == cpu_layout(3)
    on_cpu = _spec("math-oat-zero", "smoke", "vllm", device="cpu")
    assert engine_layout(on_cpu, None, never) is None


def test_engine_shards_split_this_commands_problems_or_keep_a_begun_split(tmp_path):
    store = SampleStore.open(tmp_path / "s", {"k": 1})
    assert engine_shards(store, WHOLE, 3) == [Shard(0, 3), Shard(1, 3), Shard(2, 3)]
    assert engine_shards(store, Shard(1, 2), 2) == [Shard(1, 4), Shard(3, 4)]
    for engines, outer in [(3, WHOLE), (4, Shard(1, 2))]:  # exactly the problems of the outer shard
        owned = sorted(index for shard in engine_shards(store, outer, engines) for index in range(40)
                       if shard.owns(index))
        assert owned == [index for index in range(40) if outer.owns(index)]
    # A store begun with a 4-way split (a node with 4 engines) keeps it on a node with 3 or 1.
    store.append_chunk(Shard(0, 4), [{"problem_id": "p0", "round": 0, "samples": []}])
    assert engine_shards(store, WHOLE, 3) == [Shard(i, 4) for i in range(4)]
    assert engine_shards(store, Shard(0, 2), 1) == [Shard(0, 4), Shard(2, 4)]


# ----------------------------------------------------------------------------- end to end


def _results(root: Path) -> dict[str, str]:
    return {path.relative_to(root).as_posix(): path.read_text()
            for path in sorted((root / "experiments").rglob("*.csv"))}


def _samples(root: Path) -> dict[str, dict]:
    return {path.parent.relative_to(root).as_posix(): SampleStore(path.parent).samples()
            for path in sorted((root / "samples").rglob("manifest.json"))}


def test_samples_and_results_do_not_depend_on_the_engines(tmp_path, data_dir):
    one = invoke("run", "math-oat-zero", "--tier", "smoke", "--backend", "simulated", "--out", tmp_path / "one")
    three = invoke("run", "math-oat-zero", "--tier", "smoke", "--backend", "simulated", "--out", tmp_path / "three",
                   "--data-parallel", "3")
    assert one.exit_code == 0 and three.exit_code == 0, three.output
    assert "engine 3/3" in three.output
    stores = list((tmp_path / "three" / "samples").rglob("manifest.json"))
    assert stores and all(sorted(p.name for p in store.parent.glob("index-*.json"))
                          == [f"index-shard{i}of3.json" for i in range(3)] for store in stores)
    assert _results(tmp_path / "one") and _results(tmp_path / "one") == _results(tmp_path / "three")
    assert _samples(tmp_path / "one") == _samples(tmp_path / "three")
    # Another number of engines on a store begun with 3 (a resumed run on another node) keeps
    # its split and finds nothing to sample.
    again = invoke("run", "math-oat-zero", "--tier", "smoke", "--backend", "simulated", "--out", tmp_path / "three",
                   "--data-parallel", "2")
    assert again.exit_code == 0 and "engine" not in again.output, again.output


# Two quick experiments through `repro all`'s own path (every experiment takes minutes).
ALL_OF_THEM = ("math-oat-zero", "math-dapo")


def test_all_sharded_on_two_nodes_then_merged_equals_an_unsharded_run(tmp_path, data_dir, monkeypatch):
    monkeypatch.setattr(repro.commands, "EXPERIMENTS", tuple(get_experiment(i) for i in ALL_OF_THEM))
    common = ("--tier", "smoke", "--backend", "simulated")
    whole = invoke("all", *common, "--out", tmp_path / "whole")
    assert whole.exit_code == 0, whole.output
    # Node 0 runs two engines, node 1 one: the GPU count of a node changes nothing.
    node0 = invoke("all", *common, "--shard", "0/2", "--data-parallel", "2", "--out", tmp_path / "node0")
    node1 = invoke("all", *common, "--shard", "1/2", "--out", tmp_path / "node1")
    assert node0.exit_code == 0 and node1.exit_code == 0, node0.output + node1.output
    assert "shard 0/2 done" in node0.output and "engine 2/2" in node0.output
    assert not (tmp_path / "node0" / "experiments").exists() or not _results(tmp_path / "node0")
    # The merge (docs/cluster.md): copy every node's samples into one folder, then the same
    # command without --shard grades what is ungraded, compares and reports there.
    merged = tmp_path / "merged"
    for node in ("node0", "node1"):
        shutil.copytree(tmp_path / node / "samples", merged / "samples", dirs_exist_ok=True)
    finished = invoke("all", *common, "--out", merged)
    assert finished.exit_code == 0, finished.output
    assert "engine" not in finished.output  # nothing left to sample
    assert _results(merged) and _results(merged) == _results(tmp_path / "whole")
    assert _samples(merged) == _samples(tmp_path / "whole")
    points = Path("reports/smoke/points.csv")
    assert (merged / points).read_text() == (tmp_path / "whole" / points).read_text()
    # `grade`, `compare` and `report` there: the same numbers again.
    regraded = invoke("grade", *ALL_OF_THEM, *common, "--out", merged)
    assert regraded.exit_code == 0, regraded.output
    assert _results(merged) == _results(tmp_path / "whole")
    assert invoke("compare", "math-dapo", *common, "--out", merged).exit_code == 0
    assert invoke("report", "--tier", "smoke", "--out", merged).exit_code == 0
    assert (merged / points).read_text() == (tmp_path / "whole" / points).read_text()


def test_a_failing_engine_process_stops_the_run_in_one_line_and_a_rerun_finishes(tmp_path, data_dir):
    from filelock import FileLock

    args = ("run", "math-oat-zero", "--tier", "smoke", "--backend", "simulated", "--out", tmp_path, "--data-parallel", "2")
    assert invoke(*args).exit_code == 0
    reference = _results(tmp_path)
    store = sorted((tmp_path / "samples").rglob("manifest.json"))[0].parent
    for path in [store / "index-shard1of2.json", *store.rglob("shard1of2-*")]:  # shard 1 never sampled
        path.unlink()
    shutil.rmtree(tmp_path / "experiments")
    with FileLock(store / "writer-shard1of2.lock", timeout=0):  # another writer holds shard 1 of that store
        stopped = invoke(*args)
    assert stopped.exit_code == 2, stopped.output
    # Only engine 2 had work left; its refusal (on stderr) stops the run before any result.
    assert "1 of 1 data-parallel engine process(es) stopped, first engine 2/2 with exit 2" in stopped.output
    assert "Traceback" not in stopped.output and not (tmp_path / "experiments").exists()
    finished = invoke(*args)
    assert finished.exit_code == 0, finished.output
    assert _results(tmp_path) == reference


# ----------------------------------------------------------------------------- the store's splits

HOLD = """
import sys, time
sys.path.insert(0, {project!r})
from pathlib import Path
from repro.store import SampleStore, Shard
with SampleStore(Path(sys.argv[1])).writing(Shard(0, 2), sampling=sys.argv[2] == "sampling"):
    print("held", flush=True)
    time.sleep(60)
"""


@pytest.mark.parametrize("holder_samples", [False, True])
def test_a_node_that_only_grades_never_blocks_another_nodes_sampling(tmp_path, holder_samples):
    """Nodes sharing a store: node A's grading pass after its engines (shard 0/2) runs while
    node B's engines start sampling (shards of 4): only a writer that samples is another split."""
    import subprocess
    import sys

    project = Path(__file__).resolve().parent.parent
    store = SampleStore.open(tmp_path / "s", {"k": 1})
    holder = subprocess.Popen([sys.executable, "-c", HOLD.format(project=str(project)), str(store.root),
                               "sampling" if holder_samples else "grading"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        if holder_samples:
            with pytest.raises(Exception, match="2-way split; --shard 1/4 would overlap"):
                with store.writing(Shard(1, 4)):
                    pass
        else:
            with store.writing(Shard(1, 4)):
                pass
    finally:
        holder.kill()
        holder.wait()


# ----------------------------------------------------------------------------- planning


def test_plan_shows_the_engines_and_wall_clock_of_a_node():
    import json

    from repro.commands import plan

    text = plan(["math-oat-zero", "math-zoo-qwen32b"], "full", gpus=8)
    assert ("tensor parallel 1: 8 engine(s) x 1 GPU (0 | 1 | 2 | 3 | 4 | 5 | 6 | 7); "
            "tensor parallel 4: 2 engine(s) x 4 GPUs (0,1,2,3 | 4,5,6,7)") in text
    planned = json.loads(plan(["math-oat-zero", "math-zoo-qwen32b"], "full", as_json=True, gpus=8))
    for run in planned["runs"]:
        engines = 8 if run["gpus"] == 1 else 2
        assert run["engines"] == engines
        assert run["wall_hours"] == pytest.approx(run["gpu_hours"] / run["gpus"] / engines)
    assert planned["total"]["wall_hours"] == pytest.approx(sum(run["wall_hours"] for run in planned["runs"]))
    assert f"Wall-clock: about {planned['total']['wall_hours']:,.1f} hours" in text
    small = json.loads(plan(["math-zoo-qwen32b"], "full", as_json=True, gpus=2))
    assert small["total"]["wall_hours"] is None and all(run["engines"] is None for run in small["runs"])
    assert "needs 4 GPUs; 2 visible" in plan(["math-zoo-qwen32b"], "full", gpus=2)
    three = json.loads(plan(["math-oat-zero"], "full", as_json=True, gpus=8, data_parallel=3))
    assert {run["engines"] for run in three["runs"]} == {3}


def test_a_layout_the_gpus_cannot_hold_stops_the_run_before_any_engine(tmp_path, monkeypatch, data_dir):
    import repro.model_lock
    import repro.pipeline

    def no_engine(*args, **kwargs):
        raise AssertionError("an engine was started")

    monkeypatch.setattr(repro.pipeline, "gpu_available", lambda: True)
    monkeypatch.setattr(repro.pipeline, "engine_for", no_engine)
    monkeypatch.setattr(repro.model_lock, "hub_commit", lambda hub_id, fresh=False: ("c" * 40, "hub"))  # no hub here
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    real = dict(_spec("math-zoo-qwen32b", "full", "vllm").engine)
    if real.get("device") != "cuda":  # the CPU build names another engine; planned as the GPU build would be
        from repro.sampling import BACKENDS

        kind = BACKENDS["vllm"]
        monkeypatch.setitem(BACKENDS, "vllm", replace(kind, _identity=lambda s: {**kind.identity(s), "device": "cuda"}))
    result = invoke("run", "math-zoo-qwen32b", "--tier", "full", "--out", tmp_path)
    assert result.exit_code == 2, result.output
    assert "an engine with tensor-parallel size 4 needs 4 GPUs; 2 visible (0,1)" in result.output
    assert "Traceback" not in result.output


def test_the_merge_of_a_full_tier_run_needs_no_gpu(tmp_path, monkeypatch, data_dir):
    """The nodes' stores copied into one folder: `repro run` there (as `repro all`) on a machine
    without GPU grades, counts and compares; nothing is sampled, no engine starts."""
    import repro.pipeline
    from repro.benchmarks.loading import load_benchmark
    from repro.model_lock import write_lock
    from repro.models import get_model
    from repro.pipeline import store_key, store_path

    def no_engine(*args, **kwargs):
        raise AssertionError("an engine was started")

    monkeypatch.setattr(repro.pipeline, "engine_for", no_engine)
    monkeypatch.setattr(repro.pipeline, "gpu_available", lambda: False)
    # the nodes' model lock, copied with their samples (docs/cluster.md): the merge asks no hub
    models = [get_model(key) for key in ("qwen2.5-math-7b", "oat-zero-7b")]
    revisions = {model.hf_id: model.revision or "c" * 40 for model in models}
    write_lock(tmp_path, {hub_id: {"commit": commit, "resolved_at": "2026-12-07T00:00:00Z", "source": "test",
                                   "models": []} for hub_id, commit in revisions.items()})
    loaded = load_benchmark("aime24", allow_synthetic=False, download=False)
    for planned in plan_experiment(get_experiment("math-oat-zero"), get_tier("full"), get_backend("vllm"),
                                   revisions=revisions):
        spec = planned.spec
        key = store_key(spec, loaded)
        store = SampleStore.open(store_path(tmp_path, spec, key), key)
        for shard in (Shard(0, 2), Shard(1, 2)):  # as two nodes wrote them
            records = [{"problem_id": p.problem_id, "round": r, "seed": r, "samples": [
                {"text": f"so \\boxed{{{p.answer}}}" if j < p.index % 3 else "no idea", "finish_reason": "stop",
                 "num_tokens": 3} for j in range(spec.samples_per_round)]}
                for p in loaded.problems if shard.owns(p.index) for r in range(spec.rounds)]
            store.append_chunk(shard, records)
    merged = invoke("run", "math-oat-zero", "--tier", "full", "--out", tmp_path)
    assert merged.exit_code in (0, 1), merged.output  # 1: the made-up samples fail the paper's points
    assert "needs a CUDA GPU" not in merged.output
    rows = (tmp_path / "experiments/math-oat-zero/full/vllm/results/base__aime24.csv").read_text().splitlines()
    assert rows[1:] == [f"{p.problem_id},2048,{64 * (p.index % 3)}" for p in loaded.problems]
    fresh = invoke("run", "math-oat-zero", "--tier", "full", "--out", tmp_path / "fresh")
    assert fresh.exit_code == 2 and "needs a CUDA GPU" in fresh.output  # nothing sampled yet: refused at once


def test_every_docker_run_with_gpus_gives_vllm_the_shared_memory_it_needs():
    """vLLM's tensor-parallel workers and NCCL exchange data through shared memory, which
    Docker limits to 64 MB unless --ipc=host (or a large --shm-size) is given (docs/container.md)."""
    import re

    project = Path(__file__).resolve().parent.parent
    commands = []
    for page in [project / "README.md", *sorted((project / "docs").glob("*.md"))]:
        text = page.read_text(encoding="utf-8").replace("\\\n", " ")
        commands += [(page.name, line) for line in text.splitlines() if re.search(r"docker run\b.*--gpus", line)]
    assert any(name == "README.md" for name, _ in commands)
    for name, line in commands:
        assert "--ipc=host" in line or "--shm-size" in line, f"{name}: {line.strip()}"


def test_the_gpus_are_counted_for_planning_without_torch(monkeypatch, tmp_path):
    from repro.gpu_layout import nvidia_smi_count

    fake = tmp_path / "nvidia-smi"
    fake.write_text("#!/bin/sh\necho 'GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-a)'\n"
                    "echo 'GPU 1: NVIDIA H100 80GB HBM3 (UUID: GPU-b)'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert nvidia_smi_count() == 2
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert visible_gpus(count=nvidia_smi_count) == ("0", "1")
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    assert nvidia_smi_count() == 0


def test_a_scoring_stage_that_cannot_run_stops_only_its_experiment(tmp_path, data_dir, monkeypatch):
    """The merge on a CPU node: `perplexity` and `entropy` need an engine after their pass@k runs;
    the other experiments are still graded, compared and reported, and the exit status says 2."""
    import repro.analysis.stage
    from repro.errors import EnvironmentNotSupportedError

    def no_gpu(context, experiment, section, external_responses=None):
        if experiment.id == "math-oat-zero":
            raise EnvironmentNotSupportedError("--tier full runs real models and needs a CUDA GPU, and none is visible")

    monkeypatch.setattr(repro.commands, "EXPERIMENTS", tuple(get_experiment(i) for i in ALL_OF_THEM))
    monkeypatch.setattr(repro.analysis.stage, "run_scoring_stage", no_gpu)
    result = invoke("all", "--tier", "smoke", "--backend", "simulated", "--out", tmp_path)
    assert result.exit_code == 2, result.output
    assert "error: math-oat-zero: --tier full runs real models" in result.output
    assert len(_results(tmp_path)) == 4 and (tmp_path / "reports/smoke/report.md").is_file()
    assert "scoring stage not run" in (tmp_path / "reports/smoke/report.md").read_text()


def test_the_ray_recipe_runs_the_command_as_n_shards():
    import importlib.util

    path = Path(__file__).resolve().parent.parent / "scripts" / "ray_shards.py"
    spec = importlib.util.spec_from_file_location("ray_shards", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.shard_command(["repro"], ["all", "--tier", "full"], 2, 4) == ["repro", "all", "--tier", "full",
                                                                              "--shard", "2/4"]
    for argv in (["--shards", "0", "--", "all"], ["--shards", "2"]):  # refused before Ray is asked
        with pytest.raises(SystemExit) as stopped:
            module.main(argv)
        assert stopped.value.code == 2
