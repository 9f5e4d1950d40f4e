"""LiveCodeBench (code_generation_lite, release_v5): rows, tests and the paper's windows.

Rows are JSON lines whose private tests are base64(zlib(pickle(json string))). Unpickling
untrusted data can run arbitrary code, so `decode_private_tests` uses an unpickler that
refuses every global (no class, no function can be named): only plain values such as the
one string these pickles hold can come out. The decompressed size is capped as well.

Windows (contest_date, inclusive start, exclusive end):
- 2024-08-01 .. 2025-02-01: the 279 problems of Fig 3 and Fig 11 (left);
- the whole release_v5 (2023-05 .. 2025-01, 880 problems): Fig 11 (right) and Table 5.
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
    """Problems of a window in release order (the order of the files and their lines,
    which is what the paper's Table 5 indices count)."""
    return [p for p in problems if in_window(p, benchmark)]
