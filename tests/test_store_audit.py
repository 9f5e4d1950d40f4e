"""`repro store check|repair`: every kind of damage found, named, and mended where that is
safe; what cannot be mended (a lost manifest, overlapping splits) left with advice."""

from __future__ import annotations

import gzip
import json
import os
import signal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from repro.errors import StoreError
from repro.store import SampleStore, Shard
from repro.store_audit import audit, find_stores, repair
from test_store import _holder, fill

import cli


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch):
    """Stores of several chunks (23 problems x 3 rounds: 7 chunks), to damage one of them."""
    import repro.pipeline

    monkeypatch.setitem(repro.pipeline.CHUNK_REQUESTS, "simulated", 10)


def _problems(root: Path) -> list[str]:
    return [f"{finding.path.name}: {finding.problem}" for finding in audit(root).findings]


def test_a_sound_store_is_sound_and_repair_changes_nothing(tmp_path):
    fill(tmp_path / "s")
    before = {path: path.read_bytes() for path in (tmp_path / "s").rglob("*") if path.is_file()}
    result = audit(tmp_path / "s")
    assert result.clean and result.chunks_checked == len(SampleStore(tmp_path / "s").chunk_listing())
    done, after = repair(tmp_path / "s")
    assert done == [] and after.clean
    assert {path: path.read_bytes() for path in before} == before


def test_every_kind_of_damage_is_found_and_named(tmp_path):
    store = fill(tmp_path / "s")
    root = tmp_path / "s"
    names = sorted(store.chunk_listing())
    (root / "chunks" / names[0]).unlink()  # missing
    flipped = bytearray((root / "chunks" / names[1]).read_bytes())
    flipped[20] ^= 0xFF
    (root / "chunks" / names[1]).write_bytes(bytes(flipped))  # corrupt
    (root / "chunks" / "shard0of1-000099.jsonl.gz").write_bytes(b"unlisted")  # debris of a killed write
    (root / "chunks" / ".shard0of1-000100.jsonl.gz.abc.tmp").write_bytes(b"half")  # temporary file
    grades = sorted((root / "grades").rglob("*.json"))
    edited = json.loads(grades[2].read_text())
    edited["verdicts"][0][2] = [not mark for mark in edited["verdicts"][0][2]]
    grades[2].write_text(json.dumps(edited))  # a hand edit
    orphan = grades[2].with_name("shard0of1-000077.json")
    orphan.write_text(grades[3].read_text())  # grades of no chunk
    found = "\n".join(_problems(root))
    assert f"{names[0]}: listed in its index but missing" in found
    assert f"{names[1]}: corrupt (sha256" in found
    assert "shard0of1-000099.jsonl.gz: a chunk no index lists" in found
    assert ".shard0of1-000100.jsonl.gz.abc.tmp: temporary file" in found
    assert f"{grades[2].name}: unusable grades: its checksum does not match" in found
    assert "shard0of1-000077.json: grades of a chunk no index lists" in found
    assert len(audit(root).findings) == 6 == len(audit(root).repairable)


def test_repair_mends_everything_and_the_rerun_gives_the_samples_of_a_sound_store(tmp_path):
    intact = fill(tmp_path / "sound").samples()
    store = fill(tmp_path / "s")
    root = tmp_path / "s"
    names = sorted(store.chunk_listing())
    (root / "chunks" / names[0]).unlink()
    (root / "chunks" / names[1]).write_bytes(b"not a chunk")
    (root / "chunks" / ".shard0of1-000100.jsonl.gz.abc.tmp").write_bytes(b"half")
    done, after = repair(root)
    assert len(done) == 3 and after.clean
    assert not (root / "chunks" / names[1]).exists()
    assert not list((root / "grades").glob(f"*/{names[1].removesuffix('.jsonl.gz')}.json"))
    assert fill(root).samples() == intact
    assert audit(root).clean


def test_a_corrupt_index_is_rebuilt_from_intact_chunks_and_a_damaged_chunk_is_left_out(tmp_path):
    store = fill(tmp_path / "s")
    root = tmp_path / "s"
    listing = store.chunk_listing()
    names = sorted(listing)
    (root / "index-shard0of1.json").write_text('{"chunks": {"x": {"sha256": "no"}}}')
    data = bytearray((root / "chunks" / names[-1]).read_bytes())
    data[-6] ^= 0x01  # the gzip CRC no longer matches
    (root / "chunks" / names[-1]).write_bytes(bytes(data))
    assert any("corrupt index (entry 'x' lacks a sha256" in line for line in _problems(root))
    with pytest.raises(StoreError, match="index-shard0of1.json is corrupt .*repro store repair"):
        store.done_units()
    done, after = repair(root)
    assert after.clean, after.findings
    rebuilt = store.chunk_listing()
    assert sorted(rebuilt) == names[:-1]
    for name in names[:-1]:
        assert rebuilt[name]["units"] == listing[name]["units"] and rebuilt[name]["sha256"] == listing[name]["sha256"]
    # Grades of the surviving chunks are still valid: they were made from the same bytes.
    assert len(list((root / "grades").rglob("*.json"))) == len(names) - 1


def test_chunks_of_another_store_cannot_be_slipped_into_a_rebuilt_index_twice(tmp_path):
    store = fill(tmp_path / "s")
    root = tmp_path / "s"
    first = sorted(store.chunk_listing())[0]
    copy = root / "chunks" / "shard0of1-000050.jsonl.gz"
    copy.write_bytes((root / "chunks" / first).read_bytes())  # the same units twice
    (root / "index-shard0of1.json").unlink()
    repair(root)
    assert not copy.exists() and audit(root).clean


def test_a_lost_manifest_and_overlapping_splits_are_not_mended_but_explained(tmp_path):
    fill(tmp_path / "s")
    (tmp_path / "s" / "manifest.json").unlink()
    done, after = repair(tmp_path / "s")
    assert done == []
    (finding,) = after.findings
    assert finding.problem.startswith("missing: what made the samples is unknown")
    assert "move the store away" in finding.advice and finding.fix is None

    fill(tmp_path / "t", shard=Shard(0, 2))
    store = SampleStore(tmp_path / "t")
    record = next(iter(store.iter_chunks()))[1][0]
    store.append_chunk(Shard(0, 3), [record])
    (finding,) = audit(tmp_path / "t").findings
    assert "shards of two splits overlap" in finding.problem and finding.fix is None


def test_repair_refuses_while_a_writer_holds_the_store_and_check_does_not_judge_its_files(tmp_path):
    fill(tmp_path / "s")
    holder = _holder(tmp_path / "s")
    (tmp_path / "s" / "chunks" / ".shard0of1-000100.jsonl.gz.abc.tmp").write_bytes(b"maybe in flight")
    try:
        result = audit(tmp_path / "s")
        assert result.clean and list(result.writers) == ["shard0of1"]
        assert result.writers["shard0of1"].startswith(f"pid {holder.pid}")
        with pytest.raises(StoreError, match=f"being written by pid {holder.pid}"):
            repair(tmp_path / "s")
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    assert len(audit(tmp_path / "s").findings) == 1  # the holder is dead: its temporary file is debris


def test_stores_are_found_under_a_run_folder(tmp_path):
    fill(tmp_path / "runs" / "samples" / "simulated" / "m" / "b" / "T0.6-a")
    fill(tmp_path / "runs" / "samples" / "simulated" / "m" / "c" / "T0.6-b")
    assert [path.name for path in find_stores([tmp_path / "runs"])] == ["T0.6-a", "T0.6-b"]
    assert find_stores([tmp_path / "runs" / "samples" / "simulated" / "m" / "b" / "T0.6-a"]) == \
        [tmp_path / "runs" / "samples" / "simulated" / "m" / "b" / "T0.6-a"]


def test_the_commands_exit_codes_and_tables(tmp_path):
    root = tmp_path / "runs"
    store = fill(root / "samples" / "simulated" / "m" / "b" / "T0.6-a")
    runner = CliRunner()
    sound = runner.invoke(cli.app, ["store", "check", "--out", str(root)])
    assert sound.exit_code == 0 and "1 store(s)" in sound.output and "sound" in sound.output
    name = sorted(store.chunk_listing())[0]
    (store.root / "chunks" / name).write_bytes(gzip.compress(b"{}\n"))
    damaged = runner.invoke(cli.app, ["store", "check", str(root)])
    assert damaged.exit_code == 1
    assert name in damaged.output and "remove it and its grades" in damaged.output
    mended = runner.invoke(cli.app, ["store", "repair", "--out", str(root)])
    assert mended.exit_code == 0 and "1 problem(s) mended" in mended.output and "Rerun" in mended.output
    assert runner.invoke(cli.app, ["store", "check", "--out", str(root)]).exit_code == 0
    (store.root / "manifest.json").unlink()
    left = runner.invoke(cli.app, ["store", "repair", "--out", str(root)])
    assert left.exit_code == 1 and "cannot: restore the manifest" in left.output
    nothing = runner.invoke(cli.app, ["store", "check", str(tmp_path / "empty-but-here")])
    assert nothing.exit_code == 2 and "not a folder" in nothing.output


def test_a_grades_file_names_its_grader_and_version_and_another_graders_file_is_not_used(tmp_path):
    store = fill(tmp_path / "s")
    name, entry = sorted(store.chunk_listing().items())[0]
    path = store.grades_path("math-paper-v3", name)
    content = json.loads(path.read_text())
    assert content["grader"] == "math-paper-v3"
    assert store.read_grades("math-paper-v3", name, entry["sha256"]) is not None
    moved = store.grades_path("math-paper-v4", name)  # the same file under a newer version's folder
    moved.parent.mkdir(parents=True)
    moved.write_text(path.read_text())
    assert store.read_grades("math-paper-v4", name, entry["sha256"]) is None
    assert store.grades_problem("math-paper-v4", name, entry["sha256"]) == "made by grader math-paper-v3, not math-paper-v4"
