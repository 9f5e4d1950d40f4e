"""`repro sandbox SOLUTION.py --problem PROBLEM.json`: judge one solution, print a JSON verdict.

PROBLEM.json holds LiveCodeBench-style tests:
    {"tests": [{"input": "...", "output": "...", "testtype": "stdin" | "functional"}, ...],
     "metadata": {"func_name": "..."}}          # metadata may also be a JSON string, as on the hub
optionally with "timeout_s" (default: LCB's 6 s per test). The verdict comes from the same
`check_program` the experiments use. Exit code 0: all tests pass; 1: they do not.
"""

from __future__ import annotations

import json
from pathlib import Path

from repro.code_tests import TestSuite
from repro.errors import InputFileError
from repro.grading.code import check_program
from repro.sandbox import limits


def _read(path: Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise InputFileError(f"{path}: cannot read: {error.strerror or error}") from None


def _text(data: bytes, errors: str = "strict") -> str:
    """A file's bytes as text, as a file opened in text mode reads them (universal newlines)."""
    return data.decode("utf-8", errors).replace("\r\n", "\n").replace("\r", "\n")


def load_problem(problem_path: Path) -> TestSuite:
    """The test suite of PROBLEM.json; InputFileError (one line) when it is malformed."""
    return parse_problem(_read(problem_path), problem_path)


def parse_problem(data: bytes, problem_path) -> TestSuite:
    """The test suite in `data`, the bytes of PROBLEM.json (`problem_path` names it in errors)."""
    try:
        problem = json.loads(_text(data))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputFileError(f"{problem_path}: not valid JSON: {error}") from None
    if not isinstance(problem, dict):
        raise InputFileError(f"{problem_path}: expected a JSON object with \"tests\" and \"metadata\"")
    tests = problem.get("tests")
    if not isinstance(tests, list) or not tests:
        raise InputFileError(f"{problem_path}: \"tests\" must be a non-empty list")
    for number, test in enumerate(tests):
        if not isinstance(test, dict) or not isinstance(test.get("input"), str) \
                or not isinstance(test.get("output"), str):
            raise InputFileError(f"{problem_path}: test {number} needs string \"input\" and \"output\"")
        if test.get("testtype", "stdin") not in ("stdin", "functional"):
            raise InputFileError(f"{problem_path}: test {number}: testtype must be \"stdin\" or \"functional\"")
    metadata = problem.get("metadata", {})
    if isinstance(metadata, str):
        try:
            metadata = json.loads(metadata) if metadata.strip() else {}
        except json.JSONDecodeError as error:
            raise InputFileError(f"{problem_path}: \"metadata\" is a string but not JSON: {error}") from None
    if not isinstance(metadata, dict):
        raise InputFileError(f"{problem_path}: \"metadata\" must be an object")
    func_name = metadata.get("func_name")
    if func_name is not None and (not isinstance(func_name, str) or not func_name.isidentifier()):
        raise InputFileError(f"{problem_path}: metadata.func_name must be a Python identifier")
    functional = {test.get("testtype", "stdin") == "functional" for test in tests}
    if functional == {True} and not func_name:
        raise InputFileError(f"{problem_path}: functional tests need metadata.func_name")
    timeout_s = problem.get("timeout_s", limits.LCB_TEST_TIMEOUT_S)
    if not isinstance(timeout_s, (int, float)) or isinstance(timeout_s, bool) or not 0 < timeout_s <= 600:
        raise InputFileError(f"{problem_path}: timeout_s must be a number of seconds in (0, 600]")
    try:
        return TestSuite.livecodebench(tests, func_name, float(timeout_s))
    except ValueError as error:
        raise InputFileError(f"{problem_path}: {error}") from None


def sandbox_command(solution_path: Path, problem_path: Path) -> int:
    """Print the verdict of SOLUTION.py on PROBLEM.json as one JSON object; 0 iff it passes."""
    suite = load_problem(problem_path)
    code, line = _verdict(_read(solution_path), suite)
    print(line)
    return code


def judge(solution: bytes, problem: bytes, problem_path) -> tuple[int, str]:
    """What `sandbox_command` prints and returns, from the files' bytes (`problem_path` names
    the problem in errors): the sandbox service's answer (`repro/sandbox_service.py`)."""
    return _verdict(solution, parse_problem(problem, problem_path))


def _verdict(solution: bytes, suite: TestSuite) -> tuple[int, str]:
    """(exit code, the verdict as one JSON line)."""
    verdict = check_program(_text(solution, errors="replace"), suite)
    return (0 if verdict.correct else 1), json.dumps(verdict.as_dict(), sort_keys=True)
