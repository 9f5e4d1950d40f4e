"""Code experiments through the pipeline: prompts per benchmark, the code grader in the pool,
one sandbox run per distinct program, and the smoke tier end to end on stand-in files."""

from __future__ import annotations

import csv
import json

import pytest
from typer.testing import CliRunner

from cli import app
from repro.benchmarks.code_files import load_code_standin
from repro.code_prompts import CODE_TEMPLATES
from repro.experiments import get_experiment
from repro.grading import Verdict
from repro.grading.code import grade
from repro.pipeline import RunContext, _for_grading, _grade_pairs
from repro.plan import plan_experiment
from repro.problems import Problem
from repro.sampling import get_backend
from repro.sampling.simulated import code_texts
from repro.tiers import get_tier


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    # Stand-in files, test suites and evalplus expected outputs go to a fresh cache.
    monkeypatch.setenv("REPRO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("REPRO_OFFLINE", "1")


def test_each_code_benchmark_gets_the_prompt_and_stop_strings_of_its_harness():
    code_r1 = get_experiment("code-r1")
    assert code_r1.template_for("base", "humaneval-plus") == "evalplus-chat"
    assert code_r1.template_for("rl", "mbpp-plus") == "evalplus-chat"
    assert code_r1.template_for("rl", "lcb-2408-2501") == "lcb-codeqwen"
    assert get_experiment("code-deepcoder").template_for("rl", "lcb-2408-2501") == "deepcoder"
    assert get_experiment("math-zoo-qwen7b").template_for("base", "math500") == "qwen-boxed"
    specs = {(run.arm, run.spec.benchmark): run.spec
             for run in plan_experiment(code_r1, get_tier("full"), get_backend("vllm"))}
    evalplus, lcb = specs[("rl", "humaneval-plus")], specs[("rl", "lcb-2408-2501")]
    assert (evalplus.template, lcb.template) == ("evalplus-chat", "lcb-codeqwen")
    assert evalplus.stop == CODE_TEMPLATES["evalplus-chat"].stop and "\n```\n" in evalplus.stop
    assert lcb.stop == ("###",)
    assert evalplus.max_new_tokens == lcb.max_new_tokens == 32768


@pytest.mark.parametrize("key", ["lcb-2408-2501", "humaneval-plus", "mbpp-plus"])
def test_simulated_programs_pass_and_fail_through_the_pool_grader(tmp_path, key):
    problems, _ = load_code_standin(key, 3, tmp_path / "standins", tmp_path / "suites")
    right, wrong = code_texts(problems)
    template = {"lcb-2408-2501": "lcb-codeqwen", "humaneval-plus": "evalplus-chat", "mbpp-plus": "evalplus-chat"}[key]
    for problem in problems:
        graded = _for_grading(problem, key, template)
        assert "reference_solution" not in graded.meta and graded.question == ""
        assert grade(graded, right[problem.problem_id]).correct, problem.problem_id
        verdict = grade(graded, wrong[problem.problem_id])
        assert not verdict.correct and verdict.detail.split(":")[0] in ("fail", "error")
    prose = grade(_for_grading(problems[0], key, template), "I cannot solve this.")
    if key.startswith("lcb"):
        assert prose.detail == "no program in the completion"
    else:  # evalplus runs what its sanitizer keeps: here the prose line itself, which does not load
        assert prose.detail.startswith("error: program failed to load: SyntaxError")


class CountingPool:
    def __init__(self):
        self.graded: list[tuple[str, str]] = []

    def grade(self, pairs):
        self.graded += [(problem.problem_id, text) for problem, text in pairs]
        return [Verdict(text == "right", None) for _, text in pairs]


def test_identical_programs_for_a_problem_are_run_once_per_command():
    context = RunContext(root=None, tier=get_tier("smoke"), backends=("simulated",))
    pool = context._pools["code-v3"] = CountingPool()
    a, b = Problem("a", 0, "", "", {"template": "evalplus-chat"}), Problem("b", 1, "", "", {"template": "evalplus-chat"})
    pairs = [(a, "right"), (a, "wrong"), (a, "right"), (b, "right"), (a, "right")]
    assert [v.correct for v in _grade_pairs(context, "code-v3", "mbpp-plus", pairs)] == [True, False, True, True, True]
    assert sorted(pool.graded) == [("a", "right"), ("a", "wrong"), ("b", "right")]
    # A later chunk reuses the verdicts; another benchmark with the same ids does not, nor
    # another prompt template (it reads the program out of the text differently).
    assert [v.correct for v in _grade_pairs(context, "code-v3", "mbpp-plus", [(b, "right"), (b, "wrong")])] == [True, False]
    assert [v.correct for v in _grade_pairs(context, "code-v3", "humaneval-plus", [(a, "right")])] == [True]
    other_template = Problem("a", 0, "", "", {"template": "evalplus-chat-fig25"})
    assert [v.correct for v in _grade_pairs(context, "code-v3", "mbpp-plus", [(other_template, "right")])] == [True]
    assert len(pool.graded) == 6


def test_the_template_is_part_of_the_store_key():
    from dataclasses import replace

    spec = plan_experiment(get_experiment("code-r1"), get_tier("full"), get_backend("vllm"))[0].spec
    other = replace(spec, template="evalplus-chat-fig25")
    from repro.plan import template_sha256

    other = replace(other, template_sha256=template_sha256("evalplus-chat-fig25"))
    assert spec.key()["template"] != other.key()["template"] and spec.key_sha256() != other.key_sha256()


def test_code_deepcoder_smoke_on_the_simulated_backend(tmp_path):
    result = CliRunner().invoke(app, ["run", "code-deepcoder", "--tier", "smoke", "--backend", "simulated",
                                      "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "out" / "experiments" / "code-deepcoder" / "smoke" / "simulated" / "results"
    for arm in ("base", "rl"):
        rows = list(csv.DictReader((folder / f"{arm}__lcb-2408-2501.csv").open()))
        assert len(rows) == 100 and all(int(row["n"]) == 64 for row in rows)
        correct = [int(row["correct"]) for row in rows]
        # Programs really ran: some problems always pass, some never do, others in between.
        assert 0 in correct and 64 in correct and any(0 < c < 64 for c in correct)
    # Each failed sample's verdict (status, first failing test) is kept beside the marks.
    grades = [json.loads(path.read_text()) for path in (tmp_path / "out" / "samples").rglob("grades/code-v3/*.json")]
    details = [d for g in grades for _, _, unit in g["details"] for d in unit]
    assert grades and len(details) == sum(len(unit) for g in grades for _, _, unit in g["verdicts"])
    assert "" in details and any(d.startswith("fail: test 0:") for d in details)
    points = list(csv.DictReader((tmp_path / "out" / "reports" / "smoke" / "points.csv").open()))
    simulated = [p for p in points if p["backend"] == "simulated"]
    assert simulated and all(p["verdict"] == "pass" for p in simulated)
    report = (tmp_path / "out" / "reports" / "smoke" / "report.md").read_text()
    assert "stand-in problems written locally" in report


def test_code_r1_smoke_through_a_tiny_model(tmp_path):
    pytest.importorskip("transformers")
    result = CliRunner().invoke(app, ["run", "code-r1", "--tier", "smoke", "--backend", "hf",
                                      "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "out" / "experiments" / "code-r1" / "smoke" / "hf" / "results"
    for benchmark in ("humaneval-plus", "mbpp-plus", "lcb-2408-2501", "lcb-2305-2501"):
        rows = list(csv.DictReader((folder / f"rl__{benchmark}.csv").open()))
        assert len(rows) == 4 and all(int(row["n"]) == 4 for row in rows)
    # The samples are the tiny model's text, stored under the template of each benchmark.
    manifests = sorted((tmp_path / "out" / "samples" / "hf").glob("*/*/*/manifest.json"))
    templates = {json.loads(m.read_text())["key"]["template"]["name"] for m in manifests}
    assert templates == {"evalplus-chat", "lcb-codeqwen"}
