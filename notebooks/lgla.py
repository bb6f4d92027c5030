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
# # LGLA, measured: experts, groups and adjustments
#
# Tao et al. {cite}`tao2023lgla` train $K$ experts on a shared ResNet-32 stem, **all on all
# the data**, and make them differ only through the logit adjustment each applies in its
# loss. Classes are sorted by training count and cut into $K-1$ groups $C_1, \dots, C_{K-1}$
# of about equal image totals. Expert $k$ trains on $p(x_i, k) = \operatorname{softmax}(v_{i,k} + T(k, \cdot))_{y_i}$
# (Eq. 3) with the class-aware table (CLA, Eq. 4)
#
# $$T(k, j) = \begin{cases} \log n_j, & j \in C_k,\ k \neq K \quad\text{(LLA)}\\
# \log n_{\max}, & j \notin C_k,\ k \neq K\\ \tau \log n_j, & k = K \quad\text{(GLA)}. \end{cases}$$
#
# Subtracting $T(k, y_i)$ turns it into a margin between the target $y_i$ and every other class
# $j$ (Eqs. 5–6), $M(y_i, j, k) = T(k, j) - T(k, y_i)$: inside its group an LLA expert is
# Balanced Softmax {cite}`ren2020balms`; a target in its group gets the large margin
# $\log(n_{\max}/n_{y_i})$ against every class outside; outside its group the expert is a
# plain softmax. The GLA expert over-compensates the prior ($\tau > 1$), which the paper says
# makes it learn an inverted long tail (Figure 3 and its verdicts test that here, on its weight
# norms and its accuracy).
#
# **AAW** (Eqs. 7–8) re-weights hard samples per expert: with $\theta^{y_i}_k$ the angle
# between expert $k$'s feature and its class weight $W^{y_i}_k$, and $\theta^{ref}$ the mean
# angle of the batch samples of the same class group,
# $g = 1 + \theta^{y_i}_k - \theta^{ref}$ above the reference and $1$ below, with no
# gradient through $g$. The loss (Eq. 9) is
# $L = -\frac1N \sum_k \sum_i g_{ik}\log p(x_i, k)$; the prediction is the mean of the
# experts' logits, without the offsets.

# %% tags=["parameters"]
dataset = "auto"  # cifar10, cifar100, fmnist or auto: CIFAR-10 if present, else fmnist
imb = 100  # imbalance factor n_max / n_min, at least 1
preset = "auto"  # smoke, cpu, cpu20, long, cpu80, paper or auto: paper on CUDA; else long where all its runs are recorded, else cpu
seed = 0  # one seed, or a list of seeds such as [0, 1, 2]
device = "auto"  # cpu, cuda or auto
experts = 3  # K, the number of experts: K - 1 local ones and one global
tau = None  # tau of the global expert; None: the official configs, 3.0 on 10 classes and 2.5 on 100
expert_type = "gc"  # gc: one K-group convolution, ic: K independent convolutions
randaugment = True  # RandAugment on the training batches of the multi-expert runs
fusion = None  # ensemble weights, one per expert such as [1, 1, 2]; None: the mean of the experts
sweep = "auto"  # auto: full sweeps under the paper preset, reduced ones otherwise; or full, reduced

# %% tags=["hide-input"]
from ltnb.chapters import door, lgla as chapter

ctx, P, plan = door.open(chapter, globals())  # every knob above checked (and any the chapter does not take refused),
# the preset and device resolved, the runs planned and announced

import types

import numpy as np
import matplotlib.pyplot as plt
import pandas as pd
import torch
from IPython.display import Markdown, display

from ltnb import chapters, plots, reference, report, store
from ltnb import stats as V
from ltnb.claims import evidence as EV
from ltnb.kernels import evaluate, experts as E, lgla
from ltnb.runs import derived
from ltnb.chapters import factors
from ltnb.chapters.lgla import ABLATION, T4
from ltnb.data import dataset_info, many_medium_few

K, TAU, FULL, OTHER, MAIN, fusion = P.experts, P.TAU, P.FULL, P.OTHER, P.MAIN, P.fusion
counts = ctx.counts
C = len(counts)
S = lgla.SCALE
lit = ctx.dataset if ctx.dataset.startswith("cifar") else "cifar10"
print(f"  LGLA: K = {K} experts ({ {'gc': 'GC, one grouped convolution', 'ic': 'IC, independent convolutions'}[expert_type]}), τ = {TAU:g}, RandAugment {'on' if randaugment else 'off'}, "
      f"{'full' if FULL else 'reduced'} sweeps")


def test_expert_logits(run):
    """Per-expert test logits ``(N, K, C)`` and labels (:mod:`ltnb.runs.derived`: from the stored features, or the recording)."""
    return (torch.from_numpy(derived.read(run, "experts")["test_expert_logits"]),
            torch.from_numpy(derived.test_labels(run)).long())


def posthoc(run, weights=None, expert=None):
    """Metrics of a stored multi-expert run with other fusion weights, or of one expert alone."""
    v, y = test_expert_logits(run)
    logits = v[:, expert] if expert is not None else E.fuse(v, weights)
    return types.SimpleNamespace(metrics=evaluate.metrics(logits, y, counts)[0])


def acc(rs, split="accuracy"):
    return 100 * float(np.mean([r.metrics.get(split, float("nan")) for r in rs]))


def cell(rs):
    """Overall accuracy (%) of the seeds' runs: the mean, and ± the std over seeds when there are several."""
    return report.mean_sd([r.metrics["accuracy"] for r in rs])


SPLITS = [s for s in ("many", "medium", "few") if len(many_medium_few(counts)[s])]

# %% [markdown]
# ## The class groups and the CLA table
#
# The groups cut the classes sorted by count where the running image total is nearest to
# $g\,N/(K-1)$. Left: the training counts, coloured by group. Right: $T(k, j)$ of Eq. 4 for
# every expert (rows) and class (columns), the offset each expert adds to its logits in
# training.

# %% mystnb={"figure": {"caption": "Left: the training counts coloured by class group. Right: the CLA table T(k, j), the offset expert k adds to logit j in training."}, "image": {"alt": "Left: the training counts coloured by class group. Right: the CLA table T(k, j), the offset expert k adds to logit j in training."}} tags=["hide-input"]
groups = lgla.class_groups(counts, K - 1)
T = lgla.cla_table(counts, groups, TAU).numpy()
GROUP_COLORS = plt.cm.tab10(np.arange(10))
fig, axes = plt.subplots(1, 2, figsize=(8.5, 3), gridspec_kw={"width_ratios": [1, 1.3]})
axes[0].bar(np.arange(C), counts, color=GROUP_COLORS[groups % 10])
for g in range(K - 1):
    axes[0].bar([], [], color=GROUP_COLORS[g % 10], label=f"$C_{g + 1}$: {counts[groups == g].sum():,} images")
axes[0].set(yscale="log", xlabel="class index (head → tail)", ylabel="training images", title="class groups")
axes[0].legend(fontsize=7)
im = axes[1].imshow(T, aspect="auto", cmap="viridis")
axes[1].set(xlabel="class j", ylabel="expert k", yticks=range(K),
            yticklabels=[f"{k + 1} (LLA, $C_{k + 1}$)" for k in range(K - 1)] + [f"{K} (GLA, τ = {TAU:g})"],
            title="CLA table T(k, j)")
axes[1].grid(False)
fig.colorbar(im, ax=axes[1], label="offset added to logit j")
fig.tight_layout()
plots.stamp(fig, ctx.stamp)
plt.show()

# %% [markdown]
# ## The runs
#
# Every multi-expert run below is one network: the shared stem and first stage of the
# book's ResNet-32, then per expert stages 2 and 3 and a cosine classifier with $s = 30$
# (the official code's; RIDE {cite}`wang2021ride` and NCL {cite}`li2022ncl` share the
# stem the same way), trained end to end on the book's schedule. The training batches get
# RandAugment {cite}`cubuk2020randaugment` after the pad-crop-flip, as the paper states
# (following PaCo {cite}`cui2021paco` and NCL); the official CIFAR code uses AutoAugment's
# CIFAR-10 policy {cite}`cubuk2019autoaugment` and Cutout {cite}`devries2017cutout` instead. **Softmax** and
# **BALMS** are the same network trained with plain cross-entropy or Balanced Softmax on
# every expert (Table 5's rows); CE, LDAM-DRW and Balanced Softmax with one ResNet-32 are the
# baselines chapter's very runs (same configs, reused). With the reduced sweep (parameter `sweep`; every
# preset but `paper`), only the runs named in the last section are trained; the tables show the other rows
# when they are stored.

# %% tags=["hide-input"]
fetched = plan.fetch("main")
main, balms = fetched[MAIN], fetched["BALMS"]
single = {name: rs for name, rs in fetched.items() if name.endswith("(one ResNet-32)")}
table5_runs = plan.fetch("Table 5")
other_type = plan.fetch("other expert type").get(OTHER)

# %% [markdown]
# ## Table 1: LGLA beside the baselines and the paper
#
# Last-epoch test accuracy (%). The paper's column is its Table 1 for the same row on
# CIFAR-LT at this factor ("Ours" is LGLA with independent convolutions, "Ours (GC)" with
# group convolution); the next column is what other papers of this book report for the
# single-network baselines.

# %% tags=["hide-input"]
t1_paper = reference.reported(paper="lgla", table="Table 1", dataset=lit, imb=int(ctx.imb)) \
    if ctx.imb in (50, 100) else reference.reported(paper="lgla", table="Table 1").iloc[:0]
printed = dict(zip(t1_paper["method"], t1_paper["value"]))
table1 = dict(single)
table1[f"BALMS ({K} experts, {expert_type.upper()})"] = balms


def same_preset(group):  # a row of another group joins Table 1 only at Table 1's preset (one preset per table)
    return plan.context(ctx, group).preset == ctx.preset


if "Softmax" in table5_runs and same_preset("Table 5"):
    table1[f"Softmax ({K} experts, {expert_type.upper()})"] = table5_runs["Softmax"]
lgla_rows = {expert_type: main}
if other_type is not None and same_preset("other expert type"):
    lgla_rows[OTHER] = other_type
for kind in ("ic", "gc"):
    if kind in lgla_rows:
        table1[f"LGLA ({kind.upper()})"] = lgla_rows[kind]
if fusion is not None:
    table1[f"{MAIN}, fusion {list(fusion)}"] = [posthoc(r, fusion) for r in main]
PAPER_ROW = {"LDAM-DRW (one ResNet-32)": "LDAM+DRW", "LGLA (IC)": "Ours", "LGLA (GC)": "Ours (GC)"}
KEYS1 = {"CE (one ResNet-32)": "ce", "LDAM-DRW (one ResNet-32)": "ldam_drw",
         "Balanced Softmax (one ResNet-32)": "balanced_softmax"}
paper_col = f"paper, {lit}-LT imb {ctx.imb:g}"
extra1 = {name: {paper_col: f"{printed[PAPER_ROW[name]]:g}" if PAPER_ROW.get(name) in printed else "–",
                 "other papers": report.literature_cell(KEYS1.get(name), lit, ctx.imb, exclude=("lgla",))} for name in table1}
t1 = report.accuracy_table(table1, extra=extra1)
report.show(t1, ctx.stamp, "Table 1 (measured), last-epoch test accuracy (%)")
left_out = {name: runs for name, runs, group in (
    (f"Softmax ({K} experts, {expert_type.upper()})", table5_runs.get("Softmax"), "Table 5"),
    (f"LGLA ({OTHER.upper()})", other_type, "other expert type")) if runs is not None and not same_preset(group)}
EV.show(ctx, "lgla", "Table 1")
quoted = t1_paper[~t1_paper["method"].isin(PAPER_ROW.values())]
if len(quoted):
    report.show(pd.DataFrame({"method": quoted["method"], paper_col: [f"{v:g}" for v in quoted["value"]]})
                .set_index("method"), ctx.stamp, "Table 1, the paper's other rows (quoted, not re-run)")

# %% [markdown]
# ## Figure 3: what each expert learned
#
# Left: the L2 norm of every class's weight vector in each expert's classifier and the mean
# over experts (the paper's Figure 3). The classifiers are cosine classifiers, so these
# norms do not enter the logits; they record how much each class's weights were pushed.
# Right: each expert alone on the test set, per class: the LLA experts should be best on
# their own group, the GLA expert on the tail (first seed).

# %% mystnb={"figure": {"caption": "Left: per-class weight norms in each expert's classifier and their mean, beside the balanced reference's (dashed, scaled to the experts' mean: what the verdicts below read each expert against). Right: each expert alone on the test set against the ensemble, per class."}, "image": {"alt": "Left: per-class weight norms in each expert's classifier and their mean, beside the balanced reference's (dashed, scaled to the experts' mean: what the verdicts below read each expert against). Right: each expert alone on the test set against the ensemble, per class."}} tags=["hide-input"]
W = main[0].arrays["weight"]  # K, C, d
norms = np.linalg.norm(W, axis=2)
names = [f"expert {k + 1} (LLA, $C_{k + 1}$)" for k in range(K - 1)] + [f"expert {K} (GLA)"]
fig, axes = plt.subplots(1, 2, figsize=(10.5, 3.4))
for ax in axes:
    plots.shade_splits(ax, counts)
for k in range(K):
    axes[0].plot(norms[k], marker="o", ms=3, label=names[k])
    axes[1].plot(100 * np.asarray(posthoc(main[0], expert=k).metrics["per_class"]), marker="o", ms=3, label=names[k])
axes[0].plot(norms.mean(0), color="k", lw=2, label="mean of the experts")
# what lgla-1 to -3 read each expert against: the balanced reference's norms (CE on a balanced subset), drawn at the
# experts' mean level so that its shape is read beside theirs
ref_w = np.linalg.norm(plan.fetch("balanced reference")["CE, balanced"][0].arrays["weight"], axis=1)
axes[0].plot(ref_w / ref_w.mean() * norms.mean(), color="k", ls="--", marker="s", ms=3, lw=1,
             label="balanced reference (scaled)")
axes[1].plot(100 * np.asarray(main[0].metrics["per_class"]), color="k", lw=2, label="ensemble")
axes[0].set(xlabel="class index (head → tail)", ylabel=r"$\|W_k^j\|$", title="per-class weight norms")
axes[1].set(xlabel="class index (head → tail)", ylabel="test accuracy (%)", title="each expert alone")
axes[0].legend(fontsize=6, loc="best")
axes[1].legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0))
fig.tight_layout()
plots.stamp(fig, f"{ctx.stamp} (first seed)")
plt.show()

# %% tags=["hide-input"]
EV.show(ctx, "lgla", "Figure 3")

# %% [markdown]
# ## Figure 5: LGLA against the strongest single-network baseline
#
# LGLA's accuracy minus that of the most accurate single-network baseline of Table 1 (one
# ResNet-32: CE, LDAM-DRW or Balanced Softmax; the multi-expert BALMS is Table 1's and Table 5's
# other comparison), overall and by split; the paper compares with NCL, which the book does not
# train. Right: the same difference per class. The sentence under the figure judges the difference by the
# two methods' own seeds.

# %% mystnb={"figure": {"caption": "LGLA's accuracy minus the most accurate single-network baseline's (named above the left panel), overall and by split (left) and per class (right)."}, "image": {"alt": "LGLA's accuracy minus the most accurate single-network baseline's (named above the left panel), overall and by split (left) and per class (right)."}} tags=["hide-input"]
baselines = {n: rs for n, rs in table1.items() if n.endswith("(one ResNet-32)")}
best = max(baselines, key=lambda n: acc(baselines[n]))
fig, axes = plt.subplots(1, 2, figsize=(9, 3), gridspec_kw={"width_ratios": [1, 1.6]})
labels = ["overall"] + SPLITS
gains = [acc(main, "accuracy") - acc(baselines[best], "accuracy")] + [acc(main, s) - acc(baselines[best], s) for s in SPLITS]
axes[0].bar(labels, gains, color=["#4477aa" if g >= 0 else "#cc6677" for g in gains])
for i, g in enumerate(gains):
    axes[0].text(i, g, f"{g:+.1f}", ha="center", va="bottom" if g >= 0 else "top", fontsize=7)
axes[0].axhline(0, color="k", lw=0.8)
axes[0].set(ylabel="accuracy gain (points)")
axes[0].set_title(f"{MAIN} − {best}", fontsize=8, loc="left")
plots.shade_splits(axes[1], counts)
diff = 100 * (np.mean([r.metrics["per_class"] for r in main], 0) - np.mean([r.metrics["per_class"] for r in baselines[best]], 0))
axes[1].bar(np.arange(C), diff, color=["#4477aa" if d >= 0 else "#cc6677" for d in diff])
axes[1].axhline(0, color="k", lw=0.8)
axes[1].set(xlabel="class index (head → tail)", ylabel="gain (points)", title="per class")
fig.tight_layout()
plots.stamp(fig, ctx.stamp)
plt.show()

# %% tags=["hide-input"]
v = V.compare([100 * r.metrics["accuracy"] for r in EV.every_seed(main)],
              [100 * r.metrics["accuracy"] for r in EV.every_seed(baselines[best])])
display(Markdown(f"Against {best}, overall: {v.number}; verdict **{v.verdict}** (every recorded seed of the two "
                 "methods, which the figure's means may not all show; Welch's 95% interval; a verdict needs 3 seeds "
                 "a side)."))

# %% [markdown]
# ## Figure 6: moving one expert's fusion weight
#
# Post hoc, on the stored per-expert test logits: one LLA expert's weight goes from 0.1 to 0.9
# while every other expert, the GLA one included, keeps weight 1; the ensemble is the
# weighted mean of the logits. The paper uses a four-expert model (its experts then cover
# many, medium and few classes); the full sweep uses the $K = 4$ run of Figure 7, the reduced
# one the main run. Solid: the splits; dashed: the expert's own group.

# %% mystnb={"figure": {"caption": "One expert's fusion weight moved from 0.1 to 0.9, the others at 1: accuracy overall, by split and on that expert's own group (dashed)."}, "image": {"alt": "One expert's fusion weight moved from 0.1 to 0.9, the others at 1: accuracy overall, by split and on that expert's own group (dashed)."}} tags=["hide-input"]
fig6_run = plan.fetch("Figure 6")[4][0] if "Figure 6" in plan.groups else main[0]
at6 = plan.context(ctx, "Figure 6") if "Figure 6" in plan.groups else ctx
K6 = fig6_run.config.knob("experts")
groups6 = lgla.class_groups(counts, K6 - 1)
ws = np.round(np.arange(0.1, 1.0, 0.1), 1)
fig, axes = plt.subplots(1, K6 - 1, figsize=(3.2 * (K6 - 1), 3), squeeze=False, sharey=True)
for k, ax in enumerate(axes[0]):
    curves = {s: [] for s in ["accuracy"] + SPLITS}
    own = []
    for w in ws:
        weights = np.ones(K6)
        weights[k] = w
        m = posthoc(fig6_run, weights).metrics
        for s in curves:
            curves[s].append(100 * m[s])
        own.append(100 * np.mean(np.asarray(m["per_class"])[groups6 == k]))
    for s, ys in curves.items():
        ax.plot(ws, ys, marker="o", ms=3, label="overall" if s == "accuracy" else s)
    ax.plot(ws, own, ls="--", color="k", label=f"group $C_{k + 1}$")
    ax.set(xlabel=f"fusion weight of expert {k + 1}", ylabel="test accuracy (%)", title=f"expert {k + 1} (LLA, $C_{k + 1}$)")
    ax.yaxis.set_tick_params(labelleft=True)  # each panel its own labels, on one shared scale
axes[0][0].legend(fontsize=7)
fig.tight_layout()
plots.stamp(fig, f"{at6.stamp} · K = {K6} (first seed)")
plt.show()

# %% tags=["hide-input"]
display(Markdown(chapters.second_schedule(plan, ctx)))
EV.show_moved(ctx, "lgla")  # the verdicts the sections above hold back: their runs are recorded at this preset only
if left_out:  # one preset per table: Table 1's rows recorded only at this section's preset, in a table of their own
    at = plan.context(ctx, "Table 5")
    report.show(report.accuracy_table(left_out), at.stamp, f"Table 1's rows recorded at {at.preset.name} only "
                f"(compare with the imb {ctx.imb:g} columns of the next table, also at {at.preset.name})")

# %% [markdown]
# ### Table 1 at the paper's imbalance factors
#
# The paper prints Table 1 at 100 and 50. The rows this chapter trains (LGLA, BALMS and the three single
# networks) at the factor other than `imb` are the runs its plan builds when it is called at that factor
# (same configs, same seeds); they are read from the recordings or the run store, never trained here. A
# factor shows once all its runs are there; a row only stored at this chapter's factor reads '–' elsewhere.

# %% tags=["hide-input"]
t1_all = reference.reported(paper="lgla", table="Table 1", dataset=lit)
AS_SHOWN = {"BALMS": f"BALMS ({K} experts, {expert_type.upper()})"}


def paper1(f):
    printed = dict(zip(*t1_all[t1_all["imb"] == f][["method", "value"]].values.T))
    return {row: f"{printed[PAPER_ROW[row]]:g}" for row in table1 if PAPER_ROW.get(row) in printed}


cols1 = {f: None if runs is None else {AS_SHOWN.get(row, row): rs for row, rs in runs.items()}
         for f, runs in factors.gather(plan, ctx.imb, table1).items()}
if same_preset(factors.GROUP):  # else the group's own rows at its preset stand for this factor's
    cols1[ctx.imb] = table1
report.show(factors.table(cols1, paper=paper1, paper_label=f"paper, {lit}-LT"), factors.stamp(ctx, cols1, plan),
            "Table 1 at the paper's imbalance factors: last-epoch test accuracy (%), overall and on the few classes (where the data set has any)")
factors.note(plan, ctx, cols1)

# %% [markdown]
# ### Table 5: the ablation of CLA and AAW
#
# All rows are the same multi-expert network with RandAugment; only the loss differs. The
# paper's column is CIFAR-100-LT at 100 (its only setting for this table).

# %% tags=["hide-input"]
t5_paper = dict(zip(*reference.reported(paper="lgla", table="Table 5")[["method", "value"]].values.T))
t5 = report.accuracy_table(table5_runs, extra={n: {"paper, CIFAR-100-LT imb 100": f"{t5_paper[n]:g}"}
                                               for n in table5_runs})
report.show(t5, plan.context(ctx, "Table 5").stamp, f"Table 5: ablation, {K} experts ({expert_type.upper()})")
missing5 = [n for n in ABLATION if n not in table5_runs]
if missing5:
    print(f"Not trained under sweep 'reduced' and not stored: {', '.join(missing5)} (sweep full trains them).")
EV.show(plan.context(ctx, "Table 5"), "lgla", "Table 5")

# %% [markdown]
# ### Table 4: with and without RandAugment
#
# The three multi-expert rows, each trained with and without RandAugment; NCL is quoted.
# A column is measured where its runs are stored or the sweep trains them (the chapter with
# `-p randaugment False` trains the main runs without it).

# %% tags=["hide-input"]
t4_paper = reference.reported(paper="lgla", table="Table 4")
runs4 = {**plan.fetch("Table 4"), **plan.fetch("Table 4, stored only")}
rows4 = []
for name, (loss, aaw) in T4.items():
    row = {"method": name if name != "Ours (GC)" else f"LGLA ({expert_type.upper()})"}
    for ra, col in ((False, "w/o RandAugment"), (True, "w/ RandAugment")):
        rs = runs4.get((name, ra))
        row[f"{col} (measured)"] = cell(rs) if rs else "–"
        paper = t4_paper[(t4_paper["method"] == name) & t4_paper["setting"].str.endswith(col)]["value"]
        row[f"{col} (paper, CIFAR-100-LT 100)"] = f"{paper.iloc[0]:g}"
    rows4.append(row)
ncl = t4_paper[t4_paper["method"] == "NCL"]["value"].tolist()
rows4.append({"method": "NCL (quoted)", "w/o RandAugment (measured)": "", "w/o RandAugment (paper, CIFAR-100-LT 100)": f"{ncl[0]:g}",
              "w/ RandAugment (measured)": "", "w/ RandAugment (paper, CIFAR-100-LT 100)": f"{ncl[1]:g}"})
report.show(pd.DataFrame(rows4).set_index("method"), plan.context(ctx, "Table 4").stamp, "Table 4: RandAugment on and off, overall accuracy (%)")
EV.show(plan.context(ctx, "Table 4"), "lgla", "Table 4")

# %% [markdown]
# ### Figure 7: the number of experts
#
# LGLA with $K$ experts ($K - 1$ groups), everything else fixed. The full sweep trains
# $K = 2, \dots, 7$; the reduced one trains $K = 2$ and the main $K$, and shows the other $K$ where
# they are recorded (`make record` records them).

# %% mystnb={"figure": {"caption": "LGLA's accuracy against the number of experts K, overall and by split."}, "image": {"alt": "LGLA's accuracy against the number of experts K, overall and by split."}} tags=["hide-input"]
by_k = dict(sorted({**plan.fetch("Figure 7"), **(plan.fetch("Figure 7, the rest") if "Figure 7, the rest" in plan.groups
                                                   else {})}.items()))
Ks = list(by_k)
fig, ax = plt.subplots(figsize=(5.5, 3))
for s in ["accuracy"] + SPLITS:
    ax.plot(Ks, [acc(by_k[k], s) for k in Ks], marker="o", ms=4, label="all" if s == "accuracy" else s)
ax.set(xlabel="number of experts K", ylabel="test accuracy (%)", xticks=Ks,
       title=f"Figure 7: LGLA ({expert_type.upper()}) against K")
ax.legend(fontsize=7)
fig.tight_layout()
plots.stamp(fig, plan.context(ctx, "Figure 7").stamp)
plt.show()

# %% tags=["hide-input"]
EV.show(plan.context(ctx, "Figure 7"), "lgla", "Figure 7")

# %% [markdown]
# ### Figure 8: independent against group-convolution experts
#
# The same loss with the experts' stages built as $K$ independent convolutions (IC) or as one
# $K$-group convolution (GC). Both have the same parameters; they differ only where the
# first block of a stage pads the channels of its shortcut (option A): under GC it pads the
# stacked channels of all experts, so part of one expert's features reach its neighbour
# through the identity path. The full sweep compares LGLA and BALMS at the main $K$; the
# reduced one LGLA at $K = 2$, and at the main $K$ where both expert types are recorded at the
# figure's preset. The axis starts at 0; the dots are the seeds, and the lines under the figure
# judge each gap by them.

# %% mystnb={"figure": {"caption": "Independent (IC) against group-convolution (GC) experts at the same K and the same parameter count."}, "image": {"alt": "Independent (IC) against group-convolution (GC) experts at the same K and the same parameter count."}} tags=["hide-input"]
K8 = P.K8
runs8 = plan.fetch("Figure 8")
at8 = plan.context(ctx, "Figure 8")
pairs8 = {f"{name}, K = {K8}": (runs8[(name, "ic")], runs8[(name, "gc")]) for name in dict.fromkeys(n for n, _ in runs8)}
if "other expert type" in plan.groups and P.experts != K8:  # the main K in both expert types, at this figure's preset
    from dataclasses import replace as _replace8

    other = plan.fetch("other expert type").get(P.OTHER, [])
    same = [store.load(_replace8(r.config, preset=at8.preset.name)) for r in main]
    if other and all(same) and {r.config.preset for r in other} == {at8.preset.name}:
        pairs8[f"LGLA, K = {P.experts}"] = (other, same) if P.OTHER == "ic" else (same, other)
fig, ax = plt.subplots(figsize=(5.5, 3))
width = 0.35
for i, (label, sides) in enumerate(pairs8.items()):
    for j, (kind, rs) in enumerate(zip(("IC", "GC"), sides)):
        vals = [100 * r.metrics["accuracy"] for r in rs]
        x = i + (j - 0.5) * width
        ax.bar(x, np.mean(vals), width, color=["#ddaa33", "#4477aa"][j], label=kind if i == 0 else None)
        ax.plot([x] * len(vals), vals, "k.", ms=4)  # each seed
        ax.text(x, np.mean(vals), f"{np.mean(vals):.1f}", ha="center", va="bottom", fontsize=7)
ax.set(xticks=range(len(pairs8)), xticklabels=list(pairs8), ylabel="test accuracy (%)", ylim=(0, 100),
       title="Figure 8: IC against GC (dots: seeds)")
ax.set_xlim(-0.8, len(pairs8) - 0.2)
ax.legend(loc="lower right")
fig.tight_layout()
plots.stamp(fig, at8.stamp)
plt.show()
for label, (ic, gc) in pairs8.items():
    v = V.compare([100 * r.metrics["accuracy"] for r in EV.every_seed(gc)],
                  [100 * r.metrics["accuracy"] for r in EV.every_seed(ic)])  # every recorded seed, as a verdict reads
    print(f"{label}, GC − IC: " + ("" if v.verdict == V.TOO_FEW else f"{v.verdict}, ") + f"{v.number} (every recorded seed)")
n_params = {kind: sum(p.numel() for p in E.multi_expert_resnet32(C, dataset_info(ctx.dataset).shape[0], ctx.preset.width, K8, kind).parameters())
            for kind in ("ic", "gc")}
print(f"parameters at K = {K8}, width {ctx.preset.width:g}: IC {n_params['ic']:,}, GC {n_params['gc']:,}")

# %% [markdown]
# ## What differs from the paper, and why

# %% [markdown]
# * Augmentation: the paper uses RandAugment, following PaCo and NCL; here it is torchvision's RandAugment
#   (2 ops at magnitude 9 of 31, each image drawing its own ops) after pad-crop-flip, on the device. The
#   official CIFAR loader instead applies AutoAugment's CIFAR-10 policy and Cutout (16 pixels). On one grey
#   channel RandAugment's Color op does nothing.
# * Class groups: cut where the running total from the head is nearest to g·N/(K−1). The official code
#   accumulates from the tail and closes a group at the first class that passes N/(K−1), which can move one
#   class to the tail-side group (CIFAR-100-LT at 100, K = 3: class 14) and, on ten classes with K ≥ 4,
#   leaves the first group empty. On fmnist-LT and CIFAR-10-LT at 100 with K = 3 both rules give the same
#   groups.
# * Architecture: the official CIFAR model is the group-convolution one (the shared stem and first stage of
#   ResNet-32, then stages 2 and 3 as K-group convolutions, cosine classifiers with s = 30); the IC model
#   has K separate copies of stages 2 and 3, as in RIDE. Softmax and BALMS rows use the same network.
# * AAW as in the official loss: the angle is that of the un-adjusted cosine logit of the target, the
#   reference is the mean angle of the batch samples of the same group under the same expert, for the GLA
#   expert too (the paper defines only K−1 references); the weights carry no gradient; the loss is summed
#   over experts and averaged over the batch (Eq. 9).
# * Prediction: the mean of the experts' logits without the offsets T, as in the official code; the `fusion`
#   parameter changes the weights post hoc.
# * Accuracy is that of the last epoch. The official configs keep the checkpoint with the best accuracy on
#   the test set ('monitor: max val_accuracy', the validation loader being the test set).
# * Figure 5 compares with the strongest baseline the book trains, not NCL (not re-implemented); Table 4's
#   NCL row and Table 1's other rows are quoted. Figure 6: the paper does not say what the other experts'
#   weights are while one moves; here they stay at 1.

# %% tags=["hide-input"]
PR = ctx.preset
notes = []
if ctx.dataset == "fmnist":
    notes.append("The data are **Fashion-MNIST-LT** (one grey channel, 28×28), not CIFAR: the paper's columns "
                 "are CIFAR numbers, for the ordering of methods only. With 10 classes at imb 100 no class has "
                 "fewer than 20 images, so the few-shot split is empty.")
notes.append(f"Schedule of the main tables: the book's preset **{PR.name}** (ResNet-32 at width {PR.width:g}, "
             f"{PR.epochs} epochs, batch {PR.batch_size}, lr {PR.lr:g}, momentum {PR.momentum:g}, weight decay "
             f"{PR.weight_decay:g}, step decays; a section at another preset names it in its stamp). "
             "The paper gives no CIFAR schedule; the official CIFAR configs train 400 epochs (5 warm-up, decays "
             "at 320 and 360) with Nesterov momentum, batch 128, lr 0.1, weight decay 2e-4.")
notes.append(f"τ of the global expert: {TAU:g}; the paper only asks for τ > 1, the official CIFAR configs "
             "use 2.5 on CIFAR-100-LT and 3.0 on CIFAR-10-LT. The official code also sets τ = 1 when K ≤ 2; "
             "here τ is the same for every K.")
if not FULL:  # what the page leaves out: the full sweep's rows that are neither recorded nor stored (from the plan)
    from ltnb import store as _store

    def _row(r):
        return " ".join(map(str, r)) if isinstance(r, tuple) else str(r)

    shown_opt, left = [], []
    for gname, grp in plan.groups.items():
        if grp.optional:
            for r, cfgs in grp.rows.items():
                (shown_opt if all(_store.exists(c) for c in cfgs) else left).append(f"{gname}: {_row(r)}")
    notes.append(f"Sweep **reduced** (preset {PR.name}): trains {K} experts with CLA + AAW and with BALMS and the "
                 "three one-network baselines (shared with the baselines chapter), and LGLA with K = 2 for Figures 7 "
                 f"and 8 (at preset {plan.context(ctx, 'Figure 7').preset.name}); the full sweep's "
                 f"other rows are shown where recorded ({len(shown_opt)} are)"
                 + (f", and left out here where not: {'; '.join(left)}" if left else ", and none is left out")
                 + ". A multi-expert network does about (1 + 2K)/3 ResNet-32s' arithmetic (its experts share the "
                 "first stage); the Performance page measures what it costs in time.")
notes.append(f"{report.n_of(len(ctx.seeds), 'seed')}: {', '.join(map(str, ctx.seeds))}; last-epoch accuracy, nothing chosen "
             "on the test set.")
display(Markdown("\n".join(f"* {n}" for n in notes)))

# %% [markdown]
# ## Things to try

# %% tags=["hide-input"]
from ltnb.claims import exercises

exercises.show("lgla", ctx=ctx)
