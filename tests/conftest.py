"""Shared test helpers.

Environment variables the tests read (each test that needs one skips without it):
- REPRO_SHARED_DIR: the read-only shared folder beside the project (paper, data);
- REPRO_DATA_DIR: a data folder with math/<benchmark>/test.jsonl (e.g. <shared>/data).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import numpy as np
import pytest

from repro.results import RunResult


def shared_dir() -> Path | None:
    value = os.environ.get("REPRO_SHARED_DIR")
    return Path(value) if value and Path(value).is_dir() else None


@pytest.fixture
def data_dir() -> Path:
    value = os.environ.get("REPRO_DATA_DIR")
    if not value or not Path(value, "math").is_dir():
        pytest.skip("REPRO_DATA_DIR is not set to a folder with math/*/test.jsonl")
    return Path(value)


def simulated_result(arm: str, benchmark: str, p: np.ndarray, n: int, rng: np.random.Generator) -> RunResult:
    """A RunResult with c_i ~ Binomial(n, p_i): what a run of a model with these success
    probabilities would produce."""
    c = rng.binomial(n, p)
    ids = tuple(f"{benchmark}/{i:04d}" for i in range(len(p)))
    return RunResult(arm, benchmark, ids, tuple(range(len(p))), np.full(len(p), n), c, backend="test")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def isolated_downloads(tmp_path, monkeypatch):
    """A private cache, no data folder, downloads aimed at a closed local port, no proxy: a
    loader test can neither read this machine's data nor reach the network by accident."""
    from repro.benchmarks import fetch

    monkeypatch.setenv("REPRO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("REPRO_DATA_DIR", raising=False)
    monkeypatch.delenv("REPRO_OFFLINE", raising=False)
    for proxy in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(proxy, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    closed = f"http://127.0.0.1:{_closed_port()}"
    for name in ("RAW_BASE_URL", "HF_BASE_URL", "GITHUB_BASE_URL"):
        monkeypatch.setattr(fetch, name, closed)
    monkeypatch.setattr(fetch, "DOWNLOAD_TIMEOUT_S", 5.0)
    return tmp_path


@pytest.fixture
def formats() -> Path:
    """The real rows of the code and visual datasets (shared folder), or skip."""
    root = shared_dir()
    if root is None:
        pytest.skip("REPRO_SHARED_DIR is not set")
    return root / "data" / "formats"
