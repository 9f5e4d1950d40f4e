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
