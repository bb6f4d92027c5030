"""``make bench``: training throughput of ltnb's trainer against an official-codebase pipeline.

Both sides train the same full-width ResNet-32 on 32x32x3 images at batch 128, on a
CIFAR-10-LT-sized training set (imb 100: 12,406 images) of random pixels, in one process
on one machine. The reference is built the way the official codebases build theirs: a
torchvision dataset returning PIL images, RandomCrop(32, padding=4), RandomHorizontalFlip,
ToTensor and Normalize per image, a DataLoader with 4 workers, fp32.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import multiprocessing as mp
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ltnb import data as D
from ltnb.kernels import models
from ltnb.presets import PRESETS, resolve_device
from ltnb.runs.train import RunConfig
from ltnb.training import stage1
from ltnb.training.common import predict
from ltnb.training.stacked import fit_stacked

BATCH = 128


def synthetic_lt(n_test: int = 10000, seed: int = 0) -> D.LongTailed:
    """Random CIFAR-shaped uint8 images with the CIFAR-10-LT (imb 100) class counts."""
    counts = D.lt_counts(5000, 10, 100)
    g = torch.Generator().manual_seed(seed)
    labels = torch.repeat_interleave(torch.arange(10), torch.tensor(counts))
    train = D.ImageSet(torch.randint(0, 256, (len(labels), 3, 32, 32), dtype=torch.uint8, generator=g),
                       labels, D.DATASETS["cifar10"])
    test = D.ImageSet(torch.randint(0, 256, (n_test, 3, 32, 32), dtype=torch.uint8, generator=g),
                      torch.arange(n_test) % 10, D.DATASETS["cifar10"])
    return D.LongTailed(train, test, np.asarray(counts), 100.0)


def _preset(steps: int | None, epochs: int = 1):
    return dataclasses.replace(PRESETS["paper"], name="bench", epochs=epochs, warmup_epochs=0,
                               max_steps=steps, eval_every=0)


def ltnb_trainer(lt, device, steps: int | None, epochs: int = 1, fast: bool | None = None,
                 compile: str | None = None, cuda_graphs: bool | None = None, memory_format: str | None = None) -> dict:
    """The real trainer (``ltnb.training.stage1.fit``) on the synthetic set: images/s over its training loop."""

    cfg = RunConfig(dataset="cifar10", imb=100, preset="paper")
    model, hist = stage1.fit(cfg, lt, _preset(steps, epochs), device, progress=False, fast=fast, compile=compile,
                            cuda_graphs=cuda_graphs, memory_format=memory_format)
    return {"images_per_second": hist["images_per_second"], "seconds": hist["seconds"], "model": model,
            "precision": hist["precision"], "compile": hist["compile"], "cuda_graphs": hist["cuda_graphs"]}


STACK_LOSSES = ("ce", "balanced_softmax", "ldam")  # stacked runs differ in seed and loss, as a sweep's do


def _stack_cfgs(k: int):
    return [RunConfig(dataset="cifar10", imb=100, preset="paper", seed=i, loss=STACK_LOSSES[i % 3],
                      drw=STACK_LOSSES[i % 3] == "ldam") for i in range(k)]


def stacked_trainer(k: int, lt, device, steps: int | None, epochs: int = 1) -> dict:
    """``k`` runs trained as one stacked network (:mod:`ltnb.training.stacked`): aggregate and per-run images/s."""
    cfgs = _stack_cfgs(k)
    fit_stacked(cfgs, lt, _preset(min(steps or 10, 10)), device, progress=False)  # warm-up: autotuning, graphs
    (_, h), *_ = fit_stacked(cfgs, lt, _preset(steps, epochs), device, progress=False)
    agg = h["images_per_second"]
    return {"runs": k, "aggregate_images_per_second": agg, "per_run_images_per_second": agg / k,
            "precision": h["precision"], "cuda_graphs": h["cuda_graphs"]}


def stacked_tolerance(lt, device, steps: int = 2) -> dict:
    """How far 3 different runs trained stacked land from the same runs trained alone, on this device's default
    path (bf16 on CUDA): the largest relative difference of a per-epoch loss and of the whole network's weights."""

    cfgs = _stack_cfgs(3)
    p = dataclasses.replace(_preset(1, 2), lr=0.01, drw_start=0.5)
    alone = [stage1.fit(c, lt, p, device, progress=False, cuda_graphs=False) for c in cfgs]
    together = fit_stacked(cfgs, lt, p, device, progress=False, cuda_graphs=False)

    def whole(m):
        return torch.cat([q.detach().float().flatten().cpu() for q in m.parameters()])

    loss = max(float(np.max(np.abs(np.array(a[1]["loss"]) / np.array(b[1]["loss"]) - 1)))
               for a, b in zip(alone, together))
    weights = max(float((whole(a[0]) - whole(b[0])).norm() / whole(a[0]).norm()) for a, b in zip(alone, together))
    return {"runs": 3, "steps": 2, "loss_relative": loss, "weights_relative": weights,
            "precision": together[0][1]["precision"]}


def _label(r: dict) -> str:
    how = ", CUDA graphs" if r["cuda_graphs"] else ""
    how += "" if r["compile"] == "off" else f", compile {r['compile']}"
    return f"ltnb trainer ({r['precision']}{how})"


class PILImages(torch.utils.data.Dataset):
    """What ``torchvision.datasets.CIFAR10.__getitem__`` does: HWC uint8 -> PIL image -> transform."""

    def __init__(self, images_hwc: np.ndarray, labels: np.ndarray, transform):
        self.images, self.labels, self.transform = images_hwc, labels, transform

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        from PIL import Image

        return self.transform(Image.fromarray(self.images[i])), int(self.labels[i])


def reference_pipeline(lt, device, steps: int | None, workers: int = 4, epochs: int = 1) -> dict:
    import torchvision.transforms as T

    info = lt.info
    tf = T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.ToTensor(),
                    T.Normalize(info.mean, info.std)])
    ds = PILImages(lt.train.images.permute(0, 2, 3, 1).numpy(), lt.train.labels.numpy(), tf)
    warnings.filterwarnings("ignore", message="This DataLoader will create")  # 4 workers, as the codebases do
    loader = torch.utils.data.DataLoader(ds, batch_size=BATCH, shuffle=True, num_workers=workers,
                                         pin_memory=device.type == "cuda", drop_last=False,
                                         persistent_workers=False)
    torch.manual_seed(0)
    model = models.resnet32(10).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=2e-4)
    model.train()
    seen, t0 = 0, time.time()
    for _ in range(epochs if steps is None else 1):
        for i, (x, y) in enumerate(loader):
            if steps is not None and i >= steps:
                break
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            seen += len(y)
    if device.type == "cuda":
        torch.cuda.synchronize()
    dt = time.time() - t0
    return {"images_per_second": seen / dt, "seconds": dt}


def evaluation(lt, device, model) -> float:
    test = D.DeviceImages(lt.test, device)
    predict(model, test, limit=1000)  # warm-up
    t0 = time.time()
    predict(model, test)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return len(lt.test) / (time.time() - t0)


def _worker(device, steps, epochs, threads, barrier, queue):
    torch.set_num_threads(threads)
    lt = synthetic_lt(n_test=10)
    dev = torch.device(device)
    ltnb_trainer(lt, dev, 10)  # warm-up: allocations, autotuning, compilation
    barrier.wait()
    t0 = time.time()
    r = ltnb_trainer(lt, dev, steps, epochs)
    queue.put((t0, time.time(), r["images_per_second"] * r["seconds"]))


def concurrent(k: int, device, steps: int | None, epochs: int = 1) -> dict:
    """``k`` independent trainings in ``k`` processes, started together after their warm-ups: aggregate images/s."""
    threads = max(1, torch.get_num_threads() // k) if device.type == "cpu" else 1
    ctx = mp.get_context("spawn")
    barrier, queue = ctx.Barrier(k), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(str(device), steps, epochs, threads, barrier, queue)) for _ in range(k)]
    for p in procs:
        p.start()
    got = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    start, end = min(g[0] for g in got), max(g[1] for g in got)
    images = sum(g[2] for g in got)
    return {"runs": k, "aggregate_images_per_second": images / (end - start), "wall_seconds": end - start}


def layouts(lt, device, steps: int | None, repeats: int = 3) -> dict:
    """The eager training step in channels-last against contiguous memory, paired and repeated: the two alternate
    (ABBA...), so a load that comes and goes falls on both; images/s of each repeat and the median of the ratios."""
    out = {"channels_last": [], "contiguous": []}
    for i in range(repeats):
        order = ("channels_last", "contiguous") if i % 2 == 0 else ("contiguous", "channels_last")
        for fmt in order:
            out[fmt].append(ltnb_trainer(lt, device, steps, compile="off", memory_format=fmt)["images_per_second"])
    ratios = [a / b for a, b in zip(out["channels_last"], out["contiguous"])]
    return {**out, "ratios": ratios, "median_ratio": float(sorted(ratios)[len(ratios) // 2])}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ltnb.bench", description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--steps", type=int, default=None,
                    help="training steps measured per side (default: 40 on CPU, a whole epoch on CUDA)")
    ap.add_argument("--concurrent", type=int, nargs="*", default=None,
                    help="numbers of concurrent runs to measure (default: 2 on CPU, 2 4 8 on CUDA)")
    ap.add_argument("--stacked", type=int, nargs="*", default=None,
                    help="numbers of runs stacked into one network (default: 2 4 on CPU, 4 16 32 on CUDA)")
    ap.add_argument("--workers", type=int, default=4, help="DataLoader workers of the reference")
    ap.add_argument("--epochs", type=int, default=None,
                    help="epochs measured when --steps is not given (default: 3 on CUDA)")
    ap.add_argument("--compile", nargs="*", default=None,
                    help="torch.compile modes of ltnb to measure besides the default (e.g. default reduce-overhead; "
                         "default: 'default' on CPU, where runs of 20 epochs or more compile, none on CUDA)")
    ap.add_argument("--save", default=None, help="also write the numbers as JSON to this file")
    args = ap.parse_args(argv)
    dev = resolve_device(args.device)
    cpu = dev.type == "cpu"
    steps = args.steps if args.steps is not None else (40 if cpu else None)
    epochs = 1 if steps is not None else (args.epochs or 3)
    conc = args.concurrent if args.concurrent is not None else ([2] if cpu else [2, 4, 8])
    stacks = args.stacked if args.stacked is not None else ([2, 4] if cpu else [4, 16, 32])
    variants_asked = [dict(cuda_graphs=False)] if not cpu else []  # CUDA: also the eager step, for comparison
    modes = args.compile if args.compile is not None else (["default"] if cpu else [])
    variants_asked += [dict(compile=m, cuda_graphs=False) for m in modes if m != "off"]
    lt = synthetic_lt()
    n = len(lt.train)
    name = torch.cuda.get_device_name(dev) if not cpu else f"CPU, {torch.get_num_threads()} threads"
    print(f"ltnb bench · ResNet-32 · 32x32x3 · batch {BATCH} · {n:,} training images (CIFAR-10-LT imb 100 sizes, random pixels)")
    print(f"device: {name} · torch {torch.__version__} · python {platform.python_version()}")
    span = f"{epochs} epochs" if steps is None else f"{steps} steps"
    print(f"measured over {span} per pipeline after a warm-up\n", flush=True)
    ltnb_trainer(lt, dev, 10)  # warm-up: allocations, cuDNN autotuning, compilation
    ours = ltnb_trainer(lt, dev, steps, epochs)
    variants = []
    for kw in variants_asked:
        t = time.time()
        ltnb_trainer(lt, dev, 10, **kw)  # the first call compiles (inductor caches it on disk for later processes)
        first = time.time() - t
        variants.append(ltnb_trainer(lt, dev, steps, epochs, **kw))
        # compiling: the first call's time beyond what its 10 steps take once compiled
        variants[-1]["compile_seconds"] = max(0.0, first - 10 * BATCH / variants[-1]["images_per_second"])
    plain = ltnb_trainer(lt, dev, steps, epochs, fast=False, compile="off") if ours["precision"] != "fp32" else ours
    ref = reference_pipeline(lt, dev, steps, args.workers, epochs)
    ev = evaluation(lt, dev, ours["model"])
    rows = [(_label(ours), ours["images_per_second"])] + [
        (_label(v) + (f" [{v['compile_seconds']:.0f} s to compile]" if v["compile"] != "off" else ""),
         v["images_per_second"]) for v in variants]
    if plain is not ours:
        rows.append(("ltnb trainer (fp32, data path only)", plain["images_per_second"]))
    rows.append(("reference (DataLoader+PIL, fp32)", ref["images_per_second"]))
    print(f"{'pipeline':52s} {'train img/s':>12s} {'epoch (s)':>10s} {'200 epochs':>11s}")
    for label, ips in rows:
        print(f"{label:52s} {ips:12,.0f} {n / ips:10.2f} {200 * n / ips / 60:9.1f} min")
    print(f"{'speed-up (ltnb / reference)':52s} {ours['images_per_second'] / ref['images_per_second']:12.2f}x")
    print(f"{'evaluation (ltnb predict)':52s} {ev:12,.0f} img/s", flush=True)
    result = {"device": name, "device_type": dev.type, "torch": torch.__version__,
              "python": platform.python_version(), "date": datetime.date.today().isoformat(),
              "train_images": n, "batch": BATCH, "steps": steps, "epochs": epochs, "workers": args.workers,
              "ltnb_images_per_second": ours["images_per_second"], "ltnb_precision": ours["precision"],
              "ltnb_compile": ours["compile"], "ltnb_cuda_graphs": ours["cuda_graphs"],
              "ltnb_variants": [{"label": _label(v), "compile": v["compile"], "cuda_graphs": v["cuda_graphs"], "precision": v["precision"],
                                 "images_per_second": v["images_per_second"],
                                 "compile_seconds": v.get("compile_seconds")} for v in variants],
              "ltnb_fp32_images_per_second": plain["images_per_second"],
              "reference_images_per_second": ref["images_per_second"],
              "eval_images_per_second": ev, "concurrent": [], "stacked": []}

    def save() -> None:  # after every row, so a run stopped by a time limit keeps what it measured
        if args.save:
            Path(args.save).parent.mkdir(parents=True, exist_ok=True)
            Path(args.save).write_text(json.dumps(result, indent=1))

    save()
    lay = layouts(lt, dev, steps)
    result["layouts"] = lay
    print(f"{'eager step, channels-last over contiguous (paired, 3x)':52s} {lay['median_ratio']:12.2f}x  ("
          + ", ".join(f"{a:,.0f}/{b:,.0f}" for a, b in zip(lay["channels_last"], lay["contiguous"])) + " img/s)",
          flush=True)
    save()
    for k in stacks:
        s = stacked_trainer(k, lt, dev, steps, epochs)
        result["stacked"].append(s)
        print(f"{f'{k} stacked ltnb runs (aggregate; per run)':52s} {s['aggregate_images_per_second']:12,.0f} "
              f"{s['per_run_images_per_second']:10,.0f}  {s['aggregate_images_per_second'] / ref['images_per_second']:5.1f}x "
              f"the reference", flush=True)
        save()
    if stacks:
        tol = stacked_tolerance(lt, dev)
        result["stacked_tolerance"] = tol
        print(f"{'stacked against alone, 3 runs, 2 steps (' + tol['precision'] + ')':52s} losses within "
              f"{tol['loss_relative']:.1e}, weights within {tol['weights_relative']:.1e} (relative)", flush=True)
        save()
    for k in conc:
        c = concurrent(k, dev, steps, epochs)
        result["concurrent"].append(c)
        print(f"{f'{k} concurrent ltnb runs (aggregate)':52s} {c['aggregate_images_per_second']:12,.0f}", flush=True)
        save()
    if args.save:
        print(f"\nsaved to {args.save}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
