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
# # Chapter 0: baselines on one backbone
#
# Every paper in this book measures itself against the same few baselines, each quoted from
# a different codebase. This chapter trains them here, on one ResNet-32, one long-tailed
# subset and one seed list, so that the later chapters can start from the very same runs:
#
# * **CE**: plain cross-entropy with instance-balanced sampling.
# * **CE + mixup** {cite}`zhang2018mixup`: inputs and one-hot targets mixed as
#   $\tilde x = \lambda x_i + (1-\lambda) x_j$, $\lambda \sim \mathrm{Beta}(1, 1)$.
# * **LDAM-DRW** {cite}`cao2019ldam`: cosine logits with a class margin
#   $\Delta_y \propto n_y^{-1/4}$ (largest 0.5) subtracted from the target logit, scale
#   $s = 30$; from 80% of training on, deferred re-weighting by the inverse effective number
#   $(1-\beta)/(1-\beta^{n_y})$, $\beta = 0.9999$ {cite}`cui2019classbalanced`.
# * **Balanced Softmax** {cite}`ren2020balms`: cross-entropy on $z_j + \log \pi_j$ during
#   training, where $\pi_j = n_j / n$; plain $z$ at test time.
#
# On the frozen CE backbone, the three decoupled classifiers of {cite}`kang2020decoupling`:
#
# * **cRT**: a new linear classifier re-trained with class-balanced sampling.
# * **LWS**: the CE classifier kept, a scale $f_j$ per class learned with class-balanced
#   sampling: $f_j (W_j^\top z + b_j)$.
# * **$\tau$-norm**: no training, $\tilde W_j = W_j / \lVert W_j \rVert^{\tau}$.
#
# Accuracy is always that of the model after the **last** epoch.

# %% tags=["parameters"]
dataset = "auto"  # cifar10, cifar100, fmnist or auto: CIFAR-10 if present, else fmnist
imb = 100  # imbalance factor n_max / n_min, at least 1
preset = "auto"  # smoke, cpu, cpu20, long, cpu80, paper or auto: paper on CUDA; else long where all its runs are recorded, else cpu
seed = 0  # one seed, or a list of seeds such as [0, 1, 2]
device = "auto"  # cpu, cuda or auto
tau = 1.0  # tau of tau-norm in the main table

# %% tags=["hide-input"]
from ltnb.chapters import door, baselines as chapter

ctx, P, plan = door.open(chapter, globals())  # every knob above checked (and any the chapter does not take refused),
# the preset and device resolved, the runs planned and announced

import numpy as np
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from ltnb import chapters, plots, report
from ltnb.claims import evidence as E
from ltnb.chapters import factors
from ltnb.training.common import dataset as lt_dataset


# %% [markdown]
# ## The training set
#
# The long-tailed subset of {cite}`cao2019ldam`: class $i$ keeps
# $\lfloor n_{\max}\,\rho^{-i/(C-1)} \rfloor$ images. The shading marks the many (> 100),
# medium (20–100) and few (< 20) classes the tables split by, each where this factor has any.

# %% mystnb={"figure": {"caption": "Training images per class of the long-tailed subset (log scale); the shading marks the many, medium and few classes the tables split by (a split with no class at this factor is not shaded)."}, "image": {"alt": "Training images per class of the long-tailed subset (log scale); the shading marks the many, medium and few classes the tables split by (a split with no class at this factor is not shaded)."}} tags=["hide-input"]
lt = lt_dataset(ctx.dataset, ctx.imb)
counts = lt.counts
fig, ax = plots.class_counts(counts, f"{ctx.dataset}-LT, imb {ctx.imb:g}: "
                             f"{counts.sum():,} training images, {len(lt.test):,} balanced test images")
plots.stamp(fig, ctx.stamp)
plt.show()

# %% [markdown]
# ## Training every baseline
#
# Each configuration is a run with a stable key: a run that is already stored (by an earlier
# build, or another chapter) is reused, not trained again.

# %% tags=["hide-input"]
runs = {**plan.fetch("stage 1"), **plan.fetch("stage 2")}
STAGE1 = list(plan.groups["stage 1"].rows)
KEYS = {"CE": "ce", "CE + mixup": "ce_mixup", "LDAM-DRW": "ldam_drw",
        "Balanced Softmax": "balanced_softmax", "cRT": "crt", "LWS": "lws", "τ-norm": "tau_norm"}

# %% [markdown]
# ## Accuracy
#
# Test accuracy (%) after the last epoch, overall and on the many / medium / few classes,
# with the expected calibration error (15 bins). The column "reported on …" gives what the five
# papers of this book report for the same method on CIFAR-LT at this imbalance factor (paper and
# table in brackets); it is only a like-for-like comparison when the data set is CIFAR and the
# preset is `paper`. The last column counts the parameters a stage-2 method trains. ECE is shown only
# where the test scores are the softmax a loss fitted: τ-norm rescales the weights after training, so
# its row has none.

# %% tags=["hide-input"]
lit = ctx.dataset if ctx.dataset.startswith("cifar") else "cifar10"
params = {name: {"trainable params (stage 2)": f"{rs[0].metrics['trainable_parameters']:,}"}
          for name, rs in runs.items() if rs[0].metrics["stage"] == 2}
table = report.accuracy_table(runs, KEYS, literature_dataset=lit, imb=ctx.imb, extra=params)
report.show(table.fillna(""), ctx.stamp, "Last-epoch test accuracy (%)")

# %% [markdown]
# ## Per-class accuracy, and what the imbalance costs each class
#
# A class's accuracy mixes two things: how many training images it has and how hard it is. The
# **balanced reference** separates them: CE with the same network and schedule on a balanced subset
# as large as the long-tailed set (the first images of each class). Its per-class accuracy (dashed)
# is how hard each class is; a method's accuracy minus it (right) is what the imbalance costs each
# class under that method. Classes are drawn in size order, with their training images and names.

# %% mystnb={"figure": {"caption": "Per-class test accuracy of every baseline beside the balanced reference (dashed, left), and each method's accuracy minus the reference's (right), classes in size order with their training images."}, "image": {"alt": "Per-class test accuracy of every baseline beside the balanced reference (dashed, left), and each method's accuracy minus the reference's (right), classes in size order with their training images."}} tags=["hide-input"]
reference_runs = plan.fetch("balanced reference")["CE, balanced"]
fig, per_class, balanced_acc = plots.per_class_accuracy(runs, reference_runs, ctx)
plt.show()

# %% tags=["hide-input"]
hardest = int(np.argmin(balanced_acc))
third = "head" if hardest < len(counts) / 3 else "middle" if hardest < 2 * len(counts) / 3 else "tail"
display(Markdown(
    f"With balanced data the hardest class is class {hardest}"
    + (f" ({plots.class_names(ctx)[hardest]})" if plots.class_names(ctx) else "")
    + f", at {balanced_acc[hardest]:.1f}%; at imbalance {ctx.imb:g} it has {int(counts[hardest]):,} training "
    f"images, in the {third} of the long tail, so a raw per-class curve reads its difficulty as part of the "
    "trend. What the imbalance costs CE, class by class (balanced minus long-tailed, points; CE: "
    f"{report.n_of(len(runs['CE']), 'seed')}, the reference: {len(reference_runs)}, means; a reading, not a test): "
    + ", ".join(f"{c}: {balanced_acc[c] - per_class['CE'][c]:+.1f}" for c in range(len(counts))) + "."))
E.show(ctx, "baselines", "Per-class accuracy", also=("gcl-9", "whitening-10"))

# %% [markdown]
# ## Classifier weight norms
#
# Kang et al. {cite}`kang2020decoupling` read the head's bias off the classifier: after CE the head
# classes would carry the larger weight vectors $\lVert W_j \rVert$. $\tau$-norm divides the norms
# out, LWS learns a scale per class, cRT re-learns the classifier. Norms are divided by each method's
# mean so the shapes compare (first seed); the right panel is the log ratio to the balanced
# reference's norms, which removes what each class brings of its own. The verdicts below test the
# claims the papers of this book repeat.

# %% mystnb={"figure": {"caption": "Classifier weight norms per class, divided by each method's mean, beside the balanced reference's (dashed, left), and their log ratio to the reference's (right); first seed, classes in size order."}, "image": {"alt": "Classifier weight norms per class, divided by each method's mean, beside the balanced reference's (dashed, left), and their log ratio to the reference's (right); first seed, classes in size order."}} tags=["hide-input"]
def weight_norms(run):
    n = np.linalg.norm(run.arrays["weight"], axis=1)
    return n / n.mean()


norms = {name: weight_norms(rs[0]) for name, rs in runs.items()}
fig, axes = plots.against_reference(norms, weight_norms(reference_runs[0]), counts, r"$\|W_j\|$ / mean",
                                    "Per-class classifier weight norms", names=plots.class_names(ctx), log=True)
plots.stamp(fig, f"{ctx.stamp} (first seed)")
plt.show()

# %% tags=["hide-input"]
E.show(ctx, "baselines", "Classifier weight norms", also=("angular-1", "whitening-12"))

# %% [markdown]
# ## Training curves
#
# Training loss and accuracy per epoch of the stage-1 runs (first seed). With mixup the
# training accuracy is measured against the mixed targets; LDAM-DRW's loss jumps where the
# re-weighting starts.

# %% mystnb={"figure": {"caption": "Training loss (log scale) and training accuracy per epoch of the stage-1 runs, first seed: LDAM-DRW's loss jumps where the re-weighting starts."}, "image": {"alt": "Training loss (log scale) and training accuracy per epoch of the stage-1 runs, first seed: LDAM-DRW's loss jumps where the re-weighting starts."}} tags=["hide-input"]
fig, axes = plt.subplots(1, 2, figsize=(7, 2.8))
for name in STAGE1:
    h = runs[name][0].metrics["history"]
    axes[0].plot(h["epoch"], h["loss"], label=name)
    axes[1].plot(h["epoch"], np.array(h["train_acc"]) * 100, label=name)
axes[0].set(xlabel="epoch", ylabel="training loss", yscale="log")
axes[1].set(xlabel="epoch", ylabel="training accuracy (%)")
axes[1].legend()
fig.tight_layout()
plots.stamp(fig, f"{ctx.stamp} (first seed)")
plt.show()

# %% tags=["hide-input"]
display(Markdown(chapters.second_schedule(plan, ctx)))
E.show_moved(ctx, "baselines")  # the verdicts the sections above hold back: their runs are recorded at this preset only

# %% [markdown]
# ### At the papers' imbalance factors
#
# The papers' CIFAR main tables print 200, 100, 50 and 10 between them. The same baselines at the factors
# other than `imb` are the runs this chapter's plan builds when it is called at that factor (same configs,
# same seeds); they are read from the recordings or the run store, never trained here. A factor shows once
# all its runs are there, with what the papers report at that factor beside.

# %% tags=["hide-input"]
def reported(f):
    return {row: report.literature_cell(k, lit, f) or "–" for row, k in KEYS.items()}


cols = factors.gather(plan, ctx.imb, runs)
report.show(factors.table(cols, paper=reported, paper_label=f"reported on {lit}-LT"), factors.stamp(ctx, cols, plan),
            "The baselines at the papers' imbalance factors: last-epoch test accuracy (%), overall and on the few classes (where the data set has any)")
factors.note(plan, ctx, cols)

# %% [markdown]
# ### How $\tau$ trades head for tail
#
# $\tau$-norm has one knob. Kang et al. choose it on a validation set; this book has none,
# so the main table and the factors table use the fixed `tau` parameter and this curve only
# shows the trade-off
# (reading the best $\tau$ off it would be choosing on the test set).

# %% mystnb={"figure": {"caption": "\u03c4-norm on the CE backbone against \u03c4, overall and by split: one knob trades head for tail (a curve to read, not a choice: there is no validation set)."}, "image": {"alt": "\u03c4-norm on the CE backbone against \u03c4, overall and by split: one knob trades head for tail (a curve to read, not a choice: there is no validation set)."}} tags=["hide-input"]
fig, ax = plots.by_split_against(plan.fetch("τ sweep"), r"$\tau$", r"$\tau$-norm on the CE backbone",
                                 plan.context(ctx, "τ sweep").stamp)
ax.legend()
plt.show()

# %% [markdown]
# ## What differs from the papers, and why

# %% [markdown]
# * LWS scales the logits including the bias, $f_j (W_j^\top z + b_j)$; τ-norm keeps the bias.

# %% tags=["hide-input"]
notes = []
if ctx.dataset == "fmnist":
    notes.append("The data are **Fashion-MNIST-LT**, not CIFAR: CIFAR is not on this machine. The papers' "
                 "column shows CIFAR-10-LT numbers for orientation only; compare the *ordering* of methods.")
if ctx.preset.name != "paper":
    notes.append(f"The **{ctx.preset.name}** preset trains a ResNet-32 of width {ctx.preset.width:g} for "
                 f"{ctx.preset.epochs} epochs, not the papers' full-width 200 epochs; accuracy is lower "
                 "and the gaps between methods are smaller or noisier.")
notes.append("Stage 2 (cRT, LWS, τ-norm) trains on features of the un-augmented training images, computed "
             f"once from the frozen backbone, for {ctx.preset.stage2_epochs} epochs with class-balanced "
             "sampling and a cosine learning rate; Kang et al. pass augmented images through the backbone.")
notes.append(f"The tables show {report.n_of(len(ctx.seeds), 'seed')}: {', '.join(map(str, ctx.seeds))}. The verdicts read every "
             "recorded seed of the runs they compare and judge each gap by those runs' own seeds (Welch's 95% "
             "interval, paired where both sides read one training run); under 3 seeds a side they say 'too few runs'.")
display(Markdown("\n".join(f"* {n}" for n in notes)))

# %% [markdown]
# ## Things to try

# %% tags=["hide-input"]
from ltnb.claims import exercises

exercises.show("baselines", ctx=ctx)
