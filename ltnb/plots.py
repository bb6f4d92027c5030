"""One figure style for the whole book; every figure carries the stamp of its runs."""
from __future__ import annotations

import matplotlib

import matplotlib.pyplot as plt
import numpy as np

from ltnb.data import many_medium_few

STYLE = {
    "figure.figsize": (7.0, 3.4), "figure.dpi": 110, "savefig.dpi": 110,
    "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True,
    "grid.alpha": 0.3, "font.size": 9, "legend.fontsize": 8, "legend.frameon": False,
}
matplotlib.rcParams.update(STYLE)

SPLIT_COLORS = {"many": "#d8e6f3", "medium": "#f3ecd8", "few": "#f3d8d8"}


def stamp(fig, text: str):
    """Write the preset/dataset/seed stamp in the figure's bottom-right corner."""
    fig.text(0.995, 0.005, text, ha="right", va="bottom", fontsize=6.5, color="0.45")
    return fig


def shade_splits(ax, counts):
    """Shade the many / medium / few classes along a class-index x axis."""
    for name, idx in many_medium_few(counts).items():
        if len(idx):
            ax.axvspan(idx.min() - 0.5, idx.max() + 0.5, color=SPLIT_COLORS[name], zorder=0, lw=0)
            ax.text((idx.min() + idx.max()) / 2, 1.0, name, transform=ax.get_xaxis_transform(),
                    ha="center", va="bottom", fontsize=7, color="0.35")


def class_counts(counts, title: str = "training images per class"):
    fig, ax = plt.subplots(figsize=(7, 2.8))
    shade_splits(ax, counts)
    ax.bar(np.arange(len(counts)), counts, color="#4477aa")
    ax.set_yscale("log")
    ax.set_xlabel("class index (sorted by training count)")
    ax.set_ylabel("images")
    ax.set_title(title, loc="left")
    return fig, ax


def per_class_lines(series: dict[str, np.ndarray], counts, ylabel: str, title: str, marker="o"):
    """One line per method over class index, splits shaded."""
    fig, ax = plt.subplots()
    shade_splits(ax, counts)
    for name, values in series.items():
        ax.plot(np.arange(len(values)), values, marker=marker, ms=3, lw=1.2, label=name)
    ax.set_xlabel("class index (head → tail)")
    ax.set_ylabel(ylabel)
    ax.set_title(title, loc="left")
    ax.legend(ncol=min(4, len(series)), loc="lower left")
    return fig, ax
