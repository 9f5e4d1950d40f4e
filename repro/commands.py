"""What each CLI command does. `cli.py` only parses arguments and calls these."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

from tabulate import tabulate

from repro import adaptive_verdicts
from repro.aime_filter import filter_runs, prepare as prepare_aime_filter
from repro.claims import claim_heading
from repro.compare import FAIL, ExperimentComparison, compare_experiment
from repro.checkpoints import Checkpoint, validate_checkpoint
from repro.errors import InputFileError, ReproError, StoreError
from repro.files import atomic_write
from repro.experiments import EXPERIMENTS, Experiment, get_experiment
from repro.experiments.registry import KEEP_DAPO_ANSWER
from repro.model_lock import LOCK_FILE, lock_models, locked_revisions, read_lock
from repro.models import MODELS, get_model
from repro.data_parallel import sample_data_parallel
from repro.pipeline import RunContext, check_environment, plan_for, results_dir, run_experiment
from repro.provenance import ENVIRONMENT_FILE, environment_record, finished, read_environment, version_line
from repro.report import ExperimentSection, write_report
from repro.results import RunResult
from repro.results_csv import file_name, read_results_csv, write_results_csv
from repro.sampling import get_backend
from repro.stages import STAGE_HELP, missing_stages, status_line
from repro.store import WHOLE, Shard
from repro.tiers import Tier, get_tier

HOME_ENV = "REPRO_HOME"


def version() -> str:
    """What `repro --version` prints: the package version and its git commit."""
    return version_line()


def default_root() -> Path:
    return Path(os.environ.get(HOME_ENV, "runs"))


# Faults of the machine, not of the package or the input: one line and exit 2.
_MACHINE_FAULTS = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is exhausted",
                   errno.EROFS: "the file system is read-only", errno.EACCES: "permission denied"}


def machine_fault(error: OSError) -> str | None:
    """One line for a fault of the machine (a full disk, a read-only folder), or None for any
    other OSError (treated as a bug)."""
    if error.errno not in _MACHINE_FAULTS:
        return None
    where = f" ({error.filename})" if error.filename else ""
    return (f"{_MACHINE_FAULTS[error.errno]}{where}; free space or choose a writable folder (--out or "
            f"${HOME_ENV}) and rerun: finished chunks are kept")


def write_crash_log(root: Path, error: BaseException) -> Path:
    """The traceback of an internal error, written under ROOT/logs (or, where that cannot be
    written, the system's temporary folder); its path."""
    import tempfile
    import time
    import traceback

    text = "".join(traceback.format_exception(error))
    name = f"crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    for folder in (Path(root) / "logs", Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text, encoding="utf-8")
            return folder / name
        except OSError:
            continue
    return Path("(nowhere: no writable folder)")


def engine_log_routed(root: Path, level: str, target: str, announce):
    """The context in which `run`/`all` start engines: their messages routed (repro.engine_log)."""
    from repro.engine_log import routed

    return routed(root, level, target, announce=announce)


def _say(text: str = "") -> None:
    print(text, flush=True)


def _backends(tier: Tier, backend: str | None) -> tuple[str, ...]:
    """The backends a command runs: the tier's default, or the one asked for if the tier allows it."""
    if backend is None:
        return tier.default_backends
    tier.check_backend(get_backend(backend))
    return (backend,)


def _counted(tier: Tier, backends: tuple[str, ...]) -> tuple[str, ...]:
    """Backends whose comparisons decide the exit status (`Tier.decides_exit`)."""
    return tuple(b for b in backends if tier.decides_exit(get_backend(b)))


# ----------------------------------------------------------------------------- list


def list_experiments(show_models: bool = False, root: Path | None = None, as_json: bool = False) -> str:
    """`root`: a run folder whose trained checkpoints (repro.trained) count as the models they are.
    `as_json`: the document of repro.json_output instead of the table."""
    from repro.trained import registered_models

    trained = registered_models(root) if root is not None else set()
    if as_json:
        from repro import json_output

        if show_models:
            return json_output.dumps(json_output.models_document(MODELS.values(), trained))
        return json_output.dumps(json_output.experiments_document(
            EXPERIMENTS, lambda e: status_line(e, trained),
            lambda e: all(_template_verified(e.template_for(a, b)) for a, b in e.runs()), STAGE_HELP))
    if show_models:
        locked = read_lock(root) if root is not None else {}
        rows = [[m.key, m.hf_id, _revision_shown(m, locked), m.context_length, m.template,
                 m.tensor_parallel_size, "yes" if m.released else ("no: trained here" if m.key in trained else "no: train")]
                for m in MODELS.values()]
        return tabulate(rows, headers=["model", "hub id", "revision", "context", "template", "TP", "released"],
                        tablefmt="simple")
    rows = []
    for experiment in EXPERIMENTS:
        benchmarks = sorted({b for _, b in experiment.runs()})
        templates = {experiment.template_for(arm, benchmark) for arm, benchmark in experiment.runs()}
        notes = []
        if not all(_template_verified(t) for t in templates):
            notes.append("prompt unverified")
        rows.append([experiment.id, experiment.section, ", ".join(experiment.figures), len(experiment.arms),
                     ", ".join(benchmarks) or "-", status_line(experiment, trained), "; ".join(notes)])
    table = tabulate(rows, headers=["experiment", "sec", "figures / tables", "arms", "benchmarks", "status",
                                    "caveats"], tablefmt="simple")
    legend = "\n".join(f"  {stage}: {meaning}" for stage, meaning in STAGE_HELP.items())
    return f"{table}\n\nMissing stages:\n{legend}"


def _revision_shown(model, locked: dict[str, dict]) -> str:
    entry = locked.get(model.hf_id)
    if entry is not None and entry["commit"] != model.revision:
        return f"{entry['commit']} ({LOCK_FILE})"
    if model.revision:
        return model.revision
    return "(locked at first download)" if model.released else "-"


def _template_verified(name: str) -> bool:
    from repro.code_prompts import CODE_TEMPLATES
    from repro.prompts import TEMPLATES

    template = TEMPLATES.get(name) or CODE_TEMPLATES.get(name)
    return bool(template and template.verified)


# ----------------------------------------------------------------------------- plan

def plan(experiment_ids: list[str], tier_name: str, backend: str | None = None, as_json: bool = False,
         calibrate_from: Path | None = None, seed: int = 0, checkpoints=(), root: Path | None = None,
         gpus: int | None = None, data_parallel: int | None = None) -> str:
    """Every unique run the experiments need, with the experiments that share it, its samples,
    output tokens and GPU-hours (repro.costs), and the engines of its model that run at once on
    a node of `gpus` GPUs (default: those visible here) with its wall-clock hours; as a table,
    or as JSON."""
    from repro.costs import calibrate, run_cost
    from repro.plan import plan_experiment, unique_runs

    tier = get_tier(tier_name)
    backends = _backends(tier, backend)
    experiments = [get_experiment(i) for i in experiment_ids] if experiment_ids else list(EXPERIMENTS)
    checkpoint_dirs = parse_checkpoints(checkpoints)
    if root is not None:
        checkpoint_dirs = with_trained(checkpoint_dirs, experiments, root)
    calibration = calibrate(calibrate_from) if calibrate_from is not None else None
    revisions = locked_revisions(root)  # planning never asks the hub: unlocked models show "resolved at download"
    planned, blocked = [], {}
    for experiment in experiments:
        missing = missing_stages(experiment, tier, checkpoint_dirs)
        if missing:
            blocked[experiment.id] = missing
            continue
        planned += filter_runs(experiment, tier, backends, run_seed=seed, checkpoints=checkpoint_dirs,
                               revisions=revisions)
        for name in backends:
            planned += plan_experiment(experiment, tier, get_backend(name), run_seed=seed, checkpoints=checkpoint_dirs,
                                       revisions=revisions)
    unique = unique_runs(planned)
    costs = [run_cost(run, calibration) for run in unique]
    # GPU-hours only where real models run on GPUs: stand-ins cost minutes of CPU.
    real = not any(get_backend(name).simulated for name in backends) and not tier.uses_stand_ins
    node = _node(costs, gpus, data_parallel) if real else None
    adaptive = None
    if tier.adaptive and real:
        from repro.adaptive_estimate import PlanEstimate

        adaptive = PlanEstimate.of(unique, costs, [e for e in experiments if e.id not in blocked])
    if as_json:
        return _plan_json(tier, backends, costs, blocked, real, node, adaptive)
    return _plan_table(tier, costs, blocked, real, calibration, node, adaptive)


class _Node:
    """The engines of each tensor-parallel size on one node (repro.gpu_layout): a layout, or
    the one line saying why none fits."""

    def __init__(self, gpus: tuple[str, ...], source: str, layouts: dict[int, object]):
        self.gpus, self.source, self.layouts = gpus, source, layouts

    def engines(self, cost) -> int | None:
        from repro.gpu_layout import Layout

        layout = self.layouts[cost.gpus]
        return layout.data_parallel if isinstance(layout, Layout) else None

    def wall_hours(self, cost, output_tokens: float | None = None) -> float | None:
        """Hours of the run with its engines working at once (each on its share of the problems);
        `output_tokens`: of another tier than the run's full n (the adaptive estimate)."""
        engines = self.engines(cost)
        tokens = cost.output_tokens if output_tokens is None else output_tokens
        return None if engines is None else tokens / cost.throughput / 3600 / engines

    def lines(self) -> list[str]:
        from repro.gpu_layout import Layout

        return [f"tensor parallel {size}: " + (layout.describe() if isinstance(layout, Layout) else f"none ({layout})")
                for size, layout in sorted(self.layouts.items())]


def _node(costs, gpus: int | None, data_parallel: int | None) -> _Node:
    from repro.gpu_layout import LayoutError, gpu_layout, nvidia_smi_count, visible_gpus

    ids = tuple(str(index) for index in range(gpus)) if gpus is not None else visible_gpus(count=nvidia_smi_count)
    source = f"--gpus {gpus}" if gpus is not None else "visible here"
    layouts: dict[int, object] = {}
    for size in sorted({cost.gpus for cost in costs}):
        try:
            layouts[size] = gpu_layout(ids, size, data_parallel)
        except LayoutError as error:
            layouts[size] = str(error)
    return _Node(ids, source, layouts)


def _plan_json(tier: Tier, backends: tuple[str, ...], costs, blocked: dict[str, list[str]], real: bool,
               node: _Node | None = None, adaptive=None) -> str:
    def estimated(c) -> dict | None:
        if adaptive is None:
            return None
        a = adaptive.of_run(c)
        return {"samples": a.samples, "share_of_full_samples": a.share, "output_tokens": a.output_tokens,
                "gpu_hours": a.gpu_hours, "wall_hours": node.wall_hours(c, a.output_tokens) if node else None,
                "simulated": a.simulated}

    runs = [{
        "model": c.run.spec.model, "weights": c.run.spec.weights.describe(), "benchmark": c.run.spec.benchmark,
        "backend": c.run.spec.backend, "temperature": c.run.spec.temperature, "n": c.run.spec.n,
        "problems": c.problems, "samples": c.samples, "max_new_tokens": c.run.spec.max_new_tokens,
        "max_model_len": c.run.spec.max_model_len, "mean_output_tokens": c.mean_tokens,
        "output_tokens": c.output_tokens, "engine_tokens_per_s": c.throughput, "gpus": c.gpus,
        "gpu_hours": c.gpu_hours if real else None, "measured": c.measured, "key_sha256": c.run.spec.key_sha256(),
        "experiments": list(c.run.use_names),
        "engines": node.engines(c) if node else None, "wall_hours": node.wall_hours(c) if node else None,
        **({"adaptive": estimated(c)} if adaptive is not None else {}),
    } for c in costs]
    walls = [node.wall_hours(c) for c in costs] if node else [None]
    total = {"runs": len(costs), "samples": sum(c.samples for c in costs),
             "output_tokens": sum(c.output_tokens for c in costs),
             "gpu_hours": sum(c.gpu_hours for c in costs) if real else None,
             # Only where every run fits the node.
             "wall_hours": sum(walls) if None not in walls else None}
    layout = {"gpus": list(node.gpus), "source": node.source, "by_tensor_parallel": node.lines()} if node else None
    from repro.json_output import PLAN_FORMAT

    document = {"format": PLAN_FORMAT, "tier": tier.name, "backends": list(backends), "runs": runs,
                "blocked": blocked, "layout": layout, "total": total}
    if adaptive is not None:
        totals = adaptive.totals(costs)
        walls = [node.wall_hours(c, adaptive.of_run(c).output_tokens) for c in costs] if node else [None]
        totals["wall_hours"] = sum(walls) if None not in walls else None
        document["adaptive"] = {"total": totals, "reruns": adaptive.estimate.reruns, "seed": adaptive.estimate.seed,
                                "not_simulated": list(adaptive.estimate.uncalibrated), "method": adaptive.method()}
    return json.dumps(document, indent=2)


def _plan_table(tier: Tier, costs, blocked: dict[str, list[str]], real: bool, calibration,
                node: _Node | None = None, adaptive=None) -> str:
    from repro.costs import OUTPUT_TOKENS_SOURCE, THROUGHPUT

    def engines(c) -> str:
        count = node.engines(c) if node else None
        return "-" if count is None else str(count)

    def tokens(c) -> float:
        """Output tokens of the tier planned: the adaptive estimate, or the full n."""
        return adaptive.of_run(c).output_tokens if adaptive else c.output_tokens

    def wall(c) -> str:
        hours = node.wall_hours(c, tokens(c)) if node else None
        return "-" if hours is None else f"{hours:,.1f}"

    def estimated(c) -> list[str]:
        if adaptive is None:
            return []
        a = adaptive.of_run(c)
        return [f"{a.samples:,.0f}", f"{100 * a.share:.0f}%" + ("" if a.simulated else " (full n)"),
                f"{a.output_tokens / 1e6:,.1f}", f"{a.gpu_hours:,.1f}"]

    rows = [[i + 1, c.run.spec.model, c.run.spec.benchmark, f"{c.run.spec.temperature:g}", c.run.spec.n,
             f"{c.samples:,}", f"{c.mean_tokens:,.0f}", f"{c.output_tokens / 1e6:,.1f}", c.gpus,
             f"{c.gpu_hours:,.1f}" if real else "-", *estimated(c), engines(c), wall(c), ", ".join(c.run.use_names)]
            for i, c in enumerate(costs)]
    if adaptive is None:
        headers = ["#", "model", "benchmark", "T", "n", "samples", "tokens/sample", "Mtokens", "GPUs", "GPU-h"]
    else:
        headers = ["#", "model", "benchmark", "T", "n", "full samples", "tokens/sample", "full Mtokens", "GPUs",
                   "full GPU-h", "adaptive samples", "of full", "adaptive Mtokens", "adaptive GPU-h"]
    table = tabulate(rows, headers=headers + ["engines", "wall-h", "used by"], tablefmt="simple")
    lines = [table, ""]
    lines += [f"{experiment_id}: blocked, needs {', '.join(missing)}" for experiment_id, missing in blocked.items()]
    shared = sum(1 for c in costs if len(c.run.experiments) > 1)
    lines.append(f"{len(costs)} unique runs ({shared} shared by several experiments, counted once); "
                 f"{sum(c.samples for c in costs):,} samples, {sum(c.output_tokens for c in costs) / 1e6:,.1f} million "
                 "output tokens.")
    if not real:
        lines.append(f"{tier.name} tier: stand-ins on CPU, minutes in total; no GPU-hours.")
        return "\n".join(lines)
    hours = sum(c.gpu_hours for c in costs)
    shown = f"{hours:,.0f}" if hours >= 10 else f"{hours:.2f}"
    lines.append(f"{'Full tier' if adaptive else 'Total'}: about {shown} GPU-hours (H100) = samples x tokens/sample / "
                 "engine throughput x GPUs per engine.")
    if adaptive is not None:
        lines += _adaptive_lines(adaptive, costs)
    if node is not None:
        lines.append(f"Engines at once on {len(node.gpus)} GPUs ({node.source}; repro.gpu_layout): "
                     + "; ".join(node.lines()) + ".")
        walls = [node.wall_hours(c, tokens(c)) for c in costs]
        if costs and None not in walls:
            lines.append(f"Wall-clock: about {sum(walls):,.1f} hours on this node = each run's output tokens"
                         f"{' (the adaptive estimate)' if adaptive else ''} / engine throughput / its engines at once, "
                         "runs one after another (engine starts, grading and the scoring stages not counted).")
        else:
            lines.append("Wall-clock: not estimated: some runs' models do not fit these GPUs (engines \"-\"); give "
                         "--gpus N to plan for a node of N GPUs.")
    if calibration:
        lines.append(f"Tokens and throughput {calibration.source} where that run had the model; assumed elsewhere.")
    lines.append("Assumed: " + OUTPUT_TOKENS_SOURCE + "; engine throughput (output tokens/s, one engine) by size: "
                 + ", ".join(f"{size}B {a.value:,.0f}" for size, a in THROUGHPUT.items())
                 + " (repro.costs; docs/performance.md).")
    return "\n".join(lines)


def _adaptive_lines(adaptive, costs) -> list[str]:
    total = adaptive.totals(costs)
    hours = total["gpu_hours"]
    shown = f"{hours:,.0f}" if hours >= 10 else f"{hours:.2f}"
    spread = total["gpu_hours_standard_error"]
    lines = [f"Adaptive tier, estimated: about {shown} GPU-hours"
             + (f" (standard error over the reruns {spread:,.1f})" if adaptive.estimate.reruns > 1 else "")
             + f", {total['samples']:,.0f} samples ({100 * total['share_of_full_samples']:.0f}% of the full tier's), "
             f"{total['output_tokens'] / 1e6:,.1f} million output tokens; same tokens/sample and throughput."]
    if adaptive.estimate.uncalibrated:
        lines.append(f"Not simulated (nothing in the paper to fit their runs to): "
                     f"{', '.join(adaptive.estimate.uncalibrated)}.")
    if total["runs_at_full_n"]:
        lines.append(f"{total['runs_at_full_n']} run(s) marked \"(full n)\" are not simulated (no adaptive verdict "
                     "reads them, or nothing in the paper fits them): counted at the full tier's n.")
    lines.append(f"Estimate: {adaptive.method()}.")
    return lines


# ----------------------------------------------------------------------------- run / all


def parse_checkpoints(items, progress=None) -> dict[str, Checkpoint]:
    """MODEL=DIR pairs -> {model key: checkpoint}; every model known, every folder one that a
    model can be loaded from (repro.checkpoints), with its content hash."""
    checkpoints: dict[str, Checkpoint] = {}
    for item in items:
        model, separator, directory = str(item).partition("=")
        if not separator or not model or not directory:
            raise ReproError(f"--checkpoint takes MODEL=DIR, not {item!r}")
        get_model(model)  # an unknown model is an error here, not a silent no-op
        checkpoints[model] = validate_checkpoint(model, directory, progress)
    return checkpoints


def with_trained(given: dict[str, Checkpoint], experiments: list[Experiment], root: Path,
                 progress=None) -> dict[str, Checkpoint]:
    """The checkpoints given with --checkpoint, plus those trained in this run folder
    (repro.trained) for the unreleased models of these experiments; a given one wins."""
    from repro.trained import trained_checkpoints

    wanted = [arm.model for experiment in experiments for arm in experiment.arms
              if not get_model(arm.model).released and arm.model not in given]
    return {**trained_checkpoints(wanted, root, progress), **given}


def run(experiment_ids: list[str], tier_name: str, backend: str | None, root: Path, shard_text: str | None,
        seed: int, progress, explicit: bool = True, regrade: bool = False, generate_missing: bool = True,
        keep_dapo_answer: bool = KEEP_DAPO_ANSWER, checkpoints=(), responses: Path | None = None,
        update_model_lock: bool = False, data_parallel: int | None = None) -> int:
    """Run experiments and, unless sharded, compare and report. Returns the exit code.
    `responses`: a JSONL file of other models' responses for the perplexity experiment.
    `update_model_lock`: let the run folder's model lock move (repro.model_lock).
    `data_parallel`: engines of one model at once (None: as many as the visible GPUs hold)."""
    environment = environment_record()  # first: its start time is the command's
    if responses is not None and "perplexity" not in experiment_ids:
        raise ReproError("--responses gives other models' responses to the perplexity experiment: run `repro run "
                         "perplexity --responses FILE`")
    tier = get_tier(tier_name)
    backends = _backends(tier, backend)
    experiments = [get_experiment(i) for i in experiment_ids]  # every name checked before any work
    shard = Shard.parse(shard_text) if shard_text else WHOLE
    if tier.adaptive:
        _check_adaptive_options(tier, shard, data_parallel)
    checkpoint_dirs = with_trained(parse_checkpoints(checkpoints, progress), experiments, root, progress)
    skipped: dict[str, str] = {}
    runnable = []
    for experiment in experiments:
        blocked = missing_stages(experiment, tier, checkpoint_dirs)
        if blocked and explicit:
            raise ReproError(f"{experiment.id} cannot run in the {tier.name} tier yet: it needs "
                             + ", ".join(blocked) + " (see `repro list`)")
        uncovered = _adaptive_not_covered(experiment) if tier.adaptive and not blocked else None
        if uncovered and explicit:
            raise ReproError(f"{experiment.id}: the {tier.name} tier does not run it: {uncovered}")
        if blocked:
            skipped[experiment.id] = "needs " + ", ".join(blocked)
        elif uncovered:
            skipped[experiment.id] = f"not in the {tier.name} tier: {uncovered}"
        else:
            runnable.append(experiment)
    if runnable and generate_missing and not _holds_samples(root, backends):
        # Refused early where nothing was sampled yet. Where samples are (the run that merges the
        # shards of several nodes: docs/cluster.md), a machine without GPU grades, compares and
        # reports; an engine start it cannot do is refused there (repro.pipeline.engine_for).
        check_environment(tier, backends)
    if runnable and generate_missing:
        revisions = lock_models(root, _hub_models(runnable, tier, backends, checkpoint_dirs), update=update_model_lock,
                                say=_say)
    else:  # re-grading finds the stores by the commits the sampling run locked; it never asks the hub
        revisions = locked_revisions(root)
    if data_parallel is not None and data_parallel < 1:
        raise ReproError(f"--data-parallel must be at least 1, not {data_parallel}")
    context = RunContext(root, tier, backends, run_seed=seed, shard=shard, progress=progress,
                         regrade=regrade, generate_missing=generate_missing, keep_dapo_answer=keep_dapo_answer,
                         checkpoints=checkpoint_dirs, revisions=revisions, environment=environment,
                         data_parallel=data_parallel)
    sections = []
    errors = 0
    try:
        for experiment in runnable:
            _say(f"== {experiment.id}: {experiment.title}")
            try:
                prepare_aime_filter(context, experiment, _say)  # Fig 12's problem list, made by this run
                records = None
                if tier.adaptive:  # in rounds, each verdict stopped once settled (repro.adaptive_run)
                    from repro.adaptive_run import run_adaptive_experiment

                    adaptive_run = run_adaptive_experiment(context, experiment)
                    outcomes, records = adaptive_run.outcomes, adaptive_run.records
                else:
                    if generate_missing:  # several engines of a model at once, where the GPUs hold them
                        sample_data_parallel(context, plan_for(context, experiment))
                    outcomes = run_experiment(context, experiment)
            except ReproError as error:
                # Several experiments: one that cannot run (data refused, a model missing) must
                # not cost the others; its error goes into the report and the exit status.
                if len(runnable) == 1:
                    raise
                errors += 1
                _say(f"error: {experiment.id}: {error}")
                sections.append(ExperimentSection(experiment, skipped=f"error: {error}"))
                continue
            sections.append(_section_from_outcomes(experiment, outcomes, root, tier.name, environment, records))
            if "manual-check" in experiment.needs and shard == WHOLE:  # the review sheet of the chains
                _export_review(experiment, outcomes, root, tier)
            if shard == WHOLE:  # scoring reads every sample of its problems
                from repro.analysis.stage import run_scoring_stage

                try:
                    run_scoring_stage(context, experiment, sections[-1], external_responses=responses)
                except ReproError as error:
                    # E.g. the merge of several nodes' samples on a machine without GPU: the
                    # other experiments are still graded, compared and reported.
                    if len(runnable) == 1:
                        raise
                    errors += 1
                    _say(f"error: {experiment.id}: {error}")
                    sections[-1].notes.append(f"scoring stage not run: {error}")
    finally:
        context.close()
    if shard != WHOLE:
        _say(f"shard {shard.index}/{shard.count} done. When every shard has run, rerun the same command "
             "without --shard: it finds every sample in the store and goes straight to grading and comparison.")
        return 0
    sections += [ExperimentSection(get_experiment(i), skipped=why) for i, why in skipped.items()]
    status = _finish(sections, root, tier, backends)
    if errors:
        _say(f"{errors} experiment(s) stopped with an error (see above and the report)")
        return 2
    return status


def _check_adaptive_options(tier: Tier, shard: Shard, data_parallel: int | None) -> None:
    """An adaptive tier decides after every round from all problems of every run, with one
    engine per run: it cannot be split across nodes or engines."""
    if shard != WHOLE:
        raise ReproError(f"--shard does not apply to --tier {tier.name}: each round's decisions need every problem's "
                         "samples; run it on one node (or shard --tier full)")
    if data_parallel is not None and data_parallel != 1:
        raise ReproError(f"--data-parallel does not apply to --tier {tier.name}: it samples a few rounds of a few "
                         "problems at a time with one engine per run")


def _adaptive_not_covered(experiment: Experiment) -> str | None:
    from repro.adaptive_run import not_covered

    return not_covered(experiment)


def _holds_samples(root: Path, backends: tuple[str, ...]) -> bool:
    return any((root / "samples" / backend).is_dir() and any((root / "samples" / backend).iterdir())
               for backend in backends)


def _export_review(experiment: Experiment, outcomes, root: Path, tier: Tier) -> None:
    from repro.review import export_line

    for backend in dict.fromkeys(o.backend for o in outcomes if o.result is not None):
        _say(export_line(experiment, root, tier.name, backend, tier.uses_stand_ins))


def run_all(tier_name: str, backend: str | None, root: Path, seed: int, progress,
            keep_dapo_answer: bool = KEEP_DAPO_ANSWER, checkpoints=(), shard_text: str | None = None,
            data_parallel: int | None = None, update_model_lock: bool = False) -> int:
    return run([e.id for e in EXPERIMENTS], tier_name, backend, root, shard_text, seed, progress, explicit=False,
               keep_dapo_answer=keep_dapo_answer, checkpoints=checkpoints, data_parallel=data_parallel,
               update_model_lock=update_model_lock)


SPECS_FILE = "specs.json"  # beside the result CSVs: the spec of every run, as planned


def _hub_models(experiments: list[Experiment], tier: Tier, backends: tuple[str, ...], checkpoints):
    """The catalogue models these experiments load from the hub (the AIME24 filter's included)."""
    from repro.aime_filter import FILTER_EXPERIMENT, needs_filter
    from repro.plan import hub_models

    with_filter = experiments + ([FILTER_EXPERIMENT] if any(needs_filter(e) for e in experiments) else [])
    return hub_models(with_filter, tier, [get_backend(name) for name in backends], checkpoints)


def _section_from_outcomes(experiment: Experiment, outcomes, root: Path, tier: str,
                           environment: dict | None = None, adaptive: dict[str, dict] | None = None) -> ExperimentSection:
    """`environment`: the command's record (repro.provenance), written beside each specs.json
    with the time the results were. `adaptive`: an adaptive tier's record per backend
    (repro.adaptive_verdicts), written beside the results as adaptive.json; its verdicts are the
    section's."""
    section = ExperimentSection(experiment)
    not_run: dict[str, list[str]] = {}  # one line per reason, naming every run it stopped
    specs: dict[str, dict[str, dict]] = {}  # backend -> result file -> spec
    for outcome in outcomes:
        if outcome.result is None:
            not_run.setdefault(outcome.note, []).append(f"{outcome.arm}/{outcome.benchmark} [{outcome.backend}]")
            continue
        section.results.setdefault(outcome.backend, {})[(outcome.arm, outcome.benchmark)] = outcome.result
        name = file_name(outcome.arm, outcome.benchmark)
        write_results_csv(results_dir(root, experiment.id, tier, outcome.backend) / name, outcome.result)
        specs.setdefault(outcome.backend, {})[name] = _spec_record(outcome.spec, outcome.store, root)
        if outcome.note and outcome.note not in section.notes:
            section.notes.append(outcome.note)
    for backend, records in specs.items():
        folder = results_dir(root, experiment.id, tier, backend)
        atomic_write(folder / SPECS_FILE, (json.dumps(records, indent=2, sort_keys=True) + "\n").encode())
        if environment is not None:
            section.environments[backend] = finished(environment)
            atomic_write(folder / ENVIRONMENT_FILE,
                         (json.dumps(section.environments[backend], indent=2, sort_keys=True) + "\n").encode())
        section.notes += _weights_notes(records)
    section.notes += [f"{', '.join(runs)}: {note}" for note, runs in not_run.items()]
    for backend, data in (adaptive or {}).items():
        if backend in section.results:
            adaptive_verdicts.write_record(results_dir(root, experiment.id, tier, backend), data)
            section.adaptive[backend] = data
    for backend, results in section.results.items():
        section.comparisons[backend] = _comparison(experiment, results, backend, section.adaptive.get(backend))
    return section


def _comparison(experiment: Experiment, results, backend: str, adaptive_record: dict | None) -> ExperimentComparison:
    """The full tier's comparison of the results, or, for an adaptive run, its own verdicts."""
    if adaptive_record is None:
        return compare_experiment(experiment, results, backend)
    return adaptive_verdicts.adaptive_comparison(experiment, results,
                                                 adaptive_verdicts.recorded_decisions(adaptive_record), backend)


def _spec_record(spec, store: Path | None, root: Path) -> dict:
    record = {"key": spec.key(), "key_sha256": spec.key_sha256(), "n": spec.n, "grader": spec.grader,
              "weights": spec.weights.describe(), "lengths": spec.lengths_source}
    if store is not None and store.is_relative_to(root):
        record["store"] = store.relative_to(root).as_posix()  # relative: the run folder may move
    return record


def check_stores_behind(root: Path, results_folders: list[tuple[str, Path]], tier: str) -> None:
    """Refuse results whose samples are damaged (a flipped byte, a lost index or manifest, an
    edited grades file...): each result folder's specs.json names the stores its files were
    counted from, and each is audited (repro.store_audit). A store that is not here (results
    copied without their samples) is not checked. `results_folders`: (experiment id, folder)."""
    from repro.store_audit import audit

    damaged: list[tuple[str, Path, str]] = []
    for experiment_id, folder in results_folders:
        specs_path = folder / SPECS_FILE
        if not specs_path.is_file():
            continue
        try:
            records = json.loads(specs_path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise InputFileError(f"{specs_path} is corrupt ({error}); rerun `repro run {experiment_id} --tier {tier}` "
                                 "to write it again") from None
        stores = sorted({root / record["store"] for record in records.values() if "store" in record})
        for store in stores:
            if store.is_dir():
                findings = audit(store).findings
                if findings:
                    first = findings[0]
                    where = first.path.relative_to(store) if first.path.is_relative_to(store) else first.path
                    damaged.append((experiment_id, store, f"{where}: {first.problem}"))
    if damaged:
        experiments = sorted({experiment_id for experiment_id, _, _ in damaged})
        _, store, problem = damaged[0]
        raise StoreError(f"the samples behind {len(damaged)} result(s) of {', '.join(experiments)} are damaged, first "
                         f"{store}: {problem}; `repro store check --out {root}` lists all, `repro store repair --out "
                         f"{root}` mends them, then rerun the `repro run` or `repro all` that made them: it samples "
                         "and grades again only what was dropped")


def _weights_notes(records: dict[str, dict]) -> list[str]:
    """Name every local checkpoint a result came from (path and content hash; for one trained
    here, the whole content hash and the training configuration's hash too)."""
    notes = []
    for name, record in sorted(records.items()):
        model = record["key"]["model"]
        if model["source"] == "checkpoint":
            note = f"{name.removesuffix('.csv')}: {model['key']} = {record['weights']}"
            if model.get("training_config_sha256"):
                note += f"; content sha256 {model['sha256']}, training config sha256 {model['training_config_sha256']}"
            notes.append(note)
    return notes


def _finish(sections: list[ExperimentSection], root: Path, tier: Tier, backends: tuple[str, ...]) -> int:
    """Write the tier's report and print this command's summary; returns the exit code. The
    report covers every experiment with results on disk in this tier, not only this command's
    (`repro run B` after `repro run A` keeps A's section); the exit code is this command's."""
    counted = _counted(tier, backends)
    done = {section.experiment.id for section in sections}
    earlier = [section for section in _sections_on_disk(root, tier, [e for e in EXPERIMENTS if e.id not in done])
               if section.comparisons]
    for section in earlier:
        section.notes.append("from results already on disk (an earlier command); not rerun by this one")
    order = {experiment.id: index for index, experiment in enumerate(EXPERIMENTS)}
    everything = sorted([*sections, *earlier], key=lambda section: order.get(section.experiment.id, len(order)))
    for section in everything:
        _attach_records(section, root, tier)
    report_counted = _counted(tier, tuple(sorted({b for s in everything for b in s.comparisons} | set(backends))))
    report = write_report(root / "reports" / tier.name, tier, everything, report_counted)
    _say()
    _say(summary_table(sections, counted))
    _say()
    also = f"; it also covers {len(earlier)} experiment(s) run earlier" if earlier else ""
    _say(f"report: {report} (and report.html, points.csv, plots/ beside it{also})")
    failed = any(section.comparisons[b].failed for section in sections for b in counted if b in section.comparisons)
    if tier.uses_stand_ins:
        _say(f"{tier.name} tier: this checks the machinery, not the paper (see the report's first paragraph).")
    return 1 if failed else 0


def _attach_records(section: ExperimentSection, root: Path, tier: Tier) -> None:
    """What the report shows from each results folder beyond the results: the environment
    record (repro.report.environment) and images a stage drew there (Figure 6's box plots)."""
    base = root / "experiments" / section.experiment.id / tier.name
    if section.skipped or not base.is_dir():
        return
    for backend_dir in sorted(p for p in base.iterdir() if p.is_dir()):
        folder = backend_dir / "results"
        record = None if backend_dir.name in section.environments else read_environment(folder)
        if record is not None:
            section.environments[backend_dir.name] = record
        figures = sorted(folder.glob("*.png")) if folder.is_dir() else []
        if figures:
            section.figures[backend_dir.name] = figures


def summary_table(sections: list[ExperimentSection], counted: tuple[str, ...]) -> str:
    rows = []
    for section in sections:
        if section.skipped:
            rows.append([section.experiment.id, "-", "-", "-", "-", "-", "not run: " + section.skipped])
            continue
        for backend, comparison in section.comparisons.items():
            tally = comparison.counts()
            verdicts = [c.verdict for c in comparison.claims]
            rows.append([section.experiment.id, backend + ("" if backend in counted else " (engine check)"),
                         tally["pass"], tally["fail"], tally["not run"],
                         " ".join(f"{verdicts.count(v)} {v}" for v in ("holds", "fails", "inconclusive", "not run")
                                  if verdicts.count(v)) or "-",
                         "FAIL" if comparison.failed and backend in counted else "ok"])
    return tabulate(rows, headers=["experiment", "backend", "pass", "fail", "not run", "claims", "status"],
                    tablefmt="simple")


# ----------------------------------------------------------------------------- grade


def grade(experiment_ids: list[str], tier_name: str, backend: str | None, root: Path, seed: int, progress,
          keep_dapo_answer: bool = KEEP_DAPO_ANSWER, checkpoints=()) -> int:
    """Re-grade stored samples (never generates; needs no GPU and loads no model) and redo the
    comparison. The settings that named the samples (seed, checkpoints, DAPO stopping) must be
    the run's, so that the same stores are found."""
    return run(experiment_ids, tier_name, backend, root, None, seed, progress, regrade=True, generate_missing=False,
               keep_dapo_answer=keep_dapo_answer, checkpoints=checkpoints)


# ----------------------------------------------------------------------------- compare / report


def load_results(experiment: Experiment, directory: Path, backend: str,
                 external: bool = False, adaptive: bool = False) -> dict[tuple[str, str], RunResult]:
    """The per-problem results of an experiment found in a folder. `external`: made elsewhere,
    so untrusted: each file must hold every problem of its benchmark (its declared size), and
    every arm of a benchmark the same problems in the same order. `adaptive`: an adaptive
    tier's, whose problems have each their own n."""
    results = {}
    for arm, benchmark in experiment.runs():
        path = directory / file_name(arm, benchmark)
        if path.exists() or path.is_symlink():
            results[(arm, benchmark)] = read_results_csv(path, arm, benchmark, backend, same_n=not adaptive)
    if external:
        _check_external(directory, results)
    return results


def _check_external(directory: Path, results: dict[tuple[str, str], RunResult]) -> None:
    from repro.benchmarks import get_benchmark

    first_of: dict[str, tuple[str, RunResult]] = {}
    for (arm, benchmark), result in results.items():
        path = directory / file_name(arm, benchmark)
        size = get_benchmark(benchmark).size
        if result.problems != size:
            raise InputFileError(f"{path}: {result.problems} problems; {benchmark} has {size}, and each must have "
                                 "exactly one row")
        if benchmark not in first_of:
            first_of[benchmark] = (arm, result)
            continue
        other_arm, other = first_of[benchmark]
        for row, (mine, theirs) in enumerate(zip(result.problem_ids, other.problem_ids, strict=True), start=2):
            if mine != theirs:
                raise InputFileError(f"{path} line {row}: problem {mine!r}, where {file_name(other_arm, benchmark)} "
                                     f"has {theirs!r}; every arm must list the same problems in benchmark order")
    for benchmark, (arm, result) in sorted(first_of.items()):
        _check_problem_ids(directory / file_name(arm, benchmark), benchmark, result)


def _check_problem_ids(path: Path, benchmark: str, result: RunResult) -> None:
    """Every id of a results file is a problem of its benchmark (with the right count and no
    duplicates, that is every problem exactly once), when the benchmark's files are here to
    say which; otherwise one line says the ids went unchecked."""
    from repro.benchmarks.fetch import DataMissingError
    from repro.benchmarks.loading import load_benchmark

    try:
        known = {problem.problem_id for problem in
                 load_benchmark(benchmark, allow_synthetic=False, download=False).problems}
    except DataMissingError:
        _say(f"note: the problem ids of {path.name} were not checked: {benchmark}'s files are not here "
             "(`repro fetch` gets them)")
        return
    for row, problem_id in enumerate(result.problem_ids, start=2):
        if problem_id not in known:
            raise InputFileError(f"{path} line {row}: problem {problem_id!r} is not a problem of {benchmark}")


def compare(experiment_id: str, tier_name: str, backend: str | None, root: Path, results_path: Path | None,
            show_all: bool, as_json: bool = False) -> int:
    experiment = get_experiment(experiment_id)
    tier = get_tier(tier_name)
    if results_path is not None:
        if not results_path.is_dir():
            raise ReproError(f"--results {results_path}: not a folder")
        sources = {"external": results_path}
    else:
        sources = {b: results_dir(root, experiment.id, tier.name, b) for b in _backends(tier, backend)}
        check_stores_behind(root, [(experiment.id, folder) for folder in sources.values()], tier.name)
    if tier.adaptive and results_path is not None:
        raise ReproError(f"--tier {tier.name} compares the verdicts its run recorded (adaptive.json beside the results); "
                         "compare results made elsewhere with --tier full or quick")
    section = ExperimentSection(experiment)
    for name, directory in sources.items():
        results = load_results(experiment, directory, name, external=results_path is not None, adaptive=tier.adaptive)
        if results:
            section.results[name] = results
            section.comparisons[name] = _comparison(experiment, results, name, _adaptive_record(tier, directory))
    if not section.comparisons:
        expected = ", ".join(file_name(a, b) for a, b in experiment.runs())
        raise ReproError(f"no results for {experiment.id} in {', '.join(str(d) for d in sources.values())}; "
                         f"expected files named like: {expected}")
    counted = tuple(section.comparisons) if results_path else _counted(tier, tuple(section.comparisons))
    failed = any(section.comparisons[b].failed for b in counted if b in section.comparisons)
    if as_json:
        from repro import json_output

        simulated = {name for name in section.comparisons if results_path is None and get_backend(name).simulated}
        _say(json_output.dumps(json_output.comparison_document(
            experiment.id, tier.name, section.comparisons, counted, simulated,
            None if results_path is None else str(results_path))))
        return 1 if failed else 0
    for comparison in section.comparisons.values():
        _say(comparison_table(comparison, show_all))
        _say()
    _say(summary_table([section], counted))
    return 1 if failed else 0


def comparison_table(comparison: ExperimentComparison, show_all: bool) -> str:
    rows = []
    for p in comparison.points:
        if not show_all and p.verdict != FAIL and p.k not in (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048):
            continue
        scale = 100 if p.unit == "fraction" else 1  # percent; an entropy as it is
        rows.append([p.panel, p.curve, p.k, f"{scale * p.paper:.2f}",
                     "-" if p.rerun is None else f"{scale * p.rerun:.2f}",
                     "-" if p.difference is None else f"{scale * p.difference:+.2f}",
                     "-" if p.tolerance is None else f"{scale * p.tolerance:.2f}", p.verdict])
    points = tabulate(rows, headers=["panel", "curve", "k", "paper", "rerun", "diff", "tol", "verdict"],
                      tablefmt="simple")
    claims = tabulate([[c.paper_claim, c.scope, c.verdict, c.evidence] for c in comparison.claims],
                      headers=["claim", "scope", "verdict", "evidence"], tablefmt="simple")
    statements = "\n".join(claim_heading(number) for number in sorted({c.paper_claim for c in comparison.claims}))
    return (f"{comparison.experiment} [{comparison.backend}] (pass@k and shares in %, entropies in nats)\n{points}"
            f"\n\n{statements}\n{claims}")


def report(tier_name: str, root: Path) -> int:
    """Rebuild the report from the per-problem results already on disk (no sampling, no grading)."""
    tier = get_tier(tier_name)
    check_stores_behind(root, [(experiment.id, backend_dir / "results") for experiment in EXPERIMENTS
                               if (root / "experiments" / experiment.id / tier.name).is_dir()
                               for backend_dir in sorted((root / "experiments" / experiment.id / tier.name).iterdir())],
                        tier.name)
    sections = _sections_on_disk(root, tier, list(EXPERIMENTS))
    if all(s.skipped for s in sections):
        raise ReproError(f"no results for tier {tier.name} under {root}; run `repro run` or `repro all` first")
    backends = tuple(sorted({b for s in sections for b in s.comparisons}))
    return _finish(sections, root, tier, backends)


def _sections_on_disk(root: Path, tier: Tier, experiments: list[Experiment]) -> list[ExperimentSection]:
    """A report section for each experiment, compared from its results files in this tier
    (every backend folder); one without results says why."""
    sections = []
    for experiment in experiments:
        base = root / "experiments" / experiment.id / tier.name
        section = ExperimentSection(experiment)
        if base.is_dir():
            for backend_dir in sorted(p for p in base.iterdir() if p.is_dir()):
                results = load_results(experiment, backend_dir / "results", backend_dir.name, adaptive=tier.adaptive)
                specs_path = backend_dir / "results" / SPECS_FILE
                if results and specs_path.is_file():
                    section.notes += _weights_notes(json.loads(specs_path.read_text()))
                    recorded = read_environment(backend_dir / "results")
                    if recorded is not None:
                        section.environments[backend_dir.name] = recorded
                if results:
                    record = _adaptive_record(tier, backend_dir / "results")
                    if record is not None:
                        section.adaptive[backend_dir.name] = record
                    section.results[backend_dir.name] = results
                    section.comparisons[backend_dir.name] = _comparison(experiment, results, backend_dir.name, record)
        if not section.comparisons:
            blocked = missing_stages(experiment, tier)
            uncovered = _adaptive_not_covered(experiment) if tier.adaptive and not blocked else None
            section.skipped = ("needs " + ", ".join(blocked) if blocked
                               else f"not in the {tier.name} tier: {uncovered}" if uncovered else "no results yet")
        sections.append(section)
    return sections


def _adaptive_record(tier: Tier, folder: Path) -> dict | None:
    """An adaptive tier's record beside its results; it must be there (its verdicts cannot be
    taken again from the partial samples alone)."""
    if not tier.adaptive:
        return None
    data = adaptive_verdicts.read_record(folder)
    if data is None:
        raise InputFileError(f"{folder / adaptive_verdicts.RECORD_FILE}: missing; rerun the `repro run --tier "
                             f"{tier.name}` that wrote these results: it reuses every stored sample")
    return data


# ----------------------------------------------------------------------------- fetch

BENCHMARK_KINDS = ("math", "code", "visual")


def fetch(kinds: list[str], livecodebench: bool = True, *, benchmarks: bool = True, models: bool = False,
          experiment_ids=(), root: Path | None = None, update_model_lock: bool = False, lock_only: bool = False) -> int:
    """Resolve (find or download, then verify) every pinned file of these benchmark kinds;
    with `models`, fix the commit of every released model the experiments need in the run
    folder's lock (repro.model_lock) and download each at that commit."""
    from repro.benchmarks import code_files, math_files, visual_files

    unknown = sorted(set(kinds) - set(BENCHMARK_KINDS))
    if unknown:
        raise ReproError(f"unknown benchmark kind {', '.join(map(repr, unknown))}; choose from {', '.join(BENCHMARK_KINDS)}")
    experiments = [get_experiment(i) for i in experiment_ids] if experiment_ids else list(EXPERIMENTS)
    if not benchmarks and not models:
        raise ReproError("--no-benchmarks without --models fetches nothing")
    if models:
        fetch_models(experiments, root or default_root(), update_model_lock, lock_only)
    if not benchmarks:
        return 0
    fetchers = {
        "math": math_files.prefetch,
        "code": lambda: code_files.prefetch(livecodebench=livecodebench),
        "visual": visual_files.prefetch,
    }
    rows = []
    for kind in kinds or BENCHMARK_KINDS:
        _say(f"fetching {kind} benchmark files ...")
        for name, (path, origin) in sorted(fetchers[kind]().items()):
            rows.append([kind, name, origin, str(path)])
    _say(tabulate(rows, headers=["kind", "file", "found in", "path"], tablefmt="simple"))
    return 0


def fetch_models(experiments: list[Experiment], root: Path, update: bool = False, lock_only: bool = False) -> None:
    """Lock the commit of every released model these experiments load from the hub (their full
    tier), then download each at its locked commit unless `lock_only`."""
    from repro.model_lock import download_model, lock_path

    needed = _hub_models(experiments, get_tier("full"), ("vllm",), {})
    revisions = lock_models(root, needed, update=update, say=_say)
    entries = read_lock(root)
    rows = []
    for hub_id in sorted({model.hf_id for model in needed}):
        commit = revisions[hub_id]
        where = "-"
        if not lock_only:
            _say(f"downloading {hub_id} at {commit[:12]} ...")
            snapshot = download_model(hub_id, commit)
            if snapshot.name != commit:  # the hub cache names a snapshot folder by its commit
                raise ReproError(f"{hub_id}: the download is at {snapshot.name}, not the locked commit {commit}")
            where = str(snapshot)
        rows.append([", ".join(entries[hub_id]["models"]), hub_id, commit, entries[hub_id]["source"], where])
    _say(tabulate(rows, headers=["models", "hub id", "commit", "locked from", "files"], tablefmt="simple"))
    _say(f"model lock: {lock_path(root)}")
