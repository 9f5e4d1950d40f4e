"""Math benchmark files (the Qwen2.5-Math evaluation data the paper's evaluator ships).

Files are looked up as `<data dir>/math/<folder>/test.jsonl`, where the data dir is
`REPRO_DATA_DIR` (the container sets it to its baked-in copy). Each file is checked
against its pinned sha256 before use: an altered file is refused, naming both hashes.

Ground truth is taken as the paper's evaluator takes it: GSM8K after "####", MATH500
and Minerva from the solution's last \\boxed{}, OlympiadBench final_answer[0] with "$"
stripped, AIME24/AMC23 the `answer` field. (A fuller treatment, with the pinned public
sources and the parity-checked grader, is the math issue's.)
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from repro.errors import ReproError
from repro.problems import Problem

DATA_DIR_ENV = "REPRO_DATA_DIR"

# folder, sha256 of test.jsonl (identical in the paper's repository, SimpleRL-Zoo and
# omni-math-rule, which share the Qwen2.5-Math evaluation data).
MATH_FILES: dict[str, tuple[str, str]] = {
    "gsm8k": ("gsm8k", "9f098df7ff4522078d6ccec27a5c38a454790fdb51131bedfaa0e490070d5394"),
    "math500": ("math500", "35dc41080a3680858b27fa7e0533d2d547825316fc5dafe5d316f4ccc5a06132"),
    "minerva": ("minerva_math", "0e656b430d3a0a1dab6aa853f453ba3805e28e2cabe4fc72486a897cc09d8ba2"),
    "olympiad": ("olympiadbench", "bb8c1e38a16ea9eacb77530315a674d883f267fbff79183effc53681b4fcc416"),
    "aime24": ("aime24", "af2b8bd2aa911b6333ad0df32f3ca05c7ae8ed10f1731f4372c8ae26990bf7ac"),
    "amc23": ("amc23", "43707e1ca784602d8479de24ee8ce36609dbebc46dd152b0b12a46611aa898a4"),
    "omni-math-rule": ("omni_math_rule", "d566d5b5a9865a04b507fdc4c0669cf0ff391748e13f190ecc925e78b584b172"),
}

OMNI_TRAIN_SIZE = 2000


class DataMissingError(ReproError):
    """The benchmark's file is not in the data folder."""


def data_dir() -> Path | None:
    value = os.environ.get(DATA_DIR_ENV)
    return Path(value) if value else None


def math_file(key: str) -> Path | None:
    """Path of a benchmark's file if the data folder has it, else None."""
    root = data_dir()
    if root is None:
        return None
    path = root / "math" / MATH_FILES[key][0] / "test.jsonl"
    return path if path.is_file() else None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_verified_rows(key: str) -> tuple[list[dict], str]:
    """Rows of a benchmark file after checking its sha256; returns (rows, sha256)."""
    path = math_file(key)
    expected = MATH_FILES[key][1]
    if path is None:
        raise DataMissingError(
            f"no data for {key}: expected math/{MATH_FILES[key][0]}/test.jsonl (sha256 {expected}) "
            f"under ${DATA_DIR_ENV}"
        )
    actual = sha256_of(path)
    if actual != expected:
        raise ReproError(f"{path.name} of {key} has sha256 {actual}, expected {expected}: refusing altered data")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return rows, actual


def last_boxed(text: str) -> str | None:
    """Content of the last \\boxed{...} (or \\fbox{...}) in text, braces matched."""
    start = max(text.rfind("\\boxed"), text.rfind("\\fbox"))
    if start < 0:
        return None
    brace = text.find("{", start)
    if brace < 0:
        return None
    depth = 0
    for position in range(brace, len(text)):
        if text[position] == "{":
            depth += 1
        elif text[position] == "}":
            depth -= 1
            if depth == 0:
                return text[brace + 1 : position]
    return None


def ground_truth(key: str, row: dict) -> str:
    if key == "gsm8k":
        return row["answer"].split("####")[-1].strip().replace(",", "")
    if key in ("math500", "minerva"):
        boxed = last_boxed(row["solution"])
        if boxed is None:
            raise ReproError(f"{key}: a solution has no \\boxed{{}} answer")
        return boxed
    if key == "olympiad":
        answers = row["final_answer"]
        return answers[0].strip("$") if isinstance(answers, list) else str(answers).strip("$")
    return str(row["answer"])


def question_of(row: dict) -> str:
    return row.get("question") or row.get("problem") or ""


def load_math_benchmark(key: str) -> tuple[list[Problem], str]:
    """(problems, sha256) of one of the six math benchmarks, or of the two Omni-MATH parts."""
    if key in ("omni-math-train", "omni-math-test"):
        return _load_omni_part(key)
    rows, checksum = read_verified_rows(key)
    problems = [
        Problem(
            problem_id=f"{key}/{index:04d}",
            index=index,
            question=question_of(row),
            answer=ground_truth(key, row),
        )
        for index, row in enumerate(rows)
    ]
    return problems, checksum


def omni_split(rows: list[dict]) -> tuple[list[int], list[int]]:
    """Deterministic 2,000 / 821 split of Omni-MATH-Rule (the paper's is unpublished).

    Rows are ordered by the sha256 of their problem text, a rule that needs no seed and
    survives reordering of the file; the first 2,000 form the training part.
    """
    order = sorted(range(len(rows)), key=lambda i: hashlib.sha256(rows[i]["problem"].encode()).hexdigest())
    train = sorted(order[:OMNI_TRAIN_SIZE])
    test = sorted(order[OMNI_TRAIN_SIZE:])
    return train, test


def _load_omni_part(key: str) -> tuple[list[Problem], str]:
    rows, checksum = read_verified_rows("omni-math-rule")
    train, test = omni_split(rows)
    indices = train if key == "omni-math-train" else test
    problems = [
        Problem(
            problem_id=f"omni-math-rule/{i:04d}",
            index=i,
            question=rows[i]["problem"],
            answer=str(rows[i]["answer"]),
        )
        for i in indices
    ]
    return problems, checksum
