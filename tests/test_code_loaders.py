"""Code benchmark loaders: pinned sources, verification, the real row formats (LiveCodeBench
release_v5, MBPP+ release JSONL; the HumanEval+ HF row as a format we refuse), evalplus
expected outputs computed in the sandbox and cached, and the stand-in files.

No test reaches the internet: downloads go to a local HTTP server on 127.0.0.1 or to a closed
local port, and the cache is a temporary folder. Tests on real rows read the shared folder
(REPRO_SHARED_DIR) and skip without it. A sandboxed program costs ~0.1-0.3 s here, so the
tests run few of them.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import math
import pickle
import zlib
from datetime import datetime
from pathlib import Path

import pytest

from repro.benchmarks import code_files, evalplus_data, fetch
from repro.benchmarks.code_files import (
    EVALPLUS_SOURCES,
    LCB_REVISION,
    LCB_SOURCES,
    load_code_benchmark,
    load_code_standin,
)
from repro.benchmarks.code_standins import write_standin_files
from repro.benchmarks.evalplus_data import (
    EvalplusDataError,
    EvalplusTask,
    mbpp_deserialize_inputs,
    parse_task,
    read_release_rows,
    run_canonical,
)
from repro.benchmarks.fetch import ChecksumMismatchError, DataMissingError, PinnedHubFile, PinnedReleaseAsset, resolve
from repro.benchmarks.livecodebench import RELEASE_V5_FILES, WINDOWS, decode_private_tests
from repro.code_tests import read_suite
from repro.errors import ReproError, UnknownNameError
from repro.grading.code import check_program
from repro.sandbox.harness import decode_value, encode_value
from tests.conftest import LocalFileServer, place_file

HEX64 = "0123456789abcdef"


@pytest.fixture(autouse=True)
def isolated(isolated_downloads):
    return isolated_downloads


@pytest.fixture
def sandbox_runs(monkeypatch) -> list[str]:
    """Counts the canonical-solution programs run in the sandbox (task ids)."""
    calls: list[str] = []

    def counting(task):
        calls.append(task.task_id)
        return run_canonical(task)

    monkeypatch.setattr(evalplus_data, "run_canonical", counting)
    return calls


# ----------------------------------------------------------------------------- pinned sources


def test_sources_are_pinned_public_files():
    assert [pinned.path for pinned in LCB_SOURCES] == list(RELEASE_V5_FILES)
    assert len(LCB_REVISION) == 40 and set(LCB_REVISION) <= set(HEX64)
    for pinned in (*LCB_SOURCES, *EVALPLUS_SOURCES.values()):
        assert len(pinned.sha256) == 64 and set(pinned.sha256) <= set(HEX64)
        assert pinned.relative_path.startswith("code/")
    assert len({pinned.sha256 for pinned in LCB_SOURCES}) == 5
    assert LCB_SOURCES[0].pinned_url == (
        f"https://huggingface.co/datasets/livecodebench/code_generation_lite/resolve/{LCB_REVISION}/test.jsonl")
    humaneval, mbpp = EVALPLUS_SOURCES["humaneval-plus"], EVALPLUS_SOURCES["mbpp-plus"]
    assert humaneval.pinned_url == \
        "https://github.com/evalplus/humanevalplus_release/releases/download/v0.1.10/HumanEvalPlus.jsonl.gz"
    assert mbpp.pinned_url == "https://github.com/evalplus/mbppplus_release/releases/download/v0.2.0/MbppPlus.jsonl.gz"
    assert humaneval.gunzip and mbpp.gunzip
    assert humaneval.relative_path.endswith("HumanEvalPlus-v0.1.10.jsonl")  # evalplus' own cache name
    assert mbpp.relative_path.endswith("MbppPlus-v0.2.0.jsonl")


def test_missing_files_name_the_file_where_to_put_it_and_the_sha256(scratch_data_dir):
    with pytest.raises(DataMissingError) as caught:
        load_code_benchmark("mbpp-plus", download=False, suites_dir=scratch_data_dir / "suites")
    message = str(caught.value)
    assert "code/evalplus/MbppPlus-v0.2.0.jsonl" in message and EVALPLUS_SOURCES["mbpp-plus"].sha256 in message
    assert "REPRO_DATA_DIR" in message and "decompressed" in message
    with pytest.raises(DataMissingError) as caught:
        load_code_benchmark("lcb-2408-2501", download=False, suites_dir=scratch_data_dir / "suites")
    message = str(caught.value)
    assert "code/livecodebench/test.jsonl" in message and LCB_SOURCES[0].sha256 in message
    assert LCB_REVISION in message


def test_a_download_that_fails_is_a_clear_error():
    # The autouse fixture aims downloads at a closed port.
    with pytest.raises(DataMissingError, match="MbppPlus.jsonl.gz"):
        load_code_benchmark("mbpp-plus", download=True, suites_dir=Path("unused"))


def test_altered_files_are_refused(scratch_data_dir):
    place_file(scratch_data_dir, EVALPLUS_SOURCES["humaneval-plus"].relative_path, b'{"task_id": "HumanEval/0"}\n')
    with pytest.raises(ChecksumMismatchError) as caught:
        load_code_benchmark("humaneval-plus", download=False, suites_dir=scratch_data_dir / "suites")
    assert EVALPLUS_SOURCES["humaneval-plus"].sha256 in str(caught.value)
    for pinned in LCB_SOURCES:
        place_file(scratch_data_dir, pinned.relative_path, b"{}\n")
    with pytest.raises(ChecksumMismatchError, match=LCB_SOURCES[0].sha256):
        load_code_benchmark("lcb-2305-2501", download=False, suites_dir=scratch_data_dir / "suites")


def test_unknown_keys_and_bad_counts_are_refused(tmp_path):
    with pytest.raises(UnknownNameError):
        load_code_benchmark("gsm8k", download=False, suites_dir=tmp_path)
    with pytest.raises(UnknownNameError):
        write_standin_files("humaneval", tmp_path, 3)
    for count in (0, -1, 2.5, True):
        with pytest.raises(ReproError):
            write_standin_files("mbpp-plus", tmp_path, count)


# ----------------------------------------------------------------------------- downloads


@pytest.fixture
def server(monkeypatch):
    running = LocalFileServer()
    monkeypatch.setattr(fetch, "HF_BASE_URL", running.base)
    monkeypatch.setattr(fetch, "GITHUB_BASE_URL", running.base)
    yield running
    running.close()


def test_a_gzip_release_asset_is_stored_and_verified_decompressed(tmp_path, server):
    content = b'{"task_id": "Mbpp/2"}\n' * 1000
    asset = PinnedReleaseAsset("code/evalplus/Tiny.jsonl", "owner/release", "v1", "Tiny.jsonl.gz",
                               hashlib.sha256(content).hexdigest(), gunzip=True)
    server.files["/owner/release/releases/download/v1/Tiny.jsonl.gz"] = gzip.compress(content)
    path, origin = resolve(asset)
    assert origin == "downloaded" and path.read_bytes() == content
    assert resolve(asset) == (path, "cache") and len(server.requests) == 1


def test_a_truncated_gzip_asset_is_not_cached(tmp_path, server):
    content = b"x" * 100_000
    asset = PinnedReleaseAsset("code/evalplus/Cut.jsonl", "owner/release", "v1", "Cut.jsonl.gz",
                               hashlib.sha256(content).hexdigest(), gunzip=True)
    server.files["/owner/release/releases/download/v1/Cut.jsonl.gz"] = gzip.compress(content)[:-30]
    with pytest.raises(DataMissingError, match="ended early"):
        resolve(asset)
    assert not (tmp_path / "cache" / "code" / "evalplus").exists() or \
        not any((tmp_path / "cache" / "code" / "evalplus").iterdir())


def test_a_hub_file_downloads_from_its_revision(server):
    content = b'{"question_id": "x"}\n'
    pinned = PinnedHubFile("code/livecodebench/test.jsonl", "livecodebench/code_generation_lite", "a" * 40,
                           "test.jsonl", hashlib.sha256(content).hexdigest())
    server.files[f"/datasets/livecodebench/code_generation_lite/resolve/{'a' * 40}/test.jsonl"] = content
    path, origin = resolve(pinned)
    assert origin == "downloaded" and path.read_bytes() == content
    altered = PinnedHubFile("code/livecodebench/test2.jsonl", "livecodebench/code_generation_lite", "a" * 40,
                            "test.jsonl", "0" * 64)
    with pytest.raises(ChecksumMismatchError):
        resolve(altered)


# ----------------------------------------------------------------------------- LiveCodeBench, real rows


def _use_lcb_file(monkeypatch, scratch_data_dir: Path, content: bytes) -> None:
    """Stand the five pinned LCB files in for one local file holding `content`."""
    sha = place_file(scratch_data_dir, "code/livecodebench/test.jsonl", content)
    monkeypatch.setattr(code_files, "LCB_SOURCES", (PinnedHubFile(
        "code/livecodebench/test.jsonl", "livecodebench/code_generation_lite", LCB_REVISION, "test.jsonl", sha),))


def test_real_lcb_rows_load_with_all_their_tests(formats, scratch_data_dir, monkeypatch, tmp_path):
    folder = formats / "livecodebench_code_generation_lite"
    _use_lcb_file(monkeypatch, scratch_data_dir, (folder / "release_v5.reconstructed2.jsonl").read_bytes())
    decoded = {entry["question_id"]: entry
               for entry in json.loads((folder / "decoded_tests_of_the_2_rows.json").read_text())}
    problems, checksum, origin = load_code_benchmark("lcb-2305-2501", download=False, suites_dir=tmp_path / "s")
    assert origin == "data folder" and len(checksum) == 64
    assert [(p.problem_id, p.index) for p in problems] == [("lcb/1873_A", 0), ("lcb/3046", 1)]
    stdin, functional = problems
    assert stdin.meta["platform"] == "codeforces" and stdin.meta["starter_code"] == "" and "func_name" not in stdin.meta
    assert functional.meta["func_name"] == "minimumOperations"
    assert functional.meta["starter_code"].startswith("class Solution:\n    def minimumOperations(self, num: str)")
    assert functional.meta["contest_date"] == "2023-09-03T00:00:00" and functional.meta["difficulty"] == "medium"
    assert functional.question.startswith("You are given a 0-indexed string num")
    for problem in problems:
        expected = decoded[problem.problem_id.removeprefix("lcb/")]
        tests = expected["public_test_cases_decoded"] + expected["private_test_cases_decoded"]
        suite = read_suite(problem.meta["suite_path"], problem.meta["suite_sha256"])
        assert problem.meta["n_tests"] == len(tests) == len(suite.inputs)
        assert list(suite.inputs) == [t["input"] for t in tests] and list(suite.outputs) == [t["output"] for t in tests]
        assert suite.mode == ("call" if "func_name" in problem.meta else "stdin")
        assert suite.timeouts_s == (6.0,) * len(tests)  # LCB: --timeout 6 per test
    assert Path(stdin.meta["suite_path"]).parent == tmp_path / "s" / "livecodebench-release_v5"
    # Both rows are from 2023: none is in the Aug 2024 - Jan 2025 window.
    assert load_code_benchmark("lcb-2408-2501", download=False, suites_dir=tmp_path / "s")[0] == []


def test_lcb_suites_are_reused_unless_changed(formats, scratch_data_dir, monkeypatch, tmp_path):
    folder = formats / "livecodebench_code_generation_lite"
    _use_lcb_file(monkeypatch, scratch_data_dir, (folder / "release_v5.reconstructed2.jsonl").read_bytes())
    first = load_code_benchmark("lcb-2305-2501", download=False, suites_dir=tmp_path)[0]
    decoded: list[str] = []
    original = code_files.parse_row
    monkeypatch.setattr(code_files, "parse_row", lambda row: decoded.append(row["question_id"]) or original(row))
    second = load_code_benchmark("lcb-2305-2501", download=False, suites_dir=tmp_path)[0]
    assert decoded == [] and [p.meta for p in second] == [p.meta for p in first]
    Path(first[0].meta["suite_path"]).write_bytes(b"changed")  # a damaged suite is rebuilt, not trusted
    third = load_code_benchmark("lcb-2305-2501", download=False, suites_dir=tmp_path)[0]
    assert decoded == ["1873_A"] and third[0].meta["suite_sha256"] == first[0].meta["suite_sha256"]


def _lcb_rows(ids_and_dates: list[tuple[str, str]]) -> bytes:
    """Release-format JSONL, one line per (question_id, contest_date), in the given order."""
    rows = []
    for number, (question_id, date) in enumerate(ids_and_dates):
        tests = [{"input": "1\n", "output": "1\n", "testtype": "stdin"}] * 2
        private = base64.b64encode(zlib.compress(pickle.dumps(json.dumps(tests[1:]), protocol=4))).decode()
        rows.append({"question_title": "t", "question_content": f"line {number}", "platform": "atcoder",
                     "question_id": question_id, "contest_id": "c", "contest_date": date, "starter_code": "",
                     "difficulty": "easy", "public_test_cases": json.dumps(tests[:1]),
                     "private_test_cases": private, "metadata": "{}"})
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


def test_lcb_windows_filter_by_date_then_number_by_question_id(scratch_data_dir, monkeypatch, tmp_path):
    # LiveCodeBench's runner keeps the date window, then sorts by question_id (as strings).
    _use_lcb_file(monkeypatch, scratch_data_dir, _lcb_rows([
        ("q4", "2024-07-31T23:59:59"), ("q3", "2024-08-01T00:00:00"), ("q0", "2023-05-01T00:00:00"),
        ("q1", "2025-01-31T12:00:00"), ("q2", "2025-02-01T00:00:00")]))
    recent = load_code_benchmark("lcb-2408-2501", download=False, suites_dir=tmp_path)[0]
    assert [(p.problem_id, p.index) for p in recent] == [("lcb/q1", 0), ("lcb/q3", 1)]
    whole = load_code_benchmark("lcb-2305-2501", download=False, suites_dir=tmp_path)[0]
    assert [(p.problem_id, p.index) for p in whole] == [("lcb/q0", 0), ("lcb/q1", 1), ("lcb/q3", 2), ("lcb/q4", 3)]
    assert [p.question for p in whole] == ["line 2", "line 3", "line 1", "line 0"]  # rows keep their content


def test_lcb_problem_index_is_the_runners_string_order_not_the_release_order(scratch_data_dir, monkeypatch,
                                                                             tmp_path):
    # The id shapes of release_v5: AtCoder "abc302_e", LeetCode "3046", Codeforces "1873_A".
    # Strings, not numbers: "10000" comes before "3046"; every digit comes before "a".
    release_order = ["abc302_e", "3046", "abc302_a", "1873_A", "10000", "2999", "arc160_b"]
    _use_lcb_file(monkeypatch, scratch_data_dir, _lcb_rows([(i, "2023-09-03T00:00:00") for i in release_order]))
    problems = load_code_benchmark("lcb-2305-2501", download=False, suites_dir=tmp_path)[0]
    assert [p.problem_id.removeprefix("lcb/") for p in problems] == [
        "10000", "1873_A", "2999", "3046", "abc302_a", "abc302_e", "arc160_b"]
    assert [p.index for p in problems] == list(range(len(release_order)))
    # Each problem keeps its own row: the first release line is now at index 5.
    assert problems[5].problem_id == "lcb/abc302_e" and problems[5].question == "line 0"


def test_lcb_question_id_must_be_a_string(scratch_data_dir, monkeypatch, tmp_path):
    content = _lcb_rows([("3046", "2023-09-03T00:00:00")]).replace(b'"question_id": "3046"', b'"question_id": 3046')
    _use_lcb_file(monkeypatch, scratch_data_dir, content)
    with pytest.raises(ReproError, match="test.jsonl line 1: question_id 3046 is not a string"):
        load_code_benchmark("lcb-2305-2501", download=False, suites_dir=tmp_path)


def test_real_lcb_rows_in_any_line_order_get_the_same_indices(formats, scratch_data_dir, monkeypatch, tmp_path):
    sample = formats / "livecodebench_code_generation_lite" / "release_v5.reconstructed2.jsonl"
    lines = sample.read_bytes().splitlines()
    _use_lcb_file(monkeypatch, scratch_data_dir, b"\n".join(reversed(lines)) + b"\n")
    problems = load_code_benchmark("lcb-2305-2501", download=False, suites_dir=tmp_path)[0]
    assert [(p.problem_id, p.index) for p in problems] == [("lcb/1873_A", 0), ("lcb/3046", 1)]


# ----------------------------------------------------------------------------- MBPP+, real rows


def _mbpp_sample(formats: Path) -> Path:
    return formats / "mbppplus" / "MbppPlus-v0.1.0.sample5.jsonl"


def test_real_mbpp_rows_parse(formats):
    path = _mbpp_sample(formats)
    assert b"Infinity" in path.read_bytes()  # bare tokens, not valid strict JSON
    tasks = {task.task_id: task for task in (parse_task(row, "mbpp") for row in read_release_rows(path))}
    assert list(tasks) == ["Mbpp/2", "Mbpp/3", "Mbpp/82", "Mbpp/404", "Mbpp/793"]
    # Mbpp/2: evalplus turns every argument into a tuple.
    assert tasks["Mbpp/2"].base_inputs[0] == ((3, 4, 5, 6), (5, 7, 4, 10))
    assert all(isinstance(arg, tuple) for args in tasks["Mbpp/2"].inputs for arg in args)
    assert len(tasks["Mbpp/2"].base_inputs) == 3 and len(tasks["Mbpp/2"].plus_inputs) == 108
    assert tasks["Mbpp/3"].base_inputs == ((1,), (2,), (10,), (35,), (37,))  # no conversion for task 3
    assert tasks["Mbpp/82"].atol == 0.0001 and tasks["Mbpp/3"].atol == 0.0
    assert any(math.isinf(arg) for args in tasks["Mbpp/404"].plus_inputs for arg in args if isinstance(arg, float))
    assert tasks["Mbpp/793"].plus_inputs == () and len(tasks["Mbpp/793"].base_inputs) == 3  # plus_input is {}
    assert tasks["Mbpp/2"].program.startswith('"""\nWrite a function to find the shared elements')
    assert tasks["Mbpp/2"].reference_solution == tasks["Mbpp/2"].canonical_solution


def test_expected_outputs_of_real_mbpp_rows_come_from_the_sandbox(formats):
    tasks = [parse_task(row, "mbpp") for row in read_release_rows(_mbpp_sample(formats))]
    found = {}
    for task in tasks:
        # A few inputs only; keep Mbpp/404's infinite ones.
        plus = tuple(args for args in task.plus_inputs if any(isinstance(a, float) and math.isinf(a) for a in args))
        small = EvalplusTask(task.task_id, "mbpp", task.prompt, task.entry_point, task.canonical_solution,
                             task.base_inputs[:2], (plus or task.plus_inputs)[:2], task.atol, task.contract)
        found[task.task_id] = (small, run_canonical(small))
    small, truth = found["Mbpp/2"]
    assert isinstance(truth.outputs[0], tuple) and set(truth.outputs[0]) == {4, 5}
    assert found["Mbpp/3"][1].outputs[:2] == (True, False)
    assert found["Mbpp/82"][1].outputs[0] == pytest.approx(4188.790204786391)
    small, truth = found["Mbpp/404"]
    assert truth.outputs[:2] == (1, -5)
    assert list(truth.outputs[2:]) == [min(args) for args in small.plus_inputs] and small.plus_inputs
    assert found["Mbpp/793"][1].outputs == (0, 2)
    for small, truth in found.values():
        assert len(truth.outputs) == len(truth.seconds) == len(small.inputs)
        assert all(0 <= seconds < 1 for seconds in truth.seconds)


def test_real_mbpp_file_loads_end_to_end_and_caches_its_expected_outputs(formats, scratch_data_dir, monkeypatch, tmp_path,
                                                                          sandbox_runs):
    content = _mbpp_sample(formats).read_bytes()
    sha = place_file(scratch_data_dir, EVALPLUS_SOURCES["mbpp-plus"].relative_path, content)
    monkeypatch.setitem(EVALPLUS_SOURCES, "mbpp-plus", PinnedReleaseAsset(
        EVALPLUS_SOURCES["mbpp-plus"].relative_path, "evalplus/mbppplus_release", "v0.2.0", "MbppPlus.jsonl.gz", sha,
        gunzip=True))
    monkeypatch.setitem(code_files.EVALPLUS_TASKS, "mbpp-plus", 5)
    ticks: list[int] = []
    problems, checksum, origin = load_code_benchmark("mbpp-plus", download=False, suites_dir=tmp_path / "s",
                                                     progress=ticks.append)
    assert (checksum, origin) == (sha, "data folder") and sum(ticks) == 5
    assert sandbox_runs == ["Mbpp/2", "Mbpp/3", "Mbpp/82", "Mbpp/404", "Mbpp/793"]
    assert [(p.problem_id, p.index) for p in problems] == [(t, i) for i, t in enumerate(sandbox_runs)]
    by_id = {p.problem_id: p for p in problems}
    suite = read_suite(by_id["Mbpp/82"].meta["suite_path"], by_id["Mbpp/82"].meta["suite_sha256"])
    assert suite.atol == 0.0001 and suite.dataset == "mbpp" and suite.func_name == "volume_sphere"
    assert suite.inputs[:3] == ((10,), (25,), (20,))  # base inputs first
    assert len(suite.inputs) == by_id["Mbpp/82"].meta["n_tests"] == 3 + 105
    # Per-test limits: max(1 s, 4 x the time the canonical solution took), from the cached times.
    cached = json.loads(gzip.decompress((tmp_path / "cache" / "code" / "evalplus-ground-truth" /
                                         f"{sha}.json.gz").read_bytes()))["tasks"]["Mbpp/82"]
    assert len(cached["seconds"]) == len(suite.inputs) and all(0 <= t < 1 for t in cached["seconds"])
    assert list(suite.timeouts_s) == [max(1.0, 4.0 * t) for t in cached["seconds"]]
    assert by_id["Mbpp/793"].meta["n_tests"] == by_id["Mbpp/793"].meta["n_base_tests"] == 3
    assert by_id["Mbpp/2"].question.startswith('"""\nWrite a function to find the shared elements')
    # The canonical solution passes its own suite; a wrong one does not.
    source = parse_task(json.loads(content.splitlines()[4]), "mbpp").canonical_solution
    assert check_program(source, read_suite(by_id["Mbpp/793"].meta["suite_path"],
                                            by_id["Mbpp/793"].meta["suite_sha256"])).correct
    two = read_suite(by_id["Mbpp/2"].meta["suite_path"], by_id["Mbpp/2"].meta["suite_sha256"])
    assert not check_program("def similar_elements(a, b):\n    return tuple(a)\n", two).correct
    # Second load: expected outputs from the cache, no sandbox run, the same suites.
    again = load_code_benchmark("mbpp-plus", download=False, suites_dir=tmp_path / "s")[0]
    assert len(sandbox_runs) == 5 and [p.meta for p in again] == [p.meta for p in problems]
    cached = list((tmp_path / "cache" / "code" / "evalplus-ground-truth").iterdir())
    assert [path.name for path in cached] == [f"{sha}.json.gz"]


def test_a_damaged_ground_truth_cache_is_recomputed(tmp_path, sandbox_runs):
    task = EvalplusTask("Mbpp/905", "mbpp", '"""\nDouble.\n"""\n', "double", "\ndef double(x):\n    return 2 * x\n",
                        ((1,), (2,)), ((3,),), 0.0, "")
    sha = "ab" * 32
    first = evalplus_data.load_ground_truth([task], sha, tmp_path)
    assert first["Mbpp/905"].outputs == (2, 4, 6) and sandbox_runs == ["Mbpp/905"]
    assert evalplus_data.load_ground_truth([task], sha, tmp_path) == first and len(sandbox_runs) == 1
    (tmp_path / f"{sha}.json.gz").write_bytes(b"not gzip")
    assert evalplus_data.load_ground_truth([task], sha, tmp_path)["Mbpp/905"].outputs == (2, 4, 6)
    assert len(sandbox_runs) == 2


# ----------------------------------------------------------------------------- deserialization, rows


def test_mbpp_deserialization_per_task_id():
    assert mbpp_deserialize_inputs("Mbpp/2", [[[1, 2], [3]]]) == [[(1, 2), (3,)]]
    assert mbpp_deserialize_inputs("Mbpp/63", [[[[1, 2], [3, 4]]]]) == [[[(1, 2), (3, 4)]]]
    assert mbpp_deserialize_inputs("Mbpp/75", [[[[1, 2]], 3]]) == [[[(1, 2)], 3]]
    assert mbpp_deserialize_inputs("Mbpp/106", [[[1], [2, 3]]]) == [[[1], (2, 3)]]
    # 115: non-empty lists become sets, empty ones an empty DICT (evalplus' quirk, kept).
    assert mbpp_deserialize_inputs("Mbpp/115", [[[[1, 2], []]]]) == [[[{1, 2}, {}]]]
    assert type(mbpp_deserialize_inputs("Mbpp/115", [[[[]]]])[0][0][0]) is dict
    assert mbpp_deserialize_inputs("Mbpp/124", [["1.5", "(1+2j)"]]) == [(1.5, 1 + 2j)]
    assert mbpp_deserialize_inputs("Mbpp/250", [[[1, 2], 3]]) == [[(1, 2), 3]]
    assert mbpp_deserialize_inputs("Mbpp/252", [["(3+4j)"]]) == [[3 + 4j]]
    assert mbpp_deserialize_inputs("Mbpp/259", [[[[1, 2]], [[3]]]]) == [[((1, 2),), ((3,),)]]
    assert mbpp_deserialize_inputs("Mbpp/278", [[[1, [2, 3], 4]]]) == [[(1, (2, 3), 4)]]
    assert mbpp_deserialize_inputs("Mbpp/307", [[[1, 2], 3, 4]]) == [[(1, 2), 3, 4]]
    assert mbpp_deserialize_inputs("Mbpp/722", [[{"a": [1, 2]}, 5, 6]]) == [[{"a": (1, 2)}, 5, 6]]
    assert mbpp_deserialize_inputs("Mbpp/580", [[[1, [2, [3]]]]]) == [((1, (2, (3,))),)]
    assert mbpp_deserialize_inputs("Mbpp/3", [[[1, 2]]]) == [[[1, 2]]]


def test_complex_arguments_cross_the_sandbox_codec():
    assert decode_value(encode_value([1 + 2j, (3j,)])) == [1 + 2j, (3j,)]
    task = parse_task({"task_id": "Mbpp/252", "prompt": '"""\nPolar.\n"""\n', "entry_point": "convert",
                       "canonical_solution": "\nimport cmath\ndef convert(numbers):\n    return cmath.polar(numbers)\n",
                       "base_input": [["(3+4j)"]], "plus_input": [["1"]], "atol": 0, "contract": ""}, "mbpp")
    assert run_canonical(task).outputs == ((5.0, math.atan2(4, 3)), (1.0, 0.0))


def test_mbpp_tasks_judged_on_not_none_get_booleans_as_expected_outputs():
    # evalplus keeps `output is not None` for these (their canonical solutions return re.Match).
    task = EvalplusTask("Mbpp/787", "mbpp", '"""\nMatch.\n"""\n', "text_match_three",
                        "\nimport re\ndef text_match_three(text):\n    return re.search('ab{3}?', text)\n",
                        (("abbb",), ("ac",)), (), 0.0, "")
    assert run_canonical(task).outputs == (True, False)


def test_malformed_rows_are_refused_clearly():
    good = {"task_id": "Mbpp/9", "prompt": "", "entry_point": "f", "canonical_solution": "", "base_input": [[1]],
            "plus_input": [], "atol": 0, "contract": ""}
    with pytest.raises(EvalplusDataError, match="atol"):
        parse_task({**good, "atol": "0"}, "mbpp")
    with pytest.raises(EvalplusDataError, match="not a humaneval task id"):
        parse_task(good, "humaneval")
    with pytest.raises(EvalplusDataError, match="plus_input"):
        parse_task({**good, "plus_input": {"a": 1}}, "mbpp")
    with pytest.raises(EvalplusDataError, match="no base inputs"):
        parse_task({**good, "base_input": []}, "mbpp")
    with pytest.raises(EvalplusDataError, match="missing contract"):
        parse_task({k: v for k, v in good.items() if k != "contract"}, "mbpp")


def test_a_canonical_solution_that_fails_names_its_task():
    task = EvalplusTask("HumanEval/7", "humaneval", "def f(x):\n", "f", "    return 1 // x\n", ((1,), (0,)), (),
                        0.0, "")
    with pytest.raises(EvalplusDataError, match=r"HumanEval/7.*input 1.*ZeroDivisionError"):
        run_canonical(task)


def test_the_humaneval_plus_hf_row_is_another_format(formats):
    row = json.loads((formats / "humanevalplus" / "hf_evalplus_humanevalplus.reconstructed_row0.jsonl").read_text())
    # The HF dataset embeds inputs and outputs in `test`; it has no base_input/plus_input/atol/contract.
    assert set(row) == {"task_id", "prompt", "canonical_solution", "entry_point", "test"}
    with pytest.raises(EvalplusDataError, match="Hugging Face"):
        parse_task(row, "humaneval")
    # What both formats share: prompt + canonical_solution is the program evalplus runs.
    task = EvalplusTask(row["task_id"], "humaneval", row["prompt"], row["entry_point"], row["canonical_solution"],
                        (([1.0, 2.0, 3.0], 0.5), ([1.0, 2.8, 3.0, 4.0, 5.0, 2.0], 0.3)), (), 0.0, "")
    assert run_canonical(task).outputs == (False, True)  # the docstring's two examples


# ----------------------------------------------------------------------------- stand-ins


def test_lcb_standin_rows_have_the_real_format(tmp_path):
    path = write_standin_files("lcb-2408-2501", tmp_path, 6)
    start, end = WINDOWS["lcb-2408-2501"]
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(rows) == 6
    for row in rows:
        assert list(row) == ["question_title", "question_content", "platform", "question_id", "contest_id",
                             "contest_date", "starter_code", "difficulty", "public_test_cases",
                             "private_test_cases", "metadata"]
        assert all(isinstance(value, str) for value in row.values())
        assert start <= datetime.fromisoformat(row["contest_date"]) < end
        raw = zlib.decompress(base64.b64decode(row["private_test_cases"]))
        assert row["private_test_cases"].startswith("eJ") and raw.startswith(b"\x80\x04")
        assert isinstance(pickle.loads(raw), str) and decode_private_tests(row["private_test_cases"])
        func_name = json.loads(row["metadata"]).get("func_name")
        testtypes = {test["testtype"] for test in json.loads(row["public_test_cases"])}
        assert testtypes == ({"functional"} if func_name else {"stdin"})
        assert (row["starter_code"] == "") == (func_name is None)
    assert sum(bool(json.loads(row["metadata"])) for row in rows) == 3


def test_evalplus_standin_rows_have_the_real_format(tmp_path):
    mbpp = write_standin_files("mbpp-plus", tmp_path, 5)
    text = mbpp.read_text()
    assert "[Infinity, " in text and "-Infinity" in text and '"plus_input": {}' in text
    rows = [json.loads(line) for line in text.splitlines()]
    assert list(rows[0]) == ["task_id", "prompt", "entry_point", "canonical_solution", "base_input", "atol",
                             "plus_input", "contract", "assertion"]
    assert rows[0]["task_id"] == "Mbpp/2" and any(isinstance(row["atol"], float) and row["atol"] for row in rows)
    humaneval_path = write_standin_files("humaneval-plus", tmp_path, 4)
    humaneval = [json.loads(line) for line in humaneval_path.read_text().splitlines()]
    assert list(humaneval[0]) == ["task_id", "prompt", "contract", "canonical_solution", "entry_point", "base_input",
                                  "plus_input", "atol"]
    assert [row["task_id"] for row in humaneval] == [f"HumanEval/{i}" for i in range(4)]


def test_standins_are_deterministic(tmp_path):
    for key in ("lcb-2305-2501", "humaneval-plus", "mbpp-plus"):
        first = write_standin_files(key, tmp_path / "a", 8).read_bytes()
        assert write_standin_files(key, tmp_path / "b", 8).read_bytes() == first
        short = write_standin_files(key, tmp_path / "a", 3).read_bytes().splitlines()
        assert short == first.splitlines()[:3]  # problem i does not depend on the count
    assert write_standin_files("lcb-2305-2501", tmp_path / "c", 4).read_bytes() != \
        write_standin_files("lcb-2408-2501", tmp_path / "c", 4).read_bytes()


@pytest.mark.parametrize("key,count", [("lcb-2408-2501", 6), ("humaneval-plus", 4), ("mbpp-plus", 5)])
def test_every_standin_reference_solution_passes_its_suite(key, count, tmp_path, sandbox_runs):
    problems, checksum = load_code_standin(key, count, tmp_path / "standin", tmp_path / "suites")
    path = tmp_path / "standin" / f"standin-{key}-{count}" / ("test.jsonl" if key.startswith("lcb") else
                                                              ("HumanEvalPlus.jsonl" if key == "humaneval-plus"
                                                               else "MbppPlus.jsonl"))
    assert checksum == hashlib.sha256(path.read_bytes()).hexdigest() and len(problems) == count
    assert [p.index for p in problems] == list(range(count))
    for problem in problems:
        suite = read_suite(problem.meta["suite_path"], problem.meta["suite_sha256"])
        verdict = check_program(problem.meta["reference_solution"], suite)
        assert verdict.correct, (problem.problem_id, verdict.detail)
        assert problem.meta["n_tests"] == len(suite.inputs) >= 3 and problem.answer == ""
    wrong = {"lcb-2408-2501": "print(0)\n", "humaneval-plus": "def add(x, y):\n    return x - y\n",
             "mbpp-plus": "def join_tuples(a, b):\n    return list(a) + list(b)\n"}[key]
    # The first stand-in row (LCB: the stdin problem "abc900_a"; the runner's order puts the
    # LeetCode-style ids "9000".. before it).
    row_zero = {"lcb-2408-2501": "lcb/abc900_a", "humaneval-plus": problems[0].problem_id,
                "mbpp-plus": problems[0].problem_id}[key]
    zero = next(p for p in problems if p.problem_id == row_zero)
    first = read_suite(zero.meta["suite_path"], zero.meta["suite_sha256"])
    assert check_program(wrong, first).status == "fail"
    if key == "mbpp-plus":
        assert all(isinstance(arg, tuple) for args in first.inputs for arg in args)  # Mbpp/2 deserialized
        assert [p.problem_id for p in problems] == ["Mbpp/2", "Mbpp/901", "Mbpp/902", "Mbpp/903", "Mbpp/904"]
    if key == "lcb-2408-2501":
        assert [p.problem_id for p in problems] == ["lcb/9001", "lcb/9003", "lcb/9005", "lcb/abc900_a",
                                                    "lcb/abc902_a", "lcb/abc904_a"]
        assert problems[0].meta["func_name"] == "addTwoIntegers" and sandbox_runs == []
    else:
        assert len(sandbox_runs) == count
        again, _ = load_code_standin(key, count, tmp_path / "standin", tmp_path / "suites")
        assert len(sandbox_runs) == count  # the cached expected outputs, no sandbox
        assert [p.meta for p in again] == [p.meta for p in problems]
