"""Figure 6's box plots: perplexity of each (scoring model, responses) pair, one panel per
problem, drawn like the paper's (boxes of PPL_Base(Y_Base), PPL_Base(Y_RL), PPL_RL(Y_RL), ...)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

_ORDER = (("base", "base"), ("base", "rl"), ("rl", "rl"), ("rl", "base"))


def plot_perplexity(path: Path, table: Mapping[tuple[str, str], Mapping[str, list[float]]], problems: list[str],
                    stand_in: bool) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pairs = [pair for pair in _ORDER if pair in table] + sorted(pair for pair in table if pair not in _ORDER)
    figure, axes = plt.subplots(1, len(problems), figsize=(4.2 * len(problems), 3.6), dpi=110, squeeze=False)
    for axis, problem in zip(axes[0], problems):
        data = [table[pair].get(problem, []) for pair in pairs]
        axis.boxplot(data, showfliers=True)
        axis.set_xticks(range(1, len(pairs) + 1),
                        [f"PPL_{scorer.capitalize()}(Y_{source.capitalize()})" for scorer, source in pairs],
                        rotation=30, ha="right", fontsize=7)
        axis.set_title(problem + (" (tiny stand-in models: not evidence)" if stand_in else ""), fontsize=8)
        axis.set_ylabel("Perplexity")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path
