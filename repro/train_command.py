"""`repro train RUN`: the training data, the resolved engine configuration, the launch on Ray,
and the checkpoints registered as models. Also `repro list --training` and `repro plan --training`.

    train(run_id, root, dry_run=..., nodes=..., gpus_per_node=..., resume=...)

What a run leaves in the run folder (--out):

    training/data/<training set>/{train,test}.parquet(.sha256)   repro.training.data
    training/<run>/config.yaml, config.yaml.sha256               the resolved engine configuration of the
                                                                 last launch (a dry run writes
                                                                 config.dry-run.yaml instead)
    training/<run>/launches.jsonl                                one line per launch and per end: time,
                                                                 command, configuration and data sha256
    training/<run>/engine/                                       the engine's own checkpoints (FSDP shards)
    training/models/<base model>/                                the base model at its pinned revision
    training/models/<base model>.pass-through-template/          what the engine is given for a plain-text
                                                                 prompt (repro.training.engine_model)
    checkpoints/<model key>/{model/, manifest.json}              the merged models (repro.trained)

The configuration is composed by Hydra from VeRL's own config tree (repro.training.compose), so
a dry run needs the training environment (scripts/install-train) but no GPU. The launch is the
engine's own (`python -m verl.trainer.main_ppo <overrides>`) on a Ray cluster: the one
$RAY_ADDRESS names, or a local head this command starts with ray.init and stops afterwards.

A launch holds training/<run>/launch.lock until its models are registered, so a second launch of
the same run is refused, and a dry run never rewrites the configuration a launch is using.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from repro.errors import EnvironmentNotSupportedError, ReproError
from repro.files import atomic_write_with_sha256
from repro.merging import VERL, merge_checkpoint, start_overrides
from repro.model_lock import download_model, lock_models
from repro.models import get_model
from repro.provenance import environment_record, utc_now
from repro.trained import model_home
from repro.training import cost
from repro.training.data import write_training_set
from repro.training.engine_model import needs_pass_through, prepare_pass_through, view_folder
from repro.training.overrides import Paths, launch_command
from repro.training.runs import RUNS, VERL_DAPO_COMMIT, Run, get_run

TRAINING_DIR = "training"
DAPO_DIR_ENV = "REPRO_VERL_DAPO_DIR"  # the train image's checkout of verl at VERL_DAPO_COMMIT
CONFIG_FILE = "config.yaml"
DRY_RUN_CONFIG_FILE = "config.dry-run.yaml"
LAUNCHES_FILE = "launches.jsonl"
LOCK_FILE = "launch.lock"
ENGINE_DIR = "engine"


# `repro train`'s defaults: one node of 8 GPUs, the VeRL examples' layout (trainer.n_gpus_per_node=8).
DEFAULT_NODES = 1
DEFAULT_GPUS_PER_NODE = 8
DEFAULT_GPUS = DEFAULT_NODES * DEFAULT_GPUS_PER_NODE


@dataclass(frozen=True)
class Layout:
    """Where one run's files go under the run folder."""

    root: Path
    run: Run

    @property
    def data(self) -> Path:
        return self.root / TRAINING_DIR / "data" / self.run.train_set

    @property
    def folder(self) -> Path:
        return self.root / TRAINING_DIR / self.run.id

    @property
    def config(self) -> Path:
        return self.folder / CONFIG_FILE

    @property
    def dry_run_config(self) -> Path:
        return self.folder / DRY_RUN_CONFIG_FILE

    @property
    def engine_checkpoints(self) -> Path:
        return self.folder / ENGINE_DIR

    @property
    def base_model(self) -> Path:
        return self.root / TRAINING_DIR / "models" / self.run.base_model

    @property
    def engine_model(self) -> Path:
        """The model folder the engine reads: the base model, or its pass-through view."""
        return view_folder(self.base_model) if needs_pass_through(self.run) else self.base_model

    def paths(self) -> Paths:
        from repro import training_reward

        return Paths(train_files=str(self.data / "train.parquet"), val_files=str(self.data / "test.parquet"),
                     model=str(self.engine_model), checkpoints=str(self.engine_checkpoints),
                     reward_file=str(Path(training_reward.__file__).resolve()))


def saved_steps(run: Run) -> list[int]:
    """The steps the engine saves: every trainer.save_freq steps and the last one
    (ray_trainer.py `fit`: save when is_last_step or global_steps % save_freq == 0)."""
    every = int(run.value("trainer.save_freq"))
    steps = list(range(every, run.steps + 1, every)) if every > 0 else []
    if run.steps not in steps:
        steps.append(run.steps)
    return steps


def missing_for_dry_run() -> list[str]:
    """What the configuration step needs and this environment lacks."""
    wanted = {"hydra": "hydra-core", "omegaconf": "omegaconf", "verl": "verl 0.3.0.post1", "pyarrow": "pyarrow"}
    return [name for module, name in wanted.items() if importlib.util.find_spec(module) is None]


def missing_for_training() -> list[str]:
    """What a real launch needs beyond the dry run: a CUDA GPU and Ray."""
    missing = []
    if importlib.util.find_spec("verl") is None:
        missing.append("verl")
    if importlib.util.find_spec("ray") is None:
        missing.append("ray")
    if not _cuda_available():
        missing.append("a CUDA GPU")
    return missing


def _cuda_available() -> bool:
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return bool(torch.cuda.is_available())


def write_config(layout: Layout, nodes: int, gpus_per_node: int, extra: list[str], *,
                 dry_run: bool = False) -> tuple[Path, str]:
    """Compose the run against the engine's config tree, check it, and save the resolved yaml
    with its sha256 (sha256sum format) beside it: config.yaml for a launch, config.dry-run.yaml
    for a dry run (which must not replace what a running launch's models will be hashed with)."""
    from repro.training.compose import check_run, resolved_yaml

    config = check_run(layout.run, layout.paths(), nodes=nodes, gpus_per_node=gpus_per_node, extra=extra)
    path = layout.dry_run_config if dry_run else layout.config
    return path, atomic_write_with_sha256(path, resolved_yaml(config).encode("utf-8"))


def record_launch(layout: Layout, event: str, **fields: object) -> None:
    """Append one line to training/<run>/launches.jsonl (the launch history a reader checks the
    models' manifests against). Appending under the launch lock: one writer at a time."""
    record = {"event": event, "at": utc_now(), **fields}
    layout.folder.mkdir(parents=True, exist_ok=True)
    with (layout.folder / LAUNCHES_FILE).open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, sort_keys=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def launch_lock(layout: Layout):
    """The run's launch lock, taken without waiting: a second launch of the same run is refused.
    filelock's flock(2) lock is released by the kernel when its holder dies."""
    from filelock import FileLock, Timeout

    layout.folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(layout.folder / LOCK_FILE))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise ReproError(f"another `repro train {layout.run.id}` is running on {layout.folder} (it holds "
                         f"{LOCK_FILE}); wait for it to end, or give this one another --out") from None
    return lock


def describe_cost(run: Run, gpus: int) -> str:
    c = cost.run_cost(run)
    return (f"{c.gpu_hours:,.0f} GPU-hours ({c.steps} steps x {c.gpu_seconds_per_step:,.0f} GPU-s: generation "
            f"{c.generation_gpu_seconds:,.0f} for {c.rollouts_generated:,} rollouts x {c.response_tokens:,.0f} tokens, "
            f"training {c.training_gpu_seconds:,.0f}); about {c.wall_hours(gpus):,.1f} h on {gpus} GPUs "
            "(assumptions: `repro plan --training`)")


def train(run_id: str, root: Path, *, dry_run: bool = False, nodes: int = DEFAULT_NODES,
          gpus_per_node: int = DEFAULT_GPUS_PER_NODE,
          resume: bool = False, say: Callable[[str], None] = print,
          runner: Callable[..., int] | None = None) -> int:
    """Prepare and (unless dry_run) launch one training run; returns the exit code.
    `runner(command, gpus_per_node=, say=, extra_env=)`: runs the engine and returns its exit
    status (default: run_on_ray, a subprocess on a Ray cluster)."""
    run = get_run(run_id)
    if nodes < 1 or gpus_per_node < 1:
        raise ReproError(f"--nodes and --gpus-per-node must be at least 1, not {nodes} and {gpus_per_node}")
    if not dry_run:
        missing = missing_for_training()
        if missing:
            raise EnvironmentNotSupportedError(
                f"repro train {run.id} needs {' and '.join(missing)}, absent here; the `train` image has them "
                f"(docs/training.md). `repro train {run.id} --dry-run` shows what would run")
        if nodes > 1 and not os.environ.get("RAY_ADDRESS"):
            raise ReproError(f"--nodes {nodes}: start a Ray cluster on those nodes (`ray start`) and set RAY_ADDRESS "
                             "to its head (docs/training.md, 'Running')")
        extra_env = engine_environment(run)  # refused here, before anything is written
    missing = missing_for_dry_run()
    if missing:
        raise EnvironmentNotSupportedError(
            f"repro train composes the run against VeRL's own config tree and writes parquet: {', '.join(missing)} "
            "missing here; install the training environment (bash scripts/install-train) or use the train image")
    layout = Layout(Path(root).resolve(), run)
    if dry_run:
        return _prepare(layout, nodes=nodes, gpus_per_node=gpus_per_node, resume=resume, dry_run=True, say=say)[0]
    lock = launch_lock(layout)
    try:
        return _launch(layout, nodes=nodes, gpus_per_node=gpus_per_node, resume=resume, say=say,
                       runner=runner or run_on_ray, extra_env=extra_env)
    finally:
        lock.release()


def _prepare(layout: Layout, *, nodes: int, gpus_per_node: int, resume: bool, dry_run: bool,
             say: Callable[[str], None]) -> tuple[int, list[str], Path, str, dict[str, tuple[Path, str]]]:
    """Write the data and the configuration and say what would run: (0, command, config path,
    its sha256, data written)."""
    run = layout.run
    extra = start_overrides(layout.engine_checkpoints, resume, VERL)
    written = write_training_set(run.train_set, layout.data)
    config_path, digest = write_config(layout, nodes, gpus_per_node, extra, dry_run=dry_run)
    command = launch_command(run, layout.paths(), nodes=nodes, gpus_per_node=gpus_per_node,
                             python=sys.executable, extra=extra)
    say(f"run {run.id}: {run.title}")
    for part, (path, sha256) in written.items():
        say(f"data {part}: {path} sha256 {sha256}")
    say(f"configuration: {config_path} sha256 {digest}")
    say(f"engine checkpoints every {run.value('trainer.save_freq')} steps: {', '.join(map(str, saved_steps(run)))} "
        f"(in {layout.engine_checkpoints})")
    say("models: " + ", ".join(f"{model} (step {step})" for model, step in zip(run.models, run.save_steps)))
    say(f"cost: {describe_cost(run, nodes * gpus_per_node)}")
    if run.engine == "verl-dapo":
        say(f"the recipe runs from ${DAPO_DIR_ENV} (verl at {VERL_DAPO_COMMIT[:7]}), first on PYTHONPATH")
    if needs_pass_through(run):
        say(f"prompt: the engine's tokenizer passes the {run.template} text through unwrapped, as evaluation sends "
            f"it ({layout.engine_model}; repro.training.engine_model)")
    say("command: " + shlex.join(command))
    if dry_run:
        say("dry run: nothing started")
    return 0, command, config_path, digest, written


def _launch(layout: Layout, *, nodes: int, gpus_per_node: int, resume: bool, say: Callable[[str], None],
            runner: Callable[..., int], extra_env: dict[str, str]) -> int:
    """Under the run's launch lock: prepare, run the engine, merge and register the models."""
    run = layout.run
    _, command, config_path, digest, written = _prepare(layout, nodes=nodes, gpus_per_node=gpus_per_node,
                                                        resume=resume, dry_run=False, say=say)
    _fetch_base_model(layout, say)
    tokenizer_from = None
    if needs_pass_through(run):
        prepare_pass_through(layout.base_model, layout.engine_model)
        tokenizer_from = layout.base_model
    record_launch(layout, "launch", command=command, config_sha256=digest, resume=resume, nodes=nodes,
                  gpus_per_node=gpus_per_node, data_sha256={part: sha for part, (_, sha) in written.items()},
                  environment=environment_record())  # where it was launched from (docs/provenance.md)
    code = runner(command, gpus_per_node=gpus_per_node, say=say, extra_env=extra_env)
    record_launch(layout, "end", exit_status=code, config_sha256=digest)
    if code != 0:
        raise ReproError(f"the engine exited with status {code}; rerun with --resume to continue from the last "
                         f"saved step ({layout.engine_checkpoints})")
    for model, step in zip(run.models, run.save_steps):
        merge_checkpoint(layout.engine_checkpoints, step, model_home(layout.root, model), model=model, run=run.id,
                         training_config=config_path, data=[path for path, _ in written.values()], engine=VERL,
                         tokenizer_from=tokenizer_from, say=say)
        say(f"registered {model}: {model_home(layout.root, model)}")
    return 0


def engine_environment(run: Run) -> dict[str, str]:
    """Environment the engine's process needs beyond this one's. The DAPO recipe is in no wheel:
    it runs from a checkout of verl at the pinned commit (the train image's REPRO_VERL_DAPO_DIR),
    put first on PYTHONPATH so that the recipe imports the verl of its own commit."""
    if run.engine != "verl-dapo":
        return {}
    folder = os.environ.get(DAPO_DIR_ENV)
    if not folder or not (Path(folder) / "recipe" / "dapo" / "src" / "main_dapo.py").is_file():
        raise EnvironmentNotSupportedError(
            f"the DAPO run needs a checkout of volcengine/verl at {VERL_DAPO_COMMIT[:7]} named by ${DAPO_DIR_ENV} "
            "(recipe/dapo/src/main_dapo.py); the train image has one")
    return {"PYTHONPATH": os.pathsep.join(filter(None, [folder, os.environ.get("PYTHONPATH", "")]))}


def _fetch_base_model(layout: Layout, say: Callable[[str], None]) -> None:
    """The base model at the run folder's locked commit (repro.model_lock: the catalogue's pin,
    else the commit fixed on first use), in the hub cache, and training/models/<base> a link to
    that snapshot: VeRL 0.3.0.post1 reads model.path with from_pretrained and has no revision key."""
    model = get_model(layout.run.base_model)
    commit = lock_models(layout.root, [model], say=say)[model.hf_id]
    say(f"base model {model.hf_id} at {commit}")
    snapshot = download_model(model.hf_id, commit)
    link = layout.base_model
    if link.exists() and not link.is_symlink():
        raise ReproError(f"{link} is a folder, not a link to the locked snapshot of {model.hf_id}; move it away")
    link.parent.mkdir(parents=True, exist_ok=True)
    staging = link.with_name(f".{link.name}.link-{os.getpid()}")
    staging.unlink(missing_ok=True)
    staging.symlink_to(snapshot, target_is_directory=True)
    os.replace(staging, link)


def run_on_ray(command: list[str], *, gpus_per_node: int, say: Callable[[str], None],
               extra_env: dict[str, str] | None = None) -> int:
    """Run the engine as a subprocess on Ray: the cluster $RAY_ADDRESS names, else a local head
    started here with ray.init (and stopped when the engine is done). The engine's own
    ray.init then connects to it through RAY_ADDRESS."""
    started = False
    address = os.environ.get("RAY_ADDRESS")
    if not address:
        import ray

        context = ray.init(num_gpus=gpus_per_node, include_dashboard=False)
        address = context.address_info["gcs_address"]
        started = True
        say(f"started a local Ray head at {address}")
    # Read the environment after ray.init: a new Ray head turns on token authentication in this
    # process's environment (RAY_AUTH_MODE, Ray >= 2.5x), which the engine needs to connect.
    env = dict(os.environ, RAY_ADDRESS=address, **(extra_env or {}))
    try:
        return subprocess.run(command, env=env, check=False).returncode
    finally:
        if started:
            import ray

            ray.shutdown()


# ----------------------------------------------------------------------------- list and plan


def list_runs() -> str:
    from tabulate import tabulate

    rows = []
    for run in RUNS:
        c = cost.run_cost(run)
        rows.append([run.id, run.adv_estimator if run.engine == "verl" else "grpo (DAPO recipe)", run.steps,
                     ", ".join(f"{m} ({s})" for m, s in zip(run.models, run.save_steps)),
                     DEFAULT_GPUS, f"{c.gpu_hours:,.0f}"])
    table = tabulate(rows, headers=["run", "algorithm", "steps", "models (step)", "GPUs", "GPU-hours"])
    return ("Training runs (`repro train RUN --dry-run` shows one; docs/training.md):\n" + table
            + f"\ntotal: {sum(c.gpu_hours for c in cost.all_costs()):,.0f} GPU-hours (H100; `repro plan --training`)")


def training_plan() -> str:
    """Every run's GPU-hours, the assumptions, and the sum (`repro plan --training`)."""
    from tabulate import tabulate

    costs = cost.all_costs()
    rows = [[c.run.id, c.steps, f"{c.rollouts_generated:,}", f"{c.response_tokens:,.0f}",
             f"{c.generation_gpu_seconds:,.0f}", f"{c.training_gpu_seconds:,.0f}", f"{c.gpu_hours:,.1f}",
             f"{c.wall_hours(DEFAULT_GPUS):,.1f}"] for c in costs]
    total = sum(c.gpu_hours for c in costs)
    rows.append(["total", sum(c.steps for c in costs), "", "", "", "", f"{total:,.1f}", f"{total / DEFAULT_GPUS:,.1f}"])
    table = tabulate(rows, headers=["run", "steps", "rollouts/step", "tokens/rollout", "gen GPU-s/step",
                                    "train GPU-s/step", "GPU-hours", "hours on 8 GPUs"])
    notes = "\n".join(f"- {what}: {value}" for what, value in cost.assumptions())
    return ("Training plan (H100 80GB; docs/training.md, 'Cost', shows the arithmetic)\n" + table
            + "\nGPU-hours = steps x (generation + training GPU-seconds per step) / 3600, where\n"
            "generation = rollouts x tokens per rollout / throughput per GPU, and\n"
            "training = trained rollouts x (prompt + response tokens) x passes x 2 x parameters / (peak x MFU).\n"
            "Assumptions:\n" + notes)
