"""One matplotlib figure per paper panel: the paper's curves and the rerun's on the same
log2-k axis (solid: paper, dashed with markers: rerun)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from repro.expected import ExpectedPoint, curve_points
from repro.experiments import Panel
from repro.results import RunResult


def plot_panel(path: Path, panel: Panel, expected: list[ExpectedPoint],
               reruns: Mapping[str, Mapping[tuple[str, str], RunResult]]) -> Path:
    """Write a PNG of one panel; `reruns` maps a backend name to its results."""
    import matplotlib

    matplotlib.use("Agg")  # no display needed (CI, containers)
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(5.2, 3.6), dpi=110)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    linestyles = ["--", ":", "-."]
    for index, (arm, ref) in enumerate(panel.curves):
        color = colors[index % len(colors)]
        points = curve_points(expected, ref.figure, ref.panel, ref.family, ref.curve)
        axes.plot([p.k for p in points], [p.value for p in points], color=color, linewidth=1.8,
                  label=f"paper: {ref.curve}")
        for style, (backend, results) in zip(linestyles, reruns.items()):
            result = results.get((arm, panel.benchmark))
            if result is None:
                continue
            ks = [p.k for p in points if p.k <= result.max_k] or [1]
            curve = result.curve(ks)
            axes.plot(list(curve), list(curve.values()), linestyle=style, marker="o", markersize=2.5,
                      color=color, linewidth=1.2, label=f"rerun ({backend}): {ref.curve}")
    axes.set_xscale("log", base=2)
    axes.set_xlabel("k")
    axes.set_ylabel("pass@k")
    axes.set_title(panel.title, fontsize=9)
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=6, loc="lower right")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path
