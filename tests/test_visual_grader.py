"""The visual grader (repro.grading.visual, "visual-v1").

The golden cases (tests/golden/visual_grading_cases.jsonl) carry two verdicts each:
`easyr1`, the plain EasyR1 reward at 3b9ae08 (mathruler 0.1.0 on the last \\boxed{}), and
`correct`, this grader's, which adds the MathVista rules for stated units, float precision
and lists. Where the two differ, the case's `why` names the rule. The unit tests below pin
each helper separately, so that a regression names the rule it breaks.
"""

from __future__ import annotations

import json
from fractions import Fraction
from importlib.metadata import version
from pathlib import Path

import pytest

from repro.errors import EnvironmentNotSupportedError
from repro.grading import Verdict, visual
from repro.grading.pool import GRADERS, GradingPool, resolve_grader
from repro.grading.visual import (
    NO_ANSWER,
    easyr1_accuracy,
    extract,
    grade,
    list_items,
    plain_number,
    rounded,
    strip_unit,
)
from repro.problems import Problem

GOLDEN = Path(__file__).parent / "golden" / "visual_grading_cases.jsonl"
CASES = [json.loads(line) for line in GOLDEN.read_text(encoding="utf-8").splitlines() if line.strip()]


def problem(answer: str, answer_type: str | None = None, precision: int | None = None,
            unit: str | None = None, benchmark: str = "mathvista") -> Problem:
    return Problem(f"{benchmark}/1", 0, "", answer,
                   {"answer_type": answer_type, "precision": precision, "unit": unit})


def case_problem(case: dict) -> Problem:
    return problem(case["answer"], case["answer_type"], case["precision"], case["unit"], case["benchmark"])


# ------------------------------------------------------------------------------ golden cases


def test_golden_file_covers_every_answer_type_and_both_verdicts():
    assert len(CASES) >= 40
    for case in CASES:
        assert set(case) == {"benchmark", "output", "answer", "answer_type", "precision", "unit", "correct",
                             "easyr1", "why"}
        assert case["benchmark"] in ("mathvista", "mathvision")
        assert isinstance(case["correct"], bool) and isinstance(case["easyr1"], bool) and case["why"]
    for answer_type in ("integer", "float", "list", None):
        verdicts = {case["correct"] for case in CASES if case["answer_type"] == answer_type}
        assert verdicts == {True, False}, answer_type
    assert {case["benchmark"] for case in CASES if case["answer_type"] is None} == {"mathvision"}
    assert any(case["unit"] for case in CASES)
    assert any("\\boxed" not in case["output"] for case in CASES)
    assert any(case["precision"] == 1 for case in CASES) and any(case["precision"] == 2 for case in CASES)
    # Where this grader and the plain EasyR1 reward differ, only towards "correct".
    differing = [case for case in CASES if case["correct"] != case["easyr1"]]
    assert differing and all(case["correct"] and not case["easyr1"] for case in differing)


@pytest.mark.parametrize("case", CASES, ids=[f"{i}-{c['why'][:40]}" for i, c in enumerate(CASES)])
def test_golden_case(case):
    verdict = grade(case_problem(case), case["output"])
    assert isinstance(verdict, Verdict)
    assert verdict.correct is case["correct"], (verdict, case["why"])
    assert easyr1_accuracy(case["output"], case["answer"]) is case["easyr1"], case["why"]


def test_the_detail_names_the_rule_that_decided():
    def detail(output: str, *args) -> str:
        return grade(problem(*args), output).detail

    assert detail("\\boxed{7}", "7", "integer") == "mathruler"
    assert detail("\\boxed{1000 g}", "1000", "integer", None, "g") == "mathruler after removing the unit 'g'"
    assert "rounding to 2 decimal" in detail("\\boxed{0.134}", "0.13", "float", 2)
    assert detail("\\boxed{2014, 2016}", "[2014, 2016]", "list") == "list equal element by element"
    assert detail("no box", "7", "integer") == NO_ANSWER
    assert detail("\\boxed{8}", "7", "integer") == "not equivalent to the ground truth"


def test_extraction_is_easyr1s():
    assert extract("a \\boxed{\\frac{1}{2}} b \\boxed{ 7 }") == "7"  # last one, stripped
    assert extract("\\boxed{\\frac{\\sqrt{3}}{2}}") == "\\frac{\\sqrt{3}}{2}"  # nested braces
    assert extract("no answer") is None
    assert extract("\\boxed{7") is None
    assert grade(problem("7"), "\\boxed{7").extracted is None


def test_rules_apply_only_to_their_answer_type():
    # Rounding needs a float type AND a precision; lists need the list type.
    assert grade(problem("0.13", "float", 2), "\\boxed{0.134}").correct
    assert not grade(problem("0.13", "float", None), "\\boxed{0.134}").correct
    assert not grade(problem("0.13", "integer", 2), "\\boxed{0.134}").correct
    assert not grade(problem("0.13"), "\\boxed{0.134}").correct  # MathVision: no stated type
    assert grade(problem("[1, 2]", "list"), "\\boxed{1, 2}").correct
    assert not grade(problem("[1, 2]", "integer"), "\\boxed{1, 2}").correct
    # A stated unit is removed only when it is the stated one.
    assert grade(problem("5", "integer", None, "g"), "\\boxed{5\\text{ g}}").correct
    assert not grade(problem("5", "integer", None, "kg"), "\\boxed{5 g}").correct
    # The HF rows print precision as a float (2.0).
    assert grade(problem("0.13", "float", 2.0), "\\boxed{0.1349}").correct


# ------------------------------------------------------------------------------ helpers


@pytest.mark.parametrize("given, unit, expected", [
    ("1000 g", "g", "1000"), ("1000g", "g", "1000"), ("1000~\\text{g}", "g", "1000"),
    ("1000 \\mathrm{g}.", "g", "1000"), ("1000\\,\\text{ g}", "g", "1000"), ("12 years", "years", "12"),
    ("1000 kg", "g", "1000 kg"), ("mg", "g", "mg"), ("g", "g", "g"), ("1000", "g", "1000"),
])
def test_strip_unit(given, unit, expected):
    assert strip_unit(given, unit) == expected


@pytest.mark.parametrize("text, value", [
    ("1,234.5", Fraction(2469, 2)), ("-0.13", Fraction(-13, 100)), ("$0.13$", Fraction(13, 100)),
    ("\\$0.13", Fraction(13, 100)), ("3/4", Fraction(3, 4)), ("\\frac{3}{4}", Fraction(3, 4)),
    ("-\\dfrac{1}{3}", Fraction(-1, 3)), ("0.13.", Fraction(13, 100)), (".5", Fraction(1, 2)), ("12.", 12),
    ("1.2.3", None), ("abc", None), ("\\sqrt{2}", None), ("1/0", None), ("1,23", None), ("", None),
])
def test_plain_number(text, value):
    assert plain_number(text) == value


def test_rounding_is_half_away_from_zero_on_the_written_value():
    assert rounded(Fraction("2.675"), 2) == Fraction("2.68")  # Python's round(2.675, 2) == 2.67
    assert rounded(Fraction("1.25"), 1) == Fraction("1.3")  # Python's round(1.25, 1) == 1.2
    assert rounded(Fraction("-4.35"), 1) == Fraction("-4.4")
    assert rounded(Fraction(1, 3), 2) == Fraction("0.33")
    assert rounded(Fraction("0.004"), 2) == 0


def test_list_items():
    assert list_items("[2014, 2016]") == ["2014", "2016"]
    assert list_items("(2014,2016)") == ["2014", "2016"]
    assert list_items("2014, 2016") == ["2014", "2016"]
    assert list_items("\\left[1, 2\\right]") == ["1", "2"]
    assert list_items("[]") is None and list_items("[1,]") is None


# ------------------------------------------------------------------------------ wiring


def test_it_is_the_pinned_mathruler():
    assert version("mathruler") == "0.1.0"


def test_registered_as_visual_v1():
    assert GRADERS["visual-v1"] == "repro.grading.visual:grade"
    assert resolve_grader("visual-v1") is grade


def test_without_mathruler_the_grader_refuses_to_grade(monkeypatch):
    monkeypatch.setattr(visual, "_IMPORT_ERROR", ImportError("No module named 'mathruler'"))
    with pytest.raises(EnvironmentNotSupportedError, match="mathruler"):
        grade(problem("7"), "\\boxed{7}")


def test_grades_in_the_pool():
    pairs = [(problem("7", "integer"), "\\boxed{7}"), (problem("0.13", "float", 2), "\\boxed{0.134}"),
             (problem("7", "integer"), "\\boxed{8}"), (problem("C", benchmark="mathvision"), "no box")]
    with GradingPool.for_grader("visual-v1", workers=1) as pool:
        verdicts = pool.grade(pairs)
    assert [v.correct for v in verdicts] == [True, True, False, False]
    assert verdicts[3].extracted is None
