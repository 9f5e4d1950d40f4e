"""Math grader with the semantics of the paper's official evaluator.

The paper graded math with the Qwen2.5-Math evaluation code shipped in LeapLabTHU/limit-of-RLVR
(commit fd2cf37, `math/examples/math_eval/`: `parser.py` for extraction and normalization,
`grader.py` for equality, `math_eval.py` and `evaluate.py` for the order in which they run).
This module re-implements that behaviour from its observable semantics (no code is taken from
it); `docs/math_grader_parity.md` measures the agreement pair by pair.

Pipeline for one (output, ground truth) pair, as the official scripts run it:

1. the answer is extracted from the output (`extract_answer`): the Minerva phrase "final answer
   is $...$. I hope", else the last `boxed{...}`, else the text after the last "he answer is",
   else after "final answer is", else after "答案是", else the last number; then it is
   normalized (`normalize_answer`), and normalized a second time (the official pipeline calls
   its normalizer inside the extractor and again on the result);
2. the ground truth is normalized per benchmark (`normalize_ground_truth`); the number of
   normalization passes differs per benchmark, as in the official code;
3. a ground truth made only of the letters A-E (or empty) is treated as a multiple-choice key,
   and the prediction keeps only those letters (this is what makes MATH500 item 97, whose
   answer "east" normalizes to "", accept almost anything; the paper's numbers include it);
4. the two strings are compared by `answers_equal` (the ToRA/Qwen-Math `math_equal`): string,
   numeric (with percentage variants), brackets, tuples, matrices, equations, then sympy.

One rule precedes step 1 and is not the evaluator's: outputs of the `r1-zero` and
`deepseek-r1` templates (asked for "<answer> ... </answer>") are read from their last
`<answer>` tag when they have one (`repro.grading.answer_tag`, from the R1-Zero style rewards);
the tag's content is then normalized as in step 1. Without a tag, or for any other template,
the pipeline above is unchanged; the parity study covers the other templates only.

Per-benchmark differences: Minerva keeps units (no unit-word removal) and normalizes its ground
truth once; MATH500 ground truth passes through the normalizer three times, the others twice.
Omni-MATH is not covered by the official code; it follows KbsdJames/omni-math-rule (the ground
truth is wrapped in `\\boxed{}` and extracted like an output), see `normalize_ground_truth`.

Deliberate differences (all counted in the parity study):
- LaTeX is parsed with sympy's own `parse_latex` (as the official does, sympy 1.12 there), then a
  guarded `parse_expr`, then `latex2sympy2_extended` (the maintained fork of the vendored
  `latex2sympy2` the official uses as its last resort), wrapped so that lists, braces and
  intervals read as the vendored parser reads them (`_read_lists_like_vendored`).
- `parse_expr` evaluates Python; it is only called on strings made of safe characters whose
  names are plain symbols or known math functions (the official calls it on anything).
- Length and size caps keep sympy away from inputs that would not finish (see `MAX_SYMPY_CHARS`
  and `_too_costly_for_sympy`); the official relies on its 3 s per-pair timeout instead, which
  counts such pairs as wrong, as the caps do. Per-pair timeouts are the caller's job: `grade`
  is a pure function meant to run inside a process pool with a timeout.
"""

from __future__ import annotations

import builtins
import keyword
import math
import re
import warnings
from functools import lru_cache

from word2number import w2n

from repro.grading import Verdict
from repro.grading.answer_tag import ANSWER_TAG_TEMPLATES, answer_tag_content, brace_content
from repro.problems import Problem

# ---------------------------------------------------------------------------------------------
# Benchmarks
# ---------------------------------------------------------------------------------------------

# Our benchmark keys, and the aliases the official scripts use for them.
_ALIASES = {
    "gsm8k": "gsm8k",
    "math500": "math500",
    "minerva": "minerva",
    "minerva_math": "minerva",
    "olympiad": "olympiad",
    "olympiadbench": "olympiad",
    "aime24": "aime24",
    "aime24-filtered": "aime24",
    "amc23": "amc23",
    "omni-math-train": "omni-math",
    "omni-math-test": "omni-math",
    "omni-math-rule": "omni-math",
    "omni-math": "omni-math",
}

# Benchmarks whose answers keep their units (the official skips unit-word removal for them).
_KEEPS_UNITS = {"minerva"}


def canonical_benchmark(benchmark: str) -> str:
    """Our key for a benchmark name (accepts the official data names too)."""
    try:
        return _ALIASES[benchmark]
    except KeyError:
        raise ValueError(f"unknown math benchmark {benchmark!r}; known: {sorted(_ALIASES)}") from None


def benchmark_of(problem: Problem) -> str:
    """The benchmark a problem belongs to: `meta["benchmark"]` (set by the grading pipeline),
    else the evaluator data name the loader records (`meta["data_name"]`), else the prefix of
    its id ('math500/0097', 'omni-math-rule/0001')."""
    name = problem.meta.get("benchmark") or problem.meta.get("data_name") or problem.problem_id.split("/", 1)[0]
    return canonical_benchmark(name)


# ---------------------------------------------------------------------------------------------
# Normalization (the official `strip_string`)
# ---------------------------------------------------------------------------------------------

# Unit and filler words removed when they stand alone (between non-word characters). They come
# from MathQA-style answers ("5 mph", "rs . 30"). Each word is used as a regular expression, so
# " ." matches any character after a space ("a ." also eats "a b"); the order matters because a
# removal consumes the delimiters around the word. Both the order and the spellings (including
# "sqaure", "v â € ™" and the duplicates) reproduce the official behaviour; plural forms
# (word + "s") follow the whole list, in the same order, and two passes are made.
_UNIT_WORDS_BASE = (
    "east", "degree", "mph", "kmph", "ft", "m sqaure", " m east", "sq m", "deg", "mile",
    "q .", "monkey", "prime", "ratio", "profit of rs", "rd", "o", "gm", "p . m", "lb",
    "tile", "per", "dm", "lt", "gain", "ab", "way", "west",
    "a .", "b .", "c .", "d .", "e .", "f .", "g .", "h .",
    "t", "a", "h", "no change", "men", "soldier", "pie", "bc", "excess", "st", "inches",
    "noon", "percent", "by", "gal", "kmh", "c", "acre", "rise", "a . m", "th", "π r 2",
    "sq", "mark", "l", "toy", "coin", "sq . m", "gallon", "° f", "profit", "minw", "yr",
    "women", "feet", "am", "pm", "hr", "cu cm", "square", "v â € ™", "are", "rupee",
    "rounds", "cubic", "cc", "mtr", "s", "ohm", "number", "kmph", "day", "hour", "minute",
    "min", "second", "man", "woman", "sec", "cube", "mt", "sq inch", "mp", "∏ cm ³",
    "hectare", "more", "sec", "unit", "cu . m", "cm 2", "rs .", "rs", "kg", "g", "month",
    "km", "m", "cm", "mm", "apple", "liter", "loss", "yard", "pure", "year", "increase",
    "decrease", "d", "less", "Surface", "litre", "pi sq m", "s .", "metre", "meter", "inch",
)
_UNIT_WORDS = _UNIT_WORDS_BASE + tuple(word + "s" for word in _UNIT_WORDS_BASE)


def _unit_rule(word: str) -> tuple[str, re.Pattern[str]]:
    # The literal part before any "." wildcard lets us skip the regex when it cannot match
    # (an exact shortcut: the pattern needs that literal text).
    literal = word.split(".")[0].strip() or word
    return literal, re.compile(r"(^|\W)" + word + r"($|\W)")


_UNIT_RULES = tuple(_unit_rule(word) for word in _UNIT_WORDS)

_ARRAY_BEGIN = re.compile(r"\\begin\{array\}\{.*?\}")
_TEXT_CONTENT = re.compile(r"\\text\{(.*?)\}")
_MBOX = re.compile(r"\\mbox\{.*?\}")
# "2.0x" -> "2x", "3.00" -> "3". Anchored on the single digit before the dot: the official
# pattern starts with a digit run, which backtracks quadratically on long digit strings; the
# matches (and so the result) are the same.
_TRAILING_ZEROS_INSIDE = re.compile(r"(\d)\.0*([^\d])")
_TRAILING_ZEROS_AT_END = re.compile(r"(\d)\.0*$")
_SQRT_WITHOUT_BRACES = re.compile(r"\\sqrt(\w+)")
# Variable prefixes dropped anywhere in the answer ("x=5" -> "5", "x\in[0,1]" -> "[0,1]").
_VARIABLE_PREFIXES = ("x=", "y=", "z=", "x\\in", "y\\in", "z\\in", "x\\to", "y\\to", "z\\to")


def _drop_trailing_text_label(text: str) -> str:
    """Drop a unit label: from the first \\text{ to the end, when the answer ends with '}'.

    ("10\\text{ cm}" -> "10"; "\\text{(A)}" alone is kept because nothing would be left.)
    """
    start = text.find("\\text{")
    if start < 0 or not text.endswith("}") or len(text) - 1 < start + len("\\text{"):
        return text
    kept = text[:start].strip()
    return kept if kept else text


def _drop_unit_words(text: str) -> str:
    for _ in range(2):
        for literal, pattern in _UNIT_RULES:
            if literal not in text:
                continue
            reduced = pattern.sub(r"\1\2", text)
            if reduced:  # a unit word is never removed if nothing would be left
                text = reduced
    return text


def _words_to_number(text: str) -> str:
    """'five' -> '5' (the word2number package, as the official; anything else unchanged)."""
    try:
        return str(w2n.word_to_num(text))
    except Exception:  # word2number signals "not a number" with assorted exceptions
        return text


def _fix_fracs(text: str) -> str:
    """Add braces to short fractions: \\frac12 -> \\frac{1}{2}, \\frac1{72} -> \\frac{1}{72}."""
    pieces = text.split("\\frac")
    rebuilt = [pieces[0]]
    for piece in pieces[1:]:
        if piece.startswith("{"):
            rebuilt.append("\\frac" + piece)
            continue
        if len(piece) < 2:
            return text  # a bare "\frac" at the end: give up, keep the input as it was
        numerator, second, rest = piece[0], piece[1], piece[2:]
        if second == "{":
            rebuilt.append("\\frac{" + numerator + "}{" + rest)
        else:
            rebuilt.append("\\frac{" + numerator + "}{" + second + "}" + rest)
    return "".join(rebuilt)


def _fix_slash_fraction(text: str) -> str:
    """'3/4' -> '\\frac{3}{4}' when both sides are plain integers (or contain sqrt)."""
    parts = text.split("/")
    if len(parts) != 2:
        return text
    numerator, denominator = parts
    try:
        if "sqrt" not in numerator:
            numerator = str(int(numerator))
        if "sqrt" not in denominator:
            denominator = str(int(denominator))
    except ValueError:
        return text
    if f"{numerator}/{denominator}" != text:  # only canonical spellings ("03/4" stays)
        return text
    return "\\frac{" + numerator + "}{" + denominator + "}"


def _is_short_assignment(text: str) -> bool:
    sides = text.split("=")
    return len(sides) == 2 and len(sides[0]) <= 2


def normalize_answer(text: str, keep_units: bool = False) -> str:
    """One pass of the official answer normalizer (`strip_string`).

    The steps run in the official order; several are blunt on purpose (they are what the
    paper's numbers were measured with): "and" is deleted anywhere, single letters such as
    "a", "c", "m" are deleted when they stand alone (unless `keep_units`), "j" becomes "i" when
    there is no "i", and so on.
    """
    text = str(text).strip().replace("\n", "").rstrip(".")
    text = text.replace("\\!", "")
    # Arrays and bmatrix are compared as pmatrix.
    text = _ARRAY_BEGIN.sub(lambda _: "\\begin{pmatrix}", text)
    text = text.replace("\\end{array}", "\\end{pmatrix}").replace("bmatrix", "pmatrix")
    text = text.replace("tfrac", "frac").replace("dfrac", "frac")
    text = text.replace("\\neq", "\\ne").replace("\\leq", "\\le").replace("\\geq", "\\ge")
    text = text.replace("\\left", "").replace("\\right", "")
    text = text.replace("\\{", "{").replace("\\}", "}")
    text = _drop_trailing_text_label(text)
    if not keep_units:
        text = _drop_unit_words(text)
    text = text.replace("^{\\circ}", "").replace("^\\circ", "")
    text = text.replace("\\$", "").replace("$", "")
    text = text.replace("\\(", "").replace("\\)", "")
    text = _words_to_number(text)
    text = _TEXT_CONTENT.sub(lambda match: match.group(1), text)
    for prefix in _VARIABLE_PREFIXES:
        text = text.replace(prefix, "")
    text = text.replace("\\emptyset", "{}").replace("(-\\infty,\\infty)", "\\mathbb{R}")
    text = text.replace("\\%", "").replace("%", "")
    text = text.replace(" .", " 0.").replace("{.", "{0.")
    # (The official also tries to unwrap "{x}" / "(x)" / "[x]" when the whole string is
    # alphanumeric, which can never hold with the brackets in it: no step here.)
    text = text.replace("infinity", "\\infty")
    if "\\infty" not in text:
        text = text.replace("inf", "\\infty")
    text = text.replace("+\\inity", "\\infty")
    text = text.replace("and", "").replace("\\mathbf", "")
    text = _MBOX.sub("", text)
    if "j" in text and "i" not in text:
        text = text.replace("j", "i")  # engineering imaginary unit
    text = _TRAILING_ZEROS_INSIDE.sub(lambda m: m.group(1) + m.group(2), text)
    text = _TRAILING_ZEROS_AT_END.sub(lambda m: m.group(1), text)
    if not text:
        return text
    if text.startswith("."):
        text = "0" + text
    if _is_short_assignment(text):  # "k=5" -> "5"
        text = text.split("=")[1]
    text = _SQRT_WITHOUT_BRACES.sub(lambda m: "\\sqrt{" + m.group(1) + "}", text)
    text = text.replace(" ", "")
    text = _fix_fracs(text)
    return _fix_slash_fraction(text)


# ---------------------------------------------------------------------------------------------
# Extraction (the official `extract_answer`)
# ---------------------------------------------------------------------------------------------

_MINERVA_OPEN = "final answer is $"
_MINERVA_CLOSE = "$. I hope"
_STEP_TAG = "\u043a\u0438"  # "ки", a step marker some reward-model outputs carry
_NUMBER = re.compile(r"-?\d*\.?\d+")
_NEWLINE_AND_INDENT = re.compile(r"\n\s*")


def _after_last_boxed(output: str) -> str | None:
    """Content of the last 'boxed' ('boxed{...}' brace-matched, or 'boxed 5$' up to a '$')."""
    tail = output.rsplit("boxed", 1)[1]
    if not tail:
        return None
    if tail.startswith("{"):
        return brace_content(tail)
    return tail.split("$")[0].strip()


def _raw_answer(output: str) -> tuple[str, str]:
    """(route, raw answer text) in the official order of preference."""
    if _MINERVA_OPEN in output and _MINERVA_CLOSE in output:
        after = output.split(_MINERVA_OPEN, 1)[1]
        return "minerva-phrase", after.split(_MINERVA_CLOSE, 1)[0].strip()
    if "boxed" in output:
        boxed = _after_last_boxed(output)
        return ("boxed", boxed) if boxed is not None else ("boxed-empty", "")
    if "he answer is" in output:
        return "the-answer-is", output.rsplit("he answer is", 1)[1].strip()
    if "final answer is" in output:
        return "final-answer-is", output.rsplit("final answer is", 1)[1].strip()
    if "答案是" in output:
        return "chinese-answer", output.split("答案是")[1].strip().split("\n\n")[0].strip()
    numbers = _NUMBER.findall(output.replace(",", ""))
    return ("last-number", numbers[-1]) if numbers else ("none", "")


def _tidy_extracted(raw: str) -> str:
    """Join lines and drop one leading ':' and one trailing '.' then '/' (as the official)."""
    text = _NEWLINE_AND_INDENT.sub("", raw)
    if text.startswith(":"):
        text = text[1:]
    if text.endswith("."):
        text = text[:-1]
    if text.endswith("/"):
        text = text[:-1]
    return text


def _extract(output: str, benchmark: str) -> tuple[str, str]:
    """(route, answer normalized twice) exactly as the official pipeline grades it."""
    keep_units = benchmark in _KEEPS_UNITS
    route, raw = _raw_answer(output.replace(_STEP_TAG, ""))
    if route == "boxed-empty":
        # The official returns "" here before normalizing; normalizing "" gives "" anyway.
        return route, ""
    once = normalize_answer(_tidy_extracted(raw), keep_units)
    return route, normalize_answer(once, keep_units)


def _extract_for_template(output: str, benchmark: str, template: str) -> tuple[str, str]:
    """(route, answer normalized twice): the `<answer>` tag first for the templates that ask
    for one (repro.grading.answer_tag), then the evaluator's own rules (`_extract`).

    The tag's content takes the place of the evaluator's extracted text and is tidied and
    normalized exactly as that text would be. Other templates (the qwen-boxed family the
    parity study covers) never reach the tag rule, so their verdicts are the evaluator's.
    """
    if template in ANSWER_TAG_TEMPLATES:
        tagged = answer_tag_content(output.replace(_STEP_TAG, ""))
        if tagged is not None:
            keep_units = benchmark in _KEEPS_UNITS
            once = normalize_answer(_tidy_extracted(tagged), keep_units)
            return "answer-tag", normalize_answer(once, keep_units)
    return _extract(output, benchmark)


def extract_answer(output: str, benchmark: str, template: str = "") -> str | None:
    """The answer the paper's evaluator reads from a model output, normalized; None if none.

    The normalizer runs twice, as in the official pipeline. None means the answer is empty
    (nothing found, or nothing left after normalization). `template`: the prompt template the
    output was made with (the `<answer>` rule applies to r1-zero and deepseek-r1 only).
    """
    _, answer = _extract_for_template(output, canonical_benchmark(benchmark), template)
    return answer or None


# ---------------------------------------------------------------------------------------------
# Ground truth
# ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def normalize_ground_truth(answer: str, benchmark: str) -> str:
    """The reference string the official evaluator compares against, from our Problem.answer.

    Problem.answer is the raw answer (the boxed content of the solution for MATH500 and
    Minerva, `final_answer[0]` without "$" for OlympiadBench, the field for the others).
    The official pipeline normalizes it a different number of times per benchmark:
    - MATH500: extracted from the solution (one pass), then two more passes;
    - Minerva: extracted from the solution with units kept (one pass), nothing more;
    - GSM8K, OlympiadBench, AIME24, AMC23: two passes;
    - Omni-MATH (not in the official code; KbsdJames/omni-math-rule's rule): the answer is
      wrapped as "\\boxed{answer}" and extracted like a model output (one pass).
    """
    key = canonical_benchmark(benchmark)
    if key == "omni-math":
        text = str(answer).strip()
        wrapped = text if "boxed" in text else "\\boxed{" + text + "}"
        route, raw = _raw_answer(wrapped.replace(_STEP_TAG, ""))
        return normalize_answer(_tidy_extracted(raw)) if route != "boxed-empty" else ""
    if key == "minerva":
        return normalize_answer(_tidy_extracted(str(answer)), keep_units=True)
    if key == "math500":
        return normalize_answer(normalize_answer(normalize_answer(_tidy_extracted(str(answer)))))
    return normalize_answer(normalize_answer(str(answer)))


# ---------------------------------------------------------------------------------------------
# Equality (the official `math_equal`)
# ---------------------------------------------------------------------------------------------

_CHOICES = ("A", "B", "C", "D", "E")
_CHOICE_LETTER = re.compile(r"\b(A|B|C|D|E)\b")
_BRACKETED = re.compile(r"[(\[].+[)\]]")
_PMATRIX_BEGIN = "\\begin{pmatrix}"
_PMATRIX_END = "\\end{pmatrix}"
_MATRIX_BEGINS = ("\\begin{pmatrix}", "\\begin{bmatrix}")
_MATRIX_ENDS = ("\\end{pmatrix}", "\\end{bmatrix}")
_BRACED_LIST = re.compile(r"\{.*,.*\}")
RELATIVE_TOLERANCE = 1e-4


def _choice_letter(text: str) -> str:
    """The multiple-choice letter an answer names: the last standalone A-E, else the text.

    (grader.py's `choice_answer_clean`, used inside `math_equal`.)
    """
    text = text.strip("\n").rstrip(".").rstrip("/").strip(" ").lstrip(":")
    letters = _CHOICE_LETTER.findall(text.upper())
    answer = letters[-1] if letters else text.strip().strip(".")
    return answer.rstrip(".").rstrip("/")


_CHOICE_TRIGGERS = ("choice is", "answer is")


def _choice_from_output(output: str) -> str:
    """The letter a whole output chooses (parser.py's `choice_answer_clean`, which
    `math_eval.py` applies to outputs graded against a one-letter key).

    After the last "choice is" / "answer is" the first standalone A-E counts, otherwise the
    last one of the text; an output repeating a trigger (few-shot echo) is cut at its first
    blank line first.
    """
    text = output.strip("\n")
    if any(text.count(trigger) > 1 for trigger in _CHOICE_TRIGGERS):
        text = text.split("\n\n")[0]
    pieces = re.split("|".join(_CHOICE_TRIGGERS), text)
    after_trigger = len(pieces) > 1
    text = pieces[-1].strip("\n").rstrip(".").rstrip("/").strip(" ").lstrip(":")
    letters = _CHOICE_LETTER.findall(text.upper()) or [text.strip().strip(".")]
    answer = letters[0] if after_trigger else letters[-1]
    return answer.rstrip(".").rstrip("/")


def _as_number(text: str) -> float | None:
    """Float value of a plain number ('1,000', '2.5', '1e3', '50%', '50\\%'), else None."""
    cleaned = str(text).replace(",", "")
    try:
        return float(cleaned)
    except ValueError:
        pass
    if cleaned.endswith("%"):
        cleaned = cleaned[:-1]
        if cleaned.endswith("\\"):
            cleaned = cleaned[:-1]
        try:
            return float(cleaned) / 100
        except ValueError:
            return None
    return None


def _numbers_equal(prediction: float, reference: float) -> bool:
    """Equal within 1e-4 relative, also if one is the other as a percentage (x100 or /100)."""
    for candidate in (reference / 100, reference, reference * 100):
        if math.isclose(candidate, prediction, rel_tol=RELATIVE_TOLERANCE):
            return True
    return False


def _braced_lists_as_pmatrix(reference: str) -> str:
    """'{1,2}' -> a one-row pmatrix (how the official compares a matrix with a braced list).

    A reference with no braced list becomes "" (kept: the official does the same).
    """
    matrices = []
    for found in _BRACED_LIST.findall(reference.strip()):
        cells = found.strip("{}").replace(",", "\\")
        matrices.append(_PMATRIX_BEGIN + cells + _PMATRIX_END)
    return ", ".join(matrices)


def _without_brackets(prediction: str, reference: str) -> tuple[str, str]:
    """Both strings with grouping brackets removed, the way the official compares them."""
    pred_text, ref_text = prediction, reference
    pred_is_list = prediction.startswith("[") and prediction.endswith("]") and not reference.startswith("(")
    pred_is_tuple = prediction.startswith("(") and prediction.endswith(")") and not reference.startswith("[")
    if pred_is_list or pred_is_tuple:
        pred_text, ref_text = pred_text.strip("[]()"), ref_text.strip("[]()")
    for bracket in "{}()":
        pred_text, ref_text = pred_text.replace(bracket, ""), ref_text.replace(bracket, "")
    return pred_text, ref_text


def _elementwise_equal(pred_parts: list[str], ref_parts: list[str]) -> bool:
    return len(pred_parts) == len(ref_parts) and all(
        _math_equal(p, r) is not None for p, r in zip(pred_parts, ref_parts)
    )


def _tuples_equal(prediction: str, reference: str) -> bool:
    """(a, b) vs [c, d]: element-wise, ignoring the bracket kinds (open vs closed)."""
    if _BRACKETED.match(prediction) is None or _BRACKETED.match(reference) is None:
        return False
    return _elementwise_equal(prediction[1:-1].split(","), reference[1:-1].split(","))


def _is_matrix(text: str) -> bool:
    return text.startswith(_MATRIX_BEGINS) and text.endswith(_MATRIX_ENDS)


def _matrix_rows(text: str) -> list[str]:
    body = text[len(_PMATRIX_BEGIN) : -len(_PMATRIX_END)]
    return [row.strip() for row in body.split("\\\\") if row.strip()]


def _matrices_equal(prediction: str, reference: str) -> bool:
    if not (_is_matrix(prediction) and _is_matrix(reference)):
        return False
    pred_rows, ref_rows = _matrix_rows(prediction), _matrix_rows(reference)
    if len(pred_rows) != len(ref_rows):
        return False
    return all(_elementwise_equal(p.split("&"), r.split("&")) for p, r in zip(pred_rows, ref_rows))


def _equations_equal(prediction: str, reference: str) -> str | None:
    """'y = 2x+1' vs 'y - 2x = 1' (moved to one side, either sign), or 'k=5' vs '5'."""
    if prediction.count("=") == 1 and reference.count("=") == 1:
        pred_left, pred_right = (side.strip() for side in prediction.split("="))
        ref_left, ref_right = (side.strip() for side in reference.split("="))
        pred_moved = f"{pred_left} - ({pred_right})"
        ref_moved = f"{ref_left} - ({ref_right})"
        if symbolic_equal(pred_moved, ref_moved) or symbolic_equal(f"-({pred_moved})", ref_moved):
            return "equation"
    elif prediction.count("=") == 1 and len(prediction.split("=")[0].strip()) <= 2 and "=" not in reference:
        if _math_equal(prediction.split("=")[1], reference) is not None:
            return "assignment"
    elif reference.count("=") == 1 and len(reference.split("=")[0].strip()) <= 2 and "=" not in prediction:
        if _math_equal(prediction, reference.split("=")[1]) is not None:
            return "assignment"
    return None


def _math_equal(prediction: str, reference: str) -> str | None:
    """How the two answers were found equal ('string', 'numeric', ...), or None if not equal."""
    if prediction is None or reference is None:
        return None
    if prediction.strip().lower() == reference.strip().lower():
        return "string"
    if reference in _CHOICES and _choice_letter(prediction) == reference:
        return "choice"
    pred_number, ref_number = _as_number(prediction), _as_number(reference)
    if pred_number is not None and ref_number is not None:
        # Two numbers are compared as numbers only: no symbolic second chance.
        return "numeric" if _numbers_equal(pred_number, ref_number) else None
    if not prediction:
        return None
    prediction, reference = prediction.strip(), reference.strip()
    if "pmatrix" in prediction and "pmatrix" not in reference:
        reference = _braced_lists_as_pmatrix(reference)
    pred_bare, ref_bare = _without_brackets(prediction, reference)
    if pred_bare.lower() == ref_bare.lower():
        return "brackets"
    if _tuples_equal(prediction, reference):
        return "tuple"
    if _matrices_equal(prediction, reference):
        return "matrix"
    how = _equations_equal(prediction, reference)
    if how:
        return how
    if symbolic_equal(prediction, reference):
        return "symbolic"
    return None


def answers_equal(prediction: str, reference: str) -> bool:
    """The official `math_equal` on two already-normalized answers."""
    return _math_equal(prediction, reference) is not None


# ---------------------------------------------------------------------------------------------
# Symbolic equality
# ---------------------------------------------------------------------------------------------

# Longest string handed to a sympy parser. Ground truths of the seven benchmarks are at most
# ~200 characters after normalization; longer predictions are compared as strings and numbers
# only (the official would spend its 3 s timeout on them and count them wrong).
MAX_SYMPY_CHARS = 600
# Largest integer literal allowed as an exponent or before a factorial: 2^100000 takes
# milliseconds, 2^(10^10) or (10^7)! does not finish. Power towers are refused too.
MAX_EXPONENT = 100_000
_EXPONENT_LITERAL = re.compile(r"(?:\^|\*\*)\s*[{(]?\s*(\d+)")
_FACTORIAL_LITERAL = re.compile(r"(\d+)\s*[})]?\s*!")
# A factorial of a bracket holding a power: (10^{7})!.
_FACTORIAL_OF_POWER = re.compile(r"(?:\^|\*\*)[^!()]*[)}]\s*!")
# A number raised to a number raised to something: 2^{10^{10}}, 10^{10}^{10}, 9**9**9.
_POWER_TOWER = re.compile(r"(?:\^|\*\*)\s*[{(]?\s*\d+\s*[})]?\s*(?:\^|\*\*)")
# Names parse_expr may see: math functions and constants; other known names (sympy's own
# helpers such as `test` or `plot`, Python builtins such as `exit`) are refused, unknown names
# become symbols.
_SAFE_EXPRESSION_CHARS = re.compile(r"[0-9A-Za-z+\-*/^().,<>=!|\s]*")
_IDENTIFIER = re.compile(r"[A-Za-z]\w*")
_MATH_NAMES = frozenset(
    "sqrt cbrt root sin cos tan cot sec csc asin acos atan acot asec acsc sinh cosh tanh "
    "log ln exp pi E I oo Abs abs factorial binomial floor ceiling gcd lcm Rational "
    "Integer Float Symbol Max Min re im arg conjugate".split()
)
_UNSAFE_NAMES = frozenset(dir(builtins)) | frozenset(keyword.kwlist)


def _too_costly_for_sympy(text: str) -> bool:
    if len(text) > MAX_SYMPY_CHARS:
        return True
    if _POWER_TOWER.search(text):
        return True
    if _FACTORIAL_OF_POWER.search(text):
        return True
    literals = _EXPONENT_LITERAL.findall(text) + _FACTORIAL_LITERAL.findall(text)
    return any(len(digits) > 6 or int(digits) > MAX_EXPONENT for digits in literals)


def _safe_for_parse_expr(text: str) -> bool:
    if _SAFE_EXPRESSION_CHARS.fullmatch(text) is None:
        return False
    for name in _IDENTIFIER.findall(text):
        if name in _MATH_NAMES:
            continue
        if name in _UNSAFE_NAMES or _sympy_namespace().get(name) is not None:
            return False
    return True


@lru_cache(maxsize=1)
def _sympy_namespace() -> dict:
    import sympy

    return vars(sympy)


def _parsers():
    """The three parsers, in the official order of trust (imported lazily: sympy is slow to load)."""
    from latex2sympy2_extended import latex2sympy
    from sympy.parsing.latex import parse_latex
    from sympy.parsing.sympy_parser import parse_expr

    def guarded_parse_expr(text: str):
        if not _safe_for_parse_expr(text):
            raise ValueError("not a safe plain expression")
        with warnings.catch_warnings():  # Python warns about odd syntax such as "(1,2)(3)"
            warnings.simplefilter("ignore", SyntaxWarning)
            return parse_expr(text)

    def like_vendored_latex2sympy(text: str):
        return _read_lists_like_vendored(text, latex2sympy)

    return (parse_latex, guarded_parse_expr, like_vendored_latex2sympy)


def _top_level_split(text: str, separator: str = ",") -> list[str]:
    """Split at separators outside any bracket pair."""
    parts, depth, start = [], 0, 0
    for position, char in enumerate(text):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == separator and depth == 0:
            parts.append(text[start:position])
            start = position + 1
    parts.append(text[start:])
    return parts


def _closing_bracket(text: str) -> int:
    """Index of the bracket that closes text[0], or -1."""
    depth = 0
    for position, char in enumerate(text):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth == 0:
                return position
    return -1


# Spacing the vendored parser fails on: "~" (as in "\mathrm{~m}", mostly), "\ ", "\;", "\:", "\!".
_VENDORED_UNREADABLE = re.compile(r"~|\\[ ;:!]")


def _read_lists_like_vendored(text: str, parse):
    """The last-resort parse, with the list rules of the official's vendored latex2sympy2.

    latex2sympy2_extended reads "{a, b}" as a set, "(a, b)" as an interval or tuple and
    "{a}" as a one-element set; the vendored parser the official falls back to reads a comma
    list (bare, or in [] or {}) as an ordered Python list and ignores what follows its closing
    bracket, reads "{a}" as a group, and cannot parse comma lists in parentheses (intervals,
    tuples, unions of them) nor spacing commands such as "\\ " or "~" (units spelled
    "\\mathrm{~m}"). Matching it keeps the verdicts the paper got: for instance "{1, 2}" and
    "{2, 1}" are different lists there.
    """
    if _VENDORED_UNREADABLE.search(text):
        raise ValueError("the vendored parser cannot read this spacing")
    opener = text[:1]
    if opener == "(" and len(_top_level_split(text[1:_closing_bracket(text)])) > 1:
        raise ValueError("the vendored parser cannot read comma lists in parentheses")
    if opener in ("[", "{"):
        close = _closing_bracket(text)
        if close > 0:
            items = _top_level_split(text[1:close])
            if len(items) > 1:
                return [parse(_braces_as_groups(item)) for item in items]
    items = _top_level_split(text)
    if len(items) > 1:
        return [parse(_braces_as_groups(item)) for item in items]
    return parse(_braces_as_groups(text))


# A brace that opens a group, not a command argument: at the start or after an operator.
_GROUP_CONTEXT = set("([{,+-*/=<>")


def _braces_as_groups(text: str) -> str:
    """'{{080}}+1' -> '((080))+1': brace groups become parentheses (command arguments such as
    \\frac{a}{b} or x^{2} stay), as the vendored parser reads them."""
    chars, openers = list(text), []
    for position, char in enumerate(text):
        if char == "{":
            before = text[:position].rstrip()[-1:]
            openers.append(position if before == "" or before in _GROUP_CONTEXT else -1)
        elif char == "}" and openers:
            start = openers.pop()
            if start >= 0 and len(_top_level_split(text[start + 1 : position])) == 1:
                chars[start], chars[position] = "(", ")"
    return "".join(chars)


@lru_cache(maxsize=1)
def _parser_chain():
    return _parsers()


def _to_sympy(text: str):
    """The first parse that succeeds (first with '\\\\' read as '\\'), else the text itself."""
    for parse in _parser_chain():
        for variant in (text.replace("\\\\", "\\"), text):
            try:
                return parse(variant)
            except Exception:  # parsers raise many kinds of errors on text they do not read
                continue
    return text


def _silently(check) -> bool:
    try:
        return bool(check())
    except Exception:  # sympy raises assorted errors on objects it cannot compare
        return False


SYMPY_SEED = 2504  # any fixed value; see symbolic_equal


def symbolic_equal(prediction: str, reference: str) -> bool:
    """Equal after parsing with sympy: same form, simplify(a-b)==0, same equation, same value."""
    if _too_costly_for_sympy(prediction) or _too_costly_for_sympy(reference):
        return False
    from sympy import N, simplify
    from sympy.core.random import seed as seed_sympy_random

    # sympy's `equals` and `is_constant` test expressions at random points, drawn from sympy's
    # own generator, which is seeded from the OS when sympy is imported: the same pair could be
    # judged equal in one process and run past its time limit in another (one draw in about 50
    # sends the golden pair y"+ry-rx(t)=0 / y'+ry-rx(t)=0 into an evaluation that does not end).
    # Seeded here, the points a comparison draws no longer depend on what the process drew
    # before (only sympy's cache, which can spare it some evaluations, still can), so a pair is
    # judged alike in every worker and every rerun, as memoization assumes.
    seed_sympy_random(SYMPY_SEED)
    a, b = _to_sympy(prediction), _to_sympy(reference)
    if _silently(lambda: str(a) == str(b) or a == b):
        return True
    if _silently(lambda: a.equals(b) or simplify(a - b) == 0):
        return True
    if _silently(lambda: abs(a.lhs - a.rhs).equals(abs(b.lhs - b.rhs))):
        return True
    if _silently(lambda: math.isclose(float(N(b)), float(N(a)), rel_tol=RELATIVE_TOLERANCE)):
        return True
    return _silently(lambda: a.shape == b.shape and _rounded(a).equals(_rounded(b)))


def _rounded(matrix):
    return matrix.applyfunc(lambda cell: round(cell, 3))


# ---------------------------------------------------------------------------------------------
# Grading
# ---------------------------------------------------------------------------------------------


def _is_choice_key(reference: str) -> bool:
    """A reference made only of the letters A-E (the empty string included, as officially)."""
    return all(char in _CHOICES for char in reference)


def _apply_choice_key(prediction: str, reference: str, output: str) -> str:
    """The official post-processing of predictions against multiple-choice keys."""
    if reference in _CHOICES and prediction not in _CHOICES:
        return _choice_from_output(output)
    if _is_choice_key(reference) and not _is_choice_key(prediction):
        return "".join(char for char in prediction if char in _CHOICES)
    return prediction


def grade(problem: Problem, output: str, benchmark: str | None = None) -> Verdict:
    """Grade one output the way the paper's evaluator does (without its 3 s timeout).

    Outputs of the `r1-zero` and `deepseek-r1` templates (`problem.meta["template"]`) are read
    from their `<answer>` tag when they have one (repro.grading.answer_tag); the evaluator
    has no such rule, everything else is its own.
    """
    key, route = answer_key(problem, output, benchmark)
    return verdict_of(key, route, judge_key(key))


# The grader in two steps (repro.grading.pool.SplitGrader), so that the grading pool compares
# each distinct (prediction, reference) once: `_math_equal` reads nothing else.


def answer_key(problem: Problem, output: str, benchmark: str | None = None) -> tuple[tuple[str, str], str]:
    """((prediction, reference) exactly as the evaluator compares them, extraction route)."""
    key = canonical_benchmark(benchmark) if benchmark else benchmark_of(problem)
    reference = normalize_ground_truth(problem.answer, key)
    # The template a completion was made with (repro.pipeline._for_grading puts it there).
    route, prediction = _extract_for_template(output, key, problem.meta.get("template", ""))
    # The multiple-choice rule reads the whole output: done here, so the key holds its result.
    prediction = _apply_choice_key(prediction, reference, output)
    return (prediction, reference), route


def judge_key(key: tuple[str, str]) -> str | None:
    """How the prediction equals the reference ('string', 'symbolic', ...), or None."""
    return _math_equal(*key)


def verdict_of(key: tuple[str, str], route: str, how: str | None) -> Verdict:
    prediction, reference = key
    detail = f"route={route}; " + (f"equal by {how}" if how else f"not equal to {reference!r}")
    return Verdict(how is not None, prediction or None, detail)


# ---------------------------------------------------------------------------------------------
# Warm-up
# ---------------------------------------------------------------------------------------------


def warm_up() -> None:
    """Load sympy and the three LaTeX parsers now (about 2 s on a laptop core)."""
    symbolic_equal("\\frac{1}{2}", "0.5")  # parse_latex
    _to_sympy("(1,2)")  # parse_expr (parse_latex refuses it)
    _to_sympy("\\begin{pmatrix}1\\end{pmatrix}")  # latex2sympy2_extended


# At import: the grading pool imports a grader in each worker before it starts the 3 s timer of
# any pair, so this one-off cost is not charged to the first symbolic pair of every worker.
warm_up()
