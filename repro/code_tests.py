"""What a code problem's tests are, and how they are stored on disk.

    TestSuite.livecodebench(tests, func_name)   -> the tests of one LiveCodeBench problem
    TestSuite.evalplus(entry_point, inputs, expected, ...)  -> HumanEval+ / MBPP+ tests
    write_suite(suite, path) -> sha256;  read_suite(path, sha256) -> TestSuite

The loaders (`repro/benchmarks/`) build and store the suites; the grader
(`repro/grading/code.py`) reads them back and runs them in the sandbox through the harness
(`HARNESS`, `repro/sandbox/harness.py`), which receives `TestSuite.harness_config()`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from repro.errors import ReproError
from repro.sandbox import limits
from repro.sandbox.harness import decode_value, encode_value

HARNESS = Path(__file__).resolve().parent / "sandbox" / "harness.py"
MODES = ("stdin", "call", "function")
SUITE_FORMAT = "repro-test-suite-1"
# evalplus `_special_oracle.py` (v0.3.1): MBPP+ tasks whose output only has to be "not None"
# (one list, shared by the loader and the comparator in repro.grading.code).
MBPP_NOT_NONE = {"check_str", "text_match_three", "text_starta_endb"}


# ------------------------------------------------------------------ test suites


def _json_loads_big(text: str) -> Any:
    """json.loads without Python's 4300-digit limit on ints (LCB raises it to 50,000)."""
    return json.loads(text, parse_int=lambda digits: int(digits) if len(digits) < 4000 else int(Decimal(digits)))


@dataclass(frozen=True)
class TestSuite:
    """The tests of one problem.

    mode "stdin": inputs/outputs are the stdin text and expected stdout (LCB).
    mode "call": LCB functional tests: inputs are one JSON literal per argument, one per line;
        outputs one JSON literal; `func_name` is the method of `class Solution` (or a function).
    mode "function": evalplus: inputs are argument tuples, outputs the expected Python values.
    """

    __test__ = False  # not a pytest test class, despite the name

    mode: str
    inputs: tuple
    outputs: tuple
    timeouts_s: tuple[float, ...]
    func_name: str | None = None
    overall_timeout_s: float | None = None  # None: the benchmark's rule (see overall_deadline_s)
    atol: float = 0.0  # evalplus: the task's absolute tolerance
    dataset: str | None = None  # evalplus: "humaneval" or "mbpp" (task-specific oracles)
    # evalplus: index of the first "plus" test. evalplus checks base and plus tests in two
    # separate runs, each starting from the task's atol; one suite here, so the comparator
    # starts afresh there.
    plus_start: int | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {self.mode!r}")
        if not self.inputs or not (len(self.inputs) == len(self.outputs) == len(self.timeouts_s)):
            raise ValueError("a test suite needs at least one test and as many outputs and timeouts as inputs")
        if self.mode != "stdin" and not self.func_name:
            raise ValueError(f"mode {self.mode!r} needs func_name")

    @classmethod
    def livecodebench(cls, tests: Sequence[dict], func_name: str | None = None,
                      timeout_s: float = limits.LCB_TEST_TIMEOUT_S) -> TestSuite:
        """From LCB test dicts ({"input", "output", "testtype"}); public then private tests.
        As in LCB, the presence of `func_name` (metadata) decides stdin vs call-based."""
        inputs = tuple(str(test["input"]) for test in tests)
        outputs = tuple(str(test["output"]) for test in tests)
        if func_name:
            for output in outputs:
                try:
                    _json_loads_big(output)
                except ValueError as error:
                    raise ValueError(f"expected output is not a JSON literal: {output[:80]!r} ({error})") from None
        return cls("call" if func_name else "stdin", inputs, outputs, (float(timeout_s),) * len(inputs),
                   func_name or None)

    @classmethod
    def evalplus(cls, entry_point: str, inputs: Sequence[Sequence[Any]], expected: Sequence[Any], *,
                 time_limits_s: Sequence[float] | None = None, ref_times_s: Sequence[float] | None = None,
                 atol: float = 0.0, dataset: str | None = None, plus_start: int | None = None) -> TestSuite:
        """evalplus base or plus tests. Give the per-test limits, or the ground-truth times
        from which evalplus computes them: max(1.0 s, 4.0 x time)."""
        if time_limits_s is None:
            if ref_times_s is None:
                raise ValueError("give time_limits_s or ref_times_s")
            time_limits_s = [max(limits.EVALPLUS_MIN_TIME_LIMIT_S, limits.EVALPLUS_GT_TIME_LIMIT_FACTOR * t)
                             for t in ref_times_s]
        return cls("function", tuple(tuple(args) for args in inputs), tuple(expected),
                   tuple(float(t) for t in time_limits_s), entry_point, atol=atol, dataset=dataset,
                   plus_start=plus_start)

    def evalplus_runs(self) -> list[tuple[range, float]]:
        """evalplus' runs of a "function" suite: (test indices, deadline in seconds), base tests
        then plus tests. evalplus (`untrusted_check`) runs each in its own process, which
        executes the program and then its tests within min(60 s, sum of the per-test limits)
        + 2 s; a run with no tests still executes the program (MBPP+ task 793 has no plus
        tests)."""
        split = len(self.inputs) if self.plus_start is None else self.plus_start
        parts = [range(0, split)] + ([range(split, len(self.inputs))] if self.plus_start is not None else [])
        return [(part, min(limits.EVALPLUS_TASK_TIMEOUT_CAP_S, sum(self.timeouts_s[i] for i in part))
                 + limits.EVALPLUS_TASK_SLACK_S) for part in parts]

    def overall_deadline_s(self) -> float:
        """Wall-clock limit of the whole check (benchmark rule + our start-up slack)."""
        if self.overall_timeout_s is not None:
            rule = self.overall_timeout_s
        elif self.mode == "function":
            rule = sum(deadline for _, deadline in self.evalplus_runs())
        else:
            rule = sum(t + limits.LCB_GLOBAL_PER_TEST_SLACK_S for t in self.timeouts_s) + limits.LCB_GLOBAL_SLACK_S
        return rule + limits.SANDBOX_START_SLACK_S

    def expected(self, index: int) -> Any:
        if self.mode == "call":
            return _json_loads_big(self.outputs[index])
        return self.outputs[index]

    def harness_config(self) -> dict:
        inputs = [encode_value(list(args)) for args in self.inputs] if self.mode == "function" else list(self.inputs)
        # MBPP+'s "not None" tasks (regex matches): evalplus only asks whether the result is
        # None (a bool result is compared as is), and a re.Match cannot travel back, so the
        # child reports that instead of the object.
        not_none_only = self.dataset == "mbpp" and self.func_name in MBPP_NOT_NONE
        config = {"mode": self.mode, "func_name": self.func_name, "inputs": inputs, "timeouts": list(self.timeouts_s),
                  "stderr_keep": limits.HARNESS_STDERR_KEEP_BYTES, "not_none_only": not_none_only}
        if self.mode == "function":
            # evalplus' reliability_guard sets the stack limit to its memory budget (4 GiB).
            config["stack_bytes"] = limits.MEMORY_MB * 1024 * 1024
        return config

    def to_dict(self) -> dict:
        """A JSON-able form (evalplus values keep their Python types via encode_value)."""
        encode = (lambda values: [encode_value(list(v)) for v in values]) if self.mode == "function" else list
        outputs = [encode_value(o) for o in self.outputs] if self.mode == "function" else list(self.outputs)
        return {"format": SUITE_FORMAT, "mode": self.mode, "inputs": encode(self.inputs), "outputs": outputs,
                "timeouts_s": list(self.timeouts_s), "func_name": self.func_name,
                "overall_timeout_s": self.overall_timeout_s, "atol": self.atol, "dataset": self.dataset,
                "plus_start": self.plus_start}

    @classmethod
    def from_dict(cls, data: dict) -> TestSuite:
        if data.get("format") != SUITE_FORMAT:
            raise ValueError(f"not a test suite of format {SUITE_FORMAT!r}")
        function = data["mode"] == "function"
        inputs = tuple(tuple(decode_value(v)) for v in data["inputs"]) if function else tuple(data["inputs"])
        outputs = tuple(decode_value(o) for o in data["outputs"]) if function else tuple(data["outputs"])
        return cls(data["mode"], inputs, outputs, tuple(float(t) for t in data["timeouts_s"]), data["func_name"],
                   data["overall_timeout_s"], float(data["atol"]), data["dataset"], data.get("plus_start"))

    def output_budget_bytes(self) -> int:
        """Output cap of a check: room for every expected output several times over (outputs
        travel back JSON-escaped), plus the usual cap."""
        size = sum(len(str(output)) for output in self.outputs) if self.mode != "function" else \
            sum(len(json.dumps(encode_value(output))) for output in self.outputs)
        return limits.OUTPUT_LIMIT_BYTES + 4 * size + 256 * len(self.outputs)


# ------------------------------------------------------------------ storage


def write_suite(suite: TestSuite, path: Path) -> str:
    """Store a suite as gzip JSON (atomically); returns the sha256 of the stored bytes."""
    import gzip
    import hashlib

    from repro.files import atomic_write

    data = gzip.compress(json.dumps(suite.to_dict()).encode("utf-8"), mtime=0)
    atomic_write(path, data)
    return hashlib.sha256(data).hexdigest()


@functools.lru_cache(maxsize=8)
def read_suite(path: str, sha256: str) -> TestSuite:
    """A stored suite, checked against the digest the loader recorded (LiveCodeBench suites
    reach tens of MB, so a grading worker keeps the last few in memory)."""
    import gzip
    import hashlib

    data = Path(path).read_bytes()
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ReproError(f"test suite {path} does not match its recorded sha256 (changed after loading); "
                         "load the benchmark again")
    return TestSuite.from_dict(json.loads(gzip.decompress(data)))
