"""The math reward the VeRL-style training runs will call: 1.0 for a right answer, else 0.0.

The paper's VeRL runs (Sec 4.3, App. D) train Qwen2.5-7B on Omni-MATH-Rule with the R1-Zero
prompt of Fig 27 (template `r1-zero`) and a rule-based correctness reward. Their reward code is
not released, so the reward here is the evaluation's own reading of a completion: the
`<answer>` tag first (repro.grading.answer_tag), else the evaluator's rules, and the
evaluator's equivalence check (repro.grading.math_paper). A completion the reward pays for is
then exactly a completion the evaluation counts as correct -- no gap between what training
optimizes and what pass@k measures.

`answer_reward` is a pure function: no process pool, no timer, no state. The caller owns the
time limit (sympy can be slow on pathological answers; the grader's size caps keep that rare,
and evaluation gives each pair 3 s in repro.grading.pool, counting an overrun as wrong).
"""

from __future__ import annotations

from repro.grading.math_paper import grade
from repro.problems import Problem

# The prompt template the training completions are made with (paper Fig 27).
REWARD_TEMPLATE = "r1-zero"
# The benchmark whose ground-truth rule applies: the VeRL runs train on Omni-MATH-Rule's train
# split, whose answers are read as KbsdJames/omni-math-rule reads them.
REWARD_BENCHMARK = "omni-math-train"


def answer_reward(completion: str, answer: str, *, benchmark: str = REWARD_BENCHMARK) -> float:
    """1.0 if `completion` gives `answer` (the ground truth as the benchmark stores it), else 0.0.

    This is what training will call, once per rollout. `benchmark` picks the ground-truth
    normalization (any name repro.grading.math_paper knows).
    """
    return 1.0 if grade(reward_problem(answer, benchmark=benchmark), completion).correct else 0.0


def reward_problem(answer: str, *, benchmark: str = REWARD_BENCHMARK) -> Problem:
    """The problem `answer_reward` grades against: the ground truth, its benchmark, and the
    training template (which selects the `<answer>` rule). Exposed so that a caller running
    the grader under a time limit (repro.training_reward) grades exactly this problem."""
    return Problem(f"{benchmark}/reward", 0, "", answer,
                   {"benchmark": benchmark, "template": REWARD_TEMPLATE})
