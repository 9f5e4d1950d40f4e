"""Parity study: our math grader (repro.grading.math_paper) against the paper's official
evaluator, with math-verify for context. Writes docs/math_grader_parity.md.

    .venv/bin/python scripts/math_grader_parity.py \\
        --official-checkout SCRATCH/math/examples/math_eval \\
        --official-python SCRATCH/venv/bin/python \\
        --math-verify-python SCRATCH/venv-mv/bin/python \\
        --data-dir SHARED/data [--pairs 12000] [--seed 2504] [--workers 2]

SCRATCH is a scratch folder outside the project holding the official evaluator at commit
fd2cf37 (LeapLabTHU/limit-of-RLVR, folder math/examples/math_eval) and its own virtual
environment (sympy 1.12, antlr4-python3-runtime 4.11.1, regex, word2number, pebble, the
vendored latex2sympy installed with `pip install -e`). math-verify 0.9.0 lives in a second
scratch environment (it needs a newer sympy than the official pins). docs/math_grader_parity.md
gives the exact steps. Nothing of the official code is copied here: it is imported from the
checkout at run time, in a subprocess that runs under its own interpreter.

The pairs are built deterministically from the seed and the real benchmark files (ground
truths of gsm8k, math500, minerva, olympiad, aime24, amc23 and Omni-MATH-Rule): equivalent
rewritings, near misses, wrong answers, every extraction route, truncated and answer-less
outputs, huge outputs. Each pair is graded three times:
- official: its extract_answer + strip_string (as math_eval.py's run_execute calls them), its
  ground truth (parse_ground_truth, as math_eval.py then evaluate.py call it), its
  multiple-choice post-processing, and its math_equal in a pebble pool with 3 s per pair;
- ours: repro.grading.math_paper.grade, 3 s per pair as well (an interval timer);
- math-verify: verify(parse(gold), parse(output)).

Two other modes: `--check-golden tests/golden/math_grading_cases.jsonl` runs the official on
every golden case and reports any case whose recorded verdict differs (how those verdicts were
obtained), and `--report-only WORK_DIR` rebuilds the report from a finished run.

This file's top level imports the standard library only, because the worker modes run
under the scratch interpreters.
"""

from __future__ import annotations

import argparse
import collections
import json
import multiprocessing
import os
import platform
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OFFICIAL_REPO = "LeapLabTHU/limit-of-RLVR"
OFFICIAL_COMMIT = "fd2cf37"
PAIR_TIMEOUT_S = 3  # the official evaluate.py limit per pair
DEFAULT_SEED = 2504
DEFAULT_PAIRS = 12000

# Our key -> (folder in the data dir, the official data name).
BENCHMARKS = {
    "gsm8k": ("gsm8k", "gsm8k"),
    "math500": ("math500", "math500"),
    "minerva": ("minerva_math", "minerva_math"),
    "olympiad": ("olympiadbench", "olympiadbench"),
    "aime24": ("aime24", "aime24"),
    "amc23": ("amc23", "amc23"),
    "omni-math": ("omni_math_rule", "omni-math"),
}
# Share of the pairs per benchmark (the small sets get more pairs per problem).
SHARES = {"gsm8k": 0.14, "math500": 0.18, "minerva": 0.14, "olympiad": 0.18, "aime24": 0.06,
          "amc23": 0.08, "omni-math": 0.22}


def data_rows(data_dir: Path, key: str) -> list[dict]:
    path = data_dir / "math" / BENCHMARKS[key][0] / "test.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_jsonl(path: Path, rows) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


# =============================================================================================
# Worker: the official evaluator (runs under the scratch interpreter)
# =============================================================================================

_official = {}  # the imported official modules, shared with forked pool workers


def _official_prediction(job: tuple[str, str]) -> str:
    """The prediction as math_eval.py's run_execute computes it."""
    output, data_name = job
    parser = _official["parser"]
    extracted = parser.extract_answer(output, data_name)
    return parser.strip_string(extracted, skip_unit=data_name in parser.STRIP_EXCEPTIONS)


def _official_truth(key: str, row: dict) -> tuple[str, str]:
    """(gt as math_eval.main holds it, gt as evaluate.py compares it) for one data row."""
    parser = _official["parser"]
    data_name = BENCHMARKS[key][1]
    if key == "omni-math":
        # Not covered by the official code: KbsdJames/omni-math-rule's rule (its evaluate-time
        # ground truth: the answer wrapped in \boxed{} and extracted like an output).
        answer = str(row["answer"]).strip()
        wrapped = answer if "boxed" in answer else "\\boxed{" + answer + "}"
        final = parser.extract_answer(wrapped, data_name)
        return final, final
    gt_cot, gt = parser.parse_ground_truth(dict(row), data_name)
    _, final = parser.parse_ground_truth({"gt_cot": gt_cot, "gt": gt}, data_name)
    return gt, final


def _row_holding(key: str, answer: str) -> dict:
    """A data row from which the official reads `answer` as ground truth (golden cases carry
    the answer, not a row): the same field each benchmark's loader reads."""
    if key == "gsm8k":
        return {"answer": "Reasoning.\n#### " + answer}
    if key in ("math500", "minerva"):
        return {"solution": "We find $\\boxed{" + answer + "}$."}
    if key == "olympiad":
        return {"final_answer": [answer]}
    return {"answer": answer}


def _official_ground_truths(data_dir: Path | None, pairs: list[dict]) -> dict[tuple, tuple[str, str]]:
    """(bench, row index) or (bench, answer) -> _official_truth, for every pair."""
    truths = {}
    rows_by_key = {}
    for pair in pairs:
        key, row_index = pair["bench"], pair.get("row")
        if row_index is None:
            truths[(key, pair["answer"])] = _official_truth(key, _row_holding(key, pair["answer"]))
            continue
        if (key, row_index) not in truths:
            if key not in rows_by_key:
                rows_by_key[key] = data_rows(data_dir, key)
            truths[(key, row_index)] = _official_truth(key, rows_by_key[key][row_index])
    return truths


def _truth_key(pair: dict) -> tuple:
    return (pair["bench"], pair["answer"]) if pair.get("row") is None else (pair["bench"], pair["row"])


def _official_choice_postprocess(prediction: str, main_gt: str, output: str) -> str:
    """math_eval.py's handling of multiple-choice ground truths (it reads the main-time gt)."""
    parser = _official["parser"]
    letters = ["A", "B", "C", "D", "E"]
    if main_gt in letters and prediction not in letters:
        return parser.choice_answer_clean(output)
    if all(c in letters for c in main_gt) and not all(c in letters for c in prediction):
        return "".join(c for c in prediction if c in letters)
    return prediction


def official_worker(args) -> None:
    sys.path.insert(0, str(Path(args.official_checkout).resolve()))
    import grader  # noqa: E402  (the official modules, from the checkout)
    import parser  # noqa: E402
    from concurrent.futures import TimeoutError as FutureTimeout

    from pebble import ProcessPool

    _official.update(parser=parser, grader=grader)
    pairs = read_jsonl(Path(args.pairs_file))
    truths = _official_ground_truths(Path(args.data_dir) if args.data_dir else None, pairs)
    started = time.time()
    with multiprocessing.Pool(args.workers) as pool:
        predictions = pool.map(_official_prediction, [(p["output"], BENCHMARKS[p["bench"]][1]) for p in pairs],
                               chunksize=20)
    extract_s = time.time() - started
    params = []
    for index, (pair, prediction) in enumerate(zip(pairs, predictions)):
        main_gt, final_gt = truths[_truth_key(pair)]
        prediction = _official_choice_postprocess(prediction, main_gt, pair["output"])
        predictions[index] = prediction
        params.append((index, prediction, final_gt))
    started = time.time()
    results = []
    with ProcessPool(max_workers=args.workers) as pool:
        iterator = pool.map(grader.math_equal_process, params, timeout=PAIR_TIMEOUT_S).result()
        for _ in params:
            try:
                results.append((bool(next(iterator)), ""))
            except FutureTimeout:
                results.append((False, "timeout"))
            except Exception as error:  # the official would stop; we record and go on
                results.append((False, f"error: {type(error).__name__}"))
    equal_s = time.time() - started
    write_jsonl(Path(args.results_file), (
        {"id": pair["id"], "correct": correct, "note": note, "pred": prediction, "gt": params[i][2]}
        for i, (pair, (correct, note), prediction) in enumerate(zip(pairs, results, predictions))
    ))
    print(json.dumps({"extract_s": round(extract_s, 1), "equal_s": round(equal_s, 1)}))


# =============================================================================================
# Worker: math-verify (runs under its scratch interpreter)
# =============================================================================================


def _math_verify_pair(job: tuple[str, str]) -> tuple[bool, str]:
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify

    answer, output = job
    try:
        gold = parse("$" + answer + "$", extraction_config=[LatexExtractionConfig(), ExprExtractionConfig()])
        predicted = parse(output)
        return bool(verify(gold, predicted)), ""
    except Exception as error:  # math-verify raises on its own timeouts and odd input
        return False, f"error: {type(error).__name__}"


def math_verify_worker(args) -> None:
    pairs = read_jsonl(Path(args.pairs_file))
    started = time.time()
    with multiprocessing.Pool(args.workers, maxtasksperchild=500) as pool:
        results = pool.map(_math_verify_pair, [(p["answer"], p["output"]) for p in pairs], chunksize=20)
    write_jsonl(Path(args.results_file), (
        {"id": pair["id"], "correct": correct, "note": note} for pair, (correct, note) in zip(pairs, results)
    ))
    print(json.dumps({"total_s": round(time.time() - started, 1)}))


# =============================================================================================
# Ours (project interpreter)
# =============================================================================================


class _PairTimeout(BaseException):  # not an Exception: graders and sympy catch those
    pass


def _raise_timeout(signum, frame):
    raise _PairTimeout


def _ours_pair(job: tuple[str, str, str, str]) -> dict:
    from repro.grading.math_paper import grade
    from repro.problems import Problem

    pair_id, key, answer, output = job
    problem = Problem(pair_id, 0, "", answer, {"benchmark": key})
    started = time.perf_counter()
    signal.signal(signal.SIGALRM, _raise_timeout)
    signal.setitimer(signal.ITIMER_REAL, PAIR_TIMEOUT_S)
    try:
        verdict = grade(problem, output)
        result = {"correct": verdict.correct, "pred": verdict.extracted or "", "note": "", "detail": verdict.detail}
    except _PairTimeout:
        result = {"correct": False, "pred": "", "note": "timeout", "detail": ""}
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    result["id"] = pair_id
    result["seconds"] = round(time.perf_counter() - started, 4)
    return result


def grade_ours(pairs: list[dict], workers: int) -> list[dict]:
    jobs = [(p["id"], p["key"], p["answer"], p["output"]) for p in pairs]
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        return pool.map(_ours_pair, jobs, chunksize=20)


# =============================================================================================
# Pairs
# =============================================================================================

REASONING_STEPS = (
    "Let ${v}$ be the quantity we want. From the statement, ${a} + {b} = {c}$.",
    "First we compute ${a} \\times {b} = {ab}$.",
    "Notice that ${a}^2 = {a2}$, so the expression simplifies.",
    "Substituting back, we get ${v} = \\frac{{{a}}}{{{b}}}$ for now.",
    "We check the boundary case ${v} = {a}$; it does not satisfy the condition.",
    "Step {k}: subtract {a} from both sides to obtain ${v} = {c}$.",
    "Since $\\gcd({a}, {b}) = 1$, the fraction is already in lowest terms.",
    "This gives the quadratic $x^2 - {c}x + {ab} = 0$, whose discriminant is ${disc}$.",
    "By symmetry, the remaining {b} cases contribute the same amount.",
    "So far the total is {c}, but we still need to account for the overlap of {a}.",
    "Wait, let me double-check the arithmetic: ${a} \\cdot {b} = {ab}$ indeed.",
    "Hence the sum of the first {b} terms is ${c}$.",
)
WORDS_ONLY = (
    "We consider the structure of the problem carefully.",
    "This approach seems promising, so let us continue.",
    "The key observation is that the configuration is symmetric.",
    "Hmm, this does not look right; let me reconsider the setup.",
    "We need to be careful about the edge cases here.",
)
UNITS = ("\\text{ cm}", "\\mathrm{~m}", " \\text{meters}", "\\text{ dollars}", " cm", " m", " km", " kg",
         "\\mathrm{~s}", " \\mathrm{~K}", "\\text{ units}", " \\text{ days}", " hours")
NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
                "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
                "nineteen", "twenty")


class PairBuilder:
    """Builds (output, answer) pairs from real ground truths; deterministic given the seed."""

    def __init__(self, seed: int, answers_by_key: dict[str, list[str]]):
        self.rng = random.Random(seed)
        self.answers_by_key = answers_by_key
        self.sympy_cache: dict[str, list[str]] = {}

    # ---- reasoning text

    def _numbers(self, question: str) -> list[int]:
        found = [int(n) for n in re.findall(r"\d+", question)[:12] if len(n) < 7]
        return found or [self.rng.randint(2, 60) for _ in range(4)]

    def reasoning(self, question: str, steps: int) -> str:
        rng, numbers = self.rng, self._numbers(question)
        sentences = []
        for k in range(1, steps + 1):
            a, b = rng.choice(numbers), rng.choice(numbers) or 1
            template = rng.choice(REASONING_STEPS)
            sentences.append(template.format(v=rng.choice("xyntk"), a=a, b=b, c=a + b, ab=a * b, a2=a * a, k=k,
                                             disc=(a + b) ** 2 - 4 * a * b))
        paragraphs = [" ".join(sentences[i:i + 3]) for i in range(0, len(sentences), 3)]
        return "\n\n".join(paragraphs)

    def wordy(self, steps: int) -> str:
        return " ".join(self.rng.choice(WORDS_ONLY) for _ in range(steps))

    # ---- answer variants: each returns a string, or None when it does not apply

    def variant(self, kind: str, answer: str, key: str) -> str | None:
        return getattr(self, "_v_" + kind.replace(":", "_").replace("-", "_"))(answer, key)

    def _v_equiv_same(self, a, key):
        return a

    def _v_equiv_dfrac(self, a, key):
        return a.replace("\\frac", self.rng.choice(("\\dfrac", "\\tfrac"))) if "\\frac" in a else None

    def _v_equiv_slash(self, a, key):
        match = re.fullmatch(r"(-?)\\[dt]?frac\{(\d+)\}\{(\d+)\}", a.strip())
        return f"{match.group(1)}{match.group(2)}/{match.group(3)}" if match else None

    def _v_equiv_spacing(self, a, key):
        spaced = re.sub(r"([+\-=,])", lambda m: self.rng.choice((" ", "\\, ", "\\ ")) + m.group(1) + " ", a)
        return spaced if spaced != a else a + " "

    def _v_equiv_left_right(self, a, key):
        if a.startswith("(") and a.endswith(")"):
            return "\\left(" + a[1:-1] + "\\right)"
        if a.startswith("[") and a.endswith("]"):
            return "\\left[" + a[1:-1] + "\\right]"
        return None

    def _v_equiv_dollar(self, a, key):
        number = _plain_number(a)
        return None if number is None else self.rng.choice(("\\$", "\\$ ")) + a

    def _v_equiv_unit(self, a, key):
        return a + self.rng.choice(UNITS)

    def _v_equiv_degrees(self, a, key):
        return a + self.rng.choice(("^\\circ", "^{\\circ}", "^\\circ C")) if _plain_number(a) is not None else None

    def _v_equiv_float(self, a, key):
        number = _plain_number(a)
        if number is None:
            return None
        if number == int(number):
            return str(int(number)) + self.rng.choice((".0", ".00", ".000"))
        return f"{number:.6f}"

    def _v_equiv_int(self, a, key):
        number = _plain_number(a)
        return str(int(number)) if number is not None and number == int(number) else None

    def _v_equiv_commas(self, a, key):
        number = _plain_number(a)
        return f"{int(number):,}" if number is not None and number == int(number) and abs(number) >= 1000 else None

    def _v_equiv_decimal(self, a, key):
        value = _fraction_value(a)
        return None if value is None else f"{value:.{self.rng.choice((5, 6, 8))}f}".rstrip("0")

    def _v_equiv_percent(self, a, key):
        number = _plain_number(a)
        return None if number is None else a + self.rng.choice(("\\%", "%", " percent"))

    def _v_equiv_assign(self, a, key):
        return self.rng.choice(("x = ", "n = ", "k=", "a = ", "r=", "\\text{Answer: }")) + a

    def _v_equiv_sci(self, a, key):
        number = _plain_number(a)
        if number is None or number == 0:
            return None
        mantissa, exponent = f"{number:.6e}".split("e")
        mantissa = mantissa.rstrip("0").rstrip(".")
        return self.rng.choice((f"{mantissa} \\times 10^{{{int(exponent)}}}", f"{mantissa}e{int(exponent)}",
                                f"{mantissa}\\cdot10^{int(exponent)}"))

    def _v_equiv_words(self, a, key):
        number = _plain_number(a)
        if number is None or number != int(number) or not 0 <= number <= 20:
            return None
        return NUMBER_WORDS[int(number)]

    def _v_equiv_text(self, a, key):
        return self.rng.choice(("\\text{", "\\textbf{", "\\mathbf{", "\\mbox{")) + a + "}"

    def _v_equiv_sympy(self, a, key):
        forms = self.sympy_forms(a)
        return self.rng.choice(forms) if forms else None

    def _v_equiv_reorder_sum(self, a, key):
        terms = re.split(r"(?<=[^\\{(^_])\+", a)
        balanced = all(t.count("{") == t.count("}") for t in terms)
        return "+".join(reversed(terms)) if len(terms) >= 2 and balanced else None

    def _v_equiv_sqrt_power(self, a, key):
        if "\\sqrt{" not in a:
            return None
        half = self.rng.choice(("^{1/2}", "^{\\frac{1}{2}}", "^{0.5}"))
        return re.sub(r"\\sqrt\{([^{}]*)\}", lambda m: "(" + m.group(1) + ")" + half, a, count=1)

    def _v_equiv_explicit_times(self, a, key):
        def times(match):
            return match.group(1) + self.rng.choice(("\\cdot ", "*", " \\times ")) + match.group(2)

        spaced = re.sub(r"(\d)(\\(?:sqrt|pi|frac)|[a-z])", times, a, count=1)
        return spaced if spaced != a else None

    def _v_equiv_pi_decimal(self, a, key):
        match = (re.fullmatch(r"(\d*)\\pi", a.strip())
                 or re.fullmatch(r"\\frac\{(\d*)\\pi\}\{(\d+)\}", a.strip()))
        if not match:
            return None
        numerator = int(match.group(1) or 1)
        denominator = int(match.group(2)) if match.lastindex == 2 else 1
        return f"{numerator * 3.141592653589793 / denominator:.{self.rng.choice((2, 4, 6))}f}"

    def _v_equiv_matrix(self, a, key):
        if "matrix}" not in a:
            return None
        other = "bmatrix" if "pmatrix" in a else "pmatrix"
        swapped = re.sub(r"[pb]matrix", other, a)
        cell_separator = self.rng.choice((" & ", "&", " &"))
        return swapped.replace("&", cell_separator).replace("\\\\", self.rng.choice(("\\\\ ", "\\\\")))

    def _v_equiv_set(self, a, key):
        parts = _answer_parts(a)
        if len(parts) < 2:
            return None
        listed = ", ".join(parts)
        return self.rng.choice(("\\{" + listed + "\\}", ",".join(parts), "\\left\\{" + listed + "\\right\\}"))

    def _v_multi_reordered(self, a, key):
        parts = _answer_parts(a)
        if len(parts) < 2:
            return None
        return ", ".join(reversed(parts))

    def _v_multi_first_only(self, a, key):
        parts = _answer_parts(a)
        return parts[0] if len(parts) >= 2 else None

    def _v_multi_joined(self, a, key):
        parts = _answer_parts(a)
        return " \\text{ and } ".join(parts) if len(parts) >= 2 else None

    def _v_near_off_by_one(self, a, key):
        number = _plain_number(a)
        return None if number is None else _format_like(a, number + self.rng.choice((-1, 1)))

    def _v_near_sign(self, a, key):
        return a[1:] if a.startswith("-") else "-" + a

    def _v_near_times_ten(self, a, key):
        number = _plain_number(a)
        return None if number is None else _format_like(a, number * self.rng.choice((10, 0.1, 100)))

    def _v_near_rounded(self, a, key):
        value = _fraction_value(a)
        if value is None:
            value = _plain_number(a)
        return None if value is None or value == int(value) else f"{value:.{self.rng.choice((1, 2, 3))}f}"

    def _v_near_digit(self, a, key):
        digits = [i for i, c in enumerate(a) if c.isdigit()]
        if not digits:
            return None
        i = self.rng.choice(digits)
        return a[:i] + str((int(a[i]) + self.rng.randint(1, 9)) % 10) + a[i + 1:]

    def _v_near_recip(self, a, key):
        match = re.fullmatch(r"(-?)\\[dt]?frac\{([^{}]+)\}\{([^{}]+)\}", a.strip())
        return f"{match.group(1)}\\frac{{{match.group(3)}}}{{{match.group(2)}}}" if match else None

    def _v_near_swap_tuple(self, a, key):
        if not (a.startswith(("(", "[")) and "," in a):
            return None
        inner = a[1:-1].split(",")
        return a[0] + ",".join(reversed(inner)) + a[-1] if len(inner) >= 2 else None

    def _v_near_bracket(self, a, key):
        if a.startswith("(") and a.endswith(")"):
            return "[" + a[1:-1] + "]"
        if a.startswith("[") and a.endswith("]"):
            return "(" + a[1:-1] + ")"
        return None

    def _v_near_truncate(self, a, key):
        return a[: max(1, len(a) // 2)] if len(a) >= 3 else None

    def _v_near_drop_sqrt(self, a, key):
        return re.sub(r"\\sqrt\{([^{}]*)\}", r"\1", a, count=1) if "\\sqrt" in a else None

    def _v_near_variable(self, a, key):
        return a.replace("x", "y") if "x" in a else (a + "+1" if len(a) < 60 else None)

    def _v_wrong_other(self, a, key):
        return self.rng.choice(self.answers_by_key[key])

    def _v_wrong_other_benchmark(self, a, key):
        other = self.rng.choice([k for k in self.answers_by_key if k != key])
        return self.rng.choice(self.answers_by_key[other])

    def _v_wrong_text(self, a, key):
        return self.rng.choice(("\\text{No solution}", "\\text{(C)}", "none", "\\emptyset", "\\text{undefined}",
                                "Yes", "\\infty", "all real numbers"))

    def _v_path_tower(self, a, key):
        return self.rng.choice(("2^{2^{2^{2^{5}}}}", "10^{10^{10}}", "9^{9^{9}}", "(10^{7})!", "2^{100000000}"))

    def _v_path_long(self, a, key):
        terms = [f"{self.rng.randint(1, 99)}x^{{{self.rng.randint(1, 9)}}}" for _ in range(self.rng.randint(60, 400))]
        return " + ".join(terms)

    def _v_path_huge_int(self, a, key):
        return "".join(self.rng.choice("0123456789") for _ in range(self.rng.randint(3000, 6000)))

    def _v_path_braces(self, a, key):
        return self.rng.choice(("{" + a, a + "}}", "\\frac{" + a, "{{" + a + "}"))

    def sympy_forms(self, answer: str) -> list[str]:
        """Other spellings of the same expression, printed by sympy (cached per answer)."""
        if answer in self.sympy_cache:
            return self.sympy_cache[answer]
        forms = []
        if len(answer) < 120:
            signal.signal(signal.SIGALRM, _raise_timeout)
            signal.setitimer(signal.ITIMER_REAL, 2)
            try:
                import sympy
                from latex2sympy2_extended import latex2sympy

                expression = latex2sympy(answer)
                if isinstance(expression, sympy.Expr) and not expression.is_Integer:
                    candidates = {sympy.latex(expression), sympy.latex(sympy.expand(expression)),
                                  sympy.latex(sympy.factor(expression)), str(expression)}
                    forms = sorted(form for form in candidates if form != answer and len(form) < 200)
            except (_PairTimeout, Exception):
                forms = []
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        self.sympy_cache[answer] = forms
        return forms

    # ---- outputs: the answer placed on one extraction route

    def output(self, route: str, answer: str, question: str, key: str) -> str:
        rng = self.rng
        body = self.reasoning(question, rng.randint(2, 9))
        if route == "boxed":
            closing = rng.choice(("Therefore, the final answer is $\\boxed{{{x}}}$.", "So the answer is \\boxed{{{x}}}.",
                                  "\\[\n\\boxed{{{x}}}\n\\]", "Hence $\\boxed{{{x}}}$ is the result.",
                                  "The final answer is: $\\boxed{{{x}}}$", "$$\\boxed{{{x}}}$$\n\nI hope this helps!"))
            return body + "\n\n" + closing.format(x=answer)
        if route == "boxed-multi-last-right":
            wrong = rng.choice(self.answers_by_key[key])
            return (body + f"\n\nSo we get $\\boxed{{{wrong}}}$. Wait, that is not right; let me recheck.\n\n"
                    + self.reasoning(question, 3) + f"\n\nThe correct answer is $\\boxed{{{answer}}}$.")
        if route == "boxed-multi-last-wrong":
            wrong = rng.choice(self.answers_by_key[key])
            return body + f"\n\nSo we get $\\boxed{{{answer}}}$. Hmm, actually it is $\\boxed{{{wrong}}}$."
        if route == "boxed-nobrace":
            return body + f"\n\nThe answer is $\\boxed {answer}$."
        if route == "boxed-unclosed":
            return body + "\n\nThus the answer is $\\boxed{" + answer[: max(1, len(answer) * 2 // 3)]
        if route == "the-answer-is":
            closing = rng.choice(("The answer is {x}.", "Thus, the answer is ${x}$.", "the answer is: {x}",
                                  "Therefore the answer is {x}\n\nWe are done.", "So the answer is\n{x}."))
            return body + "\n\n" + closing.format(x=answer)
        if route == "final-answer-is":
            return body + "\n\n" + rng.choice(("My final answer is {x}.", "The final answer is ${x}$")).format(x=answer)
        if route == "minerva-phrase":
            return body + f"\n\nFinal Answer: The final answer is ${answer}$. I hope it is correct."
        if route == "last-number":
            return body + "\n\n" + rng.choice(("Adding these up gives {x}", "So there are {x} in total.",
                                               "which leaves us with $ {x} $")).format(x=answer)
        if route == "answer-colon":  # DAPO-style "Answer:" (generation may have stopped there)
            return body + "\n\nAnswer: " + answer
        if route == "fbox":
            return body + "\n\n\\fbox{" + answer + "}"
        if route == "chinese":
            return body + "\n\n所以答案是 " + answer + "\n\n完毕。"
        if route == "truncated":
            return body[: rng.randint(1, max(2, len(body)))]
        if route == "no-answer":
            return self.wordy(rng.randint(1, 8))
        if route == "empty":
            return rng.choice(("", " ", "\n"))
        if route == "huge":
            size = rng.choice((20_000, 50_000, 100_000))
            filler = self.reasoning(question, 12)
            text = (filler + "\n\n") * (size // (len(filler) + 2) + 1)
            return text[:size] + (f"\n\nThe final answer is $\\boxed{{{answer}}}$." if rng.random() < 0.6 else "")
        raise ValueError(route)


VARIANT_WEIGHTS = {
    "equiv:same": 22, "equiv:dfrac": 3, "equiv:slash": 2, "equiv:spacing": 3, "equiv:left-right": 2,
    "equiv:dollar": 2, "equiv:unit": 4, "equiv:degrees": 1, "equiv:float": 4, "equiv:int": 2,
    "equiv:commas": 2, "equiv:decimal": 3, "equiv:percent": 2, "equiv:assign": 3, "equiv:sci": 2,
    "equiv:words": 1, "equiv:text": 2, "equiv:sympy": 6, "equiv:reorder-sum": 2, "equiv:sqrt-power": 2,
    "equiv:explicit-times": 2, "equiv:pi-decimal": 2, "equiv:matrix": 1, "equiv:set": 2,
    "multi:reordered": 2, "multi:first-only": 2, "multi:joined": 1,
    "near:off-by-one": 4, "near:sign": 3, "near:times-ten": 2, "near:rounded": 3, "near:digit": 3,
    "near:recip": 2, "near:swap-tuple": 2, "near:bracket": 2, "near:truncate": 2, "near:drop-sqrt": 1,
    "near:variable": 2,
    "wrong:other": 6, "wrong:other-benchmark": 2, "wrong:text": 1,
    "path:tower": 0.2, "path:long": 0.2, "path:huge-int": 0.2, "path:braces": 1,
}
ROUTE_WEIGHTS = {
    "boxed": 46, "boxed-multi-last-right": 4, "boxed-multi-last-wrong": 3, "boxed-nobrace": 2,
    "boxed-unclosed": 2, "the-answer-is": 9, "final-answer-is": 3, "minerva-phrase": 5,
    "last-number": 7, "answer-colon": 3, "fbox": 1, "chinese": 1, "truncated": 6, "no-answer": 3,
    "empty": 1, "huge": 1,
}
MINERVA_ROUTE_BOOST = {"minerva-phrase": 20}  # Minerva's few-shot prompt asks for that phrase


def _plain_number(text: str) -> float | None:
    try:
        return float(text.replace(",", "").strip())
    except ValueError:
        return None


def _fraction_value(text: str) -> float | None:
    match = re.fullmatch(r"(-?)\\[dt]?frac\{(\d+)\}\{(\d+)\}", text.strip())
    if match and int(match.group(3)):
        value = int(match.group(2)) / int(match.group(3))
        return -value if match.group(1) else value
    return None


def _format_like(original: str, value: float) -> str:
    if "." not in original and value == int(value):
        return str(int(value))
    return f"{value:g}"


def _answer_parts(answer: str) -> list[str]:
    """The answers of a multi-answer ground truth ("69$,$84" or "2, 3")."""
    if "$,$" in answer:
        return [part.strip() for part in answer.split("$,$")]
    depth, parts, current = 0, [], ""
    for char in answer:
        depth += char in "({[" 
        depth -= char in ")}]"
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    return [p for p in parts + [current.strip()] if p]


def _weighted(rng: random.Random, weights: dict[str, float]) -> str:
    names = list(weights)
    return rng.choices(names, weights=[weights[n] for n in names])[0]


def load_problems(data_dir: Path) -> dict[str, list[dict]]:
    """key -> [{"row", "answer", "question", "key"}], answers as our loader reads them."""
    from repro.benchmarks import get_benchmark
    from repro.benchmarks.math_files import MATH_FILES, omni_split, sha256_of

    problems = {}
    for key, (folder, _) in BENCHMARKS.items():
        file_key = "omni-math-rule" if key == "omni-math" else key
        path = data_dir / "math" / folder / "test.jsonl"
        expected = MATH_FILES[file_key][1]
        if sha256_of(path) != expected:
            raise SystemExit(f"{path}: sha256 differs from the pinned {expected}")
        rows = data_rows(data_dir, key)
        # The ground-truth rule the benchmark's module declares (both Omni parts share one).
        answer_of = get_benchmark("omni-math-test" if key == "omni-math" else key).data.answer
        part_of = {}
        if key == "omni-math":
            train, test = omni_split(rows)
            part_of = {**{i: "omni-math-train" for i in train}, **{i: "omni-math-test" for i in test}}
        problems[key] = [
            {"row": i, "answer": answer_of(row), "key": part_of.get(i, key),
             "question": str(row.get("question") or row.get("problem") or "")}
            for i, row in enumerate(rows)
        ]
    return problems


def _draw(builder: PairBuilder, pool: list[dict], index: int, key: str, targeted: bool) -> tuple[dict, str, str]:
    """(problem, variant kind, answer text). Half the pairs walk the problems in order and draw a
    variant that applies to the answer (realistic mix: mostly integers); the other half draw the
    variant first and look for a problem whose answer it applies to (rare answer styles)."""
    rng = builder.rng
    if targeted:
        kind = _weighted(rng, VARIANT_WEIGHTS)
        for _ in range(40):
            problem = rng.choice(pool)
            text = builder.variant(kind, problem["answer"], key)
            if text is not None:
                return problem, kind, text
    problem = pool[index]
    for _ in range(4):
        kind = _weighted(rng, VARIANT_WEIGHTS)
        text = builder.variant(kind, problem["answer"], key)
        if text is not None:
            return problem, kind, text
    return problem, "equiv:same", problem["answer"]


def build_pairs(data_dir: Path, seed: int, total: int) -> list[dict]:
    problems = load_problems(data_dir)
    builder = PairBuilder(seed, {k: [p["answer"] for p in v] for k, v in problems.items()})
    rng = builder.rng
    pairs = []
    for key, share in SHARES.items():
        pool = problems[key]
        order = list(range(len(pool)))
        rng.shuffle(order)
        routes = dict(ROUTE_WEIGHTS, **(MINERVA_ROUTE_BOOST if key == "minerva" else {}))
        for n in range(round(total * share)):
            problem, kind, answer_text = _draw(builder, pool, order[n % len(order)], key, targeted=n % 2 == 1)
            route = _weighted(rng, routes)
            pairs.append({
                "id": f"{key}/{n:05d}", "key": problem["key"], "bench": key, "row": problem["row"],
                "answer": problem["answer"], "kind": kind, "route": route,
                "output": builder.output(route, answer_text, problem["question"], key),
            })
    return pairs


# =============================================================================================
# Disagreement classes (each explained in the report)
# =============================================================================================


def _costly(text: str) -> bool:
    from repro.grading.math_paper import _too_costly_for_sympy

    return _too_costly_for_sympy(text)


# name -> (test on one disagreeing record, explanation). The first class that matches wins;
# what none matches is listed as "unexplained".
DISAGREEMENT_CLASSES = (
    ("official timeout", lambda r: r["official_note"] == "timeout",
     "The official pebble pool stopped this pair at its 3 s limit and counted it wrong, while ours "
     "finished it inside its own 3 s. Which pairs hit the limit depends on the machine and its load "
     "(the official itself is not reproducible on them); both graders count a timeout as wrong."),
    ("our timeout", lambda r: r["ours_note"] == "timeout",
     "Ours ran out of its 3 s (interval timer) and counted the pair wrong, where the official "
     "finished in time. Load-dependent in the same way."),
    ("sympy cost guard", lambda r: not r["ours_correct"] and (_costly(r["ours_pred"]) or _costly(r["official_gt"])),
     "Ours refuses to hand sympy a power tower, a huge exponent, a factorial of a power or a string "
     "over its length cap, and counts the pair wrong; the official tried and finished within 3 s. "
     "Deliberate: the caps bound the time of one pair (documented in repro.grading.math_paper)."),
)


def classify(record: dict) -> str:
    for name, test, _ in DISAGREEMENT_CLASSES:
        if test(record):
            return name
    return "unexplained"


# =============================================================================================
# Report
# =============================================================================================

SETUP = """\
```sh
SCRATCH=/some/folder/outside/the/project
git clone https://github.com/LeapLabTHU/limit-of-RLVR "$SCRATCH/limit-of-RLVR"
git -C "$SCRATCH/limit-of-RLVR" checkout fd2cf37
python3.11 -m venv "$SCRATCH/venv"
"$SCRATCH/venv/bin/pip" install sympy==1.12 antlr4-python3-runtime==4.11.1 mpmath==1.3.0 \\
    regex word2number pebble timeout-decorator numpy tqdm
"$SCRATCH/venv/bin/pip" install -e "$SCRATCH/limit-of-RLVR/math/examples/math_eval/latex2sympy"
python3.11 -m venv "$SCRATCH/venv-mv"          # math-verify needs a newer sympy than 1.12
"$SCRATCH/venv-mv/bin/pip" install math-verify==0.9.0
.venv/bin/python scripts/math_grader_parity.py \\
    --official-checkout "$SCRATCH/limit-of-RLVR/math/examples/math_eval" \\
    --official-python "$SCRATCH/venv/bin/python" \\
    --math-verify-python "$SCRATCH/venv-mv/bin/python" \\
    --data-dir "$REPRO_DATA_DIR" {options}
```
(The scratch copy used for the numbers above was taken with `git show` from a mirror at fd2cf37,
without the data folder; a clone at that commit is equivalent. `--report-only WORK_DIR` rebuilds
this file from a finished run's records. The verdicts recorded in the golden cases
(`tests/golden/math_grading_cases.jsonl`) are the official's: `--check-golden` with that file
and the two official options reruns the official on each case and lists any that differ.)"""

METHOD = """\
- **Pairs.** Ground truths come from the real benchmark files (read, sha256-checked, and turned
  into `Problem.answer` by the rule each benchmark module declares (`repro/benchmarks/sets/`), as the package does). Each
  pair puts one answer text on one extraction route. Half of the pairs walk the problems in order
  (the realistic mix: mostly integers), half draw the answer style first and look for a problem it
  fits (rare styles: matrices, intervals, radicals, units). Answer styles: equivalent rewritings
  (`equiv:*`), near misses (`near:*`), several answers (`multi:*`), wrong answers (`wrong:*`),
  pathological inputs (`path:*`). Routes: `\\boxed{}` (also several, unclosed, without braces),
  "The answer is", "final answer is", the Minerva phrase, the last number, DAPO's "Answer:",
  `\\fbox`, "答案是", truncated outputs, outputs without an answer, empty and huge (20k-100k
  characters) outputs. Reasoning text around the answer is templated from the problem's numbers.
- **Official.** In the scratch interpreter: `parse_ground_truth` as `math_eval.py` and then
  `evaluate.py` call it (MATH500 and Minerva from the solution's `\\boxed{}`), the prediction as
  `run_execute` computes it (`extract_answer`, then `strip_string` again), the multiple-choice
  post-processing of `math_eval.py`, and `math_equal_process` in a pebble `ProcessPool` with a 3 s
  timeout per pair, as `evaluate.py` (which uses one worker; here {workers}). A timeout counts as
  wrong.
- **Ours.** `repro.grading.math_paper.grade(problem, output)` with a 3 s interval timer per pair.
- **math-verify** (context only, on every k-th pair): `verify(parse("$" + answer + "$"),
  parse(output))` with its default extraction (LaTeX and plain expressions) and its own timeouts.
- **Omni-MATH** is not covered by the official code. Its reference here is Omni-MATH-Rule's rule
  (KbsdJames/omni-math-rule, `evaluation/parser.py`): the answer wrapped in `\\boxed{}` and extracted
  by the official `extract_answer`, then the official `math_equal`."""

QUIRKS = """\
Ours reproduces these behaviours of the official evaluator on purpose (each is pinned by a golden
case in `tests/golden/math_grading_cases.jsonl`); they are part of how the paper's numbers were
measured:

- Predictions are normalized twice (inside `extract_answer` and again in `run_execute`); ground
  truths once (Minerva), twice (GSM8K, OlympiadBench, AIME24, AMC23) or three times (MATH500). The
  normalizer is not idempotent: Minerva row 139 (`\\lambda_{\\text {red}} / \\sqrt{2}`) is cut to
  `\\lambda_{` by the second pass, so no output can match it; MATH500 row 383 (`x \\in [-2,7]`)
  loses its `x\\in` only on the second pass.
- MATH500 row 97 (`\\text{east}`): "east" is one of the unit words the normalizer deletes, the
  reference becomes empty, `math_eval.py` then treats it as a multiple-choice key and keeps only
  the letters A-E of every prediction, so any answer without a capital A-E ("north", nothing at
  all) is graded correct and "East" is not.
- Two numbers are equal within 1e-4 relative, and also when one is 100 times the other (the
  percentage rule: 300 is "equal" to 3); a number never gets a symbolic second chance.
- Unit words are deleted when they stand alone, among them single letters ("a", "c", "m", "s",
  "t" ...) and "and" anywhere ("1 and 2" becomes "12", equal to the number "1,2"); Minerva keeps
  them. "x=" is deleted anywhere ("y-2x=1" becomes "y-21").
- `parse_latex` reads `\\pi` and `e` as plain symbols, so `1.5708` is not `\\frac{\\pi}{2}`; it
  parses the longest valid prefix ("b+" reads as b).
- The last-resort parser reads braced lists as ordered lists ("{-2, 1+\\sqrt5}" differs from
  "{1+\\sqrt5, -2}"), braces around one item as a group, and cannot read intervals or unions, so
  a reordered union of intervals is wrong.
- OlympiadBench multi-answer items keep all their answers in `final_answer[0]` ("69$,$84"), so the
  reference is the whole list, in order."""

DELIBERATE = """\
- LaTeX parsing: sympy's own `parse_latex` first (sympy 1.14 here, 1.12 in the official; same
  grammar and ANTLR 4.11 runtime), then `parse_expr`, then `latex2sympy2_extended` 1.11.0 in place
  of the official's vendored `latex2sympy2` 1.9.0, wrapped so that it reads lists, braces,
  intervals and `\\mathrm{~m}` units the way the vendored parser does.
- `parse_expr` evaluates Python: ours calls it only on strings of safe characters whose names are
  math functions or plain symbols (the official calls it on anything, including names such as
  sympy's `test` or `plot`).
- Cost caps: no string over 600 characters, no power tower, no exponent over 100000, no factorial
  of a power reaches sympy (the official spends its 3 s on them and counts them wrong).
- Time limit: `grade` is pure; the 3 s per-pair limit is the grading pool's
  (`repro.grading.pool`), as the official's was its pebble pool's. The pool reads each output
  and compares each distinct (prediction, reference) once, each step under the limit (the
  official limited only the comparison)."""


def _rate(numerator: int, denominator: int) -> str:
    return f"{100 * numerator / denominator:.2f}%" if denominator else "n/a"


def _clip(text: str, limit: int = 160) -> str:
    text = text.replace("\n", "\\n").replace("|", "\\|").replace("`", "'")
    return text if len(text) <= limit else text[: limit // 2] + " … " + text[-limit // 2:]


def _example(record: dict) -> str:
    return (f"- `{record['id']}` ({record['kind']}, {record['route']}): answer `{_clip(record['answer'], 80)}`; "
            f"official read `{_clip(record['official_pred'], 80)}` against `{_clip(record['official_gt'], 80)}` → "
            f"{record['official_correct']}; ours read `{_clip(record['ours_pred'], 80)}` → {record['ours_correct']} "
            f"({_clip(record['ours_detail'], 100)}); math-verify → {record['mv_correct']}; output ends "
            f"`{_clip(record['output'][-100:], 100)}`")


def _agreement_table(records: list[dict], have_mv: bool) -> tuple[list[str], dict]:
    lines = [
        "| benchmark | pairs | official correct | ours correct | agreement with official | "
        "ours right, official wrong | ours wrong, official right | official timeouts |"
        + (" math-verify pairs | math-verify vs official | math-verify vs ours |" if have_mv else ""),
        "|---|---|---|---|---|---|---|---|" + ("---|---|---|" if have_mv else ""),
    ]
    summary = {}
    for bench in list(BENCHMARKS) + ["all"]:
        group = records if bench == "all" else [r for r in records if r["bench"] == bench]
        if not group:
            continue
        agree = sum(r["ours_correct"] == r["official_correct"] for r in group)
        summary[bench] = agree / len(group)
        row = (f"| {'**all**' if bench == 'all' else bench} | {len(group):,} | "
               f"{_rate(sum(r['official_correct'] for r in group), len(group))} | "
               f"{_rate(sum(r['ours_correct'] for r in group), len(group))} | **{_rate(agree, len(group))}** | "
               f"{sum(r['ours_correct'] and not r['official_correct'] for r in group)} | "
               f"{sum(r['official_correct'] and not r['ours_correct'] for r in group)} | "
               f"{sum(r['official_note'] == 'timeout' for r in group)} |")
        if have_mv:
            checked = [r for r in group if r["mv_correct"] is not None]
            with_official = sum(r["mv_correct"] == r["official_correct"] for r in checked)
            with_ours = sum(r["mv_correct"] == r["ours_correct"] for r in checked)
            row += f" {len(checked):,} | {_rate(with_official, len(checked))} | {_rate(with_ours, len(checked))} |"
            if checked:
                summary[bench + ":math-verify"] = with_official / len(checked)
        lines.append(row)
    return lines, summary


def _math_verify_section(records: list[dict]) -> list[str]:
    checked = [r for r in records if r["mv_correct"] is not None]
    differing = [r for r in checked if r["mv_correct"] != r["official_correct"]]
    lines = ["## math-verify, for context", "",
             f"math-verify 0.9.0 graded {len(checked):,} of the pairs; it differs from the official on "
             f"{len(differing):,} ({_rate(len(differing), len(checked))}): "
             f"{sum(r['mv_correct'] for r in differing)} it accepts and the official rejects, "
             f"{sum(not r['mv_correct'] for r in differing)} the reverse. It is a different grader "
             "(its own extraction over the whole output, its own handling of units, sets and intervals, "
             "no percentage rule), so this is context, not a target. Largest differences by "
             "answer style and by route:", "",
             "| variant or route | pairs | math-verify differs | accepts, official rejects | rejects, official accepts |",
             "|---|---|---|---|---|"]
    for field in ("kind", "route"):
        groups = collections.defaultdict(list)
        for record in checked:
            groups[record[field]].append(record)
        ranked = sorted(groups.items(), key=lambda item: -sum(r["mv_correct"] != r["official_correct"] for r in item[1]))
        for name, group in ranked[:8]:
            diff = [r for r in group if r["mv_correct"] != r["official_correct"]]
            lines.append(f"| {name} | {len(group)} | {_rate(len(diff), len(group))} | "
                         f"{sum(r['mv_correct'] for r in diff)} | {sum(not r['mv_correct'] for r in diff)} |")
    lines += ["", "Examples (the first differing pair of the five largest groups by answer style):", ""]
    groups = collections.defaultdict(list)
    for record in differing:
        groups[record["kind"]].append(record)
    for _, group in sorted(groups.items(), key=lambda item: -len(item[1]))[:5]:
        lines.append(_example(group[0]))
    return lines + [""]


def _coverage_section(records: list[dict]) -> list[str]:
    lines = ["## Coverage: agreement per answer style and per extraction route", ""]
    for field, title in (("kind", "answer style"), ("route", "route")):
        lines += [f"| {title} | pairs | official correct | agreement |", "|---|---|---|---|"]
        groups = collections.defaultdict(list)
        for record in records:
            groups[record[field]].append(record)
        for name, group in sorted(groups.items()):
            agree = sum(r["ours_correct"] == r["official_correct"] for r in group)
            lines.append(f"| {name} | {len(group)} | {_rate(sum(r['official_correct'] for r in group), len(group))} "
                         f"| {_rate(agree, len(group))} |")
        lines.append("")
    return lines


def write_report(path: Path, records: list[dict], run: dict) -> dict:
    have_mv = any(r["mv_correct"] is not None for r in records)
    table, summary = _agreement_table(records, have_mv)
    disagreements = [r for r in records if r["ours_correct"] != r["official_correct"]]
    classes = collections.defaultdict(list)
    for record in disagreements:
        classes[classify(record)].append(record)
    explanations = {name: text for name, _, text in DISAGREEMENT_CLASSES}
    explanations["unexplained"] = "Matched by no known class."
    timings = run["timings"]
    seconds = sorted(r["ours_seconds"] for r in records)
    lines = [
        "# Math grader parity: ours against the paper's official evaluator",
        "",
        f"Generated by `scripts/math_grader_parity.py` ({len(records):,} pairs, seed {run['seed']}); "
        "rerun the script rather than editing this file.",
        "",
        f"- Official evaluator: {OFFICIAL_REPO} at commit `{OFFICIAL_COMMIT}`, `math/examples/math_eval/` "
        "(`parser.py`, `grader.py`, called as `math_eval.py` and `evaluate.py` call them).",
        "- Ours: `repro.grading.math_paper.grade`, on outputs of the qwen-boxed style templates (no "
        "`template` in the problem: the `<answer>` tag rule of the r1-zero and deepseek-r1 templates, which the "
        "official lacks, does not apply; `repro/grading/answer_tag.py`).",
        f"- Versions: {run['versions']}.",
        f"- Machine: {run['cpus']} CPUs, {run['workers']} workers per grader.",
        "",
        "## Agreement", "",
        f"Overall agreement with the official evaluator: **{_rate(len(records) - len(disagreements), len(records))}** "
        f"({len(disagreements)} of {len(records):,} pairs differ; target: at least 99.5%).", "",
        *table, "",
        "## Disagreements, by class", "",
    ]
    if not disagreements:
        lines += ["None.", ""]
    for name, members in sorted(classes.items(), key=lambda item: -len(item[1])):
        ours_right = sum(r["ours_correct"] for r in members)
        lines += [f"### {name}: {len(members)} pairs ({ours_right} ours right / official wrong, "
                  f"{len(members) - ours_right} the reverse)", "", explanations[name], ""]
        lines += [_example(record) for record in members[:4]] + [""]
    lines += ["## Quirks of the official evaluator that ours reproduces", "", QUIRKS, "",
              "## Deliberate differences", "", DELIBERATE, "", "## How the comparison is made", "",
              METHOD.replace("{workers}", str(run["workers"])), ""]
    if have_mv:
        lines += _math_verify_section(records)
    lines += _coverage_section(records)
    lines += ["## Timing", "",
              f"- Building the pairs: {timings['build_s']:.0f} s.",
              f"- Official evaluator: {timings['official_s']:.0f} s ({timings['official_detail']}).",
              f"- Ours: {timings['ours_s']:.0f} s; per pair median {1000 * seconds[len(seconds) // 2]:.1f} ms, "
              f"99th percentile {1000 * seconds[int(len(seconds) * 0.99)]:.0f} ms, max {1000 * seconds[-1]:.0f} ms.",
              (f"- math-verify ({timings['mv_pairs']:,} pairs): {timings['mv_s']:.0f} s." if have_mv
               else "- math-verify: not run."),
              f"- Whole run: {timings['total_s']:.0f} s.", "",
              "## How to rerun", "", SETUP.replace("{options}", run["options"]), ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return summary


# =============================================================================================
# Main
# =============================================================================================


def _run_worker(python: str, mode: str, args, pairs_file: Path, results_file: Path) -> dict:
    command = [python, str(Path(__file__).resolve()), "--worker", mode, "--pairs-file", str(pairs_file),
               "--results-file", str(results_file), "--workers", str(args.workers)]
    if args.data_dir:
        command += ["--data-dir", str(args.data_dir)]
    if mode == "official":
        command += ["--official-checkout", str(args.official_checkout)]
    finished = subprocess.run(command, capture_output=True, text=True)
    if finished.returncode != 0:
        raise SystemExit(f"{mode} worker failed:\n{finished.stderr[-3000:]}")
    return json.loads(finished.stdout.strip().splitlines()[-1])


def _version(python: str, module: str) -> str:
    probe = f"import importlib.metadata as m; print(m.version('{module}'))"
    finished = subprocess.run([python, "-c", probe], capture_output=True, text=True)
    return finished.stdout.strip() or "?"


def _versions(args) -> str:
    ours = sys.executable
    text = (f"official interpreter: sympy {_version(args.official_python, 'sympy')}, antlr4 runtime "
            f"{_version(args.official_python, 'antlr4-python3-runtime')}, latex2sympy2 (vendored) "
            f"{_version(args.official_python, 'latex2sympy2')}; ours: Python {platform.python_version()}, sympy "
            f"{_version(ours, 'sympy')}, antlr4 runtime {_version(ours, 'antlr4-python3-runtime')}, "
            f"latex2sympy2_extended {_version(ours, 'latex2sympy2_extended')}, word2number {_version(ours, 'word2number')}")
    if args.math_verify_python:
        text += f"; math-verify {_version(args.math_verify_python, 'math-verify')}"
    return text


def orchestrate(args) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    started = time.time()
    work = Path(args.work_dir or tempfile.mkdtemp(prefix="math-parity-"))
    work.mkdir(parents=True, exist_ok=True)
    pairs = build_pairs(Path(args.data_dir), args.seed, args.pairs)
    pairs_file = work / "pairs.jsonl"
    write_jsonl(pairs_file, pairs)
    timings = {"build_s": time.time() - started}
    print(f"{len(pairs)} pairs built in {timings['build_s']:.0f} s; work dir {work}", flush=True)

    step = time.time()
    detail = _run_worker(args.official_python, "official", args, pairs_file, work / "official.jsonl")
    timings["official_s"] = time.time() - step
    timings["official_detail"] = f"extraction {detail['extract_s']:.0f} s, math_equal {detail['equal_s']:.0f} s"
    print(f"official: {timings['official_s']:.0f} s", flush=True)

    step = time.time()
    ours = grade_ours(pairs, args.workers)
    timings["ours_s"] = time.time() - step
    print(f"ours: {timings['ours_s']:.0f} s", flush=True)

    mv = {}
    if args.math_verify_python:
        # math-verify is context, not the target: every k-th pair keeps the run short.
        stride = max(1, len(pairs) // max(1, args.math_verify_pairs))
        write_jsonl(work / "pairs_math_verify.jsonl", pairs[::stride])
        step = time.time()
        _run_worker(args.math_verify_python, "math-verify", args, work / "pairs_math_verify.jsonl",
                    work / "math_verify.jsonl")
        timings["mv_s"], timings["mv_pairs"] = time.time() - step, len(pairs[::stride])
        mv = {r["id"]: r for r in read_jsonl(work / "math_verify.jsonl")}
        print(f"math-verify: {timings['mv_s']:.0f} s", flush=True)

    official = {r["id"]: r for r in read_jsonl(work / "official.jsonl")}
    ours_by_id = {r["id"]: r for r in ours}
    records = []
    for pair in pairs:
        o, u = official[pair["id"]], ours_by_id[pair["id"]]
        records.append({
            **{k: pair[k] for k in ("id", "bench", "kind", "route", "answer", "output")},
            "official_correct": o["correct"], "official_note": o["note"], "official_pred": o["pred"],
            "official_gt": o["gt"], "ours_correct": u["correct"], "ours_note": u["note"],
            "ours_pred": u["pred"], "ours_detail": u["detail"], "ours_seconds": u["seconds"],
            "mv_correct": mv.get(pair["id"], {}).get("correct"),
        })
    write_jsonl(work / "records.jsonl", records)
    timings["total_s"] = time.time() - started
    options = f"--pairs {args.pairs} --seed {args.seed} --workers {args.workers} --math-verify-pairs {args.math_verify_pairs}"
    run = {"seed": args.seed, "workers": args.workers, "cpus": os.cpu_count(), "timings": timings,
           "versions": _versions(args), "options": options}
    (work / "run.json").write_text(json.dumps(run, indent=1), encoding="utf-8")
    finish(work, Path(args.report))


def check_golden(args) -> None:
    """Run the official evaluator on every golden case and compare with its recorded verdict."""
    cases = read_jsonl(Path(args.check_golden))
    bench_of = {"omni-math-train": "omni-math", "omni-math-test": "omni-math"}
    pairs = [{"id": f"golden/{i:04d}", "bench": bench_of.get(c["benchmark"], c["benchmark"]), "row": None,
              "answer": c["answer"], "output": c["output"]} for i, c in enumerate(cases)]
    with tempfile.TemporaryDirectory(prefix="math-golden-") as folder:
        pairs_file, results_file = Path(folder) / "pairs.jsonl", Path(folder) / "official.jsonl"
        write_jsonl(pairs_file, pairs)
        _run_worker(args.official_python, "official", args, pairs_file, results_file)
        results = read_jsonl(results_file)
    wrong = [(i, c, r) for i, (c, r) in enumerate(zip(cases, results)) if c["correct"] != r["correct"]]
    timeouts = sum(r["note"] == "timeout" for r in results)
    for i, case, result in wrong:
        print(f"case {i} ({case['why']}): recorded {case['correct']}, official now {result['correct']} {result['note']}")
    print(f"{len(cases)} golden cases, {len(wrong)} differ from the official evaluator ({timeouts} official timeouts)")
    raise SystemExit(1 if wrong else 0)


def finish(work: Path, report: Path) -> None:
    run = json.loads((work / "run.json").read_text(encoding="utf-8"))
    records = read_jsonl(work / "records.jsonl")
    summary = write_report(report, records, run)
    print(json.dumps({k: round(v, 5) for k, v in summary.items()}, indent=1))
    print(f"report: {report}; records: {work / 'records.jsonl'}; run {run['timings']['total_s']:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--official-checkout", help="folder holding the official parser.py and grader.py")
    parser.add_argument("--official-python", help="interpreter of the official evaluator's scratch venv")
    parser.add_argument("--math-verify-python", help="interpreter with math-verify 0.9.0 (optional)")
    parser.add_argument("--data-dir", help="folder with math/<benchmark>/test.jsonl")
    parser.add_argument("--pairs", type=int, default=DEFAULT_PAIRS)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--math-verify-pairs", type=int, default=4000,
                        help="about this many pairs (every k-th) are also graded by math-verify")
    parser.add_argument("--report", default=str(Path(__file__).resolve().parent.parent / "docs" / "math_grader_parity.md"))
    parser.add_argument("--work-dir", help="where pairs and results are kept (default: a new temp folder)")
    parser.add_argument("--report-only", metavar="WORK_DIR", help="rebuild the report from a finished run")
    parser.add_argument("--check-golden", metavar="CASES_JSONL",
                        help="only check golden cases (tests/golden/math_grading_cases.jsonl) against the official")
    parser.add_argument("--worker", choices=("official", "math-verify"), help=argparse.SUPPRESS)
    parser.add_argument("--pairs-file", help=argparse.SUPPRESS)
    parser.add_argument("--results-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker == "official":
        official_worker(args)
    elif args.worker == "math-verify":
        math_verify_worker(args)
    elif args.check_golden:
        if not (args.official_checkout and args.official_python):
            parser.error("--official-checkout and --official-python are required")
        check_golden(args)
    elif args.report_only:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        finish(Path(args.report_only), Path(args.report))
    else:
        if not (args.official_checkout and args.official_python and args.data_dir):
            parser.error("--official-checkout, --official-python and --data-dir are required")
        orchestrate(args)


if __name__ == "__main__":
    main()
