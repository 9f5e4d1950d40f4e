"""The math benchmark files, and their problems read the way the paper's evaluator reads them.

Sources (docs/benchmarks.md has the table):
- the six evaluation sets are the files the paper's official evaluation code ships, at its
  pinned commit (they are byte-identical to the copies in SimpleRL-Zoo and Omni-MATH-Rule,
  which share the Qwen2.5-Math evaluation data);
- Omni-MATH-Rule is the rule-gradable subset of Omni-MATH from its authors' repository.

Each file is found by `repro.benchmarks.fetch` (data folder, cache, pinned download) and
verified by sha256 before use.

Questions and ground truth follow the official evaluator (LeapLabTHU/limit-of-RLVR at
fd2cf37, math/examples/math_eval/: data_loader.py, parser.py `parse_question` and
`parse_ground_truth`). `Problem.answer` is the ground truth as that code *extracts* it;
the normalization it then applies to both sides (`strip_string`, units kept for Minerva)
belongs to the grader, which finds the evaluator's data name in `Problem.meta["data_name"]`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from repro.benchmarks.base import Benchmark, LoadedData, problems_checksum
from repro.benchmarks.fetch import (
    DATA_DIR_ENV,
    ChecksumMismatchError,
    DataMissingError,
    PinnedFile,
    local_copy,
    resolve,
    sha256_of,
)
from repro.benchmarks.synthetic import synthetic_problems
from repro.errors import ReproError
from repro.problems import Problem

__all__ = [
    "DATA_DIR_ENV", "MATH_FILES", "MATH_SOURCES", "OMNI_SPLIT_NOTE", "OMNI_TRAIN_SIZE",
    "ChecksumMismatchError", "DataMissingError", "MathFile", "Unpublished", "last_boxed", "math_file", "omni_split",
    "question_of", "read_verified_rows", "sha256_of",
]

# The official evaluation code at the commit the paper's math results came from.
OFFICIAL_REPO = "LeapLabTHU/limit-of-RLVR"
OFFICIAL_COMMIT = "fd2cf37f05cc7dced9c558fa358a18e0497cb463"
OFFICIAL_DATA = "math/examples/math_eval/data"
# Omni-MATH-Rule: the newest commit of its repository; the file was last changed in
# bda09972374225ab2186582615307d909965b864 and is the same blob at both.
OMNI_REPO = "KbsdJames/omni-math-rule"
OMNI_COMMIT = "4793415ef37d31c9cdb4e5b82dbe172f76f8cf08"


def _official(folder: str, sha256: str) -> PinnedFile:
    return PinnedFile(f"math/{folder}/test.jsonl", OFFICIAL_REPO, OFFICIAL_COMMIT,
                      f"{OFFICIAL_DATA}/{folder}/test.jsonl", sha256)


# key -> its file. The folder names are the evaluator's data names.
MATH_SOURCES: dict[str, PinnedFile] = {
    "gsm8k": _official("gsm8k", "9f098df7ff4522078d6ccec27a5c38a454790fdb51131bedfaa0e490070d5394"),
    "math500": _official("math500", "35dc41080a3680858b27fa7e0533d2d547825316fc5dafe5d316f4ccc5a06132"),
    "minerva": _official("minerva_math", "0e656b430d3a0a1dab6aa853f453ba3805e28e2cabe4fc72486a897cc09d8ba2"),
    "olympiad": _official("olympiadbench", "bb8c1e38a16ea9eacb77530315a674d883f267fbff79183effc53681b4fcc416"),
    "aime24": _official("aime24", "af2b8bd2aa911b6333ad0df32f3ca05c7ae8ed10f1731f4372c8ae26990bf7ac"),
    "amc23": _official("amc23", "43707e1ca784602d8479de24ee8ce36609dbebc46dd152b0b12a46611aa898a4"),
    "omni-math-rule": PinnedFile("math/omni_math_rule/test.jsonl", OMNI_REPO, OMNI_COMMIT,
                                 "evaluation/data/omni_math_rule/test.jsonl",
                                 "d566d5b5a9865a04b507fdc4c0669cf0ff391748e13f190ecc925e78b584b172"),
}

# key -> (folder, sha256): the older view of the same table, kept for existing callers.
MATH_FILES: dict[str, tuple[str, str]] = {
    key: (pinned.relative_path.split("/")[1], pinned.sha256) for key, pinned in MATH_SOURCES.items()
}

# Omni-MATH-Rule has 2,821 problems; the paper trains on 2,000 and tests on the other 821 but
# does not publish which (nor a seed or rule). Ours: omni_split.
OMNI_TRAIN_SIZE = 2000
OMNI_SPLIT_NOTE = ("the paper's 2,000/821 Omni-MATH-Rule train/test split is unpublished: these results use "
                   "the package's deterministic split (problems ordered by the sha256 of their text, first "
                   "2,000 = train), not the paper's")
SYNTHETIC_NOTE = "synthetic stand-in problems (no data found)"


def math_file(key: str) -> Path | None:
    """A local copy of a benchmark's file (data folder or cache), unverified; None if absent."""
    found = local_copy(MATH_SOURCES[key])
    return found[0] if found else None


def read_verified_rows(key: str, *, download: bool = True) -> tuple[list[dict], str, str]:
    """(rows, sha256, origin) of one of the official math files, after checking its sha256."""
    return read_pinned_rows(MATH_SOURCES[key], download=download)


def read_pinned_rows(pinned: PinnedFile, *, download: bool = True) -> tuple[list[dict], str, str]:
    """(rows, sha256, origin) of a pinned JSONL file, after checking its sha256."""
    path, origin = resolve(pinned, download=download)
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return rows, pinned.sha256, origin


# ----------------------------------------------------------------------------- answers


def last_boxed(text: str) -> str | None:
    """Content of the last \\boxed{...} (or \\fbox{...}) in text, braces matched; None if absent."""
    start = max(text.rfind("\\boxed"), text.rfind("\\fbox"))
    if start < 0:
        return None
    brace = text.find("{", start)
    return None if brace < 0 else _braced(text, brace)


def _braced(text: str, brace: int) -> str | None:
    depth = 0
    for position in range(brace, len(text)):
        if text[position] == "{":
            depth += 1
        elif text[position] == "}":
            depth -= 1
            if depth == 0:
                return text[brace + 1 : position]
    return None


def evaluator_boxed(text: str) -> str:
    """The answer after the last "boxed", as the paper's evaluator cuts it.

    Its rule (parser.py `extract_answer`): take what follows the last occurrence of the
    letters "boxed"; if that starts with "{", the brace-matched content (to the end of the
    text when the brace never closes), otherwise the text up to the next "$". Every
    MATH500 and Minerva solution has a closed \\boxed{...}, where this equals `last_boxed`.
    """
    tail = text.split("boxed")[-1]
    if not tail:
        return ""
    if tail[0] != "{":
        return tail.split("$")[0].strip()
    content = _braced(tail, 0)
    return tail[1:] if content is None else content


# Ground truth of one row, extracted as the paper's evaluator extracts it (parser.py
# `parse_ground_truth`); each benchmark module names the rule of its file.


def answer_after_hashes(row: dict) -> str:
    """GSM8K: the text after "####", whitespace stripped. Thousands separators are kept
    ("1,600"), as the evaluator keeps them; its grader drops commas when it compares numbers."""
    return row["answer"].split("####")[1].strip()


def boxed_solution(row: dict) -> str:
    """MATH500, Minerva: the last \\boxed{} of `solution` (not MATH500's `answer` field)."""
    if "boxed" not in row["solution"]:
        raise ReproError("a solution has no \\boxed{} answer")
    return evaluator_boxed(row["solution"])


def first_final_answer(row: dict) -> str:
    """OlympiadBench: `final_answer[0]` with "$" stripped from its ends. Every list here has one
    string; the 94 multi-answer items hold all their answers in it ("$69$,$84$" -> "69$,$84")."""
    return str(row["final_answer"][0]).strip("$")


def plain_answer(row: dict) -> str:
    """AIME24, AMC23: `answer` as text (AMC23 stores floats: "27.0")."""
    return str(row["answer"])


def boxed_or_plain_answer(row: dict) -> str:
    """Omni-MATH-Rule: `answer`; when it contains \\boxed{} (19 rows wrap it so), the boxed
    content. This is Omni-MATH-Rule's own evaluator rule (wrap the answer in \\boxed{} unless
    boxed, then extract); the paper does not say how it graded Omni-MATH."""
    answer = str(row["answer"])
    return evaluator_boxed(answer) if "boxed" in answer else answer


# ----------------------------------------------------------------------------- questions

_QUESTION_KEYS = ("question", "problem", "Question", "input")  # the evaluator's order


def question_of(row: dict, answer: str = "") -> str:
    """The question text as the evaluator builds it (parser.py `parse_question`).

    The first of its keys present, whitespace stripped; a question whose ground truth is
    true/false or yes/no gets " (True or False)" / " (Yes or No)" appended. (The evaluator
    tests its normalized answer; the light normalization here is enough for these six files,
    where no answer is of that kind.)
    """
    question = next((str(row[key]) for key in _QUESTION_KEYS if key in row), "")
    plain = re.sub(r"\\text\{(.*?)\}", r"\1", answer.replace("$", "")).strip().rstrip(".").lower()
    if plain in ("true", "false"):
        question += " (True or False)"
    if plain in ("yes", "no"):
        question += " (Yes or No)"
    return question.strip()


def _index_of(row: dict, position: int) -> int:
    """The evaluator's idx: the row's own "idx" where the file has one, else its position."""
    value = row.get("idx", position)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ReproError(f"row {position} has a non-integer idx {value!r}")
    return value


# ----------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class MathFile:
    """A benchmark read from one of the pinned math files (MATH_SOURCES), as the paper's
    evaluator reads it."""

    file: str  # key of MATH_SOURCES, or the name of `pinned`; problem ids start with it
    data_name: str  # the evaluator's data name: its grader normalizes by it (units kept for minerva_math)
    answer: Callable[[dict], str]  # the ground truth of a row
    part: str | None = None  # Omni-MATH-Rule: "train" or "test" of the package's split (omni_split)
    keep_raw_answer: bool = False  # keep the row's `answer` in meta where the ground truth differs from it
    pinned: PinnedFile | None = None  # a file of the benchmark's own (None: MATH_SOURCES[file])

    def load(self, benchmark: Benchmark, *, download: bool, progress=None) -> LoadedData:
        rows, checksum, origin = read_pinned_rows(self.pinned or MATH_SOURCES[self.file], download=download)
        positions = range(len(rows)) if self.part is None else omni_split(rows)[self.part == "test"]
        # Problem ids keep the row's position in the whole file (both Omni parts share one id space).
        problems = [self._problem(rows[i], i) for i in positions]
        # The evaluator sorts by idx; in these files idx already equals the position.
        problems.sort(key=lambda problem: problem.index)
        return LoadedData(problems, checksum, origin)

    def stand_in(self, benchmark: Benchmark, *, progress=None) -> LoadedData:
        return synthetic_stand_in(benchmark)

    def _problem(self, row: dict, position: int) -> Problem:
        answer = self.answer(row)
        index = _index_of(row, position)
        meta = {"data_name": self.data_name}
        if self.keep_raw_answer and answer != row["answer"]:
            meta["raw_answer"] = row["answer"]
        return Problem(problem_id=f"{self.file}/{index:04d}", index=index, question=question_of(row, answer),
                       answer=answer, meta=meta)


@dataclass(frozen=True)
class Unpublished:
    """A benchmark whose problems the paper never published: nothing to load; the smoke tier
    runs a synthetic stand-in of its size."""

    what: str

    def load(self, benchmark: Benchmark, *, download: bool, progress=None) -> LoadedData:
        raise DataMissingError(f"no data for {benchmark.title}: {self.what}")

    def stand_in(self, benchmark: Benchmark, *, progress=None) -> LoadedData:
        return synthetic_stand_in(benchmark)


def synthetic_stand_in(benchmark: Benchmark) -> LoadedData:
    """Short arithmetic problems of the benchmark's size, the same on every machine."""
    problems = synthetic_problems(benchmark.key, benchmark.size)
    return LoadedData(problems, "synthetic:" + problems_checksum(problems), "synthetic", note=SYNTHETIC_NOTE)


def omni_split(rows: list[dict]) -> tuple[list[int], list[int]]:
    """Deterministic 2,000 / 821 split of Omni-MATH-Rule (the paper's is unpublished).

    Rows are ordered by the sha256 of their problem text, a rule that needs no seed and
    survives reordering of the file; the first 2,000 form the training part. Identical
    problem texts (the file has 5 pairs) hash alike, so each pair stays in one part.
    """
    order = sorted(range(len(rows)), key=lambda i: hashlib.sha256(rows[i]["problem"].encode()).hexdigest())
    train = sorted(order[:OMNI_TRAIN_SIZE])
    test = sorted(order[OMNI_TRAIN_SIZE:])
    return train, test


def prefetch(*, download: bool = True) -> dict[str, tuple[Path, str]]:
    """Resolve every math file now (for a container build or before going offline): the official
    files, and any file a registered benchmark pins for itself."""
    from repro.benchmarks import BENCHMARKS  # the registry imports this module: not at load time

    pins = dict(MATH_SOURCES)
    pins.update({b.data.file: b.data.pinned for b in BENCHMARKS.values()
                 if isinstance(b.data, MathFile) and b.data.pinned is not None})
    return {key: resolve(pinned, download=download) for key, pinned in pins.items()}
