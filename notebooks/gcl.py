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
# # GCL, measured: clouds, samplers and re-training
#
# Li, Cheung and Lu {cite}`li2022gcl` argue that tail classes are under-trained because the
# softmax saturates: once the target logit leads by a few units, $1 - p_y$ and with it the
# gradient vanish, and head-class images keep pushing tail weights down. GCL enlarges the
# "cloud" of tail logits with random Gaussian perturbations, so tail images keep producing
# gradient, then re-balances the classifier with a new sampler.
#
# **Cloud sizes** (Eq. 9), divided by their maximum (Sec. 4.2):
# $\delta_j = \log n_{\max} - \log n_j$.
#
# **Clouded cosine logits** (Eq. 11), with $\varepsilon \sim \mathcal N(0, \sigma = 1/3)$
# clamped to $[-1, 1]$, one draw per image and class:
#
# $$\tilde z^{cld}_j = s \left(\cos\theta_j - \lambda\,|\varepsilon|\,\delta_j\right),
# \qquad \mathcal L_{GCL} = -\log \frac{e^{\tilde z^{cld}_y}}{\sum_j e^{\tilde z^{cld}_j}}$$
#
# with $\lambda$ the noise multiplier. Predictions use the plain $s\cos\theta_j$.
#
# **Stage 2** (Algorithm 1): the backbone is frozen and the classifier re-trained with the
# same loss on batches from the class-based effective-number (CBEN) sampler (Eqs. 13–14):
# each image of class $j$ is drawn with probability $\propto \rho_j = (1-\beta_j)/(1-\beta_j^{n_j})$,
# $\beta_j = b\,\frac{\delta_j-\delta_{\min}}{\delta_{\max}-\delta_{\min}} + a$,
# $a = 0.999$, $b = 0.0009$.

# %% tags=["parameters"]
dataset = "auto"  # cifar10, cifar100, fmnist or auto: CIFAR-10 if present, else fmnist
imb = 100  # imbalance factor n_max / n_min, at least 1
preset = "auto"  # smoke, cpu, cpu20, long, cpu80, paper or auto: paper on CUDA; else long where all its runs are recorded, else cpu
seed = 0  # one seed, or a list of seeds such as [0, 1, 2]
device = "auto"  # cpu, cuda or auto
noise_mul = 0.5  # lambda, the noise multiplier of the official CIFAR code
s = 30.0  # scale of the cosine logits in stage 1
cloud = "log"  # cloud-size strategy of the main runs: log, cos, pow3 or pow4
sampler = "cben"  # stage-2 sampler of the main runs: cben, class_balanced, effective_number, instance
stage2 = "crt"  # stage-2 method of the main runs: crt, lws or tau_norm
strategies = ["cos", "pow3", "pow4", "log"]  # Table 3 rows to train, each one stage-1 run

# %% tags=["hide-input"]
from ltnb.chapters import door, gcl as chapter

ctx, P, plan = door.open(chapter, globals())  # every knob above checked (and any the chapter does not take refused),
# the preset and device resolved, the runs planned and announced

import numpy as np
import matplotlib.pyplot as plt
import torch
from IPython.display import Markdown, display

from ltnb import chapters, plots, reference, report
from ltnb.claims import evidence as E
from ltnb.kernels import gcl, samplers
from ltnb.chapters import factors

counts = ctx.counts


def paper_rows(table):
    return reference.reported(paper="gcl", table=table)["value"].tolist()


# %% [markdown]
# ## Why clouds: softmax saturation
#
# For a target logit that leads a competitor by $\Delta = z_y - z_j$, the gradient on the target
# logit is $1 - p_y = 1/(1+e^{\Delta})$. With $s = 30$ a cosine lead of 0.2 is already
# $\Delta = 6$ and the gradient is 0.25%. The cloud lowers a tail class's logit by
# $s\lambda|\varepsilon|\delta_j$ on average $s\lambda\,\mathbb E|\varepsilon|\,\delta_j$, moving its
# images back into the region where they still teach.

# %% mystnb={"figure": {"caption": "Left: the gradient on the target logit against its lead over a competitor (log scale); the arrow shows how far the mean cloud moves the tail class back into the region that still teaches (the head class has cloud size 0 and is never moved). Right: the cloud size of each class under Table 3's strategies."}, "image": {"alt": "Left: the gradient on the target logit against its lead over a competitor (log scale); the arrow shows how far the mean cloud moves the tail class back into the region that still teaches (the head class has cloud size 0 and is never moved). Right: the cloud size of each class under Table 3's strategies."}} tags=["hide-input"]
d = torch.linspace(-2, 12, 300)
mean_abs_eps = float(gcl.cloud_noise((200000,), torch.Generator().manual_seed(0)).abs().mean())
delta = gcl.cloud_size(counts, P.cloud)
fig, axes = plt.subplots(1, 2, figsize=(7.5, 3))
axes[0].plot(d, gcl.target_logit_gradient(d), color="k")
for j, c in ((0, "#4477aa"), (len(counts) - 1, "#cc6677")):
    shift = P.s * P.noise_mul * mean_abs_eps * float(delta[j])
    axes[0].annotate("", xy=(6 - shift, float(gcl.target_logit_gradient(torch.tensor(6 - shift)))),
                     xytext=(6, float(gcl.target_logit_gradient(torch.tensor(6.0)))),
                     arrowprops=dict(arrowstyle="->", color=c, lw=1.5))
    axes[0].plot([], [], color=c, label=f"class {j}: mean cloud shift {shift:.1f}")
axes[0].set(xlabel=r"logit difference $z_y - z_j$", ylabel=r"$|\partial L / \partial z_y| = 1 - p_y$",
            title="softmax saturation", yscale="log")
axes[0].legend(loc="lower left")
for strat in gcl.CLOUD_STRATEGIES:
    axes[1].plot(gcl.cloud_size(counts, strat), marker="o", ms=3, label=strat)
axes[1].set(xlabel="class index (head → tail)", ylabel=r"normalised cloud size $\delta_j$",
            title="cloud sizes (Table 3 strategies)")
axes[1].legend()
fig.tight_layout()
plots.stamp(fig, ctx.stamp)
plt.show()

# %% [markdown]
# The samplers of Table 4 differ in how often they show the tail; the claim below is computed exactly
# from the class counts.

# %% mystnb={"figure": {"caption": "Share of each class in a stage-2 batch under each sampler (log scale), classes in size order."}, "image": {"alt": "Share of each class in a stage-2 batch under each sampler (log scale), classes in size order."}} tags=["hide-input"]
fig, ax = plt.subplots(figsize=(6, 3))
for kind, label in (("instance", "IB"), ("class_balanced", "CB"), ("effective_number", "EN"), ("cben", "CBEN")):
    ax.plot(samplers.class_weights(counts, kind), marker="o", ms=3, label=label)
ax.set(yscale="log", xlabel="class index (head → tail)", ylabel="share of a batch",
       title="class frequencies under each stage-2 sampler")
ax.legend()
plots.stamp(fig, ctx.stamp)
plt.show()

# %% tags=["hide-input"]
E.show(ctx, "gcl", "Samplers")

# %% [markdown]
# ## Table 1: GCL against the baselines
#
# CE, CE + mixup and LDAM-DRW are the very runs of the baselines chapter (same configs, so
# reused). "CE + mixup + cRT" re-trains the CE + mixup classifier with class-balanced batches.

# %% tags=["hide-input"]
table1 = plan.fetch("Table 1")
KEYS = {"CE": "ce", "CE + mixup": "ce_mixup", "LDAM-DRW": "ldam_drw", "CE + mixup + cRT": "ce_mixup_crt", P.main: "gcl"}
lit = ctx.dataset if ctx.dataset.startswith("cifar") else "cifar10"
t1 = report.accuracy_table(table1, KEYS, literature_dataset=lit, imb=ctx.imb)
report.show(t1, ctx.stamp, "Table 1 (measured), last-epoch test accuracy (%)")
E.show(ctx, "gcl", "Table 1", also=("gcl-24",))  # its runs are Table 1's too: read here at this preset
if plan.context(ctx, "Table 5").preset.name != ctx.preset.name:
    display(Markdown(f"gcl-24 (Table 5's claim) is read here at preset {ctx.preset.name}, on Table 1's runs and "
                     f"seeds; Table 5 below reads it again at its own preset, "
                     f"{plan.context(ctx, 'Table 5').preset.name}, on its own runs: two schedules, two verdicts."))

# %% [markdown]
# ## Per-class accuracy
#
# Beside the balanced reference (CE on a balanced subset as large as the long-tailed set, same network
# and schedule): its per-class accuracy is how hard each class is, a method's accuracy minus it is what
# the imbalance costs the class under that method.

# %% mystnb={"figure": {"caption": "Per-class test accuracy of CE, CE + mixup + cRT, GCL after stage 1 and the full GCL beside the balanced reference (dashed, left), and each minus the reference (right), classes in size order."}, "image": {"alt": "Per-class test accuracy of CE, CE + mixup + cRT, GCL after stage 1 and the full GCL beside the balanced reference (dashed, left), and each minus the reference (right), classes in size order."}} tags=["hide-input"]
pick = ["CE", "CE + mixup + cRT", "GCL (stage 1 only)", P.main]
reference_runs = plan.fetch("balanced reference")["CE, balanced"]
fig, per_class, balanced_acc = plots.per_class_accuracy({k: table1[k] for k in pick}, reference_runs, ctx)
plt.show()

# %% tags=["hide-input"]
E.show(ctx, "gcl", "Per-class accuracy")

# %% [markdown]
# ## Figure 1: CE's embedding on four classes
#
# The paper's Fig. 1 draws CE's features of four CIFAR-10-LT classes with 500, 200, 100 and 50
# training images (10%, 4%, 2% and 1% of the largest class) and reads a squeezed tail class and
# blurred borders into it. Here: the four Fashion-MNIST-LT classes whose counts are nearest those
# shares (in log scale), the first 50 training images of each (all, for a class with fewer) and
# 50 test images each, one t-SNE per set. A t-SNE picture shows neighbourhoods, not sizes: the
# verdicts under Figure 3 measure the spread and the separability instead.

# %% mystnb={"figure": {"caption": "Figure 1 here: t-SNE of CE's features on the four classes whose training counts are nearest the paper's shares of the largest class (500, 200, 100 and 50 of 5,000), training images (left) and test images (right), first seed."}, "image": {"alt": "Figure 1 here: t-SNE of CE's features on the four classes whose training counts are nearest the paper's shares of the largest class (500, 200, 100 and 50 of 5,000), training images (left) and test images (right), first seed."}} tags=["hide-input"]
from sklearn.manifold import TSNE
from ltnb.runs import derived

counts1 = np.asarray(ctx.counts)
names1 = plots.class_names(ctx)
name1 = lambda c: f"class {c}" + (f", {names1[c]}" if names1 else "")  # noqa: E731
four = [int(np.argmin(np.abs(np.log(counts1 / (share * counts1.max()))))) for share in (0.10, 0.04, 0.02, 0.01)]
ce0 = table1["CE"][0]
tr = derived.read(ce0, "train_features")
te = derived.read(ce0, "features")  # stored with a recording, else computed from a fresh run's network
sets = {"training images": (tr["train_features"], tr["train_feature_labels"]),
        "test images": (te["test_features"], te["test_labels"][te["feature_idx"]])}
fig, axes = plt.subplots(1, 2, figsize=(8, 3.8))
colours = plt.get_cmap("tab10")
def tsne(z):  # perplexity below the number of points (a smoke run keeps few images)
    z = np.asarray(z, dtype=float)
    return TSNE(n_components=2, init="pca", perplexity=min(30, max(1, len(z) - 1)), random_state=0).fit_transform(z)


for ax, (where, (z, y)) in zip(axes, sets.items()):
    keep = np.isin(y, four)
    if keep.sum() < 5:
        ax.text(0.5, 0.5, f"fewer than 5 {where} of these classes in this run's subset", ha="center",
                transform=ax.transAxes, fontsize=8)
        ax.set(title=f"CE, {where}", xticks=[], yticks=[])
        continue
    emb = tsne(np.asarray(z)[keep])
    for c in four:
        m = y[keep] == c
        ax.scatter(emb[m, 0], emb[m, 1], s=6, color=colours(c), label=f"{name1(c)} ({counts1[c]:,} training images)")
    ax.set(title=f"CE, {where}", xticks=[], yticks=[])
if axes[0].get_legend_handles_labels()[0]:
    axes[0].legend(fontsize=7, loc="best")
plots.stamp(fig, f"{ctx.stamp} (first seed)")
plt.show()

# %% tags=["hide-input"]
# a class's size is not how hard it is: the balanced reference (every class as large) says how hard each one is
display(Markdown(
    "Size and difficulty of the four classes: " + "; ".join(
        f"{name1(c)}: {counts1[c]:,} training images, CE {per_class['CE'][c]:.1f}% on its test images, the balanced "
        f"reference {balanced_acc[c]:.1f}%" for c in four)
    + f" (CE: {len(table1['CE'])} seed{'s' if len(table1['CE']) > 1 else ''}, the reference: {len(reference_runs)}; "
    "a reading, not a test). The hardest of them with balanced "
    f"training is {name1(four[int(np.argmin(balanced_acc[four]))])}: where the picture blurs two classes, part of it "
    "is how alike they look, not how few images one has."))

# %% [markdown]
# ## Figure 3: the embedding, CE against GCL
#
# t-SNE of the stored features before the classifier (first seed), on the training images (the
# first 50 of each class) and on the test images (50 per class), as the paper's Fig. 3 (a) and (b).
# The verdicts below measure what the picture suggests: each class's spread around its mean
# (unit-length test features, against the balanced reference's), and how separable the classes are
# (leave-one-out nearest-neighbour accuracy on the same training or test images).

# %% mystnb={"figure": {"caption": "t-SNE of the features before the classifier, first seed: CE (top) against GCL's stage 1 (bottom), on the training images (left, the first 50 of each class) and the test images (right, 50 per class)."}, "image": {"alt": "t-SNE of the features before the classifier, first seed: CE (top) against GCL's stage 1 (bottom), on the training images (left, the first 50 of each class) and the test images (right, 50 per class)."}} tags=["hide-input"]
fig, axes = plt.subplots(2, 2, figsize=(7.5, 7))
for row, name in zip(axes, ["CE", "GCL (stage 1 only)"]):
    run0 = table1[name][0]
    tr = derived.read(run0, "train_features")
    arr = derived.read(run0, "features")  # stored with a recording, else computed from a fresh run's network
    for ax, (where, z, y) in zip(row, [("training images", tr["train_features"], tr["train_feature_labels"]),
                                       ("test images", arr["test_features"], arr["test_labels"][arr["feature_idx"]])]):
        emb = tsne(z)
        sc = ax.scatter(emb[:, 0], emb[:, 1], c=y, cmap="tab10", s=4, vmin=0, vmax=9)
        ax.set(title=f"{name}, {where}", xticks=[], yticks=[])
fig.colorbar(sc, ax=axes, label="class (0: the largest)", shrink=0.6)
plots.stamp(fig, f"{ctx.stamp} (first seed)")
plt.show()

# %% tags=["hide-input"]
E.show(ctx, "gcl", "Figure 3")

# %% tags=["hide-input"]
display(Markdown(chapters.second_schedule(plan, ctx)))
E.show_moved(ctx, "gcl")  # the verdicts the sections above hold back: their runs are recorded at this preset only

# %% [markdown]
# ### Table 1 at the paper's imbalance factors
#
# The paper prints Table 1 at 200, 100 and 50. The same rows at the factors other than `imb` are the runs
# this chapter's plan builds when it is called at that factor (same configs, same seeds); they are read from
# the recordings or the run store, never trained here. A factor shows once all its runs are there.

# %% tags=["hide-input"]
t1_paper = reference.reported(paper="gcl", table="Table 1", dataset=lit)


def paper1(f):
    printed = t1_paper[t1_paper["imb"] == f]
    by_key = dict(zip(printed["key"], printed["value"]))
    return {row: f"{by_key[k]:g}" for row, k in KEYS.items() if k in by_key}


cols1 = factors.gather(plan, ctx.imb, table1)
report.show(factors.table(cols1, paper=paper1, paper_label=f"paper, {lit}-LT"), factors.stamp(ctx, cols1, plan),
            "Table 1 at the paper's imbalance factors: last-epoch test accuracy (%), overall and on the few classes (where the data set has any)")
factors.note(plan, ctx, cols1)

# %% [markdown]
# ### Table 3: cloud-size strategies
#
# Each strategy is a separate stage-1 run followed by the same CBEN cRT.

# %% tags=["hide-input"]
paper3 = dict(zip(["cos", "pow3", "pow4", "log"], paper_rows("Table 3")))
table3 = plan.fetch("Table 3")
extra3 = {name: {"paper, CIFAR-10-LT imb 100": f"{paper3[st]:g}"} for st, name in zip(P.strategies, table3)}
at3 = plan.context(ctx, "Table 3")  # the ablations: at the cpu preset when the chapter runs at one recorded for its main tables only
report.show(report.accuracy_table(table3, extra=extra3), at3.stamp, "Table 3: cloud-size strategy (CBEN + cRT)")
E.show(at3, "gcl", "Table 3")

# %% [markdown]
# ### Table 4: stage-2 samplers, and Table 5: re-training methods
#
# All on the same GCL backbone (the main runs' cloud size, parameter `cloud`). cRT re-trains the cosine classifier with
# the clouded loss; LWS and $\tau$-norm are Kang et al.'s. For a cosine classifier every
# $\lVert W_j\rVert$ is the same, so $\tau$-norm cannot change a prediction: it equals the
# stage-1 model here by construction.

# %% tags=["hide-input"]
paper4 = paper_rows("Table 4")
table4 = plan.fetch("Table 4")
extra4 = {label: {"paper, CIFAR-10-LT imb 100": f"{v:g}"} for label, v in zip(table4, paper4)}
report.show(report.accuracy_table(table4, extra=extra4), plan.context(ctx, "Table 4").stamp, "Table 4: sampler for cRT")

paper5 = paper_rows("Table 5")
table5 = plan.fetch("Table 5")
extra5 = {label: {"paper, CIFAR-10-LT imb 100": f"{v:g}"} for label, v in zip(table5, paper5)}
report.show(report.accuracy_table(table5, extra=extra5), plan.context(ctx, "Table 5").stamp, "Table 5: re-training method")
E.show(plan.context(ctx, "Table 5"), "gcl", "Tables 4 and 5")

# %% [markdown]
# ## Choices, and what differs from the paper

# %% tags=["hide-input"]
p = ctx.preset
notes = [
    f"Stage 1 follows the official CIFAR code: cosine classifier, s = {P.s:g}, noise multiplier "
    f"{P.noise_mul:g}, no target margin, mixup (α = 1) — on the book's shared schedule (batch {p.batch_size}); "
    "the official script uses batch 64.",
    "Stage 2 (read from the official code): the classifier starts from stage 1's, is trained with the "
    "clouded loss with a target margin 0.1 and s = 20; the paper only says it follows Kang et al. "
    "The official script also adds a focal term (γ = 1) and mixup in stage 2; here stage 2 trains on "
    f"stored features of un-augmented images, without mixup or focal term, for {p.stage2_epochs} epochs "
    "(official: 30 epochs, lr 0.2, batch 64).",
    "CBEN uses the paper's a = 0.999, b = 0.0009 (Sec. 4.2); the official sampler uses 0.9999 and 1e-5.",
    "τ-norm on a cosine classifier is the identity (all weight norms are equal), so Table 5's τ-norm row "
    "here equals w/o RT; the paper's 82.16 must come from a classifier that was not normalised.",
]
if ctx.dataset == "fmnist":
    notes.insert(0, "The data are **Fashion-MNIST-LT**: the paper's columns are CIFAR-10-LT numbers, "
                 "for the ordering of methods, not for their values.")
if p.name != "paper":
    notes.insert(1, f"The **{p.name}** preset: ResNet-32 at width {p.width:g}, {p.epochs} epochs.")
notes.append(f"{report.n_of(len(ctx.seeds), 'seed')}; last-epoch accuracy.")
display(Markdown("\n".join(f"* {n}" for n in notes)))

# %% [markdown]
# ## Things to try

# %% tags=["hide-input"]
from ltnb.claims import exercises

exercises.show("gcl", ctx=ctx)
