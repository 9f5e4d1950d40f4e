"""The grader of the visual benchmarks (MathVista free-form, MathVision without options).

The paper trains Qwen2.5-VL-7B with EasyR1 and does not say how MathVista/MathVision
samples were judged for pass@k. The most plausible judge is the reward EasyR1 trains with
(`verl/utils/reward_score/math.py` at 3b9ae08, `math_acc_reward`): the package mathruler
0.1.0, `grade_answer(extract_boxed_content(output), ground_truth)`. That is rule 1 below,
used as is (the package, not a re-implementation). Rules 2-4 only ever turn a "wrong" into
a "right", for the answer types MathVista states, where MathVista's own evaluation
(lupantech/MathVista `evaluation/calculate_score.py`) would accept the answer and the
EasyR1 reward would not; each verdict's `detail` names the rule that decided it, and
`easyr1_accuracy` gives the plain EasyR1 verdict, so the two can always be compared.

0. Extraction (EasyR1): the content of the LAST `\\boxed{...}`, braces matched, stripped
   (mathruler `extract_boxed_content`). Without one (or with one never closed) mathruler
   returns the string "None", which matches no answer of these benchmarks: the sample is
   wrong and the verdict's `extracted` is None. `\\fbox{}` or `\\boxed 7` are not read
   (EasyR1 does not read them either).
1. mathruler `grade_answer(extracted, answer)`: MATH-style normalization (units such as
   "years", "cm", "degree" and `^\\circ` dropped; `\\text{}`, `$`, `\\%` removed; case folded),
   then string equality, then sympy equality of the difference. It demands an exact match
   when the truth is an integer ("7.5" is not "7") or an unreduced fraction, and compares
   tuples/lists element by element when both have the same brackets.
2. Unit (MathVista's `unit` field: "years" x49, "g" x1 among the free-form rows): when the
   extracted answer ends with the problem's stated unit (bare, after "~" or a space, or as
   `\\text{...}` / `\\mathrm{...}`), the unit is removed and rule 1 applied again. mathruler
   already drops "years" but not "g": "1000 g" for 1000 is right here, as in MathVista's
   evaluation, where the answer is extracted without its unit.
3. Float with a stated precision (MathVista answer_type "float", precision 1 or 2; the
   ground truth is written with exactly that many decimals): the extracted answer, when it
   is a plain number (decimal, optional sign and thousands commas, an optional "$"), or a
   simple fraction `a/b` / `\\frac{a}{b}`, is rounded to `precision` decimals and compared
   with the ground truth rounded the same way. MathVista's evaluation does
   `str(round(float(x), precision)) == answer`, i.e. it accepts 1.23 for 1.2; the rounding
   here is half away from zero on the exact value of what was written (Python's round on a
   binary float turns 2.675 into 2.67), which only differs on exact ties. An answer with
   FEWER decimals is still wrong (0.1 is not 0.13): rounding only removes digits.
4. List (MathVista answer_type "list", 2 rows): mathruler already accepts "[0,2,...]" for
   "[0, 2, ...]"; here the brackets may also be round or absent ("2014, 2016"), since the
   paper's prompt never asks for a Python list, and the elements are compared one by one,
   in order, with rule 1.

Integer answers get no rule beyond 1 and 2. MathVista's evaluation turns an integer answer
into `str(int(float(x)))`, which truncates ("7.9" would pass for 7): not followed. Text
answers only exist among MathVista's multiple-choice rows, which the benchmark drops;
MathVision states no answer type, so its answers (integers, "4.8", "(3,-4)", the letter "C")
get rules 1 and 0 only (mathruler folds case: "c" and "\\text{C}" are right for "C").

Undetermined: which grader the authors used for these pass@k curves (docs/benchmarks.md).
With this module, a run reports both numbers if asked (`easyr1_accuracy`), and rules 2-4
can be measured: they only apply to MathVista's 50 unit rows, 40 float rows and 2 list rows.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

from repro.errors import EnvironmentNotSupportedError
from repro.grading import Verdict
from repro.problems import Problem

try:
    # mathruler 0.1.0 is what EasyR1's requirements installed in March 2025 (its only release
    # until then); it needs sympy, pylatexenc and tqdm (not declared in its metadata).
    from mathruler.grader import extract_boxed_content, grade_answer
except ImportError as error:  # checked in grade(): a pool then stops instead of marking all wrong
    _IMPORT_ERROR: ImportError | None = error
else:
    _IMPORT_ERROR = None

NO_ANSWER = "no \\boxed{} answer"


def _require_mathruler() -> None:
    if _IMPORT_ERROR is not None:
        raise EnvironmentNotSupportedError(
            f"the visual grader needs the mathruler package ({_IMPORT_ERROR}); install the pinned "
            "requirements (mathruler==0.1.0, pylatexenc)")


def extract(output: str) -> str | None:
    """The last \\boxed{} content as EasyR1 reads it; None when there is none."""
    _require_mathruler()
    found = extract_boxed_content(output)
    return None if found == "None" else found


def easyr1_accuracy(output: str, ground_truth: str) -> bool:
    """EasyR1's `math_acc_reward` (3b9ae08) as a bool: rule 0 then rule 1, nothing else."""
    _require_mathruler()
    return bool(grade_answer(extract_boxed_content(output), ground_truth))


def grade(problem: Problem, output: str) -> Verdict:
    key, note = answer_key(problem, output)
    return note if key is None else verdict_of(key, note, judge_key(key))


# The grader in two steps (repro.grading.pool.SplitGrader), so that the grading pool judges
# each distinct key once. The rules read the extracted answer, the ground truth and three
# fields of the problem's metadata; the key holds exactly those.


def answer_key(problem: Problem, output: str) -> tuple[tuple | None, Verdict | None]:
    """((extracted, ground truth, unit, answer type, precision), None), or (None, the verdict)
    when the output has no answer."""
    extracted = extract(output)
    if extracted is None:
        return None, Verdict(False, None, NO_ANSWER)
    meta = problem.meta
    return (extracted, problem.answer, meta.get("unit"), meta.get("answer_type"), meta.get("precision")), None


def verdict_of(key: tuple, note: None, judged: Verdict) -> Verdict:
    return judged


def judge_key(key: tuple) -> Verdict:
    """Rules 1-4 on an extracted answer (the verdict depends on nothing else)."""
    _require_mathruler()
    extracted, truth, unit, answer_type, precision = key
    if grade_answer(extracted, truth):
        return Verdict(True, extracted, "mathruler")
    candidate = extracted
    if unit:
        stripped = strip_unit(extracted, unit)
        if stripped != extracted:
            candidate = stripped
            if grade_answer(candidate, truth):
                return Verdict(True, extracted, f"mathruler after removing the unit {unit!r}")
    if answer_type == "float" and precision is not None:
        places = int(precision)
        given, wanted = plain_number(candidate), plain_number(truth)
        if given is not None and wanted is not None and rounded(given, places) == rounded(wanted, places):
            return Verdict(True, extracted, f"equal after rounding to {places} decimal(s) (MathVista precision)")
    if answer_type == "list":
        given_items, wanted_items = list_items(candidate), list_items(truth)
        if given_items is not None and wanted_items is not None and len(given_items) == len(wanted_items) \
                and all(grade_answer(g, w) for g, w in zip(given_items, wanted_items)):
            return Verdict(True, extracted, "list equal element by element")
    return Verdict(False, extracted, "not equivalent to the ground truth")


# ------------------------------------------------------------------ rule helpers

_UNIT_WRAPPERS = r"\\(?:text|textrm|mathrm|mbox|rm)\s*\{\s*(?:\\[,;! ]|~|\s)*{unit}\s*\}"


def strip_unit(answer: str, unit: str) -> str:
    """The answer without a trailing stated unit ("1000 g", "1000~\\text{g}" -> "1000"); the
    answer itself when it does not end with the unit, or is only the unit."""
    escaped = re.escape(unit)
    pattern = (r"^(?P<value>.*?)(?:\s|~|\\[,;! ])*(?:" + _UNIT_WRAPPERS.replace("{unit}", escaped)
               + r"|(?<![A-Za-z])" + escaped + r")\s*\.?$")
    match = re.match(pattern, answer.strip(), flags=re.DOTALL)
    if match is None or not match.group("value").strip():
        return answer
    return match.group("value").strip()


_DECIMAL = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|[+-]?\.\d+")
_FRACTION = re.compile(r"(?P<sign>[+-]?)(?:\\[dt]?frac\{(?P<a>\d+)\}\{(?P<b>\d+)\}|(?P<c>\d+)\s*/\s*(?P<d>\d+))")


def plain_number(text: str) -> Fraction | None:
    """The exact value of a plainly written number: "1,234.5", "-0.13", "$0.13", "\\$0.13",
    "3/4", "\\frac{3}{4}"; None for anything else (expressions are left to mathruler)."""
    cleaned = text.strip()
    if cleaned.startswith("$") and cleaned.endswith("$") and len(cleaned) > 1:
        cleaned = cleaned[1:-1].strip()  # math mode
    cleaned = cleaned.replace("\\$", "").replace("$", "").replace("\\!", "").strip()
    if cleaned.endswith(".") and not _DECIMAL.fullmatch(cleaned):
        cleaned = cleaned[:-1]  # a full stop after the number
    if _DECIMAL.fullmatch(cleaned):
        return Fraction(cleaned.replace(",", ""))
    match = _FRACTION.fullmatch(cleaned)
    if match:
        top, bottom = (match.group("a"), match.group("b")) if match.group("a") else (match.group("c"), match.group("d"))
        if int(bottom) == 0:
            return None
        value = Fraction(int(top), int(bottom))
        return -value if match.group("sign") == "-" else value
    return None


def rounded(value: Fraction, places: int) -> Fraction:
    """value rounded to `places` decimals, ties away from zero."""
    scale = 10 ** places
    magnitude = math.floor(abs(value) * scale + Fraction(1, 2))
    return Fraction(magnitude if value >= 0 else -magnitude, scale)


def list_items(text: str) -> list[str] | None:
    """The elements of "[a, b]", "(a, b)" or "a, b" (None when an element is empty)."""
    cleaned = text.strip().replace("\\left", "").replace("\\right", "")
    if len(cleaned) >= 2 and cleaned[0] in "[(" and cleaned[-1] in "])":
        cleaned = cleaned[1:-1]
    items = [item.strip() for item in cleaned.split(",")]
    if not cleaned.strip() or any(not item for item in items):
        return None
    return items


def warm_up() -> None:
    """Load sympy and pylatexenc now, and parse once, so that the first pair of a grading
    worker does not pay for it under its 3 s limit."""
    if _IMPORT_ERROR is None:
        grade_answer("\\frac{1}{2}", "0.5")


warm_up()
