"""Sampling backends behind one interface (see `base.py`), imported lazily so that
`repro --help` and the simulated backend never load torch or vLLM."""

from __future__ import annotations

from repro.errors import UnknownNameError

BACKEND_NAMES = ("vllm", "hf", "simulated")


def check_backend_name(name: str) -> str:
    if name not in BACKEND_NAMES:
        raise UnknownNameError(f"unknown backend {name!r}; choose one of: {', '.join(BACKEND_NAMES)}")
    return name
