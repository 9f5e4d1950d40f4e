"""scripts/bench_sampling.py keeps working (it is run by hand, on GPUs where there are any):
a tiny run through both sides, identical samples, the report's lines. No timing is checked."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("vllm")

pytestmark = [pytest.mark.engines, pytest.mark.slow]

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "bench_sampling.py"


def test_bench_sampling_compares_both_sides_on_identical_samples():
    result = subprocess.run([sys.executable, str(SCRIPT), "--prompts", "4", "--n", "2", "--max-new-tokens", "8",
                             "--repeats", "2"], capture_output=True, text=True, timeout=600, env=dict(os.environ))
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "4 MATH500 prompts" in result.stdout or "4 synthetic stand-in" in result.stdout
    assert "8 samples" in result.stdout
    assert "samples identical on both sides in all 2 repeats" in result.stdout
    assert "package throughput / bare vLLM:" in result.stdout and "outside the engine" in result.stdout
