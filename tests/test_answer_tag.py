"""The `<answer>` rule (repro.grading.answer_tag), its use in the math grader for the r1-zero
and deepseek-r1 templates, and the training reward built on it (repro.grading.math_reward).

The golden cases (tests/golden/answer_tag_cases.jsonl) are hand-written: each carries the tag
content the rule must read (null: no tag) and the verdict, reasoned from the rule and the
evaluator's normalization, with the reason in "why". Cases of other templates pin that the
rule does not apply to them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from repro.benchmarks.base import MATH_GRADER
from repro.grading.answer_tag import ANSWER_TAG_TEMPLATES, CLOSE_TAG, OPEN_TAG, answer_tag_content
from repro.grading.math_paper import extract_answer, grade
from repro.grading.math_reward import REWARD_BENCHMARK, REWARD_TEMPLATE, answer_reward
from repro.grading.pool import GRADERS, resolve_grader
from repro.problems import Problem
from repro.prompts import TEMPLATES

GOLDEN = Path(__file__).parent / "golden" / "answer_tag_cases.jsonl"
OFFICIAL_GOLDEN = Path(__file__).parent / "golden" / "math_grading_cases.jsonl"
OTHER_TEMPLATES = sorted(set(TEMPLATES) - ANSWER_TAG_TEMPLATES) + [""]  # "": no template recorded


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


CASES = load(GOLDEN)


def problem(answer: str, benchmark: str, template: str) -> Problem:
    meta = {"benchmark": benchmark}
    if template:
        meta["template"] = template
    return Problem(f"{benchmark}/0000", 0, "", answer, meta)


# ------------------------------------------------------------------------------ golden cases


def test_golden_file_covers_the_kinds_of_output_it_must():
    assert len(CASES) >= 100
    for case in CASES:
        assert set(case) == {"benchmark", "template", "output", "answer", "tag", "correct", "why"}
        assert isinstance(case["correct"], bool) and case["why"]
    tagged = [c for c in CASES if c["template"] in ANSWER_TAG_TEMPLATES]
    assert {c["template"] for c in tagged} == ANSWER_TAG_TEMPLATES
    assert {c["correct"] for c in tagged} == {True, False}
    outputs = [c["output"] for c in tagged]
    assert any(OPEN_TAG in o and CLOSE_TAG not in o for o in outputs)  # stopped at </answer>, or truncated
    assert any(o.count(OPEN_TAG) >= 3 for o in outputs)  # several tags
    assert any(OPEN_TAG in o and "\\boxed" in o.rsplit(OPEN_TAG, 1)[1] for o in outputs)  # boxed in the tag
    assert any(OPEN_TAG not in o for o in outputs)  # no tag
    assert any(c["tag"] == "" for c in tagged)  # empty tag
    assert any(OPEN_TAG in o.split("</think>")[0] and "</think>" in o for o in outputs)  # tag inside <think>
    assert any(CLOSE_TAG in o and o.rsplit(CLOSE_TAG, 1)[1].strip() for o in outputs)  # text after the tag
    assert any("\\frac" in (c["tag"] or "") for c in tagged)
    assert any((c["tag"] or "").startswith("-") for c in tagged)
    # Cases of the other templates show the rule not applying to outputs that hold a tag.
    others = [c for c in CASES if c["template"] not in ANSWER_TAG_TEMPLATES]
    assert others and all(OPEN_TAG in c["output"] for c in others)


@pytest.mark.parametrize("case", CASES, ids=[f"{i}-{c['template'] or 'none'}" for i, c in enumerate(CASES)])
def test_golden_tag_content(case):
    assert answer_tag_content(case["output"]) == case["tag"], case["why"]


@pytest.mark.parametrize("case", CASES, ids=[f"{i}-{c['template'] or 'none'}" for i, c in enumerate(CASES)])
def test_golden_verdict(case):
    verdict = grade(problem(case["answer"], case["benchmark"], case["template"]), case["output"])
    assert verdict.correct is case["correct"], f"{case['why']}: read {verdict.extracted!r} ({verdict.detail})"
    tag_route = case["template"] in ANSWER_TAG_TEMPLATES and case["tag"] is not None
    assert verdict.detail.startswith("route=answer-tag;") is tag_route


# ------------------------------------------------------------------------------ the rule itself


def test_the_templates_with_the_rule_are_exactly_those_that_ask_for_an_answer_tag():
    asking = {name for name, template in TEMPLATES.items() if OPEN_TAG in template.text and CLOSE_TAG in template.text}
    assert asking == ANSWER_TAG_TEMPLATES


def test_without_an_opening_tag_there_is_no_tag_answer():
    assert answer_tag_content("") is None
    assert answer_tag_content("The answer is \\boxed{5}.") is None
    assert answer_tag_content("5 </answer>") is None


def test_a_partial_closing_tag_needs_at_least_its_first_two_characters():
    assert answer_tag_content("<answer> x <") == "x <"
    assert answer_tag_content("<answer> 3 </answe") == "3"
    assert answer_tag_content("<answer> 3 </answer") == "3"


def test_the_rule_reads_the_tag_before_any_evaluator_route():
    # The Minerva phrase is the evaluator's first route; the tag comes before it.
    output = "The final answer is $5$. I hope it is correct. <answer> 6"
    assert extract_answer(output, "math500") == "5"
    assert extract_answer(output, "math500", "r1-zero") == "6"
    assert extract_answer(output, "math500", "deepseek-r1") == "6"


def test_minerva_keeps_units_inside_the_tag_too():
    # Minerva's normalizer keeps unit words ("m" stays); others delete a standalone "m".
    assert extract_answer("<answer> 5 m", "minerva", "r1-zero") == "5m"
    assert extract_answer("<answer> 5 m", "math500", "r1-zero") == "5"


# ------------------------------------------------------------------------------ other templates unchanged


@pytest.mark.parametrize("template", OTHER_TEMPLATES)
def test_other_templates_read_tagged_outputs_as_the_evaluator_does(template):
    for case in CASES:
        assert extract_answer(case["output"], case["benchmark"], template) == \
            extract_answer(case["output"], case["benchmark"]), case["why"]


@pytest.mark.parametrize("template", [*OTHER_TEMPLATES, *sorted(ANSWER_TAG_TEMPLATES)])
def test_the_evaluator_golden_outputs_are_read_alike_under_every_template(template):
    # None of these outputs has a tag, so even the tag templates fall back to the evaluator.
    for case in load(OFFICIAL_GOLDEN):
        assert OPEN_TAG not in case["output"]
        assert extract_answer(case["output"], case["benchmark"], template) == \
            extract_answer(case["output"], case["benchmark"]), case["why"]


def test_the_evaluator_golden_verdicts_hold_for_the_qwen_boxed_template():
    # The parity claims (docs/math_grader_parity.md) are about qwen-boxed style completions:
    # graded end to end with that template recorded, every official verdict still holds.
    for case in load(OFFICIAL_GOLDEN):
        verdict = grade(problem(case["answer"], case["benchmark"], "qwen-boxed"), case["output"])
        assert verdict.correct is case["correct"], case["why"]


# ------------------------------------------------------------------------------ the training reward


def test_the_reward_gives_the_grader_verdict_for_every_tag_template_case():
    for case in CASES:
        if case["template"] in ANSWER_TAG_TEMPLATES:
            reward = answer_reward(case["output"], case["answer"], benchmark=case["benchmark"])
            assert reward == (1.0 if case["correct"] else 0.0), case["why"]


def test_the_reward_is_a_float_of_the_r1_zero_reading_on_omni_math():
    assert REWARD_TEMPLATE in ANSWER_TAG_TEMPLATES and REWARD_BENCHMARK == "omni-math-train"
    reward = answer_reward("<think> 3 of 4 </think> <answer> \\frac{3}{4}", "\\frac{3}{4}")
    assert type(reward) is float and reward == 1.0
    assert answer_reward("<think> 3 of 4 </think> <answer> \\frac{3}{4}", "4") == 0.0
    # Omni-MATH's rule: a reference in a box is read like an output.
    assert answer_reward("<answer> 12", "\\boxed{12}") == 1.0


# ------------------------------------------------------------------------------ the version


def test_the_math_grader_version_names_the_grade_function():
    assert MATH_GRADER == "math-paper-v3"
    assert resolve_grader(MATH_GRADER) is grade
    assert "math-paper-v1" not in GRADERS


def test_the_pipeline_hands_the_template_to_the_grader():
    from repro.pipeline import _for_grading

    raw = Problem("math500/0001", 1, "question text", "\\frac{3}{4}", {})
    output = "<think> three of four </think> <answer> \\frac{3}{4}"
    assert grade(_for_grading(raw, "math500", "r1-zero"), output).correct
    assert not grade(_for_grading(raw, "math500", "qwen-boxed"), output).correct
