"""Code correctness with the benchmarks' own rules, executed in the sandbox.

    check_program(source, TestSuite.livecodebench(tests, func_name))  -> CodeVerdict
    grade(problem, completion)  -> Verdict (the pipeline's grader "code-v3")

What the tests are and how they are stored: `repro/code_tests.py` (`TestSuite`, `read_suite`).
How the program is read out of a completion: `repro/grading/code_extraction.py`.

All tests of one program run inside ONE sandboxed child (`repro/sandbox/harness.py`), which
reports each test's raw output as it goes; the comparison happens here, in the trusted parent,
and the child is killed at the first failing test (both benchmarks stop there too).

Rules implemented (see docs/sandbox.md and SOURCES.md §4):
- LiveCodeBench (`lcb_runner/evaluation/testing_util.py`, commit 15808c7): stdin tests compare
  the whole output stripped, split into lines, each line stripped; equal line counts; a line
  matches if equal as text or if both parse as whitespace-separated `Decimal`s that are equal
  (exact decimal equality: "1.0" == "1", but no tolerance). Call-based tests compare the
  returned value (a tuple counts as a list; Fraction, Decimal and numpy values as themselves)
  with `==` against the JSON-decoded output, then take the truth of that (`lcb_call_matches`).
  6 s per test, the timer firing once (a program that catches it may still pass, as in LCB;
  `strict_time=True` refuses that); the whole check is killed after (6 + 1) * #tests + 5 s.
  `rules="rllm"`: rllm's copy of the same harness (DeepCoder), with its own prelude.
  Agreement with the originals: docs/code_grader_parity.md.
- evalplus (v0.3.1 `evalplus/eval/__init__.py`): `out == exp`, else for floats (or with the
  task's atol) same type, same length and `np.allclose(out, exp, rtol=1e-7, atol)`, plus the
  task-specific oracles (including 0.3.1's find_zero, which passes no program); per-test limit
  max(1 s, 4 x ground-truth time); the base and the plus run each within min(60 s, sum) + 2 s,
  loading included. Checked against evalplus itself: docs/code_grader_parity.md.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from repro.code_prompts import get_code_template
from repro.code_tests import HARNESS, MBPP_NOT_NONE, TestSuite, read_suite
from repro.grading import Verdict
from repro.grading.code_extraction import extract_program
from repro.sandbox import limits
from repro.sandbox.detect import detect_protections, remember, remembered
from repro.sandbox.execution import ExecutionResult, SandboxSetupError
from repro.sandbox.harness import decode_value
from repro.sandbox.runner import run_program

PASS, FAIL, TIMEOUT, ERROR = "pass", "fail", "timeout", "error"
DEFAULT_INT_MAX_STR_DIGITS = 4300  # Python's default int<->str limit (sys.int_info.default_max_str_digits)


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


def lcb_call_matches(got: Any, expected: Any) -> tuple[bool, str]:
    """LiveCodeBench's call-based check on a returned value (a tuple already made a list by the
    harness): `got == expected`, then the truth of that result (`if not tmp_result`), an
    exception in either being a runtime error; a test that passed that is then counted by
    LCB's pass@k as `np.array(results) > 0`, an array result by its first element. So a
    Fraction or Decimal equal to the expected float passes, a one-element numpy array equal
    to the expected number passes, and a longer array fails (its truth is ambiguous)."""
    try:
        result = got == expected
        if not result:
            return False, f"wrong answer: got {_cut(repr(got))}, expected {_cut(repr(expected))}"
        if getattr(result, "ndim", 0):  # LCB's metrics: an ndarray result is read as .item(0)
            result = result.item(0)
        ok = bool(result > 0)
    except Exception as error:  # noqa: BLE001 - LCB scores any exception here as a failure
        return False, f"comparison failed: {_cut(f'{type(error).__name__}: {error}')}"
    return ok, "" if ok else f"wrong answer: the comparison gave {_cut(repr(result))}"


def _poly(coefficients: Sequence[float], x: float) -> float:
    return sum(c * math.pow(x, i) for i, c in enumerate(coefficients))


def _mbpp_surface_area(base_edge: float, height: float) -> int:
    slant = math.sqrt((base_edge / 2) ** 2 + height ** 2)
    return round(base_edge ** 2 + 2 * base_edge * slant)


def _mbpp_digit_distance(a: int, b: int) -> int:
    left, right = str(a), str(b)
    width = max(len(left), len(right))
    return sum(abs(int(x) - int(y)) for x, y in zip(left.zfill(width), right.zfill(width), strict=True))


# evalplus `_special_oracle.py` (v0.3.1); the "not None" tasks are repro.code_tests.MBPP_NOT_NONE.
_MBPP_SET_EQUAL = {"similar_elements", "find_char_long", "common_in_nested_lists", "extract_singly", "larg_nnum",
                   "intersection_array", "find_dissimilar", "Diff"}


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
                # evalplus: `exact_match or True` -- always true, but it takes the truth of
                # `out == exp` first, which raises for a numpy array of several elements.
                exact = bool(exact) or True
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
            # evalplus 0.3.1 checks |poly(x)| <= atol, then `continue`s past the lines that
            # record the test as passed: no find_zero test ever counts, and every program fails
            # HumanEval/32 there (seen by running it: docs/code_grader_parity.md). Kept, so
            # that our pass rates are evalplus' own.
            near = abs(_poly(*args, out)) <= self.atol
            return False, ("evalplus 0.3.1 counts no find_zero test as passed" if near
                           else f"wrong answer: poly(x) != 0 at x={_cut(repr(out))}")
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
        # evalplus' per-run deadlines (base run, plus run): each run pays the program's loading
        # time, then its tests' times.
        self.runs = suite.evalplus_runs() if suite.mode == "function" else []
        self.load_s = 0.0
        self.run_s = [0.0] * len(self.runs)

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
        elif event == "loaded":
            self.load_s = _seconds(record)
        elif event == "test":
            self._test(record)
        elif event == "done":
            self.stderr_excerpt = str(record.get("stderr", ""))
            self.done = True
            for number, (tests, deadline) in enumerate(self.runs):
                if not tests and self.load_s > deadline:  # a run without tests still loads the program
                    self.failure = (TIMEOUT, self.passed, f"loading took {self.load_s:.1f} s, past evalplus' "
                                    f"{deadline:g} s for its run {number}")

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
        late = self._past_run_deadline(index, _seconds(record))
        if late:
            self.failure = (TIMEOUT, index, f"test {index}: {late}")
            return
        ok, why = self._compare(index, record.get("value"))
        if ok:
            self.passed += 1
        else:
            self.failure = (FAIL, index, f"test {index}: {why}")

    def _past_run_deadline(self, index: int, seconds: float) -> str:
        """evalplus kills a run (base or plus) that outlives min(60 s, its limits) + 2 s; here
        all tests run in one child, so the run's time is added up: loading plus its tests."""
        for number, (tests, deadline) in enumerate(self.runs):
            if index in tests:
                self.run_s[number] += seconds
                spent = self.load_s + self.run_s[number]
                if spent > deadline:
                    return f"evalplus' run deadline {deadline:g} s passed ({spent:.1f} s with loading)"
        return ""

    def _compare(self, index: int, value: Any) -> tuple[bool, str]:
        if self.suite.mode == "stdin":
            if not isinstance(value, str):
                return False, "no output"
            return lcb_stdout_matches(value, self.suite.expected(index))
        try:
            got = decode_value(value)
        except (ValueError, TypeError, KeyError, ArithmeticError) as error:  # a forged or damaged line
            return False, f"unreadable result ({error})"
        if self.evalplus is not None:
            return self.evalplus.matches(index, got)
        return lcb_call_matches(got, self.suite.expected(index))


_self_check_lock = threading.Lock()
_self_checked: set[str] = set()
SELF_CHECK = "code-harness-self-check"  # its name in the checks cache
RULES = ("lcb", "rllm")  # the LiveCodeBench harnesses' rules (harness.PRELUDES)


def _seconds(record: dict) -> float:
    value = record.get("seconds", 0.0)
    return max(0.0, float(value)) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def _self_check_cases(rules: str) -> list[tuple[str, TestSuite]]:
    if rules == "rllm":
        # rllm's prelude imports numpy and pandas in every program: without them in the
        # sandbox interpreter, every program would fail to load.
        return [("print(int(np.int64(2)) * int(input()))", TestSuite("stdin", ("2\n",), ("4\n",), (10.0,)))]
    return [
        ("print(2 * int(input()))", TestSuite("stdin", ("2\n",), ("4\n",), (10.0,))),
        ("class Solution:\n    def f(self, xs: List[int]) -> int:\n        return sum(xs)\n",
         TestSuite("call", ("[1, 2]",), ("3",), (10.0,), "f")),
        ("def f(x):\n    return x / 2\n", TestSuite("function", ((1,),), (0.5,), (10.0,), "f")),
    ]


def _self_check(rules: str) -> None:
    """Once per process and rules: known-correct programs must pass, in every mode. A harness
    that fails everything (a wrong interpreter, a broken limit, a missing module) must stop
    the run, not score every answer 0 -- the failure PRACTICE.md B5 describes."""
    with _self_check_lock:
        if rules in _self_checked:
            return
        # Once per machine and configuration: a pass is remembered with the protections
        # (repro.sandbox.checks_cache), under the layers it passed with.
        name = SELF_CHECK if rules == "lcb" else f"{SELF_CHECK}-{rules}"
        passed_under = detect_protections().summary()
        if remembered(name) == passed_under:
            _self_checked.add(rules)
            return
        for source, suite in _self_check_cases(rules):
            verdict = _check(source, suite, limits.MEMORY_MB, rules)
            if verdict.status != PASS:
                protections = verdict.execution.protections.summary() if verdict.execution else "?"
                raise SandboxSetupError(f"the code harness fails a known-correct {suite.mode} program under "
                                        f"{rules} rules ({verdict.status}: {verdict.detail}) under [{protections}]")
        remember(name, passed_under)
        _self_checked.add(rules)


def check_program(source: str, tests: TestSuite, *, memory_mb: int = limits.MEMORY_MB, rules: str = "lcb",
                  strict_time: bool = False) -> CodeVerdict:
    """Run every test of `tests` on `source` in one sandboxed child; stop at the first failure.

    `rules` picks the LiveCodeBench harness whose loading rules apply to stdin and call tests:
    "lcb" (LiveCodeBench's own) or "rllm" (rllm's copy, DeepCoder's evaluation). By default the
    per-test timer fires once and a program that catches it and then answers right passes, as
    in both; `strict_time=True` fails any test that ran past its limit."""
    if rules not in RULES:
        raise ValueError(f"rules must be one of {RULES}, not {rules!r}")
    _self_check(rules)
    return _check(source, tests, memory_mb, rules, strict_time)


def _check(source: str, tests: TestSuite, memory_mb: int, rules: str = "lcb", strict_time: bool = False) -> CodeVerdict:
    if rules == "rllm" and tests.mode == "call" and not _parses_under_default_digit_limit(tests.outputs):
        # rllm parses every expected output before the first test, under Python's default
        # int<->str limit (it does not raise it, as LCB's evaluator does): the check fails.
        return CodeVerdict(ERROR, 0, len(tests.inputs), 0, "an expected output has an integer over 4,300 digits, "
                           "which rllm's harness cannot parse")
    judge = _Judge(tests)
    config = {**tests.harness_config(), "rules": rules, "strict_time": strict_time}
    execution = run_program(
        HARNESS.read_text(encoding="utf-8"), "", time_limit_s=tests.overall_deadline_s(), memory_mb=memory_mb,
        output_limit_bytes=tests.output_budget_bytes(),
        extra_files={"solution.py": source, "tests.json": json.dumps(config)},
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


def _parses_under_default_digit_limit(outputs: Sequence[str]) -> bool:
    def parse_int(digits: str) -> int:
        if len(digits.lstrip("-")) > DEFAULT_INT_MAX_STR_DIGITS:
            raise ValueError("too many digits")
        return 0

    try:
        for output in outputs:
            json.loads(output, parse_int=parse_int)
    except ValueError:
        return False
    return True


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


def grade(problem, output: str) -> Verdict:
    """(problem, completion) -> Verdict for the grading pool. The problem's meta names its
    stored test suite ("suite_path", "suite_sha256", so only small messages cross the process
    boundary) and its prompt template ("template"), which knows how its completions hold the
    program (e.g. a fence the prompt opened)."""
    template = get_code_template(problem.meta["template"])
    source = extract_program(template, output, problem.meta.get("entry_point"))
    if source is None:
        return Verdict(False, None, "no program in the completion")
    suite = read_suite(problem.meta["suite_path"], problem.meta["suite_sha256"])
    verdict = check_program(source, suite, rules=template.test_rules)
    return Verdict(verdict.correct, _cut(source, 200), "" if verdict.correct else f"{verdict.status}: {verdict.detail}")
