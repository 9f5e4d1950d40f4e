"""Rebuilding the AIME24 filter of Figure 12 by the paper's procedure (App. D.2), as a run of
the pipeline: Qwen2.5-7B-Base answers every AIME24 problem directly (no chain of thought,
template `direct-answer`, a few dozen new tokens), n times; the rule of repro.guess_filter
removes the problems answered correctly at a low but non-zero rate; the list, with its counts
and provenance, is stored beside the experiment's results; the experiment's `aime24-filtered`
runs then sample exactly the problems kept.

The direct answers are an ordinary RunSpec: seeded per request, stored and shared like every
other run (math-aime-filtered and cot-validity read one set of samples), graded by the math
grader, resumable, shardable.

Choices the paper leaves open, made here (docs/manual_checks.md):
- n = 1,024, the n the paper draws on AIME24 (App. A.2): a rate of 1 in 1,024 is visible, and
  a problem guessed at 0.5% is missed with probability 0.995^1024 < 1%. Direct answers are a
  few tokens each, so 30 x 1,024 of them cost far less than one chain-of-thought round. The
  quick tier caps n at 32 (one correct answer is then 3.1%, two are 6.25%), the stand-in
  tiers at their own n.
- 32 new tokens: room for "\\boxed{123}" or "The answer is 123." and not for a chain of thought.
- temperature 0.6 and top-p 0.95, the paper's sampling protocol (§3).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from repro.benchmarks.sets import aime24_filtered
from repro.errors import EnvironmentNotSupportedError, ReproError
from repro.expected import find_printed, load_printed
from repro.experiments import Arm, Experiment
from repro.guess_filter import LIST_FILE, RULE, FilterList, ProblemCount, build_list, write_list
from repro.lengths import LengthOverride
from repro.pipeline import RunContext, Subset, results_dir, run_spec
from repro.plan import PlannedRun, plan_run
from repro.sampling import get_backend
from repro.tiers import Tier

FILTERED = aime24_filtered.BENCHMARK.key
PARENT = aime24_filtered.PARENT
FILTER_N = 1024
DIRECT_MAX_NEW_TOKENS = 32
TEMPLATE = "direct-answer"

# The filter run, declared like an experiment (not registered: it is a stage of the experiments
# that sample `aime24-filtered`, not a figure of its own).
FILTER_EXPERIMENT = Experiment(
    id="aime24-guess-filter", title="AIME24 answered directly, without chain of thought (App. D.2)", section="A",
    figures=("App. D.2",), kind="math", arms=(Arm("direct", "qwen2.5-7b", "base"),),
    lengths=LengthOverride(source=("App. D.2 direct answers without chain of thought: 32 new tokens (this "
                                   "project's choice; the paper gives no length)"),
                           max_new_tokens=DIRECT_MAX_NEW_TOKENS),
    prompt_templates=((PARENT, TEMPLATE),),
)


def needs_filter(experiment: Experiment) -> bool:
    return any(benchmark == FILTERED for _, benchmark in experiment.runs())


def filter_run(tier: Tier, backend: str, *, run_seed: int = 0, checkpoints=None, revisions=None) -> PlannedRun:
    """The direct-answer run behind the list. Every problem of AIME24 is asked, also in the
    stand-in tiers that otherwise sample a few problems: the list must cover the benchmark."""
    spec = plan_run(FILTER_EXPERIMENT, FILTER_EXPERIMENT.arms[0], PARENT, FILTER_N, tier, get_backend(backend),
                    run_seed=run_seed, checkpoints=checkpoints, revisions=revisions)
    return PlannedRun(FILTER_EXPERIMENT.id, "direct", replace(spec, problem_limit=None))


def filter_runs(experiment: Experiment, tier: Tier, backends: tuple[str, ...], *, run_seed: int = 0,
                checkpoints=None, revisions=None) -> list[PlannedRun]:
    """The filter runs an experiment needs (none if it samples no filtered AIME24, or if the
    authors' list is given), for `repro plan`."""
    if not needs_filter(experiment) or aime24_filtered.PUBLISHED_KEPT_IDS is not None:
        return []
    return [PlannedRun(experiment.id, "aime24-filter", filter_run(tier, backend, run_seed=run_seed,
                                                                   checkpoints=checkpoints, revisions=revisions).spec)
            for backend in backends]


def list_path(root: Path, experiment_id: str, tier: str, backend: str) -> Path:
    """Where a run folder keeps the list an experiment's runs used: beside its results."""
    return results_dir(root, experiment_id, tier, backend).parent / LIST_FILE


def make_list(context: RunContext, backend: str) -> FilterList:
    """The list for one backend of a run folder: the authors' if given, else rebuilt from the
    direct-answer run (sampled now if its samples are missing)."""
    if aime24_filtered.PUBLISHED_KEPT_IDS is not None:
        return FilterList(tuple(aime24_filtered.PUBLISHED_KEPT_IDS), "published",
                          {"source": aime24_filtered.PUBLISHED_SOURCE}, paper_kept=paper_kept())
    planned = filter_run(context.tier, backend, run_seed=context.run_seed, checkpoints=context.checkpoints,
                         revisions=context.revisions)
    spec = planned.spec
    label = f"{FILTER_EXPERIMENT.id}/direct/{PARENT} [{backend}]"
    result, _, store = run_spec(context, spec, label)
    if result is None:
        raise ReproError(f"the AIME24 filter's direct answers are incomplete (other shards still to run): run every "
                         f"shard, then rerun without --shard to filter and sample {FILTERED}")
    loaded = context.load(PARENT)
    counts = [ProblemCount(pid, int(index), int(n), int(c))
              for pid, index, n, c in zip(result.problem_ids, result.problem_indices, result.n, result.c)]
    reasons = []
    if spec.weights.source in ("tiny", "none"):
        reasons.append(f"made by {spec.weights.describe()}, not Qwen2.5-7B")
    if loaded.synthetic:
        reasons.append("stand-in problems, not AIME24")
    return build_list(counts, _provenance(context, spec, store, loaded.origin), stand_in=bool(reasons),
                      stand_in_reason="; ".join(reasons), paper_kept=paper_kept())


def paper_kept() -> int:
    """How many problems App. D.2's filter kept (expected/printed_values.csv)."""
    return int(find_printed(load_printed(), "Appendix D.2", "Qwen2.5-7B-Base", "AIME24",
                            "problems kept by the guessing filter").value)


def _provenance(context: RunContext, spec, store: Path, origin: str) -> dict[str, Any]:
    return {
        "model": spec.model, "weights": spec.weights.describe(), "backend": spec.backend, "tier": context.tier.name,
        "benchmark": spec.benchmark, "data_origin": origin, "n": spec.n, "samples_per_round": spec.samples_per_round,
        "template": spec.template, "template_sha256": spec.template_sha256, "max_new_tokens": spec.max_new_tokens,
        "temperature": spec.temperature, "top_p": spec.top_p, "run_seed": spec.run_seed, "grader": spec.grader,
        "key_sha256": spec.key_sha256(),
        "store": store.relative_to(context.root).as_posix() if store.is_relative_to(context.root) else str(store),
    }


def prepare(context: RunContext, experiment: Experiment, say=print) -> None:
    """Before an experiment that samples the filtered AIME24 runs: make the list on each backend
    of the context, store it beside the experiment's results, and have the runs use it."""
    if not needs_filter(experiment):
        return
    for backend in context.backends:
        try:
            filter_list = make_list(context, backend)
        except EnvironmentNotSupportedError:
            if not context.tier.uses_stand_ins:
                raise
            continue  # the experiment's own runs on this engine are skipped for the same reason
        path = list_path(context.root, experiment.id, context.tier.name, backend)
        write_list(path, filter_list)
        if not filter_list.kept_ids:
            raise ReproError(f"the AIME24 filter kept no problem ({path}): nothing to sample")
        rule = RULE if filter_list.source == "rebuilt" else f"the authors' list ({aime24_filtered.PUBLISHED_SOURCE})"
        shown = path.relative_to(context.root) if path.is_relative_to(context.root) else path
        context.subsets[(FILTERED, backend)] = Subset(PARENT, filter_list.kept_ids, rule, str(path),
                                                      f"{filter_list.summary}; list: {shown}")
        say(f"{filter_list.summary} [{backend}]: {path}")
