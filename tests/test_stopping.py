"""Stop strings and generation lengths follow the paper's evaluator, model by model.

The stop lists below are written out from LeapLabTHU/limit-of-RLVR, commit
fd2cf37f05cc7dced9c558fa358a18e0497cb463, math/examples/math_eval/math_eval.py (`stop_words`
for each prompt type), independently of repro.models.
"""

from __future__ import annotations

from repro.experiments import EXPERIMENTS, get_experiment
from repro.experiments.registry import KEEP_DAPO_ANSWER, QWEN_MATH_CONTEXT
from repro.experiments.spec import MATH_MAX_NEW_TOKENS, MAX_MODEL_LEN
from repro.models import MODELS, get_model, stop_strings

ALWAYS = ["</s>", "<|im_end|>", "<|endoftext|>"]
OFFICIAL_STOPS = {
    "qwen-boxed": ALWAYS + ["assistant", "user", "_end", "_start"],  # "qwen" in the prompt type
    "qwen25-math-cot": ALWAYS + ["assistant", "user", "_end", "_start"],
    "dapo": ALWAYS + ["Question:", "Answer:"],  # the "abel" prompt type
    "deepseek-r1": ALWAYS + ["\nProblem", "User:", "Assistant:", "</answer>"],  # (+ a repeated "</s>")
    "r1-zero": ALWAYS + ["\nProblem", "User:", "Assistant:", "</answer>"],
}


def test_every_math_model_stops_as_the_evaluator_did_for_its_template():
    for model in MODELS.values():
        if model.template in OFFICIAL_STOPS:
            assert list(model.stop) == OFFICIAL_STOPS[model.template], model.key
            assert list(stop_strings(model, keep_dapo_answer=False)) == OFFICIAL_STOPS[model.template]


def test_no_stop_token_ids_come_from_a_path():
    # Stopping is the stop strings plus the model's own EOS tokens: nothing in the catalogue
    # mentions Qwen's token ids 151645 / 151643.
    for model in MODELS.values():
        assert all(not s.isdigit() for s in model.stop), model.key


def test_keeping_dapos_answer_line_drops_only_answer_colon():
    assert KEEP_DAPO_ANSWER is False  # the paper's behaviour is the default
    for key in ("dapo-qwen-32b", "qwen2.5-32b-dapo-prompt"):
        model = get_model(key)
        assert "Answer:" in stop_strings(model, keep_dapo_answer=False)
        kept = stop_strings(model, keep_dapo_answer=True)
        assert "Answer:" not in kept and list(kept) == [s for s in model.stop if s != "Answer:"]


def test_the_option_changes_nothing_for_other_models():
    for model in MODELS.values():
        if model.template != "dapo":
            assert stop_strings(model, keep_dapo_answer=True) == model.stop, model.key


def test_math_lengths():
    assert (MATH_MAX_NEW_TOKENS, MAX_MODEL_LEN) == (16384, 32768)
    assert get_experiment("math-zoo-qwen7b").max_new_tokens == 16384
    assert get_experiment("math-zoo-qwen7b").max_model_len == 32768


def test_qwen_math_models_fill_their_4096_token_context():
    assert QWEN_MATH_CONTEXT == 4096
    for id_ in ("math-oat-zero", "distillation"):
        experiment = get_experiment(id_)
        # The engines cut the budget to what the context leaves after the prompt.
        assert (experiment.max_model_len, experiment.max_new_tokens) == (4096, 16384), id_
    for key in ("qwen2.5-math-7b", "oat-zero-7b", "qwen2.5-math-7b-instruct"):
        assert get_model(key).context_length == 4096


def test_no_math_experiment_asks_a_model_for_more_context_than_it_has():
    for experiment in EXPERIMENTS:
        if experiment.kind != "math":
            continue
        for arm in experiment.arms:
            model = get_model(arm.model)
            assert experiment.max_model_len <= model.context_length, (experiment.id, arm.model)
