"""One figure style for the whole book (seaborn's, with a few settings); every figure carries the stamp of its runs."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from ltnb.data import dataset_info, many_medium_few

STYLE = {
    "figure.figsize": (7.0, 3.4), "figure.dpi": 110, "savefig.dpi": 110,
    "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True,
    "grid.alpha": 0.3, "font.size": 9, "axes.titlesize": 9.5, "axes.labelsize": 9, "xtick.labelsize": 8,
    "ytick.labelsize": 8, "legend.fontsize": 8, "legend.frameon": False,
    "axes.titlepad": 14,  # room for the many / medium / few labels above the axes
}
sns.set_theme(context="paper", style="whitegrid", palette="colorblind", rc=STYLE)

SPLIT_COLORS = {"many": "#d8e6f3", "medium": "#f3ecd8", "few": "#f3d8d8"}


def stamp(fig, text: str):
    """Write the preset/dataset/seed stamp under the figure's bottom-right corner, clear of every label.

    The layout is settled first (labels inside the figure), then the stamp goes just below it; the
    notebook's inline figures are saved with a tight box, which takes it in.
    """
    # tight_layout cannot place axes outside a grid (a colorbar beside several axes): those figures keep the
    # layout their colorbar made, and the inline backend's tight box takes in the labels.
    if fig.get_layout_engine() is None and all(ax.get_subplotspec() is not None for ax in fig.axes):
        fig.tight_layout()
    fig.text(0.995, -0.01, text, ha="right", va="top", fontsize=7.5, color="0.35")
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


def against_reference(series: dict[str, np.ndarray], reference: np.ndarray, counts, ylabel: str, title: str,
                      names=None, log: bool = False):
    """Per-class values beside the balanced reference (left) and what the imbalance does to each class
    (right: value minus the reference, or their log ratio), classes in size order with their sizes and names
    on the axis, so a class's size and how hard it is are read apart."""
    fig, axes = plt.subplots(1, 2, figsize=(9.0, 3.4), sharex=True)
    x = np.arange(len(reference))
    for ax in axes:
        shade_splits(ax, counts)
    axes[0].plot(x, reference, color="k", ls="--", marker="s", ms=3, lw=1.2, label="balanced reference")
    for name, values in series.items():
        axes[0].plot(x, values, marker="o", ms=3, lw=1.2, label=name)
        rel = np.log(values / reference) if log else values - reference
        axes[1].plot(x, rel, marker="o", ms=3, lw=1.2, label=name)
    axes[1].axhline(0, color="k", lw=0.8, ls="--")
    axes[0].set(ylabel=ylabel)
    axes[1].set(ylabel=f"log({ylabel} / balanced)" if log else f"{ylabel}: minus balanced")
    axes[0].set_title(title, loc="left", pad=14)
    axes[1].set_title("what the imbalance does to each class", loc="left", pad=14)
    labels = [f"{i}{' ' + names[i] if names else ''}\n{int(n):,}" for i, n in enumerate(counts)]
    for ax in axes:
        ax.set_xticks(x, labels, fontsize=6.5, rotation=90 if names else 0)
        ax.set_xlabel("class (training images), head → tail")
    handles, labels = axes[0].get_legend_handles_labels()  # the reference's dashed line too
    axes[1].legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig, axes


def class_names(ctx) -> list[str] | None:
    """The class names a per-class axis writes under each class: on 10 classes; on 100 the indices alone."""
    return list(dataset_info(ctx.dataset).classes) if ctx.num_classes <= 10 else None


def per_class_accuracy(rows: dict, reference_runs: list, ctx, title: str = "Per-class accuracy"):
    """The chapters' per-class figure: each row's test accuracy per class (mean over its seeds' runs) beside the
    balanced reference's (:func:`against_reference`), stamped with ``ctx``. Returns (figure, the rows' per-class
    accuracies in %, the reference's)."""
    per_class = {name: 100 * np.mean([r.metrics["per_class"] for r in rs], axis=0) for name, rs in rows.items()}
    reference = 100 * np.mean([r.metrics["per_class"] for r in reference_runs], axis=0)
    fig, _ = against_reference(per_class, reference, ctx.counts, "test accuracy (%)", title, names=class_names(ctx))
    stamp(fig, ctx.stamp)
    return fig, per_class, reference


def by_split_against(sweep: dict, xlabel: str, title: str, text: str, figsize=(5.0, 3.0)):
    """Accuracy overall and by split against a swept knob (``sweep``: knob value -> the seeds' runs), the mean over
    seeds; a split with no class at the factor (all NaN) is left out, not drawn empty. Stamped with ``text``."""
    fig, ax = plt.subplots(figsize=figsize)
    xs = list(sweep)
    for split in ("accuracy", "many", "medium", "few"):
        ys = [100 * np.mean([r.metrics.get(split, float("nan")) for r in sweep[x]]) for x in xs]
        if not np.all(np.isnan(ys)):
            ax.plot(xs, ys, marker="o", ms=3, label="overall" if split == "accuracy" else split)
    ax.set(xlabel=xlabel, ylabel="test accuracy (%)", title=title)
    stamp(fig, text)
    return fig, ax


def spaced(ys, min_gap: float) -> np.ndarray:
    """Label heights for points at ``ys``: as close to them as can be, at least ``min_gap`` apart, in the same order
    (a one-dimensional spreading, so that labels in a column never overlap)."""
    ys = np.asarray(ys, dtype=float)
    order = np.argsort(ys)
    out = ys[order].copy()
    for _ in range(len(out) + 1):  # push up where too close, then centre each cluster on its points
        for i in range(1, len(out)):
            out[i] = max(out[i], out[i - 1] + min_gap)
        shift = (out - ys[order]).mean()
        out -= shift
        if all(np.diff(out) >= min_gap - 1e-9):
            break
    res = np.empty_like(out)
    res[order] = out
    return res


def label_column(ax, points, x_text: float, fontsize: float = 6, gap_points: float = 7.5):
    """Labels for ``points`` [(x, y, text, colour)] in a column at ``x_text`` (axes fraction, 1.0: the right edge),
    spaced so that none overlaps another, each joined to its point by a thin line (data coordinates for x and y)."""
    if not points:
        return
    fig = ax.figure
    fig.canvas.draw()
    lo, hi = ax.get_ylim()
    height_pts = ax.get_window_extent().height * 72 / fig.dpi
    gap = abs(hi - lo) * gap_points / max(height_pts, 1)
    ys = spaced([p[1] for p in points], gap)
    for (x, y, text, colour), yl in zip(points, ys):
        ax.annotate(text, xy=(x, y), xycoords="data", xytext=(x_text, yl), textcoords=("axes fraction", "data"),
                    fontsize=fontsize, va="center", ha="left", color=colour,
                    arrowprops=dict(arrowstyle="-", lw=0.4, color=colour, alpha=0.6, shrinkA=0, shrinkB=2))
