"""The reproduction report: Markdown (report.md, plots linked) and one self-contained HTML
page (report.html, plots embedded) with a summary, the failing points, the claims under their
statements, for every panel a plot of the rerun over the paper's tolerance band plus a table of
differences and tolerances, and the environment each result was made in."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from tabulate import tabulate

from repro.claims import claim_heading
from repro.compare import FAIL, NOT_RUN, ExperimentComparison, PointComparison
from repro.expected import histogram_series, load_curves, load_histograms, load_solved_sets
from repro.experiments import Experiment
from repro.report.environment import environment_section
from repro.report.escape import escape
from repro.report.page import heading_id, markdown_to_html
from repro.report.plots import plot_panel
from repro.results import RunResult
from repro.files import atomic_write
from repro.tiers import Tier

SMOKE_BANNER = (
    "**This is a smoke-tier report. It checks the machinery, not the paper.** "
    "No real model ran: the *simulated* backend draws samples from success probabilities fitted to the "
    "paper's own curves (so its agreement with the paper is by construction), and the *vllm* and *hf* "
    "backends ran tiny random-weight models on a few problems (so their curves are near zero by "
    "construction). Run `--tier quick` or `--tier full` on GPUs to test the paper's claims."
)

ADAPTIVE_METHOD = (
    "**How the adaptive tier decides.** Each problem is sampled in rounds of 32 (32, 64, 128, ... samples, up to the "
    "full tier's n, always the full tier's first samples); after each round every verdict still open asks for more "
    "samples of the problems that can still move it, and is settled once the full tier's verdict on all n samples "
    "is sure (the chance, per verdict, that it differs from the full tier's is stated below). Verdicts the method does not cover "
    "(accuracy histograms, solved sets, solved-count cells) are taken with the full tier's rule on runs sampled to "
    "the full n. Method and assumptions: docs/statistics.md, \"The adaptive tier\"; running it: docs/adaptive.md."
)

# Points shown in the Markdown tables (all points are in points.csv).
_SHOWN_K = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048}


@dataclass
class ExperimentSection:
    experiment: Experiment
    comparisons: dict[str, ExperimentComparison] = field(default_factory=dict)  # backend -> comparison
    results: dict[str, dict[tuple[str, str], RunResult]] = field(default_factory=dict)  # backend -> results
    skipped: str = ""  # why the experiment did not run
    notes: list[str] = field(default_factory=list)
    # backend -> the environment record of the command that wrote its results (repro.provenance)
    environments: dict[str, dict] = field(default_factory=dict)
    figures: dict[str, list[Path]] = field(default_factory=dict)  # backend -> images a stage drew beside results
    # backend -> an adaptive tier's record (repro.adaptive_verdicts: adaptive.json beside the results)
    adaptive: dict[str, dict] = field(default_factory=dict)


def _pct(value: float | None, signed: bool = False, scale: float = 100.0) -> str:
    """A value in percent (scale 100), or as it is (scale 1: an entropy in nats)."""
    if value is None:
        return "-"
    digits = 2 if scale == 100.0 else 3
    return f"{scale * value:+.{digits}f}" if signed else f"{scale * value:.{digits}f}"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _point_rows(points: list[PointComparison], everything: bool = False) -> list[list[str]]:
    rows = []
    for p in points:
        if not everything and p.k not in _SHOWN_K and p.verdict != FAIL:
            continue
        scale = 100.0 if p.unit == "fraction" else 1.0
        rows.append([p.curve, p.k, _pct(p.paper, scale=scale), _pct(p.rerun, scale=scale),
                     _pct(p.difference, signed=True, scale=scale), _pct(p.tolerance, scale=scale), p.verdict])
    return rows


_POINT_HEADERS = ["curve", "k", "paper %", "rerun %", "diff (pts)", "tolerance (pts)", "verdict"]


def write_report(out_dir: Path, tier: Tier, sections: list[ExperimentSection],
                 counted_backends: tuple[str, ...]) -> Path:
    """Write report.md (linking plots/), report.html (one self-contained page, plots embedded),
    points.csv and plots/; returns the Markdown path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    expected = load_curves()
    md: list[str] = [f"# Reproduction report (tier: {tier.name})", ""]
    md += ["Paper: Yue et al., *Does Reinforcement Learning Really Incentivize Reasoning Capacity in LLMs "
           "Beyond the Base Model?*, arXiv 2504.13837.", ""]
    if tier.uses_stand_ins:
        md += ["> " + SMOKE_BANNER, ""]
    md += ["How to read it: each paper point is compared with the rerun at the same k. The tolerance is "
           "z × sqrt(Var rerun + Var paper) + the paper value's own rounding error, where both variances "
           "are sampling variances on the same problems and z is a per-panel Bonferroni z (5% chance of "
           "any false alarm in a panel). In the plots the shaded band is the paper's curve ± that tolerance "
           "and a red X marks a rerun point outside it. See docs/statistics.md.", ""]
    if tier.adaptive:
        md += ["> " + ADAPTIVE_METHOD + " Each experiment's section lists its verdicts with the samples each took "
               "and what the full tier would spend; its points show the values of the samples drawn, so a point "
               "at k above a problem's samples shows none, though it is decided.", ""]
    md += _summary(sections, counted_backends)
    md += _failing_points(sections, counted_backends)
    md += _claims(sections)
    csv_lines = ["experiment,backend,panel,curve,arm,benchmark,k,paper,paper_error,rerun,sd_rerun,sd_paper,z,tolerance,verdict"]
    for section in sections:
        md += _section(section, out_dir, expected, csv_lines, counted_backends)
    md += environment_section({f"{section.experiment.id} [{backend}]": record for section in sections
                               for backend, record in section.environments.items()})
    atomic_write(out_dir / "points.csv", ("\n".join(csv_lines) + "\n").encode())
    markdown = "\n".join(md) + "\n"
    atomic_write(out_dir / "report.md", markdown.encode())
    atomic_write(out_dir / "report.html",
                 markdown_to_html(markdown, f"Reproduction report ({tier.name})", out_dir).encode())
    return out_dir / "report.md"


def _status(comparison: ExperimentComparison, counted: bool) -> str:
    """PASS / FAIL (coloured in the page) where the backend decides the verdict; an engine
    check's status is a plain word (its tiny models fail the paper by construction)."""
    if not counted:
        return "engine check: " + ("fails" if comparison.failed else "passes")
    return "FAIL" if comparison.failed else "PASS"


def _summary(sections: list[ExperimentSection], counted: tuple[str, ...]) -> list[str]:
    rows = []
    for section in sections:
        link = f"[{section.experiment.id}](#{heading_id(_heading(section.experiment))})"
        if section.skipped:
            rows.append([link, "-", "-", "-", "-", "-", "not run: " + escape(section.skipped), "not run"])
            continue
        for backend, comparison in section.comparisons.items():
            tally = comparison.counts()
            claims = [c.verdict for c in comparison.claims]
            claim_text = ", ".join(f"{claims.count(v)} {v}" for v in ("holds", "fails", "inconclusive", "not run")
                                   if claims.count(v))
            role = "verdict" if backend in counted else "engine check only"
            rows.append([link, backend, role, tally["pass"], tally["fail"], tally["not run"],
                         claim_text or "no claims", _status(comparison, backend in counted)])
    return ["## Summary", "",
            "Status FAIL: a point outside its tolerance or a claim that fails; an engine check's status does "
            "not decide the exit code.", "",
            tabulate(rows, headers=["experiment", "backend", "role", "points pass", "fail", "not run", "claims",
                                    "status"], tablefmt="github"), ""]


_FAILING_SHOWN = 40  # rows of the failing-points table; all are in points.csv


def _failing_points(sections: list[ExperimentSection], counted: tuple[str, ...]) -> list[str]:
    """Every point outside its tolerance of a backend that decides the verdict, before the
    details, so that failures are seen first (engine checks' are in their sections)."""
    failing = [(section.experiment.id, backend, p) for section in sections
               for backend, comparison in section.comparisons.items() if backend in counted
               for p in comparison.points if p.verdict == FAIL]
    if not failing:
        return []
    rows = [[experiment_id, backend, escape(p.panel), escape(row[0]), *row[1:]]
            for experiment_id, backend, p in failing[:_FAILING_SHOWN] for row in _point_rows([p], True)]
    more = len(failing) - len(rows)
    return ["## Points outside tolerance", "",
            f"{len(failing)} point(s) fail" + (f"; the first {len(rows)} are shown (all in points.csv)" if more else "")
            + ".", "",
            tabulate(rows, headers=["experiment", "backend", "panel", *_POINT_HEADERS], tablefmt="github"), ""]


def _claims(sections: list[ExperimentSection]) -> list[str]:
    """One table per claim of the paper, under its statement; failing verdicts first."""
    by_claim: dict[int, list[list[str]]] = {}
    order = {"fails": 0, "inconclusive": 1, "holds": 2}
    for section in sections:
        for backend, comparison in section.comparisons.items():
            for claim in comparison.claims:
                by_claim.setdefault(claim.paper_claim, []).append(
                    [section.experiment.id, backend, escape(claim.scope), claim.verdict, escape(claim.evidence)])
    if not by_claim:
        return []
    md = ["## Claims", "",
          "Verdicts answer: on these problems, do the samples show the stated direction beyond sampling "
          "noise (difference beyond 2.58 sd)? *holds* / *fails* (the opposite is shown) / *inconclusive*.", ""]
    for number in sorted(by_claim):
        rows = sorted(by_claim[number], key=lambda row: order.get(row[3], 3))
        md += [f"### {escape(claim_heading(number))}", "",
               tabulate(rows, headers=["experiment", "backend", "scope", "verdict", "evidence"], tablefmt="github"),
               ""]
    return md


def _heading(experiment: Experiment) -> str:
    return f"{experiment.id}: {experiment.title}"


def _section(section: ExperimentSection, out_dir: Path, expected, csv_lines: list[str],
             counted: tuple[str, ...]) -> list[str]:
    experiment = section.experiment
    md = [f"## {_heading(experiment)}", "",
          f"Figures: {', '.join(experiment.figures)}. Models: "
          + ", ".join(f"{arm.name} = {arm.model} (T={arm.temperature:g})" for arm in experiment.arms) + ".", ""]
    for note in (*experiment.notes, *section.notes):
        md += [f"- {note}"]
    md += [""]
    if section.skipped:
        return md + [f"Not run: {escape(section.skipped)}.", ""]
    md += _adaptive(section, counted)
    for panel in experiment.panels:
        image = Path("plots") / f"{_slug(experiment.id)}--{_slug(panel.title)}.png"
        points = {backend: [p for p in comparison.points if p.panel == panel.title]
                  for backend, comparison in section.comparisons.items()}
        # Band and failing marks of the backends that decide the verdict only: an engine
        # check's tiny models would mark every point.
        plot_panel(out_dir / image, panel, expected, section.results,
                   {backend: ps for backend, ps in points.items() if backend in counted})
        md += [f"### {panel.title}", "", f"![{panel.title}]({image.as_posix()})", ""]
        for backend in sorted(points, key=lambda backend: backend not in counted):  # the verdict's first
            csv_lines += [_csv_line(experiment.id, backend, p) for p in points[backend]]
            rows = [[escape(row[0]), *row[1:]] for row in _point_rows(points[backend])]
            role = "" if backend in counted else ", engine check only"
            if rows:
                md += [f"Backend {backend} (powers of two and every failure{role}; all points in points.csv):", "",
                       tabulate(rows, headers=_POINT_HEADERS, tablefmt="github"), ""]
    md += _printed(section, csv_lines)
    md += _histograms(section, csv_lines)
    md += _solved_sets(section)
    md += _stage_figures(section, out_dir)
    return md


def _adaptive(section: ExperimentSection, counted: tuple[str, ...]) -> list[str]:
    """An adaptive run's verdicts (repro.adaptive_verdicts' record): per verdict the samples it
    took and the full tier's, per run the samples drawn, and the share of the full tier's."""
    if not section.adaptive:
        return []
    md = ["### Adaptive verdicts", "", ADAPTIVE_METHOD, ""]
    for backend, record in section.adaptive.items():
        total = record["total"]
        verdicts = [entry["verdict"] for entry in record["verdicts"]]
        tally = ", ".join(f"{verdicts.count(v)} {v}" for v in dict.fromkeys(verdicts))
        role = "" if backend in counted else " (engine check only)"
        simulated = (" A simulation: the samples are drawn from the paper's own curves; this checks the machinery, "
                     "not the paper.") if record.get("simulated") else ""
        share = "-" if total["share"] is None else f"{100 * total['share']:.1f}%"
        error = record.get("prediction_error")
        stated = f" A verdict settled early differs from the full tier's with a chance of at most {100 * error:g}%." \
            if error is not None else ""
        md += [f"Backend {backend}{role}: {total['samples']:,} of the full tier's {total['full_samples']:,} samples "
               f"drawn ({share}); {len(verdicts)} verdicts: {tally or 'none'}.{stated}{simulated}", ""]
        rows = [[escape(verdict_label(entry["key"])), entry["verdict"],
                 "full tier's rule" if entry["look"] < 0 else entry["look"], f"{entry['samples']:,}",
                 f"{entry['full_samples']:,}",
                 f"{100 * entry['samples'] / entry['full_samples']:.1f}%" if entry["full_samples"] else "-",
                 escape(entry["evidence"])] for entry in record["verdicts"]]
        md += [tabulate(rows, headers=["verdict", "result", "look", "samples", "full tier's", "share", "evidence"],
                        tablefmt="github"), ""]
        runs = [[run["arm"], run["benchmark"], run["problems"], run["n"], f"{run['samples']:,}",
                 f"{run['full_samples']:,}", f"{100 * run['samples'] / run['full_samples']:.1f}%"]
                for run in record["runs"]]
        md += [tabulate(runs, headers=["arm", "benchmark", "problems", "full n", "samples", "full tier's", "share"],
                        tablefmt="github"), ""]
    return md


def verdict_label(key: list) -> str:
    """A verdict's key (repro.adaptive) in words."""
    kind, rest = key[0], key[1:]
    if kind == "point":
        panel, curve, arm, k = rest
        return f"{panel}: {curve} ({arm}) at k = {k}"
    if kind == "printed":
        return "printed: " + " / ".join(map(str, rest))
    if kind == "claim":
        number, text, scope = rest[:3]
        return f"claim {number} ({scope}): {text}"
    return f"{kind}: " + " / ".join(map(str, rest))


def _stage_figures(section: ExperimentSection, out_dir: Path) -> list[str]:
    """Figures a stage drew beside its results (Figure 6's box plots), copied into plots/ so
    that the report's folder holds every image it shows."""
    md = []
    for backend, figures in section.figures.items():
        for figure in figures:
            image = Path("plots") / f"{_slug(section.experiment.id)}--{_slug(backend)}--{figure.name}"
            atomic_write(out_dir / image, figure.read_bytes())
            md += [f"### {escape(figure.stem)} ({backend})", "", f"![{figure.stem}]({image.as_posix()})", ""]
    return md


def _csv_line(experiment_id: str, backend: str, p: PointComparison) -> str:
    """One row of points.csv, quoted by the csv module: panels, curves and the arms of printed
    statistics ("min over grpo, ppo, ...") hold commas."""
    row = io.StringIO()
    csv.writer(row, lineterminator="").writerow([
        experiment_id, backend, p.panel, p.curve, p.arm, p.benchmark, p.k, p.paper,
        p.paper_error, "" if p.rerun is None else p.rerun, "" if p.sd_rerun is None else p.sd_rerun,
        "" if p.sd_paper is None else p.sd_paper, "" if p.z is None else p.z,
        "" if p.tolerance is None else p.tolerance, p.verdict])
    return row.getvalue()


def _printed(section: ExperimentSection, csv_lines: list[str]) -> list[str]:
    """Numbers the paper prints (tables, annotations, text) that this experiment reproduces,
    each scored like a curve point (repro.compare.compare_printed)."""
    md = []
    panels = {point.panel: None for comparison in section.comparisons.values() for point in comparison.points
              if point.panel.endswith("(printed)") and not any(point.panel == panel.title
                                                               for panel in section.experiment.panels)}
    for title in panels:
        md += [f"### {title}", ""]
        for backend, comparison in section.comparisons.items():
            points = [p for p in comparison.points if p.panel == title]
            csv_lines += [_csv_line(section.experiment.id, backend, p) for p in points]
            rows = [[escape(p.curve), p.arm, p.benchmark, *row[2:]] for p, row in zip(points, _point_rows(points, True))]
            md += [f"Backend {backend} (in % for fractions and shares of problems; entropies in nats):", "",
                   tabulate(rows, headers=["printed", "rerun statistic", "benchmark", "paper", "rerun", "diff",
                                           "tolerance", "verdict"], tablefmt="github"), ""]
    return md


def _histograms(section: ExperimentSection, csv_lines: list[str]) -> list[str]:
    if not section.experiment.histograms:
        return []
    bars = load_histograms()
    md = ["### Accuracy histograms (problems per accuracy bin)", ""]
    rows = []
    for ref in section.experiment.histograms:
        paper = [b.count for b in sorted(histogram_series(bars, ref.figure, ref.panel, ref.family, ref.series),
                                         key=lambda b: b.bin_index)]
        rows.append([f"{ref.family} {ref.series}", ref.panel, "paper", *paper])
        for backend, results in section.results.items():
            result = results.get((ref.arm, ref.benchmark))
            if result is not None:
                rows.append([f"{ref.family} {ref.series}", ref.panel, backend, *result.histogram()])
    from repro.metrics import HISTOGRAM_BINS

    md += [tabulate(rows, headers=["model", "benchmark", "source", *HISTOGRAM_BINS], tablefmt="github"), ""]
    # Each bar scored as a share of the problems (repro.compare.compare_histograms).
    for backend, comparison in section.comparisons.items():
        bars_compared = [p for p in comparison.points if p.panel.endswith("accuracy histogram")]
        csv_lines += [_csv_line(section.experiment.id, backend, p) for p in bars_compared]
        scored = [p for p in bars_compared if p.verdict != NOT_RUN]
        outside = [p for p in scored if p.verdict == FAIL]
        md += [f"Backend {backend}: {len(scored) - len(outside)} of {len(scored)} bars within tolerance "
               "(shares of the problems; multinomial sampling variance at both n, Bonferroni per histogram)."]
        if outside:
            md += ["", tabulate([[escape(p.panel), escape(row[0]), *row[1:]]
                                 for p, row in zip(outside, _point_rows(outside, True))],
                                headers=["histogram", *_POINT_HEADERS], tablefmt="github")]
        md += [""]
    return md


def _solved_sets(section: ExperimentSection) -> list[str]:
    if not section.experiment.solved_sets:
        return []
    printed = load_solved_sets()
    md = ["### Problems solved at least once", ""]
    rows = []
    for ref in section.experiment.solved_sets:
        paper = sorted(printed.get((ref.source, ref.model), frozenset()))
        rows.append([ref.source, ref.model, "paper", len(paper), " ".join(map(str, paper))])
        for backend, results in section.results.items():
            result = results.get((ref.arm, ref.benchmark))
            if result is None:
                continue
            last = ref.last_index if ref.last_index is not None else max(result.problem_indices)
            solved = sorted(i for i in result.solved_indices() if ref.first_index <= i <= last)
            rows.append([ref.source, ref.model, backend, len(solved), " ".join(map(str, solved))])
    md += [tabulate(rows, headers=["table", "model", "source", "count", "problem indices"], tablefmt="github"), ""]
    return md
