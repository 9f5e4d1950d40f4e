"""Stand-in code benchmark files, in the real formats, for the smoke tier (no network, no data).

`write_standin_files(key, folder, count)` writes `count` small made-up problems, generated
deterministically from the key (problem i is the same whatever the count), as:

- a LiveCodeBench release_v5 JSONL (`test.jsonl`): all 11 string fields, public tests as a
  JSON string, private tests as base64(zlib(pickle(json string))) with pickle protocol 4, as
  the hub rows have them; stdin problems and LeetCode-style functional ones (starter code
  `class Solution`, metadata `{"func_name": ...}`), contest dates inside the key's window.
  LiveCodeBench rows carry no solutions, so each problem's reference program goes to a
  sidecar file, `reference_solutions.json`;
- an evalplus release JSONL: HumanEval+ (`task_id, prompt, contract, canonical_solution,
  entry_point, base_input, plus_input, atol`) or MBPP+ (the MBPP+ key set and order, with
  `assertion`), including a bare `Infinity` token, a `plus_input` of `{}`, a float atol and a
  task (id Mbpp/2) whose inputs evalplus turns into tuples.

The problems are trivial (add two numbers, reverse a string...) and their canonical
solutions correct. They are loaded by the same code as the real files
(`repro.benchmarks.code_files.load_code_standin`).
"""

from __future__ import annotations

import base64
import json
import math
import pickle
import random
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from repro.benchmarks.livecodebench import WINDOWS
from repro.errors import ReproError
from repro.files import write_if_changed

REFERENCE_FILE = "reference_solutions.json"
# The hub's feature order of a code_generation_lite row.
LCB_FIELDS = ("question_title", "question_content", "platform", "question_id", "contest_id", "contest_date",
              "starter_code", "difficulty", "public_test_cases", "private_test_cases", "metadata")
MAX_STANDIN_PROBLEMS = 2000


def standin_folder(key: str, folder: Path, count: int) -> Path:
    return Path(folder) / f"standin-{key}-{count}"


def write_standin_files(key: str, folder: Path, count: int) -> Path:
    """Write the stand-in file of a code benchmark (if missing or different); its path."""
    from repro.benchmarks.code_files import code_source  # that module imports this one

    source = code_source(key)  # a code benchmark, or one clear error
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_STANDIN_PROBLEMS:
        raise ReproError(f"a stand-in needs 1 to {MAX_STANDIN_PROBLEMS} problems, not {count!r}")
    target = standin_folder(key, folder, count)
    rng = random.Random(f"code-standin:{key}")
    rows, references = source.standin_rows(key, count, rng)
    if references is not None:
        _write_if_changed(target / REFERENCE_FILE, json.dumps(references, indent=1, sort_keys=True) + "\n")
    path = target / source.standin_file
    # json.dumps as the releases write (ensure_ascii, ", " and ": "); float("inf") becomes the
    # bare Infinity token evalplus' own files contain.
    _write_if_changed(path, "".join(json.dumps(row) + "\n" for row in rows))
    return path


def _write_if_changed(path: Path, text: str) -> None:
    write_if_changed(path, text.encode("utf-8"))


# ------------------------------------------------------------------ LiveCodeBench


def encode_private_tests(tests: list[dict]) -> str:
    """base64(zlib(pickle(json string))), pickle protocol 4: the hub rows' encoding."""
    return base64.b64encode(zlib.compress(pickle.dumps(json.dumps(tests), protocol=4))).decode("ascii")


@dataclass(frozen=True)
class _LcbTemplate:
    title: str
    statement: str
    func_name: str | None  # None: a stdin problem
    signature: str  # functional: the method line of the starter code
    body: str  # the reference program (stdin) or the method body (functional)
    cases: Callable[[random.Random], list[tuple[str, str]]]  # (input, output) test pairs
    public: int  # how many of the cases are public


def _sum_cases(rng: random.Random) -> list[tuple[str, str]]:
    pairs = [(rng.randint(-1000, 1000), rng.randint(-1000, 1000)) for _ in range(4)]
    return [(f"{a} {b}\n", f"{a + b}\n") for a, b in pairs]


def _reverse_cases(rng: random.Random) -> list[tuple[str, str]]:
    words = ["".join(rng.choice("abcdefghij") for _ in range(rng.randint(1, 12))) for _ in range(4)]
    return [(f"{word}\n", f"{word[::-1]}\n") for word in words]


def _max_cases(rng: random.Random) -> list[tuple[str, str]]:
    cases = []
    for _ in range(4):
        numbers = [rng.randint(-100, 100) for _ in range(rng.randint(1, 8))]
        cases.append((f"{len(numbers)}\n{' '.join(map(str, numbers))}\n", f"{max(numbers)}\n"))
    return cases


def _add_call_cases(rng: random.Random) -> list[tuple[str, str]]:
    pairs = [(rng.randint(-10**6, 10**6), rng.randint(-10**6, 10**6)) for _ in range(5)]
    return [(f"{a}\n{b}", json.dumps(a + b)) for a, b in pairs]


def _reverse_call_cases(rng: random.Random) -> list[tuple[str, str]]:
    words = ["".join(rng.choice("klmnopqrst") for _ in range(rng.randint(1, 10))) for _ in range(5)]
    return [(json.dumps(word), json.dumps(word[::-1])) for word in words]


def _sum_call_cases(rng: random.Random) -> list[tuple[str, str]]:
    lists = [[rng.randint(-50, 50) for _ in range(rng.randint(0, 6))] for _ in range(5)]
    return [(json.dumps(numbers), json.dumps(sum(numbers))) for numbers in lists]


_LCB_TEMPLATES = (
    _LcbTemplate("A. Sum of Two", "You are given two integers A and B. Print A + B.", None, "",
                 "a, b = map(int, input().split())\nprint(a + b)\n", _sum_cases, 1),
    _LcbTemplate("add-two-integers", "Given two integers a and b, return their sum.", "addTwoIntegers",
                 "def addTwoIntegers(self, a: int, b: int) -> int:", "return a + b", _add_call_cases, 2),
    _LcbTemplate("B. Reverse", "You are given a string S of lowercase letters. Print S reversed.", None, "",
                 "s = input().strip()\nprint(s[::-1])\n", _reverse_cases, 1),
    _LcbTemplate("reverse-a-string", "Given a string s, return s reversed.", "reverseString",
                 "def reverseString(self, s: str) -> str:", "return s[::-1]", _reverse_call_cases, 2),
    _LcbTemplate("C. Largest Number", "You are given N integers. Print the largest of them.", None, "",
                 "n = int(input())\nxs = list(map(int, input().split()))\nprint(max(xs))\n", _max_cases, 1),
    _LcbTemplate("sum-of-a-list", "Given an integer array nums, return the sum of its elements.", "sumOfList",
                 "def sumOfList(self, nums: List[int]) -> int:", "return sum(nums)", _sum_call_cases, 2),
)


def lcb_standin_rows(key: str, count: int, rng: random.Random) -> tuple[list[dict], dict[str, str]]:
    """Stand-in LiveCodeBench rows dated in the key's window, and the reference program of each."""
    start, end = WINDOWS[key]
    days = (end - start).days
    rows, references = [], {}
    for index in range(count):
        template = _LCB_TEMPLATES[index % len(_LCB_TEMPLATES)]
        cases = template.cases(rng)
        date = start + timedelta(days=rng.randrange(days))  # inside [start, end)
        functional = template.func_name is not None
        testtype = "functional" if functional else "stdin"
        tests = [{"input": given, "output": wanted, "testtype": testtype} for given, wanted in cases]
        if functional:
            question_id, platform, contest = str(9000 + index), "leetcode", f"weekly-contest-{900 + index}"
            starter = f"class Solution:\n    {template.signature}\n        "
            reference = f"class Solution:\n    {template.signature}\n        {template.body}\n"
            content = f"{template.statement}\n\nExample 1:\n\nInput: {cases[0][0]}\nOutput: {cases[0][1]}\n"
        else:
            question_id, platform, contest = f"abc{900 + index}_a", "atcoder", f"abc{900 + index}"
            starter, reference = "", template.body
            content = (f"{template.statement}\n\nSample Input 1\n\n{cases[0][0]}\nSample Output 1\n\n"
                       f"{cases[0][1]}")
        row = {
            "question_title": template.title,
            "question_content": content,
            "platform": platform,
            "question_id": question_id,
            "contest_id": contest,
            "contest_date": date.strftime("%Y-%m-%dT%H:%M:%S"),
            "starter_code": starter,
            "difficulty": ("easy", "medium", "hard")[index % 3],
            "public_test_cases": json.dumps(tests[:template.public]),
            "private_test_cases": encode_private_tests(tests[template.public:]),
            "metadata": json.dumps({"func_name": template.func_name}) if functional else "{}",
        }
        rows.append({field: row[field] for field in LCB_FIELDS})
        references[question_id] = reference
    return rows, references


# ------------------------------------------------------------------ HumanEval+

_HUMANEVAL_TEMPLATES = (
    # (entry point, prompt, canonical body, contract, base inputs, plus-input maker)
    ("add",
     'def add(x: int, y: int) -> int:\n    """Add two numbers x and y.\n    >>> add(2, 3)\n    5\n'
     '    >>> add(5, 7)\n    12\n    """\n',
     "    return x + y\n",
     '\n    assert isinstance(x, int), "invalid inputs" # $_CONTRACT_$\n'
     '    assert isinstance(y, int), "invalid inputs" # $_CONTRACT_$\n',
     [[2, 3], [5, 7]],
     lambda rng: [[rng.randint(-10**9, 10**9), rng.randint(-10**9, 10**9)] for _ in range(6)]),
    ("reverse_string",
     'def reverse_string(s: str) -> str:\n    """Return s reversed.\n    >>> reverse_string(\'abc\')\n'
     "    'cba'\n    \"\"\"\n",
     "    return s[::-1]\n",
     '\n    assert isinstance(s, str), "invalid inputs" # $_CONTRACT_$\n',
     [["abc"], [""]],
     lambda rng: [["".join(rng.choice("xyz ") for _ in range(rng.randint(0, 20)))] for _ in range(6)]),
    ("mean",
     'from typing import List\n\n\ndef mean(numbers: List[float]) -> float:\n    """Return the mean of a '
     'non-empty list of numbers.\n    >>> mean([1.0, 2.0, 3.0])\n    2.0\n    """\n',
     "    return sum(numbers) / len(numbers)\n",
     '\n    assert len(numbers) > 0, "invalid inputs" # $_CONTRACT_$\n',
     [[[1.0, 2.0, 3.0]], [[4.0]]],
     lambda rng: [[[round(rng.uniform(-100, 100), 3) for _ in range(rng.randint(1, 9))]] for _ in range(6)]),
    ("max_element",
     'def max_element(l: list):\n    """Return the maximum element of the list.\n    >>> max_element([1, 2, 3])'
     '\n    3\n    """\n',
     "    return max(l)\n",
     '\n    assert len(l) > 0, "invalid inputs" # $_CONTRACT_$\n',
     [[[1, 2, 3]], [[5, 3, -5, 2]]],
     lambda rng: [[[rng.randint(-1000, 1000) for _ in range(rng.randint(1, 9))]] for _ in range(6)]),
)


def humaneval_standin_row(index: int, rng: random.Random) -> dict:
    entry, prompt, body, contract, base, plus = _HUMANEVAL_TEMPLATES[index % len(_HUMANEVAL_TEMPLATES)]
    return {"task_id": f"HumanEval/{index}", "prompt": prompt, "contract": contract, "canonical_solution": body,
            "entry_point": entry, "base_input": base, "plus_input": plus(rng), "atol": 0}


# ------------------------------------------------------------------ MBPP+


def _mbpp_prompt(text: str, example: str) -> str:
    return f'"""\n{text}\n{example}\n"""\n'


def mbpp_standin_row(index: int, rng: random.Random) -> dict:
    """Problem 0 is "Mbpp/2" (evalplus turns each of its arguments into a tuple); the others
    take ids from 900 on, which no special deserialization rule names."""
    if index == 0:
        task_id, entry = "Mbpp/2", "join_tuples"
        prompt = _mbpp_prompt("Write a function to join two tuples into one.",
                              "assert join_tuples((1, 2), (3,)) == (1, 2, 3)")
        canonical = "\ndef join_tuples(a, b):\n    return a + b\n"
        contract = ('\n    assert isinstance(a, tuple), "invalid inputs" # $_CONTRACT_$\n'
                    '    assert isinstance(b, tuple), "invalid inputs" # $_CONTRACT_$\n')
        base = [[[1, 2], [3]], [[], [4, 5]]]
        plus = [[[rng.randint(0, 9) for _ in range(rng.randint(0, 4))],
                 [rng.randint(0, 9) for _ in range(rng.randint(0, 4))]] for _ in range(5)]
        atol = 0
        assertion = "\nassert join_tuples((1, 2), (3,)) == (1, 2, 3)\nassert join_tuples((), (4, 5)) == (4, 5)\n"
    else:
        task_id = f"Mbpp/{900 + index}"
        kind = (index - 1) % 4
        if kind == 0:  # plus inputs with bare Infinity / -Infinity tokens
            entry = "minimum"
            prompt = _mbpp_prompt("Write a python function to find the minimum of two numbers.",
                                  "assert minimum(1,2) == 1")
            canonical = "\ndef minimum(a,b):   \n    return min(a,b)\n"
            contract = ('\n    assert isinstance(a, (int, float)), "invalid inputs" # $_CONTRACT_$\n'
                        '    assert isinstance(b, (int, float)), "invalid inputs" # $_CONTRACT_$\n')
            base = [[1, 2], [-5, -4], [0, 0]]
            plus = [[math.inf, rng.randint(-9, 9)], [-math.inf, rng.randint(-9, 9)],
                    [rng.randint(-99, 99), rng.randint(-99, 99)]]
            atol = 0
            assertion = "\nassert minimum(1,2) == 1\nassert minimum(-5,-4) == -5\nassert minimum(0,0) == 0\n"
        elif kind == 1:  # plus_input is an empty object, as Mbpp/793's is
            entry = "last"
            prompt = _mbpp_prompt("Write a python function to find the last position of an element in a sorted "
                                  "array.", "assert last([1,2,3],1) == 0")
            canonical = "\ndef last(arr,x):\n    return len(arr)-arr[::-1].index(x) - 1\n"
            contract = '\n    assert isinstance(arr, list), "invalid inputs" # $_CONTRACT_$\n'
            base = [[[1, 2, 3], 1], [[1, 1, 1, 2, 3, 4], 1], [[2, 2, 3, 3, 6, 8, 9], 3]]
            plus = {}
            atol = 0
            assertion = "\nassert last([1,2,3],1) == 0\nassert last([1,1,1,2,3,4],1) == 2\n"
        elif kind == 2:  # a float atol, as Mbpp/82's
            entry = "circle_area"
            prompt = _mbpp_prompt("Write a function to find the area of a circle.",
                                  "assert math.isclose(circle_area(10), 314.1592653589793, rel_tol=0.001)")
            canonical = "\nimport math\ndef circle_area(r):\n  return math.pi * r * r\n"
            contract = '\n  assert isinstance(r, (int, float)), "invalid inputs" # $_CONTRACT_$\n'
            base = [[10], [2.5]]
            plus = [[round(rng.uniform(0, 50), 4)] for _ in range(5)]
            atol = 0.0001
            assertion = "import math\n\nassert math.isclose(circle_area(10), 314.1592653589793, rel_tol=0.001)\n"
        else:
            entry = "is_even"
            prompt = _mbpp_prompt("Write a python function to check whether a number is even.",
                                  "assert is_even(4) == True")
            canonical = "\ndef is_even(n):\n    return n % 2 == 0\n"
            contract = '\n    assert isinstance(n, int), "invalid inputs" # $_CONTRACT_$\n'
            base = [[4], [7]]
            plus = [[rng.randint(-10**6, 10**6)] for _ in range(5)]
            atol = 0
            assertion = "\nassert is_even(4) == True\nassert is_even(7) == False\n"
    return {"task_id": task_id, "prompt": prompt, "entry_point": entry, "canonical_solution": canonical,
            "base_input": base, "atol": atol, "plus_input": plus, "contract": contract, "assertion": assertion}
