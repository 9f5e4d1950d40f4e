"""The plot of a pair the paper never saw (repro pair): both pass@k curves with their 95%
sampling bands on a log2-k axis, and the crossing point with the range of k the data allow.
No paper curve: there is none to compare with."""

from __future__ import annotations

import io
from pathlib import Path

from repro.files import atomic_write
from repro.pair_analysis import PairFinding


def plot_pair(path: Path, finding: PairFinding, base_label: str, rl_label: str, simulated: bool = False) -> Path:
    """`simulated`: the title says so (such samples are never evidence)."""
    import matplotlib

    matplotlib.use("Agg")  # no display needed (CI, containers)
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(5.2, 3.6), dpi=100)
    for curve, label, color in ((finding.base_curve, base_label, "#1f77b4"), (finding.rl_curve, rl_label, "#ff7f0e")):
        ks = [p.k for p in curve]
        axes.plot(ks, [p.value for p in curve], marker="o", markersize=2.5, color=color, linewidth=1.4, label=label)
        axes.fill_between(ks, [p.band[0] for p in curve], [p.band[1] for p in curve], color=color, alpha=0.2,
                          linewidth=0)
    crossing = finding.crossing
    if crossing.k is not None:
        axes.axvline(crossing.k, color="grey", linestyle="--", linewidth=1, label=f"crossing k = {crossing.k}")
    if crossing.earliest is not None:
        high = crossing.shown_from if crossing.shown_from is not None else crossing.largest_k
        axes.axvspan(crossing.earliest, max(high, crossing.earliest), color="grey", alpha=0.12, linewidth=0,
                     label="crossing: range the data allow")
    axes.set_xscale("log", base=2)
    axes.set_xlabel("k")
    axes.set_ylabel("pass@k")
    axes.set_title(f"{finding.benchmark}: base vs {finding.rl} (n = {finding.n}, 95% bands)"
                   + (" [simulated: no model ran]" if simulated else ""), fontsize=8.5)
    axes.tick_params(labelsize=8)
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=6.5, loc="lower right")
    figure.subplots_adjust(left=0.15, right=0.98, bottom=0.13, top=0.93)
    image = io.BytesIO()
    figure.savefig(image, format="png")
    plt.close(figure)
    atomic_write(path, image.getvalue())
    return path
