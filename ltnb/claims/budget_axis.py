"""The leaderboard's budget axis: every method's last-epoch accuracy at each recorded budget (10, 20, 40 and 80
epochs of the same network, one preset each), its rank at each, and the figure that draws both. One seed a budget:
readings, never verdicts (a difference of two single runs has no noise of its own)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from ltnb import plots
from ltnb.chapters.leaderboard import CORE
from ltnb.claims.scores import budget_ranks, budget_table, score
from ltnb.presets import BUDGETS


def accuracies(plan, runs_f: dict, chosen_f: list, epochs: int) -> tuple[pd.DataFrame, dict]:
    """(the budget table: method x epochs, last-epoch accuracy (%) of the first seed, and the budget group's runs that
    are recorded). The chapter's own preset gives its column from the main table's runs; the others come from the
    budget group (optional: read when recorded, never trained). Methods at one budget only are dropped where at
    least two methods have two or more."""
    got = plan.fetch("budget") if "budget" in plan.groups else {}
    acc = {(e.name, epochs): 100 * score(e, runs_f[e.name][0])["accuracy"] for e in chosen_f}
    for (name, ep), rs in got.items():
        e = next((x for x in chosen_f if x.name == name), None)
        if e is not None:
            acc[(name, ep)] = 100 * score(e, rs[0])["accuracy"]
    bt = budget_table(acc)
    if len(bt):  # the methods recorded at two budgets or more: the rest have nothing to compare
        bt = bt[bt.notna().sum(axis=1) >= 2] if (bt.notna().sum(axis=1) >= 2).sum() >= 2 else bt
    return bt, got


def recorded_line(plan, got: dict, preset, f: float, s0: int) -> str:
    """What the budget group has recorded, budget by budget (or that the preset has no budget axis)."""
    if "budget" not in plan.groups:
        return (f"the budget axis is recorded for the CPU presets ({', '.join(BUDGETS.values())}); preset "
                f"{preset.name} has none")
    wanted = {}
    for (name, epochs) in plan.groups["budget"].rows:
        wanted.setdefault(epochs, [0, 0])[0] += 1
        wanted[epochs][1] += (name, epochs) in got
    parts = {b: f"{b} epochs ({BUDGETS[b]}) {n_got} of {n} methods" for b, (n, n_got) in wanted.items()}
    parts.setdefault(preset.epochs, f"{preset.epochs} epochs ({preset.name}): the table above")
    return ("recorded for the budget axis (imbalance " + f"{f:g}, seed {s0}): "
            + "; ".join(v for _, v in sorted(parts.items()))
            + ("" if all(a == b for a, b in wanted.values()) else "; the rest: make record (resumable)"))


def figure(bt: pd.DataFrame, budgets_shown: list, preset_epochs: int, f: float, s0: int):
    """Left: each method's accuracy against the budget (the core set thick, in eight distinct colours; the others
    thin), labelled in a spaced column; right: its rank among the methods recorded at every budget shown."""
    fig, (ax, axr) = plt.subplots(1, 2, figsize=(12, 5.6), gridspec_kw=dict(width_ratios=[1.1, 1]))
    # ranks among the methods recorded at every budget shown: a rank among fewer methods would look like a climb
    ranks = budget_ranks(bt[budgets_shown].dropna()) if budgets_shown else pd.DataFrame()
    strong = dict(zip(sorted(CORE), sns.color_palette("colorblind", len(CORE))))
    light = [plt.get_cmap("tab20")(2 * j + 1) for j in range(10)]
    others = [n for n in bt.index if n not in CORE]
    ends = []  # the accuracy lines' last points: labelled in a spaced column (the ranks are whole numbers)
    for name, r in (bt[budgets_shown].iterrows() if budgets_shown else []):
        r = r.dropna()
        if len(r) < 2:
            continue
        kw = (dict(color=strong[name], lw=2.2, alpha=1) if name in CORE else
              dict(color=light[others.index(name) % 10], lw=0.9, alpha=0.9))
        ax.plot(r.index, r.values, marker="o", ms=3, **kw)
        ends.append((r.index[-1], r.values[-1], name, kw["color"]))
        if name not in ranks.index:
            continue
        rr = ranks.loc[name].dropna()
        axr.plot(rr.index, rr.values, marker="o", ms=3, **kw)
        axr.annotate(name, (rr.index[-1], rr.values[-1]), xytext=(3, 0), textcoords="offset points", fontsize=6,
                     va="center", color=kw["color"])
    for a in (ax, axr):
        a.set_xscale("log", base=2)
        a.set_xticks(budgets_shown or [preset_epochs], [str(b) for b in budgets_shown or [preset_epochs]])
        a.set_xlabel("epochs (log scale)")
    ax.set_ylabel("last-epoch test accuracy (%)")
    plots.label_column(ax, ends, 1.02)
    axr.set_ylabel(f"rank among the {len(ranks)} methods at every budget (1: best)")
    axr.invert_yaxis()
    axr.yaxis.set_major_locator(plt.MaxNLocator(integer=True))  # ranks are whole numbers
    ax.set_title(f"accuracy against the budget, imbalance {f:g}, seed {s0}", loc="left", fontsize=9)
    axr.set_title("rank against the budget", loc="left", fontsize=9)
    if len(budgets_shown) < 2:
        ax.text(0.5, 0.5, "fewer than two budgets recorded yet", transform=ax.transAxes, ha="center")
    return fig, ranks
