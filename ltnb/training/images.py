"""Stage 2 on images through the frozen backbone: MiSLAS (label-aware smoothing, LWS, BN shift) and ALAS."""
from __future__ import annotations

import math
import time

import numpy as np
import torch

from ltnb import data as D
from ltnb.config import RunConfig
from ltnb.kernels import angular, evaluate, losses, models, samplers
from ltnb.presets import PRESETS, Preset, resolve_device
from ltnb.store import Run
from ltnb.training import checkpoint
from ltnb.training.common import (
    autocast,
    build_model,
    class_means,
    new_history,
    predict,
    progress_bar,
    record_epoch,
    summary,
    training_set,
)

STREAMS: dict = {}  # the stage-2 feature streams of the last backbones and seeds, shared by every head trained on them
STREAMS_KEPT = 8  # a few MB each on CIFAR (10 epochs x ~12k images x 64 floats): every seed of two backbones


def feature_stream(parent: Run, seed: int, shift_bn: bool, p: Preset, device="auto", progress: bool = True):
    """Features of stage 2's class-balanced, augmented batches through the frozen backbone, epoch by epoch.

    With ``shift_bn`` the backbone's BatchNorm runs in training mode, so it normalises with batch
    statistics and its running statistics move to the class-balanced data (MiSLAS's BN shift).
    The stream does not depend on the head, so every MiSLAS / ALAS variant on one backbone and
    seed reuses it (the last ``STREAMS_KEPT`` are kept in memory). Returns (epochs of (features, labels)
    lists, (train features, labels), (test features, labels)) after the shift, un-augmented.
    """
    dev = resolve_device(device)
    key = (parent.config.key, seed, bool(shift_bn), p, str(dev))
    if key in STREAMS:
        return STREAMS[key]
    lt = training_set(parent.config)
    model = build_model(parent.config, lt, PRESETS[parent.config.preset])
    model.load_state_dict(parent.state_dict())
    model.to(dev).eval()
    if shift_bn:
        model.backbone.train()
    train = D.DeviceImages(lt.train, dev)
    labels = lt.train.labels
    steps = -(-len(labels) // p.batch_size)
    steps = min(steps, p.max_steps or steps)
    gen = torch.Generator().manual_seed(seed)
    cast = autocast(dev)
    epochs = []
    bar = progress_bar(p.stage2_epochs, f"stage 2 features {parent.config.label} seed {seed}", progress)
    with torch.no_grad():
        for _ in range(p.stage2_epochs):
            zs, ys = [], []
            for idx in samplers.epoch_batches(labels, lt.counts, "class_balanced", p.batch_size, gen)[:steps]:
                x, y = train.batch(idx.to(dev), augment=True, generator=gen)
                with cast:
                    zs.append(model.features(x).float())
                ys.append(y)
            epochs.append((zs, ys))
            bar.update(1)
    bar.close()
    model.eval()
    z_tr, _, y_tr = predict(model, train, p.test_limit)
    z_te, _, y_te = predict(model, D.DeviceImages(lt.test, dev), p.test_limit)
    while len(STREAMS) >= STREAMS_KEPT:
        STREAMS.pop(next(iter(STREAMS)))
    STREAMS[key] = (epochs, (z_tr, y_tr), (z_te, y_te))
    return STREAMS[key]


def stage2_on_images(cfg: RunConfig, parent: Run, device="auto", progress: bool = True, ckpt=None):
    """MiSLAS stage 2 (label-aware smoothing + LWS, BN shift) or ALAS (angular Eq. 5, no LWS) on the parent.

    The classifier starts from stage 1's and is fine-tuned with SGD at ``lr_factor`` times a cosine
    (by epoch) from the preset's ``stage2_lr``; LWS scales at the full rate, as in MiSLAS's code.
    MiSLAS predicts with the LWS-scaled linear logits, ALAS with the angular ones (ATL);
    both are stored, with the shifted features. ``ckpt``: the run's checkpoint, written after each epoch of the
    head (resuming computes the feature stream again: it depends only on the backbone and the seed).
    """
    if cfg.knob("backbone_imb") not in (None, cfg.imb):
        raise ValueError("backbone_imb is supported by the stage-2 methods on stored features, not by mislas / alas")
    p = PRESETS[cfg.preset]
    dev = resolve_device(device)
    s = losses.mislas_settings(cfg.dataset, cfg.imb)
    s.update({k: cfg.knob(k) for k in s if cfg.knob(k) is not None})
    losses.check_form(s["las_form"])
    if cfg.tau < 0:
        raise ValueError(f"ALAS tau must be >= 0, got {cfg.tau}")
    t0 = time.time()
    epochs, (z_tr, y_tr), (z_te, y_te) = feature_stream(parent, cfg.seed, bool(s["shift_bn"]), p, dev, progress)
    counts = np.asarray(parent.metrics["counts"])
    arr = parent.arrays
    W = torch.from_numpy(arr["weight"])
    C, d = W.shape
    torch.manual_seed(cfg.seed)
    head = torch.nn.Linear(d, C)
    with torch.no_grad():
        head.weight.copy_(W)
        head.bias.copy_(torch.from_numpy(arr.get("bias", np.zeros(C, np.float32))))
    head.to(dev)
    groups = [{"params": list(head.parameters()), "factor": float(s["lr_factor"])}]
    scales = None
    if cfg.stage2 == "mislas":
        scales = torch.nn.Parameter(torch.ones(C, device=dev))
        groups.append({"params": [scales], "factor": 1.0})
    opt = torch.optim.SGD(groups, lr=p.stage2_lr, momentum=0.9, weight_decay=p.weight_decay)
    eps = losses.label_aware_epsilons(counts, float(s["las_eps_head"]), float(s["las_eps_tail"]), s["las_form"]).to(dev)
    factor = eps.clone()  # ALAS: R^0_y = f(N_y), MiSLAS's smoothing factor
    bar = progress_bar(len(epochs), f"stage 2 {cfg.label} seed {cfg.seed}", progress)
    history = new_history()
    start = 0
    saved = ckpt.load() if ckpt is not None else None
    if saved is not None:
        head.load_state_dict(saved["model"])
        if scales is not None:
            scales.data.copy_(saved["scales"])
        checkpoint.load_optimizer(opt, saved["opt"])
        checkpoint.set_rng_state(saved["rng"])
        factor, history, start, t0 = saved["factor"].to(dev), saved["history"], saved["epoch"], t0 - saved["elapsed"]
        bar.update(start)

    def snapshot() -> dict:  # ALAS's smoothing factor R too: it is updated step by step
        return {"model": head.state_dict(), "scales": scales, "opt": opt.state_dict(), "factor": factor,
                "rng": checkpoint.rng_state(), "history": history, "epoch": e + 1, "elapsed": time.time() - t0}

    for e, (zs, ys) in enumerate(epochs):
        if e < start:
            continue
        t_epoch = time.time()
        total, n = 0.0, 0
        lr = 0.5 * p.stage2_lr * (1 + math.cos(math.pi * e / len(epochs)))
        for g in opt.param_groups:
            g["lr"] = g["factor"] * lr
        for z, y in zip(zs, ys):
            out = head(z)
            if scales is not None:
                loss = losses.label_aware_smoothing_loss(scales * out, y, eps, cfg.knob("las_targets", "eq4"))
            else:
                with torch.no_grad():
                    factor = angular.alas_update(
                        factor, angular.angular_probabilities(z, head.weight).mean(0), cfg.tau, s["las_form"])
                loss = angular.alas_loss(out, y, factor)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total, n = total + loss.detach() * len(y), n + len(y)
        with torch.no_grad():  # the epoch's test accuracy, predicted as the finished run predicts
            z_ev = z_te.to(dev)
            main = scales * head(z_ev) if scales is not None else angular.angular_logits(z_ev, head.weight)
            record_epoch(history, float(total) / max(n, 1), main.cpu(), y_te)
        bar.update(1)
        checkpoint.boundary(ckpt, e + 1, len(epochs), time.time() - t_epoch, snapshot)
    bar.close()
    head.cpu()
    with torch.no_grad():
        sc = scales.detach().cpu() if scales is not None else torch.ones(C)
        lin_te, lin_tr = head(z_te), head(z_tr)
        ang_te, ang_tr = angular.angular_logits(z_te, head.weight), angular.angular_logits(z_tr, head.weight)
        main_te, main_tr = (sc * lin_te, sc * lin_tr) if scales is not None else (ang_te, ang_tr)
    by = {name: evaluate.metrics(lg, y_te, counts)[0] for name, lg in (("linear", lin_te), ("angular", ang_te))}
    metrics, conf = summary(main_te, y_te, counts, {
        "counts": counts.tolist(), "train_seconds": time.time() - t0, "stage": 2, "device": str(dev),
        "torch": torch.__version__, "prediction": "linear with LWS" if scales is not None else "angular",
        "settings": {**s, "tau": cfg.tau}, "trainable_parameters": models.count_parameters(head) + (C if scales is not None else 0),
        "train_accuracy": float((main_tr.argmax(1) == y_tr).float().mean()), **by, "history": history,
        **({"resumed_at": ckpt.resumed_at} if ckpt is not None and ckpt.resumed_at else {}),
        "threads": torch.get_num_threads() if dev.type == "cpu" else None,
    })
    arrays = {"confusion": conf, "test_logits": main_te.numpy().astype(np.float32),
              "test_linear": lin_te.numpy().astype(np.float32), "test_angular": ang_te.numpy().astype(np.float32),
              "test_labels": y_te.numpy(), "train_mean_logits": class_means(main_tr, y_tr),
              "weight": head.weight.detach().numpy(), "bias": head.bias.detach().numpy(),
              "final_factor": factor.cpu().numpy() if scales is None else eps.cpu().numpy()}
    if scales is not None:
        arrays["scales"] = sc.numpy()
    features = {"train": z_tr.numpy(), "train_labels": y_tr.numpy(), "test": z_te.numpy(), "test_labels": y_te.numpy()}
    return metrics, arrays, features
