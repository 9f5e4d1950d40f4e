"""Code grading with the benchmarks' own rules (LiveCodeBench stdin and call-based tests,
evalplus function tests), run in the sandbox; extraction of the program from a completion."""

from __future__ import annotations

import json
import sys
from decimal import Decimal

import pytest

from repro.code_tests import TestSuite
from repro.errors import InputFileError, ReproError
from repro.grading.code import check_program, lcb_stdout_matches
from repro.grading.code_extraction import extract_code
from repro.sandbox import limits
from repro.sandbox_command import sandbox_command
from tests.conftest import shared_dir

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the sandbox needs Linux")

# LiveCodeBench 1873_A (codeforces, stdin) and 3046 (leetcode, call-based): a few real tests
# (shared/data/formats/livecodebench_code_generation_lite/decoded_tests_of_the_2_rows.json).
SWAP_TESTS = [
    {"input": "6\nabc\nacb\nbac\nbca\ncab\ncba\n", "output": "YES\nYES\nYES\nNO\nNO\nYES\n", "testtype": "stdin"},
    {"input": "1\nabc\n", "output": "YES\n", "testtype": "stdin"},
    {"input": "5\ncab\nacb\ncba\nbac\nbca\n", "output": "NO\nYES\nYES\nYES\nNO\n", "testtype": "stdin"},
]
SWAP_SOLUTION = """
t = int(input())
for _ in range(t):
    s = input().strip()
    print("YES" if sum(a != b for a, b in zip(s, "abc")) <= 2 else "NO")
"""
SPECIAL_TESTS = [
    {"input": '"2245047"', "output": "2", "testtype": "functional"},
    {"input": '"2908305"', "output": "3", "testtype": "functional"},
    {"input": '"10"', "output": "1", "testtype": "functional"},
]
SPECIAL_SOLUTION = """
class Solution:
    def minimumOperations(self, num: str) -> int:
        n = len(num)
        best = n - (1 if "0" in num else 0)
        for end in ("00", "25", "50", "75"):
            j = n - 1
            while j >= 0 and num[j] != end[1]:
                j -= 1
            i = j - 1
            while i >= 0 and num[i] != end[0]:
                i -= 1
            if i >= 0:
                best = min(best, n - i - 2)
        return best
"""


def doubling(timeout_s: float = 2.0, count: int = 3) -> TestSuite:
    inputs = tuple(f"{n}\n" for n in range(1, count + 1))
    outputs = tuple(f"{2 * n}\n" for n in range(1, count + 1))
    return TestSuite("stdin", inputs, outputs, (timeout_s,) * count)


# ------------------------------------------------------------------ extraction


def test_extract_reattaches_the_opened_fence():
    completion = "\nn = int(input())\nprint(n * 2)\n```\nThis doubles n."
    assert extract_code(completion, "```python") == "n = int(input())\nprint(n * 2)"
    assert extract_code("n = 1\n```", "```python\n") == "n = 1"
    # Without the prompt's fence there is only one fence line: no block.
    assert extract_code(completion) is None


def test_extract_takes_the_last_block():
    completion = "First try:\n```python\nprint(1)\n```\nBetter:\n```python\nprint(2)\n```\n"
    assert extract_code(completion) == "print(2)"
    # With the prompt's fence re-attached the last block is still the last one.
    assert extract_code("print(0)\n```\nagain\n```python\nprint(3)\n```", "```python") == "print(3)"


def test_extract_none_without_a_closed_block():
    assert extract_code("no code at all") is None
    assert extract_code("```python\nprint(1)\n") is None  # cut off at max tokens


# ------------------------------------------------------------------ LCB output comparison


@pytest.mark.parametrize("got, expected, ok", [
    ("YES\nNO\n", "YES\nNO", True),  # trailing newline
    ("YES  \n  NO\t\n\n", "YES\nNO\n", True),  # whitespace around lines and the whole output
    ("1.0\n", "1\n", True),  # equal as decimals
    ("1e3 2\n", "1000 2.00\n", True),
    ("0.333333\n", "0.3333333\n", False),  # LCB compares decimals exactly: no tolerance
    ("1 2\n", "1  2\n", True),  # token-wise when both parse as numbers
    ("a  b\n", "a b\n", False),  # text lines must match exactly after strip
    ("YES\n", "YES\nNO\n", False),  # line count
    ("", "\n", True),
    ("nan\n", "nan\n", True),  # identical text
    ("NaN\n", "nan\n", False),  # Decimal NaN != NaN
])
def test_lcb_stdout_comparison(got, expected, ok):
    assert lcb_stdout_matches(got, expected)[0] is ok


# ------------------------------------------------------------------ LCB stdin tests in the sandbox


def test_stdin_solution_passes_real_tests():
    verdict = check_program(SWAP_SOLUTION, TestSuite.livecodebench(SWAP_TESTS))
    assert (verdict.status, verdict.passed, verdict.total, verdict.first_failure) == ("pass", 3, 3, None)
    assert verdict.correct and verdict.to_verdict("x").correct


def test_first_failure_index_and_stop():
    # Right on 1 and 2, wrong from 3 on: the check stops at test index 2.
    source = "n = int(input())\nprint(2 * n if n < 3 else 0)\n"
    verdict = check_program(source, doubling(count=5))
    assert (verdict.status, verdict.passed, verdict.first_failure) == ("fail", 2, 2)
    assert "wrong answer" in verdict.detail


def test_stdin_reading_styles():
    styles = [
        "import sys\nprint(2 * int(sys.stdin.read()))",
        "import sys\nfor line in sys.stdin:\n    print(2 * int(line))",
        "import sys\ndata = sys.stdin.readlines()\nprint(2 * int(data[0]))",
        "def main():\n    print(2 * int(input()))\n\nif __name__ == '__main__':\n    main()\n",
    ]
    for source in styles:
        verdict = check_program(source, doubling())
        assert verdict.status == "pass", (source, verdict.detail)


def test_open_zero_fails_as_in_lcb():
    # LCB mocks builtins.open, but its prelude's `from builtins import *` already bound the
    # real open() into the program's globals: open(0) reads the test process's empty stdin.
    verdict = check_program("print(2 * int(open(0).read()))", doubling())
    assert verdict.status == "error" and "invalid literal" in verdict.detail


def test_exit_keeps_what_was_printed():
    # LCB catches SystemExit: the output printed before exit() is compared.
    assert check_program("print(2 * int(input()))\nexit()\nprint('junk')", doubling()).status == "pass"
    verdict = check_program("import sys\nsys.exit(0)\nprint(2 * int(input()))", doubling())
    assert verdict.status == "fail" and verdict.first_failure == 0


def test_lcb_quirks_are_reproduced():
    # Top-level names become locals of LCB's wrapper function: `global` on them fails there.
    source = "n = int(input())\ndef f():\n    global n\n    return 2 * n\nprint(f())\n"
    assert check_program(source, doubling()).status == "error"
    # LCB's prelude makes math and collections names available without imports.
    assert check_program("print(int(floor(2 * int(input()))))", doubling()).status == "pass"


def test_runtime_error_and_syntax_error():
    verdict = check_program("print(2 * int(input()))\nraise ValueError('boom')", doubling())
    assert verdict.status == "error" and verdict.first_failure == 0 and "ValueError" in verdict.detail
    verdict = check_program("def broken(:\n", doubling())
    assert verdict.status == "error" and verdict.first_failure == 0 and "load" in verdict.detail


def test_per_test_timeout_records_the_slow_test():
    source = "import time\nn = int(input())\nif n == 2:\n    time.sleep(30)\nprint(2 * n)\n"
    verdict = check_program(source, doubling(timeout_s=1.0))
    assert (verdict.status, verdict.passed, verdict.first_failure) == ("timeout", 1, 1)
    assert verdict.execution.wall_s < 8


def test_overall_deadline_is_lcb_rule():
    suite = TestSuite.livecodebench(SWAP_TESTS)
    assert suite.timeouts_s == (6.0, 6.0, 6.0)
    assert suite.overall_deadline_s() == (6 + 1) * 3 + 5 + limits.SANDBOX_START_SLACK_S


# ------------------------------------------------------------------ LCB call-based tests


def test_call_based_solution_passes():
    verdict = check_program(SPECIAL_SOLUTION, TestSuite.livecodebench(SPECIAL_TESTS, "minimumOperations"))
    assert verdict.status == "pass" and verdict.passed == 3


def test_call_based_rules():
    tests = [{"input": "[3, 1, 2]\n2", "output": "[1, 2]", "testtype": "functional"}]
    suite = TestSuite.livecodebench(tests, "smallest")
    # Inputs are JSON literals, one per line; a tuple counts as a list; List needs no import.
    source = "class Solution:\n    def smallest(self, nums: List[int], k: int) -> List[int]:\n" \
             "        return tuple(sorted(nums)[:k])\n"
    assert check_program(source, suite).status == "pass"
    assert check_program(source.replace("[:k]", "[:k + 1]"), suite).status == "fail"
    assert check_program("class Solution:\n    def other(self, a, b):\n        return a\n", suite).status == "error"


def test_call_based_big_integers():
    digits = format(Decimal(7 ** 6000), "f")  # more digits than Python's default int<->str limit
    tests = [{"input": json.dumps(digits), "output": digits, "testtype": "functional"}]
    source = "class Solution:\n    def parse(self, s):\n        return int(s)\n"
    assert check_program(source, TestSuite.livecodebench(tests, "parse")).status == "pass"


def test_call_based_result_that_claims_equality_is_not_trusted():
    tests = [{"input": "1", "output": "2", "testtype": "functional"}]
    source = ("class Anything:\n    def __eq__(self, other):\n        return True\n"
              "class Solution:\n    def f(self, x):\n        return Anything()\n")
    verdict = check_program(source, TestSuite.livecodebench(tests, "f"))
    assert verdict.status == "error" and "Anything" in verdict.detail


# ------------------------------------------------------------------ evalplus


def test_evalplus_exact_and_float_tolerance():
    # Floats: evalplus enforces atol 1e-6 (and rtol 1e-7) when the task gives none.
    suite = TestSuite.evalplus("f", [(1.0,), (2.0,)], [0.3, 0.6], time_limits_s=[1.0, 1.0])
    assert check_program("def f(x):\n    return 0.3 * x + 1e-7\n", suite).status == "pass"
    assert check_program("def f(x):\n    return 0.3 * x + 1e-3\n", suite).status == "fail"
    ints = TestSuite.evalplus("g", [(2,), (3,)], [4, 9], time_limits_s=[1.0, 1.0])
    assert check_program("def g(x):\n    return x * x\n", ints).status == "pass"
    verdict = check_program("def g(x):\n    return x * x + (x == 3)\n", ints)
    assert (verdict.status, verdict.first_failure) == ("fail", 1)


def test_evalplus_types_and_containers():
    suite = TestSuite.evalplus("h", [([1, 2],)], [(1, 2)], time_limits_s=[1.0])
    assert check_program("def h(x):\n    return tuple(x)\n", suite).status == "pass"
    assert check_program("def h(x):\n    return list(x)\n", suite).status == "fail"  # evalplus: (1, 2) != [1, 2]
    floats = TestSuite.evalplus("k", [(0,)], [[0.5, 0.25]], time_limits_s=[1.0])
    assert check_program("def k(x):\n    return [0.5 + 1e-8, 0.25]\n", floats).status == "pass"
    assert check_program("def k(x):\n    return (0.5 + 1e-8, 0.25)\n", floats).status == "fail"  # type differs


def test_evalplus_float_tolerance_does_not_leak_from_base_into_plus_tests():
    # evalplus checks base and plus tests in two runs, each starting at the task's atol: a
    # float in a base test must not loosen the comparison of the plus tests.
    from repro.grading.code import EvalplusComparator

    def comparator(plus_start):
        suite = TestSuite.evalplus("f", [(0,), (1,)], [0.5, [1, 2]], time_limits_s=[1.0, 1.0], plus_start=plus_start)
        return EvalplusComparator(suite)

    loose = comparator(None)  # one run: the float of test 0 switches atol to 1e-6 for test 1
    assert loose.matches(0, 0.5)[0] and loose.matches(1, [1, 2.0000001])[0]
    strict = comparator(1)  # test 1 starts the plus run
    assert strict.matches(0, 0.5)[0] and not strict.matches(1, [1, 2.0000001])[0]
    assert strict.matches(1, [1, 2])[0]


def test_test_suites_survive_their_stored_form(tmp_path):
    from repro.code_tests import read_suite, write_suite

    suite = TestSuite.evalplus("f", [((1, 2), {3}), (complex(1, 2), float("inf"))], [(1, 2), [0.5]],
                               time_limits_s=[1.0, 2.0], atol=1e-4, dataset="mbpp", plus_start=1)
    digest = write_suite(suite, tmp_path / "s.json.gz")
    assert read_suite(str(tmp_path / "s.json.gz"), digest) == suite
    (tmp_path / "s.json.gz").write_bytes(b"changed")
    read_suite.cache_clear()
    with pytest.raises(ReproError, match="sha256"):
        read_suite(str(tmp_path / "s.json.gz"), digest)


def test_mbpp_not_none_tasks_accept_a_regex_match():
    # evalplus compares `out is not None` for these tasks; a re.Match is the natural answer and
    # cannot be sent back as a value.
    suite = TestSuite.evalplus("text_match_three", [("abbb",), ("ac",)], [True, False], time_limits_s=[1.0, 1.0],
                               dataset="mbpp")
    match = "import re\ndef text_match_three(text):\n    return re.search('ab{3}', text)\n"
    assert check_program(match, suite).status == "pass"
    assert check_program("def text_match_three(text):\n    return 'abbb' in text\n", suite).status == "pass"
    wrong = check_program("def text_match_three(text):\n    return None\n", suite)
    assert (wrong.status, wrong.first_failure) == ("fail", 0)


def test_evalplus_find_zero_fails_every_program_as_evalplus_0_3_1_does():
    # evalplus 0.3.1's find_zero oracle checks |poly(x)| <= atol and then skips the lines that
    # count the test as passed, so HumanEval/32 is failed by every program there (observed by
    # running evalplus: docs/code_grader_parity.md).
    suite = TestSuite.evalplus("find_zero", [([-6, 11, -6, 1],)], [1.0], time_limits_s=[1.0], atol=1e-6,
                               dataset="humaneval")
    root = check_program("def find_zero(xs):\n    return 3.0\n", suite)  # another root
    assert (root.status, root.first_failure) == ("fail", 0) and "counts no find_zero test" in root.detail
    wrong = check_program("def find_zero(xs):\n    return 2.5\n", suite)
    assert wrong.status == "fail" and "poly(x) != 0" in wrong.detail
    # Only HumanEval's find_zero: an MBPP function of that name is compared as usual.
    other = TestSuite.evalplus("find_zero", [(1,)], [1.0], time_limits_s=[1.0], dataset="mbpp")
    assert check_program("def find_zero(x):\n    return 1.0\n", other).status == "pass"


def test_evalplus_time_limits():
    suite = TestSuite.evalplus("f", [(1,), (2,)], [1, 2], ref_times_s=[0.01, 0.5])
    assert suite.timeouts_s == (1.0, 2.0)  # max(1.0 s, 4.0 x ground truth)
    assert suite.overall_deadline_s() == 3.0 + limits.EVALPLUS_TASK_SLACK_S + limits.SANDBOX_START_SLACK_S
    # Base and plus tests: two evalplus runs, each with its own deadline min(60 s, sum) + 2 s.
    split = TestSuite.evalplus("f", [(1,), (2,), (3,)], [1, 2, 3], ref_times_s=[0.01, 0.5, 20.0], plus_start=1)
    assert split.evalplus_runs() == [(range(0, 1), 3.0), (range(1, 3), 62.0)]
    assert split.overall_deadline_s() == 65.0 + limits.SANDBOX_START_SLACK_S
    slow = TestSuite.evalplus("f", [(1,), (2,)], [1, 2], time_limits_s=[1.0, 0.5])
    verdict = check_program("import time\ndef f(x):\n    time.sleep(0.1 if x == 1 else 5)\n    return x\n", slow)
    assert (verdict.status, verdict.passed, verdict.first_failure) == ("timeout", 1, 1)


def test_evalplus_loading_time_counts_in_each_run():
    # evalplus executes the program in each run (base, plus), inside that run's deadline: a slow
    # top-level passes the base run (1 test: 3 s) but not a plus run without tests (2 s).
    program = "import time\ntime.sleep(2.5)\ndef f(x):\n    return x\n"
    no_plus = TestSuite.evalplus("f", [(1,)], [1], time_limits_s=[1.0], plus_start=1)
    verdict = check_program(program, no_plus)
    assert verdict.status == "timeout" and "loading took" in verdict.detail
    two_plus = TestSuite.evalplus("f", [(1,), (2,), (3,)], [1, 2, 3], time_limits_s=[1.0] * 3, plus_start=1)
    assert check_program(program, two_plus).status == "pass"  # plus run: 2.5 s of 4 s


def test_evalplus_exact_number_types_and_numpy_scalars_travel_as_themselves():
    from fractions import Fraction

    from repro.sandbox.harness import decode_value, encode_value

    numpy = pytest.importorskip("numpy")
    for value in (Decimal("0.1"), Fraction(1, 3), numpy.float32(0.5), numpy.int64(-3), numpy.bool_(True)):
        back = decode_value(json.loads(json.dumps(encode_value(value))))
        assert type(back) is type(value) and back == value
    with pytest.raises(ValueError):  # a forged line cannot make the parent build other numpy objects
        decode_value({"$numpy": ["V1000000", 1]})
    # evalplus compares Decimal with ==, so an exact Decimal result passes.
    suite = TestSuite.evalplus("f", [(1,)], [0.5], time_limits_s=[1.0])
    assert check_program("from decimal import Decimal\ndef f(x):\n    return Decimal(x / 2)\n", suite).status == "pass"


def test_evalplus_main_thread_stack_grows_as_in_evalplus():
    # evalplus raises RLIMIT_STACK in its test process: recursion through C calls (here
    # lru_cache) 30,000 deep passes there; under a fixed 8 MiB stack it is killed by SIGSEGV.
    source = ("import sys\nfrom functools import lru_cache\nsys.setrecursionlimit(10 ** 6)\n"
              "@lru_cache(maxsize=None)\ndef f(n):\n    return 0 if n == 0 else f(n - 1) + 1\n")
    suite = TestSuite.evalplus("f", [(30000,)], [30000], time_limits_s=[5.0])
    assert check_program(source, suite).status == "pass"


def test_evalplus_modules_loaded_before_the_guard_can_be_imported():
    # evalplus' test process has imported multiprocessing (and numpy) before its guard removes
    # os.putenv, which importing them needs: programs that import them work there, and here.
    suite = TestSuite.evalplus("f", [(1,)], [1], time_limits_s=[1.0])
    for source in ("import multiprocessing\ndef f(x):\n    return x + 0 * multiprocessing.cpu_count()\n",
                   "from concurrent.futures import ProcessPoolExecutor\ndef f(x):\n    return x\n"):
        assert check_program(source, suite).status == "pass"
    # Using a process pool still fails, as there (os.fork is gone).
    pool = "from multiprocessing import Pool\ndef f(x):\n    with Pool(2) as p:\n        return p.map(abs, [x])[0]\n"
    assert check_program(pool, suite).status == "error"


def test_evalplus_guard_like_evalplus():
    # evalplus' reliability_guard removes open() and exit(): programs using them fail there.
    suite = TestSuite.evalplus("f", [(1,)], [1], time_limits_s=[1.0])
    assert check_program("def f(x):\n    open('/dev/null').close()\n    return x\n", suite).status == "error"


# ------------------------------------------------------------------ the command


def write_problem(tmp_path, tests, func_name=None):
    path = tmp_path / "problem.json"
    path.write_text(json.dumps({"tests": tests, "metadata": {"func_name": func_name} if func_name else {}}))
    return path


def test_sandbox_command_prints_a_verdict(tmp_path, capsys):
    solution = tmp_path / "solution.py"
    solution.write_text(SWAP_SOLUTION)
    assert sandbox_command(solution, write_problem(tmp_path, SWAP_TESTS)) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["status"] == "pass" and printed["total"] == 3
    assert "namespaces" in printed["protections"]
    solution.write_text("print('NO')")
    assert sandbox_command(solution, write_problem(tmp_path, SWAP_TESTS)) == 1
    assert json.loads(capsys.readouterr().out)["first_failure"] == 0


def test_sandbox_command_functional(tmp_path, capsys):
    solution = tmp_path / "solution.py"
    solution.write_text(SPECIAL_SOLUTION)
    problem = tmp_path / "problem.json"
    # metadata as a JSON string, as on the hub
    problem.write_text(json.dumps({"tests": SPECIAL_TESTS, "metadata": json.dumps({"func_name": "minimumOperations"})}))
    assert sandbox_command(solution, problem) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "pass"


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON"),
    ("[]", "JSON object"),
    ('{"tests": []}', "non-empty"),
    ('{"tests": [{"input": 1, "output": "2"}]}', "string"),
    ('{"tests": [{"input": "1", "output": "x", "testtype": "functional"}], "metadata": {}}', "func_name"),
    ('{"tests": [{"input": "1", "output": "x"}], "metadata": {"func_name": "f"}}', "JSON literal"),
])
def test_sandbox_command_rejects_malformed_problems(tmp_path, content, message):
    solution = tmp_path / "solution.py"
    solution.write_text("print(1)")
    problem = tmp_path / "problem.json"
    problem.write_text(content)
    with pytest.raises(InputFileError) as caught:
        sandbox_command(solution, problem)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_real_rows_from_the_shared_folder():
    shared = shared_dir()
    path = shared and shared / "data/formats/livecodebench_code_generation_lite/decoded_tests_of_the_2_rows.json"
    if not path or not path.exists():
        pytest.skip("REPRO_SHARED_DIR is not set to the shared folder")
    rows = {row["question_id"]: row for row in json.loads(path.read_text())}
    for question_id, source, func_name in (("1873_A", SWAP_SOLUTION, None),
                                           ("3046", SPECIAL_SOLUTION, "minimumOperations")):
        row = rows[question_id]
        tests = row["public_test_cases_decoded"] + row["private_test_cases_decoded"]
        verdict = check_program(source, TestSuite.livecodebench(tests, func_name))
        assert verdict.status == "pass" and verdict.total == len(tests), verdict.detail
