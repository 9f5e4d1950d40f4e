"""Scoring responses under a model (repro.sampling: HfBackend.score, VllmBackend.score) on a
tiny model built in-process, against a hand computation from the model's own logits."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from repro.sampling.base import ScoreRequest  # noqa: E402
from repro.sampling.tiny_models import tiny_model_path  # noqa: E402

PROMPT = "<|im_start|>user\nWhat is 2 + 3?<|im_end|>\n<|im_start|>assistant\n"
RESPONSES = ("The answer is \\boxed{5}.", "we add the numbers and get five", "")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return str(tiny_model_path("tiny-base", tmp_path_factory.mktemp("models")))


@pytest.fixture(scope="module")
def hf(model_dir):
    from repro.sampling.hf_backend import HfBackend

    backend = HfBackend(model_dir)
    yield backend
    backend.close()


def hand_scores(model_dir: str, prompt: str, response: str, temperature: float):
    """log-softmax of the full logits computed directly, one prefix at a time (no slicing
    tricks): the log-probability of each response token and the entropy at each position."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    prompt_ids = tokenizer(prompt).input_ids
    response_ids = tokenizer(response, add_special_tokens=False).input_ids
    logprobs, entropies = [], []
    for t, token in enumerate(response_ids):
        prefix = torch.tensor([prompt_ids + response_ids[:t]])
        with torch.no_grad():
            logits = model(input_ids=prefix).logits[0, -1].double() / temperature
        log_p = logits - torch.logsumexp(logits, dim=0)
        logprobs.append(float(log_p[token]))
        entropies.append(float(-(log_p.exp() * log_p).sum()))
    return response_ids, logprobs, entropies


@pytest.mark.parametrize("temperature", [1.0, 0.6, 1.5])
def test_hf_scores_match_a_hand_computation(hf, model_dir, temperature):
    scores = hf.score([ScoreRequest(PROMPT, response) for response in RESPONSES], temperature)
    for response, got in zip(RESPONSES, scores):
        ids, logprobs, entropies = hand_scores(model_dir, PROMPT, response, temperature)
        assert list(got.token_ids) == ids
        assert got.logprobs == pytest.approx(logprobs, abs=1e-5)
        assert got.entropies == pytest.approx(entropies, abs=1e-5)
    assert scores[2].logprobs == () and scores[2].entropies == ()  # an empty response has no tokens


def test_hf_entropy_rises_with_temperature_and_is_bounded_by_the_vocabulary(hf):
    request = [ScoreRequest(PROMPT, RESPONSES[0])]
    cold, warm = hf.score(request, 0.3)[0], hf.score(request, 2.0)[0]
    vocabulary = hf._model.config.vocab_size
    for low, high in zip(cold.entropies, warm.entropies):
        assert 0.0 <= low < high <= math.log(vocabulary) + 1e-9


def test_hf_refuses_a_temperature_of_zero(hf):
    from repro.errors import ReproError

    with pytest.raises(ReproError, match="temperature above 0"):
        hf.score([ScoreRequest(PROMPT, RESPONSES[0])], 0.0)


@pytest.mark.engines
def test_vllm_prompt_logprobs_match_transformers(model_dir, hf):
    pytest.importorskip("vllm")
    from repro.errors import ReproError
    from repro.sampling.vllm_backend import VllmBackend

    engine = VllmBackend(model_dir, max_model_len=1024, dtype="float32")
    try:
        requests = [ScoreRequest(PROMPT, response) for response in RESPONSES]
        got = engine.score(requests)
        want = hf.score(requests)
        for mine, theirs in zip(got, want):
            assert mine.token_ids == theirs.token_ids
            assert mine.logprobs == pytest.approx(theirs.logprobs, abs=1e-4)
            assert mine.entropies is None  # vLLM gives no full-vocabulary distribution
        assert not engine.full_distribution and hf.full_distribution
        with pytest.raises(ReproError, match="temperature 1 only"):
            engine.score(requests, 0.6)
    finally:
        engine.close()
