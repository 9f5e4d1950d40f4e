"""Reward = grader (issue 12, item 4): the training reward pays exactly what the evaluation's
grader counts as correct, under the evaluation's time limit, through each engine's interface.

The engine-driven test (VeRL's own reward manager) is tests/test_training_engine.py."""

from __future__ import annotations

import inspect
import threading

import pytest

from repro import training_reward
from repro.grading import math_paper
from repro.grading.math_reward import answer_reward
from repro.grading.pool import PAIR_TIMEOUT_S
from repro.prompts import get_template
from repro.training_reward import (FORMAT_WEIGHT, compute_score, easyr1_compute_score, easyr1_format,
                                   math_reward, verl_reward_overrides, visual_accuracy)

# (completion as VeRL decodes it, ground truth, what the evaluation says): R1-Zero style outputs.
MATH_CASES = [
    ("<think> 3/4 of the cake </think> <answer> \\frac{3}{4} </answer>", "\\frac{3}{4}", True),
    ("<think> so it is 0.75 </think> <answer>0.75</answer>", "\\frac{3}{4}", True),
    # sampled with the stop string "</answer>": no closing tag
    ("<think> x = 2 </think> <answer> x = 2", "2", True),
    # the last number of the tag's content is not the answer: 4 is not 3/4
    ("<think> thinking about 3/4 </think> <answer> 4 </answer>", "\\frac{3}{4}", False),
    # a box inside the tag wins over the raw content
    ("<think>...</think> <answer> The answer is \\boxed{12} </answer>", "12", True),
    # an empty tag is an empty answer, not the last number of the thinking
    ("<think> 12 </think> <answer></answer>", "12", False),
    # no tag at all: the evaluator's rules (boxed)
    ("Therefore \\boxed{\\sqrt{2}}.", "\\sqrt{2}", True),
    ("I do not know.", "7", False),
]


@pytest.mark.parametrize("completion, truth, correct", MATH_CASES)
def test_the_math_reward_is_the_evaluation_verdict(completion, truth, correct):
    problem = training_reward.reward_problem(truth)
    assert math_paper.grade(problem, completion).correct is correct  # the evaluator's own verdict
    assert answer_reward(completion, truth) == float(correct)
    assert compute_score(data_source="omni-math-train", solution_str=completion, ground_truth=truth,
                         extra_info={"index": 0}) == float(correct)


def test_the_math_reward_reads_the_figure_27_prompt_tags():
    # The tag rule applies because the reward's problem carries the Figure 27 template.
    assert "<answer> answer here </answer>" in get_template("r1-zero").text
    assert training_reward.reward_problem("1").meta["template"] == "r1-zero"


VISUAL_CASES = [
    # (output, truth, accuracy, format)
    ("<think> the angle is 60 </think> The answer is \\boxed{60}.", "60", 1.0, 1.0),
    ("The answer is \\boxed{60}.", "60", 1.0, 0.0),
    ("<think> ... </think> \\boxed{2\\sqrt{3}}", "2 \\sqrt { 3 }", 1.0, 1.0),
    ("<think> ... </think> \\boxed{61}", "60", 0.0, 1.0),
    ("<think> ... </think> 60", "60", 0.0, 0.0),  # no box: no answer for EasyR1's reading
]


@pytest.mark.parametrize("output, truth, accuracy, format_score", VISUAL_CASES)
def test_the_visual_reward_is_the_visual_grader_plus_easyr1_format(output, truth, accuracy, format_score):
    from repro.grading import visual
    assert visual.easyr1_accuracy(output, truth) is bool(accuracy)
    assert visual_accuracy(output, truth) == accuracy
    assert easyr1_format(output) == format_score
    scores = easyr1_compute_score(output, truth)
    assert scores == {"overall": pytest.approx((1 - FORMAT_WEIGHT) * accuracy + FORMAT_WEIGHT * format_score),
                      "format": format_score, "accuracy": accuracy}
    assert compute_score("hiyouga/geometry3k", output, truth) == pytest.approx(scores["overall"])


def test_the_interfaces_have_the_engines_signatures():
    # VeRL 0.3.0.post1 calls compute_score(data_source=, solution_str=, ground_truth=, extra_info=)
    # (verl/workers/reward_manager/naive.py lines 100-105); EasyR1 3b9ae08 calls
    # compute_score(response_str, ground_truth) (verl/workers/reward/custom.py line 67).
    assert list(inspect.signature(compute_score).parameters) == ["data_source", "solution_str", "ground_truth",
                                                                  "extra_info"]
    assert inspect.signature(compute_score).parameters["extra_info"].default is None
    assert len(inspect.signature(easyr1_compute_score).parameters) == 2


def test_an_unknown_data_source_stops_training():
    with pytest.raises(ValueError, match="no reward for data_source 'openai/gsm8k'"):
        compute_score("openai/gsm8k", "<answer>1</answer>", "1")


def test_the_overrides_name_this_file_and_function():
    path, name = verl_reward_overrides()
    assert path == f"custom_reward_function.path={training_reward.__file__}"
    assert name == "custom_reward_function.name=compute_score"


def test_the_time_limit_is_the_evaluations():
    assert training_reward.REWARD_TIMEOUT_S == PAIR_TIMEOUT_S == 3.0


def _slow_grade(problem, output):
    # Stands for sympy stuck on a pathological answer: Python code that never returns.
    while True:
        pass


def test_an_overrun_pays_nothing_and_is_counted(monkeypatch):
    monkeypatch.setitem(training_reward._GRADE_FUNCTIONS, "math-paper-v3", _slow_grade)
    before = training_reward.STATS["timeout"]
    assert math_reward("<answer>1</answer>", "1", timeout_s=0.2) == 0.0
    assert training_reward.STATS["timeout"] == before + 1
    # the timer is gone and the previous handler back: a later reward is unaffected
    monkeypatch.undo()
    assert math_reward("<answer>1</answer>", "1") == 1.0


def test_a_grader_error_on_one_pair_pays_nothing(monkeypatch):
    def broken(problem, output):
        raise RuntimeError("a grader bug")
    monkeypatch.setitem(training_reward._GRADE_FUNCTIONS, "math-paper-v3", broken)
    before = training_reward.STATS["grader_error"]
    assert math_reward("<answer>1</answer>", "1") == 0.0
    assert training_reward.STATS["grader_error"] == before + 1


def test_a_broken_grader_environment_stops_training(monkeypatch):
    from repro.errors import EnvironmentNotSupportedError

    def missing(problem, output):
        raise EnvironmentNotSupportedError("mathruler missing")
    monkeypatch.setitem(training_reward._GRADE_FUNCTIONS, "visual-v1", missing)
    with pytest.raises(EnvironmentNotSupportedError):
        visual_accuracy("\\boxed{1}", "1")


def test_off_the_main_thread_the_evaluation_pool_grades_with_the_same_verdicts():
    results = {}

    def run():
        results["right"] = compute_score("omni-math-train", MATH_CASES[0][0], MATH_CASES[0][1])
        results["wrong"] = compute_score("omni-math-train", MATH_CASES[3][0], MATH_CASES[3][1])
    pooled_before = training_reward.STATS["pooled"]
    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=120)
    assert results == {"right": 1.0, "wrong": 0.0}
    assert training_reward.STATS["pooled"] == pooled_before + 2
    for pool in training_reward._fallback_pools.values():
        pool.close()
    training_reward._fallback_pools.clear()


def test_the_math_reward_refuses_an_environment_where_the_grader_judges_differently(monkeypatch):
    from repro.errors import EnvironmentNotSupportedError
    monkeypatch.setattr(training_reward, "_grader_checked", False)
    monkeypatch.setattr(training_reward, "grader_environment_problem", lambda: "parse_latex is unusable")
    with pytest.raises(EnvironmentNotSupportedError, match="parse_latex is unusable"):
        compute_score("omni-math-train", "<answer>1</answer>", "1")


def test_this_environment_has_the_evaluation_grader():
    assert training_reward.grader_environment_problem() is None


def test_the_reward_is_graded_by_the_evaluations_python_when_told_to(monkeypatch, tmp_path):
    """Where VeRL's environment cannot run the grader (ANTLR), REPRO_GRADER_PYTHON names the
    evaluation's interpreter: the same verdicts, from a server there; a killed server is replaced,
    a server that cannot start is an error, never a silent 0."""
    import sys

    from repro import training_reward
    from repro.errors import EnvironmentNotSupportedError

    monkeypatch.setenv(training_reward.GRADER_PYTHON_ENV, sys.executable)
    monkeypatch.setattr(training_reward, "_remote", None)
    before = training_reward.STATS["remote"]
    right = "<think>3 over 4</think> <answer>\\frac{3}{4}</answer>"
    assert training_reward.compute_score("omni-math-train", right, "3/4") == 1.0
    assert training_reward.compute_score("omni-math-train", "<answer>4</answer>", "3/4") == 0.0
    assert training_reward.STATS["remote"] == before + 2
    training_reward._remote.process.kill()  # a server lost between calls: started again
    training_reward._remote.process.wait()
    assert training_reward.compute_score("omni-math-train", right, "3/4") == 1.0
    training_reward._remote.process.kill()
    broken = tmp_path / "python"
    broken.write_text("#!/bin/sh\nexit 3\n")
    broken.chmod(0o755)
    monkeypatch.setenv(training_reward.GRADER_PYTHON_ENV, str(broken))
    with pytest.raises(EnvironmentNotSupportedError, match="exited with code 3"):
        training_reward.compute_score("omni-math-train", right, "3/4")
