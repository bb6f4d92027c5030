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
from ltnb import (angular, augment, evaluate, experts, gcl, lgla, logit_adjust, losses, margins, models, samplers,
                  whitening)
from ltnb.graphs import GraphedStep
from ltnb.presets import PRESETS, Preset, resolve_device
from ltnb import runs as R
from ltnb.runs import COSINE_LOSSES, Run, RunConfig

FEATURES_PER_CLASS = 50  # test features kept per class for figures (t-SNE, angles)


@functools.lru_cache(maxsize=4)
def dataset(name: str, imb: float, subset_seed: int = 0) -> D.LongTailed:
    """The long-tailed training set and the balanced test set (cached in the process)."""
    return D.long_tailed(name, imb, subset_seed=subset_seed)


def training_set(cfg: RunConfig) -> D.LongTailed:
    """The run's training set: the long-tailed subset at ``cfg.imb``, capped at the knob
    ``per_class`` images per class when set (the first of each class's seeded shuffle), e.g. a
    balanced set as large as a long-tailed one (the whitening chapter's balanced reference).
    The knob ``subset_seed`` draws another long-tailed subset (the leaderboard's spread over subsets)."""
    lt = dataset(cfg.dataset, cfg.imb, int(cfg.knob("subset_seed", 0)))
    cap = cfg.knob("per_class")
    if cap is None:
        return lt
    if int(cap) < 1:
        raise ValueError(f"per_class must be a positive number of images, got {cap}")
    labels = lt.train.labels.numpy()
    keep = np.concatenate([np.where(labels == c)[0][:int(cap)] for c in range(lt.info.num_classes)])
    train = lt.train.subset(np.sort(keep))
    return D.LongTailed(train, lt.test, D.class_counts(train.labels, lt.info.num_classes), lt.imb)


def bet_settings(cfg: RunConfig, num_classes: int) -> dict:
    """B3RS / BET settings of a ``sampler="bet"`` run: Table 6's for this many classes, then the knobs."""
    s = samplers.b3rs_defaults(num_classes) if num_classes in samplers.B3RS_TABLE6 else {}
    knobs = {"blocks": "bet_blocks", "r0": "bet_r_min", "alpha": "bet_alpha", "interval": "bet_interval",
             "iterations": "bet_iterations"}
    s.update({name: cfg.knob(knob) for name, knob in knobs.items() if cfg.knob(knob) is not None})
    missing = [knobs[n] for n in knobs if n not in s]
    if missing:
        raise ValueError(f"Table 6 has no B3RS settings for {num_classes} classes: set the knobs {missing}")
    samplers.check_b3rs(num_classes, **s)
    return s


def steps_per_epoch(cfg: RunConfig, num_images: int, num_classes: int, p: Preset) -> int:
    """Iterations of one epoch (BET adds its B3RS iterations), capped at the preset's ``max_steps``."""
    steps = -(-num_images // p.batch_size)
    if cfg.sampler == "bet":
        s = bet_settings(cfg, num_classes)
        steps = samplers.bet_length(num_images, p.batch_size, s["interval"], s["iterations"])
    return min(steps, p.max_steps or steps)


def epoch_plan(cfg: RunConfig, labels, counts, p: Preset, generator, epoch: int) -> list[torch.Tensor]:
    """The index batches of one stage-1 epoch: the sampler's, or BET's (instance batches with B3RS embedded)."""
    if cfg.sampler == "bet":
        return samplers.bet_batches(labels, counts, p.batch_size, generator, epoch,
                                    **bet_settings(cfg, len(counts)))
    return samplers.epoch_batches(labels, counts, cfg.sampler, p.batch_size, generator)


class HeadGradientNorms:
    """Per-class ``||grad W_k||`` of the classifier, averaged over an epoch's steps (a hook on the weight;
    the whitening paper's Figs. 3 and 6). In-place adds into buffers made up front: nothing syncs in a
    step, and a step recorded as a CUDA graph replays the adds."""

    def __init__(self, weight: torch.Tensor):
        self.total = torch.zeros(weight.shape[-2], device=weight.device)  # (C, d), or (K, C, d) for K experts
        self.steps = torch.zeros((), device=weight.device)
        weight.register_hook(self)

    def __call__(self, grad):
        norms = grad.detach().float().norm(dim=-1)
        self.total.add_(norms if norms.dim() == 1 else norms.mean(0))  # experts: their mean per class
        self.steps.add_(1)

    def pop(self) -> list[float]:
        out = (self.total / self.steps.clamp_min(1)).tolist() if float(self.steps) > 0 else []
        self.total.zero_()
        self.steps.zero_()
        return out


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


def build_model(cfg: RunConfig, lt: D.LongTailed, p: Preset) -> torch.nn.Module:
    """The stage-1 network of ``cfg``: cosine head for LDAM and GCL, angular head for AEM, LGLA's
    multi-expert ResNet-32 for head ``experts``, else ``cfg.head``."""
    if cfg.head == "experts":
        return experts.multi_expert_resnet32(lt.info.num_classes, lt.info.shape[0], p.width, cfg.knob("experts", 3),
                                             cfg.knob("expert_type", "gc"), cfg.knob("s", lgla.SCALE))
    head = "cosine" if cfg.loss in COSINE_LOSSES else "angular" if cfg.loss == "aem" else cfg.head
    model = models.resnet32(lt.info.num_classes, lt.info.shape[0], p.width, head)
    if cfg.knob("whiten", False):  # the whitening chapter: channel whitening (Eq. 13) before the head
        model.backbone = whitening.WhitenedBackbone(model.backbone, cfg.knob("cw_eps", whitening.DEFAULT_EPS))
    return model


def make_loss(cfg: RunConfig, counts, epoch: int, p: Preset, device, generator=None, noise=None):
    """The stage-1 loss of ``cfg`` at ``epoch`` (DRW switches class weights on at ``p.drw_epoch()``).

    ``noise(shape)`` gives GCL's cloud noise (default: drawn from ``generator`` at each call).
    """
    if cfg.head == "experts":  # LGLA's multi-expert model: Softmax, BALMS or CLA per expert, AAW optional
        return lgla.make_expert_loss(cfg.loss, counts, cfg.knob("experts", 3),
                                     cfg.knob("gla_tau", lgla.official_tau(len(counts))), cfg.knob("aaw", False),
                                     cfg.knob("s", lgla.SCALE), device)
    weight = None
    if cfg.drw and epoch >= p.drw_epoch():
        weight = logit_adjust.effective_number_weights(counts).to(device)
    if cfg.loss == "ce":
        return lambda out, y: F.cross_entropy(out, y, weight=weight)
    if cfg.loss == "balanced_softmax":
        prior = logit_adjust.log_prior(counts).to(device)  # on the device once, not at every step
        return lambda out, y: logit_adjust.balanced_softmax_loss(out, y, counts, weight=weight, prior=prior)
    if cfg.loss == "aem":  # angular Eq. 6 on the angular head's s * P^A; no class weights
        return lambda out, y: angular.aem_loss(cfg.logit_scale * out, y)
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
                num_classes: int, device, randaugment: bool = False) -> list[dict]:
    """Every random number the steps of one epoch use, in the order the steps use them.

    Drawn on the CPU from ``generator`` (so CPU and CUDA runs of a seed see the same numbers),
    then moved to ``device`` in one copy per kind: no step waits on a host-to-device copy.
    RandAugment's op choices stay on the CPU: they only pick which images each op transforms.
    """
    steps = []
    for idx in batches:
        n = len(idx)
        st = {"idx": idx, "crop": D.crop_flip_draws(n, pad, generator)}
        if randaugment:
            st["ra"] = augment.rand_augment_draws(n, generator)
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


# What a recorded CUDA graph of the step supports: these losses and heads, and these chapter knobs
# (anything else, e.g. a loss with state kept in Python, trains eagerly).
GRAPHABLE = {"loss": ("ce", "ldam", "balanced_softmax", "gcl"), "head": ("linear", "cosine"),
             "extra": {"cloud", "noise_mul", "margin", "s", "stop_epoch",
                       # BET only changes which images a batch holds; the balanced reference only the set
                       "bet_alpha", "bet_blocks", "bet_interval", "bet_iterations", "bet_r_min", "per_class"}}


def graphable(cfg: RunConfig) -> bool:
    """Whether ``cfg``'s training step can be recorded once as a CUDA graph and replayed."""
    return (cfg.loss in GRAPHABLE["loss"] and cfg.head in GRAPHABLE["head"]
            and {k for k, _ in cfg.extra} <= GRAPHABLE["extra"])


def cuda_graphs_default(device: torch.device, fast: bool, cfg: RunConfig) -> bool:
    """Replay the step as a CUDA graph on CUDA's fast path (``$LTNB_CUDA_GRAPHS=0`` turns it off)."""
    return device.type == "cuda" and fast and graphable(cfg) and os.environ.get("LTNB_CUDA_GRAPHS", "1") != "0"


COMPILE_MODES = ("off", "default", "reduce-overhead", "max-autotune-no-cudagraphs")


def compile_mode(asked: str | None = None) -> str:
    """``asked``, else ``$LTNB_COMPILE``, else off: on the H100 CUDA graphs beat compiling (``make bench``)."""
    mode = asked or os.environ.get("LTNB_COMPILE") or "off"
    if mode not in COMPILE_MODES:
        source = "compile" if asked else "LTNB_COMPILE"
        raise ValueError(f"{source}={mode!r}: choose one of {COMPILE_MODES}")
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
    train = D.DeviceImages(lt.train, dev, randaugment=cfg.knob("randaugment", False))
    model = build_model(cfg, lt, p).to(dev)
    head_grads = HeadGradientNorms(model.head.weight)
    layout = torch.channels_last if (fast and dev.type == "cuda") else torch.contiguous_format
    model = model.to(memory_format=layout)
    mode = compile_mode(compile)
    graphed = cuda_graphs_default(dev, fast, cfg) if cuda_graphs is None else bool(cuda_graphs)
    if graphed and (dev.type != "cuda" or mode != "off"):
        raise ValueError("cuda_graphs needs a CUDA device and compile='off'")
    net = model if mode == "off" else torch.compile(model, mode=None if mode == "default" else mode, dynamic=False)
    opt = _optimizer(model, p, dev)
    labels_cpu = lt.train.labels
    steps = steps_per_epoch(cfg, len(labels_cpu), lt.info.num_classes, p)
    history = {"epoch": [], "loss": [], "train_acc": [], "lr": [], "test_acc": [], "test_per_class": [],
               "head_grad_norm": []}
    # a recorded graph cannot keep autocast's cache of cast weights between replays
    autocast = (torch.autocast("cuda", dtype=torch.bfloat16, cache_enabled=False) if graphed
                else _autocast(dev, fast))
    test = D.DeviceImages(lt.test, dev) if p.eval_every else None
    epochs = min(p.epochs, int(cfg.knob("stop_epoch", p.epochs)))  # scoring runs stop early on the same schedule
    bar = _progress(epochs, f"{cfg.label} {cfg.dataset} imb {cfg.imb:g} seed {cfg.seed}", progress)
    state = {"noise": iter(()), "loss_fn": None}
    acc = torch.zeros(2, device=dev)  # this epoch's summed loss and correct predictions
    mix = cfg.mixup_alpha > 0

    def noise(shape):  # this step's pre-drawn cloud noise
        return next(state["noise"])

    def train_step(inp: dict) -> None:
        x, y = train.batch(inp["idx"], augment=True, draws=(inp["off"], inp["flip"]), ra_draws=inp.get("ra"))
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
    loss_of_phase: dict = {}
    t0, seen, step, eval_seconds = time.time(), 0, 0, 0.0
    for epoch in range(epochs):
        model.train()
        phase = bool(cfg.drw and epoch >= p.drw_epoch())  # what make_loss's result depends on
        if recorded is None:
            state["loss_fn"] = make_loss(cfg, counts, epoch, p, dev, gen, noise=noise)
        else:  # one loss per phase, kept alive: a recorded graph reads its tensors (margins, clouds, weights)
            if phase not in loss_of_phase:
                loss_of_phase[phase] = make_loss(cfg, counts, epoch, p, dev, gen, noise=noise)
            state["loss_fn"] = loss_of_phase[phase]
        batches = epoch_plan(cfg, labels_cpu, counts, p, gen, epoch)[:steps]
        draws = epoch_draws(batches, gen, lt.info.pad, cfg.mixup_alpha, gcl_noise_draws(cfg),
                            lt.info.num_classes, dev, train.randaugment)
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
            if "ra" in st:
                inp["ra"] = st["ra"]
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
        test_acc, test_pc = float("nan"), []
        if test is not None and (epoch + 1) % p.eval_every == 0 and epoch + 1 < epochs:
            # eval mode and no random numbers: evaluating never changes what the run trains
            t_eval = time.time()
            _, lg, lb = predict(model, test, p.test_limit)
            test_acc = float((lg.argmax(1) == lb).float().mean())
            test_pc = evaluate.per_class_accuracy(
                evaluate.confusion_matrix(lg.argmax(1).numpy(), lb.numpy(), lt.info.num_classes)).tolist()
            eval_seconds += time.time() - t_eval
        tot_loss, tot_correct = acc.tolist()  # syncs once an epoch
        history["epoch"].append(epoch + 1)
        history["loss"].append(tot_loss / max(n_ep, 1))
        history["train_acc"].append(tot_correct / max(n_ep, 1))
        history["lr"].append(float(opt.param_groups[0]["lr"]))
        history["test_acc"].append(test_acc)
        history["test_per_class"].append(test_pc)
        history["head_grad_norm"].append(head_grads.pop())
        bar.set_postfix(loss=f"{history['loss'][-1]:.3f}", acc=f"{history['train_acc'][-1]:.3f}")
        bar.update(1)
    bar.close()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    history["eval_seconds"] = eval_seconds  # the per-epoch test evaluations, not counted as training
    history["seconds"] = time.time() - t0 - eval_seconds
    history["images_per_second"] = seen / max(history["seconds"], 1e-9)
    history["precision"] = "bf16 autocast" if fast else "fp32"
    history["compile"] = mode
    history["cuda_graphs"] = graphed and not recorded.failed
    return model, history


def train_stage1(cfg: RunConfig, device="auto", progress: bool = True):
    """Train backbone and head end to end; returns (metrics, arrays, features, state_dict)."""
    p = PRESETS[cfg.preset]
    dev = resolve_device(device)
    full = training_set(cfg)
    lt = pruned(cfg, full, dev) if cfg.knob("prune") else full
    counts = full.counts  # splits follow the long-tailed set, also for a pruned run
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
    keep = _feature_subset(test_y, FEATURES_PER_CLASS)
    metrics, conf = _summary(test_logits, test_y, counts, {
        "history": history, "counts": counts.tolist(), "train_seconds": train_seconds,
        "train_images_per_second": train_ips,
        "eval_images_per_second": len(test_y) / max(eval_seconds, 1e-9),
        "device": str(dev), "torch": torch.__version__, "stage": 1, "precision": precision, **speedups,
        "train_accuracy": float((train_logits.argmax(1) == train_y).float().mean()),
        "trained_counts": lt.counts.tolist(), "threads": torch.get_num_threads() if dev.type == "cpu" else None,
    })
    history["test_acc"][-1] = metrics["accuracy"]  # the last epoch's: the run's final evaluation
    history["test_per_class"][-1] = metrics["per_class"]
    arrays = {"confusion": conf, "test_logits": test_logits.numpy().astype(np.float32),
              "test_labels": test_y.numpy(), "train_mean_logits": _class_means(train_logits, train_y),
              "feature_idx": keep, "test_features": test_z[keep].numpy(),
              **_head_arrays(model.head)}
    if cfg.knob("stop_epoch") is not None:  # a scoring run: EL2N and AVH of every training image
        z_all, logits_all, y_all = predict(model, D.DeviceImages(lt.train, dev))
        arrays["train_el2n"] = angular.el2n_score(logits_all, y_all).numpy()
        arrays["train_avh"] = angular.avh_score(z_all, model.head.weight.detach().float().cpu(), y_all).numpy()
    features = {"train": train_z.numpy(), "train_labels": train_y.numpy(),
                "test": test_z.numpy(), "test_labels": test_y.numpy()}
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    return metrics, arrays, features, state


def scoring_configs(cfg: RunConfig) -> list[RunConfig]:
    """The short CE runs whose scores a pruned run averages: seeds 0..score_runs-1, stopped after score_epochs."""
    return [RunConfig(dataset=cfg.dataset, imb=cfg.imb, preset=cfg.preset, seed=s,
                      extra=(("stop_epoch", int(cfg.knob("score_epochs", 10))),))
            for s in range(int(cfg.knob("score_runs", 10)))]


def pruning_scores(cfg: RunConfig, method: str, device="auto") -> torch.Tensor:
    """``E[S(x)]`` over the scoring runs (EL2N Eq. 11, AVH Eq. 12), one per training image."""
    scores = [R.get_or_train(c, device=device, progress=False).arrays[f"train_{method}"] for c in scoring_configs(cfg)]
    return torch.from_numpy(np.mean(scores, axis=0))


def pruned(cfg: RunConfig, lt: D.LongTailed, device="auto") -> D.LongTailed:
    """``lt`` with ``prune_fraction`` of its training images removed by the ``prune`` method (angular Sec. 4.3)."""
    method, fraction = cfg.knob("prune"), float(cfg.knob("prune_fraction"))
    scores = pruning_scores(cfg, method, device) if method in ("el2n", "avh") else None
    keep = angular.keep_after_pruning(lt.train.labels, fraction, method, scores,
                                      torch.Generator().manual_seed(cfg.seed))
    train = lt.train.subset(keep.numpy())
    return D.LongTailed(train, lt.test, D.class_counts(train.labels.numpy(), lt.info.num_classes), lt.imb)


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
    if cfg.stage2 in IMAGE_STAGE2:
        return stage2_on_images(cfg, parent, device, progress)
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
        history = _fit_head(head, z_tr, y_tr, counts, p, cfg.seed, progress, cfg.label, sampler="instance",
                  loss_fn=lambda out, y: margins.reweighted_loss(out, y, U), lr=MARR_LR,
                  batch_size=MARR_BATCH_SIZE, iterations=cfg.knob("iterations"), test=(z_te, y_te))
    elif cfg.stage2 == "tau_norm":
        head = torch.nn.Linear(d, C)
        with torch.no_grad():
            head.weight.copy_(margins.tau_norm_weight(linear.weight, cfg.tau))
            head.bias.copy_(linear.bias)
        trainable, history = 0, None  # post hoc: no epochs
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
        history = _fit_head(head, z_tr, y_tr, counts, p, cfg.seed, progress, cfg.label,
                            sampler=cfg.knob("sampler2", "cben"), loss_fn=loss_fn, test=(z_te, y_te))
        head.scale = s2
    else:
        head = models.LinearHead(d, C) if cfg.stage2 == "crt" else margins.LWS(linear)
        trainable = models.count_parameters(head)
        history = _fit_head(head, z_tr, y_tr, counts, p, cfg.seed, progress, cfg.label,
                            sampler=cfg.knob("sampler2", "class_balanced"), test=(z_te, y_te))
    with torch.no_grad():
        logits = head(z_te)
        train_logits = head(z_tr)
    metrics, conf = _summary(logits, y_te, counts, {
        "counts": counts.tolist(), "train_seconds": time.time() - t0, "stage": 2,
        "trainable_parameters": trainable, "device": "cpu", "torch": torch.__version__,
        "train_accuracy": float((train_logits.argmax(1) == y_tr).float().mean()),
        "threads": torch.get_num_threads(), **({"history": history} if history else {}),
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
              batch_size: int | None = None, iterations: int | None = None, test=None) -> dict:
    """SGD on ``sampler`` batches (class-balanced by default) with a cosine learning rate to 0.

    Defaults: the preset's ``stage2_lr`` and ``batch_size``, for ``stage2_epochs`` epochs;
    ``iterations`` counts steps instead (epochs are drawn until it is reached). Returns the
    per-epoch history, with the test accuracy of ``test`` (features, labels) after each epoch.
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
    history = _new_history()
    while step < steps:
        total, n = 0.0, 0
        for idx in samplers.epoch_batches(y, counts, sampler, batch_size, gen)[:steps - step]:
            loss = loss_fn(head(z[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            total, n = total + loss.detach() * len(idx), n + len(idx)
        if test is not None:
            with torch.no_grad():
                _record_epoch(history, float(total) / max(n, 1), head(test[0]), test[1])
        bar.set_postfix(loss=f"{loss.item():.3f}")
        bar.update(step - bar.n)
    bar.close()
    return history


def _new_history() -> dict:
    return {"epoch": [], "loss": [], "test_acc": [], "test_per_class": []}


def _record_epoch(history: dict, loss: float, test_logits: torch.Tensor, test_labels: torch.Tensor) -> None:
    """One stage-2 epoch: its mean training loss, and the test accuracy overall and per class."""
    pred = test_logits.argmax(1)
    history["epoch"].append(len(history["epoch"]) + 1)
    history["loss"].append(loss)
    history["test_acc"].append(float((pred == test_labels).float().mean()))
    history["test_per_class"].append(evaluate.per_class_accuracy(evaluate.confusion_matrix(
        pred.numpy(), test_labels.numpy(), test_logits.shape[1])).tolist())


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
    lt = training_set(cfg)
    model = build_model(parent.config, lt, PRESETS[parent.config.preset])
    model.load_state_dict(parent.state_dict())
    z, _, y = predict(model.to(dev), D.DeviceImages(lt.train, dev), p.test_limit)
    return lt.counts, (z, y)


# ------------------------------------------------------------------ MiSLAS / ALAS: stage 2 on images

IMAGE_STAGE2 = ("mislas", "alas")
# MiSLAS's official CIFAR stage-2 configs (dvlab-research/MiSLAS, config/cifar*/*_stage2_mislas.yaml):
# imbalance factor -> (smooth_head, smooth_tail, lr_factor of the classifier, shift_bn); 10 epochs,
# lr 0.1 cosine by epoch, batch 128, weight decay 2e-4, class-balanced sampling, concave f.
MISLAS_STAGE2 = {
    "cifar10": {100: (0.3, 0.0, 0.5, False), 50: (0.2, 0.0, 0.2, False), 10: (0.1, 0.0, 0.2, False)},
    "cifar100": {100: (0.4, 0.1, 0.2, True), 50: (0.3, 0.0, 0.1, True), 10: (0.2, 0.0, 0.1, True)},
}


def mislas_settings(dataset_name: str, imb: float) -> dict:
    """MiSLAS's stage-2 settings for the official config nearest in log imbalance factor.

    Data sets of 10 classes (Fashion-MNIST) take CIFAR-10's smoothing and lr factor, but keep
    the BN shift on: the official configs switch it off only for CIFAR-10.
    """
    table = MISLAS_STAGE2["cifar100" if dataset_name == "cifar100" else "cifar10"]
    nearest = min(table, key=lambda b: abs(math.log(b) - math.log(max(imb, 1.0))))
    head, tail, lr_factor, shift = table[nearest]
    return {"las_eps_head": head, "las_eps_tail": tail, "las_form": "concave", "lr_factor": lr_factor,
            "shift_bn": shift if dataset_name.startswith("cifar") else True}


_STREAMS: dict = {}  # the stage-2 feature streams of the last backbones and seeds, shared by every head trained on them
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
    if key in _STREAMS:
        return _STREAMS[key]
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
    autocast = _autocast(dev)
    epochs = []
    bar = _progress(p.stage2_epochs, f"stage 2 features {parent.config.label} seed {seed}", progress)
    with torch.no_grad():
        for _ in range(p.stage2_epochs):
            zs, ys = [], []
            for idx in samplers.epoch_batches(labels, lt.counts, "class_balanced", p.batch_size, gen)[:steps]:
                x, y = train.batch(idx.to(dev), augment=True, generator=gen)
                with autocast:
                    zs.append(model.features(x).float())
                ys.append(y)
            epochs.append((zs, ys))
            bar.update(1)
    bar.close()
    model.eval()
    z_tr, _, y_tr = predict(model, train, p.test_limit)
    z_te, _, y_te = predict(model, D.DeviceImages(lt.test, dev), p.test_limit)
    while len(_STREAMS) >= STREAMS_KEPT:
        _STREAMS.pop(next(iter(_STREAMS)))
    _STREAMS[key] = (epochs, (z_tr, y_tr), (z_te, y_te))
    return _STREAMS[key]


def stage2_on_images(cfg: RunConfig, parent: Run, device="auto", progress: bool = True):
    """MiSLAS stage 2 (label-aware smoothing + LWS, BN shift) or ALAS (angular Eq. 5, no LWS) on the parent.

    The classifier starts from stage 1's and is fine-tuned with SGD at ``lr_factor`` times a cosine
    (by epoch) from the preset's ``stage2_lr``; LWS scales at the full rate, as in MiSLAS's code.
    MiSLAS predicts with the LWS-scaled linear logits, ALAS with the angular ones (ATL);
    both are stored, with the shifted features.
    """
    if cfg.knob("backbone_imb") not in (None, cfg.imb):
        raise ValueError("backbone_imb is supported by the stage-2 methods on stored features, not by mislas / alas")
    p = PRESETS[cfg.preset]
    dev = resolve_device(device)
    s = mislas_settings(cfg.dataset, cfg.imb)
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
    bar = _progress(len(epochs), f"stage 2 {cfg.label} seed {cfg.seed}", progress)
    history = _new_history()
    for e, (zs, ys) in enumerate(epochs):
        total, n = 0.0, 0
        lr = 0.5 * p.stage2_lr * (1 + math.cos(math.pi * e / len(epochs)))
        for g in opt.param_groups:
            g["lr"] = g["factor"] * lr
        for z, y in zip(zs, ys):
            out = head(z)
            if scales is not None:
                loss = losses.label_aware_smoothing_loss(scales * out, y, eps)
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
            _record_epoch(history, float(total) / max(n, 1), main.cpu(), y_te)
        bar.update(1)
    bar.close()
    head.cpu()
    with torch.no_grad():
        sc = scales.detach().cpu() if scales is not None else torch.ones(C)
        lin_te, lin_tr = head(z_te), head(z_tr)
        ang_te, ang_tr = angular.angular_logits(z_te, head.weight), angular.angular_logits(z_tr, head.weight)
        main_te, main_tr = (sc * lin_te, sc * lin_tr) if scales is not None else (ang_te, ang_tr)
    by = {name: evaluate.metrics(lg, y_te, counts)[0] for name, lg in (("linear", lin_te), ("angular", ang_te))}
    metrics, conf = _summary(main_te, y_te, counts, {
        "counts": counts.tolist(), "train_seconds": time.time() - t0, "stage": 2, "device": str(dev),
        "torch": torch.__version__, "prediction": "linear with LWS" if scales is not None else "angular",
        "settings": {**s, "tau": cfg.tau}, "trainable_parameters": models.count_parameters(head) + (C if scales is not None else 0),
        "train_accuracy": float((main_tr.argmax(1) == y_tr).float().mean()), **by, "history": history,
        "threads": torch.get_num_threads() if dev.type == "cpu" else None,
    })
    arrays = {"confusion": conf, "test_logits": main_te.numpy().astype(np.float32),
              "test_linear": lin_te.numpy().astype(np.float32), "test_angular": ang_te.numpy().astype(np.float32),
              "test_labels": y_te.numpy(), "train_mean_logits": _class_means(main_tr, y_tr),
              "weight": head.weight.detach().numpy(), "bias": head.bias.detach().numpy(),
              "final_factor": factor.cpu().numpy() if scales is None else eps.cpu().numpy()}
    if scales is not None:
        arrays["scales"] = sc.numpy()
    features = {"train": z_tr.numpy(), "train_labels": y_tr.numpy(), "test": z_te.numpy(), "test_labels": y_te.numpy()}
    return metrics, arrays, features
