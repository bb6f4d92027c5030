"""Stacked training: K compatible stage-1 runs as one network, side by side on the channels.

Every convolution of the K ResNet-32s becomes one grouped convolution (``groups = K``, K times the
channels) and every batch norm one batch norm over K times the channels; each run's images sit in
its own channel slice, so no number of one run touches another's. The heads stay separate (they may
differ: linear, cosine, angular), and so does a channel-whitening layer before the head (the CW runs).
Multi-expert networks, pruned runs and stage 2 train alone. Each run keeps its own initialisation (its seed),
batches, random draws (augmentation, mixup, GCL clouds), loss, DRW phase, batch-norm statistics and optimizer state
(SGD's momentum and weight decay are element-wise), so its numbers are those of training alone up to
floating-point rounding; afterwards the network is cut back into K runs and each is stored under its
own key. One step launches the kernels of one network instead of K: what a GPU needs to be busy.
"""
from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn

from ltnb import data as D
from ltnb.config import RunConfig
from ltnb.kernels import evaluate, models, whitening
from ltnb.presets import PRESETS, Preset, resolve_device
from ltnb.training import checkpoint
from ltnb.training.batches import epoch_draws, epoch_plan, gcl_noise_draws, steps_per_epoch
from ltnb.training.common import (
    autocast,
    compile_mode,
    fast_default,
    learning_rate,
    memory_layout,
    progress_bar,
    training_set,
)
from ltnb.training.graphs import GraphedStep
from ltnb.training.loop import Loop
from ltnb.training.stage1 import (
    HeadGradientNorms,
    batch_loss,
    build_model,
    cuda_graphs_default,
    finish,
    graphable,
    make_batch,
    make_loss,
    set_lr,
    sgd,
    step_inputs,
)

# knobs that change the network, the training set or the number of steps: runs stack only when they agree
SHAPE_KNOBS = ("whiten", "cw_eps", "per_class", "subset_seed", "prune", "prune_fraction", "score_runs",
               "score_epochs", "stop_epoch", "bet_alpha", "bet_blocks", "bet_interval", "bet_iterations", "bet_r_min")


def stack_key(cfg: RunConfig):
    """Runs with the same key can train as one stacked network (None: this run trains alone)."""
    if cfg.stage2 or cfg.head == "experts" or cfg.knob("prune"):
        return None
    # graphable: a run without a CUDA graph would make its whole stack train eagerly, so it stacks with its kind
    head = (cfg.dataset, cfg.imb, cfg.preset, cfg.sampler == "bet", graphable(cfg))
    return head + tuple(cfg.knob(k) for k in SHAPE_KNOBS)


def groups(cfgs, k: int) -> list[list[RunConfig]]:
    """``cfgs`` in stacks of at most ``k`` compatible runs (a run that cannot stack is a stack of one). A stack or
    run with a checkpoint in the run store comes as it was checkpointed, so it resumes instead of starting again."""
    by_key: dict = {}
    out = []
    cfgs = list(cfgs)
    of_key = {c.key: c for c in cfgs}
    for meta in checkpoint.pending().values():
        if all(key in of_key for key in meta.get("keys", ())):
            out.append([of_key.pop(key) for key in meta["keys"]])
    cfgs = [c for c in cfgs if c.key in of_key]
    for c in cfgs:
        key = stack_key(c)
        if key is None:
            out.append([c])
        else:
            by_key.setdefault(key, []).append(c)
    for cs in by_key.values():
        out += [cs[i:i + k] for i in range(0, len(cs), k)]
    return out


def _stack_module(mods: list[nn.Module], K: int) -> nn.Module:
    m = mods[0]
    if isinstance(m, nn.Conv2d):
        out = nn.Conv2d(K * m.in_channels, K * m.out_channels, m.kernel_size, m.stride, m.padding,
                        groups=K * m.groups, bias=m.bias is not None)
        with torch.no_grad():
            out.weight.copy_(torch.cat([x.weight for x in mods]))
            if m.bias is not None:
                out.bias.copy_(torch.cat([x.bias for x in mods]))
        return out
    if isinstance(m, nn.BatchNorm2d):
        out = nn.BatchNorm2d(K * m.num_features, m.eps, m.momentum)
        with torch.no_grad():
            for name in ("weight", "bias", "running_mean", "running_var"):
                getattr(out, name).copy_(torch.cat([getattr(x, name) for x in mods]))
            out.num_batches_tracked.copy_(m.num_batches_tracked)
        return out
    raise TypeError(f"cannot stack a {type(m).__name__}")


def stack_backbones(backbones: list[nn.Module]) -> nn.Module:
    """One backbone holding ``backbones`` side by side on the channels (grouped convolutions)."""
    import copy

    K = len(backbones)
    stacked = copy.deepcopy(backbones[0])
    named = [dict(b.named_modules()) for b in backbones]
    for name, mod in list(stacked.named_modules()):
        if isinstance(mod, (nn.Conv2d, nn.BatchNorm2d)):
            parent, _, attr = name.rpartition(".")
            setattr(stacked.get_submodule(parent) if parent else stacked, attr,
                    _stack_module([n[name] for n in named], K))
        elif isinstance(mod, models.BasicBlock):
            mod.stack = K
    stacked.feature_dim = backbones[0].feature_dim * K
    return stacked


def unstack_into(stacked: nn.Module, backbones: list[nn.Module]) -> None:
    """Copy each run's slice of the stacked backbone back into its own backbone."""
    K = len(backbones)
    with torch.no_grad():
        for name, mod in stacked.named_modules():
            if isinstance(mod, (nn.Conv2d, nn.BatchNorm2d)):
                tensors = [(n, t) for n, t in list(mod.named_parameters(recurse=False)) + list(mod.named_buffers(recurse=False))]
                for k, b in enumerate(backbones):
                    target = b.get_submodule(name)
                    for tname, t in tensors:
                        dst = getattr(target, tname)
                        if tname == "num_batches_tracked":
                            dst.copy_(t)
                        else:
                            dst.copy_(t.chunk(K)[k])


def convolutional(backbone: nn.Module) -> nn.Module:
    """The convolutional part of a run's backbone: what stacks (channel whitening, if any, stays per run)."""
    return backbone.net if isinstance(backbone, whitening.WhitenedBackbone) else backbone


class StackedNet(nn.Module):
    """K networks as one: a stacked backbone, then each run's own channel whitening (if its backbone has one)
    and head on its slice of the features; ``forward`` returns the K outputs."""

    def __init__(self, nets: list[nn.Module]):
        super().__init__()
        self.K, self.dim = len(nets), nets[0].backbone.feature_dim
        self.backbone = stack_backbones([convolutional(n.backbone) for n in nets])
        whitened = [n.backbone.whiten for n in nets if isinstance(n.backbone, whitening.WhitenedBackbone)]
        self.whiten = nn.ModuleList(whitened) if whitened else None  # all or none: "whiten" is in the stack key
        self.heads = nn.ModuleList(n.head for n in nets)

    def features(self, x) -> list[torch.Tensor]:
        """Each run's features: its slice of the stacked backbone's, whitened by its own layer if it has one."""
        z = self.backbone(x)
        zs = [z[:, k * self.dim:(k + 1) * self.dim] for k in range(self.K)]
        return [w(zk) for w, zk in zip(self.whiten, zs)] if self.whiten is not None else zs

    def forward(self, x):
        return [h(z) for h, z in zip(self.heads, self.features(x))]


@torch.no_grad()
def predict_stacked(net: StackedNet, images: D.DeviceImages, limit: int | None, cast, batch_size: int = 1000):
    """Every run's test logits (on the CPU): the same images in every run's channel slice."""
    net.eval()
    n = len(images) if limit is None else min(limit, len(images))
    outs = [[] for _ in range(net.K)]
    for i in range(0, n, batch_size):
        x, _ = images.batch(torch.arange(i, min(i + batch_size, n), device=images.device), augment=False)
        with cast:
            zs = [z.float() for z in net.features(x.repeat(1, net.K, 1, 1))]
        for k, (h, z) in enumerate(zip(net.heads, zs)):
            outs[k].append(h(z).float().cpu())  # the head in fp32, as predict() does for a run alone
    return [torch.cat(o) for o in outs], images.labels[:n].cpu()


def fit_stacked(cfgs: list[RunConfig], lt: D.LongTailed, p: Preset, device="auto", progress: bool = True,
                fast: bool | None = None, cuda_graphs: bool | None = None, ckpt: checkpoint.Checkpoint | None = None):
    """Train ``cfgs`` (compatible: :func:`stack_key`) as one stacked network; returns [(model, history)] per run,
    each model its own network again, as :func:`ltnb.training.stage1.fit` returns them. ``ckpt``: the stack's
    checkpoint (every member's generators, history and statistics), resumed from and written each epoch."""
    keys = {stack_key(c) for c in cfgs}
    if len(keys) != 1 or None in keys:
        raise ValueError(f"these runs cannot stack (network, training set or steps differ): {[c.label for c in cfgs]}")
    dev = resolve_device(device)
    fast = fast_default(dev) if fast is None else fast
    K, counts = len(cfgs), lt.counts
    nets, gens, trains = [], [], []
    for cfg in cfgs:  # as fit() does for each run alone: its seed, its generator, its initialisation
        torch.manual_seed(cfg.seed)
        np.random.seed(cfg.seed)
        gens.append(torch.Generator().manual_seed(cfg.seed))
        trains.append(D.DeviceImages(lt.train, dev, randaugment=cfg.knob("randaugment", False)))
        nets.append(build_model(cfg, lt, p))
    net = StackedNet(nets).to(dev)
    head_grads = [HeadGradientNorms(h.weight) for h in net.heads]
    layout = memory_layout(dev, fast)
    net = net.to(memory_format=layout)
    graphed = (all(cuda_graphs_default(dev, fast, c) for c in cfgs) and compile_mode() == "off"
               if cuda_graphs is None else bool(cuda_graphs))
    opt = sgd(net, p, dev)
    labels_cpu = lt.train.labels
    steps = steps_per_epoch(cfgs[0], len(labels_cpu), lt.info.num_classes, p)
    cast = (torch.autocast("cuda", dtype=torch.bfloat16, cache_enabled=False) if graphed else autocast(dev, fast))
    test = D.DeviceImages(lt.test, dev) if p.eval_every else None
    epochs = min(p.epochs, int(cfgs[0].knob("stop_epoch", p.epochs)))
    state = {"loss_fns": [None] * K}
    noises = [{"draws": iter(())} for _ in cfgs]
    totals = torch.zeros(K, 2, device=dev)
    alphas = [c.mixup_alpha for c in cfgs]

    def step(inps: list) -> None:
        xs, targets = zip(*(make_batch(trains[k], inps[k], alphas[k]) for k in range(K)))
        for k in range(K):
            noises[k]["draws"] = iter(inps[k]["noise"])
        with cast:
            outs = net(torch.cat(xs, 1).contiguous(memory_format=layout))
        total = 0
        for k in range(K):
            out = outs[k].float()
            loss, correct = batch_loss(state["loss_fns"][k], out, targets[k])
            total = total + loss
            totals[k, 0] += loss.detach() * len(targets[k][0])
            totals[k, 1] += correct
        opt.zero_grad(set_to_none=True)
        total.backward()
        opt.step()

    loss_of_phase: dict = {}
    bar = progress_bar(epochs, f"{K} stacked runs {cfgs[0].dataset} imb {cfgs[0].imb:g}", progress)
    loop = Loop(net, opt, head_grads, gens, epochs, bar, ckpt, stacked=True)  # as fit() resumes a run alone
    recorded = loop.graph = GraphedStep(step) if graphed else None
    for epoch in loop.epochs():
        net.train()
        phase = tuple(bool(c.drw and epoch >= p.drw_epoch()) for c in cfgs)
        if recorded is None or phase not in loss_of_phase:
            fns = [make_loss(c, counts, epoch, p, dev, gens[k], noise=lambda shape, k=k: next(noises[k]["draws"]))
                   for k, c in enumerate(cfgs)]
            loss_of_phase[phase] = fns
        state["loss_fns"] = loss_of_phase[phase]
        draws = [epoch_draws(epoch_plan(c, labels_cpu, counts, p, gens[k], epoch)[:steps], gens[k], lt.info.pad,
                             c.mixup_alpha, gcl_noise_draws(c), lt.info.num_classes, dev, trains[k].randaugment)
                 for k, c in enumerate(cfgs)]
        totals.zero_()
        n_ep = 0
        for i in range(len(draws[0])):
            set_lr(opt, learning_rate(loop.n_step, steps, p))
            inps = [step_inputs(d[i]) for d in draws]
            n = len(draws[0][i]["idx"])
            if recorded is not None and n == p.batch_size:
                recorded(phase, inps)
            else:
                step(inps)
            n_ep += n
            loop.n_step += 1
        evals = [(float("nan"), [])] * K
        if test is not None and (epoch + 1) % p.eval_every == 0 and epoch + 1 < epochs:
            t = time.time()
            logits, y = predict_stacked(net, test, p.test_limit, cast)
            evals = [(float((lg.argmax(1) == y).float().mean()), evaluate.per_class_accuracy(
                evaluate.confusion_matrix(lg.argmax(1).numpy(), y.numpy(), lt.info.num_classes)).tolist())
                for lg in logits]
            loop.eval_seconds += time.time() - t
        loop.epoch_done(epoch, n_ep, totals.tolist(), evals)  # syncs once an epoch
    end = loop.finish(dev, graphed)
    unstack_into(net.backbone, [convolutional(n.backbone) for n in nets])
    histories = loop.histories
    for h in histories:  # the loop's seconds shared out; images per second those of the stack
        h.update(end, eval_seconds=end["eval_seconds"] / K, seconds=end["seconds"] / K,
                 precision="bf16 autocast" if fast else "fp32", compile="off", stacked=K)
    return [(n.to(dev), h) for n, h in zip(nets, histories)]


def train_stacked(cfgs: list[RunConfig], device="auto", progress: bool = True, ckpt=None):
    """The files of each run of ``cfgs`` (compatible stage-1 runs), trained as one stacked network
    (resumed from and checkpointed into ``ckpt``, the stack's :class:`~ltnb.training.checkpoint.Checkpoint`)."""
    dev = resolve_device(device)
    lt = training_set(cfgs[0])
    p = PRESETS[cfgs[0].preset]
    with checkpoint.reporting(ckpt):
        trained = fit_stacked(cfgs, lt, p, dev, progress, ckpt=ckpt)
    return [finish(c, lt, lt, model, h, dev) for c, (model, h) in zip(cfgs, trained)]
