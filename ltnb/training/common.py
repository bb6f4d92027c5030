"""What every stage of training shares: the data sets, the schedule, evaluation and the run's summary."""
from __future__ import annotations

import functools
import math
import os
import sys
from contextlib import nullcontext

import numpy as np
import torch
from tqdm import tqdm

from ltnb import data as D
from ltnb.config import COSINE_LOSSES, RunConfig
from ltnb.kernels import evaluate, experts, lgla, models, whitening
from ltnb.presets import Preset

FEATURES_PER_CLASS = 50  # test features kept per class for figures (t-SNE, angles)


@functools.lru_cache(maxsize=4)
def dataset(name: str, imb: float, subset_seed: int = 0) -> D.LongTailed:
    """The long-tailed training set and the balanced test set (cached in the process)."""
    return D.long_tailed(name, imb, subset_seed=subset_seed)


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


def progress_bar(total: int, desc: str, enabled: bool):
    enabled = enabled and os.environ.get("LTNB_PROGRESS", "1") != "0"
    return tqdm(total=total, desc=desc, disable=not enabled, file=sys.stderr,
                mininterval=2.0, dynamic_ncols=True, leave=True)


def fast_default(device: torch.device) -> bool:
    """bf16 autocast where it pays: every CUDA device, and CPUs with native bf16 (AVX512-BF16, AMX)."""
    if device.type == "cuda":
        return True
    try:
        return device.type == "cpu" and bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def memory_layout(device: torch.device, fast: bool | None = None) -> torch.memory_format:
    """Channels-last on the CPU (eager steps of a width-0.5 ResNet-32 on 2 cores of an AMD EPYC: 1.4x the images a
    second in bf16 autocast, 1.3x in fp32, one thread; compiled steps even; ``make bench`` measures it on each
    machine) and on CUDA with bf16 autocast; contiguous on CUDA in fp32. A layout moves no run key, but it moves the
    last bits, and more between thread counts (a smoke run's first-epoch loss: 1.3% between 1 and 2 threads in
    channels-last, 0.03% contiguous); ``$LTNB_LAYOUT`` (channels_last, contiguous) sets it."""
    asked = os.environ.get("LTNB_LAYOUT")  # channels_last or contiguous: the same runs in another layout
    if asked:
        if asked not in ("channels_last", "contiguous"):
            raise ValueError(f"LTNB_LAYOUT={asked!r}: choose channels_last or contiguous")
        return torch.channels_last if asked == "channels_last" else torch.contiguous_format
    fast = fast_default(device) if fast is None else fast
    return torch.channels_last if (device.type == "cpu" or fast) else torch.contiguous_format


def autocast(device: torch.device, fast: bool | None = None):
    fast = fast_default(device) if fast is None else fast
    return torch.autocast(device.type, dtype=torch.bfloat16) if fast else nullcontext()


@torch.no_grad()
def predict(model: torch.nn.Module, images: D.DeviceImages, limit: int | None = None,
            batch_size: int = 1000) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Features, logits and labels of the (un-augmented) images, in order, on the CPU."""
    model.eval()
    n = len(images) if limit is None else min(limit, len(images))
    feats, logits = [], []
    cast = autocast(images.device)
    for i in range(0, n, batch_size):
        x, _ = images.batch(torch.arange(i, min(i + batch_size, n), device=images.device), augment=False)
        with cast:
            z = model.features(x).float()
        out = model.head(z)  # the head in fp32: stored features reproduce these logits exactly
        feats.append(z.cpu())
        logits.append(out.float().cpu())
    return torch.cat(feats), torch.cat(logits), images.labels[:n].cpu()


def head_arrays(head: torch.nn.Module) -> dict[str, np.ndarray]:
    out = {"weight": head.weight.detach().float().cpu().numpy()}
    if getattr(head, "bias", None) is not None:
        out["bias"] = head.bias.detach().float().cpu().numpy()
    return out


def feature_subset(labels: torch.Tensor, per_class: int) -> np.ndarray:
    labels = labels.numpy()
    return np.concatenate([np.where(labels == c)[0][:per_class] for c in np.unique(labels)])


def summary(logits, labels, counts, extra: dict) -> tuple[dict, np.ndarray]:
    m, conf = evaluate.metrics(logits, labels, counts)
    m.update(extra)
    return m, conf


def class_means(values: torch.Tensor, labels: torch.Tensor) -> np.ndarray:
    """Row ``c``: the mean of ``values`` over the images of class ``c``."""
    C = values.shape[1]
    sums = torch.zeros(C, values.shape[1]).index_add_(0, labels, values.float())
    return (sums / torch.bincount(labels, minlength=C).clamp_min(1).unsqueeze(1)).numpy()


def new_history() -> dict:
    return {"epoch": [], "loss": [], "test_acc": [], "test_per_class": []}


def record_epoch(history: dict, loss: float, test_logits: torch.Tensor, test_labels: torch.Tensor) -> None:
    """One stage-2 epoch: its mean training loss, and the test accuracy overall and per class."""
    pred = test_logits.argmax(1)
    history["epoch"].append(len(history["epoch"]) + 1)
    history["loss"].append(loss)
    history["test_acc"].append(float((pred == test_labels).float().mean()))
    history["test_per_class"].append(evaluate.per_class_accuracy(evaluate.confusion_matrix(
        pred.numpy(), test_labels.numpy(), test_logits.shape[1])).tolist())


COMPILE_MODES = ("off", "default", "reduce-overhead", "max-autotune-no-cudagraphs")


# Runs of at least this many epochs compile their CPU training step (torch.compile's default mode): on 2 cores
# of an AMD EPYC a ResNet-32 at width 0.5 stepped 1.23x faster compiled under bf16 autocast (one thread), and
# 1.34x in fp32 on one without AVX-512 (two threads), after 20-35 s of compiling: repaid within a 20-epoch run,
# not a 10-epoch one (``make bench`` measures it on each machine).
COMPILE_MIN_EPOCHS = 20


def compile_mode(asked: str | None = None, device: torch.device | None = None, epochs: int | None = None) -> str:
    """``asked``, else ``$LTNB_COMPILE``, else ``default`` for a CPU run of at least :data:`COMPILE_MIN_EPOCHS`
    epochs, else off: on the H100 CUDA graphs beat compiling (``make bench``)."""
    mode = asked or os.environ.get("LTNB_COMPILE")
    if mode is None:
        long_cpu = device is not None and device.type == "cpu" and (epochs or 0) >= COMPILE_MIN_EPOCHS
        mode = "default" if long_cpu else "off"
    if mode not in COMPILE_MODES:
        source = "compile" if asked else "LTNB_COMPILE"
        raise ValueError(f"{source}={mode!r}: choose one of {COMPILE_MODES}")
    return mode
