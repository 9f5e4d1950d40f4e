"""Code correctness with the benchmarks' own rules, executed in the sandbox.

    extract_code(completion, opened_fence="```python")  -> the program, or None (LiveCodeBench)
    extract_last_block_rllm(completion)                  -> the program, or None (rllm, DeepCoder)
    check_program(source, TestSuite.livecodebench(tests, func_name))  -> CodeVerdict

All tests of one program run inside ONE sandboxed child (`repro/sandbox/harness.py`), which
reports each test's raw output as it goes; the comparison happens here, in the trusted parent,
and the child is killed at the first failing test (both benchmarks stop there too).

Rules implemented (see docs/sandbox.md and SOURCES.md §4):
- LiveCodeBench (`lcb_runner/evaluation/testing_util.py`, commit 15808c7): stdin tests compare
  the whole output stripped, split into lines, each line stripped; equal line counts; a line
  matches if equal as text or if both parse as whitespace-separated `Decimal`s that are equal
  (exact decimal equality: "1.0" == "1", but no tolerance). Call-based tests compare the
  returned value (a tuple counts as a list) with `==` against the JSON-decoded output. 6 s per
  test; the whole check is killed after (6 + 1) * #tests + 5 s.
- evalplus (v0.3.1 `evalplus/eval/__init__.py`): `out == exp`, else for floats (or with the
  task's atol) same type, same length and `np.allclose(out, exp, rtol=1e-7, atol)`, plus the
  task-specific oracles; per-test limit max(1 s, 4 x ground-truth time).
"""

from __future__ import annotations

import functools
import json
import math
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from repro.errors import ReproError
from repro.grading import Verdict
from repro.sandbox import limits
from repro.sandbox.harness import decode_value, encode_value
from repro.sandbox.runner import ExecutionResult, SandboxSetupError, run_program

HARNESS = Path(__file__).resolve().parent.parent / "sandbox" / "harness.py"
MODES = ("stdin", "call", "function")
PASS, FAIL, TIMEOUT, ERROR = "pass", "fail", "timeout", "error"
SUITE_FORMAT = "repro-test-suite-1"


# ------------------------------------------------------------------ extraction


def extract_code(completion: str, opened_fence: str | None = None) -> str | None:
    """The program in a completion: the text between the last two lines that contain ```
    (LiveCodeBench `extract_code`), i.e. the last fenced block.

    `opened_fence` is the fence the prompt already opened (the LCB prompt ends the assistant
    turn with "```python", so the completion only holds the closing fence): it is put back in
    front of the completion first. None when there is no complete block (LCB then scores the
    sample wrong)."""
    text = completion
    if opened_fence:
        separator = "" if opened_fence.endswith("\n") or completion.startswith("\n") else "\n"
        text = opened_fence + separator + completion
    lines = text.split("\n")
    fences = [i for i, line in enumerate(lines) if "```" in line]
    if len(fences) < 2:
        return None
    return "\n".join(lines[fences[-2] + 1: fences[-1]])


_RLLM_BLOCK = re.compile(r"```(?:\w+)?\n(.*?)```", re.DOTALL)


def extract_last_block_rllm(completion: str) -> str | None:
    """The program as rllm reads it for DeepCoder (rllm/rewards/code_reward.py
    `extract_code_from_model` at 18e446c): the blocks are matched from the left, an opening
    fence being ``` plus an optional word and a newline and the block ending at the next ```,
    wherever it stands; the last block, stripped. A final block cut off by the token budget is
    no block, so an earlier complete one (a draft in the thinking, say) is taken. None when
    there is no block."""
    blocks = _RLLM_BLOCK.findall(completion)
    return blocks[-1].strip() if blocks else None


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

    def overall_deadline_s(self) -> float:
        """Wall-clock limit of the whole check (benchmark rule + our start-up slack)."""
        if self.overall_timeout_s is not None:
            rule = self.overall_timeout_s
        elif self.mode == "function":
            rule = min(limits.EVALPLUS_TASK_TIMEOUT_CAP_S, sum(self.timeouts_s)) + limits.EVALPLUS_TASK_SLACK_S
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
        return {"mode": self.mode, "func_name": self.func_name, "inputs": inputs, "timeouts": list(self.timeouts_s),
                "stderr_keep": limits.HARNESS_STDERR_KEEP_BYTES, "not_none_only": not_none_only}

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


# ------------------------------------------------------------------ comparisons


def _stripped_lines(text: str) -> list[str]:
    return [line.strip() for line in text.strip().split("\n")]


def _decimals(line: str) -> list[Decimal] | None:
    try:
        return [Decimal(token) for token in line.split()]
    except (InvalidOperation, ValueError):
        return None


def lcb_stdout_matches(got: str, expected: str) -> tuple[bool, str]:
    """LiveCodeBench's stdin/stdout comparison; (match, why not)."""
    got_lines, expected_lines = _stripped_lines(got), _stripped_lines(expected)
    if len(got_lines) != len(expected_lines):
        return False, f"wrong answer: {len(got_lines)} output lines, expected {len(expected_lines)}"
    for number, (mine, theirs) in enumerate(zip(got_lines, expected_lines, strict=True)):
        if mine == theirs:
            continue
        a, b = _decimals(mine), _decimals(theirs)
        try:
            if a is not None and b is not None and a == b:
                continue
        except InvalidOperation:  # signalling NaN
            pass
        return False, f"wrong answer at line {number}: {_cut(mine)} != {_cut(theirs)}"
    return True, ""


def _poly(coefficients: Sequence[float], x: float) -> float:
    return sum(c * math.pow(x, i) for i, c in enumerate(coefficients))


def _mbpp_surface_area(base_edge: float, height: float) -> int:
    slant = math.sqrt((base_edge / 2) ** 2 + height ** 2)
    return round(base_edge ** 2 + 2 * base_edge * slant)


def _mbpp_digit_distance(a: int, b: int) -> int:
    left, right = str(a), str(b)
    width = max(len(left), len(right))
    return sum(abs(int(x) - int(y)) for x, y in zip(left.zfill(width), right.zfill(width), strict=True))


# evalplus `_special_oracle.py` (v0.3.1).
_MBPP_SET_EQUAL = {"similar_elements", "find_char_long", "common_in_nested_lists", "extract_singly", "larg_nnum",
                   "intersection_array", "find_dissimilar", "Diff"}
MBPP_NOT_NONE = {"check_str", "text_match_three", "text_starta_endb"}


def _is_floats(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, (list, tuple)) and value:
        return all(isinstance(item, float) for item in value)
    return False


class EvalplusComparator:
    """evalplus' per-test check. Stateful like evalplus: once a float output switched the
    tolerance to 1e-6, it stays for the following tests of the same run (base, then plus)."""

    def __init__(self, suite: TestSuite):
        self.suite = suite
        self.atol = suite.atol

    def matches(self, index: int, out: Any) -> tuple[bool, str]:
        if index == self.suite.plus_start:
            self.atol = self.suite.atol  # the plus run starts from the task's atol, as in evalplus
        try:
            return self._matches(self.suite.inputs[index], out, self.suite.outputs[index])
        except Exception as error:  # noqa: BLE001 - evalplus counts any exception as a failure
            return False, f"wrong answer ({type(error).__name__}: {_cut(str(error))})"

    def _matches(self, args: tuple, out: Any, exp: Any) -> tuple[bool, str]:
        import numpy as np

        entry, dataset = self.suite.func_name, self.suite.dataset
        exact = out == exp
        if dataset == "mbpp":
            if entry == "are_equivalent":
                exact = True
            elif entry == "sum_div":
                exact = exact or out == 0
            elif entry == "surface_Area":
                exact = exact or abs(out - _mbpp_surface_area(*args)) <= self.atol
            elif entry == "digit_distance_nums":
                exact = exact or out == _mbpp_digit_distance(*args)
            elif entry in _MBPP_SET_EQUAL:
                exact = set(out) == set(exp)
            elif entry in MBPP_NOT_NONE:
                exact = out == exp if isinstance(out, bool) else exp == (out is not None)
        if dataset == "humaneval" and entry == "find_zero":
            ok = abs(_poly(*args, out)) <= self.atol
            return ok, "" if ok else f"wrong answer: poly(x) != 0 at x={_cut(repr(out))}"
        if self.atol == 0 and _is_floats(exp):
            self.atol = limits.EVALPLUS_DEFAULT_FLOAT_ATOL
        if not exact and self.atol != 0:
            ok = (type(out) is type(exp) and (not isinstance(exp, (list, tuple)) or len(out) == len(exp))
                  and bool(np.allclose(out, exp, rtol=1e-07, atol=self.atol)))
        else:
            ok = bool(exact)
        return ok, "" if ok else f"wrong answer: got {_cut(repr(out))}, expected {_cut(repr(exp))}"


# ------------------------------------------------------------------ the check


@dataclass(frozen=True)
class CodeVerdict:
    status: str  # pass | fail (wrong answer) | timeout | error (crash, no output, limits, load failure)
    passed: int  # tests passed before the first failure
    total: int
    first_failure: int | None  # index of the first test not passed; None iff status == "pass"
    detail: str = ""
    execution: ExecutionResult | None = None  # the sandbox run (protections, stderr, wall time)

    @property
    def correct(self) -> bool:
        return self.status == PASS

    def to_verdict(self, extracted: str | None) -> Verdict:
        return Verdict(self.correct, extracted, self.detail if not self.correct else "")

    def as_dict(self) -> dict:
        result = {"status": self.status, "passed": self.passed, "total": self.total,
                  "first_failure": self.first_failure, "detail": self.detail}
        if self.execution is not None:
            result["wall_s"] = round(self.execution.wall_s, 3)
            result["protections"] = self.execution.protections.as_dict()
        return result


class _Judge:
    """Reads the harness's result lines as they arrive; decides; asks to stop at a failure."""

    def __init__(self, suite: TestSuite):
        self.suite = suite
        self.buffer = bytearray()
        self.passed = 0
        self.failure: tuple[str, int, str] | None = None  # (status, index, detail)
        self.done = False
        self.stderr_excerpt = ""
        self.evalplus = EvalplusComparator(suite) if suite.mode == "function" else None

    def feed(self, chunk: bytes) -> bool:
        self.buffer += chunk
        if b"\n" not in chunk:  # a long result line still arriving
            return False
        *lines, rest = self.buffer.split(b"\n")
        self.buffer = bytearray(rest)
        for line in lines:
            if self.failure is None and not self.done:
                self._record(line)
        return self.failure is not None or self.done

    def _record(self, line: bytes) -> None:
        try:
            record = json.loads(line)
            event = record["event"]
        except (ValueError, KeyError, TypeError):
            self.failure = (ERROR, self.passed, "the harness wrote something unreadable")
            return
        if event == "load-failed":
            status = TIMEOUT if record.get("kind") == "timeout" else ERROR
            self.failure = (status, 0, f"program failed to load: {record.get('detail', '')}")
        elif event == "test":
            self._test(record)
        elif event == "done":
            self.stderr_excerpt = str(record.get("stderr", ""))
            self.done = True

    def _test(self, record: dict) -> None:
        index = record.get("index")
        if index != self.passed:  # results arrive in order; anything else is not ours
            self.failure = (ERROR, self.passed, f"out-of-order result for test {index}")
            return
        kind = record.get("kind")
        if kind == "timeout":
            self.failure = (TIMEOUT, index, f"test {index}: time limit {self.suite.timeouts_s[index]:g} s exceeded")
            return
        if kind != "ok":
            self.failure = (ERROR, index, f"test {index}: {record.get('detail', kind)}")
            return
        ok, why = self._compare(index, record.get("value"))
        if ok:
            self.passed += 1
        else:
            self.failure = (FAIL, index, f"test {index}: {why}")

    def _compare(self, index: int, value: Any) -> tuple[bool, str]:
        if self.suite.mode == "stdin":
            if not isinstance(value, str):
                return False, "no output"
            return lcb_stdout_matches(value, self.suite.expected(index))
        try:
            got = decode_value(value)
        except (ValueError, TypeError, KeyError) as error:
            return False, f"unreadable result ({error})"
        if self.evalplus is not None:
            return self.evalplus.matches(index, got)
        expected = self.suite.expected(index)
        try:
            ok = bool(got == expected)
        except Exception as error:  # noqa: BLE001
            return False, f"comparison failed: {error}"
        return ok, "" if ok else f"wrong answer: got {_cut(repr(got))}, expected {_cut(repr(expected))}"


_self_check_lock = threading.Lock()
_self_checked = False


def _self_check() -> None:
    """Once per process: known-correct programs must pass, in every mode. A harness that fails
    everything (a wrong interpreter, a broken limit) must stop the run, not score every answer
    0 -- the failure PRACTICE.md B5 describes."""
    global _self_checked
    with _self_check_lock:
        if _self_checked:
            return
        cases = [
            ("print(2 * int(input()))", TestSuite("stdin", ("2\n",), ("4\n",), (10.0,))),
            ("class Solution:\n    def f(self, xs: List[int]) -> int:\n        return sum(xs)\n",
             TestSuite("call", ("[1, 2]",), ("3",), (10.0,), "f")),
            ("def f(x):\n    return x / 2\n", TestSuite("function", ((1,),), (0.5,), (10.0,), "f")),
        ]
        for source, suite in cases:
            verdict = _check(source, suite, limits.MEMORY_MB)
            if verdict.status != PASS:
                protections = verdict.execution.protections.summary() if verdict.execution else "?"
                raise SandboxSetupError(f"the code harness fails a known-correct {suite.mode} program "
                                        f"({verdict.status}: {verdict.detail}) under [{protections}]")
        _self_checked = True


def check_program(source: str, tests: TestSuite, *, memory_mb: int = limits.MEMORY_MB) -> CodeVerdict:
    """Run every test of `tests` on `source` in one sandboxed child; stop at the first failure."""
    _self_check()
    return _check(source, tests, memory_mb)


def _check(source: str, tests: TestSuite, memory_mb: int) -> CodeVerdict:
    judge = _Judge(tests)
    execution = run_program(
        HARNESS.read_text(encoding="utf-8"), "", time_limit_s=tests.overall_deadline_s(), memory_mb=memory_mb,
        output_limit_bytes=tests.output_budget_bytes(),
        extra_files={"solution.py": source, "tests.json": json.dumps(tests.harness_config())},
        on_stdout=judge.feed)
    total = len(tests.inputs)
    if judge.failure is None and judge.buffer.strip():
        judge.feed(b"\n")  # a last line without its newline
    if judge.failure is not None:
        status, index, detail = judge.failure
        return CodeVerdict(status, judge.passed, total, index, detail, execution)
    if judge.done and judge.passed == total:
        return CodeVerdict(PASS, total, total, None, "", execution)
    # The harness did not finish: the whole check ran out of time, or the program took the
    # process down (os._exit, a crash, a memory or output limit).
    if execution.status == "timeout":
        detail = f"test {judge.passed}: overall time limit {tests.overall_deadline_s():g} s exceeded"
        return CodeVerdict(TIMEOUT, judge.passed, total, judge.passed, detail, execution)
    detail = f"test {judge.passed}: {_how_it_ended(execution, judge)}"
    tail = execution.stderr.strip().splitlines()[-1:] if execution.stderr.strip() else []
    if tail:
        detail += f": {_cut(tail[0])}"
    return CodeVerdict(ERROR, judge.passed, total, judge.passed, detail, execution)


def _how_it_ended(execution: ExecutionResult, judge: _Judge) -> str:
    if judge.done:  # a "done" line before all results: not written by the harness
        return f"results ended after {judge.passed} of {len(judge.suite.inputs)} tests"
    if execution.status == "killed":
        how = "the program was killed"
        if execution.returncode is not None and execution.returncode < 0:
            how += f" by {_signal_name(-execution.returncode)}"
    elif execution.status == "output-limit":
        how = "the program exceeded the output limit"
    else:
        how = f"the program exited (code {execution.returncode}) before finishing the tests"
    return how + (f" ({execution.note})" if execution.note else "")


def _signal_name(number: int) -> str:
    import signal

    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _cut(text: str, length: int = limits.DETAIL_CHARS) -> str:
    return text if len(text) <= length else text[: length // 2] + " ... " + text[-length // 2:]


# ------------------------------------------------------------------ the pipeline's grader


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


def grade(problem, output: str) -> Verdict:
    """(problem, completion) -> Verdict for the grading pool. The problem's meta names its
    stored test suite ("suite_path", "suite_sha256", so only small messages cross the process
    boundary) and its prompt template ("template"), which knows how its completions hold the
    program (e.g. a fence the prompt opened)."""
    from repro.code_prompts import get_code_template

    source = get_code_template(problem.meta["template"]).extract(output, problem.meta.get("entry_point"))
    if source is None:
        return Verdict(False, None, "no program in the completion")
    suite = read_suite(problem.meta["suite_path"], problem.meta["suite_sha256"])
    verdict = check_program(source, suite)
    return Verdict(verdict.correct, _cut(source, 200), "" if verdict.correct else f"{verdict.status}: {verdict.detail}")
