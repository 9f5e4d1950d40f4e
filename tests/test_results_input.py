"""Results made elsewhere (`repro compare --results`) are untrusted input: every malformed file
is one line naming the file and the row, exit 2, within seconds and bounded memory; a fuzz test
checks that the reader gives a sound result or that one error, nothing else."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cli import app
from repro.errors import InputFileError
from repro.results_csv import MAX_FILE_BYTES, read_results_csv

HEADER = "problem_id,n,correct"


def rows(count: int = 30, n: int = 64, prefix: str = "aime24") -> list[str]:
    return [f"{prefix}/{i:04d},{n},{i % (n + 1)}" for i in range(count)]


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join([HEADER, *lines]) + "\n")
    return path


def compare(folder: Path):
    return CliRunner().invoke(app, ["compare", "math-zoo-qwen7b", "--results", str(folder)])


def refused(folder: Path, *words: str) -> str:
    result = compare(folder)
    assert result.exit_code == 2, result.output
    line = result.output.strip()
    assert len(line.splitlines()) == 1 and "Traceback" not in line, line
    for word in words:
        assert word in line, line
    return line


def test_a_well_formed_pair_is_accepted(tmp_path):
    write(tmp_path / "base__aime24.csv", rows())
    write(tmp_path / "rl__aime24.csv", rows())
    assert compare(tmp_path).exit_code in (0, 1)


@pytest.mark.parametrize("name,content,words", [
    ("five rows", rows(5), ["5 problems; aime24 has 30"]),
    ("130 rows", rows(130), ["130 problems; aime24 has 30"]),
    ("one row with n = 1", rows(29) + ["aime24/0029,1,0"], ["line 31", "n = 1", "same n"]),
    ("n too large", rows(29) + ["aime24/0029,99999999999999999999,1"], ["line 31", "from 0 to"]),
    ("an exponent", rows(29) + ["aime24/0029,1e3,1"], ["line 31", "integers"]),
    ("an underscore", rows(29) + ["aime24/0029,1_000,1"], ["line 31", "integers"]),
    ("a sign", rows(29) + ["aime24/0029,+64,1"], ["line 31", "integers"]),
    ("correct above n", rows(29) + ["aime24/0029,64,65"], ["line 31", "0 <= correct <= n"]),
])
def test_malformed_rows_are_one_line_naming_file_and_row(tmp_path, name, content, words):
    write(tmp_path / "base__aime24.csv", content)
    refused(tmp_path, "base__aime24.csv", *words)


def test_arms_with_different_problems_are_refused(tmp_path):
    write(tmp_path / "base__aime24.csv", rows())
    write(tmp_path / "rl__aime24.csv", rows(prefix="other"))
    refused(tmp_path, "line 2", "same problems")


def test_another_benchmarks_problems_are_refused(tmp_path, data_dir):
    write(tmp_path / "base__aime24.csv", rows(prefix="math500"))
    write(tmp_path / "rl__aime24.csv", rows(prefix="math500"))
    refused(tmp_path, "base__aime24.csv line 2", "'math500/0000' is not a problem of aime24")


def test_without_the_benchmarks_files_the_ids_are_said_to_be_unchecked(tmp_path, monkeypatch):
    monkeypatch.delenv("REPRO_DATA_DIR", raising=False)
    monkeypatch.setenv("REPRO_CACHE_DIR", str(tmp_path / "empty-cache"))
    write(tmp_path / "base__aime24.csv", rows())
    write(tmp_path / "rl__aime24.csv", rows())
    result = compare(tmp_path)
    assert result.exit_code in (0, 1) and "problem ids of base__aime24.csv were not checked" in result.output


def test_a_nul_byte(tmp_path):
    (tmp_path / "base__aime24.csv").write_bytes(("\n".join([HEADER, *rows()]) + "\n").encode().replace(b"aime24/0003", b"aime\0/0003"))
    refused(tmp_path, "base__aime24.csv", "line 5", "NUL")


def test_not_utf8(tmp_path):
    (tmp_path / "base__aime24.csv").write_bytes(HEADER.encode() + b"\n\xff\xfe,1,1\n")
    refused(tmp_path, "not a UTF-8")


def test_a_folder_named_like_a_csv(tmp_path):
    (tmp_path / "base__aime24.csv").mkdir()
    refused(tmp_path, "not a regular file")


def test_a_link_to_a_device_and_a_fifo_are_refused_without_reading(tmp_path):
    (tmp_path / "base__aime24.csv").symlink_to("/dev/zero")
    refused(tmp_path, "not a regular file")
    (tmp_path / "base__aime24.csv").unlink()
    os.mkfifo(tmp_path / "base__aime24.csv")  # opening it would block forever
    refused(tmp_path, "not a regular file")


def test_a_huge_file_is_refused_by_its_size(tmp_path):
    path = tmp_path / "base__aime24.csv"
    with path.open("wb") as handle:  # sparse: 120 MB that take no disk
        handle.truncate(120 * 1024 * 1024)
    refused(tmp_path, "a results file is at most")


# ----------------------------------------------------------------------------- fuzz

_cells = st.one_of(st.text(max_size=12), st.integers(-5, 10**9).map(str), st.sampled_from(["", " ", "1e3", "0"]))
_rows = st.lists(st.lists(_cells, min_size=0, max_size=4).map(lambda cells: ",".join(cells)), max_size=12)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=st.sampled_from([HEADER, "problem_id, n ,correct", "id,n,c", ""]), lines=_rows,
       noise=st.binary(max_size=40))
def test_the_reader_gives_a_sound_result_or_one_input_error(tmp_path, header, lines, noise):
    path = tmp_path / "fuzz__aime24.csv"
    path.write_bytes(("\n".join([header, *lines]) + "\n").encode("utf-8", "surrogatepass") + noise)
    try:
        result = read_results_csv(path, "fuzz", "aime24")
    except InputFileError as error:
        assert str(error).startswith(str(path)) and "\n" not in str(error)
        return
    assert len(set(result.problem_ids)) == len(result.problem_ids) > 0
    assert (result.n >= 1).all() and (result.c >= 0).all() and (result.c <= result.n).all()
    assert len(set(result.n.tolist())) == 1  # one n per file


def test_the_size_cap_is_generous_for_any_real_results_file():
    # 2,821 problems (the largest benchmark) at n = 2048 take under 100 KB.
    assert MAX_FILE_BYTES > 100 * (2821 * len("omni-math-rule/2820,2048,2048\n"))
