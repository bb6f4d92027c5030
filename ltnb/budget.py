"""How long runs take here: the estimates behind `make plan` and the recorder's time budget.

Measured runs of the same kind on this kind of device when there are any (trained alone: a stacked run's
seconds are its share of the stack's), else a default per preset; a stack's time from its runs' times alone.
"""
from __future__ import annotations

import numpy as np

from ltnb import store
from ltnb.config import RunConfig
from ltnb.parallel import stack_speedup
from ltnb.presets import PRESETS
from ltnb.training.stage1 import graphable


# One single-network stage-1 run, when none is measured here. cpu: measured on 2 cores (one thread a run);
# paper on cuda: 93 s of training measured on an H100 (about the same on an H200) and ~30 s evaluating every
# epoch; paper on the CPU: the cpu preset scaled by 20x the epochs and about 4x the work of the full width, a
# rough figure that says "not here"; cpu on cuda: a guess from the same rate.
DEFAULT_SECONDS = {"cpu": {"cpu": 300.0, "paper": 300.0 * 20 * 4, "smoke": 3.0},
                   "cuda": {"cpu": 10.0, "paper": 125.0, "smoke": 1.0}}
# The budget presets (the cpu preset's network at 2x, 4x and 8x its epochs): the cpu preset's time per epoch, over
# what compiling the CPU step gained on these machines (ltnb.training.common.COMPILE_MIN_EPOCHS).
COMPILE_GAIN = 1.2
for _dev, _rate in (("cpu", 300.0 / 10 / COMPILE_GAIN), ("cuda", 10.0 / 10)):
    for _name, _p in PRESETS.items():
        if _name not in DEFAULT_SECONDS[_dev] and _p.width == PRESETS["cpu"].width:
            DEFAULT_SECONDS[_dev][_name] = _rate * _p.epochs
# A run whose step cannot be recorded as a CUDA graph (channel whitening, experts, angular heads) trains eagerly:
# 9,075 against 31,307 images/s on the H100 (make bench), on the training share (95 of 125 s) of its time.
CUDA_EAGER = 1 + 95 / 125 * (31307 / 9075 - 1)


def _kind(cfg: RunConfig) -> str:
    if cfg.stage2 in ("mislas", "alas"):
        return "stage 2 on images"
    if cfg.stage2:
        return "stage 2 on features"
    return "experts" if cfg.head == "experts" else "stage 1"


def estimates(items, device: str) -> dict[str, float]:
    """Seconds each item would take here: the median of measured runs of its kind at its preset on this kind of
    device (stored or recorded), scaled by epochs and experts; a default per preset where none is measured."""
    eager = lambda c: device == "cuda" and not graphable(c)  # noqa: E731
    measured: dict = {}
    for it in items:  # runs trained alone (a stacked run's seconds are its share of the stack's), evaluation included
        if store.exists(it.config):
            run = store.load(it.config)
            m = run.metrics
            if str(m.get("device", "")).split(":")[0] == device and (m.get("stacked") or 1) == 1:
                epochs = len(m.get("history", {}).get("epoch", [])) or 1
                secs = m.get("train_seconds", 0) + m.get("history", {}).get("eval_seconds", 0)
                measured.setdefault((_kind(it.config), it.config.preset, eager(it.config)), []).append(
                    secs / (epochs if _kind(it.config) != "stage 2 on features" else 1))
    out = {}
    for it in items:
        c, p = it.config, PRESETS[it.config.preset]
        epochs = min(p.epochs, int(c.knob("stop_epoch", p.epochs)))
        per = measured.get((_kind(c), c.preset, eager(c)))
        base = measured.get(("stage 1", c.preset, eager(c)))
        if not per and _kind(c) in ("stage 1", "experts"):  # a budget preset: the same network measured at another
            per = _same_network(measured, _kind(c), c.preset, eager(c), device)
        default = DEFAULT_SECONDS.get(device, DEFAULT_SECONDS["cpu"])[c.preset] / p.epochs * (CUDA_EAGER if eager(c) else 1)
        if per:
            unit = float(np.median(per))
        elif _kind(c) == "experts":
            unit = 2.5 * (float(np.median(base)) if base else default)
        elif _kind(c) == "stage 1":
            unit = float(np.median(base)) if base else default
        else:
            unit = 30.0 if _kind(c) == "stage 2 on images" else 8.0
        out[it.key] = unit * (epochs if _kind(c) in ("stage 1", "experts") else 1)
    return out


def _same_network(measured: dict, kind: str, preset: str, eager: bool, device: str) -> list[float]:
    """Seconds per epoch measured at another preset of the same network and batch (the budget axis), over the
    gain of compiling where this preset compiles and that one did not."""
    from ltnb.training.common import COMPILE_MIN_EPOCHS

    p = PRESETS[preset]
    compiles = lambda q: device == "cpu" and q.epochs >= COMPILE_MIN_EPOCHS  # noqa: E731
    for name, q in PRESETS.items():
        secs = measured.get((kind, name, eager))
        if name != preset and secs and (q.width, q.batch_size) == (p.width, p.batch_size):
            gain = COMPILE_GAIN if compiles(p) and not compiles(q) else 1.0
            return [x / gain for x in secs]
    return []


def stack_seconds(alone: list[float], cfgs, device: str) -> float:
    """A stack's time from its runs' times alone: over the stacking speed-up; a stack that trains eagerly on CUDA
    (no CUDA graph) is bound by launching its kernels, so it takes at least its slowest run's time alone."""
    if device == "cuda" and not all(graphable(c) for c in cfgs):
        return max(sum(alone) / CUDA_EAGER / stack_speedup(len(alone), device), max(alone))
    return sum(alone) / stack_speedup(len(alone), device)
