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
# # Every method on equal terms
#
# The five papers each compare against the others by quoting numbers from other codebases,
# other long-tailed subsets, other schedules and, now and then, the best epoch on the test set.
# The same baseline then carries very different numbers: CE on CIFAR-10-LT at imbalance 100 is
# 70.7 in one paper and 78.7 in another. This chapter trains every method of the book on **one**
# ResNet-32, **one** long-tailed subset, **one** schedule and the **same** seeds (0 and 1 for every
# method, and the further seeds recorded for the verdicts where they exist: the table counts them), and
# reads the last epoch only.
#
# Every row is the very run its chapter trains with the chapter's default parameters
# (a test keeps each row's run equal to its chapter's defaults),
# so a build that has made the chapters trains here only what is missing: extra seeds, the
# runs a chapter's reduced preset skips, and the combinations marked **new**, which no paper tried.
# L2A and ABS are post-hoc views of a stored run and cost no training.

# %% tags=["parameters"]
dataset = "auto"  # cifar10, cifar100, fmnist or auto: CIFAR-10 if present, else fmnist
imb = "auto"  # one imbalance factor, as in every chapter: imbs of that one factor; auto: imbs decides
imbs = "auto"  # imbalance factors, the first the main table's; auto: 100 under cpu and smoke, 100, 50 and 10 under paper
preset = "auto"  # smoke, cpu, cpu20, long, cpu80, paper or auto: paper on CUDA; else long where all its runs are recorded, else cpu
seed = "auto"  # one seed or a list of seeds, as in every chapter: the same as seeds; auto: seeds decides
seeds = "auto"  # training seeds, at least two for a spread; auto: 0 and 1 (0, 1, 2 under paper), trained where missing, and every further seed recorded or stored for a method (the seed groups), read only
device = "auto"  # cpu, cuda or auto
methods = "all"  # all, or a list of method names such as ["CE", "GCL"]
subset_seeds = "auto"  # other long-tailed subsets for the spread figure; auto: 1 and 2, or 1 under smoke
subset_methods = ["CE", "LDAM-DRW", "Balanced Softmax"]  # methods trained on the other subsets too
table_csv = ""  # a path: also write the table's numbers there (one CSV, a row per method and imbalance factor)

# %% tags=["hide-input"]
from ltnb.chapters import door, leaderboard as chapter

ctx, P, plan = door.open(chapter, globals())  # every knob above checked (and any the chapter does not take refused),
# the preset and device resolved, the runs planned and announced

import dataclasses
import math
from pathlib import Path

import numpy as np
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

from ltnb.claims import scores as L
from ltnb import chapters, data, plots, report, store
from ltnb import stats as V
from ltnb.claims import evidence as E
from ltnb.kernels.evaluate import not_probabilities
from ltnb.runs import derived

K = ctx.num_classes
chosen, spread = {f: P.chosen for f in imbs}, P.spread  # the methods shown; those shown on other subsets too
print(f"  {len(P.chosen)} method{'s' if len(P.chosen) != 1 else ''} · imbalance {', '.join(f'{f:g}' for f in imbs)} · "
      f"seeds {', '.join(map(str, seeds))} · other subsets {', '.join(map(str, subset_seeds))} for "
      f"{', '.join(e.name for e in spread)}")

# %% [markdown]
# ## The runs
#
# Stored runs (the chapters', a recorded one, or an earlier build's) are read; the rest are
# trained now. A stage-2 method trains on its stored stage-1 backbone.

# %% tags=["hide-input"]
before = {c.key: store.source(c) for c in plan.configs()}
runs = {f: plan.fetch(f"imb {f:g}") for f in imbs}
added = {f: [] for f in imbs}  # seeds beyond the chapter's, read where recorded (seeds "auto"): the seed groups
for f in imbs:
    if not P.more_seeds:
        break
    g = plan.groups[chapter.more_seeds_group(f)]
    for (name, sd), (r,) in sorted(plan.fetch(chapter.more_seeds_group(f)).items(), key=lambda kv: kv[0][1]):
        if all(derived.stored(r, k) is not None for k in g.derived.get((name, sd), ())):  # a view reads its arrays
            runs[f][name] = runs[f][name] + [r]
            added[f].append(r)


def stamp_at(f):  # the table's stamp at factor f, with the preset of its runs (cpu beside long's main table)
    return plan.context(ctx, f"imb {f:g}").stamp.replace(f"imb {imbs[0]:g}", f"imb {f:g}")


def table_stamp(f):  # the table's stamp, naming every seed read (the further seeds are those recorded)
    read = sorted({r.config.seed for rs in runs[f].values() for r in rs})
    return stamp_at(f).replace(f"seeds {','.join(map(str, seeds))}", f"seeds {','.join(map(str, read))} (where recorded)"
                               if read != sorted(seeds) else f"seeds {','.join(map(str, seeds))}")


subsets = plan.fetch("subsets")
read = sum(v is not None for v in before.values())
more = sorted({r.config.seed for rs in added.values() for r in rs})  # the further seeds read
print(f"{len(before)} stage-1 and stage-2 runs behind the table: {read} read "
      f"({sum(v == 'recorded' for v in before.values())} from the recordings), {len(before) - read} trained now"
      + (f"; and, where recorded for the verdicts, seed{'s' if len(more) > 1 else ''} {', '.join(map(str, more))} of "
         f"{sum(map(len, added.values()))} rows ({len({r.config.key for rs in added.values() for r in rs})} training "
         "runs, the rest post-hoc views of them): the column 'seeds' says how many stand behind each row"
         if more else ""))

# %% [markdown]
# ## The table
#
# Last-epoch test accuracy (%), mean ± standard deviation over the method's seeds (the chapter's seeds,
# and every further seed recorded for the verdicts: the column "seeds" counts them), overall and on the
# many (> 100 training images), medium (20–100) and few (< 20) classes; expected calibration error
# (15 bins); trainable parameters of the network that predicts; training seconds of the method
# (a stage-2 method counts its backbone too) and where they were measured. The column "papers
# (CIFAR)" is what the papers print for the method on CIFAR-10-LT at the same imbalance factor:
# the proposing paper's own number, else the median of the papers' quotes.
#
# **Which gaps are real.** The column "against CE" judges each method's gap to CE by the two
# methods' own seeds (all runs on the same long-tailed subset; the spread over subsets is shown
# below): Welch's 95% interval of the difference of the means, or the paired interval where the
# method reads CE's own runs (a stage 2 or a post-hoc view on CE's network: paired on the seeds both have; the line under the table names them). "indistinguishable"
# means the seeds cannot tell, not that the methods are equal; under 3 seeds a side the column says
# "too few runs". No noise is borrowed from other methods.


# %% tags=["hide-input"]
def load(cfg):
    return store.load(cfg)


def row(entry, rs, f):
    scored = [L.score(entry, r) for r in rs]
    out = {"method": entry.name + (" (new)" if entry.new else ""), "chapter": entry.chapter, "family": entry.family}
    for split in ("accuracy", "many", "medium", "few"):
        m, s = L.summarise([x.get(split, math.nan) for x in scored])
        out[split], out[split + "_std"] = m, s
        out[split + "_values"] = [100 * x.get(split, math.nan) for x in scored]
    probabilities = not not_probabilities(rs[0].config.stage2, rs[0].metrics.get("prediction"), entry.view)
    out["ece"] = L.summarise([x["ece"] for x in scored])[0] if probabilities else math.nan
    out["parameters"] = L.parameters(rs[0].config)
    out["seconds"] = float(np.mean([L.cost_seconds(r, load) for r in rs]))
    out["device"] = store.trained_on([r.config for r in rs])  # with CPU threads: 1 and 2 threads differ in the last bits
    out["seeds"] = len(rs)
    out["seed_list"] = " ".join(str(r.config.seed) for r in rs)
    out["claimed"] = L.claimed(entry, "cifar100" if K == 100 else "cifar10", int(f)) if f == int(f) else math.nan
    out["new"] = entry.new
    out["values"] = [100 * x["accuracy"] for x in scored]
    return out


tables, against_ce = {}, {}
for f in imbs:
    df = pd.DataFrame([row(e, runs[f][e.name], f) for e in chosen[f]]).set_index("method")
    if "CE" in df.index:  # each method against CE by their own seeds: paired where it reads CE's own runs
        run_of = {e.name + (" (new)" if e.new else ""): runs[f][e.name] for e in chosen[f]}
        against_ce[f] = {name: L.against(v, run_of[name], df.loc["CE", "values"], runs[f]["CE"])
                         for name, v in df["values"].items() if name != "CE"}
        df["vs_ce"] = ["" if name == "CE" else against_ce[f][name][1] for name in df.index]
    tables[f] = df.sort_values("accuracy", ascending=False)


def seed_range(df) -> str:
    """How many seeds stand behind the table's rows: "3 seeds a method", or "2 to 4 seeds a method"."""
    lo, hi = int(df["seeds"].min()), int(df["seeds"].max())
    return f"{lo} seed{'s' if hi > 1 else ''} a method" if lo == hi else f"{lo} to {hi} seeds a method"


def cell(m, s):
    return "–" if m != m else (f"{m:.2f}" if s != s else f"{m:.2f} ± {s:.2f}")


for f, df in tables.items():
    shown = pd.DataFrame({
        "overall": [cell(m, s) for m, s in zip(df["accuracy"], df["accuracy_std"])],
        **{k: [cell(m, s) for m, s in zip(df[k], df[k + "_std"])] for k in ("many", "medium", "few")},
        "ECE": ["–" if e != e else f"{e:.2f}" for e in df["ece"]],
        "parameters": [f"{p:,}" for p in df["parameters"]],
        "train s": [f"{s:,.0f}" for s in df["seconds"]],
        "device": df["device"], "seeds": df["seeds"], "chapter": df["chapter"],
        "papers (CIFAR)": ["" if c != c else f"{c:.2f}" for c in df["claimed"]],
        "against CE": df.get("vs_ce", pd.Series("", index=df.index)).replace(
            {"above": "above CE", "below": "below CE", "indistinguishable": "indistinguishable from CE"}),
    }, index=df.index)
    report.show(shown, table_stamp(f),
                f"Leaderboard, {ctx.dataset}-LT at imbalance {f:g}: last-epoch test accuracy (%), ECE (%)")
    n_seeds = sorted({int(n) for n in df["seeds"]})
    verdicts_ce = df.get("vs_ce", pd.Series("", index=df.index)).drop("CE", errors="ignore")
    n_few = int(verdicts_ce.str.startswith("too few").sum())
    n_tests = len(verdicts_ce) - n_few
    few_words = f" ({n_few} more with too few runs to test)" if n_few else ""
    paired = [name for name in df.index if name != "CE" and L.paired_on(run_of[name], runs[f]["CE"])]
    print(f"imbalance {f:g}: 'against CE' judges each gap by the two methods' own seeds ({' or '.join(map(str, n_seeds))}"
          f" a method here): Welch's 95% interval, paired on the seeds both have where a method reads CE's own "
          f"runs ({', '.join(paired) or 'none here'}); a verdict needs 3 seeds a side. Each of the "
          f"{n_tests} gaps tested{few_words} is a test at 5%, with no correction for their number: if no method "
          f"differed from CE, chance alone would still put about {0.05 * n_tests:.1f} of them beyond the noise (the "
          f"Claims page controls the false discovery rate over its own tests)")
display(Markdown(report.ECE_NOTE))
E.show(dataclasses.replace(ctx, seeds=tuple(sorted({r.config.seed for rs in runs[imbs[0]].values() for r in rs}))),
       "leaderboard", "The table")  # the box says which seeds the table above reads: the chapter's and those recorded

if table_csv:
    Path(table_csv).parent.mkdir(parents=True, exist_ok=True)
    pd.concat([df.drop(columns=[c for c in df.columns if c == "values" or c.endswith("_values")]).assign(imb=f) for f, df in tables.items()]).assign(
        dataset=ctx.dataset, preset=ctx.preset.name).to_csv(table_csv, float_format="%.4f")
    print(f"table written to {table_csv}")

# %% [markdown]
# ## Accuracy by split
#
# The overall number hides how each method shares its accuracy out between the many, medium and
# few classes; the sentence under the figure says whether, here, lifting the tail costs the head.

# %% mystnb={"figure": {"caption": "Accuracy by split for every method: bars for the many, medium and few classes (a split with no class at this factor is not drawn), diamonds for overall; error bars are the spread over seeds."}, "image": {"alt": "Accuracy by split for every method: bars for the many, medium and few classes (a split with no class at this factor is not drawn), diamonds for overall; error bars are the spread over seeds."}} tags=["hide-input"]
SPLIT_COLORS = {"many": "#4477aa", "medium": "#66ccee", "few": "#ee6677"}
for f, df in tables.items():
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(df) + 1.2))
    y = np.arange(len(df))[::-1]
    h = 0.26
    for i, split in enumerate(("many", "medium", "few")):
        if df[split].isna().all():  # no class at this factor: not drawn, not in the legend
            continue
        ax.barh(y + (1 - i) * h, df[split], height=h, xerr=np.nan_to_num(df[split + "_std"]),
                color=SPLIT_COLORS[split], label=split, error_kw=dict(lw=0.6))
    ax.plot(df["accuracy"], y, "kD", ms=4, label="overall")
    ax.set_yticks(y, df.index, fontsize=7)
    ax.set_xlabel("last-epoch test accuracy (%)")
    ax.set_title(f"accuracy by split, imbalance {f:g}", loc="left")
    ax.legend(ncol=4, loc="lower right", fontsize=7)
    plots.stamp(fig, table_stamp(f))
    plt.show()

# %% tags=["hide-input"]
def _split_words(counts, split: str) -> str:
    """Which classes a split holds, with their training images: its size, not how hard its classes are."""
    idx = data.many_medium_few(counts)[split]
    return (f"{len(idx)} class{'es' if len(idx) != 1 else ''}: " +
            ", ".join(f"{i} ({counts[i]} training images)" for i in idx))


for f, df in tables.items():  # the sentence under the figure: does lifting the tail cost the head here?
    tail = "few" if df["few"].notna().any() else "medium"
    ok = df[["many", tail]].dropna()
    if len(ok) < 4:  # a rank correlation needs 4 methods at least
        print(f"imbalance {f:g}: {len(ok)} method{'s' if len(ok) != 1 else ''} with the {tail} split, too few to say "
              "whether lifting the tail costs the head")
        continue
    rho_trade, crit = V.spearman(ok[tail], ok["many"]), V.critical_rho(len(ok))
    display(Markdown(
        f"At imbalance {f:g}, over {len(ok)} methods (means over their seeds, {seed_range(df.loc[ok.index])}), the "
        f"{tail}-class accuracy and the "
        f"many-class accuracy have Spearman's ρ = {rho_trade:+.2f} (|ρ| beyond {crit:.2f} is beyond chance at 5%, for "
        "independent rows; a post-hoc view and the run it reads are not, so take the bound as a guide): "
        + ("methods that lift the tail give some of the head back here." if rho_trade < -crit else
           "the methods that lift the tail also hold the head here." if rho_trade > crit else
           "no trade between head and tail can be told from these methods.")
        + ("" if tail == "few" else
           " (No class has fewer than 20 training images here: the medium split holds the tail, "
           + _split_words(data.lt_counts(ctx.counts[0], K, f), "medium") + ".)")
        + " A reading of means across methods, not a tested trade-off."))

# %% [markdown]
# ## Accuracy against cost
#
# Training seconds on the device of the runs (a stage-2 method includes its backbone; a post-hoc
# view costs what its stored run cost). Points up and to the left are the bargains.

# %% mystnb={"figure": {"caption": "Accuracy against training seconds (log scale; a stage-2 method includes its backbone): up and to the left are the bargains."}, "image": {"alt": "Accuracy against training seconds (log scale; a stage-2 method includes its backbone): up and to the left are the bargains."}} tags=["hide-input"]
FAMILY = {"one stage": "o", "two stage": "s", "post hoc": "^", "ensemble": "D"}
for f, df in tables.items():
    fig, ax = plt.subplots(figsize=(8, 0.22 * len(df) + 3))
    colour = {}
    for fam, marker in FAMILY.items():
        d = df[df["family"] == fam]
        bars = ax.errorbar(d["seconds"], d["accuracy"], yerr=np.nan_to_num(d["accuracy_std"]), fmt=marker, ms=5,
                           capsize=2, lw=0.8, label=fam)
        colour.update({name: bars[0].get_color() for name in d.index})
    ax.set_xscale("log")
    ax.set_xlabel(f"training seconds ({', '.join(sorted(set(df['device'])))})")
    ax.set_ylabel("overall accuracy (%)")
    ax.set_title(f"accuracy against training cost, imbalance {f:g}", loc="left")
    ax.legend(fontsize=7, loc="lower left")
    plots.label_column(ax, [(r["seconds"], r["accuracy"], name, colour.get(name, "0.3")) for name, r in df.iterrows()],
                       1.02)  # a column of names right of the axes, each joined to its point
    plots.stamp(fig, table_stamp(f))
    plt.show()
rates = {r.config.key: (L.parameters(r.config), r.metrics.get("train_images_per_second", math.nan))
         for e in chosen[imbs[0]] for r0 in runs[imbs[0]][e.name] for r in L.lineage(r0, load) if not r.config.stage2}
lo, hi, n_rate = L.throughput_spread(rates)
if n_rate >= 2 and hi > 1.5 * lo:
    print(f"these are wall-clock seconds: {n_rate} stage-1 runs of the same network trained at {lo:,.0f} to "
          f"{hi:,.0f} images/s ({hi / lo:.1f}×), on 2-core machines that differ and under a load beside them that "
          f"varied while they were recorded, so a cost gap under {hi / lo:.1f}× between two methods says more about "
          "the machine than about the methods")

# %% [markdown]
# ## What picking the epoch on the test set adds
#
# The unified codebases and the official scripts of LDAM-DRW, GCL and MiSLAS and the official LGLA configs report the best test
# accuracy over the epochs, an epoch picked on the test set. Every run here records its test accuracy
# after each epoch, so the same pick can be made after the fact: the table puts it beside the
# last-epoch number, **labelled as the field's practice and never used for ranking**. For a two-stage
# method the pick is among its stage-2 epochs on the last-epoch backbone; a post-hoc view has no epochs.

# %% tags=["hide-input"]
f = imbs[0]
rows_b = []
for e in chosen[f]:
    rs = runs[f][e.name]
    best = [L.best_on_test(r) for r in rs] if e.view == "run" else []
    if not best or not all(best):
        continue
    last, picked = [100 * r.metrics["accuracy"] for r in rs], [100 * b[0] for b in best]
    rows_b.append({"method": e.name, "last epoch": np.mean(last), "last_std": np.std(last, ddof=1) if len(rs) > 1 else math.nan,
                   "best on test": np.mean(picked), "best_std": np.std(picked, ddof=1) if len(rs) > 1 else math.nan,
                   "best epochs": ", ".join(str(b[1]) for b in best),
                   "epochs": len(rs[0].metrics["history"]["test_acc"]),
                   "inflation": np.mean(np.subtract(picked, last)), "inflation_std": np.std(np.subtract(picked, last))})
best_df = pd.DataFrame(rows_b).set_index("method").sort_values("last epoch", ascending=False)
if len(best_df):
    best_df["rank, last epoch"] = best_df["last epoch"].rank(ascending=False, method="min").astype(int)
    best_df["rank, best on test"] = best_df["best on test"].rank(ascending=False, method="min").astype(int)
    report.show(pd.DataFrame({
        "last epoch": [cell(m, s) for m, s in zip(best_df["last epoch"], best_df["last_std"])],
        "best on test (the field's practice)": [cell(m, s) for m, s in zip(best_df["best on test"], best_df["best_std"])],
        "inflation (points)": [f"{v:+.2f}" for v in best_df["inflation"]],
        "best epoch(s) of": [f"{b} of {n}" for b, n in zip(best_df["best epochs"], best_df["epochs"])],
        "rank: last / best": [f"{a} / {b}" for a, b in zip(best_df["rank, last epoch"], best_df["rank, best on test"])],
    }, index=best_df.index), table_stamp(f), "Last epoch against the epoch picked on the test set (%)")

# %% mystnb={"figure": {"caption": "How many points picking the epoch on the test set adds to each method's last-epoch accuracy (the field's practice, never used for ranking here)."}, "image": {"alt": "How many points picking the epoch on the test set adds to each method's last-epoch accuracy (the field's practice, never used for ranking here)."}} tags=["hide-input"]
if len(best_df):
    fig, ax = plt.subplots(figsize=(7, 0.28 * len(best_df) + 1.2))
    order = best_df.sort_values("inflation")
    ax.barh(np.arange(len(order)), order["inflation"], xerr=np.nan_to_num(order["inflation_std"]), color="#cc6677",
            error_kw=dict(lw=0.6))
    ax.set_yticks(np.arange(len(order)), order.index, fontsize=7)
    ax.set_xlabel("best-on-test minus last-epoch accuracy (points)")
    ax.set_title(f"how much picking the epoch on the test set adds, imbalance {f:g}", loc="left")
    plots.stamp(fig, table_stamp(f))
    plt.show()
    moved = best_df[best_df["rank, last epoch"] != best_df["rank, best on test"]]
    shift = int((best_df["rank, last epoch"] - best_df["rank, best on test"]).abs().max())
    rho_b = float(best_df["rank, last epoch"].corr(best_df["rank, best on test"], method="spearman"))
    n_best = sorted({len(runs[f][m]) for m in best_df.index})
    print(f"inflation (means over {n_best[0]}{'' if len(n_best) == 1 else f' to {n_best[-1]}'} seeds a method): "
          f"mean {best_df['inflation'].mean():.2f} points, largest {best_df['inflation'].max():.2f} "
          f"({best_df['inflation'].idxmax()}); {len(moved)} of {len(best_df)} methods change rank when the epoch is "
          f"picked on the test set, by at most {shift} place{'s' if shift != 1 else ''} "
          f"(Spearman ρ between the two rankings {rho_b:.3f})")
timed = {r.config.key: r for e in chosen[f] for rs in [runs[f][e.name]] for r0 in rs for r in L.lineage(r0, load)}
n_ev, med_ev, share_ev = L.eval_cost(timed.values())
if n_ev:
    print(f"what the per-epoch test accuracy costs: {n_ev} of these runs timed it, a median {med_ev:.0f} s of "
          f"evaluation a run, {100 * share_ev:.0f}% on top of their training time (the Performance page gives it "
          "for the whole book and on a GPU)")

# %% [markdown]
# ## Accuracy under shifted test priors
#
# The balanced test set is one choice. Following SADE's protocol, the same runs are scored on test
# sets whose classes follow a long tail (forward, the training order) or an inverted one (backward,
# the tail classes most frequent) at imbalance 50 and 10: the accuracy under prior $\pi$ is
# $\sum_c \pi_c\,\mathrm{acc}_c$, from each run's per-class test accuracy. Nothing is trained.

# %% tags=["hide-input"]
prior_rows, prior_runs = {}, {}
for e in chosen[f]:
    scored = [L.score(e, r) for r in runs[f][e.name]]
    pcs = [np.asarray(x["per_class"]) for x in scored]
    prior_runs[e.name] = {name: [100 * x["accuracy"] for x in scored] if rho == 1.0  # the table's own number
                          else [100 * L.prior_accuracy(pc, L.lt_prior(K, rho, inv)) for pc in pcs]
                          for name, rho, inv in L.SHIFTED_PRIORS}
    prior_rows[e.name] = {name: float(np.mean(v)) for name, v in prior_runs[e.name].items()}
priors = pd.DataFrame(prior_rows).T.sort_values("uniform", ascending=False)
report.show(priors.map(lambda v: f"{v:.2f}"), table_stamp(f),
            f"Accuracy (%) under shifted test priors, imbalance {f:g} (mean over each method's seeds: "
            f"{seed_range(tables[f])})")
display(Markdown("\n".join(
    "* " + L.best_beyond_noise({m: prior_runs[m][p] for m in prior_runs}, f"under {label}")
    for p, label in (("forward 50", "forward 50"), ("uniform", "the balanced test set"), ("backward 50", "backward 50")))))

# %% [markdown]
# ## Provenance
#
# Every row of the table is a run (or a view of one) with a key. The table below gives each run's
# key; `python -m ltnb.record --show KEY` prints its config and its per-epoch log, and
# `LTNB_RECORDED=/nonexistent python -m ltnb.record --retrain KEY` trains it again from scratch
# (hours at the `paper` preset without a GPU).

# %% tags=["hide-input"]
VIEW_WORDS = {"run": "", "l2a": "post hoc: L2A's angular logits on its features",
              "l2a_s2": "post hoc: L2A's angular logits after its stage 2",
              "abs": "post hoc: ABS's calibration of its angular probabilities"}
prov = {}
for e in chosen[f]:
    rs = runs[f][e.name]
    prov[e.name] = {"seeds": ", ".join(str(r.config.seed) for r in rs), "keys (seed by seed)": " ".join(r.config.key for r in rs),
                    "stage-1 backbone": " ".join(r.config.parent.key for r in rs) if rs[0].config.stage2 else "",
                    "read as": VIEW_WORDS[e.view], "run label (as make plan lists it)": rs[0].config.label}
report.show(pd.DataFrame(prov).T, table_stamp(f), "Runs behind the table")
if table_csv:
    log = [{"method": e.name, "seed": r.config.seed, "key": r.config.key, "epoch": ep, "test_acc": acc,
            "train_loss": h.get("loss", [None] * len(h["test_acc"]))[i]}
           for e in chosen[f] for r in runs[f][e.name] for h in [r.metrics.get("history", {})]
           for i, (ep, acc) in enumerate(zip(h.get("epoch", []), h.get("test_acc", [])))]
    epochs_csv = Path(table_csv).with_name(Path(table_csv).stem + "-epochs.csv")
    pd.DataFrame(log).to_csv(epochs_csv, index=False, float_format="%.4f")
    print(f"per-epoch logs written to {epochs_csv}")

# %% [markdown]
# ## The ranking here against the papers' numbers lined up
#
# Left: each method's rank by measured accuracy here; right: its rank by the number the papers
# print for it (the proposing paper's own number, else the median of the papers' quotes;
# CIFAR-10/100-LT, so the levels differ). The right column lines up numbers from five papers, each
# measured against its own baselines on its own schedule: it is **not an order any paper claims**,
# only what a reader who puts their tables side by side would take away. The claims the papers do
# make, method against method, are tested in their chapters and on the Claims page. Below, for each
# method that two papers or more quote: every number they quote for it in the same setting.

# %% mystnb={"figure": {"caption": "Ranks measured here against the ranks of the papers' printed numbers lined up across papers, an order no single paper claims (red: moved three places or more; ranks of means with no noise test, which 'against CE' gives)."}, "image": {"alt": "Ranks measured here against the ranks of the papers' printed numbers lined up across papers, an order no single paper claims (red: moved three places or more; ranks of means with no noise test, which 'against CE' gives)."}} tags=["hide-input"]
f = imbs[0]
df = tables[f]
claims = df[df["claimed"] == df["claimed"]]
if len(claims) >= 2:
    measured_rank = claims["accuracy"].rank(ascending=False)
    claimed_rank = claims["claimed"].rank(ascending=False)
    fig, ax = plt.subplots(figsize=(6, 0.3 * len(claims) + 1.5))
    for name in claims.index:
        a, b = measured_rank[name], claimed_rank[name]
        ax.plot([0, 1], [a, b], "-o", ms=4, color="#ee6677" if abs(a - b) >= 3 else "0.6", lw=1)
        ax.text(-0.03, a, f"{name} {claims.loc[name, 'accuracy']:.1f}", ha="right", va="center", fontsize=7)
        ax.text(1.03, b, f"{claims.loc[name, 'claimed']:.1f} {name}", ha="left", va="center", fontsize=7)
    ax.set_xlim(-0.9, 1.9)
    ax.invert_yaxis()
    ax.set_xticks([0, 1], [f"measured here ({ctx.dataset})", "papers' numbers, lined up (CIFAR)"])
    ax.set_yticks([])
    ax.set_title(f"rank, imbalance {f:g} (red: moved 3 places or more)", loc="left")
    plots.stamp(fig, table_stamp(f))
    plt.show()
    rho = float(np.corrcoef(measured_rank, claimed_rank)[0, 1])
else:
    rho = math.nan
    print("fewer than two methods with a number in the papers: no ranking to compare")

# %% mystnb={"figure": {"caption": "For each method two papers or more quote: every number they quote for it in the same setting (CIFAR, grey), and the one measured here (red diamond)."}, "image": {"alt": "For each method two papers or more quote: every number they quote for it in the same setting (CIFAR, grey), and the one measured here (red diamond)."}} tags=["hide-input"]
quoted = [(e.name, L.quotes(e, "cifar100" if K == 100 else "cifar10", int(f))) for e in chosen[f]]
quoted = [(n, q) for n, q in quoted if len({p for p, _ in q}) >= 2]
if quoted:
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(quoted) + 1.2))
    for i, (name, q) in enumerate(quoted):
        by_value = {}
        for paper, value in q:  # one label for the papers that quote the same number
            by_value.setdefault(value, []).append(paper)
        last, up = None, True
        for value, papers in sorted(by_value.items()):
            ax.plot(value, i, "o", color="0.3")
            up = not up if last is not None and value - last < 1.5 else True  # near neighbours: above, then below
            ax.annotate(", ".join(papers), (value, i), fontsize=6, xytext=(0, 5 if up else -10),
                        textcoords="offset points", ha="center")
            last = value
        ax.plot(tables[f].loc[name, "accuracy"], i, "D", color="#ee6677", label="measured here" if i == 0 else None)
    ax.set_yticks(range(len(quoted)), [n for n, _ in quoted], fontsize=8)
    ax.set_xlabel("top-1 accuracy (%)")
    ax.set_title("one method, several numbers: what each paper quotes (CIFAR) and what is measured here", loc="left",
                 fontsize=9)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_ylim(-0.6, len(quoted) - 0.4)
    plots.stamp(fig, table_stamp(f))
    plt.show()

# %% [markdown]
# ## How the ranking moves with the training budget
#
# The table above comes from the chapter's preset (its stamp says which: 10 epochs at `cpu`, 40 at `long`), and
# the papers train for 200: a method that pays
# off late (mixup is the usual suspect) can rank lower here than it would there. Here the same network (ResNet-32 at width
# 0.5) and the same schedule shape (a tenth of the epochs of warm-up, 10× decays at 80% and 90%, DRW
# from 80%) run 20 and 40 epochs (the presets `cpu20` and `long`) for every stage-1 run of the table,
# and 80 epochs (`cpu80`) for a core set: CE, CE + mixup (MiSLAS's stage 1), LDAM-DRW, Balanced
# Softmax, GCL's stage 1, CW and BET. A stage-2 method re-trains its classifier for 10 epochs on the
# backbone of that budget. One seed (the table's first) at every budget, the 10-epoch column included,
# so every column is on equal terms. A difference between two single runs has no noise estimate of its
# own, so this section judges no move between budgets: its tables are readings, with Spearman's ρ of each
# budget's order beside the ρ between two seeds of the table's own schedule (how far a change of seed alone
# reorders the same methods). Seeds 1 and 2 of the core set at 20 and 80 epochs are planned (`make plan`,
# tier 6) so that its moves can be judged by their own seeds. Only recorded runs are shown: the chapter
# never trains these (hours on a CPU); `make record` does, resumably.

# %% tags=["hide-input"]
from ltnb import claims as CL
from ltnb.claims import budget_axis as BA
from ltnb.presets import BUDGETS

f, s0 = imbs[0], seeds[0]
budget_plan = plan.groups.get("budget")
bt, got = BA.accuracies(plan, runs[f], chosen[f], ctx.preset.epochs)
print(BA.recorded_line(plan, got, ctx.preset, f, s0))
budgets_shown = [b for b in bt.columns if bt[b].notna().sum() >= 2] if len(bt) else []
preset_of = {b: BUDGETS[b] if budget_plan is not None else ctx.preset.name for b in budgets_shown}

# %% mystnb={"figure": {"caption": "Accuracy against the training budget: left, each method's last-epoch accuracy at the budgets recorded of 10, 20, 40 and 80 epochs (one seed; thick lines: the core set recorded at 80 epochs, CE, CE + mixup, LDAM-DRW, Balanced Softmax, CW and BET, with GCL and MiSLAS on their 80-epoch networks); right, its rank at each budget among the methods recorded at every budget shown (the others have no rank line)."}, "image": {"alt": "Accuracy against the training budget: left, each method's last-epoch accuracy at the budgets recorded of 10, 20, 40 and 80 epochs (one seed; thick lines: the core set recorded at 80 epochs, CE, CE + mixup, LDAM-DRW, Balanced Softmax, CW and BET, with GCL and MiSLAS on their 80-epoch networks); right, its rank at each budget among the methods recorded at every budget shown (the others have no rank line)."}} tags=["hide-input"]
fig, ranks_b = BA.figure(bt, budgets_shown, ctx.preset.epochs, f, s0)
plots.stamp(fig, ctx.stamp.replace(f"preset {ctx.preset.name}", "presets " + ", ".join(
    preset_of.values())).replace(f"seeds {','.join(map(str, seeds))}", f"seed {s0}"))
plt.show()

# %% tags=["hide-input"]
if len(budgets_shown) >= 2:
    longest = max(budgets_shown)
    stamp_b = ctx.stamp.replace(f"preset {ctx.preset.name}", "budget presets").replace(
        f"seeds {','.join(map(str, seeds))}", f"seed {s0}")
    ranked = ranks_b.reindex(bt.index)  # a rank only among the methods at every budget shown
    shown_b = pd.DataFrame({f"{b} epochs": [("–" if v != v else f"{v:.2f}" + (f" ({int(k)})" if k == k else ""))
                                             for v, k in zip(bt[b], ranked[b])] for b in budgets_shown}, index=bt.index)
    shown_b = shown_b.loc[bt[longest].dropna().sort_values(ascending=False).index.tolist()
                          + bt[bt[longest].isna()].sort_values(min(budgets_shown), ascending=False).index.tolist()]
    report.show(shown_b, stamp_b,
        f"Last-epoch test accuracy (%) at each budget and, in brackets, the rank among the {len(ranks_b)} methods "
        f"recorded at every budget shown, imbalance {f:g}, seed {s0}")
    rc = L.rank_correlations(bt[budgets_shown], against=longest)
    for b in budgets_shown:  # the budget before each: how much one doubling moves the order
        prev = [x for x in budgets_shown if x < b]
        rc.loc[b, "ρ with the budget before"] = (L.rank_correlations(bt[[prev[-1], b]], against=b).loc[prev[-1], "rho"]
                                                  if prev else math.nan)
    report.show(pd.DataFrame({
        f"Spearman ρ with {longest} epochs": [f"{v:+.2f}" for v in rc["rho"]],
        "methods at both": rc["methods"].astype(int).to_numpy(),
        "5% critical ρ": ["–" if v != v else f"{v:.2f}" for v in rc["critical"]],
        "ρ with the budget before": ["–" if v != v else f"{v:+.2f}" for v in rc["ρ with the budget before"]],
    }, index=pd.Index([f"{b} epochs" for b in rc.index], name="budget")),
        stamp_b, "How much the ranking moves with the budget")
    # what one seed a budget can see: a difference of two single runs has no noise estimate of its own, so no move
    # between budgets is judged here; the seed groups (make plan, tier 6) record seeds 1 and 2 of the core set
    from ltnb import record as R

    tier6 = [it for p in ("cpu20", "cpu80") for it in R.seed_items(p, ctx.dataset)]
    done6 = sum(R.recorded(it) for it in tier6)
    if len(seeds) >= 2:
        by_seed = [pd.Series({e.name: 100 * L.score(e, runs[f][e.name][i])["accuracy"] for e in chosen[f]
                              if len(runs[f][e.name]) > i}) for i in (0, 1)]
        both_seeds = by_seed[0].index.intersection(by_seed[1].index)
        rho_seeds = V.spearman(by_seed[0][both_seeds], by_seed[1][both_seeds])
        seeds_line = (f" For scale, two seeds of the same {ctx.preset.epochs}-epoch schedule (seeds {seeds[0]} and "
                      f"{seeds[1]}) order the same {len(both_seeds)} methods with ρ = {rho_seeds:+.2f}: a ρ between "
                      "budgets at or above that is within what retraining alone moves; below it, the budget "
                      "reorders the methods more than a change of seed does (one run a side: a reading).")
    else:
        seeds_line = ""
    print(f"One run a method at each budget (seed {s0}): a difference of two single runs has no noise estimate of "
          f"its own, so this page judges no move of the ranking between budgets, neither that it moves nor that it "
          f"settles; the tables above are readings.{seeds_line} Seeds 1 and 2 of the core set at 20 and 80 epochs "
          f"(make plan, tier 6) give each core method 3 runs a budget: {done6} of {len(tier6)} recorded.")
    changes = L.gap_sign_changes(bt[budgets_shown]) if "CE" in bt.index else pd.DataFrame()
    if len(changes):
        report.show(changes.assign(**{"gap before": changes["gap before"].map("{:+.2f}".format),
                                       "gap after": changes["gap after"].map("{:+.2f}".format)}).set_index("method"),
                    stamp_b,
                    "Where a method's gap to CE changes sign between budgets (points; one run a side at each "
                    "budget: a reading, not a test)")
    common = L.budget_ranks(bt[[min(budgets_shown), longest]].dropna())  # ranks among the methods run at both
    moved = common[min(budgets_shown)] - common[longest]
    print(f"from {min(budgets_shown)} to {longest} epochs: Spearman ρ = {rc.loc[min(budgets_shown), 'rho']:+.2f} over "
          f"{int(rc.loc[min(budgets_shown), 'methods'])} methods; the largest climb "
          f"{report.words(list(moved[moved == moved.max()].index))} "
          f"({int(moved.max()):+d} places among them), the largest fall "
          f"{report.words(list(moved[moved == moved.min()].index))} ({int(moved.min()):+d}); "
          f"{len(changes)} gap{'s' if len(changes) != 1 else ''} to CE change sign (one run a side)")
    # the table's claims at each budget, one seed each, and those whose verdict moves
    cl = CL.of_chapter("leaderboard", "The table")
    at = {b: E.Setting(ctx.dataset, f, BUDGETS[b]) for b in budgets_shown}  # every recorded seed
    vb = {(c.id, b): E.evaluate(c, at[b]) for c in cl for b in budgets_shown}
    judged = {c.id: [b for b in budgets_shown if vb[(c.id, b)].verdict not in (E.MISSING, V.TOO_FEW)] for c in cl}
    comparable = [c for c in cl if len(judged[c.id]) > 1]  # a verdict from 3 seeds a side at two budgets or more
    moving = [c for c in comparable if len({vb[(c.id, b)].verdict for b in judged[c.id]}) > 1]
    shown_b = [c for c in cl if len({vb[(c.id, b)].verdict for b in budgets_shown} - {E.MISSING}) > 1]
    if shown_b:
        def seeds_at(b):  # the seeds a side the verdicts read at budget b: "1", "2 to 3"
            ns = sorted({n for c in shown_b for n in vb[(c.id, b)].seeds}) or [0]
            return f"{ns[0]} seed{'s' if ns[0] != 1 else ''}" if ns[0] == ns[-1] else f"{ns[0]} to {ns[-1]} seeds"

        report.show(pd.DataFrame({f"{b} epochs ({seeds_at(b)} a side)": [vb[(c.id, b)].verdict for c in shown_b]
                                  for b in budgets_shown},
                                 index=pd.Index([f"{c.id}: {c.text}" for c in shown_b], name="claim")),
                    stamp_b.replace(f"seed {s0}", "every recorded seed"),
                    "The table's claims whose verdict differs between budgets (every recorded seed at each budget; "
                    "'too few runs' where a budget has under 3 seeds a side)")
    print(f"{len(moving)} of {len(cl)} claims tested on this table change verdict with the budget where two budgets or "
          f"more read 3 seeds a side ({len(comparable)} of the {len(cl)} can be compared so; a change to or from 'too "
          "few runs' is a change of seeds, not of budget); the Claims page lists every claim at every recorded preset")

# %% [markdown]
# ## What the table says
#
# Computed from the runs above; the sentences change when the runs do.

# %% tags=["hide-input"]
df = tables[imbs[0]]
def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


lines = [_cap(L.best_beyond_noise(df["values"].to_dict(), f"here ({len(df)} methods, {seed_range(df)}, imbalance "
                                                    f"{imbs[0]:g}, last-epoch accuracy %)")) + "; "
         + L.best_beyond_noise(df["values"].to_dict(), "", highest=False) + "."]
if "CE" in df.index:
    above = int((df.get("vs_ce", pd.Series(dtype=str)) == "above").sum())
    below = int((df.get("vs_ce", pd.Series(dtype=str)) == "below").sum())
    few_runs = int(df.get("vs_ce", pd.Series(dtype=str)).str.startswith("too few").sum())
    lines.append(f"{above} of {len(df) - 1} methods are above CE beyond the noise of their own seeds (Welch's or the "
                 f"paired 95% interval), {below} below it; {len(df) - 1 - above - below - few_runs} cannot be told from "
                 f"CE" + (f", and {few_runs} {'has' if few_runs == 1 else 'have'} too few runs to judge (a verdict "
                          f"needs 3 seeds a side)" if few_runs else "") + ".")
if rho == rho:
    lines.append(f"Rank correlation between the measured order and the order of the papers' numbers lined up "
                 f"(not an order any paper claims): {rho:.2f} (1: the same order, 0: unrelated) over {len(claims)} methods.")
new = df[df["new"]]
for name, r in new.iterrows():
    lines.append(f"New, {name}: {r['accuracy']:.2f}% ({int(r['seeds'])} seed{'s' if int(r['seeds']) != 1 else ''}; "
                 "no paper reports it).")
if df["few"].notna().any():
    lines.append(_cap(L.best_beyond_noise(df["few_values"].to_dict(), "on the few classes")) + ".")
else:
    lines.append("No class has fewer than 20 training images at this imbalance factor, so the few split is "
                 "empty and the medium split holds the tail.")
if df["medium"].notna().any():
    lines.append(_cap(L.best_beyond_noise(df["medium_values"].to_dict(), "on the medium classes")) + ".")
cheap, dear = df["seconds"].idxmin(), df["seconds"].idxmax()
ref = f", {df.loc[dear, 'seconds'] / df.loc['CE', 'seconds']:.1f}× CE" if "CE" in df.index else ""
lines.append(f"Training cost (mean over each method's seeds) runs from {df.loc[cheap, 'seconds']:,.0f} s ({cheap}) to "
             f"{df.loc[dear, 'seconds']:,.0f} s ({dear}{ref}); "
             f"{(df['seconds'] <= df['seconds'].min() * 1.5).sum()} of {len(df)} methods cost within 1.5× the cheapest"
             + ((f". These are wall-clock seconds under a varying load: the same network trained at {lo:,.0f} to "
                 f"{hi:,.0f} images/s across these runs ({hi / lo:.1f}×), "
                 + (f"more than the {df['seconds'].max() / df['seconds'].min():.1f}× between the cheapest and the "
                    "dearest method, so these seconds cannot rank the methods by cost (the Performance page measures "
                    "speed under a controlled load)." if hi / lo >= df['seconds'].max() / df['seconds'].min() else
                    f"so only a cost ratio beyond {hi / lo:.1f}× between two methods is theirs."))
                if n_rate >= 2 and hi > 1.5 * lo else "."))
display(Markdown("\n".join(f"* {x}" for x in lines if x)))

# %% tags=["hide-input"]
display(Markdown(chapters.second_schedule(plan, ctx)))
E.show_moved(ctx, "leaderboard")  # the verdicts the sections above hold back: their runs are recorded at this preset only

# %% [markdown]
# ### The spread over seeds and over long-tailed subsets
#
# The long-tailed subset is itself random: which images of each class are kept depends on the
# seed of the shuffle, and the codebases draw it differently. Left of each pair: the training
# seeds on subset 0 (the subset every other row uses); right: the first training seed on the
# other subsets (subset 0 included).

# %% mystnb={"figure": {"caption": "The spread of single runs of one method: blue over training seeds on one long-tailed subset, red over long-tailed subsets with one seed."}, "image": {"alt": "The spread of single runs of one method: blue over training seeds on one long-tailed subset, red over long-tailed subsets with one seed."}} tags=["hide-input"]
if spread:
    f = imbs[0]
    fig, ax = plt.subplots(figsize=(1.6 * len(spread) + 2, 3.6))
    for i, e in enumerate(spread):
        by_seed = [100 * L.score(e, r)["accuracy"] for r in subsets[(e.name, "seeds")]]
        by_subset = [by_seed[0]] + [100 * L.score(e, r)["accuracy"] for r in subsets[(e.name, "subsets")]]
        ax.plot(np.full(len(by_seed), i - 0.15), by_seed, "o", color="#4477aa", label="seeds" if i == 0 else None)
        ax.plot(np.full(len(by_subset), i + 0.15), by_subset, "s", color="#ee6677",
                label="subsets" if i == 0 else None)
        print(f"{e.name}: standard deviation over {len(by_seed)} seeds {np.std(by_seed, ddof=1):.2f} points, "
              f"over {len(by_subset)} subsets {np.std(by_subset, ddof=1):.2f} points (a first look: two or three runs a side give no test)")
    ax.set_xticks(range(len(spread)), [e.name for e in spread], fontsize=8)
    ax.set_ylabel("overall accuracy (%)")
    ax.set_title(f"spread over training seeds and over long-tailed subsets, imbalance {f:g}", loc="left")
    ax.legend(fontsize=7)
    plots.stamp(fig, plan.context(ctx, "subsets").stamp)
    plt.show()
else:
    print("subset_methods is empty: no spread figure")

# %% [markdown]
# ### The papers as written against their official code
#
# Every place where the book follows a paper's text (or its own choice where the text is silent)
# and the official code does something else is a knob with both settings. Both sides train on the
# same stored backbones, so the difference is that of the departure alone; the column "beyond
# the noise" uses the same test as the table above. Where both sides sit on the same backbones,
# "code − book" is paired on the seeds both have (it says which), so it need not equal the
# difference of the two means beside it, which read every seed of each side.

# %% tags=["hide-input"]
from ltnb.chapters.leaderboard import DEPARTURES, setting_name

dep = plan.fetch("paper vs code")
for (row, sd), (r,) in sorted(plan.fetch("paper vs code: more seeds").items() if P.more_seeds else [],
                              key=lambda kv: kv[0][1]):
    if row in dep:  # a further seed recorded for the verdicts: read where it exists
        dep[row] = dep[row] + [r]
at_d = plan.context(ctx, "paper vs code")  # cpu beside a main table at long: each row judged by its own seeds
rows_d = {}


def paired_words(runs_a, runs_b) -> str:
    """Where two sides share their backbones the difference is paired on the seeds both have, which need not be
    every seed the means beside it read: say which."""
    if not L.paired_on(runs_a, runs_b):
        return ""
    common = sorted({r.config.seed for r in runs_a} & {r.config.seed for r in runs_b})
    return f" (paired, seed{'s' if len(common) > 1 else ''} {', '.join(map(str, common))})"


for row_name, method, knob, book, code, chapter_of in DEPARTURES:
    if (row_name, "book") not in dep:
        continue
    b, c = ([100 * r.metrics["accuracy"] for r in dep[(row_name, side)]] for side in ("book", "code"))
    same = [r.config for r in dep[(row_name, "book")]] == [r.config for r in dep[(row_name, "code")]]
    diff, verdict, _ = L.against(c, dep[(row_name, "code")], b, dep[(row_name, "book")])
    rows_d[row_name] = {"chapter": chapter_of, "the book": setting_name(knob, book), "official code": setting_name(knob, code),
                        "book (%)": report.mean_sd(b, scale=1),
                        "code (%)": report.mean_sd(c, scale=1),
                        "seeds (book, code)": f"{len(b)}, {len(c)}",
                        "code − book": "same run" if same else f"{diff:+.2f}" + paired_words(dep[(row_name, "code")],
                                                                                             dep[(row_name, "book")]),
                        "beyond the noise": "identical settings here" if same else verdict}
if rows_d:
    report.show(pd.DataFrame(rows_d).T, at_d.stamp, f"Paper as written against the official code, imbalance {imbs[0]:g}")

# %% [markdown]
# ## What differs from the papers
#
# * The data are Fashion-MNIST-LT on machines without CIFAR: compare orders, not levels, with
#   the papers' CIFAR numbers.
# * One schedule for all: the preset's epochs, batch 128, SGD with momentum and the same
#   warm-up and decay, where the papers use 200 or 300 epochs and their own tricks
#   (RandAugment for LGLA and the three-expert BALMS stays on, as in LGLA's paper; AutoAugment and Cutout are not used).
# * ATL (AEM) trains on 16 × the angular logits (the angular chapter explains why: at the scale
#   of Eq. 1 it underfits).
# * The papers' numbers come from different subsets, schedules and sometimes epochs picked on
#   the test set; here every number is the last epoch.
