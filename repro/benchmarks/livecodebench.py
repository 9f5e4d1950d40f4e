"""LiveCodeBench (code_generation_lite, release_v5): rows, tests and the paper's windows.

Rows are JSON lines whose private tests are base64(zlib(pickle(json string))). Unpickling
untrusted data can run arbitrary code, so `decode_private_tests` uses an unpickler that
refuses every global (no class, no function can be named): only plain values such as the
one string these pickles hold can come out. The decompressed size is capped as well.

Windows (contest_date, inclusive start, exclusive end):
- 2024-08-01 .. 2025-02-01: the 279 problems of Fig 3 and Fig 11 (left);
- the whole release_v5 (2023-05 .. 2025-01, 880 problems): Fig 11 (right) and Table 5.

Problem order (HARNESS_ORDER): the problems of a window are numbered as LiveCodeBench's own
runner numbers them, i.e. sorted by question_id as strings, after the date filter. The paper's
Table 5 indices ("400 to 450, starting from 0") are positions in that order, not in the order
of the release files. Sources and a consistency check: docs/table5_ordering.md.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import pickle
import zlib
from dataclasses import dataclass
from datetime import datetime

from repro.errors import ReproError

# Private tests of the largest problems decompress to a few tens of MB; anything far
# beyond is refused rather than allowed to fill memory.
MAX_DECOMPRESSED_BYTES = 512 * 1024 * 1024

WINDOWS = {
    "lcb-2408-2501": (datetime(2024, 8, 1), datetime(2025, 2, 1)),
    "lcb-2305-2501": (datetime(2023, 5, 1), datetime(2025, 2, 1)),
}
RELEASE_V5_FILES = ("test.jsonl", "test2.jsonl", "test3.jsonl", "test4.jsonl", "test5.jsonl")

# How problems are numbered (Problem.index, the indices of the paper's Table 5). LiveCodeBench's
# runner (LiveCodeBench/LiveCodeBench, lcb_runner/runner/scenario_router.py line 60,
# build_prompt_benchmark, the same at 998c52d of Feb 2025 and at 28fef95 of Jul 2025) loads the
# release, keeps the date window, then sorts the problems by question_id; every per-problem
# result it writes (eval_all.json, and the per-problem pass@k of eval.json) is in that order.
HARNESS_ORDER = "question_id, compared as strings, after the date filter"


def harness_sort_key(question_id: object) -> str:
    """The key LiveCodeBench's runner sorts problems by: the question_id string itself (so
    "1873_A" < "2999" < "3046" < "abc302_e", and "10000" < "3046"). question_id is a string
    on the hub; anything else is refused rather than compared some other way."""
    if not isinstance(question_id, str):
        raise ReproError(f"question_id {question_id!r} is not a string: LiveCodeBench's order is undefined for it")
    return question_id


class UnsafeDataError(ReproError):
    """A data file tried to make the decoder build arbitrary objects."""


class _PlainValuesUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):  # noqa: D401 - pickle's hook
        raise UnsafeDataError(f"refusing to load {module}.{name} from a pickle: only plain values are allowed")


def _decompress_capped(data: bytes) -> bytes:
    decompressor = zlib.decompressobj()
    out = decompressor.decompress(data, MAX_DECOMPRESSED_BYTES)
    if decompressor.unconsumed_tail:
        raise UnsafeDataError(f"private tests decompress to more than {MAX_DECOMPRESSED_BYTES} bytes")
    return out + decompressor.flush()


def decode_private_tests(encoded: str) -> list[dict]:
    """The private tests of a row: plain JSON (older rows) or base64(zlib(pickle(json)))."""
    try:
        return json.loads(encoded)
    except json.JSONDecodeError:
        pass
    try:
        raw = _decompress_capped(base64.b64decode(encoded.encode("utf-8"), validate=True))
    except (binascii.Error, zlib.error) as error:
        raise ReproError(f"private tests are neither JSON nor base64/zlib data: {error}") from None
    value = _PlainValuesUnpickler(io.BytesIO(raw)).load()
    if not isinstance(value, str):
        raise UnsafeDataError(f"private tests unpickled to a {type(value).__name__}, expected a JSON string")
    return json.loads(value)


@dataclass(frozen=True)
class LcbProblem:
    question_id: str
    title: str
    content: str
    platform: str
    contest_date: datetime
    starter_code: str
    difficulty: str
    tests: tuple[dict, ...]  # public then private: {"input", "output", "testtype"}
    func_name: str | None


def parse_row(row: dict) -> LcbProblem:
    metadata = json.loads(row.get("metadata") or "{}")
    public = json.loads(row["public_test_cases"])
    private = decode_private_tests(row["private_test_cases"])
    return LcbProblem(
        question_id=row["question_id"],
        title=row["question_title"],
        content=row["question_content"],
        platform=row["platform"],
        contest_date=datetime.fromisoformat(row["contest_date"]),
        starter_code=row.get("starter_code") or "",
        difficulty=row["difficulty"],
        tests=tuple(public) + tuple(private),
        func_name=metadata.get("func_name"),
    )


def in_window(problem: LcbProblem, benchmark: str) -> bool:
    start, end = WINDOWS[benchmark]
    return start <= problem.contest_date < end


def select_window(problems: list[LcbProblem], benchmark: str) -> list[LcbProblem]:
    """Problems of a window in the harness' order (HARNESS_ORDER): filtered by date first, then
    sorted by question_id; position i is the paper's problem index i (Table 5)."""
    kept = [p for p in problems if in_window(p, benchmark)]
    return sorted(kept, key=lambda p: harness_sort_key(p.question_id))
