"""Benchmark loading: checksums, ground truth as the paper's evaluator takes it, stand-ins."""

from __future__ import annotations

import pytest

from repro.benchmarks.loading import load_benchmark
from repro.benchmarks.math_files import MATH_FILES, DataMissingError, last_boxed, omni_split
from repro.errors import ReproError
from repro.grading.math_basic import grade
from repro.problems import Problem

@pytest.fixture(autouse=True)
def no_network(tmp_path, monkeypatch):
    """Loading may download a missing file: these tests run offline, on a private cache."""
    monkeypatch.setenv("REPRO_OFFLINE", "1")
    monkeypatch.setenv("REPRO_CACHE_DIR", str(tmp_path / "cache"))


SIZES = {"gsm8k": 1319, "math500": 500, "minerva": 272, "olympiad": 675, "aime24": 30, "amc23": 40,
         "omni-math-train": 2000, "omni-math-test": 821}


def test_real_files_load_with_the_papers_ground_truth(data_dir, monkeypatch):
    monkeypatch.setenv("REPRO_DATA_DIR", str(data_dir))
    for key, size in SIZES.items():
        loaded = load_benchmark(key, allow_synthetic=False)
        assert not loaded.synthetic and len(loaded.problems) == size, key
    assert load_benchmark("gsm8k", allow_synthetic=False).problems[0].answer == "18"
    assert load_benchmark("aime24", allow_synthetic=False).problems[0].answer == "204"
    assert load_benchmark("amc23", allow_synthetic=False).problems[0].answer == "27.0"
    math500 = load_benchmark("math500", allow_synthetic=False).problems[0]
    assert math500.answer == "\\left( 3, \\frac{\\pi}{2} \\right)"
    train = {p.problem_id for p in load_benchmark("omni-math-train", allow_synthetic=False).problems}
    test = {p.problem_id for p in load_benchmark("omni-math-test", allow_synthetic=False).problems}
    assert not train & test and len(train | test) == 2821


def test_an_altered_file_is_refused_naming_the_expected_hash(tmp_path, monkeypatch):
    folder = tmp_path / "math" / MATH_FILES["aime24"][0]
    folder.mkdir(parents=True)
    (folder / "test.jsonl").write_text('{"question": "q", "answer": "1"}\n')
    monkeypatch.setenv("REPRO_DATA_DIR", str(tmp_path))
    with pytest.raises(ReproError, match=MATH_FILES["aime24"][1]):
        load_benchmark("aime24", allow_synthetic=False)


def test_missing_data_is_an_error_outside_the_smoke_tier(tmp_path, monkeypatch):
    monkeypatch.setenv("REPRO_DATA_DIR", str(tmp_path))
    with pytest.raises(DataMissingError, match="REPRO_DATA_DIR") as caught:
        load_benchmark("math500", allow_synthetic=False)
    assert MATH_FILES["math500"][1] in str(caught.value)  # names the expected sha256
    stand_in = load_benchmark("math500", allow_synthetic=True)
    assert stand_in.synthetic and len(stand_in.problems) == 500
    assert stand_in.checksum == load_benchmark("math500", allow_synthetic=True).checksum


def test_omni_split_is_deterministic_and_order_free():
    rows = [{"problem": f"problem {i}"} for i in range(2821)]
    train, test = omni_split(rows)
    assert (len(train), len(test)) == (2000, 821)
    reversed_train, _ = omni_split(rows[::-1])
    texts = {rows[i]["problem"] for i in train}
    assert texts == {rows[::-1][i]["problem"] for i in reversed_train}


def test_last_boxed_matches_braces():
    assert last_boxed("a \\boxed{1} b \\boxed{\\frac{1}{2}}") == "\\frac{1}{2}"
    assert last_boxed("no answer") is None
    assert last_boxed("\\boxed{unclosed") is None


@pytest.mark.parametrize("output,truth,correct", [
    ("so \\boxed{27}", "27.0", True),
    ("\\boxed{\\frac{54}{2}}", "27", True),
    ("\\boxed{\\dfrac{1}{2}}", "0.5", True),
    ("\\boxed{28}", "27.0", False),
    ("the answer is 27", "27", False),  # the basic grader reads \\boxed{} only
    ("\\boxed{\\text{(B)}}", "(B)", True),
    ("\\boxed{90^\\circ}", "90", True),
])
def test_basic_math_grader(output, truth, correct):
    assert grade(Problem("p", 0, "q", truth), output).correct is correct


def test_a_progress_display_opens_only_when_work_is_reported():
    from contextlib import contextmanager

    from repro.progress import started_on_first_update

    opened, done = [], []

    @contextmanager
    def factory(label, total):
        opened.append((label, total))
        yield done.append

    with started_on_first_update(factory, "load X", 10) as advance:
        pass
    assert opened == []  # everything was ready: nothing shown
    with started_on_first_update(factory, "load X", 10) as advance:
        advance(1)
        advance(2)
    assert opened == [("load X", 10)] and done == [1, 2]


def test_each_benchmark_is_loaded_once_per_command(tmp_path, monkeypatch):
    import repro.pipeline
    from repro.pipeline import RunContext
    from repro.tiers import get_tier

    calls = []
    real = repro.pipeline.load_benchmark

    def counting(key, **options):
        calls.append(key)
        return real(key, **options)

    monkeypatch.setattr(repro.pipeline, "load_benchmark", counting)
    monkeypatch.setenv("REPRO_CACHE_DIR", str(tmp_path / "cache"))
    context = RunContext(tmp_path, get_tier("smoke"), ("simulated",))
    first = context.load("aime24")
    assert context.load("aime24") is first and calls == ["aime24"]
    context.load("amc23")
    assert calls == ["aime24", "amc23"]
