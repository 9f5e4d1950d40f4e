"""docs/extending.md holds: a new benchmark is one module and one registry line, and it then
loads (verified), plans and runs like the paper's own."""

from __future__ import annotations

import hashlib
import importlib
import json
import textwrap

import pytest

import repro.benchmarks
import repro.pipeline
from repro.experiments import get_experiment
from repro.plan import plan_run
from repro.sampling import get_backend
from repro.sampling.base import Completion
from repro.tiers import get_tier

ROWS = [{"question": f"What is {a} + {b}?", "answer": str(a + b)} for a, b in ((1, 1), (2, 5), (40, 2))]


class SummingEngine:
    """Answers every question right, as a model would in \\boxed{}."""

    name = "vllm"

    def describe(self):
        return {"backend": "vllm", "engine": "a test's"}

    def generate(self, requests, params):
        answers = []
        for request in requests:
            a, b = request.prompt.split("What is ")[1].split("?")[0].split(" + ")
            answers.append([Completion(f"So \\boxed{{{int(a) + int(b)}}}.", "stop", 5)] * request.n)
        return answers

    def close(self):
        pass


def test_a_new_benchmark_is_one_module_and_one_registry_line(tmp_path, monkeypatch):
    data = "".join(json.dumps(row) + "\n" for row in ROWS)
    (tmp_path / "data" / "math" / "toy").mkdir(parents=True)
    (tmp_path / "data" / "math" / "toy" / "test.jsonl").write_text(data)
    monkeypatch.setenv("REPRO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("REPRO_CACHE_DIR", str(tmp_path / "cache"))
    # The module, as docs/extending.md shows it.
    (tmp_path / "toy_sums.py").write_text(textwrap.dedent(f'''
        """Toy sums: three additions (a test's benchmark)."""
        from repro.benchmarks.base import MATH_GRADER, PAPER_MATH_EXTRACTION, Benchmark
        from repro.benchmarks.fetch import PinnedFile
        from repro.benchmarks.math_files import MathFile, plain_answer

        BENCHMARK = Benchmark(
            key="toy-sums", title="Toy sums", kind="math", size=3, paper_n=8, source="three additions",
            data=MathFile("toy-sums", data_name="aime24", answer=plain_answer,
                          pinned=PinnedFile("math/toy/test.jsonl", "owner/toy", "{'0' * 40}", "test.jsonl",
                                            "{hashlib.sha256(data.encode()).hexdigest()}")),
            grader=MATH_GRADER, extraction=PAPER_MATH_EXTRACTION, grades_as="aime24",
        )
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(repro.benchmarks, "BENCHMARKS", dict(repro.benchmarks.BENCHMARKS))
    toy_sums = importlib.import_module("toy_sums")
    repro.benchmarks.register(toy_sums.BENCHMARK)  # the registry line

    from repro.benchmarks.loading import load_benchmark

    loaded = load_benchmark("toy-sums", allow_synthetic=False)
    assert [p.answer for p in loaded.problems] == ["2", "7", "42"] and loaded.origin == "data folder"
    experiment = get_experiment("math-zoo-qwen7b")
    spec = plan_run(experiment, experiment.arm("rl"), "toy-sums", 8, get_tier("full"), get_backend("vllm"))
    assert (spec.benchmark, spec.grader, spec.max_new_tokens, spec.n) == ("toy-sums", "math-paper-v3", 16384, 8)
    monkeypatch.setattr(repro.pipeline, "engine_for", lambda context, spec: SummingEngine())
    context = repro.pipeline.RunContext(tmp_path / "runs", get_tier("full"), ("vllm",), grading_workers=1)
    try:
        result, _, _ = repro.pipeline.run_spec(context, spec, "toy")
    finally:
        context.close()
    assert result is not None and list(result.c) == [8, 8, 8] and list(result.n) == [8, 8, 8]


def test_a_key_is_registered_once(monkeypatch):
    monkeypatch.setattr(repro.benchmarks, "BENCHMARKS", dict(repro.benchmarks.BENCHMARKS))
    with pytest.raises(ValueError, match="registered twice"):
        repro.benchmarks.register(repro.benchmarks.get_benchmark("aime24"))


def test_every_registered_benchmark_declares_a_known_grader_and_a_budget():
    from repro.grading.pool import GRADERS

    for benchmark in repro.benchmarks.BENCHMARKS.values():
        assert benchmark.grader in GRADERS, benchmark.key
        assert benchmark.budget.max_new_tokens > 0 and benchmark.extraction and benchmark.source
