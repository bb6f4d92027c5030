# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Claims: what holds here
#
# Every checkable claim of the five papers, in this book's words, with where the paper makes it
# and what the book's own runs say about it. A verdict is computed when this page executes, from
# the runs recorded with the book, so it follows the recordings: another imbalance factor, another
# preset, more seeds, the papers' schedule once it is recorded. The chapters print the same verdicts
# beside the figure or table that tests each claim.
#
# **The unit of evidence is a training run.** A verdict reads every recorded seed of the runs it
# compares and judges them by their own seed-to-seed noise, never by a noise borrowed from other
# methods, metrics, imbalance factors or presets.
#
# * **holds**: the 95% interval of the measured effect lies on the claimed side of zero; **does not
#   hold**: it lies on the other side; **inside the noise**: it holds zero, and the verdict says the
#   smallest gap these runs would detect (80% power at the 5% level, estimated from their own seeds: on
#   synthetic runs, below, that estimate is optimistic: at its median the rule says "holds" less often
#   than 80%, as the table there measures), so a reader can tell "could have seen the paper's gap and
#   did not" from "could not have seen it"; or it excludes zero but the decision does not pass the false
#   discovery rate control below, and the verdict prints the interval (so its side), the adjusted p
#   value and the smallest gap its runs detect; **smaller than claimed**: the
#   interval lies wholly below the gap the paper prints for the claim (on the CIFAR-10-LT or
#   CIFAR-100-LT table it names, so it says that the gap measured here on Fashion-MNIST-LT is smaller
#   than the paper's gap on that set, not that the paper is wrong). It takes precedence over "inside
#   the noise": an interval that holds zero and excludes the paper's gap is "smaller than claimed",
#   and its number ends "below the paper's gap, and the interval holds zero" (where the interval is
#   above zero it ends "above zero, below the paper's gap"); "does not hold" takes precedence over
#   both, and a "does not hold" that the false discovery rate control takes back, its interval below
#   the paper's gap, is "smaller than claimed" too. **Too few runs**: under 3 seeds a side, the difference is shown and
#   nothing is decided; **not testable here**: the claim needs what this book does not have (ImageNet,
#   a ViT, CIFAR, a method it does not train), said in each row; **not recorded**: the runs are not
#   recorded at that setting (yet).
# * **"Method A beats B"**: last-epoch accuracies, one per seed, compared with **Welch's** t interval
#   (each side's own variance), or **paired** seed by seed where both sides read the same training run
#   (a stage-2 method and its backbone, two post-hoc readings of one run). A pruning claim "at the
#   same fraction pruned" is read at every fraction: it holds where it holds at each, does not hold
#   where the other method wins at any. A claim that a method is **the best of a set** ("the most
#   accurate of the decision-boundary methods") is read against each rival run here: it holds where
#   it beats every one, does not hold where any one is ahead beyond the noise (that p value times the
#   number of rivals), and otherwise the hardest comparison speaks; its number names the rival.
# * **Per-class trends** ("the head gets larger weights") are Spearman rank correlations over the
#   classes, one per seed, then across seeds (Fisher's z, a t interval). They are read **against the
#   balanced reference**: CE trained on a balanced subset as large as the long-tailed set, with the
#   same network and schedule. On Fashion-MNIST the hardest class, Shirt (class 6), is a middle-sized
#   one (278 training images at imbalance 100), not a tail one, so a raw per-class curve mixes how many
#   images a class has with how hard it is; what
#   the imbalance does to each class is the quantity minus its balanced value (the log ratio for norms).
# * **"Flatter"** compares the spread across classes (standard deviation over mean) and **"less"**
#   a statistic of the features (correlation between channels, the largest singular value's share),
#   each computed per run and then compared across runs like an accuracy.
# * **A lead above zero** ("each expert is the most accurate on its own class group"): a statistic of
#   one run, per seed, then a one-sample t interval across the seeds.
# * **Where the paper makes it.** A claim the paper makes at other imbalance factors than a setting's
#   is read there all the same, and counted apart, as **beyond the paper**. Where the paper names no
#   factor for a claim (a figure drawn at a factor it does not print, as most analysis figures of the
#   angular, LGLA and whitening papers are), the book takes it as the paper's at 100, its headline
#   factor, where the claim's seeds are planned, and as beyond the paper elsewhere.
# * **Many tests.** At each setting the page controls the false discovery rate over its tests
#   (Benjamini-Hochberg at 5%), says how many of its decisions chance alone would give, and measures
#   the machinery's own false-positive rate with **A/A** tests: a method against itself, its seeds
#   split in two.
#
# The rules are tested on synthetic runs whose answer is known (`tests/test_verdicts.py`), the A/A
# rate and the power behind the smallest detectable gap included.

# %% tags=["parameters"]
dataset = "fmnist"  # the data set whose recordings are read: fmnist (CIFAR is not recorded here)

# %% tags=["hide-input"]
from ltnb import params as Pm

Pm.refuse_unknown(Pm.injected(globals()), ["dataset"], "the claims page")  # a name papermill's -p added, not dataset

import html
import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import HTML, Markdown, display

from ltnb import claims as C, params as Pm, plots, report
from ltnb import stats as V
from ltnb.claims import evidence as E
from ltnb.presets import PRESETS
from ltnb.reference import PAPERS

dataset = Pm.read([Pm.Param("dataset", "fmnist", Pm.choice("fmnist", "cifar10", "cifar100"), "")],
                  {"dataset": dataset})["dataset"]
settings = E.recorded_settings(dataset)
if not settings:
    print(f"No {dataset} runs are recorded or stored yet: every claim reads 'not recorded' (make record records them).")
results, chance = {}, {}
for s in settings:  # every verdict at the setting, the false discovery rate controlled over its tests
    at, chance[s] = E.verdicts_at(s)
    results.update({(i, s): v for i, v in at.items()})
claimed_at = {(c.id, s): E.where_claimed(c, s.imb) for c in C.CLAIMS for s in settings}
display(Markdown(
    f"{len(C.CLAIMS)} claims of {len(PAPERS)} papers, read at {len(settings)} settings: "
    + ", ".join(s.label for s in settings) + ". A setting is a preset and an imbalance factor; of the presets, "
    + ", ".join(f"`{p}` trains {PRESETS[p].epochs} epochs" for p in dict.fromkeys(s.preset for s in settings))
    + (", all at half the papers' network width" if all(PRESETS[s.preset].width == 0.5 for s in settings) else "")
    + f" (the papers' schedule, {PRESETS['paper'].epochs} epochs at full width, is the preset `paper`, not recorded "
    "here)."))

# %% [markdown]
# ## How many hold, paper by paper
#
# Counted at each recorded setting (preset and imbalance factor) over the claims of each paper
# that the paper makes at that factor; "beyond the paper" counts, apart, the claims read at a factor
# the paper does not name for them. "seeds read" gives the range, over the verdicts computed there,
# of each verdict's fewest runs a side.

# %% tags=["hide-input"]
rows = []
for paper in PAPERS:
    cs = [c for c in C.CLAIMS if c.paper == paper]
    for s in settings:
        here = [results[(c.id, s)] for c in cs if claimed_at[(c.id, s)]]
        seeds = [min(v.seeds) for v in here if v.seeds]
        rows.append({"paper": paper, "setting": s.label, "claims": len(here), **V.counts(here),
                     "beyond the paper": sum(not claimed_at[(c.id, s)] for c in cs),
                     "seeds read": "–" if not seeds else f"{min(seeds)} to {max(seeds)}"})
if rows:
    summary = pd.DataFrame(rows).set_index(["paper", "setting"])
    summary = summary.loc[:, (summary != 0).any(axis=0)]  # a verdict no setting has: no column
    report.show(summary, f"{dataset}-LT", "Verdicts per paper and setting, where the papers make the claims "
                                          "(counts of claims)")

# %% [markdown]
# ## How many of these verdicts chance alone would give
#
# Each verdict is a test at the 5% level, so among many tests some decide by chance. At each
# setting the page applies Benjamini and Hochberg's procedure over all its tests (a decision whose
# adjusted p value is 5% or more becomes "inside the noise" and says so, or "smaller than claimed" where
# its interval lies below the paper's gap), and the table says how many
# decisions chance alone would give: 5% of the tests if no claim were true, and, in expectation, at
# most 5% of the decisions kept (the procedure bounds the expected share of false decisions, not their
# number). Exact counts (a sampler's batches, a parameter count) are not tests and are left out. The
# A/A rows run the same machinery on a method against itself: every leaderboard method with at least
# 4 seeds at the setting, its seeds split into two halves every way. With 4 or 5 seeds a half has 2,
# under the 3 a side a verdict needs, so the A/A comparisons use the verdicts' interval with 2 seeds
# allowed: the same test on fewer runs. A calibrated machinery decides at most about 5% of them;
# with so few seeds Welch's test is conservative and decides fewer, losing power rather than giving
# false positives. The synthetic rows do the same on 300 simulated methods of 4, 5 and 6 normal seeds
# each (6: 3 against 3, the verdicts' own minimum), whose answer is known to be "no difference".
# Each rate comes with its exact 95% interval; the splits of one method share seeds, so they are not
# independent and the interval is narrower than it should be.

# %% tags=["hide-input"]
from ltnb import store
from ltnb.claims import scores as L
from ltnb.chapters.leaderboard import entries

aa_rows = {}
rng = np.random.default_rng(0)
synthetic = {n: V.aa_rate([rng.standard_normal(n) for _ in range(300)]) for n in (4, 5, 6)}


def decided_share(aa: dict) -> str:
    """``k (x%, 95% interval [a, b])`` for an A/A result."""
    if aa["comparisons"] == 0:
        return "–"
    low, high = aa["ci"]
    return f"{aa['decided']} ({100 * aa['rate']:.1f}%, [{100 * low:.1f}, {100 * high:.1f}])"


measured, most_seeds = {}, {}
for s in settings:
    groups, names, seeds_of = [], [], []
    for e in entries(10):
        runs = [r for r in (store.load(e.config(s.base, sd)) for sd in E.SEEDS_READ) if r is not None]
        if len(runs) >= 4:
            groups.append([100 * L.score(e, r)["accuracy"] for r in runs])
            names.append(e.name)
            seeds_of.append([r.config.seed for r in runs])
    aa = V.aa_rate(groups)
    aa["decided_words"] = [f"{names[g]} (seeds {' and '.join(str(seeds_of[g][i]) for i in left)} against "
                           f"{' and '.join(str(seeds_of[g][i]) for i in right)})" for g, (left, right) in aa["which"]]
    ch = chance[s]
    aa_rows[s.label] = {
        "tests": ch["tests"], "holds or does not hold, at 5% each": ch["decided"],
        "chance alone, no claim true": f"{ch['chance uncorrected']:.1f}",
        "holds or does not hold, after the FDR control": ch["decided after"],
        "of them false, expected at most": f"{ch['chance after']:.1f}",
        "A/A: methods with 4+ seeds": len(groups),
        "A/A: comparisons": aa["comparisons"],
        "A/A: decided (%, 95% interval)": decided_share(aa)}
    if aa["comparisons"]:
        measured[s.label] = (len(groups), aa)
        most_seeds[s.label] = max(map(len, seeds_of))
for n, aa in synthetic.items():
    aa_rows[f"synthetic (300 methods × {n} seeds)"] = {
        "tests": "", "holds or does not hold, at 5% each": "", "chance alone, no claim true": "",
        "holds or does not hold, after the FDR control": "", "of them false, expected at most": "",
        "A/A: methods with 4+ seeds": 300, "A/A: comparisons": aa["comparisons"],
        "A/A: decided (%, 95% interval)": decided_share(aa)}
report.show(pd.DataFrame(aa_rows).T, f"{dataset}-LT", "Tests, decisions, what chance alone gives, and the A/A check")
for label, (k, aa) in measured.items():
    low, high = aa["ci"]
    where = ("inside" if low <= V.ALPHA <= high else "above" if low > V.ALPHA else "below")
    print(f"At {label}, {k} method{'s' if k > 1 else ''} with 4 or more recorded seeds give {aa['comparisons']} A/A "
          f"comparisons; the machinery decided {aa['decided']} ({100 * aa['rate']:.1f}%, 95% interval "
          f"[{100 * low:.1f}, {100 * high:.1f}]): the 5% level is {where} that interval"
          + ("." if where != "above" else ": the machinery decides more often than it should on these runs.")
          + (f" Decided: {'; '.join(aa['decided_words'])}. Methods that read one training run (a post-hoc view and "
             f"its run, a stage 2 and its backbone) split alike, so these comparisons are not independent."
             if aa["decided_words"] else ""))
none = [lbl for lbl, r in aa_rows.items() if r["A/A: methods with 4+ seeds"] == 0]
if none:
    print(f"No method has 4 seeds recorded at {', '.join(none)}. The seed groups plan seeds 0 to 4 of the "
          "leaderboard's methods at long · imb 100 only (make plan PRESET=long, tier 5): the A/A rate is measured "
          "there, as they are recorded, and at no other setting"
          + (f"; {len(measured)} setting{'s' if len(measured) > 1 else ''} measured so far ("
             + ", ".join(f"{lbl}: {k} methods, at most {most_seeds[lbl]} seeds each so far"
                         for lbl, (k, _) in measured.items()) + ")." if measured else "."))
calibrated = all(aa["ci"][0] <= V.ALPHA for aa in synthetic.values())
print(f"On the synthetic runs Welch's test decides {100 * synthetic[4]['rate']:.1f}% of the A/A comparisons at 4 seeds "
      f"(2 against 2), {100 * synthetic[5]['rate']:.1f}% at 5 (2 against 3) and {100 * synthetic[6]['rate']:.1f}% at 6 "
      "(3 against 3): "
      + ("under the 5% level, as a conservative test should be (with so few seeds Welch's degrees of freedom are few "
         "and its intervals wide: it loses power rather than giving false positives)." if calibrated
         else "above the 5% level: the machinery is not calibrated."))

# %% [markdown]
# ### What a verdict can see: the power behind "the smallest detectable gap"
#
# Every "inside the noise" prints the smallest gap its runs would detect 80% of the time. That number
# comes from the noncentral t distribution with the runs' own standard error plugged in; the figure
# checks it against the machinery itself, on synthetic runs whose true gap is known: for each gap (in
# units of the seed-to-seed standard deviation), 250 simulated comparisons go through the same rule as
# the verdicts, and the share that says "holds" is plotted. At a gap of zero that share is the false
# "holds" rate (at most 2.5% nominally, one side of the 5% level, and below it where Welch's test on so
# few seeds is conservative; the table below prints it as measured, with a Monte Carlo standard error
# of about 1 point at 250 comparisons); the dashed lines are the median of the
# smallest detectable gaps the same comparisons print.

# %% mystnb={"figure": {"caption": "How often the verdict rule says 'holds' against the true gap, on synthetic runs with a seed-to-seed standard deviation of 1 (on each side for Welch; of each pair's difference for the paired design): three designs (lines), the 80% level (dotted) and the median of the smallest detectable gaps each design's comparisons print (dashed, same colour)."}, "image": {"alt": "How often the verdict rule says 'holds' against the true gap, on synthetic runs with a seed-to-seed standard deviation of 1 (on each side for Welch; of each pair's difference for the paired design): three designs (lines), the 80% level (dotted) and the median of the smallest detectable gaps each design's comparisons print (dashed, same colour)."}} tags=["hide-input"]
gaps = np.linspace(0.0, 5.0, 11)
designs = {"3 seeds against 3 (Welch)": (3, False), "5 seeds against 5 (Welch)": (5, False),
           "3 seeds, paired (one backbone a seed)": (3, True)}
rng = np.random.default_rng(1)
power_rows = {}
fig, ax = plt.subplots(figsize=(7, 3.6))
for (label, (n, paired)), colour in zip(designs.items(), ("#4477aa", "#228833", "#cc6677")):
    held, printed = [], []
    for g in gaps:
        hits = 0
        for _ in range(250):
            if paired:  # each seed's backbone (sd 3) moves both sides alike; a pair's difference has sd 1
                b = 3 * rng.standard_normal(n)
                a = b + g + rng.standard_normal(n)
            else:
                a, b = rng.standard_normal(n) + g, rng.standard_normal(n)
            v = V.compare(a, b, paired=paired)
            hits += v.verdict == V.HOLDS
            if g == 0:
                printed.append(v.detectable)
        held.append(hits / 250)
    med, lo10, hi90 = np.percentile(printed, [50, 10, 90])
    power_rows[label] = {"false 'holds' at gap 0": f"{100 * held[0]:.1f}%",
                         "smallest detectable gap printed: median (10th to 90th percentile)":
                             f"{med:.2f} sd ({lo10:.2f} to {hi90:.2f})",
                         "share of 'holds' at the median printed gap": f"{100 * np.interp(med, gaps, held):.0f}%",
                         "at": np.interp(med, gaps, held)}
    ax.plot(gaps, held, "o-", ms=3, color=colour, label=label)
    ax.axvline(med, color=colour, ls="--", lw=0.8)
ax.axhline(V.POWER, color="0.4", ls=":", lw=0.8)
ax.set_xlabel("true gap, in seed-to-seed standard deviations")
ax.set_ylabel("share of verdicts 'holds'")
ax.set_ylim(0, 1.02)
ax.legend(fontsize=7, loc="lower right")
ax.set_title("the verdict rule on synthetic runs: power against the true gap", loc="left", fontsize=9)
plt.show()

# %% tags=["hide-input"]
shares = [r.pop("at") for r in power_rows.values()]
report.show(pd.DataFrame(power_rows).T, "synthetic runs (seed-to-seed sd 1, 250 comparisons a point)",
            "The verdict rule's false 'holds' rate and its power at the smallest detectable gap it prints")
print(f"The printed smallest detectable gap is a plug-in estimate from the compared runs' own seeds, and it varies "
      f"with them: at its median the rule says 'holds' {100 * min(shares):.0f} to {100 * max(shares):.0f}% of the time "
      + ("rather than 80%: it is optimistic, the gap such runs see more often than not, short of a guarantee; a "
         "verdict's runs could reliably see only a somewhat larger gap." if max(shares) < V.POWER
         else "about as often as the 80% it is stated at."))

# %% [markdown]
# ## The gaps, paper by paper
#
# Each "A beats B" claim (accuracy, the accuracy of a split, or macro F1; a "gain" claim compares A's
# gain over its own base with B's over its own) at the book's two main settings:
# the gap measured here (A − B, in points) with its 95% interval, coloured by its verdict; a hollow
# marker has too few runs for an interval; a black cross marks the gap the paper prints for the same
# comparison on CIFAR-10-LT, a hollow diamond one it prints on CIFAR-100-LT only (an ablation), where the
# paper's table has both rows. A pruning claim read at every fraction shows its least favourable one.
# Claims made beyond the paper's factors are left out here.

# %% tags=["hide-input"]
GAP_KINDS = ("beats", "beats_few", "gain")
forest_settings = [s for s in settings if s.imb == 100.0 and s.preset in ("long", "cpu")]


def forest(paper: str) -> None:
    """The paper's "A beats B" claims at the main settings: gap, 95% interval, verdict colour, the paper's gap."""
    cs = [c for c in C.CLAIMS if c.paper == paper and c.kind in GAP_KINDS  # drawn at one main setting at least
          and any(claimed_at[(c.id, s)] and results[(c.id, s)].value == results[(c.id, s)].value
                  for s in forest_settings)]
    if not cs or not forest_settings:
        print(f"No 'beats' claim of {paper} is read at a recorded main setting.")
        return
    fig, axes = plt.subplots(1, len(forest_settings), figsize=(4.2 * len(forest_settings) + 2.6, 0.32 * len(cs) + 1.6),
                             sharey=True, squeeze=False)
    for ax, s in zip(axes[0], forest_settings):
        for y, c in enumerate(cs):
            v = results[(c.id, s)]
            if not claimed_at[(c.id, s)] or v.value != v.value:
                continue
            colour = report.VERDICT_STYLE.get(v.verdict, "#333333")
            if v.lo == v.lo:
                ax.plot([v.lo, v.hi], [y, y], color=colour, lw=2)
                ax.plot(v.value, y, "o", color=colour, ms=5)
            else:
                ax.plot(v.value, y, "o", mfc="white", mec=colour, ms=5)
            if v.paper == v.paper:  # the paper's gap: a cross on CIFAR-10-LT, a hollow diamond on CIFAR-100-LT
                on100 = C.paper_gap(c, s.imb)[1].startswith("CIFAR-100")
                ax.plot(v.paper, y, "D" if on100 else "x", color="black", mfc="none", ms=5 if on100 else 6)
        ax.axvline(0, color="0.5", lw=0.8)
        ax.set_xlabel("gap A − B (points)")
        ax.set_title(s.label, loc="left", fontsize=9)
    def label(c) -> str:  # what the row's gap is: A − B, a gain against a gain, the least favourable fraction
        a, b = C.run_words(c.a, c.ka), C.run_words(c.b or c.a, c.kb)
        if c.rivals:  # a "best of" claim: the row is its deciding comparison
            b = f"the hardest of {len(c.rivals) + 1}"
        text = (f"{c.id}: ({a} − {c.a0}) vs ({b} − {c.b0})" if c.kind == "gain" else f"{c.id}: {a} vs {b}")
        if dict(c.ka).get("fraction") == "each":
            text = text.replace(", at each fraction", "") + " (least favourable fraction)"
        return text + (f" ({E.METRIC_WORDS.get(c.metric, c.metric)})" if c.metric != "accuracy" else "")

    axes[0][0].set_yticks(range(len(cs)), [label(c) for c in cs], fontsize=7)
    axes[0][0].invert_yaxis()
    handles = [plt.Line2D([], [], color=report.VERDICT_STYLE[k], marker="o", lw=2, label=k)
               for k in (V.HOLDS, V.FAILS, V.NOISE, V.SMALLER)] + [
        plt.Line2D([], [], color=report.VERDICT_STYLE[V.TOO_FEW], marker="o", mfc="white", lw=0, label=V.TOO_FEW),
        plt.Line2D([], [], color="black", marker="x", lw=0, label="paper's gap (CIFAR-10-LT)")] + [
        plt.Line2D([], [], color="black", marker="D", mfc="none", lw=0, label="paper's gap (CIFAR-100-LT)")
        for _ in [0] if any(C.paper_gap(c)[1].startswith("CIFAR-100") for c in cs)]
    fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=7, frameon=False, bbox_to_anchor=(0.5, -0.02))
    fig.suptitle(f"{paper}: measured gaps against the paper's", x=0.01, ha="left", fontsize=10)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    plots.stamp(fig, f"{dataset}-LT · " + " | ".join(s.label for s in forest_settings))
    plt.show()


# %% mystnb={"figure": {"caption": "Angular (ATL, L2A, ABS): each 'A beats B' claim's measured gap (A \u2212 B, points) with its 95% interval, coloured by verdict (hollow: too few runs for an interval), and the paper's gap where it prints one (black cross: CIFAR-10-LT; hollow diamond: CIFAR-100-LT, for an ablation it prints there only), one panel per setting."}, "image": {"alt": "Angular (ATL, L2A, ABS): each 'A beats B' claim's measured gap (A \u2212 B, points) with its 95% interval, coloured by verdict (hollow: too few runs for an interval), and the paper's gap where it prints one (black cross: CIFAR-10-LT; hollow diamond: CIFAR-100-LT, for an ablation it prints there only), one panel per setting."}} tags=["hide-input"]
forest("angular")

# %% mystnb={"figure": {"caption": "MARR: each 'A beats B' claim's measured gap (A \u2212 B, points) with its 95% interval, coloured by verdict (hollow: too few runs for an interval), and the paper's CIFAR-10-LT gap where it prints one (black cross), one panel per setting."}, "image": {"alt": "MARR: each 'A beats B' claim's measured gap (A \u2212 B, points) with its 95% interval, coloured by verdict (hollow: too few runs for an interval), and the paper's CIFAR-10-LT gap where it prints one (black cross), one panel per setting."}} tags=["hide-input"]
forest("marr")

# %% mystnb={"figure": {"caption": "LGLA: each 'A beats B' claim's measured gap (A \u2212 B, points) with its 95% interval, coloured by verdict (hollow: too few runs for an interval), and the paper's gap where it prints one (black cross: CIFAR-10-LT; hollow diamond: CIFAR-100-LT, for an ablation it prints there only), one panel per setting."}, "image": {"alt": "LGLA: each 'A beats B' claim's measured gap (A \u2212 B, points) with its 95% interval, coloured by verdict (hollow: too few runs for an interval), and the paper's gap where it prints one (black cross: CIFAR-10-LT; hollow diamond: CIFAR-100-LT, for an ablation it prints there only), one panel per setting."}} tags=["hide-input"]
forest("lgla")

# %% mystnb={"figure": {"caption": "GCL: each 'A beats B' claim's measured gap (A \u2212 B, points) with its 95% interval, coloured by verdict (hollow: too few runs for an interval), and the paper's CIFAR-10-LT gap where it prints one (black cross), one panel per setting."}, "image": {"alt": "GCL: each 'A beats B' claim's measured gap (A \u2212 B, points) with its 95% interval, coloured by verdict (hollow: too few runs for an interval), and the paper's CIFAR-10-LT gap where it prints one (black cross), one panel per setting."}} tags=["hide-input"]
forest("gcl")

# %% mystnb={"figure": {"caption": "Whitening (CW, BET): each 'A beats B' claim's measured gap (A \u2212 B, points) with its 95% interval, coloured by verdict (hollow: too few runs for an interval), and the paper's CIFAR-10-LT gap where it prints one (black cross), one panel per setting."}, "image": {"alt": "Whitening (CW, BET): each 'A beats B' claim's measured gap (A \u2212 B, points) with its 95% interval, coloured by verdict (hollow: too few runs for an interval), and the paper's CIFAR-10-LT gap where it prints one (black cross), one panel per setting."}} tags=["hide-input"]
forest("whitening")

# %% [markdown]
# ## Every claim
#
# One table per paper; each cell gives the verdict and the number behind it at one setting. A
# claim read at a factor its paper does not name is marked *beyond the paper*.

# %% tags=["hide-input"]
def cell(v: V.Verdict, claimed: bool) -> str:
    beyond = "" if claimed else '<br><i>beyond the paper</i>'
    number = f'<br><small>{html.escape(v.number)}</small>' if v.number else ""
    return f"{report.verdict_badge(v.verdict)}{beyond}{number}"


for paper, title in PAPERS.items():
    cs = [c for c in C.CLAIMS if c.paper == paper]
    head = "".join(f"<th>{html.escape(s.label)}</th>" for s in settings)
    body = "".join(
        f"<tr><td><code>{c.id}</code></td><td>{html.escape(c.where)}</td><td style='white-space:normal'>"
        f"{html.escape(c.text)}</td><td>{html.escape(c.chapter + (': ' + c.figure if c.figure else ''))}</td>"
        + "".join(f"<td style='white-space:normal;min-width:14em' data-setting='{s.label}'>"
                  f"{cell(results[(c.id, s)], claimed_at[(c.id, s)])}</td>" for s in settings) + "</tr>" for c in cs)
    display(HTML(f"<h3>{html.escape(paper)}</h3><p>{html.escape(title)}</p><div class='ltnb-claims'><table>"
                 f"<thead><tr><th>claim</th><th>paper</th><th>in short</th><th>tested in</th>{head}</tr></thead>"
                 f"<tbody>{body}</tbody></table></div>"))

# %% [markdown]
# ## Verdicts that change with the setting
#
# A claim whose decided verdict (holds, does not hold, inside the noise, smaller than claimed)
# differs between two recorded settings. This lists the differences; it does not test them.
# The settings need not have the same runs behind them (each line gives the seeds a side at
# each), each setting's false discovery rate is controlled over its own tests, and no test
# here asks whether an effect changes with the factor or the preset. A verdict that moves
# from "holds" to "inside the noise" may be the same effect seen with fewer seeds.

# %% tags=["hide-input"]
changed = []
for c in C.CLAIMS:
    seen = {s.label: results[(c.id, s)] for s in settings
            if results[(c.id, s)].verdict in (V.HOLDS, V.FAILS, V.NOISE, V.SMALLER)}
    if len({v.verdict for v in seen.values()}) > 1:
        changed.append(f"* `{c.id}` ({c.text}): " + "; ".join(
            f"{k}: {v.verdict}" + (f" ({V.seeds_words(*(tuple(v.seeds) * 2)[:2])})" if v.seeds else "")
            for k, v in seen.items()))
display(Markdown("\n".join(changed) if changed else "No decided verdict differs between the recorded settings."))
