"""The paper-semantics math grader (repro.grading.math_paper).

The golden cases (tests/golden/math_grading_cases.jsonl) carry the verdict of the paper's
official evaluator (LeapLabTHU/limit-of-RLVR at fd2cf37), obtained by running it on each
case (`scripts/math_grader_parity.py --check-golden` reruns it on a scratch copy and lists any
case that differs); docs/math_grader_parity.md has the large-scale comparison. The unit tests below pin
each rule of the evaluator separately, so that a regression names the rule it breaks.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from repro.grading import Verdict
from repro.grading.math_paper import (
    MAX_SYMPY_CHARS,
    answers_equal,
    benchmark_of,
    canonical_benchmark,
    extract_answer,
    grade,
    normalize_answer,
    normalize_ground_truth,
    symbolic_equal,
)
from repro.problems import Problem

GOLDEN = Path(__file__).parent / "golden" / "math_grading_cases.jsonl"
BENCHMARKS = {"gsm8k", "math500", "minerva", "olympiad", "aime24", "amc23", "omni-math-train", "omni-math-test"}


def load_golden() -> list[dict]:
    return [json.loads(line) for line in GOLDEN.read_text(encoding="utf-8").splitlines() if line.strip()]


def problem(answer: str, benchmark: str = "math500") -> Problem:
    return Problem(f"{benchmark}/0000", 0, "", answer, {"benchmark": benchmark})


def verdict(answer: str, output: str, benchmark: str = "math500") -> Verdict:
    return grade(problem(answer, benchmark), output)


# ------------------------------------------------------------------------------ golden cases

GOLDEN_CASES = load_golden()


def test_golden_file_covers_every_benchmark_and_both_verdicts():
    assert len(GOLDEN_CASES) >= 500
    benchmarks = {case["benchmark"] for case in GOLDEN_CASES}
    assert {"gsm8k", "math500", "minerva", "olympiad", "aime24", "amc23"} <= benchmarks
    assert benchmarks & {"omni-math-train", "omni-math-test"}
    assert benchmarks <= BENCHMARKS
    for name in ("gsm8k", "math500", "minerva", "olympiad", "aime24", "amc23"):
        verdicts = {case["correct"] for case in GOLDEN_CASES if case["benchmark"] == name}
        assert verdicts == {True, False}, name
    assert any(len(case["output"]) >= 100_000 for case in GOLDEN_CASES)
    for case in GOLDEN_CASES:
        assert set(case) == {"benchmark", "output", "answer", "correct", "why"}
        assert isinstance(case["correct"], bool) and case["why"]


@pytest.mark.parametrize("case", GOLDEN_CASES, ids=[f"{i}-{c['benchmark']}" for i, c in enumerate(GOLDEN_CASES)])
def test_golden_case(case):
    result = grade(problem(case["answer"], case["benchmark"]), case["output"])
    assert result.correct is case["correct"], f"{case['why']}: read {result.extracted!r} ({result.detail})"


# ------------------------------------------------------------------------------ extraction order


def test_minerva_phrase_beats_boxed():
    output = "First $\\boxed{3}$.\nFinal Answer: The final answer is $5$. I hope it is correct."
    assert extract_answer(output, "math500") == "5"


def test_boxed_beats_the_answer_is_and_the_last_box_wins():
    assert extract_answer("The answer is 3. So $\\boxed{4}$, no: $\\boxed{5}$.", "math500") == "5"


def test_the_answer_is_takes_the_last_occurrence_then_final_answer_is():
    assert extract_answer("The answer is 3. Actually the answer is 5.", "gsm8k") == "5"
    assert extract_answer("My final answer is 7", "gsm8k") == "7"


def test_chinese_marker_then_last_number():
    assert extract_answer("所以答案是 12\n\n完毕 99", "gsm8k") == "12"
    assert extract_answer("We get 3 apples and then 1,234", "gsm8k") == "1234"


def test_no_answer_is_none():
    assert extract_answer("No idea.", "gsm8k") is None
    assert extract_answer("", "math500") is None
    assert extract_answer("\\boxed{}", "math500") is None


def test_boxed_without_braces_and_unclosed():
    assert extract_answer("so $\\boxed 5$.", "math500") == "5"
    # an unclosed \boxed{ (generation cut) takes the rest of the text
    assert extract_answer("so $\\boxed{\\frac{1}{2}", "math500") == "\\frac{1}{2}"
    assert extract_answer("so $\\boxed{\\frac{1}{2", "math500") == "\\frac{1}{2"
    assert extract_answer("so \\boxed{\\frac{\\sqrt{3}}{2}} ok", "math500") == "\\frac{\\sqrt{3}}{2}"


def test_step_tags_are_ignored():
    assert extract_answer("The answer is 5 ки", "gsm8k") == "5"


# ------------------------------------------------------------------------------ normalization


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("\\dfrac{1}{2}", "\\frac{1}{2}"),
        ("\\tfrac12", "\\frac{1}{2}"),
        ("3/4", "\\frac{3}{4}"),
        ("03/4", "03/4"),  # only canonical integers become fractions
        ("\\sqrt2", "\\sqrt{2}"),
        ("30^\\circ", "30"),
        ("25\\%", "25"),
        ("\\$18.00", "18"),
        ("5 \\text{ cm}", "5"),
        ("12 inches", "12"),
        ("\\text{Yes}", "Yes"),
        ("five", "5"),
        ("x = 5", "5"),
        ("k=5", "5"),
        (".5", "0.5"),
        ("2.000", "2"),
        ("\\left( 1, 2 \\right)", "(1,2)"),
        ("3+4j", "3+4i"),
        ("1 and 2", "12"),  # "and" is deleted anywhere, as the official does
        ("\\begin{bmatrix}1\\\\2\\end{bmatrix}", "\\begin{pmatrix}1\\\\2\\end{pmatrix}"),
        ("infinity", "\\infty"),
        ("\\emptyset", "{}"),
    ],
)
def test_normalize_answer(raw, expected):
    assert normalize_answer(raw) == expected


def test_units_are_kept_for_minerva_only():
    assert normalize_answer("5 m") == "5"
    assert normalize_answer("5 m", keep_units=True) == "5m"
    assert extract_answer("\\boxed{5 m}", "minerva") == "5m"
    assert extract_answer("\\boxed{5 m}", "math500") == "5"
    # a trailing \text{} label goes in both cases
    assert extract_answer("\\boxed{5 \\text{ m}}", "minerva") == "5"


def test_ground_truth_passes_per_benchmark():
    # MATH500 normalizes three times, Minerva once with units kept, the others twice.
    assert normalize_ground_truth("\\text{east}", "math500") == ""
    assert normalize_ground_truth("5 \\mathrm{~m}", "minerva") == "5\\mathrm{~m}"
    assert normalize_ground_truth("27.0", "amc23") == "27"
    assert normalize_ground_truth("1,600", "gsm8k") == "1,600"
    # Omni-MATH: wrapped in \boxed{} and extracted, or extracted when already boxed.
    assert normalize_ground_truth("\\boxed{672}", "omni-math-test") == "672"
    assert normalize_ground_truth("\\[\\binom{2014}{2}\\]", "omni-math-train") == "\\[\\binom{2014}{2}\\]"


def test_minerva_answer_destroyed_by_the_second_pass():
    # The official normalizes predictions twice: for this Minerva answer the second pass cuts
    # at "\text{" (the answer now ends with "}"), so the exact answer is graded wrong.
    gt = "\\lambda_{\\text {red}} / \\sqrt{2}"
    assert verdict(gt, f"$\\boxed{{{gt}}}$", "minerva").correct is False


# ------------------------------------------------------------------------------ equality


def test_string_equality_is_case_insensitive():
    assert answers_equal("Yes", "yes")


@pytest.mark.parametrize(
    "prediction, reference, equal",
    [
        ("3.1416", "3.14159", True),  # 1e-4 relative
        ("3.14", "3.14159", False),
        ("100001", "100000", True),
        ("1001", "1000", False),
        ("1,600", "1600", True),
        ("25", "0.25", True),  # x100: percentages
        ("0.25", "25", True),  # /100
        ("300", "3", True),  # the same rule makes x100 of any number equal
        ("30", "3", False),
        ("1e3", "1000", True),
        ("50\\%", "0.5", True),
        ("0.00001", "0", False),
    ],
)
def test_numeric_equality(prediction, reference, equal):
    assert answers_equal(prediction, reference) is equal


def test_two_numbers_get_no_symbolic_second_chance():
    assert not answers_equal("2", "3")


@pytest.mark.parametrize(
    "prediction, reference, equal",
    [
        ("(1,2)", "(1,2)", True),
        ("(2,1)", "(1,2)", False),
        ("[1,2]", "(1,2)", True),  # bracket kinds are ignored element-wise
        ("(0.5,3)", "(\\frac{1}{2},3)", True),
        ("(1,2,3)", "(1,2)", False),
        ("\\begin{pmatrix}0.2\\\\-3.6\\end{pmatrix}", "\\begin{pmatrix}1/5\\\\-18/5\\end{pmatrix}", True),
        ("\\begin{pmatrix}1&0\\\\0&1\\end{pmatrix}", "\\begin{pmatrix}1&0\\\\0&-1\\end{pmatrix}", False),
        ("\\begin{pmatrix}1&0\\end{pmatrix}", "\\begin{pmatrix}1&0\\\\0&1\\end{pmatrix}", False),
    ],
)
def test_tuple_and_matrix_equality(prediction, reference, equal):
    assert answers_equal(prediction, reference) is equal


@pytest.mark.parametrize(
    "prediction, reference, equal",
    [
        ("\\frac{1}{2}", "0.5", True),
        ("\\sqrt{12}", "2\\sqrt{3}", True),
        ("x^2+2x+1", "(x+1)^2", True),
        ("2^{10}", "1024", True),
        ("\\frac{\\sqrt{2}}{2}", "\\frac{1}{\\sqrt{2}}", True),
        ("3\\sqrt{3}", "3\\sqrt{2}", False),
        ("x+1", "x+2", False),
        ("1.5708", "\\frac{\\pi}{2}", False),  # parse_latex reads \pi as a symbol, as the official
        # what only the last-resort parser reads: braced lists are ordered, one item is a group
        ("{1+\\sqrt{5},-2}", "{1+\\sqrt{5},-2}", True),
        ("{-2,1+\\sqrt{5}}", "{1+\\sqrt{5},-2}", False),
        ("{045}", "45", True),
        ("f(n)\\=n", "f(n)=n", False),  # "\ " spacing: no parser of the official reads it
    ],
)
def test_symbolic_equality(prediction, reference, equal):
    assert answers_equal(prediction, reference) is equal


def test_equations():
    assert answers_equal("y-2x=1", "y=2x+1")  # moved to one side
    assert answers_equal("1-y+2x=0", "y=2x+1")  # the negated form too
    assert answers_equal("k=5", "5")  # short left side dropped
    assert not answers_equal("y=2x", "y=2x+1")


def test_multiple_choice_key_keeps_only_choice_letters():
    # MATH500 item 97 ("east" normalizes to ""): the prediction keeps only A-E letters.
    assert verdict("\\text{east}", "\\boxed{north}").correct
    assert not verdict("\\text{east}", "\\boxed{East}").correct
    # A one-letter key reads the letter from the whole output.
    assert verdict("C", "I think the answer is (C) because ...", "math500").correct


# ------------------------------------------------------------------------------ guards and API


def test_costly_inputs_return_quickly_and_wrong():
    for answer in ("2^{2^{2^{2^{5}}}}", "(10^{7})!", "9**9**9", "x" * (MAX_SYMPY_CHARS + 1)):
        started = time.perf_counter()
        assert not symbolic_equal(answer, "5")
        assert time.perf_counter() - started < 1.0, answer


def test_huge_output_is_graded_in_reasonable_time():
    output = "We consider $x^2 - 5x + 6 = 0$, with roots 2 and 3. " * 2000 + "\\boxed{5}"
    started = time.perf_counter()
    assert verdict("5", output).correct
    assert time.perf_counter() - started < 2.0


def test_grade_reports_what_it_read_and_how():
    result = verdict("\\frac{1}{2}", "so $\\boxed{0.5}$")
    assert result == Verdict(True, "0.5", result.detail)
    assert "route=boxed" in result.detail and "symbolic" in result.detail
    wrong = verdict("5", "no answer here")
    assert wrong.correct is False and wrong.extracted is None


def test_benchmark_comes_from_meta_or_problem_id():
    assert benchmark_of(Problem("minerva/0001", 1, "", "5")) == "minerva"
    assert benchmark_of(Problem("x/1", 1, "", "5", {"data_name": "olympiadbench"})) == "olympiad"
    assert benchmark_of(Problem("omni-math-rule/0001", 1, "", "5")) == "omni-math"
    assert benchmark_of(Problem("x/1", 1, "", "5", {"benchmark": "aime24"})) == "aime24"
    # an explicit benchmark wins over the problem's own
    assert grade(Problem("math500/0", 0, "", "5"), "\\boxed{5 m}", benchmark="minerva").extracted == "5m"


def test_every_project_benchmark_key_is_known_and_others_are_refused():
    for key in BENCHMARKS:
        canonical_benchmark(key)
    with pytest.raises(ValueError):
        canonical_benchmark("humaneval-plus")


# ------------------------------------------------------------------------------ real data (optional)


def test_every_real_ground_truth_grades_itself_correct(data_dir, monkeypatch):
    """Each ground truth of the six benchmarks, boxed, is graded correct, except the one the
    official evaluator itself fails (Minerva row 139, see above)."""
    monkeypatch.setenv("REPRO_DATA_DIR", str(data_dir))
    from repro.benchmarks import get_benchmark

    folders = {"gsm8k": "gsm8k", "math500": "math500", "minerva": "minerva_math", "olympiad": "olympiadbench",
               "aime24": "aime24", "amc23": "amc23"}
    failures = []
    for key, folder in folders.items():
        lines = (data_dir / "math" / folder / "test.jsonl").read_text(encoding="utf-8").splitlines()
        for row_index, line in enumerate(lines):
            answer = get_benchmark(key).data.answer(json.loads(line))
            if not verdict(answer, f"So the answer is $\\boxed{{{answer}}}$.", key).correct:
                failures.append((key, row_index))
    assert failures == [("minerva", 139)]


def test_a_symbolic_comparison_does_not_depend_on_sympy_random_state():
    # sympy's `equals` tests expressions at random points from its own generator, seeded from
    # the OS at import; one draw in about 50 sent this pair into an evaluation that did not
    # end. symbolic_equal seeds the generator itself, so the points it draws -- and hence the
    # generator's state after it, from a cleared cache -- are the same whatever came before.
    import sympy.core.random
    from sympy.core.cache import clear_cache

    from repro.grading.math_paper import judge_key

    key = ('y"+ry-rx(t)=0', "y^{\\prime}+ry-rx(t)=0")
    results, states = set(), set()
    for before in (1, 2, 30):
        sympy.core.random.seed(before)
        clear_cache()
        results.add(judge_key(key))
        states.add(repr(sympy.core.random.rng.getstate()))
    assert len(results) == 1 and len(states) == 1
