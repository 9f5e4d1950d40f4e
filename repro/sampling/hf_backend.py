"""Sampling with Hugging Face transformers (CPU, or any torch device).

Each request is generated alone, with torch's random generator seeded from the request's own
seed: a sample then depends only on (model, prompt, settings, seed), never on which other
requests share the call, how a run was sharded, or where it was resumed. Batching several
prompts would make the random stream (and padding) depend on the batch composition.

Output semantics follow vLLM so that the two backends are interchangeable:
- `text` is the continuation only, decoded with special tokens skipped; a stop string and
  everything after it are cut off (the stop string is not part of the text).
- `finish_reason` is "stop" when an end-of-sequence token or a stop string ended the
  sample, "length" when the token budget did.
- `num_tokens` counts generated tokens including the end-of-sequence token (vLLM keeps it
  in `token_ids` too) and including the tokens that spelled a stop string, excluding the
  padding that transformers appends to sequences that finished early.

Generation settings come only from `SamplingParams`: the checkpoint's generation_config.json
(Qwen2.5 instruct ships top_k 20, repetition_penalty 1.05, ...) is ignored except for its
token ids, as vLLM ignores it when it is given explicit sampling parameters.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

from repro.engine_log import adopt_library_handlers
from repro.errors import ReproError
from repro.sampling.base import Completion, Request, ResponseScores, SamplingParams, ScoreRequest

_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}

# Local model files up to this size are hashed whole; larger ones (real checkpoints) by
# name and size only, to keep `describe()` fast.
_FINGERPRINT_FULL_HASH_LIMIT = 64 * 1024 * 1024


def hub_commit_hash(model_path: str, revision: str | None) -> str | None:
    """Commit of `revision` of a hub model in the local hub cache; None for a local
    directory or a model that is not cached."""
    if Path(model_path).is_dir():
        return None
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(model_path, "config.json", revision=revision)
    except Exception:  # an invalid repo id, or no hub library: nothing to resolve
        return None
    if not isinstance(cached, str):
        return None
    return Path(cached).parent.name  # .../snapshots/<commit>/config.json


def local_model_fingerprint(model_path: str) -> str | None:
    """sha256 over the files of a local model directory (None for hub ids).

    A local directory has no revision, yet its files may change (a rebuilt tiny model, a
    retrained checkpoint); this puts them into the store key.
    """
    root = Path(model_path)
    if not root.is_dir():
        return None
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        size = path.stat().st_size
        digest.update(f"{path.relative_to(root).as_posix()}\0{size}\0".encode())
        if size <= _FINGERPRINT_FULL_HASH_LIMIT:
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def model_identity(model_path: str, revision: str | None) -> dict[str, Any]:
    """What identifies the model's files, for `describe()` of every backend."""
    return {
        "model": model_path,
        "revision": revision,
        "resolved_commit": hub_commit_hash(model_path, revision),
        "local_files_sha256": local_model_fingerprint(model_path),
    }


def cut_at_stop(text: str, stop: tuple[str, ...]) -> tuple[str, bool]:
    """Text before the stop string that completes first, and whether one occurred."""
    best_end, best_start = None, None
    for stop_string in stop:
        start = text.find(stop_string)
        if start >= 0 and (best_end is None or start + len(stop_string) < best_end):
            best_end, best_start = start + len(stop_string), start
    if best_start is None:
        return text, False
    return text[:best_start], True


def response_token_ids(tokenizer, prompt: str, response: str) -> tuple[list[int], list[int]]:
    """(prompt ids, response ids) for scoring. The prompt is tokenized as for generation; the
    response on its own, without special tokens, and appended: a response's tokens do not
    depend on the prompt before it (tokenizing the concatenated text could merge tokens
    across the boundary). The stored text has its stop string and end-of-sequence token cut
    off (repro.sampling.base.Completion), so those are not scored."""
    return list(tokenizer(prompt).input_ids), list(tokenizer(response, add_special_tokens=False).input_ids)


# Rows of logits turned into log-probabilities at once: float64 over a 152k vocabulary is
# 1.2 MB a row, so a 16k-token response is scored in slices instead of one 19 GB tensor.
_SCORE_ROWS = 512


def scores_from_logits(logits: torch.Tensor, token_ids: list[int], temperature: float) -> ResponseScores:
    """Scores of `token_ids` from the logits that predicted them (row t predicts token t):
    log-softmax of logits / temperature in float64, the chosen token's log-probability and
    the entropy of the whole distribution."""
    if temperature <= 0:
        raise ReproError(f"scoring needs a temperature above 0, not {temperature}")
    logprobs: list[float] = []
    entropies: list[float] = []
    targets = torch.tensor(token_ids, dtype=torch.long)
    for start in range(0, len(token_ids), _SCORE_ROWS):
        rows = torch.log_softmax(logits[start : start + _SCORE_ROWS].to(torch.float64) / temperature, dim=-1)
        chosen = targets[start : start + _SCORE_ROWS].to(rows.device)
        logprobs += rows.gather(-1, chosen[:, None])[:, 0].tolist()
        # -sum p log p; exp(-inf) * -inf would be nan, so masked-out entries count 0.
        entropies += (-(rows.exp() * rows.nan_to_num(neginf=0.0)).sum(-1)).tolist()
    return ResponseScores(tuple(token_ids), tuple(logprobs), tuple(entropies))


def _as_id_list(value: int | list[int] | None) -> list[int]:
    if value is None:
        return []
    return [value] if isinstance(value, int) else list(value)


class HfBackend:
    """`Backend` on transformers' `generate`, one request at a time."""

    name = "hf"
    full_distribution = True  # transformers returns the logits of every vocabulary entry

    def __init__(
        self,
        model_path: str,
        *,
        revision: str | None = None,
        dtype: str = "float32",
        device: str = "cpu",
    ) -> None:
        if dtype not in _DTYPES:
            choices = ", ".join(_DTYPES)
            raise ReproError(f"unsupported dtype {dtype!r} for the hf backend; choose one of: {choices}")
        self.model_path = model_path
        self.revision = revision
        self.dtype = dtype
        self.device = device
        adopt_library_handlers()  # transformers' messages to the engine log, when routed
        self._tokenizer, self._model = self._load(model_path, revision, _DTYPES[dtype])
        self._model.to(device).eval()
        self._eos_ids = self._end_of_sequence_ids()
        self._pad_id = self._eos_ids[0]
        # transformers fills every knob a call leaves unset (None) from the model's
        # generation config first: keep only its token ids there, so that sampling follows
        # `SamplingParams` and transformers' neutral global defaults alone.
        self._model.generation_config = GenerationConfig(
            bos_token_id=self._model.generation_config.bos_token_id,
            eos_token_id=self._eos_ids,
            pad_token_id=self._pad_id,
        )
        self._identity = model_identity(model_path, revision)

    def _load(self, model_path: str, revision: str | None, dtype):
        """(tokenizer, model) of a text model."""
        tokenizer = AutoTokenizer.from_pretrained(model_path, revision=revision)
        return tokenizer, AutoModelForCausalLM.from_pretrained(model_path, revision=revision, dtype=dtype)

    def _model_inputs(self, request: Request) -> dict[str, Any]:
        """The tensors `generate` takes for one prompt (input_ids first)."""
        if request.images:
            raise ReproError(f"{request.problem_id} has images: the hf backend of a text model cannot take them")
        input_ids = self._tokenizer(request.prompt, return_tensors="pt").input_ids.to(self.device)
        return {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids)}

    def _end_of_sequence_ids(self) -> list[int]:
        # The generation config's list (Qwen: <|endoftext|>, <|im_end|>) first, then the
        # tokenizer's eos: the same set vLLM stops on.
        ids = _as_id_list(self._model.generation_config.eos_token_id)
        ids += _as_id_list(self._tokenizer.eos_token_id)
        ids = list(dict.fromkeys(ids))
        if not ids:
            raise ReproError(f"model {self.model_path!r} defines no end-of-sequence token")
        return ids

    def describe(self) -> dict[str, Any]:
        return {
            "backend": self.name,
            "transformers_version": transformers.__version__,
            "torch_version": torch.__version__,
            **self._identity,
            "dtype": self.dtype,
        }

    def generate(self, requests: list[Request], params: SamplingParams) -> list[list[Completion]]:
        return [self._generate_one(request, params) for request in requests]

    def score(self, requests: list[ScoreRequest], temperature: float = 1.0) -> list[ResponseScores]:
        """Exact per-token log-probabilities and entropies from one forward pass per response
        over prompt + response (teacher forcing), from the full-vocabulary logits."""
        if self._model is None:
            raise ReproError("the hf backend was closed")
        return [self._score_one(request, temperature) for request in requests]

    def _score_one(self, request: ScoreRequest, temperature: float) -> ResponseScores:
        prompt_ids, response_ids = response_token_ids(self._tokenizer, request.prompt, request.response)
        if not response_ids:
            return ResponseScores((), (), ())
        if not prompt_ids:
            raise ReproError("scoring needs a prompt of at least one token")
        input_ids = torch.tensor([prompt_ids + response_ids], device=self.device)
        with torch.inference_mode():
            # The logits of the last len(response) + 1 positions only: the one before the
            # response predicts its first token, the very last one predicts nothing.
            logits = self._model(input_ids=input_ids, logits_to_keep=len(response_ids) + 1).logits[0, :-1]
        return scores_from_logits(logits, response_ids, temperature)

    def close(self) -> None:
        self._model = None
        self._tokenizer = None
        if self.device.startswith("cuda"):
            torch.cuda.empty_cache()

    def _generate_one(self, request: Request, params: SamplingParams) -> list[Completion]:
        if self._model is None:
            raise ReproError("the hf backend was closed")
        inputs = self._model_inputs(request)
        prompt_len = inputs["input_ids"].shape[1]
        max_new_tokens = fit_max_new_tokens(prompt_len, params)
        greedy = params.temperature == 0
        # Greedy samples are all equal and transformers refuses n > 1 without sampling:
        # decode once and repeat it, as vLLM returns n equal samples.
        config = self._generation_config(params, 1 if greedy else request.n, max_new_tokens)
        # fork_rng: seed a private copy of the random state so the caller's stays untouched.
        fork_devices = [] if self.device == "cpu" else None
        with torch.random.fork_rng(devices=fork_devices), torch.inference_mode():
            torch.manual_seed(request.seed)
            output = self._model.generate(
                **inputs,
                generation_config=config,
                tokenizer=self._tokenizer,  # stop_strings needs it
            )
        completions = [
            self._completion(row[prompt_len:].tolist(), params.stop, max_new_tokens) for row in output
        ]
        return completions * request.n if greedy else completions

    def _generation_config(self, params: SamplingParams, n: int, max_new_tokens: int) -> GenerationConfig:
        # The sampling knobs are set explicitly: transformers' global default top_k is 50,
        # unlike vLLM's "no top-k".
        if params.temperature == 0:
            sampling: dict[str, Any] = {"do_sample": False}
        else:
            sampling = {
                "do_sample": True,
                "temperature": params.temperature,
                "top_p": params.top_p,
                "top_k": 0,  # 0 disables the warper
                "typical_p": 1.0,
                "epsilon_cutoff": 0.0,
                "eta_cutoff": 0.0,
            }
        return GenerationConfig(
            **sampling,
            repetition_penalty=1.0,
            no_repeat_ngram_size=0,
            num_beams=1,
            max_new_tokens=max_new_tokens,
            min_new_tokens=0,
            num_return_sequences=n,
            stop_strings=list(params.stop) or None,
            eos_token_id=self._eos_ids,
            pad_token_id=self._pad_id,
            bos_token_id=self._model.generation_config.bos_token_id,
        )

    def _completion(self, generated: list[int], stop: tuple[str, ...], max_new_tokens: int) -> Completion:
        # Everything from the first end-of-sequence id on is either the EOS the model chose
        # or padding after a stop string (the pad id is an EOS id, see __init__).
        eos_at = next((i for i, token in enumerate(generated) if token in self._eos_ids), None)
        tokens = generated if eos_at is None else generated[:eos_at]
        text, stopped_by_string = cut_at_stop(self._tokenizer.decode(tokens, skip_special_tokens=True), stop)
        if stopped_by_string:
            return Completion(text=text, finish_reason="stop", num_tokens=len(tokens))
        if eos_at is not None:
            return Completion(text=text, finish_reason="stop", num_tokens=eos_at + 1)
        # Shorter than the budget without EOS or stop string in the continuation: a stop
        # string that began inside the prompt ended it (transformers matches on the whole
        # sequence).
        reason = "length" if len(tokens) >= max_new_tokens else "stop"
        return Completion(text=text, finish_reason=reason, num_tokens=len(tokens))


def fit_max_new_tokens(prompt_len: int, params: SamplingParams) -> int:
    """The token budget, shortened so that prompt plus sample fit in `max_model_len`."""
    if params.max_model_len is None:
        return params.max_new_tokens
    room = params.max_model_len - prompt_len
    if room <= 0:
        raise ReproError(
            f"a prompt of {prompt_len} tokens leaves no room in max_model_len={params.max_model_len}"
        )
    return min(params.max_new_tokens, room)


class HfVisionBackend(HfBackend):
    """`Backend` for Qwen2.5-VL models on transformers: each request's images are loaded and
    resized by qwen-vl-utils within the model's pixel bounds (repro.sampling.vision), then the
    model's processor expands the prompt's image placeholder into vision tokens."""

    def _load(self, model_path: str, revision: str | None, dtype):
        from transformers import AutoModelForImageTextToText, AutoProcessor

        from repro.sampling.vision import pixel_bounds

        self._processor = AutoProcessor.from_pretrained(model_path, revision=revision)
        self._pixels = pixel_bounds(model_path)
        model = AutoModelForImageTextToText.from_pretrained(model_path, revision=revision, dtype=dtype)
        return self._processor.tokenizer, model

    def _model_inputs(self, request: Request) -> dict[str, Any]:
        from repro.sampling.vision import check_placeholders, load_images

        check_placeholders(request)
        images = load_images(request.images, *self._pixels) if request.images else None
        inputs = self._processor(text=[request.prompt], images=images, return_tensors="pt")
        return {name: value.to(self.device) for name, value in inputs.items()}

    def describe(self) -> dict[str, Any]:
        from importlib.metadata import version

        return {**super().describe(), "vision": {"min_pixels": self._pixels[0], "max_pixels": self._pixels[1],
                                                 "qwen_vl_utils_version": version("qwen-vl-utils")}}
