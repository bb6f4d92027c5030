"""Stage 1: a network trained end to end on the long-tailed set, one step at a time."""
from __future__ import annotations

import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from ltnb import data as D
from ltnb.config import RunConfig
from ltnb.kernels import angular, evaluate, gcl, lgla, logit_adjust, losses
from ltnb.presets import PRESETS, Preset, resolve_device
from ltnb.training import checkpoint
from ltnb.training.batches import epoch_draws, epoch_plan, gcl_noise_draws, steps_per_epoch
from ltnb.training.common import (
    FEATURES_PER_CLASS,
    autocast,
    build_model,
    class_means,
    compile_mode,
    fast_default,
    feature_subset,
    head_arrays,
    learning_rate,
    memory_layout,
    predict,
    progress_bar,
    summary,
    training_set,
)
from ltnb.training.graphs import GraphedStep
from ltnb.training.loop import Loop
from ltnb.training.pruning import pruned


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


# ------------------------------------------------------------------ losses: one builder per RunConfig.loss
# Each takes (cfg, counts, weight, device, noise) and returns loss(out, y); ``weight`` holds DRW's class
# weights once they are on, ``noise(shape)`` gives GCL's cloud noise.

def _ce_loss(cfg, counts, weight, device, noise):
    return lambda out, y: F.cross_entropy(out, y, weight=weight)


def _balanced_softmax_loss(cfg, counts, weight, device, noise):
    prior = logit_adjust.log_prior(counts).to(device)  # on the device once, not at every step
    return lambda out, y: logit_adjust.balanced_softmax_loss(out, y, counts, weight=weight, prior=prior)


def _aem_loss(cfg, counts, weight, device, noise):  # angular Eq. 6 on the angular head's s * P^A; no class weights
    return lambda out, y: angular.aem_loss(cfg.logit_scale * out, y)


def _gcl_loss(cfg, counts, weight, device, noise):  # a fresh cloud per call: mixup's two targets get two draws
    delta = gcl.cloud_size(counts, cfg.knob("cloud", "log")).to(device)
    return lambda out, y: gcl.gcl_loss(out, y, delta, noise(out.shape), noise_mul=cfg.knob("noise_mul", 0.5),
                                       margin=cfg.knob("margin", 0.0), s=cfg.logit_scale, weight=weight)


def _ldam_loss(cfg, counts, weight, device, noise):
    m = logit_adjust.ldam_margins(counts).to(device)
    return lambda out, y: logit_adjust.ldam_loss(out, y, m, s=cfg.logit_scale, weight=weight)


LOSSES = {"ce": _ce_loss, "balanced_softmax": _balanced_softmax_loss, "aem": _aem_loss, "gcl": _gcl_loss,
          "ldam": _ldam_loss}


def make_loss(cfg: RunConfig, counts, epoch: int, p: Preset, device, generator=None, noise=None):
    """The stage-1 loss of ``cfg`` at ``epoch`` (DRW switches class weights on at ``p.drw_epoch()``).

    ``noise(shape)`` gives GCL's cloud noise (default: drawn from ``generator`` at each call).
    """
    if cfg.head == "experts":  # LGLA's multi-expert model: Softmax, BALMS or CLA per expert, AAW optional
        return lgla.make_expert_loss(cfg.loss, counts, cfg.knob("experts", 3),
                                     cfg.knob("gla_tau", lgla.official_tau(len(counts))), cfg.knob("aaw", False),
                                     cfg.knob("s", lgla.SCALE), device, cfg.knob("groups", "nearest"))
    weight = None
    if cfg.drw and epoch >= p.drw_epoch():
        weight = logit_adjust.effective_number_weights(counts).to(device)
    noise = noise or (lambda shape: gcl.cloud_noise(shape, generator, device))
    return LOSSES[cfg.loss](cfg, counts, weight, device, noise)


# What a recorded CUDA graph of the step supports: these losses and heads, and these chapter knobs
# (anything else, e.g. a loss with state kept in Python, trains eagerly).
GRAPHABLE = {"loss": ("ce", "ldam", "balanced_softmax", "gcl"), "head": ("linear", "cosine"),
             "extra": {"cloud", "noise_mul", "margin", "s", "stop_epoch",
                       # BET only changes which images a batch holds; the balanced reference only the set
                       "bet_alpha", "bet_blocks", "bet_interval", "bet_iterations", "bet_r_min", "per_class",
                       "subset_seed"}}  # another long-tailed subset: other images, the same step


def graphable(cfg: RunConfig) -> bool:
    """Whether ``cfg``'s training step can be recorded once as a CUDA graph and replayed."""
    return (cfg.loss in GRAPHABLE["loss"] and cfg.head in GRAPHABLE["head"]
            and {k for k, _ in cfg.extra} <= GRAPHABLE["extra"])


def cuda_graphs_default(device: torch.device, fast: bool, cfg: RunConfig) -> bool:
    """Replay the step as a CUDA graph on CUDA's fast path (``$LTNB_CUDA_GRAPHS=0`` turns it off)."""
    return device.type == "cuda" and fast and graphable(cfg) and os.environ.get("LTNB_CUDA_GRAPHS", "1") != "0"


def sgd(model: torch.nn.Module, p: Preset, device: torch.device):
    kw = dict(lr=p.lr, momentum=p.momentum, weight_decay=p.weight_decay)
    if device.type == "cuda":  # one kernel for every parameter's update, reading lr from the device
        kw.update(fused=True, lr=torch.tensor(p.lr, device=device))
    return torch.optim.SGD(model.parameters(), **kw)


# ------------------------------------------------------------------ one step

def make_batch(images: D.DeviceImages, inp: dict, mixup_alpha: float):
    """One run's batch: gathered and augmented on the device from the step's draws, mixed with mixup's.

    Returns the images and the targets ``(y, y_a, y_b, lambda)``; without mixup only ``y`` is set.
    """
    x, y = images.batch(inp["idx"], augment=True, draws=(inp["off"], inp["flip"]), ra_draws=inp.get("ra"))
    if mixup_alpha > 0:
        x, ya, yb, lam = D.mixup(x, y, mixup_alpha, draws=(inp["lam"], inp["perm"]))
        return x, (y, ya, yb, lam)
    return x, (y, None, None, None)


def batch_loss(loss_fn, out, targets):
    """One run's loss on its outputs and its correct predictions (with mixup: weighted by lambda)."""
    y, ya, yb, lam = targets
    logits = out if torch.is_tensor(out) else out["logits"].float()
    if ya is None:
        return loss_fn(out, y), (logits.argmax(1) == y).sum()
    loss = losses.mixup_loss(loss_fn, out, ya, yb, lam)
    pred = logits.argmax(1)
    return loss, lam * (pred == ya).sum() + (1 - lam) * (pred == yb).sum()


LAYOUTS = {"channels_last": torch.channels_last, "contiguous": torch.contiguous_format}  # fit's memory_format (benches)


def train_step(net, opt, images: D.DeviceImages, inp: dict, loss_fn, mixup_alpha: float, cast, layout,
               totals: torch.Tensor, noise: dict) -> None:
    """One SGD step of one run; adds its summed loss and correct predictions to ``totals`` (no sync).

    ``noise["draws"]`` is pointed at this step's pre-drawn cloud noise, which the loss reads.
    """
    x, targets = make_batch(images, inp, mixup_alpha)
    noise["draws"] = iter(inp["noise"])
    with cast:
        out = net(x.contiguous(memory_format=layout))
    out = out.float() if torch.is_tensor(out) else out
    loss, correct = batch_loss(loss_fn, out, targets)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    totals[0] += loss.detach() * len(targets[0])
    totals[1] += correct


def set_lr(opt, lr: float) -> None:
    """The step's learning rate, in place when it lives on the device (fused SGD, CUDA graphs)."""
    for g in opt.param_groups:
        if torch.is_tensor(g["lr"]):
            g["lr"].fill_(lr)
        else:
            g["lr"] = lr


def step_inputs(st: dict) -> dict:
    """The tensors a step reads, from one entry of :func:`epoch_draws`."""
    inp = {"idx": st["idx"], "off": st["crop"][0], "flip": st["crop"][1], "noise": st["noise"]}
    if "ra" in st:
        inp["ra"] = st["ra"]
    if "mixup" in st:
        inp["lam"], inp["perm"] = st["mixup"]
    return inp


def evaluate_epoch(model, test: D.DeviceImages, p: Preset, num_classes: int) -> tuple[float, list, float]:
    """Test accuracy overall and per class after an epoch, and the seconds it took. Eval mode and no random
    numbers: evaluating never changes what a run trains."""
    t = time.time()
    _, lg, lb = predict(model, test, p.test_limit)
    pred = lg.argmax(1)
    per_class = evaluate.per_class_accuracy(evaluate.confusion_matrix(pred.numpy(), lb.numpy(), num_classes))
    return float((pred == lb).float().mean()), per_class.tolist(), time.time() - t


# ------------------------------------------------------------------ the loop

def fit(cfg: RunConfig, lt: D.LongTailed, p: Preset, device="auto", progress: bool = True,
        fast: bool | None = None, compile: str | None = None, cuda_graphs: bool | None = None,
        memory_format: str | None = None,
        ckpt: checkpoint.Checkpoint | None = None):
    """Stage 1's training loop; returns the model and its history (with images/s of the loop).

    ``fast`` (default: :func:`fast_default`) autocasts to bf16, with channels-last activations on
    CUDA, where each full-batch step is also recorded once as a CUDA graph and replayed
    (``cuda_graphs``, default :func:`cuda_graphs_default`). The batches are always gathered and
    augmented on the device, from uint8 tensors kept there, with each epoch's random numbers
    drawn up front (:func:`epoch_draws`). ``compile`` (default :func:`compile_mode`) wraps the
    network in torch.compile instead. The test set is evaluated every ``p.eval_every`` epochs.
    ``ckpt``: continue from its checkpoint if it has one, and write one at every epoch boundary
    (:mod:`ltnb.training.checkpoint`).
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
    layout = memory_layout(dev, fast) if memory_format is None else LAYOUTS[memory_format]
    model = model.to(memory_format=layout)
    epochs = min(p.epochs, int(cfg.knob("stop_epoch", p.epochs)))  # scoring runs stop early on the same schedule
    mode = compile_mode(compile, dev, epochs)
    graphed = cuda_graphs_default(dev, fast, cfg) if cuda_graphs is None else bool(cuda_graphs)
    if graphed and (dev.type != "cuda" or mode != "off"):
        raise ValueError("cuda_graphs needs a CUDA device and compile='off'")
    net = model if mode == "off" else torch.compile(model, mode=None if mode == "default" else mode, dynamic=False)
    opt = sgd(model, p, dev)
    labels_cpu = lt.train.labels
    steps = steps_per_epoch(cfg, len(labels_cpu), lt.info.num_classes, p)
    # a recorded graph cannot keep autocast's cache of cast weights between replays
    cast = (torch.autocast("cuda", dtype=torch.bfloat16, cache_enabled=False) if graphed else autocast(dev, fast))
    test = D.DeviceImages(lt.test, dev) if p.eval_every else None
    bar = progress_bar(epochs, f"{cfg.label} {cfg.dataset} imb {cfg.imb:g} seed {cfg.seed}", progress)
    state = {"loss_fn": None}
    noise = {"draws": iter(())}
    totals = torch.zeros(2, device=dev)  # this epoch's summed loss and correct predictions

    def step(inp: dict, module=None) -> None:
        train_step(module or net, opt, train, inp, state["loss_fn"], cfg.mixup_alpha, cast, layout, totals, noise)

    compiled_once = False
    loss_of_phase: dict = {}
    loop = Loop(model, opt, [head_grads], [gen], epochs, bar, ckpt)  # resumes from the checkpoint, if any
    recorded = loop.graph = GraphedStep(step) if graphed else None
    for epoch in loop.epochs():
        model.train()
        phase = bool(cfg.drw and epoch >= p.drw_epoch())  # what make_loss's result depends on
        if recorded is None:
            state["loss_fn"] = make_loss(cfg, counts, epoch, p, dev, gen, noise=lambda shape: next(noise["draws"]))
        else:  # one loss per phase, kept alive: a recorded graph reads its tensors (margins, clouds, weights)
            if phase not in loss_of_phase:
                loss_of_phase[phase] = make_loss(cfg, counts, epoch, p, dev, gen,
                                                 noise=lambda shape: next(noise["draws"]))
            state["loss_fn"] = loss_of_phase[phase]
        batches = epoch_plan(cfg, labels_cpu, counts, p, gen, epoch)[:steps]
        draws = epoch_draws(batches, gen, lt.info.pad, cfg.mixup_alpha, gcl_noise_draws(cfg),
                            lt.info.num_classes, dev, train.randaugment)
        totals.zero_()
        n_ep = 0
        for st in draws:
            set_lr(opt, learning_rate(loop.n_step, steps, p))
            inp = step_inputs(st)
            n = len(st["idx"])
            if recorded is not None and n == p.batch_size:
                recorded(phase, inp)
            elif mode != "off" and n != p.batch_size:  # an epoch's last, smaller batch: eager, no second compile
                step(inp, model)
            elif mode != "off" and not compiled_once:  # the first compiled step compiles: eager if it cannot
                try:
                    step(inp)
                except Exception as err:  # noqa: BLE001 (torch.compile raises many kinds; none may stop a run)
                    net, mode = model, f"off (compiling failed: {type(err).__name__})"
                    print(f"ltnb: torch.compile failed on {cfg.label} ({type(err).__name__}: {str(err)[:200]}); "
                          "this run trains eagerly", file=sys.stderr)
                    step(inp)
                compiled_once = True
            else:  # eager: the CPU, or the last, smaller batch of an epoch
                step(inp)
            n_ep += n
            loop.n_step += 1
        test_acc, test_pc = float("nan"), []
        if test is not None and (epoch + 1) % p.eval_every == 0 and epoch + 1 < epochs:
            test_acc, test_pc, secs = evaluate_epoch(model, test, p, lt.info.num_classes)
            loop.eval_seconds += secs
        loop.epoch_done(epoch, n_ep, [totals.tolist()], [(test_acc, test_pc)])  # syncs once an epoch
    history = loop.histories[0]
    history.update(loop.finish(dev, graphed), precision="bf16 autocast" if fast else "fp32", compile=mode)
    return model, history


def train_stage1(cfg: RunConfig, scoring_runs=(), device="auto", progress: bool = True, ckpt=None):
    """Train backbone and head end to end; returns (metrics, arrays, features, state_dict).

    ``scoring_runs``: the stored runs whose per-image scores a pruned run averages (EL2N, AVH).
    ``ckpt``: the run's :class:`~ltnb.training.checkpoint.Checkpoint`, resumed from and written each epoch.
    """
    p = PRESETS[cfg.preset]
    dev = resolve_device(device)
    full = training_set(cfg)
    lt = pruned(cfg, full, scoring_runs) if cfg.knob("prune") else full
    model, history = fit(cfg, lt, p, dev, progress, ckpt=ckpt)
    return finish(cfg, full, lt, model, history, dev)


def finish(cfg: RunConfig, full: D.LongTailed, lt: D.LongTailed, model, history: dict, dev):
    """A trained stage-1 network's files: metrics (with its history), arrays, features and state dict.

    ``full`` is the long-tailed set (the splits follow it), ``lt`` what was trained on (pruned or not).
    """
    p = PRESETS[cfg.preset]
    model = model.to(dev)
    counts = full.counts  # splits follow the long-tailed set, also for a pruned run
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
    keep = feature_subset(test_y, FEATURES_PER_CLASS)
    metrics, conf = summary(test_logits, test_y, counts, {
        "history": history, "counts": counts.tolist(), "train_seconds": train_seconds,
        "train_images_per_second": train_ips,
        "eval_images_per_second": len(test_y) / max(eval_seconds, 1e-9),
        "device": str(dev), "torch": torch.__version__, "stage": 1, "precision": precision, **speedups,
        **({"stacked": history.pop("stacked")} if "stacked" in history else {}),
        **({"resumed_at": history.pop("resumed_at")} if "resumed_at" in history else {}),
        "train_accuracy": float((train_logits.argmax(1) == train_y).float().mean()),
        "trained_counts": lt.counts.tolist(), "threads": torch.get_num_threads() if dev.type == "cpu" else None,
    })
    history["test_acc"][-1] = metrics["accuracy"]  # the last epoch's: the run's final evaluation
    history["test_per_class"][-1] = metrics["per_class"]
    arrays = {"confusion": conf, "test_logits": test_logits.numpy().astype(np.float32),
              "test_labels": test_y.numpy(), "train_mean_logits": class_means(train_logits, train_y),
              "feature_idx": keep, "test_features": test_z[keep].numpy(),
              **head_arrays(model.head)}
    if cfg.knob("stop_epoch") is not None:  # a scoring run: EL2N and AVH of every training image
        z_all, logits_all, y_all = predict(model, D.DeviceImages(lt.train, dev))
        arrays["train_el2n"] = angular.el2n_score(logits_all, y_all).numpy()
        arrays["train_avh"] = angular.avh_score(z_all, model.head.weight.detach().float().cpu(), y_all).numpy()
    features = {"train": train_z.numpy(), "train_labels": train_y.numpy(),
                "test": test_z.numpy(), "test_labels": test_y.numpy()}
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    return metrics, arrays, features, state
