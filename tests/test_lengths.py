"""One length policy for every run: the kind's budget, bounded by the model's own context."""

from __future__ import annotations

import pytest

from repro.experiments import EXPERIMENTS, get_experiment
from repro.lengths import BUDGETS, LengthError, LengthOverride, lengths_for
from repro.models import MODELS, get_model
from repro.plan import plan_experiment, plan_run
from repro.sampling import get_backend
from repro.tiers import get_tier

FULL, VLLM = get_tier("full"), get_backend("vllm")


def specs(experiment_id: str):
    return {(run.arm, run.spec.benchmark): run.spec for run in plan_experiment(get_experiment(experiment_id), FULL, VLLM)}


def test_the_table_says_what_the_paper_says():
    assert (BUDGETS["math"].max_new_tokens, BUDGETS["math"].max_model_len) == (16384, 32768)  # §3
    assert BUDGETS["code"].max_new_tokens == 32768  # "both models take 32k response length"
    assert all(budget.source for budget in BUDGETS.values())


def test_zoo_runs_get_the_math_budget():
    spec = specs("math-zoo-qwen7b")[("base", "aime24")]
    assert (spec.max_new_tokens, spec.max_model_len) == (16384, 32768)


def test_every_model_with_a_4096_context_fills_it_and_no_other_model_is_held_to_it():
    for experiment_id in ("math-oat-zero", "distillation"):
        for (arm, _), spec in specs(experiment_id).items():
            model = get_model(spec.model)
            if model.context_length == 4096:
                # The engines cut the budget to what the context leaves after the prompt.
                assert (spec.max_model_len, spec.max_new_tokens) == (4096, 16384), (experiment_id, arm)
            else:
                assert spec.max_model_len == 32768, (experiment_id, arm)
    assert specs("distillation")[("distill", "minerva")].max_model_len == 32768  # R1-Distill: 131k context
    for key in ("qwen2.5-math-7b", "oat-zero-7b", "qwen2.5-math-7b-instruct"):
        assert get_model(key).context_length == 4096


def test_no_run_asks_a_model_for_more_context_than_it_has():
    checked = 0
    for experiment in EXPERIMENTS:
        try:
            planned = plan_experiment(experiment, FULL, VLLM)
        except Exception:  # experiments whose models must be trained first
            continue
        for run in planned:
            assert run.spec.max_model_len <= get_model(run.spec.model).context_length, (experiment.id, run.arm)
            checked += 1
    assert checked > 50


def test_the_same_model_on_the_same_kind_gets_the_same_lengths_in_every_experiment():
    seen = {}
    for experiment in EXPERIMENTS:
        if experiment.lengths is not None:
            continue
        try:
            planned = plan_experiment(experiment, FULL, VLLM)
        except Exception:
            continue
        for run in planned:
            lengths = (run.spec.max_new_tokens, run.spec.max_model_len)
            assert seen.setdefault((run.spec.model, run.spec.kind), lengths) == lengths, (experiment.id, run.arm)


def test_code_r1_and_deepcoder():
    code_r1 = specs("code-r1")
    # Code-R1's own context is 32,768: the code budget's model length is bounded by it.
    assert code_r1[("rl", "lcb-2408-2501")].max_model_len == get_model("coder1-zero-7b").context_length == 32768
    assert code_r1[("base", "lcb-2408-2501")].max_model_len == 32768 + 4096
    deepcoder = specs("code-deepcoder")[("rl", "lcb-2408-2501")]
    assert (deepcoder.max_new_tokens, deepcoder.max_model_len) == (32768, 32768 + 2048)
    assert "main_generation_vllm2.py" in deepcoder.lengths_source


def test_an_override_over_the_models_context_is_refused_with_one_line():
    with pytest.raises(LengthError) as raised:
        lengths_for(BUDGETS["math"], "oat-zero-7b", 4096, LengthOverride("test", max_model_len=8192))
    assert str(raised.value) == "oat-zero-7b: max_model_len 8,192 exceeds the model's context of 4,096 tokens"


def test_a_spec_over_the_models_context_is_refused(monkeypatch):
    from dataclasses import replace

    experiment = replace(get_experiment("math-oat-zero"), lengths=LengthOverride("a test", max_model_len=32768))
    with pytest.raises(LengthError, match="exceeds the model's context of 4,096 tokens"):
        plan_run(experiment, experiment.arm("rl"), "aime24", 2048, FULL, VLLM)
    spec = plan_run(get_experiment("math-oat-zero"), experiment.arm("rl"), "aime24", 2048, FULL, VLLM)
    with pytest.raises(LengthError):
        replace(spec, max_model_len=4097)


def test_every_catalogue_context_is_positive():
    assert all(model.context_length >= 4096 for model in MODELS.values())


def test_a_model_whose_config_holds_less_than_the_catalogue_says_is_refused_once_loaded(tmp_path):
    import json

    from repro.pipeline import _check_context

    spec = specs("math-zoo-qwen7b")[("base", "aime24")]
    (tmp_path / "config.json").write_text(json.dumps({"max_position_embeddings": 16384}))
    with pytest.raises(LengthError, match="max_model_len 32,768 exceeds the 16,384 tokens of its config"):
        _check_context(spec, str(tmp_path), None)
    (tmp_path / "config.json").write_text(json.dumps({"text_config": {"max_position_embeddings": 131072}}))
    _check_context(spec, str(tmp_path), None)  # a vision-language config keeps it in its text part
