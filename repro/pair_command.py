"""`repro pair`: the paper's analysis for a base/RL pair it never saw.

A thin layer: repro.pair turns the user's declaration into an ordinary experiment, and the
run goes through the paper experiments' own plan (repro.plan), pipeline (stores, engines,
graders), results files and claims (repro.commands, repro.compare); repro.pair_analysis adds
what a pair without a paper curve needs (bands, crossing point, Delta_SE, a verdict paragraph).
Results land where `repro run` puts an experiment's (experiments/pair-<name>/<tier>/<backend>/
results/), the pair's report in reports/pairs/pair-<name>/<tier>/<backend>/report.md.
"""

from __future__ import annotations

import json
from pathlib import Path

from tabulate import tabulate

from repro.commands import _backends, _hub_models, _say, _section_from_outcomes
from repro.errors import ReproError
from repro.files import atomic_write
from repro.model_lock import lock_models, locked_revisions
from repro.models import declared_models
from repro.pair import (Pair, PairDeclaration, PairError, declaration_from_options, declaration_from_toml, parse_ks,
                        resolve_pair)
from repro.pair_analysis import overall, pair_findings, report_markdown, verdict_paragraph
from repro.pipeline import RunContext, check_environment, plan_for, run_experiment
from repro.provenance import environment_record
from repro.report.pair_plot import plot_pair
from repro.sampling import get_backend
from repro.tiers import get_tier


def read_declaration(toml_path: Path | None, *, base: str | None, rl: list[str] | None, benchmarks: list[str] | None,
                     n: int | None, ks_text: str | None, template: str | None, tier: str | None,
                     backend: str | None, name: str | None) -> PairDeclaration:
    """A TOML file or options, never a mix of the two for the pair itself; --tier and --backend
    given with a file override the file's (the same file at smoke, then at full). `ks_text`:
    --k as given ("1,2,4")."""
    ks = parse_ks(ks_text) if ks_text is not None else None
    if toml_path is None:
        return declaration_from_options(base, rl, benchmarks=benchmarks, n=n, ks=ks, template=template,
                                        tier=tier or "full", backend=backend, name=name)
    mixed = [option for option, value in (("--base", base), ("--rl", rl), ("--benchmarks", benchmarks), ("--n", n),
                                          ("--k", ks), ("--template", template), ("--name", name)) if value]
    if mixed:
        raise PairError(f"{toml_path} declares the pair: give {mixed[0]} in the file, not on the command line")
    declaration = declaration_from_toml(toml_path)
    from dataclasses import replace

    return replace(declaration, tier=tier or declaration.tier, backend=backend or declaration.backend)


def cached_config(hub_id: str, revision: str | None) -> dict | None:
    """A hub model's config.json from the local hub cache, or None (never downloads)."""
    try:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(hub_id, "config.json", revision=revision)
    except Exception:  # no hub library, or an id it refuses: nothing cached to read
        return None
    if not isinstance(found, str):
        return None
    return json.loads(Path(found).read_text(encoding="utf-8"))


def _download_configs(pair: Pair, revisions: dict[str, str]) -> None:
    """The config of every hub model the plan had to assume a context for, at its locked commit."""
    for model in pair.models:
        if model.checkpoint is None and model.notes:
            try:
                from huggingface_hub import hf_hub_download

                hf_hub_download(model.model.hf_id, "config.json", revision=revisions.get(model.model.hf_id))
            except Exception as error:
                raise ReproError(f"cannot download the config of {model.model.hf_id} ({type(error).__name__}); "
                                 "`repro fetch` on a machine with network, or give a local folder") from None


def pair(declaration: PairDeclaration, root: Path, seed: int, progress, plan_only: bool = False,
         update_model_lock: bool = False) -> int:
    environment = environment_record()
    pair_ = resolve_pair(declaration, fetch_config=cached_config, progress=progress)
    tier = get_tier(declaration.tier)
    backends = _backends(tier, declaration.backend)
    if plan_only:
        with declared_models(m.model for m in pair_.models):
            _say(plan_table(pair_, root, seed, backends))
        return 0
    with declared_models(m.model for m in pair_.models):
        hub = _hub_models([pair_.experiment], tier, backends, pair_.checkpoints)
        if hub:
            check_environment(tier, backends)
        revisions = lock_models(root, hub, update=update_model_lock, say=_say)
    if hub and any(m.notes for m in pair_.models):  # planned on an assumed context: read the real one now
        _download_configs(pair_, revisions)
        # Read back at the locked commit (the cache files a download under its commit, not a branch).
        pair_ = resolve_pair(declaration, progress=progress,
                             fetch_config=lambda hub_id, revision: cached_config(hub_id, revision or revisions.get(hub_id)))
    with declared_models(m.model for m in pair_.models):
        return _run(pair_, root, seed, progress, tier, backends, revisions, environment)


def plan_table(pair_: Pair, root: Path, seed: int, backends: tuple[str, ...]) -> str:
    """Every unique run of the pair (the base's once, whatever the number of RL models), its
    samples and GPU-hours, before anything starts."""
    from repro.costs import run_cost
    from repro.plan import plan_experiment, unique_runs

    tier = get_tier(pair_.declaration.tier)
    planned = [run for name in backends
               for run in plan_experiment(pair_.experiment, tier, get_backend(name), run_seed=seed,
                                          checkpoints=pair_.checkpoints, revisions=locked_revisions(root))]
    costs = [run_cost(run) for run in unique_runs(planned)]
    real = not tier.uses_stand_ins
    rows = [[i + 1, ", ".join(c.run.use_names), c.run.spec.benchmark, c.run.spec.backend, c.run.spec.n, f"{c.samples:,}",
             f"{c.gpu_hours:,.1f}" if real else "-"] for i, c in enumerate(costs)]
    lines = [f"{pair_.experiment.id}: {pair_.experiment.title}", *_model_lines(pair_), "",
             tabulate(rows, headers=["#", "arms", "benchmark", "backend", "n", "samples", "GPU-h"]), ""]
    lines.append(f"{len(costs)} runs, {sum(c.samples for c in costs):,} samples"
                 + (f", about {sum(c.gpu_hours for c in costs):,.1f} GPU-hours (H100; repro.costs' assumptions, "
                    "docs/performance.md)" if real else f"; {tier.name} tier: stand-ins on CPU, no GPU-hours")
                 + "; the base model's runs are shared by every RL model.")
    lines += [f"note: {note}" for note in pair_.notes]
    return "\n".join(lines)


def _model_lines(pair_: Pair) -> list[str]:
    return [f"{m.arm}: {m.describe()}; template {m.model.template}, context {m.model.context_length:,}"
            for m in pair_.models]


def pair_report_dir(root: Path, experiment_id: str, tier: str, backend: str) -> Path:
    return root / "reports" / "pairs" / experiment_id / tier / backend


def _run(pair_: Pair, root: Path, seed: int, progress, tier, backends, revisions, environment) -> int:
    experiment = pair_.experiment
    context = RunContext(root, tier, backends, run_seed=seed, progress=progress, checkpoints=pair_.checkpoints,
                         revisions=revisions, environment=environment)
    _say(f"== {experiment.id}: {experiment.title}")
    try:
        if not all(get_backend(b).simulated for b in backends):
            from repro.data_parallel import sample_data_parallel

            sample_data_parallel(context, plan_for(context, experiment))
        outcomes = run_experiment(context, experiment)
    finally:
        context.close()
    section = _section_from_outcomes(experiment, outcomes, root, tier.name, environment)
    for note in section.notes:
        _say(f"note: {note}")
    benchmarks = tuple(dict.fromkeys(b for _, b, _ in experiment.declared_runs))
    for backend, results in section.results.items():
        simulated = get_backend(backend).simulated
        claims = section.comparisons[backend].claims
        findings = pair_findings(results, pair_.rl_arms, benchmarks, pair_.ks)
        paragraph = verdict_paragraph(findings, claims, pair_.rl_arms, simulated)
        settings = [f"tier {tier.name}, backend {backend}" + (" (simulated: no model ran; never evidence)"
                                                              if simulated else ""),
                    f"benchmarks {', '.join(benchmarks)}; k = {', '.join(map(str, pair_.ks))}",
                    f"temperature {pair_.declaration.temperature:g}, top-p {pair_.declaration.top_p:g}, run seed {seed}"]
        histograms = {key: result.histogram() for key, result in sorted(results.items())}
        folder = pair_report_dir(root, experiment.id, tier.name, backend)
        plots = {(f.rl, f.benchmark): plot_pair(folder / "plots" / f"{f.rl}__{f.benchmark}.png", f, "base",
                                                f.rl, simulated).relative_to(folder).as_posix()
                 for f in findings}
        text = report_markdown(experiment.title, _model_lines(pair_), settings, findings, claims, histograms,
                               paragraph, [*pair_.notes, *section.notes], plots)
        atomic_write(folder / "report.md", (text + "\n").encode())
        atomic_write(folder / "analysis.json", (json.dumps(_analysis_record(findings, claims, paragraph), indent=2)
                                                + "\n").encode())
        _say()
        _say(tabulate([[c.paper_claim, c.scope, c.verdict, c.evidence] for c in claims],
                      headers=["claim", "scope", "verdict", "evidence"], maxcolwidths=[None, 24, None, 70]))
        for finding in findings:
            _say(f"{finding.rl} vs base, {finding.benchmark}: {finding.crossing.describe()}; Delta_SE "
                 f"{100 * finding.delta_se[0]:+.1f} ± {100 * finding.delta_se[1]:.1f} points")
        counts = overall(claims)
        _say(f"[{backend}] " + ", ".join(f"{count} {kind}" for kind, count in counts.items() if count)
             + f"; report: {folder / 'report.md'}")
    return 0


def _analysis_record(findings, claims, paragraph: str) -> dict:
    """The report's numbers for scripts: curves with sds, crossing points, Delta_SE, verdicts."""
    return {
        "findings": [{"rl": f.rl, "benchmark": f.benchmark, "n": f.n, "problems": f.problems,
                      "base": [[p.k, p.value, p.sd] for p in f.base_curve],
                      "rl_curve": [[p.k, p.value, p.sd] for p in f.rl_curve],
                      "crossing": {"k": f.crossing.k, "earliest": f.crossing.earliest,
                                   "shown_from": f.crossing.shown_from, "largest_k": f.crossing.largest_k},
                      "delta_se": {"value": f.delta_se[0], "sd": f.delta_se[1], "k": f.delta_se[2]}}
                     for f in findings],
        "claims": [{"claim": c.paper_claim, "text": c.text, "scope": c.scope, "verdict": c.verdict,
                    "evidence": c.evidence} for c in claims],
        "verdict": paragraph,
    }
