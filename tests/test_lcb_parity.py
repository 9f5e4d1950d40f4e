"""LiveCodeBench parity of the code grader, against the original harnesses' recorded verdicts.

The originals (LiveCodeBench's `run_test` at 15808c7, rllm's copy at aba20b14) cannot be fetched
in CI, so scripts/lcb_parity.py ran them on the corpus of scripts/lcb_parity_corpus.py and stored
their verdicts with the corpus in tests/golden/lcb_parity.json (docs/code_grader_parity.md says
how). These tests run the package on those pairs and compare. Running all 184 pairs twice takes
minutes, so the tests cover the pairs the parity rules exist for (the stdin idioms, numpy,
Fraction and other returns, the timer) and the known differences; scripts/lcb_parity.py runs
the whole corpus against the originals themselves.
"""

from __future__ import annotations

import fractions
import importlib.util
import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from repro.code_tests import TestSuite
from repro.grading.code import check_program, lcb_call_matches
from repro.sandbox.harness import decode_value, encode_value

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = json.loads((ROOT / "tests" / "golden" / "lcb_parity.json").read_text(encoding="utf-8"))
PAIRS = {pair["id"]: pair for pair in GOLDEN["pairs"]}

# Pairs where the package's verdict differs from the original's on purpose; each is explained in
# docs/code_grader_parity.md. (harness, id) -> why.
KNOWN_DIFFERENCES = {
    ("lcb", "input/fileinput"): "fileinput opens LCB's command-line arguments through the mocked open",
    ("rllm", "input/fileinput"): "the same, in rllm",
    ("lcb", "return/always-equal"): "an object that is not data cannot leave the sandbox",
    ("rllm", "return/always-equal"): "the same, in rllm",
}

# The pairs these rules exist for (the list) and a few neighbours of each.
LCB_PAIRS = [
    # the stdin idioms: names bound to the original stdin read through LCB's patches
    "input/from-sys-stdin-readline", "input/from-sys-stdin-read", "input/from-sys-stdin-readlines",
    "input/from-sys-stdin-alias", "input/prelude-stdin-name", "input/lines-from-stdin-readline-loop",
    "input/from-sys-stdin-read-twice", "input/from-sys-stdin-readline-past-end",
    # ... and exactly those: iteration and the buffer are not patched; chopping loses a character
    "input/from-sys-stdin-iterate", "input/from-sys-stdin-chop", "input/from-sys-stdin-buffer",
    "input/lines-from-stdin-readline-raw", "input/sys-stdin-readline-past-end", "input/open-0",
    "input/builtins-open-0", "input/sys-stdin-buffer",
    # modules
    "modules/numpy", "modules/numpy-from", "modules/numpy-prelude-np", "modules/pandas", "modules/os-environ-set",
    "return/numpy-import",
    # returned values
    "return/fraction", "return/half-fraction", "return/third-fraction", "return/half-decimal",
    "return/half-decimal-string", "return/decimal", "return/numpy-array-1", "return/numpy-array-2",
    "return/list-numpy-array", "return/half-numpy-float32", "return/nested-tuples", "return/always-equal",
    # the timer: fires once, elapsed time not checked
    "timeout/catch-then-answer", "timeout/call-catch-then-answer", "timeout/catch-twice", "timeout/loop",
    # and the known differences
    "input/fileinput",
]
RLLM_PAIRS = [
    "input/prelude-stdin-name", "input/from-sys-stdin-readline", "input/builtins-open-0", "modules/numpy-prelude-np",
    "modules/recursion-5000", "modules/big-int-str", "modules/prelude-names", "modules/time-prelude",
    "return/fraction", "timeout/catch-then-answer",
]


def _check(pair: dict, rules: str):
    suite = TestSuite.livecodebench(pair["tests"], pair["func_name"], timeout_s=pair["timeout"])
    return check_program(pair["program"], suite, rules=rules)


def _expect(rules: str, pair_id: str):
    pair = PAIRS[pair_id]
    original = pair["original"][rules]
    verdict = _check(pair, rules)
    if (rules, pair_id) in KNOWN_DIFFERENCES:
        assert verdict.correct != original, f"{pair_id} now agrees with the original: update the parity docs"
    else:
        assert verdict.correct == original, (pair_id, pair["note"], verdict.status, verdict.detail)


@pytest.mark.parametrize("pair_id", LCB_PAIRS)
def test_verdict_matches_livecodebench(pair_id):
    _expect("lcb", pair_id)


@pytest.mark.parametrize("pair_id", RLLM_PAIRS)
def test_verdict_matches_rllm(pair_id):
    _expect("rllm", pair_id)


def test_golden_file_is_the_current_corpus_with_both_originals():
    spec = importlib.util.spec_from_file_location("lcb_parity_corpus", ROOT / "scripts" / "lcb_parity_corpus.py")
    corpus = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(corpus)
    pairs = corpus.build_corpus()
    assert len(pairs) >= 150
    assert [{k: v for k, v in pair.items() if k != "original"} for pair in GOLDEN["pairs"]] == pairs
    assert all(set(pair["original"]) == {"lcb", "rllm"} for pair in GOLDEN["pairs"])
    assert all(isinstance(value, bool) for pair in GOLDEN["pairs"] for value in pair["original"].values())
    assert {pair_id for _, pair_id in KNOWN_DIFFERENCES} <= set(PAIRS)


def test_strict_time_fails_a_program_that_caught_the_timer():
    # A call-based program (a stdin one fails anyway: LCB's handler prints into its output).
    pair = PAIRS["timeout/call-catch-then-answer"]
    suite = TestSuite.livecodebench(pair["tests"], pair["func_name"], timeout_s=pair["timeout"])
    assert pair["original"]["lcb"] and check_program(pair["program"], suite).correct  # LCB's rule, the default
    strict = check_program(pair["program"], suite, strict_time=True)
    assert strict.status == "timeout", strict.detail


def test_unknown_rules_are_refused():
    with pytest.raises(ValueError):
        check_program("print(1)", TestSuite.livecodebench([{"input": "", "output": "1"}]), rules="apps")


@pytest.mark.parametrize("value", [fractions.Fraction(1, 3), fractions.Fraction(-(10 ** 30), 7), Decimal("0.10"),
                                   Decimal("-Infinity"), [fractions.Fraction(1, 2), Decimal(3)]])
def test_exact_numbers_travel_exactly(value):
    back = decode_value(json.loads(json.dumps(encode_value(value))))
    assert back == value and type(back) is type(value)
    if isinstance(value, Decimal):
        assert str(back) == str(value)


def test_numpy_arrays_keep_dtype_and_shape():
    for array in (np.array([[1, 2], [3, 4]], dtype=np.int32), np.array([0.5], dtype=np.float32),
                  np.array([True, False]), np.array(["ab", "c"])):
        back = decode_value(json.loads(json.dumps(encode_value(array))))
        assert back.dtype == array.dtype and back.shape == array.shape and (back == array).all()


@pytest.mark.parametrize(("got", "expected", "ok"), [
    (fractions.Fraction(1, 2), 0.5, True), (fractions.Fraction(1, 3), 1 / 3, False), (Decimal("0.5"), 0.5, True),
    (Decimal("0.1"), 0.1, False), (np.array([3]), 3, True), (np.array([3]), [3], True), (np.array([1, 2]), [1, 2], False),
    (np.array([], dtype=int), [], False), ([1, 2], [1, 2], True), (True, 1, True), (None, None, True), (0, False, True),
])
def test_call_comparison_follows_lcb(got, expected, ok):
    assert lcb_call_matches(got, expected)[0] is ok
