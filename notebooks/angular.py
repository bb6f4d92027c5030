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
# # Angular predictions, measured: L2A, AEM, ALAS, ABS and ATL on MiSLAS
#
# Wang and Yan {cite}`wang2022angular` keep the trained classifier $W$ and read the prediction
# from the *angle* between the feature $\phi(x)$ and each class weight $W_c$ (Eq. 1):
#
# $$P^A_c(x) = \pi - \arccos\frac{\phi(x)\cdot W_c}{\lVert\phi(x)\rVert\,\lVert W_c\rVert}\in[0, \pi],$$
#
# which the head-heavy norms $\lVert W_c\rVert$ cannot bias. Everything sits on MiSLAS
# {cite}`zhong2021mislas`: **stage 1** trains the network with mixup {cite}`zhang2018mixup`;
# **stage 2** freezes the backbone, lets its BatchNorm statistics follow class-balanced batches
# (*BN shift*) and fine-tunes the classifier with *label-aware smoothing* (Eq. 4)
#
# $$q_i = \begin{cases}1 - f(N_y), & i = y\\ f(N_y)/(M-1), & \text{otherwise}\end{cases}
# \qquad f(N_y) = \epsilon_{tail} + (\epsilon_{head}-\epsilon_{tail})\,
# \sin\Big(\frac{\pi}{2}\frac{N_y - N_{\min}}{N_{\max}-N_{\min}}\Big)$$
#
# and a learnable weight scaling (LWS) of the logits {cite}`kang2020decoupling`. The paper's pieces:
#
# * **L2A**: evaluate with Eq. 1 instead of the linear logits, after stage 1, and after stage 2
#   with LWS dropped. Nothing is retrained.
# * **AEM** (stage 1, Eq. 6): train on $p = \operatorname{softmax}(P^A)$ with
#   $L = -\sum_i q_i\log p_i - \sum_i p_i\log p_i$, cross-entropy plus the entropy of $p$.
#   Here $p = \operatorname{softmax}(s_{AEM} P^A)$ with $s_{AEM} = 16$ (parameter `aem_s`): at the
#   scale of Eq. 1 the logits span only $[0, \pi]$ and the network underfits (measured below).
# * **ALAS** (stage 2, Eq. 5): no LWS; the target becomes $q_y = 1 - R^b_y$ (0 elsewhere) with a
#   factor that follows the batch-mean angular probability of every class,
#   $R^b_y = \big(\tau f(\tfrac1B\sum_i \mathcal P^A_y(x_i)) + R^{b-1}_y\big)/2$, $R^0_y = f(N_y)$;
#   here $f$ min-max normalises across classes, linearly or as a sine (*concave*).
# * **ATL** (Algorithm 1): AEM in stage 1, then ALAS in stage 2.
# * **ABS** (Eqs. 7–9), post hoc on stage 1: from the mean angular probabilities of the training
#   images of each class, $B_{tr}[c] = \min_i \mathbb E[\mathcal P^c_{tr}\mid i]$ (the least
#   probability class $c$ receives from any class), $\gamma = 1 - s\,\mathcal F(B_{tr})$ with
#   $\mathcal F$ the sine or linear min-max normalisation, and test probabilities $\gamma\odot\mathcal P_{te}$.
# * **Pruning** (Sec. 4.3): drop the easiest training images by EL2N (Eq. 11)
#   $\lVert\operatorname{softmax}(Wz+b) - \mathrm{onehot}(y)\rVert_2$ or by angular visual hardness (Eq. 12)
#   $A_y/\sum_i A_i$, $A_i = \arccos\cos(\phi(x), W_i)$, averaged over several short runs.

# %% tags=["parameters"]
dataset = "auto"  # cifar10, cifar100, fmnist or auto: CIFAR-10 if present, else fmnist
imb = 100  # imbalance factor n_max / n_min, at least 1
preset = "auto"  # smoke, cpu, cpu20, long, cpu80, paper or auto: paper on CUDA; else long where all its runs are recorded, else cpu
seed = 0  # one seed, or a list of seeds such as [0, 1, 2]
device = "auto"  # cpu, cuda or auto
s = "auto"  # ABS strength s in 0..1 of Eq. 7; auto: 0.25 on 10 classes, 0.1 on CIFAR-100 as the paper
F_form = "auto"  # form of F in Eqs. 8-9: sine or linear; auto: sine on 10 classes, linear on CIFAR-100
aem_s = 16  # AEM trains on softmax of aem_s times the angular logits; 1 is Eq. 6 as written, which underfits
tau = 0.75  # ALAS tau of Eq. 5, the setting of the paper's Table 2 row
f_form = "concave"  # form of f in Eq. 5: concave or linear
shift_bn = "auto"  # MiSLAS BN shift in stage 2: True, False or auto, which is off on CIFAR-10 only as the official configs
s_sweep = [0, 0.04, 0.08, 0.12, 0.16, 0.2, 0.24, 0.28, 0.32]  # Table 5, post hoc and free
tau_sweep = [0.25, 0.5, 0.75, 1.0, 1.25]  # Table 6, each a stage-2 run of seconds
prune_fractions = "auto"  # Figure 6 fractions pruned; auto: paper 0.15 to 0.75, cpu 0.4 and 0.7, smoke 0.5
score_runs = "auto"  # short scoring runs of different seeds for EL2N and AVH; auto: 10 paper, 3 cpu, 2 smoke
score_epochs = "auto"  # epochs of each scoring run on the preset schedule; auto: 10 paper, 1 otherwise

# %% tags=["hide-input"]
from ltnb.chapters import door, angular as chapter

ctx, P, plan = door.open(chapter, globals())  # every knob above checked (and any the chapter does not take refused),
# the preset and device resolved, the runs planned and announced

import math
import re
from types import SimpleNamespace

import numpy as np
import matplotlib.pyplot as plt
import pandas as pd
import torch
from IPython.display import Markdown, display

from ltnb import chapters, data, plots, reference, report
from ltnb import stats as V
from ltnb.claims import evidence as E
from ltnb.kernels import angular, evaluate, losses
from ltnb.runs import derived
from ltnb.chapters import factors
from ltnb.chapters.angular import PRUNING as METHODS

PR = ctx.preset
counts = ctx.counts
K = len(counts)
lit = ctx.dataset if ctx.dataset.startswith("cifar") else "cifar10"
stage2 = losses.mislas_settings(ctx.dataset, ctx.imb)
if P.shift_bn != "auto":
    stage2["shift_bn"] = bool(P.shift_bn)
print(f"  ABS: s = {s:g}, {F_form} F · ALAS: τ = {tau:g}, {f_form} f · MiSLAS stage 2: smoothing ε head "
      f"{stage2['las_eps_head']:g} / tail {stage2['las_eps_tail']:g}, {stage2['las_form']} f, classifier lr × "
      f"{stage2['lr_factor']:g}, BN shift {'on' if stage2['shift_bn'] else 'off'}")
print(f"  pruning: fractions {prune_fractions}, scores from {report.n_of(score_runs, 'run')} of {report.n_of(score_epochs, 'epoch')}; Figure 6 "
      "draws the paper's five fractions instead where their 3 seeds are recorded, and says so")


def as_run(metrics):
    """Angular metrics computed here (an evaluation of a stored run) in the shape the tables read; marked as
    angular predictions, which are not probabilities: the tables show no ECE for them."""
    return SimpleNamespace(metrics={**metrics, "prediction": "angular"})


pct = report.mean_sd  # fractions over seeds -> "mean ± sd" in %


# %% [markdown]
# ## The runs
#
# MiSLAS's stage 1 is CE with mixup ($\alpha = 1$): the baselines chapter's run, reused. AEM is
# one new stage-1 run. Stage 2 (MiSLAS, and ALAS for every $\tau$ and $f$) runs on images
# through the frozen stored backbone; all heads on one backbone share one pass of features,
# so the $\tau$ sweep costs seconds.

# %% tags=["hide-input"]
stage1_runs, stage2_runs = plan.fetch("stage 1"), plan.fetch("stage 2")
ce, mislas1, aem = stage1_runs["CE"], stage1_runs["CE + mixup"], stage1_runs["ATL (AEM)"]
aem_literal = stage1_runs.get("AEM, s = 1", aem)
mislas2, alas, atl = stage2_runs["MiSLAS"], stage2_runs["ATL (ALAS)"], stage2_runs["ATL (all)"]
assert all(r.config.parent == m.config for r, m in zip(mislas2, mislas1))  # stage 2 on the stored backbone


def angular_of(run) -> dict:
    """The run's angular (Eq. 1) test logits and per-class means of its linear and angular logits and
    probabilities (:mod:`ltnb.runs.derived`: computed from its features, or read from its recording)."""
    out = {k: torch.from_numpy(v) for k, v in derived.read(run, "angular").items()}
    out["test_labels"] = torch.from_numpy(derived.test_labels(run)).long()
    return out


def l2a(run, counts=counts):
    """The run's test metrics read with angular logits (Eq. 1); ``counts``: its training set's class sizes."""
    a = angular_of(run)
    return as_run(evaluate.metrics(a["test_angular_logits"], a["test_labels"], counts)[0])


def abs_probabilities(run, strength, form):
    """Angular test probabilities before and after ABS (Eqs. 7-9), gamma from the training images."""
    a = angular_of(run)
    bias = angular.abs_bias(a["train_class_probs_angular"])
    before = a["test_angular_logits"].softmax(1)
    return before, angular.abs_calibrate(before, angular.abs_gamma(bias, strength, form)), a["test_labels"]


def abs_run(run, strength=s, form=F_form):
    _, after, y = abs_probabilities(run, strength, form)
    return as_run(evaluate.metrics(after.log(), y, counts)[0])  # softmax(log p) renormalises; argmax unchanged


# %% [markdown]
# ## Figures 1 and 11: classifier weight norms after stage 1 and after stage 2
#
# $\lVert W_c\rVert$ per class divided by each run's mean, for CE without and with mixup, AEM, and
# MiSLAS after stage 2 (first seed), beside the balanced reference's norms (dashed); the right panel
# is the log ratio to the reference, which removes what each class brings of its own. The paper
# normalises to $[0, 1]$, which keeps the shape but not the spread the verdicts compare.

# %% mystnb={"figure": {"caption": "Classifier weight norms per class divided by each run's mean, beside the balanced reference's (dashed, left), and their log ratio to the reference's (right); first seed, classes in size order."}, "image": {"alt": "Classifier weight norms per class divided by each run's mean, beside the balanced reference's (dashed, left), and their log ratio to the reference's (right); first seed, classes in size order."}} tags=["hide-input"]
def mean_norms(run):
    n = np.linalg.norm(run.arrays["weight"], axis=1)
    return n / n.mean()


reference_runs = plan.fetch("balanced reference")["CE, balanced"]
names = list(data.dataset_info(ctx.dataset).classes) if K <= 10 else None
fig, axes = plots.against_reference(
    {name: mean_norms(rs[0]) for name, rs in (("CE, no mixup", ce), ("CE + mixup = MiSLAS stage 1", mislas1),
                                              ("AEM + mixup", aem), ("MiSLAS stage 2", mislas2))},
    mean_norms(reference_runs[0]), counts, r"$\|W_c\|$ / mean", "Figures 1 and 11: per-class classifier weight norms",
    names=names, log=True)
plots.stamp(fig, f"{ctx.stamp} (first seed)")
plt.show()

# %% tags=["hide-input"]
E.show(ctx, "angular", "Figure 1")

# %% [markdown]
# ## Figures 3 and 7: mean prediction per class, linear against angular
#
# For each class $c$, the mean over its images of its own logit, $W_c\phi(x)+b_c$ or $P^A_c(x)$,
# min-max normalised per curve as in the paper; training images (Fig. 3) and the balanced test
# set (Fig. 7), MiSLAS stage 1, first seed. After min-max normalisation both curves span [0, 1],
# so how flat they are cannot be read off the picture: the verdicts below compare the spread of
# the un-normalised curves (standard deviation over mean, across classes).

# %% mystnb={"figure": {"caption": "Each class's mean own logit, linear against angular, on the training (left) and test (right) images, each curve min-max normalised as in the paper (so the shapes compare, not the spreads)."}, "image": {"alt": "Each class's mean own logit, linear against angular, on the training (left) and test (right) images, each curve min-max normalised as in the paper (so the shapes compare, not the spreads)."}} tags=["hide-input"]
fig, axes = plt.subplots(1, 2, figsize=(9, 3))
for ax, split, title in zip(axes, ("train", "test"), ("Figure 3: training set", "Figure 7: test set")):
    plots.shade_splits(ax, counts)
    for name in ("linear", "angular"):
        own = angular_of(mislas1[0])[f"{split}_class_logits_{name}"].diagonal().numpy()
        ax.plot(np.arange(K), (own - own.min()) / max(own.max() - own.min(), 1e-12), marker="o", ms=3, label=name)
    ax.set(xlabel="class index (head → tail)", ylabel="mean own-class logit, normalised")
    ax.set_title(title, loc="left", pad=14)
axes[0].legend(loc="lower left")
fig.tight_layout()
plots.stamp(fig, f"{ctx.stamp} (first seed)")
plt.show()

# %% tags=["hide-input"]
E.show(ctx, "angular", "Figures 3 and 7")

# %% [markdown]
# ## Figure 4: class-wise predicted probabilities, the implicit bias
#
# Each line is one true class $i$: the mean predicted probability $\mathbb E[\mathcal P^c\mid i]$
# over its training images, against the predicted class $c$ (ten classes drawn when there are
# more). Linear probabilities peak sharply at $c = i$; angular ones are much flatter, with a low peak
# there. The paper calls the
# floor under them, rising towards the head, the implicit bias; the dashed line is that lower
# envelope $B_{tr}[c] = \min_i\mathbb E[\mathcal P^c\mid i]$ that ABS reads (all classes), and the
# verdict below says whether it rises with class size here.

# %% mystnb={"figure": {"caption": "Mean predicted probabilities per true class on the training images, linear (left) and angular (right); the dashed line is the lower envelope ABS reads (first seed)."}, "image": {"alt": "Mean predicted probabilities per true class on the training images, linear (left) and angular (right); the dashed line is the lower envelope ABS reads (first seed)."}} tags=["hide-input"]
show_cls = np.unique(np.linspace(0, K - 1, min(K, 10)).round().astype(int))
fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
for ax, name, kind in ((axes[0], "(a) linear", "linear"), (axes[1], "(b) angular", "angular")):
    M = angular_of(mislas1[0])[f"train_class_probs_{kind}"].numpy()
    colors = plt.cm.viridis(np.linspace(0, 1, len(show_cls)))
    for c, col in zip(show_cls, colors):
        ax.plot(show_cls, M[c, show_cls], color=col, lw=1, marker="o", ms=2, label=f"class {c}")
    if name.startswith("(b)"):
        ax.plot(show_cls, angular.abs_bias(torch.from_numpy(M)).numpy()[show_cls], "k--", lw=1.5, label="min over i")
    ax.set(xlabel="predicted class c", ylabel="mean probability", title=name)
axes[1].legend(fontsize=6, ncol=2)
fig.suptitle("Figure 4: class-wise mean predicted probabilities, training set", x=0.01, ha="left", fontsize=9)
fig.tight_layout()
plots.stamp(fig, f"{ctx.stamp} (first seed)")
plt.show()

# %% tags=["hide-input"]
E.show(ctx, "angular", "Figure 4")

# %% [markdown]
# ## Table 1: MiSLAS and L2A after each stage
#
# Head / mid / tail by class index as the paper splits CIFAR ($[0,3), [3,7), [7,10)$ for ten
# classes, $[0,36), [36,71), [71,100)$ for a hundred). L2A is the very same trained model read
# with Eq. 1: after stage 1, and after stage 2 with the LWS scales dropped.
#
# The tables name the rows as the paper does; the verdicts under them name the same runs as
# the leaderboard does: MiSLAS_S1 is CE + mixup, MiSLAS_S2 is MiSLAS, L2A_S1 and L2A_S2 are
# L2A (stage 1) and L2A (stage 2), and in Table 2 ATL_AEM, ATL_ALAS and ATL_all are ATL (AEM),
# ATL (ALAS) and ATL (all).

# %% tags=["hide-input"]
SPLITS = ("head", "mid", "tail", "accuracy")
table1 = {"MiSLAS_S1": mislas1, "L2A_S1": [l2a(r) for r in mislas1],
          "MiSLAS_S2": mislas2, "L2A_S2": [as_run(r.metrics["angular"]) for r in mislas2]}
paper1 = reference.reported(paper="angular", table="Table 1", dataset=lit, imb=int(ctx.imb)) \
    if ctx.imb in (100, 50, 10) else reference.reported(paper="angular", table="Table 1").iloc[:0]
col1 = f"paper, {lit}-LT imb {ctx.imb:g}: head / mid / tail / overall"
extra1 = {}
for name in table1:
    vals = paper1[paper1["method"] == name].set_index("split")["value"]
    extra1[name] = {col1: " / ".join(f"{vals[sp]:.2f}" for sp in ("head", "mid", "tail", "overall")) if len(vals) else "–"}
report.show(report.accuracy_table(table1, splits=SPLITS, extra=extra1), ctx.stamp,
            "Table 1 (measured), last-epoch test accuracy (%)")
display(Markdown(report.ECE_NOTE + " The claim on calibration below reads the ECE of softmax(Pᴬ) itself, which "
                 "is what it is about."))
E.show(ctx, "angular", "Table 1")

# %% [markdown]
# ## Table 2: every angular variant beside the paper
#
# **ABS** re-weights L2A's stage-1 probabilities ($s$ and $\mathcal F$ as set above).
# **ATL_AEM** is the AEM stage-1 network read with Eq. 1, **ATL_ALAS** ALAS on MiSLAS's
# stage 1, **ATL_all** ALAS on the AEM network; ALAS rows predict with Eq. 1.

# %% tags=["hide-input"]
table2 = {"MiSLAS_S1": mislas1, "MiSLAS_S2": mislas2, "L2A_S1": table1["L2A_S1"], "L2A_S2": table1["L2A_S2"],
          "ABS": [abs_run(r) for r in mislas1], "ATL_AEM": aem, "ATL_ALAS": alas, "ATL_all": atl}
t2 = reference.reported(paper="angular", table="Table 2", imb=100)
col2 = {ds: f"paper, {ds}-LT imb 100" for ds in ("cifar10", "cifar100")}
extra2 = {name: {col2[ds]: "".join(f"{v:.2f}" for v in t2[(t2["method"] == name) & (t2["dataset"] == ds)]["value"]) or "–"
                 for ds in col2} for name in table2}
report.show(report.accuracy_table(table2, splits=SPLITS, extra=extra2), ctx.stamp,
            "Table 2 (measured), last-epoch test accuracy (%)")
quoted = t2[~t2["method"].isin(list(table2))].pivot_table(index="method", columns="dataset", values="value", sort=False)
report.show(quoted.rename(columns=col2).map(lambda v: f"{v:g}"), ctx.stamp, "Table 2, the paper's other rows (quoted, not re-run)")
E.show(ctx, "angular", "Table 2")

# %% [markdown]
# ## Figure 5: the implicit bias on the test set, and what removes it
#
# Mean predicted probability of each class over the balanced test set (ideal: $1/M$ for every
# class): L2A after stage 1, the same after ABS (renormalised), and L2A after stage 2 (the
# angular probabilities of MiSLAS's stage-2 classifier), first seed.

# %% mystnb={"figure": {"caption": "Mean probability each class receives on the balanced test set (ideal: the dashed 1/M): L2A after stage 1, after ABS, and after stage 2."}, "image": {"alt": "Mean probability each class receives on the balanced test set (ideal: the dashed 1/M): L2A after stage 1, after ABS, and after stage 2."}} tags=["hide-input"]
before, after, _ = abs_probabilities(mislas1[0], s, F_form)
stage2_ang = angular_of(mislas2[0])["test_angular_logits"]
panels = (("(a) before ABS", before), (f"(b) after ABS, s = {s:g}, {F_form} F", after / after.sum(1, keepdim=True)),
          ("(c) after stage 2", stage2_ang.softmax(1)))
fig, axes = plt.subplots(1, 3, figsize=(10, 2.9), sharey=True)
for ax, (title, pr) in zip(axes, panels):
    plots.shade_splits(ax, counts)
    ax.bar(np.arange(K), pr.mean(0).numpy(), color="#4477aa")
    ax.axhline(1 / K, color="k", lw=0.8, ls="--")
    ax.set(xlabel="class index (head → tail)")
    ax.set_title(title, pad=14)
    ax.set_ylim(0.8 * float(min(p.mean(0).min() for _, p in panels)), 1.1 * float(max(p.mean(0).max() for _, p in panels)))
axes[0].set_ylabel("mean test probability")
fig.suptitle("Figure 5: class-wise predicted probability on the test set", x=0.01, ha="left", fontsize=9, y=1.02)
fig.tight_layout()
plots.stamp(fig, f"{ctx.stamp} (first seed)")
plt.show()

# %% tags=["hide-input"]
E.show(ctx, "angular", "Figure 5")

# %% [markdown]
# ## Table 5: ABS against its strength $s$, both forms of $\mathcal F$
#
# Post hoc on the stored MiSLAS stage-1 run(s): every cell is free. The paper prints CIFAR-10-LT
# with the sine form and CIFAR-100-LT with the linear one; $s = 0$ is L2A. Read as a curve: no
# validation set exists here, so the chapter's $s$ stays the paper's stated choice (0.25 on CIFAR-10-LT in its
# text; its Table 5 steps by 0.04 and peaks at 0.24, the strength angular-33 and -34 test).

# %% tags=["hide-input"]
def setting_value(setting, name):
    return float(re.search(rf"{name}=([0-9.]+)", setting).group(1))


t5 = reference.reported(paper="angular", table="Table 5")
paper5 = {(row.dataset, round(setting_value(row.setting, "s"), 2)): row.value for row in t5.itertuples()}
rows5 = []
for sv in s_sweep:
    row = {"s": f"{float(sv):g}"}
    for form in ("sine", "linear"):
        row[f"measured, {form} F"] = pct([abs_run(r, float(sv), form).metrics["accuracy"] for r in mislas1])
    for ds, form in (("cifar10", "sine"), ("cifar100", "linear")):
        v = paper5.get((ds, round(float(sv), 2)))
        row[f"paper, {ds}-LT, {form} F"] = f"{v:.2f}" if v is not None else "–"
    rows5.append(row)
report.show(pd.DataFrame(rows5).set_index("s"), ctx.stamp, "Table 5: ABS accuracy (%) against s")
E.show(ctx, "angular", "Table 5")

# %% [markdown]
# ## Figure 12: angular hardness against per-class accuracy
#
# Mean AVH of the test images of each class under the MiSLAS stage-1 network against that
# class's test accuracy (first seed).

# %% mystnb={"figure": {"caption": "Each class's mean angular visual hardness (AVH) on the test set against its test accuracy."}, "image": {"alt": "Each class's mean angular visual hardness (AVH) on the test set against its test accuracy."}} tags=["hide-input"]
avh = torch.from_numpy(derived.read(mislas1[0], "avh")["test_avh"])
y_te = derived.test_labels(mislas1[0])
avh_c = np.array([avh[torch.from_numpy(y_te == c)].mean().item() if (y_te == c).any() else np.nan for c in range(K)])
acc_c = 100 * np.asarray(mislas1[0].metrics["per_class"])
ok = ~np.isnan(avh_c)
r = np.corrcoef(avh_c[ok], acc_c[ok])[0, 1] if ok.sum() > 2 else float("nan")
fig, ax = plt.subplots(figsize=(4.5, 3.2))
sc = ax.scatter(avh_c, acc_c, c=np.arange(K), cmap="viridis", s=18)
fig.colorbar(sc, ax=ax, label="class index (head → tail)")
ax.set(xlabel="mean AVH of the class's test images", ylabel="class test accuracy (%)",
       title=f"Figure 12: AVH against accuracy, Pearson r = {r:.2f}")
fig.tight_layout()
plots.stamp(fig, f"{ctx.stamp} (first seed)")
plt.show()

# %% tags=["hide-input"]
E.show(ctx, "angular", "Figure 12")

# %% tags=["hide-input"]
display(Markdown(chapters.second_schedule(plan, ctx)))
E.show_moved(ctx, "angular")  # the verdicts the sections above hold back: their runs are recorded at this preset only

# %% [markdown]
# ### Table 1 at the paper's imbalance factors
#
# The paper prints Table 1 at 100, 50 and 10. MiSLAS's two stages at the factors other than `imb` are the
# runs this chapter's plan builds when it is called at that factor (same configs, same seeds), each read
# also with L2A; they are read from the recordings or the run store, never trained here. A factor shows
# once all its runs are there.

# %% tags=["hide-input"]
paper1_all = reference.reported(paper="angular", table="Table 1", dataset=lit)


def table1_at(f, runs):
    """Table 1's four rows at factor ``f`` from its MiSLAS stage-1 and stage-2 runs."""
    if runs is None:
        return None
    at_f = np.array(data.lt_counts(data.dataset_info(ctx.dataset).train_per_class, K, f))
    m1, m2 = runs["CE + mixup"], runs["MiSLAS"]
    return {"MiSLAS_S1": m1, "L2A_S1": [l2a(r, at_f) for r in m1],
            "MiSLAS_S2": m2, "L2A_S2": [as_run(r.metrics["angular"]) for r in m2]}


def paper1_at(f):
    out = {}
    for name in table1:
        vals = paper1_all[(paper1_all["imb"] == f) & (paper1_all["method"] == name)].set_index("split")["value"]
        if len(vals):
            out[name] = f"{vals['tail']:.2f} / {vals['overall']:.2f}"
    return out


own1 = plan.context(ctx, factors.GROUP).preset == ctx.preset  # else the group's own rows at its preset
cols1 = {f: table1 if f == ctx.imb and own1 else table1_at(f, runs)
         for f, runs in factors.gather(plan, ctx.imb, {}).items()}
report.show(factors.table(cols1, splits=("tail", "accuracy"), paper=paper1_at,
                          paper_label=f"paper, {lit}-LT: tail / overall"), factors.stamp(ctx, cols1, plan),
            "Table 1 at the paper's imbalance factors: last-epoch test accuracy (%) on the tail classes and overall")
factors.note(plan, ctx, cols1)

# %% [markdown]
# ### Table 6: ALAS against $\tau$, linear and concave $f$
#
# ALAS stage-2 runs on the stored MiSLAS stage-1 network (ATL_ALAS), angular predictions. The
# paper prints CIFAR-100-LT.

# %% tags=["hide-input"]
t6 = reference.reported(paper="angular", table="Table 6")
paper6 = {(row.setting.rsplit(", ", 1)[1].split()[0], round(setting_value(row.setting, "tau"), 2)): row.value
          for row in t6.itertuples()}
rows6, sweep6 = [], plan.fetch("Table 6")
for t in tau_sweep:
    row = {"τ": f"{float(t):g}"}
    for form in ("linear", "concave"):
        rs = sweep6[(form, float(t))]
        row[f"measured, {form} f"] = pct([r.metrics["accuracy"] for r in rs])
    for form in ("linear", "concave"):
        v = paper6.get((form, round(float(t), 2)))
        row[f"paper, cifar100-LT, {form} f"] = f"{v:.2f}" if v is not None else "–"
    rows6.append(row)
report.show(pd.DataFrame(rows6).set_index("τ"), plan.context(ctx, "Table 6").stamp, "Table 6: ALAS accuracy (%) against τ")
E.show(plan.context(ctx, "Table 6"), "angular", "Table 6")

# %% [markdown]
# ### Figure 6: long-tailed data pruning
#
# A fraction of the training images is removed, then CE (no mixup) is trained from scratch on
# what is left, on the preset's schedule. **Random** prunes from the whole set, **class-wise
# random** the same share of every class, **EL2N** and **AVH** the images with the lowest
# (easiest) score, averaged over `score_runs` CE networks of different seeds, each stopped after
# `score_epochs` epochs of the same schedule (by default 3 networks of 1 epoch at `cpu`, the
# paper's ten networks of ten epochs at `paper`; the figure's title says how many). Fraction 0 is CE on the whole training set, at the figure's preset.

# %% mystnb={"figure": {"caption": "Test accuracy after pruning a fraction of the training set, by pruning method (mean over the seeds; bars: their standard deviation, none with one seed); fraction 0 is the CE run."}, "image": {"alt": "Test accuracy after pruning a fraction of the training set, by pruning method (mean over the seeds; bars: their standard deviation, none with one seed); fraction 0 is the CE run."}} tags=["hide-input"]
from dataclasses import replace as _replace

from ltnb.chapters.angular import PAPER_PRUNE_GROUP as g6, PAPER_PRUNE_SEEDS

full6 = plan.fetch(g6) if g6 in plan.groups else {}
paper6 = bool(full6) and len(full6) == len(plan.groups[g6].rows)  # recorded: the paper's fractions over 3 seeds
if paper6:  # its stamp and its claims' verdicts read those 3 seeds
    pruning, ce6, at6 = full6, full6[("CE", 0.0)], _replace(plan.context(ctx, g6), seeds=PAPER_PRUNE_SEEDS)
    prune_fractions = sorted({f for m, f in full6 if m != "CE"})
    print(f"Figure 6 at the paper's fractions {prune_fractions}, seeds {', '.join(map(str, PAPER_PRUNE_SEEDS))} "
          "(recorded)")
else:
    pruning, at6 = plan.fetch("Figure 6"), plan.context(ctx, "Figure 6")
    ce6 = pruning[("CE", 0.0)]  # the CE run, at the figure's preset
    if g6 in plan.groups:
        print(f"the paper's fractions over 3 seeds: {len(full6)} of {len(plan.groups[g6].rows)} settings recorded "
              f"(make record records them); shown: {prune_fractions}, seed{'s' if len(ctx.seeds) > 1 else ''} "
              f"{', '.join(map(str, ctx.seeds))}")
fig, ax = plt.subplots(figsize=(5.5, 3.2))
xs = [0.0] + prune_fractions
for m, label in METHODS.items():
    accs = [[r.metrics["accuracy"] for r in ce6]] + [[r.metrics["accuracy"] for r in pruning[(m, f)]] for f in prune_fractions]
    ax.errorbar(xs, [100 * np.mean(a) for a in accs], yerr=[100 * np.std(a) for a in accs],
                marker="o", ms=3, capsize=2, label=label)
ax.set(xlabel="fraction of training images pruned", ylabel="test accuracy (%)",
       title=f"Figure 6: pruning; scores from {report.n_of(score_runs, 'run')} of {report.n_of(score_epochs, 'epoch')}")
ax.legend()
fig.tight_layout()
plots.stamp(fig, at6.stamp)
plt.show()

# %% tags=["hide-input"]
rows_p = {f"{METHODS[m]}, {f:g} pruned": pruning[(m, f)] for f in prune_fractions for m in METHODS}
extra_p = {name: {"training images kept": f"{sum(rs[0].metrics['trained_counts']):,} of {int(counts.sum()):,}",
                  "kept in the last 3 classes": " / ".join(str(n) for n in rs[0].metrics["trained_counts"][-3:])}
           for name, rs in rows_p.items()}
extra_p["nothing pruned (CE)"] = {"training images kept": f"{int(counts.sum()):,} of {int(counts.sum()):,}",
                                  "kept in the last 3 classes": " / ".join(str(n) for n in counts[-3:])}
report.show(report.accuracy_table({"nothing pruned (CE)": ce6, **rows_p}, splits=SPLITS, extra=extra_p).fillna("–"),
            at6.stamp, "Figure 6 data: accuracy (%) after pruning")
E.show(at6, "angular", "Figure 6")

# %% [markdown]
# ## What differs from the paper, and why

# %% [markdown]
# * ALAS: R is updated every batch (Eq. 5) rather than once an epoch (Algorithm 1); the mean angular
#   probability of *every* class over the batch is normalised across classes by f, so no class is absent. R⁰
#   is MiSLAS's smoothing factor f(N_y) with the ε above, in the same form as the batch term. The targets
#   put 0 on the other classes (Eq. 5), the loss is on the linear logits (what the classifier trains), and
#   predictions use Eq. 1, as for L2A after stage 2. The paper does not say which of these it does.
# * ABS: B_tr[c] is read as the minimum over true classes i of the mean angular probability of c on the
#   training images of class i (the sentence defining it is garbled); the training images are un-augmented.
#   γ ⊙ P is renormalised for the ECE and Figure 5; the argmax does not change.
# * Figures 3/7 plot each class's mean own logit; Figure 4 the mean probability vectors per true class;
#   Figure 5 the mean probability each class receives on the test set: the paper's plots are not specified
#   beyond their captions.
# * Table 4 (ViT-S and ViT-B on ImageNet-LT) needs ImageNet-LT and ImageNet-21k-pretrained ViTs, neither of
#   which is on this machine: it is not reproduced, and not quoted as if it were.

# %% tags=["hide-input"]
notes = []
if ctx.dataset == "fmnist":
    notes.append("The data are **Fashion-MNIST-LT** (CIFAR is not on this machine): the paper's columns are "
                 "CIFAR numbers, for the ordering of methods only.")
notes.append(f"Schedule: the book's preset **{PR.name}** (ResNet-32 at width {PR.width:g}, {PR.epochs} epochs, batch "
             f"{PR.batch_size}, lr {PR.lr:g} with warm-up and 10x decays at 80% and 90%, weight decay {PR.weight_decay:g}); "
             "MiSLAS's official CIFAR stage 1 is the same shape at 200 epochs and weight decay 2e-4. The paper states "
             "300 epochs and weight decay 5e-4 without a decay schedule; stage 1 is shared with the other chapters here.")
notes.append(f"MiSLAS stage 2 follows the official CIFAR configs (dvlab-research/MiSLAS): {PR.stage2_epochs} epochs of "
             f"class-balanced, augmented batches through the frozen backbone, lr {PR.stage2_lr:g} with a cosine by epoch, "
             f"the classifier at {stage2['lr_factor']:g} times that rate and LWS at the full rate, smoothing "
             f"ε_head = {stage2['las_eps_head']:g}, ε_tail = {stage2['las_eps_tail']:g}, concave f, BN shift "
             f"{'on' if stage2['shift_bn'] else 'off'}"
             + (" (the official configs switch it off for CIFAR-10 and on for CIFAR-100; Fashion-MNIST keeps "
                "CIFAR-10's smoothing and lr factor but the shift, which MiSLAS presents as part of the method)"
                if ctx.dataset == "fmnist" else "") + ". Label smoothing puts ε_y/(M-1) on every other class as "
             "Eq. 4 writes it; the official code spreads ε_y over all M classes.")
notes.append("AEM trains an angular head (no bias: the angle ignores one) on softmax(s·Pᴬ) with mixup, s = "
             f"{aem_s:g}. The paper gives no scale; at the scale of Eq. 1 (s = 1) the logits span only [0, π], so "
             f"p_y cannot exceed e^π/(e^π + {K - 1}) = {math.exp(math.pi) / (math.exp(math.pi) + K - 1):.2f}, and the "
             f"network underfits: measured here, AEM with s = 1 reaches {pct([r.metrics['accuracy'] for r in aem_literal])}% "
             f"({V.seeds_words(len(aem_literal), len(aem_literal))}) against {pct([r.metrics['accuracy'] for r in aem])}% "
             f"with s = {aem_s:g} ({V.seeds_words(len(aem), len(aem))}; a reading, not a test). Eq. 6 adds H(p) to the loss, "
             "so it *minimises* the entropy, as its name says (the prose speaks of increasing it).")
prune_note = ("Pruning (Figure 6): the network trained on the pruned set is plain CE (the paper does not name it); "
              f"scores average {report.n_of(score_runs, 'CE run')} of seeds 0..{score_runs - 1} stopped after "
              f"{report.n_of(score_epochs, 'epoch')} of the {at6.preset.name} schedule (the paper: ten ResNet-32 trained for ten epochs; EL2N's early "
              "training). Fractions here: " + ", ".join(f"{f:g}" for f in prune_fractions)
              + f"; {report.n_of(len(at6.seeds), 'seed')} per point (the paper repeats each over 5).")
notes.append(prune_note)
if PR.name != "paper":
    notes.append(f"What the **{PR.name}** preset leaves out: Figure 6 has "
                 + (f"the paper's five fractions over 3 seeds (recorded at preset {at6.preset.name}), with" if paper6 else
                    f"{report.n_of(len(prune_fractions), 'fraction')} instead of five (paper preset: 0.15 to 0.75) and")
                 + f" scores from {report.n_of(score_runs, 'short run')} instead of ten runs of ten epochs; Table 1 is trained at this imbalance "
                 "factor only; its columns at the paper's other factors are shown when recorded (`python -m ltnb.record`).")
notes.append(f"{report.n_of(len(ctx.seeds), 'seed')}: {', '.join(map(str, ctx.seeds))} (the paper: mean of 3); last-epoch accuracy, "
             "nothing chosen on the test set; s and τ keep the paper's values.")
display(Markdown("\n".join(f"* {n}" for n in notes)))

# %% [markdown]
# ## Things to try

# %% tags=["hide-input"]
from ltnb.claims import exercises

exercises.show("angular", ctx=ctx)
