"""Which GPUs each engine of a model gets: tensor parallel inside an engine, data parallel across.

A model's tensor-parallel size is fixed by the catalogue (repro.models; it is part of the
store key, since it changes the floating-point results). The data-parallel degree is not: it
is how many engines of that model run at once, each on its own group of GPUs and each
sampling its own shard of the problems (repro.data_parallel). Every sample is seeded by
(run seed, problem, round), so the samples do not depend on it.

    visible GPUs    tensor-parallel size    engines (data parallel)    groups
    8               1                       8                          0 | 1 | ... | 7
    8               4                       2                          0,1,2,3 | 4,5,6,7
    2               4                       -                          refused: needs 4 GPUs

Pure functions of their arguments (no torch import unless the GPUs are counted), so the
layout is decided before any engine starts and tests fake any GPU count.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from repro.errors import ReproError

CUDA_VISIBLE_DEVICES = "CUDA_VISIBLE_DEVICES"


class LayoutError(ReproError):
    """A layout the visible GPUs cannot hold (one line, exit 2)."""


@dataclass(frozen=True)
class Layout:
    """Engines of one model that run at once, and the GPUs of each (empty: not pinned, as for
    engines that run on CPU)."""

    tensor_parallel: int
    groups: tuple[tuple[str, ...], ...]
    idle: tuple[str, ...] = ()  # visible GPUs no engine uses (fewer than one more engine needs)

    @property
    def data_parallel(self) -> int:
        return len(self.groups)

    def describe(self) -> str:
        if not any(self.groups):
            return f"{self.data_parallel} engine(s) on CPU"
        gpus = "GPU" if self.tensor_parallel == 1 else "GPUs"
        text = (f"{self.data_parallel} engine(s) x {self.tensor_parallel} {gpus} ("
                + " | ".join(",".join(group) for group in self.groups) + ")")
        if self.idle:
            text += f"; idle: {','.join(self.idle)}"
        return text


def visible_gpus(environ: Mapping[str, str] | None = None, count: Callable[[], int] | None = None) -> tuple[str, ...]:
    """The GPUs this process may use, as CUDA names them: the entries of CUDA_VISIBLE_DEVICES
    where it is set (indices or UUIDs; Slurm and `docker --gpus` set it), else 0..n-1 for the
    n devices torch counts (0 without a CUDA build of torch)."""
    environ = os.environ if environ is None else environ
    if CUDA_VISIBLE_DEVICES in environ:
        ids = []
        for entry in environ[CUDA_VISIBLE_DEVICES].split(","):
            entry = entry.strip()
            if not entry or entry.startswith("-"):  # CUDA stops at the first invalid entry
                break
            ids.append(entry)
        return tuple(ids)
    return tuple(str(index) for index in range((count or _torch_device_count)()))


def _torch_device_count() -> int:
    try:
        import torch
    except ImportError:
        return 0
    # Counts devices without creating a CUDA context (a forked engine process stays possible).
    return int(torch.cuda.device_count()) if torch.cuda.is_available() else 0


def nvidia_smi_count() -> int:
    """GPUs the NVIDIA driver lists (`nvidia-smi -L`), without importing torch: for planning,
    which must stay light; 0 where there is no driver."""
    import shutil
    import subprocess

    if shutil.which("nvidia-smi") is None:
        return 0
    try:
        listed = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return 0
    return sum(1 for line in listed.stdout.splitlines() if line.startswith("GPU "))


def gpu_layout(gpus: Sequence[str], tensor_parallel: int, data_parallel: int | None = None) -> Layout:
    """Engines of `tensor_parallel` GPUs each over the visible `gpus`: as many as fit, or
    `data_parallel` of them where given. Consecutive GPUs form a group (on one node they
    usually share the fastest links)."""
    gpus = tuple(gpus)
    if tensor_parallel < 1:
        raise LayoutError(f"a tensor-parallel size must be at least 1, not {tensor_parallel}")
    if data_parallel is not None and data_parallel < 1:
        raise LayoutError(f"--data-parallel must be at least 1, not {data_parallel}")
    shown = f"{len(gpus)} visible" + (f" ({','.join(gpus)})" if gpus else "")
    if tensor_parallel > len(gpus):
        raise LayoutError(f"an engine with tensor-parallel size {tensor_parallel} needs {_gpus(tensor_parallel)}; "
                          f"{shown}")
    engines = len(gpus) // tensor_parallel if data_parallel is None else data_parallel
    if engines * tensor_parallel > len(gpus):
        raise LayoutError(f"--data-parallel {data_parallel} with tensor-parallel size {tensor_parallel} needs "
                          f"{_gpus(engines * tensor_parallel)}; {shown}")
    groups = tuple(gpus[rank * tensor_parallel:(rank + 1) * tensor_parallel] for rank in range(engines))
    return Layout(tensor_parallel, groups, gpus[engines * tensor_parallel:])


def _gpus(count: int) -> str:
    return f"{count} GPU" + ("s" if count != 1 else "")


def cpu_layout(data_parallel: int) -> Layout:
    """`data_parallel` engines that need no GPU (the simulated backend, engines on CPU)."""
    if data_parallel < 1:
        raise LayoutError(f"--data-parallel must be at least 1, not {data_parallel}")
    return Layout(1, ((),) * data_parallel)


def worker_environment(environ: Mapping[str, str], group: tuple[str, ...]) -> dict[str, str]:
    """The environment of an engine process pinned to one GPU group: CUDA_VISIBLE_DEVICES names
    exactly its GPUs, as in vLLM's own offline data-parallel example (one process per rank).
    An unpinned group (CPU) keeps the environment as it is."""
    env = dict(environ)
    if group:
        env[CUDA_VISIBLE_DEVICES] = ",".join(group)
    return env
