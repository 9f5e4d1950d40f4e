"""repro.files: atomic writes leave a complete, shareable file and nothing else."""

from __future__ import annotations

import stat

import pytest

from repro.files import FILE_MODE, atomic_write, write_if_changed


def test_atomic_write_replaces_the_file_readable_by_all_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "deep" / "report.md"
    atomic_write(path, b"first")
    atomic_write(path, b"second")
    assert path.read_bytes() == b"second"
    assert stat.S_IMODE(path.stat().st_mode) == FILE_MODE == 0o644
    assert [p.name for p in path.parent.iterdir()] == ["report.md"]


def test_a_failed_write_keeps_the_old_file_and_removes_its_temporary(tmp_path):
    path = tmp_path / "index.json"
    atomic_write(path, b"old")
    with pytest.raises(TypeError):
        atomic_write(path, "not bytes")  # type: ignore[arg-type]
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["index.json"]


def test_write_if_changed_does_not_touch_an_identical_file(tmp_path):
    path = tmp_path / "rows.jsonl"
    write_if_changed(path, b"a\n")
    before = path.stat().st_mtime_ns
    path.chmod(0o600)
    write_if_changed(path, b"a\n")
    assert path.stat().st_mtime_ns == before and stat.S_IMODE(path.stat().st_mode) == 0o600
    write_if_changed(path, b"b\n")
    assert path.read_bytes() == b"b\n"
