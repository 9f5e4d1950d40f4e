"""One matplotlib figure per paper panel, on a log2-k axis: each paper curve (solid) inside a
shaded band of the tolerance the comparison used at each k (repro.compare), the rerun's curve
(dashed, small markers), and a red X on every rerun point outside its band."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from repro.compare import FAIL, PointComparison
from repro.expected import ExpectedPoint, curve_points
from repro.experiments import Panel
from repro.files import atomic_write
from repro.results import RunResult

FAIL_COLOR = "#d62728"


def plot_panel(path: Path, panel: Panel, expected: list[ExpectedPoint],
               reruns: Mapping[str, Mapping[tuple[str, str], RunResult]],
               points: Mapping[str, Sequence[PointComparison]]) -> Path:
    """Write a PNG of one panel (see panel_figure), unless the file there was drawn from the
    same inputs: every report covers every experiment on disk, and drawing is most of its time."""
    key = _inputs_key(panel, expected, reruns, points)
    if _drawn_from(path) == key:
        return path
    figure = panel_figure(panel, expected, reruns, points)
    import matplotlib.pyplot as plt  # after panel_figure chose the Agg backend

    image = io.BytesIO()
    figure.savefig(image, format="png", metadata={"Comment": key})
    plt.close(figure)
    atomic_write(path, image.getvalue())
    return path


# Part of every plot's key: change it when the drawing changes, so that older plots are redrawn.
PLOT_STYLE = "tolerance-band-2"


def _inputs_key(panel: Panel, expected: list[ExpectedPoint], reruns: Mapping[str, Mapping[tuple[str, str], RunResult]],
                points: Mapping[str, Sequence[PointComparison]]) -> str:
    """A hash of everything panel_figure draws from: the style, the panel, the paper's curves,
    each backend's per-problem counts and the comparisons (tolerances and verdicts)."""
    digest = hashlib.sha256(f"{PLOT_STYLE}\n{panel!r}\n".encode())
    for _, ref in panel.curves:
        digest.update(repr([(p.k, p.value) for p in curve_points(expected, ref.figure, ref.panel, ref.family,
                                                                 ref.curve)]).encode())
    for backend, results in reruns.items():
        for arm, _ in panel.curves:
            result = results.get((arm, panel.benchmark))
            if result is not None:
                digest.update(f"{backend}/{arm}".encode())
                digest.update(np.ascontiguousarray(result.n, dtype=np.int64).tobytes())
                digest.update(np.ascontiguousarray(result.c, dtype=np.int64).tobytes())
    for backend, compared in points.items():
        digest.update(repr((backend, [(p.arm, p.curve, p.k, p.paper, p.rerun, p.tolerance, p.verdict)
                                      for p in compared])).encode())
    return "repro plot " + digest.hexdigest()


def _drawn_from(path: Path) -> str | None:
    """The key written into a plot's PNG text (None: no file, or not one of ours)."""
    from PIL import Image  # matplotlib's own dependency

    try:
        with Image.open(path) as image:
            return getattr(image, "text", {}).get("Comment")
    except (OSError, ValueError, SyntaxError):  # absent, or not a readable PNG: draw it
        return None


def panel_figure(panel: Panel, expected: list[ExpectedPoint], reruns: Mapping[str, Mapping[tuple[str, str], RunResult]],
                 points: Mapping[str, Sequence[PointComparison]]):
    """The figure of one panel. `reruns` maps a backend to its results (each drawn), `points`
    a backend to its comparisons of this panel (the caller gives those of the backends that
    decide the verdict). The band is the first of these with tolerances; every failing point
    of each is marked."""
    import matplotlib

    matplotlib.use("Agg")  # no display needed (CI, containers)
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_hex

    figure, axes = plt.subplots(figsize=(5.2, 3.6), dpi=100)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    colors = [c for c in colors if to_hex(c) != FAIL_COLOR]  # red means "fail" here
    linestyles = ["--", ":", "-."]
    band_backend = next((b for b, ps in points.items() if any(p.tolerance is not None for p in ps)), None)
    for index, (arm, ref) in enumerate(panel.curves):
        color = colors[index % len(colors)]
        paper = curve_points(expected, ref.figure, ref.panel, ref.family, ref.curve)
        axes.plot([p.k for p in paper], [p.value for p in paper], color=color, linewidth=1.6,
                  label=f"paper: {ref.curve}")
        if band_backend is not None:
            scored = sorted((p for p in points[band_backend] if p.arm == arm and p.curve == ref.curve
                             and p.tolerance is not None), key=lambda p: p.k)
            if scored:
                axes.fill_between([p.k for p in scored], [p.paper - p.tolerance for p in scored],
                                  [p.paper + p.tolerance for p in scored], color=color, alpha=0.18, linewidth=0)
        for style, (backend, results) in zip(linestyles, reruns.items()):
            result = results.get((arm, panel.benchmark))
            if result is None:
                continue
            ks = [p.k for p in paper if p.k <= result.max_k] or [1]
            curve = result.curve(ks)
            axes.plot(list(curve), list(curve.values()), linestyle=style, marker="o", markersize=2.2,
                      color=color, linewidth=1.1, label=f"rerun ({backend}): {ref.curve}")
    failing = [p for ps in points.values() for p in ps if p.verdict == FAIL and p.rerun is not None]
    if failing:
        axes.scatter([p.k for p in failing], [p.rerun for p in failing], marker="x", s=36, linewidths=1.6,
                     color=FAIL_COLOR, zorder=5, label=f"outside tolerance ({len(failing)})")
    if band_backend is not None:
        # A proxy artist: one legend entry says what every shaded band is.
        axes.fill_between([], [], [], color="grey", alpha=0.25, linewidth=0,
                          label=f"band: paper ± tolerance ({band_backend})")
    axes.set_xscale("log", base=2)
    axes.set_xlabel("k")
    axes.set_ylabel("pass@k")
    axes.set_title(panel.title, fontsize=8.5)
    axes.tick_params(labelsize=8)
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=6.5, loc="lower right")
    # Fixed margins: every panel has the same labels, and tight_layout would double the time
    # a report takes (it measures every text of the figure).
    figure.subplots_adjust(left=0.15, right=0.98, bottom=0.13, top=0.93)
    return figure
