"""The `repro` command line. Thin by design: each command parses its options and calls
one function of `repro.commands`; heavy imports happen there, so `--help` is instant.

Errors meant for the user (`repro.errors.ReproError`) print one line and exit 2.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def _plain_sandbox_call(argv: list[str]) -> tuple[Path, Path] | None:
    """(SOLUTION, PROBLEM) when `argv` is exactly `sandbox SOLUTION --problem PROBLEM` (or
    `-p PROBLEM`, `--problem=PROBLEM`, in either order), else None: `--help`, a missing,
    repeated or unknown option are typer's to answer, as for every command."""
    if argv[:1] != ["sandbox"]:
        return None
    solution = problem = None
    rest = list(argv[1:])
    while rest:
        token = rest.pop(0)
        if token in ("--problem", "-p") and problem is None and rest and not rest[0].startswith("-"):
            problem = rest.pop(0)
        elif token.startswith("--problem=") and problem is None:
            problem = token.removeprefix("--problem=")
        elif token.startswith("-") or solution is not None:
            return None
        else:
            solution = token
    return (Path(solution), Path(problem)) if solution and problem else None


# `repro sandbox SOLUTION --problem PROBLEM` is judged here, before typer and the command
# definitions below are imported: they cost more than a whole check of a short program (graders
# call this command once per program; docs/performance.md). Only the plain form, and only when
# this module is the command (`python cli.py`, or the installed `repro` script); anything else
# goes through typer below. An error that is not a ReproError (a fault of the machine, a bug) is
# kept and handed to `_guard` by `main()`, so it is reported exactly as in any other command.
_sandbox_failure: BaseException | None = None
_sandbox_call = (_plain_sandbox_call(sys.argv[1:])
                 if __name__ == "__main__" or os.path.basename(sys.argv[0]) == "repro" else None)
if _sandbox_call is not None:
    from repro.errors import ReproError

    try:
        # First the sandbox service (repro/sandbox_client.py: a warm process that judges for
        # commands run in exactly this context); None: judge here, as without it.
        from repro.sandbox_client import judge_through_service

        _answer = judge_through_service(*_sandbox_call)
        if _answer is None:
            from repro.sandbox_command import sandbox_command

            _sandbox_code = sandbox_command(*_sandbox_call)
        else:
            _sandbox_code, _out, _err = _answer
            sys.stdout.write(_out)
            sys.stderr.write(_err)
    except ReproError as _error:
        print(f"error: {_error}", file=sys.stderr)
        sys.exit(_error.exit_code)
    except BaseException as _error:  # noqa: BLE001 - reported by main() through _guard
        _sandbox_failure = _error
    else:
        sys.exit(_sandbox_code)

from typing import Annotated, Optional  # noqa: E402 - after the sandbox path, which needs neither

import typer  # noqa: E402

app = typer.Typer(
    name="repro",
    help=(
        "Rerun the experiments of 'Does Reinforcement Learning Really Incentivize Reasoning Capacity in LLMs "
        "Beyond the Base Model?' (arXiv 2504.13837) and diff every pass@k number against the paper.\n\n"
        "Start with `repro list`, then `repro all --tier smoke` (CPU, minutes) or `repro all` (GPUs)."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)

# Shared options, declared once.
TierOption = Annotated[str, typer.Option("--tier", "-t", help="full (paper settings, GPUs), quick (n<=32, GPUs), "
                                          "adaptive (the full tier in rounds of 32, each verdict stopped once settled; "
                                          "GPUs; docs/adaptive.md), smoke (CPU: tiny models + simulation; checks the "
                                          "machinery) or smoke-adaptive (the smoke tier in rounds).")]
BackendOption = Annotated[Optional[str], typer.Option("--backend", "-b", help="vllm, hf or simulated (smoke tier only: "
                                                     "no model, never evidence). Default: vllm for full/quick; all "
                                                     "three for smoke.")]
OutOption = Annotated[Optional[Path], typer.Option("--out", "-o", help="Folder for samples, results and reports. "
                                                  "Default: $REPRO_HOME or ./runs.")]
SeedOption = Annotated[int, typer.Option("--seed", help="Run seed; every sample's seed derives from (seed, problem, "
                                         "round).")]
KeepDapoAnswerOption = Annotated[bool, typer.Option(
    "--keep-dapo-answer/--stop-at-dapo-answer",
    help="DAPO's prompt asks for a final 'Answer:' line, and the paper's evaluator stopped generation at "
         "'Answer:' (before the answer). Default: stop there, as the paper did; --keep-dapo-answer keeps the line.")]
CheckpointOption = Annotated[Optional[list[str]], typer.Option(
    "--checkpoint", help="MODEL=DIR: use a local checkpoint for a model of `repro list --models`; needed for "
    "models the paper never released (e.g. qwen2.5-vl-7b-easyr1 after training it) unless one was merged into the "
    "--out folder's checkpoints/MODEL/, which is found without it. DIR must hold config.json and "
    "the weights; its content hash names the samples and the report. Repeatable.")]
UpdateModelLockOption = Annotated[bool, typer.Option(
    "--update-model-lock", help="Let the --out folder's models.lock.json move: take the commit the catalogue now pins, "
    "and ask the hub again for the others. Without it, a run uses the locked commits and refuses another one "
    "(docs/provenance.md).")]
ShardOption = Annotated[Optional[str], typer.Option(
    "--shard", help="Run shard i of N (e.g. 0/4): problems with index % N == i, for Slurm arrays or several nodes "
    "(docs/cluster.md). Shards share one store; afterwards the same command without --shard grades, compares "
    "and reports.")]
DataParallelOption = Annotated[Optional[int], typer.Option(
    "--data-parallel", min=1, help="Engines of one model sampling at once, each on its own GPUs (its tensor-parallel "
    "size of them) and its own share of the problems. Default: as many as the visible GPUs (CUDA_VISIBLE_DEVICES) "
    "hold, e.g. 8 engines of a 7B model or 2 of a 32B model (tensor parallel 4) on 8 GPUs; samples are the same "
    "whatever the number (docs/cluster.md).")]
LogLevelOption = Annotated[str, typer.Option(
    "--log-level", help="debug, info, warning or error: the least severe engine message (vLLM, transformers, torch) "
    "that is kept, in the engine log file or on stderr (see --engine-log).")]
EngineLogOption = Annotated[str, typer.Option(
    "--engine-log", help="file: the engines' messages go to OUT/logs/engine-<time>-<pid>.log, named at the end "
    "(the command's own output stays short); stderr: they go to stderr, as the libraries print them.")]
ExperimentsArgument = Annotated[list[str], typer.Argument(help="Experiment ids (see `repro list`).",
                                                          show_default=False)]


def _version(value: bool) -> None:
    if value:
        from repro.commands import version

        typer.echo(version())
        raise typer.Exit()


@app.callback()
def main_options(version: Annotated[bool, typer.Option(
        "--version", is_eager=True, callback=_version,
        help="Print the package version and the git commit it was built from, and exit.")] = False) -> None:
    """Options of repro itself (before the command)."""


def _guard(call, root: Optional[Path] = None):
    """Run a command; its exit code means one thing (README, "Exit codes"): 0 reproduced (or done),
    1 a point or claim failed, 2 bad input, refused, or a machine fault such as a full disk (one
    line on stderr), 3 an internal error (one line; the traceback goes to a log file whose path
    that line gives), 130 interrupted. `root`: the run folder, where the log goes."""
    from repro.errors import ReproError

    try:
        code = call()
    except ReproError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(error.exit_code) from None
    except KeyboardInterrupt:
        typer.echo("interrupted: finished chunks are kept; rerun the same command to continue", err=True)
        raise typer.Exit(130) from None
    except typer.Exit:
        raise
    except OSError as error:
        from repro.commands import machine_fault

        line = machine_fault(error)
        if line is None:
            _internal_error(error, root)
        typer.echo(f"error: {line}", err=True)
        raise typer.Exit(2) from None
    except Exception as error:  # a bug: say so in one line, keep the traceback in a file
        _internal_error(error, root)
    raise typer.Exit(code or 0)


def _internal_error(error: BaseException, root: Optional[Path]):
    from repro.commands import default_root, write_crash_log

    path = write_crash_log(root or default_root(), error)
    typer.echo(f"internal error (a bug in repro, not in your input): {type(error).__name__}: {error}; "
               f"the traceback is in {path}", err=True)
    raise typer.Exit(3) from None


def _root(out: Optional[Path]) -> Path:
    from repro.commands import default_root

    return out if out is not None else default_root()


def _refuse(line: str):
    """A call that refuses with `line` (exit 2), for _guard."""
    def call():
        from repro.errors import ReproError

        raise ReproError(line)
    return call


def _progress():
    from repro.progress import interval_s, terminal_progress

    interval_s()  # a malformed REPRO_PROGRESS_INTERVAL is refused before anything starts
    return terminal_progress


def _with_engine_log(root: Path, level: str, target: str, call):
    """`call()` with the engines' messages routed (repro.engine_log), before any is imported."""
    from repro.commands import engine_log_routed as routed

    def say(line: str) -> None:
        typer.echo(line, err=True)

    with routed(root, level, target, announce=say):
        return call()


@app.command("list")
def list_command(models: Annotated[bool, typer.Option("--models", help="List the model catalogue instead.")] = False,
                 training: Annotated[bool, typer.Option(
                     "--training", help="List the training runs of `repro train` instead: the models each produces, "
                     "steps, GPUs and GPU-hours.")] = False,
                 out: OutOption = None,
                 as_json: Annotated[bool, typer.Option("--json", help="Print a JSON document instead of the table "
                                                       "(format repro.list/1, or repro.models/1 with --models; "
                                                       "docs/json.md).")] = False):
    """List every experiment of the paper with its figures, benchmarks and what runs today
    (checkpoints trained in the --out folder count)."""
    if training:
        from repro.train_command import list_runs

        if as_json:
            _guard(_refuse("--json is not available with --training"))
        _guard(lambda: typer.echo(list_runs()))
    from repro.commands import list_experiments

    _guard(lambda: typer.echo(list_experiments(models, _root(out), as_json)))


@app.command()
def plan(experiments: Annotated[Optional[list[str]], typer.Argument(help="Experiment ids; default: all.")] = None,
         tier: TierOption = "full", backend: BackendOption = None, seed: SeedOption = 0,
         checkpoint: CheckpointOption = None, out: OutOption = None,
         as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON (format repro.plan/1: one "
                                               "object per unique run; docs/json.md).")] = False,
         calibrate: Annotated[Optional[Path], typer.Option(
             "--calibrate", help="A finished run's folder (--out of `repro run`): use the output tokens per sample "
             "and the throughput its stores measured instead of the assumed ones.")] = None,
         training: Annotated[bool, typer.Option(
             "--training", help="Plan the training runs of `repro train` instead: each run's GPU-hours, the "
             "assumptions, and the sum.")] = False,
         gpus: Annotated[Optional[int], typer.Option(
             "--gpus", min=0, help="Plan for a node with this many GPUs (engines per model and wall-clock hours). "
             "Default: the GPUs visible here.")] = None,
         data_parallel: DataParallelOption = None):
    """List the unique runs a tier needs, before anything starts: every setting decided, the
    experiments sharing each run (counted once), samples, output tokens and GPU-hours.

    The GPU-hours are samples x tokens per sample / engine throughput x GPUs per engine, with the
    assumptions named in the output (docs/performance.md shows the arithmetic); the wall-clock
    hours divide each run by the engines of its model that run at once on this node (--gpus,
    --data-parallel). With --training:
    the training runs' GPU-hours (docs/training.md, "Cost").

    With --tier adaptive: beside each run's full-tier samples, tokens and
    GPU-hours, the adaptive tier's expected ones, simulated from the paper's
    curves (a few reruns of repro.adaptive on draws from them; cached per
    experiment, so only the first plan takes a while; docs/performance.md).
    """
    if training:
        from repro.train_command import training_plan

        if as_json:
            _guard(_refuse("--json is not available with --training"))
        _guard(lambda: typer.echo(training_plan()))
    from repro.commands import plan as plan_command

    _guard(lambda: typer.echo(plan_command(experiments or [], tier, backend, as_json, calibrate, seed,
                                           checkpoint or (), _root(out), gpus=gpus, data_parallel=data_parallel)))


@app.command()
def run(experiments: ExperimentsArgument, tier: TierOption = "full", backend: BackendOption = None,
        out: OutOption = None, shard: ShardOption = None, data_parallel: DataParallelOption = None,
        seed: SeedOption = 0, keep_dapo_answer: KeepDapoAnswerOption = False,
        checkpoint: CheckpointOption = None,
        responses: Annotated[Optional[Path], typer.Option(
            "--responses", help="perplexity only: a JSONL file of other models' responses to score too (Figure 6's "
            "OpenAI-o1 responses cannot be regenerated), one {\"problem_id\", \"response\", \"source\"} per "
            "line.")] = None,
        update_model_lock: UpdateModelLockOption = False,
        log_level: LogLevelOption = "info", engine_log: EngineLogOption = "file"):
    """Run experiments end to end: sample, grade, compute pass@k, compare with the paper, report.

    Interrupted runs resume where they stopped: rerun the same command. The engines' own
    messages go to a log file under OUT/logs/ (see --engine-log, --log-level).
    """
    from repro.commands import run as run_command

    _guard(lambda: _with_engine_log(_root(out), log_level, engine_log, lambda: run_command(
        experiments, tier, backend, _root(out), shard, seed, _progress(), keep_dapo_answer=keep_dapo_answer,
        checkpoints=checkpoint or (), responses=responses, update_model_lock=update_model_lock,
        data_parallel=data_parallel)), _root(out))


@app.command("pair")
def pair_command(
        file: Annotated[Optional[Path], typer.Argument(
            help="A pair declared in a TOML file (keys: docs/pairs.md; an example: examples/pair_smoke.toml). "
                 "Leave out to declare it with --base and --rl.", show_default=False)] = None,
        base: Annotated[Optional[str], typer.Option(
            "--base", help="The base model: a hub id, optionally with a revision (owner/name@commit; without one, the "
                           "commit is locked in OUT/models.lock.json at first download), or a local model folder "
                           "(config.json and weights; its content hash names the samples and the report).")] = None,
        rl: Annotated[Optional[list[str]], typer.Option(
            "--rl", help="An RL model, as --base. Repeat for several RL models of one base: they share the base's "
                         "samples (arms rl-1, rl-2, ...).")] = None,
        benchmarks: Annotated[Optional[list[str]], typer.Option(
            "--benchmarks", help="A benchmark key (`repro list`); repeatable. Default: the paper's six math "
                                 "benchmarks of Figures 2 and 9.")] = None,
        n: Annotated[Optional[int], typer.Option(
            "--n", help="Samples per problem. Default: the paper's n on each benchmark (1,024 for AIME24 and AMC23, "
                        "128 elsewhere). The quick tier caps it at 32.")] = None,
        k: Annotated[Optional[str], typer.Option(
            "--k", help="The k of the curves, e.g. 1,2,4,8 (the largest must not exceed n). Default: 1, 2, 4, ... "
                        "up to n.")] = None,
        template: Annotated[Optional[str], typer.Option(
            "--template", help="The prompt template by name (docs/models.md). Default: the paper's for the model's "
                               "family (qwen-boxed for Qwen and LLaMA, dapo for DAPO) on math, and the paper's own on "
                               "code and visual benchmarks.")] = None,
        name: Annotated[Optional[str], typer.Option(
            "--name", help="Names the pair's folders (pair-NAME); default: a hash of the declaration.")] = None,
        tier: Annotated[Optional[str], typer.Option(
            "--tier", "-t", help="full (default), quick (n<=32) or smoke (CPU: simulation and tiny stand-ins); "
                                 "overrides the file's.")] = None,
        backend: BackendOption = None, out: OutOption = None, seed: SeedOption = 0,
        plan: Annotated[bool, typer.Option(
            "--plan", help="Print the runs, samples and GPU-hours, and start nothing.")] = False,
        update_model_lock: UpdateModelLockOption = False,
        log_level: LogLevelOption = "info", engine_log: EngineLogOption = "file"):
    """Test the paper's claims on any base/RL pair: the same plan, store, graders and statistics.

    Writes pass@k curves with 95% bands and the crossing point with its
    uncertainty, Delta_SE, claims 1-3 as predicates and a paragraph on what
    the data support, in OUT/reports/pairs/pair-NAME/TIER/BACKEND/.
    Exit 0 when it ran (verdicts are findings, not a failed reproduction);
    2 on bad input. See docs/pairs.md.
    """
    from repro.pair_command import pair as pair_run, read_declaration

    def call() -> int:
        declaration = read_declaration(file, base=base, rl=rl, benchmarks=benchmarks, n=n, ks_text=k,
                                       template=template, tier=tier, backend=backend, name=name)
        if plan:
            return pair_run(declaration, _root(out), seed, _progress(), plan_only=True)
        return _with_engine_log(_root(out), log_level, engine_log, lambda: pair_run(
            declaration, _root(out), seed, _progress(), update_model_lock=update_model_lock))

    _guard(call, _root(out))


@app.command("all")
def all_command(tier: TierOption = "full", backend: BackendOption = None, out: OutOption = None,
                shard: ShardOption = None, data_parallel: DataParallelOption = None,
                seed: SeedOption = 0, keep_dapo_answer: KeepDapoAnswerOption = False,
                checkpoint: CheckpointOption = None, update_model_lock: UpdateModelLockOption = False,
                log_level: LogLevelOption = "info", engine_log: EngineLogOption = "file"):
    """Run every experiment that can run in the tier (the container's main job); list the others.

    Every visible GPU is used: each model runs as several engines at once where the GPUs hold
    them (--data-parallel). Several nodes: --shard i/N on each, then the same command without
    --shard where all samples are (docs/cluster.md). The engines' own messages go to a log file
    under OUT/logs/ (see --engine-log, --log-level).
    """
    from repro.commands import run_all

    _guard(lambda: _with_engine_log(_root(out), log_level, engine_log, lambda: run_all(
        tier, backend, _root(out), seed, _progress(), keep_dapo_answer=keep_dapo_answer,
        checkpoints=checkpoint or (), shard_text=shard, data_parallel=data_parallel,
        update_model_lock=update_model_lock)), _root(out))


@app.command()
def grade(experiments: ExperimentsArgument, tier: TierOption = "full", backend: BackendOption = None,
          out: OutOption = None, seed: SeedOption = 0, keep_dapo_answer: KeepDapoAnswerOption = False,
          checkpoint: CheckpointOption = None):
    """Re-grade stored samples and redo the comparison: never samples, needs no GPU, loads no
    model (a cluster's login node can finish a job). Give the options the run was made with."""
    from repro.commands import grade as grade_command

    _guard(lambda: grade_command(experiments, tier, backend, _root(out), seed, _progress(),
                                 keep_dapo_answer=keep_dapo_answer, checkpoints=checkpoint or ()), _root(out))


@app.command()
def compare(experiment: Annotated[str, typer.Argument(help="Experiment id.")], tier: TierOption = "full",
            backend: BackendOption = None, out: OutOption = None,
            results: Annotated[Optional[Path], typer.Option("--results", help="Folder of per-problem CSVs from a run "
                                                           "made elsewhere: <arm>__<benchmark>.csv with columns "
                                                           "problem_id,n,correct.")] = None,
            show_all: Annotated[bool, typer.Option("--all-points", help="Show every k, not just powers of two.")] = False,
            as_json: Annotated[bool, typer.Option("--json", help="Print every point and claim as one JSON document "
                                                  "(format repro.compare/1; docs/json.md) instead of the tables; "
                                                  "the exit status is the same.")] = False):
    """Diff pass@k against the paper with statistical tolerances; exit 1 if a point or claim fails."""
    from repro.commands import compare as compare_command

    _guard(lambda: compare_command(experiment, tier, backend, _root(out), results, show_all, as_json), _root(out))


@app.command()
def sandbox(solution: Annotated[Path, typer.Argument(help="A Python program (the model's solution).")],
            problem: Annotated[Path, typer.Option("--problem", "-p", help="The problem's tests in LiveCodeBench's "
                                                  "format: {\"tests\": [{\"input\", \"output\", \"testtype\": "
                                                  "stdin|functional}], \"metadata\": {\"func_name\": ...}}.")]):
    """Run one solution against one problem's tests in the sandbox; print a JSON verdict (exit
    0 when every test passes, 1 otherwise). The same code path as the code experiments
    (isolation, limits, comparison rules); a warm sandbox service of the same context (Python,
    environment, folder) judges when it can, and ends after a minute without a command
    (REPRO_SANDBOX_SERVICE=0: never; docs/sandbox.md)."""
    from repro.sandbox_command import sandbox_command

    _guard(lambda: sandbox_command(solution, problem))


@app.command()
def report(tier: TierOption = "full", out: OutOption = None):
    """Rebuild the tier's report from the results on disk (every experiment of the tier; no
    sampling, no grading): OUT/reports/TIER/report.html (one self-contained page, plots
    embedded), report.md (plots linked), points.csv and plots/. Exit 1 if a point or claim fails.
    How to read it: docs/report.md."""
    from repro.commands import report as report_command

    _guard(lambda: report_command(tier, _root(out)), _root(out))


@app.command()
def archive(experiments: Annotated[Optional[list[str]], typer.Argument(
                help="Experiment ids to bundle; default: every experiment with results in the tier.",
                show_default=False)] = None,
            tier: TierOption = "full", out: OutOption = None,
            bundle: Annotated[Optional[Path], typer.Option(
                "--bundle", help="Where to write the bundle (a .zip file). Default: "
                "OUT/archives/repro-TIER-<UTC time>.zip. An existing file is never overwritten.")] = None):
    """Bundle a finished run for a reviewer or an archive: one .zip holding the tier's
    per-problem results and specs, the sample stores behind them (every sample and verdict),
    the report, a MANIFEST.sha256 of every file, bundle.json (version, commit, tier,
    experiments, stores), CITATION.cff, LICENSE, .zenodo.json (Zenodo metadata from
    CITATION.cff), the pinned requirements and a README telling the reviewer how to check it.

    The stores are audited first: damaged samples are never bundled (exit 2, one line).

    Check the bundle with `repro verify BUNDLE` (docs/archive.md).
    """
    from repro.archive_command import archive_command

    _guard(lambda: archive_command(_root(out), tier, bundle, experiments or []), _root(out))


@app.command()
def verify(bundle: Annotated[Path, typer.Argument(help="A bundle written by `repro archive` (.zip), or the folder "
                                                  "it unpacks to.", show_default=False)],
           workers: Annotated[Optional[int], typer.Option(
               "--workers", help="Grading processes (default: one per core).")] = None):
    """Check a bundle from its bytes to its conclusions, on CPU (no GPU, no model): every file
    against MANIFEST.sha256, every sample store audited, every stored sample graded again with
    this package's graders (code in the sandbox), each problem's counts, pass@k and the
    comparison with the paper recomputed and compared with the bundled CSVs, verdicts, report
    and claims. The benchmark files must be here (`repro fetch`).

    Exit 0: everything matches. 1: a recomputed number differs (the first difference named).

    Exit 2: the bundle is malformed or was changed (one line naming the file and what is wrong).

    Results of the simulated backend are said to be no evidence (docs/archive.md).
    """
    from repro.archive_command import verify_command

    _guard(lambda: verify_command(bundle, workers))


store_app = typer.Typer(
    help="Check the sample stores of a run folder against themselves, and mend what can be mended safely.",
    no_args_is_help=True)
app.add_typer(store_app, name="store")
StorePaths = Annotated[Optional[list[Path]], typer.Argument(
    help="Store folders, or folders holding stores (a run folder). Default: the --out folder.", show_default=False)]


@store_app.command("check")
def store_check(paths: StorePaths = None, out: OutOption = None):
    """Check every chunk against its index and manifest, every grades file against its chunk,
    and list debris of killed runs; say what `repro store repair` would do. Reads only.

    Exit 0 when every store is sound, 1 when a problem was found.
    """
    from repro.store_command import check

    _guard(lambda: check(paths or [], _root(out)), _root(out))


@store_app.command("repair")
def store_repair(paths: StorePaths = None, out: OutOption = None):
    """Mend what can be mended: remove debris, stale grades, and corrupt or missing chunks (the
    next run samples them again, with the same seeds), rebuild a lost index from intact chunks.
    Never invents samples; a lost manifest is left to you (the table says what to do).

    Exit 0 when every store is sound afterwards, 1 when something is left, 2 when a store is
    being written.
    """
    from repro.store_command import repair_command

    _guard(lambda: repair_command(paths or [], _root(out)), _root(out))


review_app = typer.Typer(
    help=("The chain-of-thought validity check of the paper (§3.1, §3.3, App. D.2): export every correct chain of "
          "thought of the hardest solved problems (accuracy over the run's samples in (0, 5%)) for a person to "
          "judge, then read the verdicts back and set the counts beside the paper's.\n\n"
          "Typical use: `repro run cot-validity` (writes the sheet too), open review/sheet.html, fill the verdict "
          "column of review/verdicts.csv with valid, invalid or unsure, then `repro review read "
          "<that verdicts.csv>`."),
    no_args_is_help=True)
app.add_typer(review_app, name="review")


@review_app.command("export")
def review_export(experiment: Annotated[str, typer.Argument(help="Experiment id whose runs are done, e.g. "
                                                            "cot-validity or visual-easyr1.")],
                  tier: TierOption = "full", backend: BackendOption = None, out: OutOption = None):
    """Write the review sheet of an experiment's finished runs: sheet.md and sheet.html (each
    correct chain with its problem and reference answer) and verdicts.csv (one row per chain,
    a blank `verdict` to fill in), under experiments/EXPERIMENT/TIER/BACKEND/review/.

    Reads stored samples only (no GPU, no model). Exporting again keeps verdicts already
    recorded. Sheets made in the smoke tier say they are stand-ins, not evidence.
    """
    from repro.review_command import export_command

    _guard(lambda: export_command(experiment, tier, backend, _root(out)), _root(out))


@review_app.command("read")
def review_read(verdicts: Annotated[Path, typer.Argument(help="A verdicts.csv written by `repro review export` "
                                                         "with its verdict column filled in.")]):
    """Count the verdicts per model and benchmark: problems answered, checked (unsure-only
    problems left out, as the paper left out its ambiguous case) and with at least one valid
    chain, beside the paper's counts (GSM8K base 24/25, RL 23/25; AIME24 base 5/6, RL 4/6;
    visual 7/8).

    Exit 0 when the file is read (chains without a verdict are reported as such), 2 when it is
    malformed (one line naming file and line).
    """
    from repro.review_command import read_command

    _guard(lambda: read_command(verdicts))


TRAIN_HELP = (
    "Train one of the models the paper never released with the engine the paper used (VeRL 0.3.0.post1, on "
    "Ray), then merge and register its checkpoints so that `repro run` finds them.\n\n"
    "The runs and the models they make (`repro list --training`: steps, GPUs, GPU-hours):\n\n"
    "\b\n"
    "  grpo               verl-grpo-step150, verl-grpo-step300, verl-grpo-step450\n"
    "  ppo                PPO (GAE, critic) -> verl-ppo\n"
    "  reinforce-pp       Reinforce++ -> verl-reinforce-pp\n"
    "  rloo               RLOO -> verl-rloo\n"
    "  remax              ReMax -> verl-remax\n"
    "  dapo               DAPO (VeRL's recipe) -> verl-dapo\n"
    "  grpo-kl0.001       GRPO, KL loss 0.001 -> verl-grpo-kl0.001\n"
    "  grpo-n32           GRPO, 32 rollouts, 220 steps -> verl-grpo-n32\n"
    "  visual-grpo-geo3k  Qwen2.5-VL-7B, GRPO on Geometry3K -> qwen2.5-vl-7b-easyr1\n\n"
    "Start with --dry-run (the training environment of scripts/install-train, no GPU): it writes the training "
    "data and the resolved configuration with its sha256 under OUT/training/, and prints the exact command, the "
    "checkpoints and the GPU-hours.\n\n"
    "Several nodes: start a Ray cluster (`ray start`), set RAY_ADDRESS, give --nodes and --gpus-per-node. "
    "A killed run continues from its last saved step with --resume (docs/training.md).")


@app.command(help=TRAIN_HELP)
def train(run_name: Annotated[str, typer.Argument(metavar="RUN", help="A training run (listed above).",
                                                  show_default=False)],
          dry_run: Annotated[bool, typer.Option("--dry-run", help="Write the data and the configuration, print the "
                                                "command, cost and checkpoints; start nothing.")] = False,
          nodes: Annotated[int, typer.Option("--nodes", help="Nodes of the Ray cluster (more than one: set "
                                             "RAY_ADDRESS).")] = 1,
          gpus_per_node: Annotated[int, typer.Option("--gpus-per-node", help="GPUs per node.")] = 8,
          resume: Annotated[bool, typer.Option("--resume", help="Continue from the last saved step of this run's "
                                               "engine checkpoints.")] = False,
          out: OutOption = None):
    from repro.train_command import train as train_command

    _guard(lambda: train_command(run_name, _root(out), dry_run=dry_run, nodes=nodes, gpus_per_node=gpus_per_node,
                                 resume=resume, say=typer.echo), _root(out))


@app.command()
def fetch(kind: Annotated[Optional[list[str]], typer.Option(
              "--kind", help="math, code or visual (repeatable). Default: all three.")] = None,
          livecodebench: Annotated[bool, typer.Option(
              "--livecodebench/--no-livecodebench", help="Include LiveCodeBench release_v5 (about 4.4 GB).")] = True,
          benchmarks: Annotated[bool, typer.Option(
              "--benchmarks/--no-benchmarks", help="Fetch the benchmark files (--no-benchmarks: models only).")] = True,
          models: Annotated[bool, typer.Option(
              "--models", help="Also fix the commit of every released model the experiments need in the --out "
              "folder's models.lock.json, and download each at that commit into the hub cache (HF_HOME).")] = False,
          experiment: Annotated[Optional[list[str]], typer.Option(
              "--experiment", "-e", help="With --models: only the models of these experiments (repeatable). "
              "Default: every experiment.")] = None,
          lock_only: Annotated[bool, typer.Option(
              "--lock-only", help="With --models: fix the commits in the lock, download nothing.")] = False,
          update_model_lock: UpdateModelLockOption = False, out: OutOption = None):
    """Download every benchmark file now, at its pinned revision, verified by sha256; with
    --models, the models too, each at the commit the run folder's lock fixes.

    For clusters whose compute nodes have no network: run this where there is network, with
    REPRO_CACHE_DIR (benchmarks) and HF_HOME (models) on a shared file system and the same --out
    as the runs; runs then find the files there and use the locked commits (REPRO_OFFLINE=1 and
    HF_HUB_OFFLINE=1 make sure they never try to download).
    """
    from repro.commands import fetch as fetch_command

    _guard(lambda: fetch_command(kind or [], livecodebench, benchmarks=benchmarks, models=models,
                                 experiment_ids=experiment or [], root=_root(out),
                                 update_model_lock=update_model_lock, lock_only=lock_only), _root(out))


def main() -> int | None:
    if _sandbox_failure is not None:  # the plain `repro sandbox` call above failed
        failure = _sandbox_failure

        def fail():
            raise failure
        try:
            _guard(fail)
        except typer.Exit as done:
            return done.exit_code
    app()
    return None


if __name__ == "__main__":
    sys.exit(main())
