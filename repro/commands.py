"""What each CLI command does. `cli.py` only parses arguments and calls these."""

from __future__ import annotations

import os
from pathlib import Path

from tabulate import tabulate

from repro.compare import FAIL, ExperimentComparison, compare_experiment
from repro.errors import ReproError
from repro.experiments import EXPERIMENTS, Experiment, get_experiment
from repro.experiments.registry import KEEP_DAPO_ANSWER
from repro.models import MODELS, get_model
from repro.pipeline import RunContext, check_environment, results_dir, run_experiment
from repro.report import ExperimentSection, write_report
from repro.results import RunResult
from repro.results_csv import file_name, read_results_csv, write_results_csv
from repro.sampling import check_backend_name
from repro.stages import STAGE_HELP, missing_stages, status_line
from repro.store import WHOLE, Shard
from repro.tiers import Tier, get_tier

HOME_ENV = "REPRO_HOME"


def default_root() -> Path:
    return Path(os.environ.get(HOME_ENV, "runs"))


def _say(text: str = "") -> None:
    print(text, flush=True)


def _backends(tier: Tier, backend: str | None) -> tuple[str, ...]:
    if backend is None:
        return tier.default_backends
    return (check_backend_name(backend),)


def _counted(tier: Tier, backends: tuple[str, ...]) -> tuple[str, ...]:
    """Backends whose comparisons decide the exit status. In the smoke tier the tiny random
    models only check the engines; the simulated backend's comparisons check the
    comparison machinery end to end."""
    if tier.name == "smoke":
        return tuple(b for b in backends if b == "simulated")
    return backends


# ----------------------------------------------------------------------------- list


def list_experiments(show_models: bool = False) -> str:
    if show_models:
        rows = [[m.key, m.hf_id, m.revision or "(record at download)", m.context_length, m.template,
                 m.tensor_parallel_size, "yes" if m.released else "no: train"] for m in MODELS.values()]
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
                     ", ".join(benchmarks) or "-", status_line(experiment), "; ".join(notes)])
    table = tabulate(rows, headers=["experiment", "sec", "figures / tables", "arms", "benchmarks", "status",
                                    "caveats"], tablefmt="simple")
    legend = "\n".join(f"  {stage}: {meaning}" for stage, meaning in STAGE_HELP.items())
    return f"{table}\n\nMissing stages:\n{legend}"


def _template_verified(name: str) -> bool:
    from repro.code_prompts import CODE_TEMPLATES
    from repro.prompts import TEMPLATES

    template = TEMPLATES.get(name) or CODE_TEMPLATES.get(name)
    return bool(template and template.verified)


# ----------------------------------------------------------------------------- plan

# Assumed generation throughput per GPU (output tokens/s at high batch) and average output
# length: stated in the plan so a reviewer can rescale them.
_TOKENS_PER_SECOND = {7: 2500.0, 8: 2300.0, 14: 1300.0, 32: 600.0}
_MEAN_OUTPUT_TOKENS = {"math": 1200, "code": 2500, "visual": 600}


def plan(experiment_ids: list[str], tier_name: str) -> str:
    tier = get_tier(tier_name)
    experiments = [get_experiment(i) for i in experiment_ids] if experiment_ids else list(EXPERIMENTS)
    rows, total_hours = [], 0.0
    for experiment in experiments:
        samples, gpu_hours = 0, 0.0
        for (arm_name, benchmark), paper_n in experiment.runs().items():
            from repro.benchmarks import get_benchmark

            size = get_benchmark(benchmark).size or 500
            backend = tier.default_backends[0]
            n = tier.n_for(backend, paper_n)
            limit = tier.problem_limit(backend)
            count = (min(size, limit) if limit else size) * n
            samples += count
            model = get_model(experiment.arm(arm_name).model)
            speed = _TOKENS_PER_SECOND.get(int(model.size_b), 2500.0) / model.tensor_parallel_size
            tokens = _MEAN_OUTPUT_TOKENS.get(experiment.kind, 1200)
            gpu_hours += count * tokens / speed / 3600 * model.tensor_parallel_size
        blocked = missing_stages(experiment, tier.name)
        total_hours += 0 if blocked else gpu_hours
        rows.append([experiment.id, f"{samples:,}", "-" if tier.name == "smoke" else f"{gpu_hours:,.0f}",
                     "runs" if not blocked else "blocked: " + ", ".join(blocked)])
    table = tabulate(rows, headers=["experiment", "samples", "GPU-hours (est.)", "status"], tablefmt="simple")
    if tier.name == "smoke":
        return table + "\n\nSmoke tier: CPU only, minutes in total."
    return (table + f"\n\nTotal for runnable experiments: about {total_hours:,.0f} GPU-hours. Assumes "
            f"{_MEAN_OUTPUT_TOKENS['math']} output tokens per math sample and per-GPU throughputs "
            f"{_TOKENS_PER_SECOND} tokens/s by model size (B); rescale for your hardware.")


# ----------------------------------------------------------------------------- run / all


def parse_checkpoints(items) -> dict[str, str]:
    """MODEL=DIR pairs -> {model key: directory}; every model known, every directory present."""
    checkpoints: dict[str, str] = {}
    for item in items:
        model, separator, directory = str(item).partition("=")
        if not separator or not model or not directory:
            raise ReproError(f"--checkpoint takes MODEL=DIR, not {item!r}")
        get_model(model)  # an unknown model is an error here, not a silent no-op
        if not Path(directory).is_dir():
            raise ReproError(f"--checkpoint {model}: {directory} is not a folder")
        checkpoints[model] = str(Path(directory).resolve())
    return checkpoints


def run(experiment_ids: list[str], tier_name: str, backend: str | None, root: Path, shard_text: str | None,
        seed: int, progress, explicit: bool = True, regrade: bool = False, generate_missing: bool = True,
        keep_dapo_answer: bool = KEEP_DAPO_ANSWER, checkpoints=()) -> int:
    """Run experiments and, unless sharded, compare and report. Returns the exit code."""
    tier = get_tier(tier_name)
    backends = _backends(tier, backend)
    experiments = [get_experiment(i) for i in experiment_ids]  # every name checked before any work
    shard = Shard.parse(shard_text) if shard_text else WHOLE
    checkpoint_dirs = parse_checkpoints(checkpoints)
    skipped: dict[str, str] = {}
    runnable = []
    for experiment in experiments:
        blocked = missing_stages(experiment, tier.name, checkpoint_dirs)
        if blocked and explicit:
            raise ReproError(f"{experiment.id} cannot run in the {tier.name} tier yet: it needs "
                             + ", ".join(blocked) + " (see `repro list`)")
        if blocked:
            skipped[experiment.id] = "needs " + ", ".join(blocked)
        else:
            runnable.append(experiment)
    if runnable:
        check_environment(tier, backends)
    context = RunContext(root, tier, backends, run_seed=seed, shard=shard, progress=progress,
                         regrade=regrade, generate_missing=generate_missing, keep_dapo_answer=keep_dapo_answer,
                         checkpoints=checkpoint_dirs)
    sections = []
    errors = 0
    try:
        for experiment in runnable:
            _say(f"== {experiment.id}: {experiment.title}")
            try:
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
            sections.append(_section_from_outcomes(experiment, outcomes, root, tier.name))
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


def run_all(tier_name: str, backend: str | None, root: Path, seed: int, progress,
            keep_dapo_answer: bool = KEEP_DAPO_ANSWER, checkpoints=()) -> int:
    return run([e.id for e in EXPERIMENTS], tier_name, backend, root, None, seed, progress, explicit=False,
               keep_dapo_answer=keep_dapo_answer, checkpoints=checkpoints)


def _section_from_outcomes(experiment: Experiment, outcomes, root: Path, tier: str) -> ExperimentSection:
    section = ExperimentSection(experiment)
    not_run: dict[str, list[str]] = {}  # one line per reason, naming every run it stopped
    for outcome in outcomes:
        if outcome.result is None:
            not_run.setdefault(outcome.note, []).append(f"{outcome.arm}/{outcome.benchmark} [{outcome.backend}]")
            continue
        section.results.setdefault(outcome.backend, {})[(outcome.arm, outcome.benchmark)] = outcome.result
        write_results_csv(results_dir(root, experiment.id, tier, outcome.backend)
                          / file_name(outcome.arm, outcome.benchmark), outcome.result)
        if outcome.note and outcome.note not in section.notes:
            section.notes.append(outcome.note)
    section.notes += [f"{', '.join(runs)}: {note}" for note, runs in not_run.items()]
    for backend, results in section.results.items():
        section.comparisons[backend] = compare_experiment(experiment, results, backend)
    return section


def _finish(sections: list[ExperimentSection], root: Path, tier: Tier, backends: tuple[str, ...]) -> int:
    counted = _counted(tier, backends)
    report = write_report(root / "reports" / tier.name, tier.name, sections, counted)
    _say()
    _say(summary_table(sections, counted))
    _say()
    _say(f"report: {report} (and report.html, points.csv, plots/ beside it)")
    failed = any(section.comparisons[b].failed for section in sections for b in counted if b in section.comparisons)
    if tier.name == "smoke":
        _say("smoke tier: this checks the machinery, not the paper (see the report's first paragraph).")
    return 1 if failed else 0


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


def grade(experiment_ids: list[str], tier_name: str, backend: str | None, root: Path, seed: int, progress) -> int:
    """Re-grade stored samples (never generates) and redo the comparison."""
    return run(experiment_ids, tier_name, backend, root, None, seed, progress, regrade=True, generate_missing=False)


# ----------------------------------------------------------------------------- compare / report


def load_results(experiment: Experiment, directory: Path, backend: str) -> dict[tuple[str, str], RunResult]:
    results = {}
    for arm, benchmark in experiment.runs():
        path = directory / file_name(arm, benchmark)
        if path.exists():
            results[(arm, benchmark)] = read_results_csv(path, arm, benchmark, backend)
    return results


def compare(experiment_id: str, tier_name: str, backend: str | None, root: Path, results_path: Path | None,
            show_all: bool) -> int:
    experiment = get_experiment(experiment_id)
    tier = get_tier(tier_name)
    if results_path is not None:
        if not results_path.is_dir():
            raise ReproError(f"--results {results_path}: not a folder")
        sources = {"external": results_path}
    else:
        sources = {b: results_dir(root, experiment.id, tier.name, b) for b in _backends(tier, backend)}
    section = ExperimentSection(experiment)
    for name, directory in sources.items():
        results = load_results(experiment, directory, name)
        if results:
            section.results[name] = results
            section.comparisons[name] = compare_experiment(experiment, results, name)
    if not section.comparisons:
        expected = ", ".join(file_name(a, b) for a, b in experiment.runs())
        raise ReproError(f"no results for {experiment.id} in {', '.join(str(d) for d in sources.values())}; "
                         f"expected files named like: {expected}")
    for comparison in section.comparisons.values():
        _say(comparison_table(comparison, show_all))
        _say()
    counted = tuple(section.comparisons) if results_path else _counted(tier, tuple(section.comparisons))
    _say(summary_table([section], counted))
    failed = any(section.comparisons[b].failed for b in counted if b in section.comparisons)
    return 1 if failed else 0


def comparison_table(comparison: ExperimentComparison, show_all: bool) -> str:
    rows = []
    for p in comparison.points:
        if not show_all and p.verdict != FAIL and p.k not in (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048):
            continue
        rows.append([p.panel, p.curve, p.k, f"{100 * p.paper:.2f}",
                     "-" if p.rerun is None else f"{100 * p.rerun:.2f}",
                     "-" if p.difference is None else f"{100 * p.difference:+.2f}",
                     "-" if p.tolerance is None else f"{100 * p.tolerance:.2f}", p.verdict])
    points = tabulate(rows, headers=["panel", "curve", "k", "paper %", "rerun %", "diff", "tol", "verdict"],
                      tablefmt="simple")
    claims = tabulate([[c.paper_claim, c.scope, c.verdict, c.evidence] for c in comparison.claims],
                      headers=["claim", "scope", "verdict", "evidence"], tablefmt="simple")
    return f"{comparison.experiment} [{comparison.backend}]\n{points}\n\n{claims}"


def report(tier_name: str, root: Path) -> int:
    """Rebuild the report from the per-problem results already on disk (no sampling, no grading)."""
    tier = get_tier(tier_name)
    sections = []
    for experiment in EXPERIMENTS:
        base = root / "experiments" / experiment.id / tier.name
        section = ExperimentSection(experiment)
        if base.is_dir():
            for backend_dir in sorted(p for p in base.iterdir() if p.is_dir()):
                results = load_results(experiment, backend_dir / "results", backend_dir.name)
                if results:
                    section.results[backend_dir.name] = results
                    section.comparisons[backend_dir.name] = compare_experiment(experiment, results, backend_dir.name)
        if not section.comparisons:
            blocked = missing_stages(experiment, tier.name)
            section.skipped = ("needs " + ", ".join(blocked)) if blocked else "no results yet"
        sections.append(section)
    if all(s.skipped for s in sections):
        raise ReproError(f"no results for tier {tier.name} under {root}; run `repro run` or `repro all` first")
    backends = tuple(sorted({b for s in sections for b in s.comparisons}))
    return _finish(sections, root, tier, backends)


# ----------------------------------------------------------------------------- fetch

BENCHMARK_KINDS = ("math", "code", "visual")


def fetch(kinds: list[str], livecodebench: bool = True) -> int:
    """Resolve (find or download, then verify) every pinned file of these benchmark kinds."""
    from repro.benchmarks import code_files, math_files, visual_files

    unknown = sorted(set(kinds) - set(BENCHMARK_KINDS))
    if unknown:
        raise ReproError(f"unknown benchmark kind {', '.join(map(repr, unknown))}; choose from {', '.join(BENCHMARK_KINDS)}")
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
