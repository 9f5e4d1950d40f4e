"""Every visible GPU used: one engine per GPU group, each sampling its own shard of the store.

vLLM 0.32 offers two ways to run a model on several GPU groups offline: `LLM(data_parallel_size=N)`
in one process, which it refuses outside its "external launcher" mode, and one process per
data-parallel rank, each with its own prompts and CUDA_VISIBLE_DEVICES (its documented
examples/features/data_parallel/data_parallel_offline.py). This module takes the second, one
step simpler: the processes are fully independent engines (no DP master port, no DP
coordinator). vLLM couples its DP ranks only for mixture-of-experts layers, which no model of
the paper has; independent engines keep a lost or slow process from stalling the others, and
each keeps the store's crash safety on its own (docs/cluster.md).

For one engine group (a model and its engine settings) of an experiment, with D engines:

1. the parent decides the layout (repro.gpu_layout: D GPU groups of the model's tensor-parallel
   size, or `--data-parallel D`), and for each of its runs, the shards: shard i/N of a
   `--shard i/N` run (WHOLE: 0/1) becomes the D shards i + N*r of N*D, r < D, which own
   exactly its problems. A store already begun with another split keeps it (the store refuses
   two splits at once): its shards are dealt out to the D engines in turn;
2. one process per GPU group (`python -m repro.data_parallel TASK`, CUDA_VISIBLE_DEVICES set)
   samples its shards into the stores, each under that shard's own writer lock and index,
   grading each chunk as it goes;
3. the parent goes on as without data parallelism (repro.pipeline.run_spec): it finds every
   sample, counts the stored grades and writes the results.

Samples do not depend on D: each request is seeded by (run seed, problem, round), whoever
draws it (tests/test_data_parallel.py checks identical samples and results for 1 and 3
engines). Runs whose engine holds no GPU (the simulated backend, engines on CPU) stay in this
process unless `--data-parallel` asks for more; so do the tiny stand-in models.
"""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import repro
from repro.checkpoints import Checkpoint
from repro.errors import EnvironmentNotSupportedError, ReproError
from repro.gpu_layout import Layout, cpu_layout, gpu_layout, visible_gpus, worker_environment
from repro.pipeline import RunContext, Subset, check_environment, missing_units, open_store, sample_missing
from repro.plan import EngineGroup, PlannedRun, RunSpec, engine_group, unique_runs
from repro.store import SampleStore, Shard
from repro.tiers import get_tier


def engine_layout(spec: RunSpec, data_parallel: int | None, gpus: Callable[[], tuple[str, ...]]) -> Layout | None:
    """The engines a spec's samples are drawn with at once, or None for one engine in this
    process. `gpus`: the visible GPUs, asked only where the engine runs on them."""
    if dict(spec.engine).get("device") == "cuda":
        if data_parallel is None and spec.weights.source == "tiny":
            return None  # a stand-in model on a few problems: one engine start is the whole cost
        layout = gpu_layout(gpus(), spec.tensor_parallel_size, data_parallel)
    elif data_parallel is None or data_parallel == 1:
        return None
    else:
        layout = cpu_layout(data_parallel)
    return layout if layout.data_parallel > 1 else None


def engine_shards(store: SampleStore, outer: Shard, engines: int) -> list[Shard]:
    """The shards that split `outer` (this command's --shard, or WHOLE) among `engines`
    engines: i + N*r of N*engines; or, in a store begun with another split of `outer`'s
    problems, that split's shards (the store never mixes splits)."""
    count = outer.count * engines
    begun = store.sampled_splits()
    if len(begun) == 1 and next(iter(begun)) % outer.count == 0:
        count = next(iter(begun))
    return [Shard(outer.index + outer.count * rank, count) for rank in range(count // outer.count)]


@dataclass(frozen=True)
class Assignment:
    spec: RunSpec
    shard: Shard
    label: str


@dataclass
class WorkerTask:
    """What one engine process does: everything it needs, pickled into a file for it."""

    root: Path
    tier: str
    backends: tuple[str, ...]
    run_seed: int
    keep_dapo_answer: bool
    checkpoints: dict[str, Checkpoint]
    subsets: dict[tuple[str, str], Subset]
    grading_workers: int
    name: str  # "engine 2/8 (GPUs 2)"
    environment: dict | None = None  # the command's record (repro.provenance), kept in the stores it writes
    assignments: list[Assignment] = field(default_factory=list)


def sample_data_parallel(context: RunContext, planned: list[PlannedRun],
                         gpus: Callable[[], tuple[str, ...]] = visible_gpus,
                         say: Callable[[str], None] = lambda line: print(line, flush=True)) -> None:
    """Sample every missing unit of these runs whose layout has several engines, one process
    per engine; the rest is left to the caller's usual path (one engine, this process)."""
    groups: dict[EngineGroup, list[tuple[RunSpec, str]]] = {}
    for run in unique_runs(planned):
        label = f"{run.uses[0].experiment}/{run.uses[0].arm}/{run.spec.benchmark} [{run.spec.backend}]"
        groups.setdefault(engine_group(run.spec), []).append((run.spec, label))
    for specs in groups.values():
        opened = []
        for spec, label in specs:
            _, problems, store = open_store(context, spec)
            if missing_units(store, problems, spec.rounds, context.shard):
                opened.append((spec, label, problems, store))
        if not opened:
            continue
        if dict(opened[0][0].engine).get("device") == "cuda":
            check_environment(context.tier, (opened[0][0].backend,))  # the usual line where no GPU is
        layout = engine_layout(opened[0][0], context.data_parallel, gpus)
        if layout is None:
            continue
        tasks = [_task(context, layout, rank) for rank in range(layout.data_parallel)]
        for spec, label, problems, store in opened:
            for number, shard in enumerate(engine_shards(store, context.shard, layout.data_parallel)):
                if missing_units(store, problems, spec.rounds, shard):
                    tasks[number % layout.data_parallel].assignments.append(Assignment(spec, shard, label))
        say(f"data parallel: {opened[0][0].model} [{opened[0][0].backend}] on {layout.describe()}")
        _run_workers([(task, group) for task, group in zip(tasks, layout.groups) if task.assignments], say)


def _task(context: RunContext, layout: Layout, rank: int) -> WorkerTask:
    group = layout.groups[rank]
    where = f" (GPU{'s' if len(group) > 1 else ''} {','.join(group)})" if group else ""
    cores = max(1, (os.cpu_count() or 1) // layout.data_parallel)
    return WorkerTask(Path(context.root), context.tier.name, context.backends, context.run_seed,
                      context.keep_dapo_answer, context.checkpoints, context.subsets,
                      min(cores, context.grading_workers or cores),
                      f"engine {rank + 1}/{layout.data_parallel}{where}", environment=context.environment)


def _run_workers(tasks: list[tuple[WorkerTask, tuple[str, ...]]], say: Callable[[str], None]) -> None:
    """One process per task, pinned to its GPUs; all run to their end, then a failure is said."""
    folder = Path(tempfile.mkdtemp(prefix="repro-data-parallel-"))
    # The child imports this very package, wherever the parent found it.
    package_parent = str(Path(repro.__file__).resolve().parent.parent)
    processes = []
    try:
        for rank, (task, group) in enumerate(tasks):
            task_path = folder / f"task-{rank}.pickle"
            task_path.write_bytes(pickle.dumps(task))
            env = worker_environment(os.environ, group)
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_parent, env.get("PYTHONPATH")]))
            say(f"  {task.name}: {len(task.assignments)} shard(s) to sample")
            processes.append(subprocess.Popen([sys.executable, "-m", "repro.data_parallel", str(task_path)], env=env))
        codes = [process.wait() for process in processes]
    except BaseException:  # interrupted: the engines got the same signal; let them stop first
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            process.wait()
        raise
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    failed = [(task.name, code) for (task, _), code in zip(tasks, codes) if code != 0]
    if failed:
        name, code = failed[0]
        raise ReproError(f"{len(failed)} of {len(tasks)} data-parallel engine process(es) stopped, first {name} with exit "
                         f"{code} (its error is above); their finished chunks are kept: rerun the same command "
                         "to continue")


def run_worker(task: WorkerTask) -> None:
    """Sample the task's shards with one engine per engine group (shared by its shards)."""
    context = RunContext(task.root, get_tier(task.tier), task.backends, run_seed=task.run_seed,
                         keep_dapo_answer=task.keep_dapo_answer, checkpoints=task.checkpoints,
                         grading_workers=task.grading_workers, environment=task.environment)
    context.subsets.update(task.subsets)
    try:
        for assignment in task.assignments:
            context.shard = assignment.shard
            spec = assignment.spec
            _, problems, store = open_store(context, spec)
            missing = missing_units(store, problems, spec.rounds, assignment.shard)
            if not missing:
                continue
            label = f"{assignment.label} shard {assignment.shard.index}/{assignment.shard.count}"
            print(f"  {task.name}: {label}: {len(missing)} rounds", flush=True)
            try:
                with store.writing(assignment.shard):
                    sample_missing(context, spec, store, problems, label)
            except EnvironmentNotSupportedError:
                if not context.tier.uses_stand_ins:
                    raise
                # A stand-in tier's engine check skipped here is reported by the parent's own run.
    finally:
        context.close()


def main(argv: list[str]) -> int:
    task: WorkerTask = pickle.loads(Path(argv[0]).read_bytes())  # written by this package, in a private folder
    try:
        run_worker(task)
    except ReproError as error:
        print(f"error: {task.name}: {error}", file=sys.stderr, flush=True)
        return error.exit_code
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
