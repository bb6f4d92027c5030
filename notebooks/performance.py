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
# # Performance
#
# The papers' schedules (ResNet-32, 200 epochs, several stages, seeds and ablations) are what
# make this book expensive, so the trainer is measured, not assumed. `make bench` trains the
# full-width ResNet-32 on 32×32×3 images at batch 128 on a CIFAR-10-LT-sized set (imb 100:
# 12,406 images; random pixels, which cost the same as real ones), in one process on one machine:
#
# * **ltnb's trainer** (`ltnb.training.stage1.fit`): the uint8 images live on the device; each
#   batch is gathered, padded-and-cropped, flipped and normalised there, with bf16 autocast on
#   CUDA (and on CPUs with native bf16). Each epoch's random numbers are drawn up front on the
#   CPU, so CPU and GPU runs of a seed see the same numbers. On CUDA the whole step is recorded
#   once as a CUDA graph and replayed: ResNet-32 at batch 128 is a few hundred small kernels.
# * **stacked runs** (`ltnb.training.stacked`): K compatible runs (different seeds, losses,
#   samplers, mixup, clouds) trained as one network of grouped convolutions, each run in its own
#   channel slice, so one step launches the kernels of one network instead of K.
# * **the reference pipeline**, built the way the official codebases build theirs: a
#   torchvision-style dataset returning PIL images, `RandomCrop(32, padding=4)`,
#   `RandomHorizontalFlip()`, `ToTensor()`, `Normalize` per image, a `DataLoader` with 4
#   workers, fp32.
#
# It also measures evaluation and several runs trained at once in separate processes. Each
# `make bench` writes `results/bench/<device>.json`; this page shows every recorded file.

# %% tags=["parameters"]
bench_dir = "results/bench"  # folder of make bench records, relative to the repository

# %% tags=["hide-input"]
from ltnb import params as Pm

Pm.refuse_unknown(Pm.injected(globals()), ["bench_dir"], "the performance page")  # a name papermill's -p added, not bench_dir

import json

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from IPython.display import Markdown, display

from ltnb import data, plots, record, store
from ltnb.paths import repo_root
from ltnb.presets import PRESETS

folder = repo_root() / bench_dir
files = sorted(folder.glob("*.json"))
records = [json.loads(p.read_text()) | {"file": p.name} for p in files if not p.name.startswith("paper_run")]
paper_runs = [json.loads(p.read_text()) for p in files if p.name.startswith("paper_run")]
if not records:
    display(Markdown(f"No benchmark recorded yet in `{bench_dir}`: run `make bench`."))


def rates(r: dict) -> list[tuple[str, float]]:
    """Every measured training rate of one record: (pipeline, aggregate images/s)."""
    out = [(f"ltnb, one run ({r.get('ltnb_precision', 'fp32')}{', CUDA graphs' if r.get('ltnb_cuda_graphs') else ''})",
            r["ltnb_images_per_second"])]
    out += [(v["label"].replace("ltnb trainer", "ltnb, one run"), v["images_per_second"]) for v in r.get("ltnb_variants", [])]
    if r.get("ltnb_fp32_images_per_second") and r.get("ltnb_precision") != "fp32":
        out.append(("ltnb, one run (fp32)", r["ltnb_fp32_images_per_second"]))
    out += [(f"ltnb, {c['runs']} processes at once", c["aggregate_images_per_second"]) for c in r["concurrent"]]
    out += [(f"ltnb, {s['runs']} runs stacked", s["aggregate_images_per_second"]) for s in r.get("stacked", [])]
    out.append(("reference (DataLoader + PIL, fp32)", r["reference_images_per_second"]))
    return out


# %% [markdown]
# ## Training throughput
#
# Images per second of training, counting every run's images when several train at once.

# %% mystnb={"figure": {"caption": "Training images per second on each recorded device (log scale): one run, several processes at once, runs stacked into one network, and the reference pipeline."}, "image": {"alt": "Training throughput by pipeline and device"}} tags=["hide-input"]
rows = [{"device": r["device"], "date": r["date"], "pipeline": name, "images/s": ips}
        for r in records for name, ips in rates(r)]
table = pd.DataFrame(rows)
if len(table):
    fig, ax = plt.subplots(figsize=(7.5, 0.32 * len(table) + 1.2))
    sns.barplot(data=table, y="pipeline", x="images/s", hue="device", ax=ax, orient="h")
    ax.set_xscale("log")
    ax.set(ylabel="", xlabel="training images per second (all runs together)")
    ax.legend(title="", loc="lower left", bbox_to_anchor=(0, 1.01), ncol=2)  # above the bars, never on them
    plots.stamp(fig, " · ".join(f"{r['device']}: make bench {r['date']}, torch {r['torch']}" for r in records))
    plt.show()

# %% tags=["hide-input"]
if len(table):
    display(table.assign(**{"images/s": table["images/s"].map("{:,.0f}".format),
                            "200 epochs of 12,406 images": [f"{200 * 12406 / v / 60:,.1f} min" for v in table["images/s"]]})
            .set_index(["device", "pipeline"]))
for r in records:
    if r.get("stacked_tolerance"):
        t = r["stacked_tolerance"]
        display(Markdown(f"{r['device']}: three different runs trained stacked and alone for two steps "
                         f"({t['precision']}) differ by at most {t['loss_relative']:.1e} in a loss and "
                         f"{t['weights_relative']:.1e} in the weights (relative): float rounding."))

# %% [markdown]
# ## Where the time goes
#
# Computed from the records above, so the sentences change when the measurements do.

# %% tags=["hide-input"]
lines = []
for r in records:
    one = r["ltnb_images_per_second"]
    conc = max((c["aggregate_images_per_second"] for c in r["concurrent"]), default=np.nan)
    stk = max(r.get("stacked", []), key=lambda s: s["aggregate_images_per_second"], default=None)
    ref = r["reference_images_per_second"]
    text = (f"**{r['device']}**: one run trains {one:,.0f} images/s, {one / ref:.1f}× the reference pipeline; "
            f"{'several processes at once reach ' + format(conc, ',.0f') + ' together' if conc == conc else ''}")
    if r["device_type"] == "cuda":
        text += (f" ({conc / one:.2f}× one process, one benchmark each: processes take turns on the GPU "
                 "rather than overlapping, so more processes add little)" if conc == conc else "")
        text += (f"; {stk['runs']} runs stacked into one network reach {stk['aggregate_images_per_second']:,.0f} "
                 f"({stk['aggregate_images_per_second'] / one:.1f}× one run)." if stk else
                 ". Stacking was not yet measured on this GPU by `make bench`; a probe of an earlier session on an "
                 "H200 trained 4, 16 and 64 stacked ResNet-32s at 91.7k, 123.3k and 135.6k images/s against 32.4k "
                 "for one run (not a `make bench` record).")
    else:
        if stk:
            stacks = sorted(r["stacked"], key=lambda s: s["runs"])
            gains = [s["aggregate_images_per_second"] / one for s in stacks]
            verdict = ("stacking pays here" if min(gains) > 1.05 else
                       "stacking does not pay on the CPU, so `train_many` does not stack there (one network at a "
                       "time, its default)")
            text += ("; stacked into one network, " + ", ".join(
                f"{s['runs']} runs reach {s['aggregate_images_per_second']:,.0f} together ({g:.2f}× one run alone)"
                for s, g in zip(stacks, gains)) + f", one benchmark each: {verdict}.")
        else:
            text += "."
    lines.append(text)
display(Markdown("\n\n".join(lines) or "No records."))

# %% [markdown]
# ## What the book costs
#
# Every run the book shows, as `make record --plan` lists them (each chapter at its default
# parameters, the GCL chapter at imbalance 200 too, the leaderboard's seeds and subsets), counted in
# image-epochs: a stage-1 run trains its training set for its epochs (a multi-expert network counts
# 1.6 runs, the ratio measured at the `cpu` preset; a BET run its extra iterations). Stage-2 runs on
# stored features take seconds and are left out. The time at each measured rate is image-epochs
# divided by images per second.

# %% tags=["hide-input"]
def image_epochs(cfg) -> float:
    p, info = PRESETS[cfg.preset], data.dataset_info(cfg.dataset)
    n = sum(data.lt_counts(info.train_per_class, info.num_classes, cfg.imb))
    if cfg.knob("per_class"):
        n = info.num_classes * int(cfg.knob("per_class"))
    n *= 1 - float(cfg.knob("prune_fraction", 0.0))
    if cfg.sampler == "bet":
        n *= 1 + cfg.knob("bet_iterations") / cfg.knob("bet_interval")
    epochs = min(p.epochs, int(cfg.knob("stop_epoch", p.epochs)))
    return n * epochs * (1.6 if cfg.head == "experts" else 1.0)


plan_rows = []
for preset in ("cpu", "paper"):
    items = record.book_items(preset)
    for tier, title in ((1, "main tables"), (2, "seeds and subsets"), (3, "ablations and sweeps")):
        its = [it for it in items if it.tier == tier]
        stage1 = [it for it in its if not it.config.stage2]
        plan_rows.append({"preset": preset, "tier": f"{tier}: {title}", "runs": len(its), "stage 1": len(stage1),
                          "recorded": sum(store.recorded_path(it.config).exists() for it in its),
                          "image-epochs (M)": sum(image_epochs(it.config) for it in stage1) / 1e6})
plan = pd.DataFrame(plan_rows)
cost_rows = []
for r in records:
    for name, ips in rates(r):
        if name.startswith("reference") or "processes" in name:
            continue
        for preset in ("cpu", "paper"):
            ie = plan[plan["preset"] == preset]["image-epochs (M)"].sum() * 1e6
            cost_rows.append({"device": r["device"], "pipeline": name, "preset": preset, "hours": ie / ips / 3600})
cost = pd.DataFrame(cost_rows)
display(plan.assign(**{"image-epochs (M)": plan["image-epochs (M)"].map("{:.1f}".format)})
        .set_index(["preset", "tier"]))
if len(cost):
    display(cost.pivot_table(index=["device", "pipeline"], columns="preset", values="hours").map("{:,.1f} h".format))
eval_lines = []
for r in records:
    if not r.get("eval_images_per_second"):
        continue
    evals = {p.name: p.epochs // p.eval_every if p.eval_every else 1 for p in PRESETS.values()}
    hours = {preset: sum(data.dataset_info(it.config.dataset).test_images * evals[preset]
                         for it in record.book_items(preset) if not it.config.stage2)
             / r["eval_images_per_second"] / 3600 for preset in ("cpu", "paper")}
    train = cost[(cost["device"] == r["device"]) & cost["pipeline"].str.startswith("ltnb, one run")]["hours"]
    paper_train = train[cost["preset"] == "paper"].min() if len(train) else np.nan
    span = lambda h: f"{h * 60:.0f} min" if h < 1 else f"{h:,.1f} h"  # noqa: E731
    eval_lines.append(f"**{r['device']}**: evaluating the test set after every epoch (what the per-epoch history and "
                      f"the best-on-test column need) adds {span(hours['cpu'])} to the `cpu` preset and "
                      f"{span(hours['paper'])} to `paper` at the {r['eval_images_per_second']:,.0f} images/s it "
                      f"evaluates, against {span(paper_train)} of `paper` training at one run's speed.")
if eval_lines:
    display(Markdown("\n\n".join(eval_lines)))
cpu_items = record.book_items("cpu")  # the plan at cpu lists the budget axis's runs of other presets too: not these
other_presets = sorted({it.config.preset for it in cpu_items if it.config.preset != "cpu"})
cpu_runs = [store.load(it.config) for it in cpu_items
            if it.config.preset == "cpu" and store.recorded_path(it.config).exists()]
if cpu_runs:
    secs = sum(r.metrics.get("train_seconds", 0) for r in cpu_runs)
    threads = sorted({r.metrics.get("threads") for r in cpu_runs if r.metrics.get("threads")})
    display(Markdown(f"The book's {len(cpu_runs)} recorded runs at the `cpu` preset"
                     + (f" (the plan above also counts the budget axis's "
                        f"{sum(it.config.preset != 'cpu' for it in cpu_items)} runs at presets "
                        f"{', '.join(other_presets)}: not these)" if other_presets else "")
                     + f" took **{secs / 3600:.1f} hours** "
                     f"of training measured on 2-core machines ({' or '.join(map(str, threads))} thread{'s' if max(threads) > 1 else ''} a run), stage 2 "
                     "included (the table below counts every recording in the folder, the seed groups' too)."))

# %% [markdown]
# ## What the recordings took, preset by preset
#
# Every recording in `results/runs/` (the book's runs and any other recorded there), by preset: the
# training seconds each run measured (stage 2 included), whether its CPU training step was compiled, and
# its training rate. The recordings were made two at a time on 2-core machines, one or two threads each (the sentence above says which), often
# beside other work, so a rate here is a loaded machine's; the clean comparison of the compiled and eager
# step is the benchmark above.

# %% tags=["hide-input"]
rec_rows, compiled_images = [], 0.0
for preset in PRESETS:
    folder = store.recorded_root() / preset
    ms = [json.loads(f.read_text()) for f in sorted(folder.glob("*/metrics.json"))] if folder.is_dir() else []
    if not ms:
        continue
    s1 = [m for m in ms if m.get("stage") == 1]
    comp = [m for m in s1 if m.get("compile") not in (None, "off")]
    compiled_images += sum(m["train_seconds"] * m["train_images_per_second"] for m in comp
                           if m.get("device") == "cpu" and m.get("train_images_per_second"))
    rate = [m["train_images_per_second"] / max(1, m.get("threads") or 1) for m in s1 if m.get("train_images_per_second")]
    rec_rows.append({"preset": preset, "epochs": PRESETS[preset].epochs, "recordings": len(ms), "stage 1": len(s1),
                     "training hours": sum(m.get("train_seconds", 0) for m in ms) / 3600,
                     "stage 1 compiled": len(comp),
                     "median img/s a thread": float(np.median(rate)) if rate else np.nan})
rec_df = pd.DataFrame(rec_rows, columns=["preset", "epochs", "recordings", "stage 1", "training hours",
                                         "stage 1 compiled", "median img/s a thread"]).set_index("preset")
if len(rec_df):
    display(rec_df.assign(**{"training hours": rec_df["training hours"].map("{:.1f}".format),
                             "median img/s a thread": rec_df["median img/s a thread"].map("{:,.0f}".format)}))
else:
    print(f"No recordings in {store.recorded_root()} yet: python -m ltnb.record records them.")
bench_cpu = next((r for r in records if r.get("device_type") == "cpu" and r.get("ltnb_variants")), None)
variant = next((v for v in (bench_cpu or {}).get("ltnb_variants", []) if v.get("compile") not in (None, "off")), None)
n_comp = int(rec_df["stage 1 compiled"].sum()) if len(rec_df) else 0
if variant and n_comp:
    eager, fast = bench_cpu["ltnb_images_per_second"], variant["images_per_second"]
    saved = compiled_images * (1 / eager - 1 / fast) - n_comp * variant["compile_seconds"]
    display(Markdown(
        f"Compiling, at the benchmark's rates ({bench_cpu['device']}: eager {eager:,.0f}, compiled {fast:,.0f} img/s, "
        f"{variant['compile_seconds']:.0f} s to compile): the {n_comp} compiled CPU runs recorded trained "
        f"{compiled_images / 1e6:.1f} M images, so compiling saved about **{saved / 3600:.1f} hours** of their "
        f"{compiled_images / fast / 3600:.1f} at the compiled rate ({100 * saved / (compiled_images / eager):.0f}% of "
        "what they would have taken eager). An estimate at the idle benchmark's rates, not a measurement of these "
        "loaded runs."))

# %% [markdown]
# ## A measured paper-schedule run
#
# The estimate, checked end to end: one 200-epoch run of the `paper` preset through
# `ltnb.runs.train.get_or_train` (data loading, the training loop, the final evaluation, storing the run),
# then the stage-2 methods on its stored features. One seed; last-epoch test accuracy.

# %% tags=["hide-input"]
for r in paper_runs:
    c = r["config"]
    display(Markdown(
        f"**{r['device']}** · {c['dataset']}-LT imb {c['imb']} · preset {c['preset']} · seed {c['seed']}: "
        f"{r['train_images']:,} training images × 200 epochs in {r['train_seconds']:.0f} s of training "
        f"({r['train_images_per_second']:,.0f} img/s, CUDA graphs), {r['wall_seconds_with_data_and_evaluation']} s "
        "in all. Last-epoch test accuracy (%): "
        + ", ".join(f"{k.replace('tau', 'τ')} {v:.2f}" for k, v in r["last_epoch_test_accuracy"].items()) + "."))
