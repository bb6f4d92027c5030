"""Stage 2 on a frozen backbone's stored features: cRT, LWS, tau-norm, MARR and DisAlign, one fitter each."""
from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F

from ltnb import data as D
from ltnb.config import COSINE_LOSSES, RunConfig
from ltnb.kernels import gcl, margins, models, samplers
from ltnb.presets import PRESETS, Preset, resolve_device
from ltnb.store import Run
from ltnb.training import checkpoint
from ltnb.training.common import (
    build_model,
    class_means,
    new_history,
    predict,
    progress_bar,
    record_epoch,
    summary,
    training_set,
)


def frozen_classifier(parent: Run, train_features: tuple | None = None):
    """The parent's stored features and its classifier as one ``nn.Linear`` on them.

    A cosine head (LDAM, GCL) becomes a linear one on L2-normalised features with weights
    ``s W_j / ||W_j||`` and no bias: the same logits, so every stage-2 method sees one form.
    ``train_features`` (features, labels) replaces the parent's own training features.
    """
    feats, arr = parent.features(), parent.arrays
    z_tr, y_tr = torch.from_numpy(feats["train"]), torch.from_numpy(feats["train_labels"])
    if train_features is not None:
        z_tr, y_tr = train_features
    z_te, y_te = torch.from_numpy(feats["test"]), torch.from_numpy(feats["test_labels"])
    W = torch.from_numpy(arr["weight"])
    C, d = W.shape
    linear = torch.nn.Linear(d, C)
    with torch.no_grad():
        if parent.config.loss in COSINE_LOSSES:
            z_tr, z_te = F.normalize(z_tr, dim=1), F.normalize(z_te, dim=1)
            linear.weight.copy_(parent.config.logit_scale * F.normalize(W, dim=1))
            linear.bias.zero_()
        else:
            linear.weight.copy_(W)
            linear.bias.copy_(torch.from_numpy(arr.get("bias", np.zeros(C, np.float32))))
    return z_tr, y_tr, z_te, y_te, linear


def fit_head(head, z, y, counts, p: Preset, seed: int, progress: bool, label: str,
             sampler: str = "class_balanced", loss_fn=None, lr: float | None = None,
             batch_size: int | None = None, iterations: int | None = None, test=None, class_freq=None,
             ckpt: checkpoint.Checkpoint | None = None, generators=()) -> dict:
    """SGD on ``sampler`` batches (class-balanced by default) with a cosine learning rate to 0.

    Defaults: the preset's ``stage2_lr`` and ``batch_size``, for ``stage2_epochs`` epochs;
    ``iterations`` counts steps instead (epochs are drawn until it is reached). Returns the
    per-epoch history, with the test accuracy of ``test`` (features, labels) after each epoch.
    ``class_freq`` replaces the sampler's class frequencies (CBEN with the official code's beta).
    ``ckpt``: resumed from and written after each epoch, with the loss's own ``generators`` (GCL's clouds).
    """
    loss_fn = loss_fn or F.cross_entropy
    lr = p.stage2_lr if lr is None else lr
    batch_size = batch_size or p.batch_size
    gen = torch.Generator().manual_seed(seed)
    params = [q for q in head.parameters() if q.requires_grad]
    opt = torch.optim.SGD(params, lr=lr, momentum=0.9,
                          weight_decay=p.weight_decay if isinstance(head, torch.nn.Linear) else 0.0)
    steps = int(iterations) if iterations else -(-len(y) // batch_size) * p.stage2_epochs
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    bar = progress_bar(steps, f"stage 2 {label}", progress)
    step = 0
    history = new_history()
    t0, epoch, gens = time.time(), 0, [gen, *generators]
    saved = ckpt.load() if ckpt is not None else None
    if saved is not None:
        head.load_state_dict(saved["model"])
        checkpoint.load_optimizer(opt, saved["opt"])
        sched.load_state_dict(saved["sched"])
        checkpoint.set_rng_state(saved["rng"], gens)
        history, step, epoch, t0 = saved["history"], saved["step"], saved["epoch"], time.time() - saved["elapsed"]
        bar.update(step)

    def snapshot() -> dict:
        return {"model": head.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(), "step": step,
                "rng": checkpoint.rng_state(gens), "history": history, "epoch": epoch, "elapsed": time.time() - t0}

    while step < steps:
        t_epoch = time.time()
        total, n = 0.0, 0
        for idx in samplers.epoch_batches(y, counts, sampler, batch_size, gen, class_freq=class_freq)[:steps - step]:
            loss = loss_fn(head(z[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            total, n = total + loss.detach() * len(idx), n + len(idx)
        if test is not None:
            with torch.no_grad():
                record_epoch(history, float(total) / max(n, 1), head(test[0]), test[1])
        bar.set_postfix(loss=f"{loss.item():.3f}")
        bar.update(step - bar.n)
        epoch += 1  # of about steps / batches-per-epoch (``iterations`` may cut the last short): done once step = steps
        checkpoint.boundary(ckpt, epoch, epoch if step >= steps else max(epoch + 1, -(-steps * batch_size // len(y))),
                            time.time() - t_epoch, snapshot)
    bar.close()
    return history


# ------------------------------------------------------------------ one fitter per stage-2 method
# Each takes (cfg, parent, counts, train (z, y), test (z, y), the frozen linear classifier, preset, progress,
# checkpoint or None) and returns (head, trainable parameters, per-epoch history or None).

def _cben_freq(cfg, counts, sampler: str):
    """CBEN's class frequencies with the (a, b) of the knob ``cben`` (paper or code); None: the sampler's own."""
    if sampler != "cben" or cfg.knob("cben") in (None, "paper"):
        return None
    a, b = samplers.CBEN_AB[cfg.knob("cben")]
    return samplers.class_weights(counts, "cben", a=a, b=b)


def _marr_or_disalign(cfg, parent, counts, train, test, linear, p, progress, ckpt=None):
    # MARR Sec. 4.1 / Algorithm 2: the frozen network, instance-balanced batches, the U_y-weighted
    # loss (Eqs. 11-12), SGD with a cosine learning rate from 0.05 to 0; DisAlign is fitted the same way.
    head = margins.MARR(linear) if cfg.stage2 == "marr" else margins.DisAlign(linear)
    U = margins.class_weights(counts, float(cfg.knob("gamma", margins.MARR_GAMMA)))
    history = fit_head(head, *train, counts, p, cfg.seed, progress, cfg.label, sampler="instance",
                       loss_fn=lambda out, y: margins.reweighted_loss(out, y, U, cfg.knob("marr_norm", "batch")),
                       lr=margins.MARR_LR,
                       batch_size=margins.MARR_BATCH_SIZE, iterations=cfg.knob("iterations"), test=test, ckpt=ckpt)
    return head, models.count_parameters(head), history


def _tau_norm(cfg, parent, counts, train, test, linear, p, progress, ckpt=None):
    C, d = linear.weight.shape
    head = torch.nn.Linear(d, C)
    with torch.no_grad():
        head.weight.copy_(margins.tau_norm_weight(linear.weight, cfg.tau))
        head.bias.copy_(linear.bias if cfg.knob("tau_bias", True) else torch.zeros_like(linear.bias))
    return head, 0, None  # post hoc: no epochs


def _gcl_crt(cfg, parent, counts, train, test, linear, p, progress, ckpt=None):
    # GCL's Algorithm 1: the cosine classifier, started from stage 1's, re-trained with the
    # clouded loss (Eq. 12) on CBEN batches; the official code uses margin 0.1, s = 20 here.
    C, d = linear.weight.shape
    s2 = float(cfg.knob("s2", 20.0))
    head = models.CosineHead(d, C, scale=1.0)
    with torch.no_grad():
        head.weight.copy_(linear.weight)
    delta = gcl.cloud_size(counts, parent.config.knob("cloud", "log"))
    noise_gen = torch.Generator().manual_seed(cfg.seed + 1)

    def loss_fn(out, y):
        return gcl.gcl_loss(out, y, delta, gcl.cloud_noise(out.shape, noise_gen), noise_mul=cfg.knob("noise_mul", 0.5),
                            margin=cfg.knob("margin2", 0.1), s=s2, focal=float(cfg.knob("focal2", 0.0)))

    sampler = cfg.knob("sampler2", "cben")
    history = fit_head(head, *train, counts, p, cfg.seed, progress, cfg.label, sampler=sampler, loss_fn=loss_fn,
                       test=test, class_freq=_cben_freq(cfg, counts, sampler), ckpt=ckpt, generators=[noise_gen])
    head.scale = s2
    return head, models.count_parameters(head), history


def _crt_or_lws(cfg, parent, counts, train, test, linear, p, progress, ckpt=None):
    if cfg.stage2 == "crt" and parent.config.loss == "gcl":
        return _gcl_crt(cfg, parent, counts, train, test, linear, p, progress, ckpt)
    C, d = linear.weight.shape
    if cfg.stage2 == "lws":
        head = margins.LWS(linear)
    elif cfg.knob("crt_init", "kaiming") == "default":  # PyTorch's own nn.Linear init, as the official cRT code
        head = torch.nn.Linear(d, C)
    else:
        head = models.LinearHead(d, C)
    sampler = cfg.knob("sampler2", "class_balanced")
    history = fit_head(head, *train, counts, p, cfg.seed, progress, cfg.label, sampler=sampler, test=test,
                       class_freq=_cben_freq(cfg, counts, sampler), ckpt=ckpt)
    return head, models.count_parameters(head), history


FITTERS = {"crt": _crt_or_lws, "lws": _crt_or_lws, "tau_norm": _tau_norm, "marr": _marr_or_disalign,
           "disalign": _marr_or_disalign}


def other_training_set(cfg: RunConfig, parent: Run, p: Preset, device):
    """Counts and features of ``cfg``'s training set through ``parent``'s stored network (trained at another factor)."""
    if parent.config.loss in COSINE_LOSSES:
        raise ValueError("a backbone at another imbalance factor is supported for linear heads only")
    dev = resolve_device(device)
    lt = training_set(cfg)
    model = build_model(parent.config, lt, PRESETS[parent.config.preset])
    model.load_state_dict(parent.state_dict())
    z, _, y = predict(model.to(dev), D.DeviceImages(lt.train, dev), p.test_limit)
    return lt.counts, (z, y)


def train_stage2(cfg: RunConfig, parent: Run, device="auto", progress: bool = True, ckpt=None):
    """Decoupled stage 2 on the parent's frozen features; returns (metrics, arrays).

    Features are computed once without augmentation (the parent stores them), so a stage-2
    run costs seconds; class-balanced sampling as in Kang et al. (2020) for cRT and LWS,
    instance-balanced for MARR and DisAlign as in MARR's Algorithm 2. ``ckpt``: the run's checkpoint, resumed
    from and written after each epoch.
    """
    p = PRESETS[cfg.preset]
    counts = np.asarray(parent.metrics["counts"])
    own = None
    if parent.config.imb != cfg.imb:  # a backbone trained at another factor, fitted on this one's set (MARR Table 7)
        counts, own = other_training_set(cfg, parent, p, device)
    z_tr, y_tr, z_te, y_te, linear = frozen_classifier(parent, own)
    torch.manual_seed(cfg.seed)
    t0 = time.time()
    head, trainable, history = FITTERS[cfg.stage2](cfg, parent, counts, (z_tr, y_tr), (z_te, y_te), linear, p,
                                                   progress, ckpt)
    resumed = {"resumed_at": ckpt.resumed_at} if ckpt is not None and ckpt.resumed_at else {}
    with torch.no_grad():
        logits = head(z_te)
        train_logits = head(z_tr)
    metrics, conf = summary(logits, y_te, counts, {
        "counts": counts.tolist(), "train_seconds": time.time() - t0 + (ckpt.prior_seconds if resumed else 0),
        "stage": 2, "trainable_parameters": trainable, "device": "cpu", "torch": torch.__version__,
        "train_accuracy": float((train_logits.argmax(1) == y_tr).float().mean()),
        "threads": torch.get_num_threads(), **({"history": history} if history else {}), **resumed,
    })
    head_arr = {"weight": (head.weight * head.scales.unsqueeze(1)).detach().numpy()
                if isinstance(head, margins.LWS) else head.weight.detach().numpy()}
    if isinstance(head, margins.LWS):
        head_arr["scales"] = head.scales.detach().numpy()
    if isinstance(head, (margins.MARR, margins.DisAlign)):  # the frozen bias and what was fitted
        head_arr.update({n: getattr(head, n).detach().numpy() for n in ("bias", "omega", "beta", "v") if hasattr(head, n)})
    arrays = {"confusion": conf, "test_logits": logits.numpy().astype(np.float32),
              "test_labels": y_te.numpy(), "train_mean_logits": class_means(train_logits, y_tr),
              **head_arr}
    return metrics, arrays
