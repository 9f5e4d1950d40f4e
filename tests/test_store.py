"""The sample store: resume after a crash, corruption, overlapping shards, key changes."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from repro.errors import StoreError
from repro.pipeline import RunContext, generate, grade_store
from repro.problems import Problem
from repro.sampling.base import SamplingParams
from repro.sampling.simulated import SimulatedBackend
from repro.store import WHOLE, SampleStore, Shard
from repro.tiers import get_tier

PROJECT = Path(__file__).resolve().parent.parent
PARAMS = SamplingParams(temperature=0.6, top_p=0.95, max_new_tokens=16)
KEY = {"test": "store", "version": 1}


def make_problems(count: int = 23) -> list[Problem]:
    return [Problem(f"bench/{i:03d}", i, f"What is {i} + 1?", str(i + 1)) for i in range(count)]


def make_backend(problems: list[Problem]) -> SimulatedBackend:
    return SimulatedBackend({p.problem_id: (p.index % 5) / 5 for p in problems}, {p.problem_id: p.answer for p in problems})


def fill(root: Path, shard: Shard = WHOLE, rounds: int = 3) -> SampleStore:
    problems = make_problems()
    store = SampleStore.open(root, KEY)
    context = RunContext(root.parent, get_tier("smoke"), ("simulated",), run_seed=5, shard=shard, grading_workers=1)
    try:
        generate(store, make_backend(problems), problems, "qwen-boxed", PARAMS, 4, rounds, context, "test",
                 benchmark="gsm8k")
    finally:
        context.close()
    return store


# A separate process that generates with tiny chunks and dies (os._exit: no cleanup, no
# finally blocks) in the middle of the 4th chunk's generation.
KILLED_RUN = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    sys.path.insert(0, {project!r})
    sys.path.insert(0, {tests!r})
    import repro.pipeline as pipeline
    from test_store import KEY, PARAMS, make_backend, make_problems
    from repro.pipeline import RunContext, generate
    from repro.store import SampleStore
    from repro.tiers import get_tier

    def main():
        pipeline.CHUNK_REQUESTS["simulated"] = 5
        problems = make_problems()
        backend = make_backend(problems)
        real_generate = backend.generate
        calls = []

        def dying_generate(requests, params):
            calls.append(1)
            if len(calls) == 4:
                os._exit(9)
            return real_generate(requests, params)

        backend.generate = dying_generate
        root = Path(sys.argv[1])
        store = SampleStore.open(root, KEY)
        context = RunContext(root.parent, get_tier("smoke"), ("simulated",), run_seed=5, grading_workers=1)
        generate(store, backend, problems, "qwen-boxed", PARAMS, 4, 3, context, "test")

    # The grading pool spawns workers that import this module: only the parent may run.
    if __name__ == "__main__":
        main()
""")


def test_killed_and_resumed_run_equals_uninterrupted_run(tmp_path):
    script = tmp_path / "killed_run.py"
    script.write_text(KILLED_RUN.format(project=str(PROJECT), tests=str(PROJECT / "tests")))
    killed_root = tmp_path / "killed" / "store"
    done = subprocess.run([sys.executable, str(script), str(killed_root)], capture_output=True, text=True)
    assert done.returncode == 9, done.stderr
    partial = SampleStore(killed_root)
    assert len(partial.done_units()) == 15  # three chunks of five requests survived
    # Leave the debris a crash can leave: a temporary file and an unlisted chunk.
    (killed_root / "chunks" / ".shard0of1-000003.jsonl.gz.123.tmp").write_text("half a file")
    (killed_root / "chunks" / "shard0of1-000003.jsonl.gz").write_text("an unlisted chunk")

    resumed = fill(killed_root)
    uninterrupted = fill(tmp_path / "clean" / "store")
    assert resumed.samples() == uninterrupted.samples()
    assert len(resumed.samples()) == 23 * 3


def test_rerun_tops_up_only_what_is_missing(tmp_path):
    store = fill(tmp_path / "s", rounds=2)
    before = store.samples()
    chunks_before = set(store.chunk_listing())
    store = fill(tmp_path / "s", rounds=3)  # raise n: one more round per problem
    after = store.samples()
    assert {unit: after[unit] for unit in before} == before
    assert len(after) == 23 * 3
    again = fill(tmp_path / "s", rounds=3)
    assert set(again.chunk_listing()) == set(store.chunk_listing()) != chunks_before


def test_shards_merge_into_the_same_samples(tmp_path):
    whole = fill(tmp_path / "whole")
    for index in range(3):
        fill(tmp_path / "sharded", shard=Shard(index, 3))
    assert SampleStore(tmp_path / "sharded").samples() == whole.samples()


def test_overlapping_shards_are_refused(tmp_path):
    fill(tmp_path / "s", shard=Shard(0, 2))
    # A concurrent run with another split writes the same units under its own index.
    store = SampleStore.open(tmp_path / "s", KEY)
    record = next(iter(store.iter_chunks()))[1][0]
    store.append_chunk(Shard(0, 3), [record])
    with pytest.raises(StoreError, match="overlapping shards"):
        store.samples()


def test_corrupt_chunk_is_detected_and_named(tmp_path):
    store = fill(tmp_path / "s")
    name = sorted(store.chunk_listing())[0]
    path = tmp_path / "s" / "chunks" / name
    data = bytearray(path.read_bytes())
    data[10] = ord("X") if data[10] != ord("X") else ord("Y")
    path.write_bytes(bytes(data))
    with pytest.raises(StoreError, match=f"chunk .*{name} is corrupt"):
        store.verify()


def test_missing_chunk_and_corrupt_index_are_named(tmp_path):
    store = fill(tmp_path / "s")
    name = sorted(store.chunk_listing())[0]
    (tmp_path / "s" / "chunks" / name).unlink()
    with pytest.raises(StoreError, match="listed in the index but missing"):
        store.verify()
    (tmp_path / "s" / "index-shard0of1.json").write_text("{not json")
    with pytest.raises(StoreError, match="index-shard0of1.json is corrupt"):
        store.done_units()


def test_a_store_refuses_another_configuration(tmp_path):
    fill(tmp_path / "s")
    with pytest.raises(StoreError, match="belongs to another configuration"):
        SampleStore.open(tmp_path / "s", {**KEY, "version": 2})
    manifest = tmp_path / "s" / "manifest.json"
    content = json.loads(manifest.read_text())
    content["key"]["version"] = 3  # edited by hand: the key no longer matches its hash
    manifest.write_text(json.dumps(content))
    with pytest.raises(StoreError, match="corrupt"):
        SampleStore(tmp_path / "s").manifest()


def test_grades_are_reused_and_redone_when_samples_change(tmp_path):
    store = fill(tmp_path / "s")
    problems = {p.problem_id: p for p in make_problems()}
    context = RunContext(tmp_path, get_tier("smoke"), ("simulated",), grading_workers=1)
    first = grade_store(store, problems, context, "test", benchmark="gsm8k")
    grades = sorted((tmp_path / "s" / "grades").rglob("*.json"))
    stamps = [g.stat().st_mtime_ns for g in grades]
    assert grade_store(store, problems, context, "test", benchmark="gsm8k") == first
    assert [g.stat().st_mtime_ns for g in grades] == stamps, "cached verdicts must be reused"
    # Simulated sample texts carry the answer: the verdicts must match the probabilities'
    # extremes (p = 0 never right).
    for (pid, _), marks in first.items():
        if problems[pid].index % 5 == 0:
            assert not any(marks)
    assert any(any(marks) for marks in first.values()), "right answers must be graded right"
    assert len(first) == 23 * 3
    context.close()


@pytest.mark.parametrize("text", ["3", "a/b", "3/2", "-1/2", "2/0"])
def test_bad_shard_specifications_are_refused(text):
    with pytest.raises(StoreError):
        Shard.parse(text)


def test_grading_overlaps_generation(tmp_path):
    """While the engine generates the last chunk, the first chunk's verdicts are already
    being written: grading runs beside generation, not after it."""
    import time

    import repro.pipeline as pipeline

    problems = make_problems()
    backend = make_backend(problems)
    real_generate = backend.generate
    store = SampleStore.open(tmp_path / "s", KEY)
    seen_during_generation = []

    def generate_and_watch(requests, params):
        if store.chunk_listing():  # not the first call: wait a little for the grader
            deadline = time.monotonic() + 20
            while not list((tmp_path / "s" / "grades").rglob("*.json")) and time.monotonic() < deadline:
                time.sleep(0.05)
            seen_during_generation.append(len(list((tmp_path / "s" / "grades").rglob("*.json"))))
        return real_generate(requests, params)

    backend.generate = generate_and_watch
    old_chunk = pipeline.CHUNK_REQUESTS["simulated"]
    pipeline.CHUNK_REQUESTS["simulated"] = 10
    context = RunContext(tmp_path, get_tier("smoke"), ("simulated",), grading_workers=1)
    try:
        generate(store, backend, problems, "qwen-boxed", PARAMS, 4, 3, context, "test")
    finally:
        pipeline.CHUNK_REQUESTS["simulated"] = old_chunk
        context.close()
    assert seen_during_generation and seen_during_generation[-1] >= 1
    assert len(list((tmp_path / "s" / "grades").rglob("*.json"))) == len(store.chunk_listing())


def test_a_store_refuses_samples_from_another_engine(tmp_path):
    store = SampleStore.open(tmp_path / "s", KEY)
    facts = {"backend": "vllm", "resolved_commit": "abc", "dtype": "bfloat16"}
    store.bind_engine_facts(facts)
    store.bind_engine_facts(dict(facts))  # the same engine again: fine
    assert SampleStore(tmp_path / "s").manifest()["engine_facts"] == facts
    with pytest.raises(StoreError, match="resolved_commit: 'abc' then, 'def' now"):
        store.bind_engine_facts({**facts, "resolved_commit": "def"})


def test_chunks_record_their_output_tokens_and_seconds(tmp_path):
    store = SampleStore.open(tmp_path / "s", KEY)
    records = [{"problem_id": "p", "round": 0, "seed": 1,
                "samples": [{"text": "a", "finish_reason": "stop", "num_tokens": 5},
                            {"text": "b", "finish_reason": "length", "num_tokens": 7}]}]
    name = store.append_chunk(WHOLE, records, seconds=1.5)
    entry = store.chunk_listing()[name]
    assert (entry["output_tokens"], entry["samples"], entry["seconds"]) == (12, 2, 1.5)


def test_a_store_whose_manifest_is_gone_is_refused_not_recreated(tmp_path):
    fill(tmp_path / "s")
    (tmp_path / "s" / "manifest.json").unlink()
    with pytest.raises(StoreError, match="holds samples but no manifest.json"):
        SampleStore.open(tmp_path / "s", KEY)
    assert not (tmp_path / "s" / "manifest.json").exists()
    # The advice works: moved away, the store is made anew.
    (tmp_path / "s").rename(tmp_path / "moved")
    assert fill(tmp_path / "s").verify() > 0


def test_the_advice_for_a_corrupt_chunk_works(tmp_path):
    from repro.store_audit import repair

    store = fill(tmp_path / "s")
    intact = store.samples()
    name = sorted(store.chunk_listing())[0]
    path = tmp_path / "s" / "chunks" / name
    path.write_bytes(path.read_bytes()[:-5])  # truncated
    with pytest.raises(StoreError, match=r"run `repro store repair .*/s`") as raised:
        store.verify()
    assert str(tmp_path / "s") in str(raised.value)
    done, after = repair(tmp_path / "s")  # the advice, followed
    assert [finding.path.name for finding in done] == [name] and after.clean
    assert fill(tmp_path / "s").samples() == intact  # the rerun samples the dropped units again, identically


def test_a_deleted_index_is_an_error_and_the_advice_rebuilds_it(tmp_path):
    from repro.store_audit import repair

    store = fill(tmp_path / "s")
    intact, chunks = store.samples(), sorted((tmp_path / "s" / "chunks").iterdir())
    (tmp_path / "s" / "index-shard0of1.json").unlink()
    with pytest.raises(StoreError, match=r"index-shard0of1.json is missing but its chunks are there; run `repro "
                                         r"store repair"):
        store.done_units()  # every reader: a run would otherwise sample everything again
    done, after = repair(tmp_path / "s")
    assert after.clean and [finding.path.name for finding in done] == ["index-shard0of1.json"]
    assert store.samples() == intact and sorted((tmp_path / "s" / "chunks").iterdir()) == chunks


def test_the_next_writer_of_a_shard_removes_the_debris_of_killed_writes(tmp_path):
    store = fill(tmp_path / "s", shard=Shard(0, 2))
    chunks = tmp_path / "s" / "chunks"
    debris = [chunks / ".shard0of2-000009.jsonl.gz.x1.tmp", chunks / "shard0of2-000009.jsonl.gz",
              tmp_path / "s" / ".index-shard0of2.json.x2.tmp"]
    others = [chunks / ".shard1of2-000000.jsonl.gz.x3.tmp", tmp_path / "s" / ".manifest.json.x4.tmp"]
    for path in debris + others:
        path.write_bytes(b"left by a killed write")
    with store.writing(Shard(0, 2)):
        pass
    assert not any(path.exists() for path in debris)
    # Another shard's files may be in flight (its writer runs beside this one): not touched.
    assert all(path.exists() for path in others)


# The writer lock: what it relies on, then what it gives.
HOLD_LOCK = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {project!r})
    from pathlib import Path
    from repro.store import SampleStore, Shard
    store = SampleStore(Path(sys.argv[1]))
    with store.writing(Shard(0, 1)):
        print("held", flush=True)
        time.sleep(60)
""")


def _holder(root: Path) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", HOLD_LOCK.format(project=str(PROJECT)), str(root)],
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "held"
    return process


def test_a_second_writer_is_refused_at_once_naming_the_holder_and_a_killed_holder_frees_the_lock(tmp_path):
    import os
    import signal

    store = fill(tmp_path / "s")
    holder = _holder(tmp_path / "s")
    try:
        with pytest.raises(StoreError, match=f"being written by pid {holder.pid} on .*; wait for it"):
            with store.writing(WHOLE):
                pass
    finally:
        os.kill(holder.pid, signal.SIGKILL)  # no cleanup: the kernel drops the flock
        holder.wait()
    with store.writing(WHOLE):  # free again, at once
        pass


def test_shards_of_another_split_are_refused_before_sampling(tmp_path):
    fill(tmp_path / "s", shard=Shard(0, 2))
    store = SampleStore(tmp_path / "s")
    before = sorted((tmp_path / "s" / "chunks").iterdir())
    with pytest.raises(StoreError, match="2-way split; --shard 0/3 would overlap"):
        with store.writing(Shard(0, 3)):
            pass
    assert sorted((tmp_path / "s" / "chunks").iterdir()) == before
    with store.writing(Shard(1, 2)):  # the same split: side by side
        pass
    with store.writing(WHOLE, sampling=False):  # grading after the shards: any split
        pass


def test_cached_grades_are_used_only_with_their_samples_and_an_edited_grades_file_is_graded_again(tmp_path):
    store = fill(tmp_path / "s")
    problems = {p.problem_id: p for p in make_problems()}
    context = RunContext(tmp_path, get_tier("smoke"), ("simulated",), grading_workers=1)
    try:
        first = grade_store(store, problems, context, "test", benchmark="gsm8k")
        grades = sorted((tmp_path / "s" / "grades").rglob("*.json"))
        edited = json.loads(grades[0].read_text())
        pid, r, marks = edited["verdicts"][0]
        edited["verdicts"][0] = [pid, r, [not mark for mark in marks]]  # a hand edit flipping verdicts
        grades[0].write_text(json.dumps(edited))
        assert grade_store(store, problems, context, "test", benchmark="gsm8k") == first  # recomputed
        assert json.loads(grades[0].read_text())["verdicts"][0][2] == marks
        # A flipped byte in a chunk whose grades are cached is refused, naming the chunk.
        name = sorted(store.chunk_listing())[0]
        path = tmp_path / "s" / "chunks" / name
        data = bytearray(path.read_bytes())
        data[-1] ^= 1
        path.write_bytes(bytes(data))
        with pytest.raises(StoreError, match=f"{name} is corrupt.*repro store repair"):
            grade_store(store, problems, context, "test", benchmark="gsm8k")
    finally:
        context.close()
