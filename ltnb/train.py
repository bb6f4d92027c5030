"""One trainer for every method: stage 1 end to end, stage 2 on a frozen backbone's features."""
from __future__ import annotations

import functools
import math
import os
import sys
import time
from contextlib import nullcontext

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from ltnb import data as D
from ltnb import evaluate, gcl, logit_adjust, losses, margins, models, samplers
from ltnb.graphs import GraphedStep
from ltnb.presets import PRESETS, Preset, resolve_device
from ltnb.runs import COSINE_LOSSES, Run, RunConfig

FEATURES_PER_CLASS = 50  # test features kept per class for figures (t-SNE, angles)


@functools.lru_cache(maxsize=4)
def dataset(name: str, imb: float) -> D.LongTailed:
    """The long-tailed training set and the balanced test set (cached in the process)."""
    return D.long_tailed(name, imb)


def learning_rate(step: int, steps_per_epoch: int, p: Preset, base_lr: float | None = None) -> float:
    """Linear warm-up over ``warmup_epochs``, then step decays at the milestones or a cosine to zero."""
    lr = p.lr if base_lr is None else base_lr
    epoch = step / steps_per_epoch
    if epoch < p.warmup_epochs:
        return lr * (step + 1) / (p.warmup_epochs * steps_per_epoch)
    if p.lr_schedule == "cosine":
        done = (epoch - p.warmup_epochs) / max(p.epochs - p.warmup_epochs, 1e-9)
        return lr * 0.5 * (1 + math.cos(math.pi * min(done, 1.0)))
    if p.lr_schedule != "step":
        raise ValueError(f"unknown lr_schedule {p.lr_schedule!r}; choose 'step' or 'cosine'")
    return lr * p.lr_decay ** sum(epoch >= m for m in p.milestone_epochs())


def _progress(total: int, desc: str, enabled: bool):
    enabled = enabled and os.environ.get("LTNB_PROGRESS", "1") != "0"
    return tqdm(total=total, desc=desc, disable=not enabled, file=sys.stderr,
                mininterval=2.0, dynamic_ncols=True, leave=True)


def make_loss(cfg: RunConfig, counts, epoch: int, p: Preset, device, generator=None, noise=None):
    """The stage-1 loss of ``cfg`` at ``epoch`` (DRW switches class weights on at ``p.drw_epoch()``).

    ``noise(shape)`` gives GCL's cloud noise (default: drawn from ``generator`` at each call).
    """
    weight = None
    if cfg.drw and epoch >= p.drw_epoch():
        weight = logit_adjust.effective_number_weights(counts).to(device)
    if cfg.loss == "ce":
        return lambda out, y: F.cross_entropy(out, y, weight=weight)
    if cfg.loss == "balanced_softmax":
        prior = logit_adjust.log_prior(counts).to(device)  # on the device once, not at every step
        return lambda out, y: logit_adjust.balanced_softmax_loss(out, y, counts, weight=weight, prior=prior)
    if cfg.loss == "gcl":  # a fresh cloud for every call: mixup's two targets get two draws, as in the paper's code
        delta = gcl.cloud_size(counts, cfg.knob("cloud", "log")).to(device)
        noise = noise or (lambda shape: gcl.cloud_noise(shape, generator, device))
        return lambda out, y: gcl.gcl_loss(
            out, y, delta, noise(out.shape), noise_mul=cfg.knob("noise_mul", 0.5),
            margin=cfg.knob("margin", 0.0), s=cfg.logit_scale, weight=weight)
    m = logit_adjust.ldam_margins(counts).to(device)
    return lambda out, y: logit_adjust.ldam_loss(out, y, m, s=cfg.logit_scale, weight=weight)


@torch.no_grad()
def predict(model: torch.nn.Module, images: D.DeviceImages, limit: int | None = None,
            batch_size: int = 1000) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Features, logits and labels of the (un-augmented) images, in order, on the CPU."""
    model.eval()
    n = len(images) if limit is None else min(limit, len(images))
    feats, logits = [], []
    autocast = _autocast(images.device)
    for i in range(0, n, batch_size):
        x, _ = images.batch(torch.arange(i, min(i + batch_size, n), device=images.device), augment=False)
        with autocast:
            z = model.features(x).float()
        out = model.head(z)  # the head in fp32: stored features reproduce these logits exactly
        feats.append(z.cpu())
        logits.append(out.float().cpu())
    return torch.cat(feats), torch.cat(logits), images.labels[:n].cpu()


def fast_default(device: torch.device) -> bool:
    """bf16 autocast where it pays: every CUDA device, and CPUs with native bf16 (AVX512-BF16, AMX)."""
    if device.type == "cuda":
        return True
    try:
        return device.type == "cpu" and bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def _autocast(device: torch.device, fast: bool | None = None):
    fast = fast_default(device) if fast is None else fast
    return torch.autocast(device.type, dtype=torch.bfloat16) if fast else nullcontext()


def _head_arrays(head: torch.nn.Module) -> dict[str, np.ndarray]:
    out = {"weight": head.weight.detach().float().cpu().numpy()}
    if getattr(head, "bias", None) is not None:
        out["bias"] = head.bias.detach().float().cpu().numpy()
    return out


def _feature_subset(labels: torch.Tensor, per_class: int) -> np.ndarray:
    labels = labels.numpy()
    return np.concatenate([np.where(labels == c)[0][:per_class] for c in np.unique(labels)])


def _summary(logits, labels, counts, extra: dict) -> tuple[dict, np.ndarray]:
    m, conf = evaluate.metrics(logits, labels, counts)
    m.update(extra)
    return m, conf


def gcl_noise_draws(cfg: RunConfig) -> int:
    """How many cloud-noise draws one step of ``cfg`` makes (one per loss call; mixup calls the loss twice)."""
    return (2 if cfg.mixup_alpha > 0 else 1) if cfg.loss == "gcl" else 0


def epoch_draws(batches, generator: torch.Generator, pad: int, mixup_alpha: float, noise_draws: int,
                num_classes: int, device) -> list[dict]:
    """Every random number the steps of one epoch use, in the order the steps use them.

    Drawn on the CPU from ``generator`` (so CPU and CUDA runs of a seed see the same numbers),
    then moved to ``device`` in one copy per kind: no step waits on a host-to-device copy.
    """
    steps = []
    for idx in batches:
        n = len(idx)
        st = {"idx": idx, "crop": D.crop_flip_draws(n, pad, generator)}
        if mixup_alpha > 0:
            st["mixup"] = D.mixup_draws(n, mixup_alpha, generator)
        st["noise"] = [gcl.cloud_noise((n, num_classes), generator) for _ in range(noise_draws)]
        steps.append(st)
    dev = torch.device(device)
    if dev.type == "cpu" or not steps:
        return steps

    def moved(parts: list[torch.Tensor], dim: int = 0) -> list[torch.Tensor]:
        flat = torch.cat(parts, dim)
        flat = flat.pin_memory().to(dev, non_blocking=True)
        return list(flat.split([t.shape[dim] for t in parts], dim))

    idx = moved([st["idx"] for st in steps])
    off = moved([st["crop"][0] for st in steps], 1)
    flip = moved([st["crop"][1] for st in steps])
    perm = moved([st["mixup"][1] for st in steps]) if mixup_alpha > 0 else None
    lam = moved([torch.tensor([st["mixup"][0]]) for st in steps]) if mixup_alpha > 0 else None
    noise = [moved([st["noise"][k] for st in steps]) for k in range(noise_draws)]
    for i, st in enumerate(steps):
        st["idx"], st["crop"] = idx[i], (off[i], flip[i])
        if perm is not None:
            st["mixup"] = (lam[i].view(()), perm[i])  # lambda as a device scalar: a recorded step reads it
        st["noise"] = [noise[k][i] for k in range(noise_draws)]
    return steps


def build_model(cfg: RunConfig, lt: D.LongTailed, p: Preset) -> torch.nn.Module:
    """The stage-1 network of ``cfg``: ResNet-32 at the preset's width, with the head its loss needs."""
    head = "cosine" if cfg.loss in COSINE_LOSSES else cfg.head
    return models.resnet32(lt.info.num_classes, lt.info.shape[0], p.width, head)


# What a recorded CUDA graph of the step supports: these losses and heads, and these chapter knobs
# (anything else, e.g. a loss with state kept in Python, trains eagerly).
GRAPHABLE = {"loss": ("ce", "ldam", "balanced_softmax", "gcl"), "head": ("linear", "cosine"),
             "extra": {"cloud", "noise_mul", "margin", "s"}}


def graphable(cfg: RunConfig) -> bool:
    """Whether ``cfg``'s training step can be recorded once as a CUDA graph and replayed."""
    return (cfg.loss in GRAPHABLE["loss"] and cfg.head in GRAPHABLE["head"]
            and {k for k, _ in cfg.extra} <= GRAPHABLE["extra"])


def cuda_graphs_default(device: torch.device, fast: bool, cfg: RunConfig) -> bool:
    """Replay the step as a CUDA graph on CUDA's fast path (``$LTNB_CUDA_GRAPHS=0`` turns it off)."""
    return device.type == "cuda" and fast and graphable(cfg) and os.environ.get("LTNB_CUDA_GRAPHS", "1") != "0"


COMPILE_MODES = ("off", "default", "reduce-overhead", "max-autotune-no-cudagraphs")


def compile_mode(device: torch.device, fast: bool) -> str:
    """``$LTNB_COMPILE`` if set, else off: on the H100 CUDA graphs beat compiling (``make bench``)."""
    mode = os.environ.get("LTNB_COMPILE") or "off"
    if mode not in COMPILE_MODES:
        raise ValueError(f"LTNB_COMPILE={mode!r}: choose one of {COMPILE_MODES}")
    return mode


def _optimizer(model: torch.nn.Module, p: Preset, device: torch.device):
    kw = dict(lr=p.lr, momentum=p.momentum, weight_decay=p.weight_decay)
    if device.type == "cuda":  # one kernel for every parameter's update, reading lr from the device
        kw.update(fused=True, lr=torch.tensor(p.lr, device=device))
    return torch.optim.SGD(model.parameters(), **kw)


def fit(cfg: RunConfig, lt: D.LongTailed, p: Preset, device="auto", progress: bool = True,
        fast: bool | None = None, compile: str | None = None, cuda_graphs: bool | None = None):
    """Stage 1's training loop; returns the model and its history (with images/s of the loop).

    ``fast`` (default: :func:`fast_default`) autocasts to bf16, with channels-last activations on
    CUDA, where each full-batch step is also recorded once as a CUDA graph and replayed
    (``cuda_graphs``, default :func:`cuda_graphs_default`). The batches are always gathered and
    augmented on the device, from uint8 tensors kept there, with each epoch's random numbers
    drawn up front (:func:`epoch_draws`). ``compile`` (default :func:`compile_mode`) wraps the
    network in torch.compile instead.
    """
    dev = resolve_device(device)
    fast = fast_default(dev) if fast is None else fast
    counts = lt.counts
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    train = D.DeviceImages(lt.train, dev)
    model = build_model(cfg, lt, p).to(dev)
    layout = torch.channels_last if (fast and dev.type == "cuda") else torch.contiguous_format
    model = model.to(memory_format=layout)
    mode = compile or compile_mode(dev, fast)
    if mode not in COMPILE_MODES:
        raise ValueError(f"compile={mode!r}: choose one of {COMPILE_MODES}")
    graphed = cuda_graphs_default(dev, fast, cfg) if cuda_graphs is None else bool(cuda_graphs)
    if graphed and (dev.type != "cuda" or mode != "off"):
        raise ValueError("cuda_graphs needs a CUDA device and compile='off'")
    net = model if mode == "off" else torch.compile(model, mode=None if mode == "default" else mode, dynamic=False)
    opt = _optimizer(model, p, dev)
    labels_cpu = lt.train.labels
    steps = -(-len(labels_cpu) // p.batch_size)
    steps = min(steps, p.max_steps or steps)
    history = {"epoch": [], "loss": [], "train_acc": [], "lr": [], "test_acc": []}
    # a recorded graph cannot keep autocast's cache of cast weights between replays
    autocast = (torch.autocast("cuda", dtype=torch.bfloat16, cache_enabled=False) if graphed
                else _autocast(dev, fast))
    test = D.DeviceImages(lt.test, dev) if p.eval_every else None
    bar = _progress(p.epochs, f"{cfg.label} {cfg.dataset} imb {cfg.imb:g} seed {cfg.seed}", progress)
    state = {"noise": iter(()), "loss_fn": None}
    acc = torch.zeros(2, device=dev)  # this epoch's summed loss and correct predictions
    mix = cfg.mixup_alpha > 0

    def noise(shape):  # this step's pre-drawn cloud noise
        return next(state["noise"])

    def train_step(inp: dict) -> None:
        x, y = train.batch(inp["idx"], augment=True, draws=(inp["off"], inp["flip"]))
        if mix:
            x, ya, yb, lam = D.mixup(x, y, cfg.mixup_alpha, draws=(inp["lam"], inp["perm"]))
        state["noise"] = iter(inp["noise"])
        with autocast:
            out = net(x.contiguous(memory_format=layout))
        out = out.float() if torch.is_tensor(out) else out
        logits = out if torch.is_tensor(out) else out["logits"].float()
        loss_fn = state["loss_fn"]
        if mix:
            loss = losses.mixup_loss(loss_fn, out, ya, yb, lam)
            pred = logits.argmax(1)
            correct = lam * (pred == ya).sum() + (1 - lam) * (pred == yb).sum()
        else:
            loss = loss_fn(out, y)
            correct = (logits.argmax(1) == y).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        acc[0] += loss.detach() * len(y)
        acc[1] += correct

    recorded = GraphedStep(train_step) if graphed else None
    t0, seen, step = time.time(), 0, 0
    for epoch in range(p.epochs):
        model.train()
        state["loss_fn"] = make_loss(cfg, counts, epoch, p, dev, gen, noise=noise)
        phase = bool(cfg.drw and epoch >= p.drw_epoch())  # what make_loss's result depends on
        batches = samplers.epoch_batches(labels_cpu, counts, cfg.sampler, p.batch_size, gen)[:steps]
        draws = epoch_draws(batches, gen, lt.info.pad, cfg.mixup_alpha, gcl_noise_draws(cfg),
                            lt.info.num_classes, dev)
        acc.zero_()
        n_ep = 0
        for st in draws:
            lr = learning_rate(step, steps, p)
            for g in opt.param_groups:
                if torch.is_tensor(g["lr"]):
                    g["lr"].fill_(lr)
                else:
                    g["lr"] = lr
            inp = {"idx": st["idx"], "off": st["crop"][0], "flip": st["crop"][1], "noise": st["noise"]}
            if mix:
                inp["lam"], inp["perm"] = st["mixup"]
            n = len(st["idx"])
            if recorded is not None and n == p.batch_size:
                recorded(phase, inp)
            else:  # eager: the CPU, or the last, smaller batch of an epoch
                train_step(inp)
            n_ep += n
            step += 1
        seen += n_ep
        test_acc = float("nan")
        if test is not None and (epoch + 1) % p.eval_every == 0 and epoch + 1 < p.epochs:
            _, lg, lb = predict(model, test, p.test_limit)
            test_acc = float((lg.argmax(1) == lb).float().mean())
        tot_loss, tot_correct = acc.tolist()  # syncs once an epoch
        history["epoch"].append(epoch + 1)
        history["loss"].append(tot_loss / max(n_ep, 1))
        history["train_acc"].append(tot_correct / max(n_ep, 1))
        history["lr"].append(float(opt.param_groups[0]["lr"]))
        history["test_acc"].append(test_acc)
        bar.set_postfix(loss=f"{history['loss'][-1]:.3f}", acc=f"{history['train_acc'][-1]:.3f}")
        bar.update(1)
    bar.close()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    history["seconds"] = time.time() - t0
    history["images_per_second"] = seen / max(history["seconds"], 1e-9)
    history["precision"] = "bf16 autocast" if fast else "fp32"
    history["compile"] = mode
    history["cuda_graphs"] = graphed and not recorded.failed
    return model, history


def train_stage1(cfg: RunConfig, device="auto", progress: bool = True):
    """Train backbone and head end to end; returns (metrics, arrays, features, state_dict)."""
    p = PRESETS[cfg.preset]
    dev = resolve_device(device)
    lt = dataset(cfg.dataset, cfg.imb)
    counts = lt.counts
    model, history = fit(cfg, lt, p, dev, progress)
    train_seconds = history.pop("seconds")
    train_ips = history.pop("images_per_second")
    precision = history.pop("precision")
    speedups = {"compile": history.pop("compile"), "cuda_graphs": history.pop("cuda_graphs")}
    test = D.DeviceImages(lt.test, dev)
    t1 = time.time()
    test_z, test_logits, test_y = predict(model, test, p.test_limit)
    eval_seconds = time.time() - t1
    train_z, train_logits, train_y = predict(model, D.DeviceImages(lt.train, dev), p.test_limit)
    # cosine losses (LDAM, GCL): logits are the cosines times s; margins and clouds are training-only
    test_logits, train_logits = cfg.logit_scale * test_logits, cfg.logit_scale * train_logits
    history["test_acc"][-1] = float((test_logits.argmax(1) == test_y).float().mean())
    keep = _feature_subset(test_y, FEATURES_PER_CLASS)
    metrics, conf = _summary(test_logits, test_y, counts, {
        "history": history, "counts": counts.tolist(), "train_seconds": train_seconds,
        "train_images_per_second": train_ips,
        "eval_images_per_second": len(test_y) / max(eval_seconds, 1e-9),
        "device": str(dev), "torch": torch.__version__, "stage": 1, "precision": precision, **speedups,
        "train_accuracy": float((train_logits.argmax(1) == train_y).float().mean()),
    })
    arrays = {"confusion": conf, "test_logits": test_logits.numpy().astype(np.float32),
              "test_labels": test_y.numpy(), "train_mean_logits": _class_means(train_logits, train_y),
              "feature_idx": keep, "test_features": test_z[keep].numpy(),
              **_head_arrays(model.head)}
    features = {"train": train_z.numpy(), "train_labels": train_y.numpy(),
                "test": test_z.numpy(), "test_labels": test_y.numpy()}
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    return metrics, arrays, features, state


def _class_means(values: torch.Tensor, labels: torch.Tensor) -> np.ndarray:
    """Row ``c``: the mean of ``values`` over the images of class ``c``."""
    C = values.shape[1]
    sums = torch.zeros(C, values.shape[1]).index_add_(0, labels, values.float())
    return (sums / torch.bincount(labels, minlength=C).clamp_min(1).unsqueeze(1)).numpy()


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


def train_stage2(cfg: RunConfig, parent: Run, device="auto", progress: bool = True):
    """Decoupled stage 2 on the parent's frozen features: cRT, LWS, MARR, DisAlign (trained) or tau-norm (post hoc).

    Features are computed once without augmentation (the parent stores them), so a stage-2
    run costs seconds; class-balanced sampling as in Kang et al. (2020) for cRT and LWS,
    instance-balanced for MARR and DisAlign as in MARR's Algorithm 2.
    """
    p = PRESETS[cfg.preset]
    counts = np.asarray(parent.metrics["counts"])
    own = None
    if parent.config.imb != cfg.imb:  # a backbone trained at another factor, fitted on this one's set (MARR Table 7)
        counts, own = _other_training_set(cfg, parent, p, device)
    z_tr, y_tr, z_te, y_te, linear = frozen_classifier(parent, own)
    C, d = linear.weight.shape
    torch.manual_seed(cfg.seed)
    t0 = time.time()
    if cfg.stage2 in ("marr", "disalign"):
        # MARR Sec. 4.1 / Algorithm 2: the frozen network, instance-balanced batches, the U_y-weighted
        # loss (Eqs. 11-12), SGD with a cosine learning rate from 0.05 to 0; DisAlign is fitted the same way.
        head = margins.MARR(linear) if cfg.stage2 == "marr" else margins.DisAlign(linear)
        U = margins.class_weights(counts, float(cfg.knob("gamma", MARR_GAMMA)))
        trainable = models.count_parameters(head)
        _fit_head(head, z_tr, y_tr, counts, p, cfg.seed, progress, cfg.label, sampler="instance",
                  loss_fn=lambda out, y: margins.reweighted_loss(out, y, U), lr=MARR_LR,
                  batch_size=MARR_BATCH_SIZE, iterations=cfg.knob("iterations"))
    elif cfg.stage2 == "tau_norm":
        head = torch.nn.Linear(d, C)
        with torch.no_grad():
            head.weight.copy_(margins.tau_norm_weight(linear.weight, cfg.tau))
            head.bias.copy_(linear.bias)
        trainable = 0
    elif cfg.stage2 == "crt" and parent.config.loss == "gcl":
        # GCL's Algorithm 1: the cosine classifier, started from stage 1's, re-trained with the
        # clouded loss (Eq. 12) on CBEN batches; the official code uses margin 0.1, s = 20 here.
        s2 = float(cfg.knob("s2", 20.0))
        head = models.CosineHead(d, C, scale=1.0)
        with torch.no_grad():
            head.weight.copy_(linear.weight)
        delta = gcl.cloud_size(counts, parent.config.knob("cloud", "log"))
        noise_gen = torch.Generator().manual_seed(cfg.seed + 1)
        loss_fn = lambda out, y: gcl.gcl_loss(  # noqa: E731
            out, y, delta, gcl.cloud_noise(out.shape, noise_gen), noise_mul=cfg.knob("noise_mul", 0.5),
            margin=cfg.knob("margin2", 0.1), s=s2)
        trainable = models.count_parameters(head)
        _fit_head(head, z_tr, y_tr, counts, p, cfg.seed, progress, cfg.label,
                  sampler=cfg.knob("sampler2", "cben"), loss_fn=loss_fn)
        head.scale = s2
    else:
        head = models.LinearHead(d, C) if cfg.stage2 == "crt" else margins.LWS(linear)
        trainable = models.count_parameters(head)
        _fit_head(head, z_tr, y_tr, counts, p, cfg.seed, progress, cfg.label,
                  sampler=cfg.knob("sampler2", "class_balanced"))
    with torch.no_grad():
        logits = head(z_te)
        train_logits = head(z_tr)
    metrics, conf = _summary(logits, y_te, counts, {
        "counts": counts.tolist(), "train_seconds": time.time() - t0, "stage": 2,
        "trainable_parameters": trainable, "device": "cpu", "torch": torch.__version__,
        "train_accuracy": float((train_logits.argmax(1) == y_tr).float().mean()),
    })
    head_arr = {"weight": (head.weight * head.scales.unsqueeze(1)).detach().numpy()
                if isinstance(head, margins.LWS) else head.weight.detach().numpy()}
    if isinstance(head, margins.LWS):
        head_arr["scales"] = head.scales.detach().numpy()
    if isinstance(head, (margins.MARR, margins.DisAlign)):  # the frozen bias and what was fitted
        head_arr.update({n: getattr(head, n).detach().numpy() for n in ("bias", "omega", "beta", "v") if hasattr(head, n)})
    arrays = {"confusion": conf, "test_logits": logits.numpy().astype(np.float32),
              "test_labels": y_te.numpy(), "train_mean_logits": _class_means(train_logits, y_tr),
              **head_arr}
    return metrics, arrays


def _fit_head(head, z, y, counts, p: Preset, seed: int, progress: bool, label: str,
              sampler: str = "class_balanced", loss_fn=None, lr: float | None = None,
              batch_size: int | None = None, iterations: int | None = None):
    """SGD on ``sampler`` batches (class-balanced by default) with a cosine learning rate to 0.

    Defaults: the preset's ``stage2_lr`` and ``batch_size``, for ``stage2_epochs`` epochs;
    ``iterations`` counts steps instead (epochs are drawn until it is reached).
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
    bar = _progress(steps, f"stage 2 {label}", progress)
    step = 0
    while step < steps:
        for idx in samplers.epoch_batches(y, counts, sampler, batch_size, gen)[:steps - step]:
            loss = loss_fn(head(z[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
        bar.set_postfix(loss=f"{loss.item():.3f}")
        bar.update(step - bar.n)
    bar.close()


# MARR Sec. 4.1: stage two with "a cosine learning rate schedule ... from 0.05 to 0 for all datasets",
# batch size 512 on CIFAR, gamma = 1.2; the CIFAR stage-two length is not given (10 epochs on
# ImageNet-LT and Places-LT), so the default is the preset's stage2_epochs at this batch size.
MARR_LR = 0.05
MARR_BATCH_SIZE = 512
MARR_GAMMA = 1.2


def _other_training_set(cfg: RunConfig, parent: Run, p: Preset, device):
    """Counts and features of ``cfg``'s training set through ``parent``'s stored network (trained at another factor)."""
    if parent.config.loss in COSINE_LOSSES:
        raise ValueError("a backbone at another imbalance factor is supported for linear heads only")
    dev = resolve_device(device)
    lt = dataset(cfg.dataset, cfg.imb)
    pp = PRESETS[parent.config.preset]
    model = models.resnet32(lt.info.num_classes, lt.info.shape[0], pp.width, parent.config.head)
    model.load_state_dict(parent.state_dict())
    z, _, y = predict(model.to(dev), D.DeviceImages(lt.train, dev), p.test_limit)
    return lt.counts, (z, y)
