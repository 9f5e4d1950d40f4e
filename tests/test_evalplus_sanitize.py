"""evalplus' sanitizer (repro.grading.evalplus_sanitize): its rules one by one, the fast
longest-stretch search against the cubic search evalplus does, and 200 golden cases whose
expected outputs were produced by evalplus 0.3.1 itself (tree-sitter 0.24.0,
tree-sitter-python 0.23.6) with `scripts/evalplus_sanitize_parity.py --write-golden`."""

from __future__ import annotations

import ast
import json
import random
from pathlib import Path

import pytest

from repro.grading.evalplus_sanitize import _beyond_repair, longest_parsable_stretch, parses, sanitize

GOLDEN = Path(__file__).parent / "golden" / "evalplus_sanitize_cases.jsonl"


GOLDEN_CASES = [json.loads(line) for line in GOLDEN.read_text().splitlines()]


def test_golden_cases_cover_what_the_sanitizer_changes():
    cases = GOLDEN_CASES
    assert len(cases) == 200
    changed = [c for c in cases if c["evalplus"] != longest_parsable_stretch(c["code"])]
    assert len(changed) >= 100  # most golden cases are ones where definitions were dropped
    assert any(c["entry_point"] is None for c in cases)


@pytest.mark.parametrize("case", GOLDEN_CASES, ids=[f"golden{i:03d}" for i in range(len(GOLDEN_CASES))])
def test_same_output_as_evalplus(case):
    assert sanitize(case["code"], case["entry_point"]) == case["evalplus"]


# ------------------------------------------------------------------ the rules, one by one

def test_prose_fences_and_test_code_around_the_function_are_dropped():
    completion = ("Here is the function:\n```python\nimport math\n\ndef area(r):\n    return math.pi * r * r\n\n"
                  "print(area(2))\nassert area(0) == 0\nif __name__ == \"__main__\":\n    area(input())\n```\n"
                  "It uses the formula.")
    assert sanitize(completion, "area") == "import math\ndef area(r):\n    return math.pi * r * r"


def test_only_definitions_the_entry_point_reaches_are_kept():
    code = ("LIMIT = 3\nUNUSED = 4\n\ndef helper(x):\n    return x + LIMIT\n\ndef other():\n    return 0\n\n"
            "class Box:\n    pass\n\ndef solve(x):\n    return helper(x)\n")
    assert sanitize(code, "solve") == ("LIMIT = 3\ndef helper(x):\n    return x + LIMIT\n"
                                       "def solve(x):\n    return helper(x)")
    # Without an entry point every definition stays; the order is imports first, then definitions.
    assert sanitize("x = 1\nimport os\ndef f():\n    return x\n") == "import os\nx = 1\ndef f():\n    return x"


def test_evalplus_quirks_are_kept():
    # A function without `return` (here a generator) is no definition: it is dropped.
    assert sanitize("def squares(n):\n    for i in range(n):\n        yield i * i\n\nprint(1)\n", "squares") == (
        "def squares(n):\n    for i in range(n):\n        yield i * i\n\nprint(1)")  # nothing kept: the stretch
    # Decorated definitions are dropped; top-level imports always stay.
    assert sanitize("from functools import cache\n\n@cache\ndef fib(n):\n    return n\n", "fib") == (
        "from functools import cache")
    # `from __future__` imports and imports inside `try` are dropped.
    assert sanitize("from __future__ import annotations\ntry:\n    import numpy\nexcept ImportError:\n    pass\n"
                    "def f() -> int:\n    return 1\n", "f") == "def f() -> int:\n    return 1"
    # The first definition of a name wins; augmented assignments are no definitions.
    assert sanitize("def f():\n    return 1\ndef f():\n    return 2\n", "f") == "def f():\n    return 1"
    assert sanitize("total = 0\ntotal += 5\ndef f():\n    return total\n", "f") == "total = 0\ndef f():\n    return total"
    # `lo, hi = pair` is named after its value, "pair", which `pair = ...` already defined: dropped.
    assert sanitize("pair = (1, 2)\nlo, hi = pair\ndef f():\n    return lo + hi + pair[0]\n", "f") == (
        "pair = (1, 2)\ndef f():\n    return lo + hi + pair[0]")


def test_attribute_and_keyword_names_count_as_mentions():
    code = "def key(p):\n    return p\n\ndef scale():\n    return 2\n\ndef f(xs, c):\n    return sorted(xs, key=len) * c.scale\n"
    assert sanitize(code, "f") == code.replace("\n\n", "\n").rstrip("\n")


def test_nothing_kept_gives_the_stretch_and_nothing_parsable_gives_the_first_line():
    assert sanitize("print(1)\nprint(2)\n", "f") == "print(1)\nprint(2)"
    assert sanitize("I cannot solve this.", "f") == "I cannot solve this."
    assert sanitize("First line.\nSecond line.", "f") == "First line."
    assert sanitize("", "f") == ""


# ------------------------------------------------------------------ the longest stretch

def _cubic_reference(text: str) -> str:
    """The rule as evalplus states it in code: every pair (i, j > i), keep the first with the
    strictly largest number of non-blank lines among those that parse."""
    lines = text.split("\n")
    best, best_count = (0, 0), 0
    for i in range(len(lines)):
        for j in range(i + 1, len(lines)):
            chunk = "\n".join(lines[i:j + 1])
            try:
                ast.parse(chunk)
            except (SyntaxError, ValueError):  # ValueError: a null byte (evalplus would raise)
                continue
            count = sum(1 for line in lines[i:j + 1] if line.strip())
            if count > best_count:
                best, best_count = (i, j), count
    return "\n".join(lines[best[0]:best[1] + 1])


# Lines that open or close what spans lines (brackets, strings, backslashes, blocks), prose,
# fences and indentation: the cases where the search's shortcuts could go wrong.
LINE_ALPHABET = ["", "  ", "x = 1", "def f():", "    return 1", "    pass", "```", "Here:", "print(x)",
                 "if x:", "    y = (", "    2)", "'''", "class A:", ")", "import os", "else:", "@dec",
                 "s = 'abc\\", "t = f'{x", "}'", "z = 1 + \\", "# note", "\tq = 2", "]", "w = [1,",
                 "Step 1: add.", "lambda: (yield", "try:", "except E:", "'''doc'''", "x = 1 +", "b = 'x\0'"]


def test_the_fast_search_finds_what_the_cubic_search_finds():
    rng = random.Random(7)
    for _ in range(1500):
        text = "\n".join(rng.choice(LINE_ALPHABET) for _ in range(rng.randint(1, 12)))
        assert longest_parsable_stretch(text) == _cubic_reference(text), text


def test_a_stretch_beyond_repair_stays_unparsable_however_it_goes_on():
    # The search's one shortcut: once lines[i..j] is beyond repair, it skips every longer end.
    rng = random.Random(11)
    checked = 0
    for _ in range(600):
        lines = [rng.choice(LINE_ALPHABET) for _ in range(rng.randint(2, 10))]
        for j in range(1, len(lines)):
            if _beyond_repair("\n".join(lines[:j])):
                checked += 1
                assert not any(parses("\n".join(lines[:end])) for end in range(j, len(lines) + 1)), lines
    assert checked > 500


def test_rambling_completions_take_a_moment_not_hours():
    # evalplus' own search parses every pair of lines; on this it would run for hours.
    prose = "\n".join(f"Step {i}: we consider the case where n is {i}." for i in range(3000))
    code = "".join(f"def f{i}(x):\n    return x + {i}\n" for i in range(1500))
    assert sanitize(prose, "f") == "Step 0: we consider the case where n is 0."
    assert sanitize("Sure.\n" + code + "def g(x):\n    return (x +", "f1499") == "def f1499(x):\n    return x + 1499"


def test_ties_go_to_the_first_stretch_and_trailing_blank_lines_are_not_taken():
    assert longest_parsable_stretch("a = 1\nb = 2\n```\nc = 3\nd = 4\n") == "a = 1\nb = 2"
    assert longest_parsable_stretch("\nx = 1\ny = 2\n\n\n") == "\nx = 1\ny = 2"
