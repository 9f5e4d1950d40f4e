"""LiveCodeBench rows: private tests decoded without unpickling arbitrary objects; windows."""

from __future__ import annotations

import base64
import json
import pickle
import zlib
from datetime import datetime

import pytest

from repro.benchmarks.livecodebench import (
    UnsafeDataError,
    decode_private_tests,
    harness_sort_key,
    parse_row,
    select_window,
)
from repro.errors import ReproError
from tests.conftest import shared_dir


def encode(value) -> str:
    return base64.b64encode(zlib.compress(pickle.dumps(value, protocol=4))).decode()


def row(question_id: str, date: str, tests: list[dict], metadata: str = "{}") -> dict:
    return {"question_title": "t", "question_content": "c", "platform": "leetcode", "question_id": question_id,
            "contest_id": "x", "contest_date": date, "starter_code": "", "difficulty": "easy",
            "public_test_cases": json.dumps(tests[:1]), "private_test_cases": encode(json.dumps(tests[1:])),
            "metadata": metadata}


TESTS = [{"input": "1\n", "output": "2\n", "testtype": "stdin"}, {"input": "2\n", "output": "3\n", "testtype": "stdin"}]


def test_private_tests_round_trip():
    assert decode_private_tests(encode(json.dumps(TESTS))) == TESTS
    assert decode_private_tests(json.dumps(TESTS)) == TESTS  # older rows: plain JSON


class Exploit:
    def __reduce__(self):
        import os

        return (os.system, ("echo pwned > /dev/null",))


@pytest.mark.parametrize("payload", [Exploit(), datetime(2024, 1, 1), {"a": set([1])}])
def test_pickles_other_than_a_plain_json_string_are_refused(payload):
    # Exploit and datetime name a callable or class (refused before anything runs);
    # the dict is plain data of the wrong shape.
    with pytest.raises(UnsafeDataError):
        decode_private_tests(encode(payload))


def test_a_plain_value_that_is_not_a_string_is_refused():
    with pytest.raises(UnsafeDataError, match="expected a JSON string"):
        decode_private_tests(encode([1, 2]))


def test_decompression_bombs_are_refused(monkeypatch):
    import repro.benchmarks.livecodebench as lcb

    monkeypatch.setattr(lcb, "MAX_DECOMPRESSED_BYTES", 1000)
    with pytest.raises(UnsafeDataError, match="decompress to more than"):
        decode_private_tests(encode("x" * 100_000))


def test_windows_select_by_contest_date():
    problems = [parse_row(row(str(i), date, TESTS)) for i, date in enumerate(
        ["2023-05-01T00:00:00", "2024-07-31T23:59:59", "2024-08-01T00:00:00", "2025-01-31T12:00:00",
         "2025-02-01T00:00:00"])]
    assert [p.question_id for p in select_window(problems, "lcb-2408-2501")] == ["2", "3"]
    assert [p.question_id for p in select_window(problems, "lcb-2305-2501")] == ["0", "1", "2", "3"]
    assert problems[0].tests == tuple(TESTS)


def test_windows_are_in_the_runners_order_question_id_as_strings():
    # LiveCodeBench's runner sorts the filtered problems by question_id (a string on the hub).
    ids = ["abc302_e", "3046", "2024-08", "1873_A", "10000", "abc302_a"]
    problems = [parse_row(row(i, "2024-09-01T00:00:00", TESTS)) for i in ids]
    assert [p.question_id for p in select_window(problems, "lcb-2408-2501")] == [
        "10000", "1873_A", "2024-08", "3046", "abc302_a", "abc302_e"]
    late = parse_row(row("0000", "2025-02-01T00:00:00", TESTS))  # outside: filtered before sorting
    assert [p.question_id for p in select_window([late, *problems], "lcb-2408-2501")][0] == "10000"


def test_the_sort_key_refuses_ids_that_are_not_strings():
    assert harness_sort_key("abc302_e") == "abc302_e"
    with pytest.raises(ReproError, match="not a string"):
        harness_sort_key(3046)


def test_real_rows_decode():
    root = shared_dir()
    if root is None:
        pytest.skip("REPRO_SHARED_DIR is not set")
    folder = root / "data" / "formats" / "livecodebench_code_generation_lite"
    rows = [json.loads(line) for line in (folder / "release_v5.reconstructed2.jsonl").read_text().splitlines()]
    decoded = {entry["question_id"]: entry for entry in json.loads((folder / "decoded_tests_of_the_2_rows.json").read_text())}
    for raw in rows:
        problem = parse_row(raw)
        expected = decoded[problem.question_id]
        assert list(problem.tests) == expected["public_test_cases_decoded"] + expected["private_test_cases_decoded"]
    assert parse_row(rows[1]).func_name == "minimumOperations"
