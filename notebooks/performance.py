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
# The papers' schedules (ResNet-32, 200 epochs, several stages, seeds and ablations) are
# what make this book expensive, so the trainer is measured, not assumed. `make bench`
# trains the full-width ResNet-32 on 32×32×3 images at batch 128 on a CIFAR-10-LT-sized set
# (imb 100: 12,406 images; random pixels, which cost the same as real ones) twice in one
# process on one machine:
#
# * **ltnb's trainer** (`ltnb.train.fit`): the uint8 images live on the device; each batch
#   is gathered, padded-and-cropped, flipped and normalised there by tensor operations, with
#   bf16 autocast on CUDA (plus channels-last activations) and on CPUs with native bf16
#   (AVX512-BF16 or AMX; a unit test checks that it trains to the same loss and accuracy as
#   fp32). Each epoch's random numbers (batch order, crops, flips, mixup, GCL's clouds) are
#   drawn up front on the CPU, so CPU and GPU runs of a seed see the same numbers, and moved
#   to the device in one copy, so no step waits on the host. On CUDA the whole step
#   (gather, augmentation, forward, loss, backward, fused SGD update with the learning rate
#   read from device memory) is recorded once as a CUDA graph and replayed: ResNet-32 at
#   batch 128 is a few hundred small kernels, and launching them one by one from Python
#   costs more than running them;
# * **the reference pipeline**, built the way the official codebases of these papers build
#   theirs: a torchvision-style dataset returning PIL images, `RandomCrop(32, padding=4)`,
#   `RandomHorizontalFlip()`, `ToTensor()`, `Normalize` per image, a `DataLoader` with 4
#   workers, fp32.
#
# It also measures evaluation throughput and the aggregate throughput of several
# independent runs trained at once in separate processes (how seeds and sweeps are run).
# Each `make bench` writes `results/bench/<device>.json`; this page shows every recorded file.

# %% tags=["parameters"]
bench_dir = "results/bench"  # folder of make bench records, relative to the repository

# %%
import json

import pandas as pd
from IPython.display import Markdown, display

from ltnb.paths import repo_root

folder = repo_root() / bench_dir
files = sorted(folder.glob("*.json"))
records = [json.loads(p.read_text()) | {"file": p.name} for p in files if not p.name.startswith("paper_run")]
paper_runs = [json.loads(p.read_text()) for p in files if p.name.startswith("paper_run")]
if not records:
    display(Markdown(f"No benchmark recorded yet in `{bench_dir}`: run `make bench`."))

# %% [markdown]
# ## Training throughput

# %%
rows = []
for r in records:
    conc = ", ".join(f"{c['runs']} runs: {c['aggregate_images_per_second']:,.0f}" for c in r["concurrent"])
    rows.append({
        "device": r["device"], "date": r["date"], "torch": r["torch"],
        "ltnb train img/s": f"{r['ltnb_images_per_second']:,.0f} ({r.get('ltnb_precision', 'fp32')}"
                            + (", CUDA graphs)" if r.get("ltnb_cuda_graphs") else ")"),
        "ltnb variants img/s": "; ".join(f"{v['label'].removeprefix('ltnb trainer ')}: {v['images_per_second']:,.0f}"
                                         for v in r.get("ltnb_variants", [])) or "-",
        "ltnb fp32 img/s": f"{r.get('ltnb_fp32_images_per_second', r['ltnb_images_per_second']):,.0f}",
        "reference img/s": f"{r['reference_images_per_second']:,.0f}",
        "ltnb / reference": f"{r['ltnb_images_per_second'] / r['reference_images_per_second']:.2f}x",
        "epoch, ltnb (s)": f"{r['train_images'] / r['ltnb_images_per_second']:.1f}",
        "epoch, reference (s)": f"{r['train_images'] / r['reference_images_per_second']:.1f}",
        "eval img/s": f"{r['eval_images_per_second']:,.0f}",
        "concurrent runs, aggregate img/s": conc,
        "measured over": (f"{r.get('epochs', 1)} epochs" if r["steps"] is None else f"{r['steps']} steps"),
    })
if rows:
    display(pd.DataFrame(rows).set_index("device").T)

# %% [markdown]
# ## What a paper-schedule run costs
#
# One stage-1 run of the papers' schedule is 200 epochs over the long-tailed training set;
# stage-2 methods on stored features cost seconds. The table multiplies the measured
# full-width throughput by the number of stage-1 runs each chapter trains per seed.

# %%
# Stage-1 runs per seed of the paper preset (CIFAR-10-LT at imb 100 has 12,406 images).
CHAPTERS = {
    "baselines: CE, CE+mixup, LDAM-DRW, Balanced Softmax (cRT, LWS, τ-norm on stored CE features)": 4,
    "gcl: GCL with four cloud-size strategies, plus CE, CE+mixup, LDAM-DRW": 7,
    "marr: CE, LDAM-DRW, Balanced Softmax, and CE backbones at three other factors (Table 7)": 6,
    "the whole book, each shared run counted once": 4 + 4 + 3,
}
cost = []
for r in records:
    for chapter, n_runs in CHAPTERS.items():
        seconds = n_runs * 200 * r["train_images"] / r["ltnb_images_per_second"]
        ref_seconds = n_runs * 200 * r["train_images"] / r["reference_images_per_second"]
        cost.append({"device": r["device"], "chapter": chapter, "stage-1 runs per seed": n_runs,
                     "ltnb (h per seed)": f"{seconds / 3600:.2f}",
                     "reference pipeline (h per seed)": f"{ref_seconds / 3600:.2f}"})
if cost:
    display(pd.DataFrame(cost).set_index(["device", "chapter"]))

# %%
cuda = [r for r in records if r.get("device_type") == "cuda"]
for r in cuda:
    display(Markdown(
        f"On the {r['device']}, ltnb trains at {r['ltnb_images_per_second']:,.0f} images/s, "
        f"{r['ltnb_images_per_second'] / r['reference_images_per_second']:.1f}× the reference pipeline; "
        f"a 200-epoch CIFAR-10-LT run (imb 100) takes {200 * r['train_images'] / r['ltnb_images_per_second']:.0f} s "
        "of training. Several runs at once add little on this GPU once the step is a graph: "
        "the GPU itself, not the launching, is then the limit."))
if not cuda:
    display(Markdown(
        "No GPU measurement is recorded yet: this project has not had a GPU machine when the "
        "benchmark was run. On a CUDA machine, `make bench` measures a whole epoch per side and "
        "concurrent runs of 2, 4 and 8 processes, and its record appears here."))

# %% [markdown]
# ## A measured paper-schedule run
#
# The estimate above, checked end to end: one 200-epoch run of the `paper` preset through
# `ltnb.runs.get_or_train` (data loading, the training loop, evaluation every 10 epochs,
# storing the run), then the stage-2 methods on its stored features. One seed; last-epoch
# test accuracy.

# %%
for r in paper_runs:
    c = r["config"]
    display(Markdown(
        f"**{r['device']}** · {c['dataset']}-LT imb {c['imb']} · preset {c['preset']} · seed {c['seed']}: "
        f"{r['train_images']:,} training images × 200 epochs in {r['train_seconds']:.0f} s of training "
        f"({r['train_images_per_second']:,.0f} img/s, CUDA graphs), {r['wall_seconds_with_data_and_evaluation']} s "
        "in all. Last-epoch test accuracy (%): "
        + ", ".join(f"{k} {v:.2f}" for k, v in r["last_epoch_test_accuracy"].items()) + "."))
