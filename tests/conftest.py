"""Shared test helpers.

Environment variables the tests read (each test that needs one skips without it):
- REPRO_SHARED_DIR: the read-only shared folder beside the project (paper, data);
- REPRO_DATA_DIR: a data folder with math/<benchmark>/test.jsonl (e.g. <shared>/data).
"""

from __future__ import annotations

import os
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
