"""Damage to a run's samples is reported by the next `run`, `grade`, `compare` and `report`,
and the advice each gives works when followed: the results come back exactly as they were."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cli

EXPERIMENT = ["math-oat-zero", "--tier", "smoke", "--backend", "simulated"]
RESULTS = Path("experiments/math-oat-zero/smoke/simulated/results")


def invoke(*args: str):
    return CliRunner().invoke(cli.app, list(args))


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> Path:
    """One finished run, copied for each case."""
    root = tmp_path_factory.mktemp("made")
    done = invoke("run", *EXPERIMENT, "--out", str(root))
    assert done.exit_code == 0, done.output
    return root


def _store(root: Path) -> Path:
    return sorted(path.parent for path in (root / "samples").rglob("manifest.json"))[0]


def _first_chunk(root: Path) -> Path:
    return sorted((_store(root) / "chunks").iterdir())[0]


def flip_a_byte(root: Path) -> None:
    path = _first_chunk(root)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def truncate_a_chunk(root: Path) -> None:
    path = _first_chunk(root)
    path.write_bytes(path.read_bytes()[:-10])


def delete_the_manifest(root: Path) -> None:
    (_store(root) / "manifest.json").unlink()


def delete_the_index(root: Path) -> None:
    (_store(root) / "index-shard0of1.json").unlink()


def edit_a_grades_file(root: Path) -> None:
    path = sorted((_store(root) / "grades").rglob("*.json"))[0]
    content = json.loads(path.read_text())
    pid, round_index, marks = content["verdicts"][0]
    content["verdicts"][0] = [pid, round_index, [not mark for mark in marks]]  # a hand edit
    path.write_text(json.dumps(content))


DAMAGE = {
    "flipped byte": (flip_a_byte, "is corrupt"),
    "truncated chunk": (truncate_a_chunk, "is corrupt"),
    "deleted manifest": (delete_the_manifest, "no manifest.json"),
    "deleted index": (delete_the_index, "index-shard0of1.json is missing"),
    "edited grades": (edit_a_grades_file, "checksum does not match"),
}
# What compare and report say: they read results, and check the stores those were counted from.
STORE_PROBLEM = {"flipped byte": "corrupt (sha256", "truncated chunk": "corrupt (sha256",
                 "deleted manifest": "manifest.json: missing", "deleted index": "index-shard0of1.json: missing",
                 "edited grades": "unusable grades: its checksum does not match"}


def _damaged_copy(made: Path, tmp_path: Path, damage: str) -> Path:
    root = tmp_path / "run"
    shutil.copytree(made, root)
    DAMAGE[damage][0](root)
    return root


@pytest.mark.parametrize("damage", DAMAGE)
@pytest.mark.parametrize("command", ["run", "grade"])
def test_run_and_grade_report_the_damage(made, tmp_path, damage, command):
    root = _damaged_copy(made, tmp_path, damage)
    result = invoke(command, *EXPERIMENT, "--out", str(root))
    assert DAMAGE[damage][1] in result.output, result.output
    if damage == "edited grades":
        # Grades are a function of the samples: the file is named, graded again, and the
        # results are those of the intact run.
        assert result.exit_code == 0 and "warning:" in result.output and "graded again" in result.output
        assert (root / RESULTS / "rl__aime24.csv").read_text() == (made / RESULTS / "rl__aime24.csv").read_text()
    else:
        assert result.exit_code == 2
        (line,) = [line for line in result.output.splitlines() if DAMAGE[damage][1] in line]
        assert line.startswith("error: ") and ("repro store repair" in line or "move that folder away" in line)


@pytest.mark.parametrize("damage", DAMAGE)
@pytest.mark.parametrize("command", ["compare", "report"])
def test_compare_and_report_check_the_samples_behind_the_results(made, tmp_path, damage, command):
    root = _damaged_copy(made, tmp_path, damage)
    args = [*EXPERIMENT] if command == "compare" else ["--tier", "smoke"]
    result = invoke(command, *args, "--out", str(root))
    assert result.exit_code == 2, result.output
    assert STORE_PROBLEM[damage] in result.output and "repro store repair" in result.output


@pytest.mark.parametrize("damage", DAMAGE)
def test_the_advice_works_when_followed(made, tmp_path, damage):
    root = _damaged_copy(made, tmp_path, damage)
    if damage == "deleted manifest":
        # What made the samples is unknown: the advice is to move the store away and rerun.
        assert "move that folder away" in invoke("run", *EXPERIMENT, "--out", str(root)).output
        (broken,) = {path.parent.parent for path in (root / "samples").rglob("chunks/*.jsonl.gz")
                     if not (path.parent.parent / "manifest.json").exists()}
        broken.rename(tmp_path / "moved-away")
    else:
        repaired = invoke("store", "repair", "--out", str(root))
        assert repaired.exit_code == 0, repaired.output
    rerun = invoke("run", *EXPERIMENT, "--out", str(root))
    assert rerun.exit_code == 0, rerun.output
    for name in ("base__aime24.csv", "rl__aime24.csv"):
        assert (root / RESULTS / name).read_text() == (made / RESULTS / name).read_text()
    assert invoke("compare", *EXPERIMENT, "--out", str(root)).exit_code == 0
    assert invoke("store", "check", "--out", str(root)).exit_code == 0
