"""Stop strings follow the paper's evaluator, model by model (lengths: test_lengths.py).

The stop lists below are written out from LeapLabTHU/limit-of-RLVR, commit
fd2cf37f05cc7dced9c558fa358a18e0497cb463, math/examples/math_eval/math_eval.py (`stop_words`
for each prompt type), independently of repro.models.
"""

from __future__ import annotations

from repro.experiments.registry import KEEP_DAPO_ANSWER
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
