"""Reward = grader: the functions the training engines call, built on the package's graders.

Training and evaluation must judge alike (issue 12, item 4): a rollout the trainer pays for is
a completion `repro run` counts as correct. So the reward is the evaluation's grader for the
prompt in use, with the evaluation's time limit, and nothing else decides it.

Two engines, two interfaces (docs/training.md, "Reward and algorithm checks", has the citations):

- VeRL 0.3.0.post1 (the text runs, Figure 27 prompt). `custom_reward_function.path` names a
  Python file and `custom_reward_function.name` a function in it (verl/trainer/main_ppo.py,
  `get_custom_reward_fn`, lines 24-49: the file is executed as a module of its own with
  `importlib.util.spec_from_file_location`, so this file imports the package absolutely). The
  reward manager (verl/workers/reward_manager/naive.py, lines 90-106) decodes each response with
  `skip_special_tokens=True` and calls
  `compute_score(data_source=..., solution_str=..., ground_truth=..., extra_info=...)` with the
  row's `data_source`, `reward_model.ground_truth` and `extra_info`; the number returned is put
  on the response's last valid token. `compute_score` below has that signature.
- EasyR1 at 3b9ae08 (the visual run, Figure 26 prompt). Its reward is picked by NAME
  (`worker.reward.compute_score: math`, verl/workers/reward/custom.py lines 36-41): no file
  path. The function is called as `compute_score(response_str, ground_truth)` and returns a dict
  with "overall" (the reward), "format" and "accuracy" (custom.py lines 67-70; math.py lines
  21-39). `easyr1_compute_score` below has that signature; plugging it in means replacing the
  "math" entry (docs/training.md, "Reward and algorithm checks").

Rewards:
- Figure 27 (math, VeRL): `repro.grading.math_reward.answer_reward`'s problem graded by the
  math grader: 1.0 or 0.0. No format term (the paper's VeRL runs reward correctness only).
- Figure 26 (visual): accuracy is the visual grader (repro.grading.visual; on Geometry3K rows,
  which carry no MathVista metadata, it is exactly EasyR1's mathruler check). The reward keeps
  EasyR1's default mixture, 0.9 * accuracy + 0.1 * format (math.py line 36, the "EasyR1
  defaults" the paper trained with), where format is EasyR1's rule: the whole output matches
  `<think>.*</think>.*\\boxed{.*}.*`. `accuracy` is reported beside it, as EasyR1 does.

Time limit. The evaluation grades each pair in a worker under a 3 s timer and counts an overrun
as wrong (repro.grading.pool, PAIR_TIMEOUT_S). A trainer calls a function, once per rollout, in
its driver process: VeRL 0.3.0.post1 builds the reward manager inside the `TaskRunner` Ray
actor (main_ppo.py lines 75-158), and a default Ray actor runs its methods on the process's main
thread. There the same 3 s limit is set with an interval timer around the grader (cheap: no
process, no message). Where no timer can be set (not the main thread, or a timer of the caller
already running), the pair goes to a one-worker grading pool of the evaluation, which enforces
the same limit and kills a worker stuck in C code. An overrun, or a grader error on one pair,
gives reward 0.0 (the evaluation's verdict for it: wrong) and is counted in `STATS`; a broken
grader environment (repro.errors.ReproError, e.g. mathruler missing) stops training instead of
rewarding every rollout 0.
"""

from __future__ import annotations

import re
import signal
import threading
from collections import Counter
from pathlib import Path

from repro.errors import EnvironmentNotSupportedError, ReproError
from repro.grading import math_paper, visual
from repro.grading.math_reward import REWARD_BENCHMARK, reward_problem
from repro.grading.pool import PAIR_TIMEOUT_S, GradingPool
from repro.problems import Problem

# The per-call limit: the evaluation's, so that a pair the evaluation times out on (wrong there)
# is never paid for here.
REWARD_TIMEOUT_S = PAIR_TIMEOUT_S

# The `data_source` of a training row -> which reward judges it. The training data builder
# writes these values (VeRL's parquet schema has a `data_source` column); an unknown value stops
# training rather than paying 0 for every rollout of a misnamed set.
MATH_DATA_SOURCES = {"omni-math-train": REWARD_BENCHMARK}  # data_source -> the math benchmark rule
VISUAL_DATA_SOURCES = frozenset({"hiyouga/geometry3k"})  # as VeRL's and EasyR1's geo3k examples name it

# EasyR1's default reward mixture (hiyouga/EasyR1 3b9ae08, verl/utils/reward_score/math.py
# lines 21-36): 0.9 accuracy + 0.1 format, format = the whole output matches this pattern.
FORMAT_WEIGHT = 0.1
_EASYR1_FORMAT = re.compile(r"<think>.*</think>.*\\boxed\{.*\}.*", re.DOTALL)

# The VeRL trainer keys that plug `compute_score` in (ppo_trainer.yaml lines 165-167).
VERL_REWARD_FUNCTION_NAME = "compute_score"

# Pairs that hit the time limit / raised in the grader, since the process started: a trainer
# can log them; a jump means the reward is being decided by the clock, not the grader.
STATS: Counter[str] = Counter()

_MATH_GRADER = "math-paper-v3"
_VISUAL_GRADER = "visual-v1"
_GRADE_FUNCTIONS = {_MATH_GRADER: math_paper.grade, _VISUAL_GRADER: visual.grade}
_fallback_pools: dict[str, GradingPool] = {}


def grader_environment_problem() -> str | None:
    """Why the math grader would judge unlike the evaluation in this environment; None if it
    would not. The evaluator's first parser is sympy's parse_latex, which loads only with the
    antlr4 runtime 4.11 (requirements/cpu.txt); VeRL's Hydra/OmegaConf need antlr4 4.9, and
    with it parse_latex is gone and verdicts change (the pi-versus-1.5708 golden case among
    them; docs/training.md, "Reward and algorithm checks"). A reward computed there is not the evaluation's."""
    try:
        from sympy.parsing.latex import parse_latex
        parse_latex("\\frac{1}{2}")
    except Exception as error:  # ImportError (wrong antlr) or a parser that does not work
        from importlib.metadata import PackageNotFoundError, version

        try:
            antlr = version("antlr4-python3-runtime")
        except PackageNotFoundError:
            antlr = "none"
        return (f"sympy's parse_latex needs the ANTLR runtime 4.11, this environment has {antlr} (VeRL's Hydra needs "
                f"4.9): {type(error).__name__}: {str(error)[:100]}")
    return None


def verl_reward_overrides() -> list[str]:
    """The VeRL 0.3.0.post1 overrides that make `compute_score` of this file the reward."""
    return [f"custom_reward_function.path={Path(__file__).resolve()}",
            f"custom_reward_function.name={VERL_REWARD_FUNCTION_NAME}"]


class _Overrun(BaseException):
    # BaseException: sympy and the graders catch Exception widely and would swallow it.
    pass


def _raise_overrun(signum, frame):
    raise _Overrun


def _timer_usable() -> bool:
    """An interval timer can bound this call: main thread, and no timer of the caller running."""
    return (threading.current_thread() is threading.main_thread()
            and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0))


def _correct_under_timer(grader: str, problem: Problem, completion: str, timeout_s: float) -> bool:
    previous = signal.signal(signal.SIGALRM, _raise_overrun)
    signal.setitimer(signal.ITIMER_REAL, timeout_s)
    try:
        return _GRADE_FUNCTIONS[grader](problem, completion).correct
    except _Overrun:
        STATS["timeout"] += 1
        return False
    except ReproError:
        raise  # the grader cannot work here: no reward of it can be trusted
    except Exception:  # a grader bug on one pair: wrong, as the evaluation's pool counts it
        STATS["grader_error"] += 1
        return False
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _correct_in_pool(grader: str, problem: Problem, completion: str, timeout_s: float) -> bool:
    pool = _fallback_pools.get(grader)
    if pool is None or pool.timeout_s != timeout_s:
        pool = _fallback_pools[grader] = GradingPool(grader, workers=1, timeout_s=timeout_s, batch_size=1)
    timeouts_before = pool.timeouts
    (verdict,) = pool.grade([(problem, completion)])
    STATS["timeout"] += pool.timeouts - timeouts_before
    STATS["pooled"] += 1
    return verdict.correct


def graded_correct(grader: str, problem: Problem, completion: str,
                   timeout_s: float = REWARD_TIMEOUT_S) -> bool:
    """The grader's verdict on one pair, bounded by `timeout_s` (an overrun is wrong)."""
    if _timer_usable():
        return _correct_under_timer(grader, problem, completion, timeout_s)
    return _correct_in_pool(grader, problem, completion, timeout_s)


def math_reward(solution_str: str, ground_truth: str, *, benchmark: str = REWARD_BENCHMARK,
                timeout_s: float = REWARD_TIMEOUT_S) -> float:
    """Figure 27's reward: `answer_reward` (the `<answer>` rule, then the evaluator's), bounded."""
    problem = reward_problem(str(ground_truth), benchmark=benchmark)
    return 1.0 if graded_correct(_MATH_GRADER, problem, solution_str, timeout_s) else 0.0


def visual_accuracy(solution_str: str, ground_truth: str, *, timeout_s: float = REWARD_TIMEOUT_S) -> float:
    """Figure 26's accuracy: the visual grader's verdict (no MathVista metadata on training rows)."""
    problem = Problem("geometry3k-train/reward", 0, "", str(ground_truth), {})
    return 1.0 if graded_correct(_VISUAL_GRADER, problem, solution_str, timeout_s) else 0.0


def easyr1_format(solution_str: str) -> float:
    """EasyR1's format reward: 1.0 when the output is <think>...</think> ... \\boxed{...} ..."""
    return 1.0 if _EASYR1_FORMAT.fullmatch(solution_str) else 0.0


def easyr1_compute_score(predict_str: str, ground_truth: str) -> dict[str, float]:
    """EasyR1 (3b9ae08) reward interface: {"overall", "format", "accuracy"}; "overall" is the reward."""
    accuracy = visual_accuracy(predict_str, ground_truth)
    format_score = easyr1_format(predict_str)
    return {"overall": (1.0 - FORMAT_WEIGHT) * accuracy + FORMAT_WEIGHT * format_score,
            "format": format_score, "accuracy": accuracy}


_grader_checked = False


def _require_evaluation_grader() -> None:
    """Stop training (once checked, cheap) where the math grader would judge unlike evaluation."""
    global _grader_checked
    if not _grader_checked:
        problem = grader_environment_problem()
        if problem:
            raise EnvironmentNotSupportedError(
                f"the math reward would not be the evaluation's grader here: {problem}; set {GRADER_PYTHON_ENV} to "
                "the evaluation's Python (it grades there), or grade in an environment with "
                "antlr4-python3-runtime==4.11.1 (docs/training.md, 'Reward and algorithm checks')")
        _grader_checked = True


# The evaluation's Python (e.g. the image's or .venv's), where VeRL's own environment cannot run
# the math grader (ANTLR 4.9 for Hydra, 4.11 for sympy's parse_latex): the reward is then graded
# by `python -m repro.training_reward --serve` in that interpreter, one JSON line per pair.
GRADER_PYTHON_ENV = "REPRO_GRADER_PYTHON"
_SERVER_START_S = 120.0  # the first answer waits for the server's imports
_SERVER_SLACK_S = 5.0  # beyond the server's own per-pair limit: a hung server is replaced


class _RemoteGrader:
    """The math reward graded in another interpreter, over a pipe: one request line, one answer
    line. The server bounds each pair itself (REWARD_TIMEOUT_S, main-thread timer); a server that
    does not answer within that plus a slack is killed, the pair pays 0.0 (counted as a timeout)
    and the next call starts a new one. A server that exits is a broken environment: an error."""

    def __init__(self, python: str):
        self.python = python
        self.process = None

    def _start(self):
        import subprocess

        self.process = subprocess.Popen([self.python, "-m", "repro.training_reward", "--serve"],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        return _SERVER_START_S

    def _exited(self):
        code = self.process.wait()
        self.process = None
        raise EnvironmentNotSupportedError(f"the grading server ({self.python} -m repro.training_reward --serve) "
                                           f"exited with code {code}; run it by hand to see why")

    def reward(self, solution_str: str, ground_truth: str, benchmark: str) -> float:
        import json
        import select

        wait = self._start() if self.process is None or self.process.poll() is not None else 0.0
        wait += REWARD_TIMEOUT_S + _SERVER_SLACK_S
        request = {"solution_str": solution_str, "ground_truth": str(ground_truth), "benchmark": benchmark}
        try:
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
        except BrokenPipeError:  # the server is gone already (it could not start)
            self._exited()
        ready, _, _ = select.select([self.process.stdout], [], [], wait)
        if not ready:
            self.process.kill()
            self.process.wait()
            self.process = None
            STATS["timeout"] += 1
            return 0.0
        line = self.process.stdout.readline()
        if not line:
            self._exited()
        answer = json.loads(line)
        if "error" in answer:
            raise EnvironmentNotSupportedError(f"the grading server cannot grade: {answer['error']}")
        STATS["remote"] += 1
        return float(answer["reward"])


_remote: _RemoteGrader | None = None


def _remote_math_reward(python: str, solution_str: str, ground_truth: str, benchmark: str) -> float:
    global _remote
    if _remote is None or _remote.python != python:
        _remote = _RemoteGrader(python)
    return _remote.reward(solution_str, ground_truth, benchmark)


def serve(stdin=None, stdout=None) -> None:
    """The grading server: JSON lines in ({"solution_str", "ground_truth", "benchmark"}), JSON
    lines out ({"reward"}, or {"error"} once when this environment cannot grade like evaluation)."""
    import json
    import sys

    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    problem = grader_environment_problem()
    for line in stdin:
        if problem:
            stdout.write(json.dumps({"error": problem}) + "\n")
            stdout.flush()
            return
        request = json.loads(line)
        reward = math_reward(request["solution_str"], request["ground_truth"], benchmark=request["benchmark"])
        stdout.write(json.dumps({"reward": reward}) + "\n")
        stdout.flush()


def compute_score(data_source, solution_str, ground_truth, extra_info=None) -> float:
    """VeRL 0.3.0.post1's custom reward interface (keyword call from its reward managers)."""
    import os

    if data_source in MATH_DATA_SOURCES:
        python = os.environ.get(GRADER_PYTHON_ENV)
        if python:
            return _remote_math_reward(python, solution_str, ground_truth, MATH_DATA_SOURCES[data_source])
        _require_evaluation_grader()
        return math_reward(solution_str, ground_truth, benchmark=MATH_DATA_SOURCES[data_source])
    if data_source in VISUAL_DATA_SOURCES:
        return easyr1_compute_score(solution_str, ground_truth)["overall"]
    known = sorted(MATH_DATA_SOURCES) + sorted(VISUAL_DATA_SOURCES)
    raise ValueError(f"no reward for data_source {data_source!r}; known: {', '.join(known)}")


if __name__ == "__main__":
    import sys

    if sys.argv[1:] != ["--serve"]:
        raise SystemExit("usage: python -m repro.training_reward --serve (JSON lines on stdin and stdout)")
    serve()
