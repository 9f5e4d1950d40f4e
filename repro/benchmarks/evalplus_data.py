"""HumanEval+ and MBPP+ release files: rows, inputs, and expected outputs computed in the sandbox.

The release JSONL (evalplus `HumanEvalPlus-v0.1.10.jsonl`, `MbppPlus-v0.2.0.jsonl`) has one
task per line: `task_id`, `prompt`, `entry_point`, `canonical_solution`, `base_input` (the
original benchmark's argument lists), `plus_input` (the ones EvalPlus added), `atol`,
`contract`, and for MBPP+ also `assertion`. Rules followed (read in evalplus/evalplus at tag
v0.3.1, the version Code-R1's evaluation would have installed in Feb-Mar 2025):

- `evalplus/data/utils.py` `stream_jsonl`: plain `json.loads` per non-blank line. Python's
  json accepts the bare `Infinity`/`-Infinity`/`NaN` tokens some rows hold (MBPP+ task 404);
  a stricter parser would refuse them.
- `evalplus/data/mbpp.py` `mbpp_deserialize_inputs`: MBPP+ stores tuples, sets and complex
  numbers as JSON lists and strings; which argument becomes what depends on the task id
  alone. `mbpp_deserialize_inputs` below does the same conversions, task by task.
- One MBPP+ row (task 793) has `plus_input` = `{}`, an empty JSON object: evalplus iterates
  over it, i.e. no plus inputs. We read it as an empty list.
- `evalplus/evaluate.py` `get_groundtruth`: the expected outputs are what
  `prompt + canonical_solution` returns on every base and plus input, and the time of each call
  is recorded (`evalplus/gen/util/__init__.py` `trusted_exec`); per-test limits are then
  max(1 s, 4 x that time). For the MBPP+ tasks in `MBPP_OUTPUT_NOT_NONE_TASKS`
  (`evalplus/eval/_special_oracle.py`) the expected output is `result is not None`.

Unlike evalplus, which executes the canonical solutions in its own process, we run them in
the sandbox (`repro/sandbox/harness.py`, mode "function", one program per task running all its
inputs): the files are downloaded data and are never executed in-process. The results are
cached, keyed by the source file's sha256, so the 164 + 378 programs run once per machine.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from repro.code_tests import HARNESS, MBPP_NOT_NONE
from repro.errors import ReproError
from repro.files import atomic_write
from repro.sandbox import limits
from repro.sandbox.harness import decode_value, encode_value
from repro.sandbox.runner import run_program

DATASETS = ("humaneval", "mbpp")
TASK_PREFIX = {"humaneval": "HumanEval/", "mbpp": "Mbpp/"}
# What evalplus' `completeness_check` requires of every task, plus the two fields it reads too.
REQUIRED_FIELDS = ("task_id", "prompt", "entry_point", "canonical_solution", "base_input", "plus_input", "atol",
                   "contract")
# evalplus/eval/_special_oracle.py: MBPP+ tasks whose output only has to be "not None"
# (one list, repro.code_tests.MBPP_NOT_NONE, shared with the comparator in repro.grading.code).
MBPP_OUTPUT_NOT_NONE_TASKS = tuple(sorted(MBPP_NOT_NONE))

# Running a canonical solution: evalplus gives the trusted code no limit at all; ours are
# generous, so that only a broken task (or a broken sandbox) stops the computation.
GROUND_TRUTH_CALL_LIMIT_S = 60.0
GROUND_TRUTH_TASK_LIMIT_S = 1800.0
GROUND_TRUTH_OUTPUT_BYTES = 512 * 1024 * 1024
# Version of the cached ground truth: bump when the way it is computed changes.
GROUND_TRUTH_FORMAT = "repro-evalplus-ground-truth-1"
_NOT_NONE_WRAPPER = "__repro_output_not_none"


class EvalplusDataError(ReproError):
    """A release row that is malformed, or a canonical solution that does not run."""


@dataclass(frozen=True)
class EvalplusTask:
    task_id: str
    dataset: str  # "humaneval" or "mbpp"
    prompt: str
    entry_point: str
    canonical_solution: str
    base_inputs: tuple  # argument tuples, after deserialization
    plus_inputs: tuple
    atol: float
    contract: str

    @property
    def inputs(self) -> tuple:
        """Base inputs first, then plus inputs (the order evalplus tests them in)."""
        return self.base_inputs + self.plus_inputs

    @property
    def program(self) -> str:
        """What evalplus executes to get the expected outputs (`get_groundtruth`), for both
        datasets; an MBPP+ prompt is a docstring only, so there it adds nothing that runs."""
        return self.prompt + self.canonical_solution

    @property
    def reference_solution(self) -> str:
        """A complete program that solves the task: HumanEval's canonical solution is a
        function body that continues the prompt; MBPP's is the whole function."""
        return self.program if self.dataset == "humaneval" else self.canonical_solution


# ------------------------------------------------------------------ rows


def read_release_rows(path: Path) -> list[dict]:
    """The rows of a release JSONL, as evalplus `stream_jsonl` reads them."""
    rows = []
    with path.open("r", encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise EvalplusDataError(f"{path.name} line {number} is not JSON: {error}") from None
            if not isinstance(row, dict):
                raise EvalplusDataError(f"{path.name} line {number} is not a JSON object")
            rows.append(row)
    return rows


def parse_task(row: dict, dataset: str) -> EvalplusTask:
    """One release row as a task, its inputs deserialized as evalplus does."""
    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {DATASETS}, not {dataset!r}")
    task_id = row.get("task_id", "?")
    missing = [name for name in REQUIRED_FIELDS if name not in row]
    if missing:
        hint = ""
        if "test" in row and "base_input" in missing:
            hint = (" (this is the Hugging Face evalplus/humanevalplus layout, whose inputs and outputs are "
                    "embedded in the `test` source; use the release JSONL)")
        raise EvalplusDataError(f"{task_id}: missing {', '.join(missing)}{hint}")
    for name in ("task_id", "prompt", "entry_point", "canonical_solution", "contract"):
        if not isinstance(row[name], str):
            raise EvalplusDataError(f"{task_id}: {name} must be a string")
    if not task_id.startswith(TASK_PREFIX[dataset]) or not task_id[len(TASK_PREFIX[dataset]):].isdigit():
        raise EvalplusDataError(f"{task_id!r} is not a {dataset} task id ({TASK_PREFIX[dataset]}<n>)")
    atol = row["atol"]
    if isinstance(atol, bool) or not isinstance(atol, (int, float)):
        raise EvalplusDataError(f"{task_id}: atol must be a number, not {atol!r}")
    base = _argument_lists(task_id, "base_input", row["base_input"])
    plus = _argument_lists(task_id, "plus_input", row["plus_input"])
    if dataset == "mbpp":
        base, plus = mbpp_deserialize_inputs(task_id, base), mbpp_deserialize_inputs(task_id, plus)
    if not base:
        raise EvalplusDataError(f"{task_id}: no base inputs")
    return EvalplusTask(task_id, dataset, row["prompt"], row["entry_point"], row["canonical_solution"],
                        tuple(tuple(args) for args in base), tuple(tuple(args) for args in plus), float(atol),
                        row["contract"])


def _argument_lists(task_id: str, name: str, value: Any) -> list:
    if value == {}:  # MBPP+ task 793: an empty object where a list was meant; evalplus sees no inputs
        return []
    if not isinstance(value, list) or not all(isinstance(args, list) for args in value):
        raise EvalplusDataError(f"{task_id}: {name} must be a list of argument lists")
    return value


# ------------------------------------------------------------------ MBPP+ inputs
# Written after evalplus/evalplus `evalplus/data/mbpp.py` `mbpp_deserialize_inputs` (tag
# v0.3.1, unchanged at HEAD 26d6d00). The task ids and what each conversion does are theirs;
# the quirks are kept on purpose (task 115 turns an empty list into `{}`, an empty dict; the
# groups that rebuild the argument list keep only the arguments they name).

_EACH_ARGUMENT_A_TUPLE = {2, 116, 132, 143, 222, 261, 273, 394, 399, 421, 424, 429, 470, 560, 579, 596, 616, 630,
                          726, 740, 744, 809}
_EACH_ARGUMENT_A_LIST_OF_TUPLES = {63, 64, 70, 94, 120, 237, 272, 299, 400, 409, 417, 438, 473, 614, 780}
_FIRST_ARGUMENT_A_LIST_OF_TUPLES = {75, 413, 444, 753}
_SECOND_ARGUMENT_A_TUPLE = {106, 750}
_FIRST_ARGUMENT_A_TUPLE = {250, 405, 446, 617, 720, 763, 808}
_EACH_ARGUMENT_A_TUPLE_OF_TUPLES = {259, 401, 445}
_ALL_LISTS_TUPLES = {580, 615, 791}


def _all_lists_to_tuples(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_all_lists_to_tuples(item) for item in value)
    return value


def mbpp_deserialize_inputs(task_id: str, inputs: list) -> list:
    """MBPP+ argument lists with Python types restored, per task id (see the note above)."""
    number = int(task_id.split("/")[-1])
    if number in _EACH_ARGUMENT_A_TUPLE:
        return [[tuple(arg) for arg in args] for args in inputs]
    if number in _EACH_ARGUMENT_A_LIST_OF_TUPLES:
        return [[[tuple(item) for item in arg] for arg in args] for args in inputs]
    if number in _FIRST_ARGUMENT_A_LIST_OF_TUPLES:
        return [[[tuple(item) for item in args[0]], args[1]] for args in inputs]
    if number in _SECOND_ARGUMENT_A_TUPLE:
        return [[args[0], tuple(args[1])] for args in inputs]
    if number == 115:
        return [[[set(item) if isinstance(item, list) and len(item) else {} for item in args[0]]] for args in inputs]
    if number == 124:
        return [(float(args[0]), complex(args[1])) for args in inputs]
    if number in _FIRST_ARGUMENT_A_TUPLE:
        return [[tuple(args[0]), args[1]] for args in inputs]
    if number in _EACH_ARGUMENT_A_TUPLE_OF_TUPLES:
        return [[tuple(tuple(item) for item in arg) for arg in args] for args in inputs]
    if number == 278:
        return [[tuple(tuple(item) if isinstance(item, list) else item for item in args[0])] for args in inputs]
    if number == 307:
        return [[tuple(args[0]), args[1], args[2]] for args in inputs]
    if number == 722:
        return [[{key: tuple(value) for key, value in args[0].items()}, *args[1:]] for args in inputs]
    if number == 252:
        return [[complex(args[0])] for args in inputs]
    if number in _ALL_LISTS_TUPLES:
        return [_all_lists_to_tuples(args) for args in inputs]
    return inputs


# ------------------------------------------------------------------ expected outputs


@dataclass(frozen=True)
class GroundTruth:
    outputs: tuple  # what the canonical solution returned, one per input (base then plus)
    seconds: tuple[float, ...]  # the time of each call, measured around the call in the sandbox


def ground_truth_program(task: EvalplusTask) -> tuple[str, str]:
    """(program, function to call) for the expected outputs of a task."""
    if task.dataset == "mbpp" and task.entry_point in MBPP_OUTPUT_NOT_NONE_TASKS:
        # evalplus keeps only `output is not None` for these (their outputs are re.Match objects).
        wrapper = (f"\n\ndef {_NOT_NONE_WRAPPER}(*args):\n"
                   f"    return {task.entry_point}(*args) is not None\n")
        return task.program + wrapper, _NOT_NONE_WRAPPER
    return task.program, task.entry_point


def run_canonical(task: EvalplusTask) -> GroundTruth:
    """Run a task's canonical solution on all its inputs, in one sandboxed program."""
    program, function = ground_truth_program(task)
    inputs = task.inputs
    try:
        encoded = [encode_value(list(args)) for args in inputs]
    except Exception as error:  # noqa: BLE001 - an input type the codec does not carry
        raise EvalplusDataError(f"{task.task_id}: an input cannot be passed to the sandbox ({error})") from None
    config = {"mode": "function", "func_name": function, "inputs": encoded,
              "timeouts": [GROUND_TRUTH_CALL_LIMIT_S] * len(inputs),
              "stderr_keep": limits.HARNESS_STDERR_KEEP_BYTES}
    deadline_s = min(GROUND_TRUTH_TASK_LIMIT_S, GROUND_TRUTH_CALL_LIMIT_S * len(inputs)) + limits.SANDBOX_START_SLACK_S
    execution = run_program(
        HARNESS.read_text(encoding="utf-8"), "", time_limit_s=deadline_s, output_limit_bytes=GROUND_TRUTH_OUTPUT_BYTES,
        extra_files={"solution.py": program, "tests.json": json.dumps(config)})
    outputs: list = []
    seconds: list[float] = []
    for line in execution.stdout.splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            raise EvalplusDataError(f"{task.task_id}: the sandbox harness wrote an unreadable line") from None
        event = record.get("event")
        if event == "load-failed":
            raise EvalplusDataError(f"{task.task_id}: the canonical solution does not load: {record.get('detail')}")
        if event != "test":
            continue
        if record.get("kind") != "ok" or record.get("index") != len(outputs):
            raise EvalplusDataError(
                f"{task.task_id}: the canonical solution failed on input {record.get('index')} "
                f"({record.get('kind')}: {record.get('detail', '')})")
        outputs.append(decode_value(record["value"]))
        seconds.append(float(record["seconds"]))
    if len(outputs) != len(inputs):
        tail = execution.stderr.strip().splitlines()[-1:] if execution.stderr.strip() else []
        raise EvalplusDataError(
            f"{task.task_id}: the canonical solution stopped after {len(outputs)} of {len(inputs)} inputs "
            f"(sandbox status {execution.status}{', ' + execution.note if execution.note else ''}"
            f"{': ' + tail[0] if tail else ''})")
    return GroundTruth(tuple(outputs), tuple(seconds))


def ground_truth_path(folder: Path, source_sha256: str) -> Path:
    if not re.fullmatch(r"[0-9a-f]{64}", source_sha256):
        raise ValueError(f"not a sha256: {source_sha256!r}")
    return folder / f"{source_sha256}.json.gz"


def load_ground_truth(tasks: Sequence[EvalplusTask], source_sha256: str, folder: Path, *,
                      progress: Callable[[int], None] | None = None) -> dict[str, GroundTruth]:
    """Expected outputs and times of every task: from the cache when it holds exactly these
    tasks, otherwise computed in the sandbox (progress(1) after each task) and cached.

    The cache file is named by the source file's sha256: a different file is a different
    cache entry, and the same file is never recomputed (for the same format version)."""
    path = ground_truth_path(folder, source_sha256)
    cached = _read_cache(path, tasks, source_sha256)
    if cached is not None:
        return cached
    truth = {}
    for task in tasks:
        truth[task.task_id] = run_canonical(task)
        if progress is not None:
            progress(1)
    _write_cache(path, truth, source_sha256, tasks[0].dataset if tasks else "")
    return truth


def _read_cache(path: Path, tasks: Sequence[EvalplusTask], source_sha256: str) -> dict[str, GroundTruth] | None:
    """The cached ground truth, or None when absent, unreadable or not for these tasks (it is
    then computed again: the cache is derived data, never a source of truth)."""
    if not path.is_file():
        return None
    try:
        data = json.loads(gzip.decompress(path.read_bytes()))
        if data.get("format") != GROUND_TRUTH_FORMAT or data.get("source_sha256") != source_sha256:
            return None
        entries = data["tasks"]
        truth = {}
        for task in tasks:
            entry = entries[task.task_id]
            outputs = tuple(decode_value(value) for value in entry["outputs"])
            seconds = tuple(float(value) for value in entry["seconds"])
            if len(outputs) != len(task.inputs) or len(seconds) != len(task.inputs):
                return None
            truth[task.task_id] = GroundTruth(outputs, seconds)
    except (OSError, EOFError, ValueError, KeyError, TypeError):
        return None
    if len(entries) != len(tasks):
        return None
    return truth


def _write_cache(path: Path, truth: dict[str, GroundTruth], source_sha256: str, dataset: str) -> None:
    """Atomically: a reader sees the old file, no file, or the complete new one."""
    data = {"format": GROUND_TRUTH_FORMAT, "source_sha256": source_sha256, "dataset": dataset,
            "tasks": {task_id: {"outputs": [encode_value(value) for value in gt.outputs],
                                "seconds": list(gt.seconds)}
                      for task_id, gt in truth.items()}}
    atomic_write(path, gzip.compress(json.dumps(data).encode("utf-8"), mtime=0))
