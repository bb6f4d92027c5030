"""How long runs take here: the estimates behind `make plan` and the recorder's time budget.

Measured runs of the same kind on this kind of device when there are any (trained alone: a stacked run's
seconds are its share of the stack's), else a default per preset; a stack's time from its runs' times alone.

On the CPU a measured run's time is used as it is, whatever threads it had: the recordings were trained one thread
a run, two at once on 2 cores, and a recorded run retrained alone on both cores took about as long (cpu preset:
313 s against its recording's 343 s for CE, 315 against 311 for CE + CW, 442 against 461 for LGLA), since much of
a run (loading, augmenting, evaluating) gains little from a second thread. So ``workers`` local runs at once take
about a ``workers``-th of the time one at a time takes.

Machines of one kind differ: the long preset's recorded stage-1 runs trained at 155 to 1,175 images a second, all
one thread a run on 2-core CPUs. Runs in the run store were trained on this machine, so where there are some, every
measured time is scaled by :func:`machine_speed`, this machine's time over the recordings' for runs of the same kind.
"""
from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np

from ltnb import data, store
from ltnb.config import RunConfig
from ltnb.presets import PRESETS
from ltnb.runs.parallel import stack_speedup
from ltnb.training.common import COMPILE_MIN_EPOCHS
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
# A multi-expert ResNet-32 takes (EXPERTS_SHARED + K) / (EXPERTS_SHARED + K') the time of one with K' experts: fitted
# to the recorded runs of LGLA's Fig. 7 (cpu preset, K = 2 to 7 trained alike: 35.3 to 59.1 s an epoch, linear in K).
EXPERTS_SHARED = 5.4


def _kind(cfg: RunConfig) -> str:
    if cfg.stage2 in ("mislas", "alas"):
        return "stage 2 on images"
    if cfg.stage2:
        return "stage 2 on features"
    return "experts" if cfg.head == "experts" else "stage 1"


def estimates(items, device: str, pool=(), todo=None) -> dict[str, float]:
    """Seconds each item would take here: from the measured runs of its kind at its preset on this kind of device
    (stored or recorded, among the items and the configs of ``pool``), the median training time per epoch (per
    training image and expert for a network) and the median evaluating time per epoch (the test set, the same for
    every run), scaled to this machine (:func:`machine_speed`); a stage 2 on features per run; a default per preset
    where none is measured. A stage 2 whose parent
    is only recorded includes the parent's time, once per parent, where both are not in ``todo`` and the stage 2 is
    (the keys that will train; default: the items with no run at all): the parent is trained again for its network,
    which a recording lacks."""
    eager = lambda c: device == "cuda" and not graphable(c)  # noqa: E731
    planned = {it.key for it in items}
    todo = {it.key for it in items if store.source(it.config) is None} if todo is None else set(todo)
    parents: dict = {}  # item key -> the parent configs it trains again
    charged = set()
    for it in items:
        for d in it.config.dependencies() if it.config.stage2 and it.key in todo else ():
            if d.key not in todo and d.key not in charged and store.source(d) != "store":
                charged.add(d.key)
                parents.setdefault(it.key, []).append(d)
    items = list(items) + [SimpleNamespace(config=d, key=d.key) for d in
                           {d.key: d for ds in parents.values() for d in ds if d.key not in planned}.values()]
    measured = _measured([it.config for it in items] + list(pool), device)
    speed, _ = machine_speed(measured, device)
    measured = {g: [(t * (1 if here else speed), e * (1 if here else speed)) for t, e, here in runs]
                for g, runs in measured.items()}  # every time as this machine would take it
    out = {}
    for it in items:
        c, p = it.config, PRESETS[it.config.preset]
        epochs = min(p.epochs, int(c.knob("stop_epoch", p.epochs)))
        network = _kind(c) in ("stage 1", "experts")
        per = measured.get((_kind(c), c.preset, eager(c)))
        base = measured.get(("stage 1", c.preset, eager(c)))
        if not per and network:  # a budget preset: the same network measured at another
            per = _same_network(measured, _kind(c), c.preset, eager(c), device)
        default = (DEFAULT_SECONDS.get(device, DEFAULT_SECONDS["cpu"])[c.preset] / p.epochs * speed
                   * (CUDA_EAGER if eager(c) else 1))  # measured on other machines too: scaled like the recordings
        if per:
            unit = _median(per, _experts_factor(c) * _images(c) if network else 1)
        elif network:
            unit = (2.5 if _kind(c) == "experts" else 1) * (_median(base, _images(c)) if base else default)
        else:
            unit = 30.0 if _kind(c) == "stage 2 on images" else 8.0
        out[it.key] = unit * (epochs if network else 1)
    for key, ds in parents.items():
        out[key] += sum(out[d.key] for d in ds)
    return {k: v for k, v in out.items() if k in planned}


def _measured(cfgs, device: str) -> dict:
    """The measured runs among ``cfgs`` trained alone on ``device``: (kind, preset, eager) -> a list of (training
    seconds per epoch, per training image and expert for a network; evaluating seconds per epoch; whether it was
    trained on this machine, i.e. is in the run store)."""
    eager = lambda c: device == "cuda" and not graphable(c)  # noqa: E731
    out: dict = {}
    for cfg in {c.key: c for c in cfgs}.values():
        m = _metrics(cfg)  # runs trained unstacked (a stacked run's seconds are its share of the stack's)
        if m is not None and str(m.get("device", "")).split(":")[0] == device and (m.get("stacked") or 1) == 1:
            kind, hist = _kind(cfg), m.get("history", {})
            train, ev = m.get("train_seconds", 0), hist.get("eval_seconds", 0)
            if kind != "stage 2 on features":
                epochs = len(hist.get("epoch", [])) or 1
                train, ev = train / epochs, ev / epochs
            if kind in ("stage 1", "experts"):
                train /= _experts_factor(cfg) * _images(cfg)
            out.setdefault((kind, cfg.preset, eager(cfg)), []).append((train, ev, store.source(cfg) == "store"))
    return out


def here_speed(measured: dict) -> tuple[float, int]:
    """This machine's time over other machines': the median, over the networks trained here (in the run store), of
    each one's training time over the median of the recorded runs of its kind and preset; and how many it rests
    on. (1.0, 0) where none is trained here that a recorded run of its kind can be set against."""
    ratios = []
    for (kind, _, _), runs in measured.items():
        there = [t for t, _, here in runs if not here and t > 0]
        if kind in ("stage 1", "experts") and there:
            ratios += [t / float(np.median(there)) for t, _, here in runs if here and t > 0]
    return (float(np.median(ratios)), len(ratios)) if ratios else (1.0, 0)


def machine_speed(measured: dict, device: str) -> tuple[float, int]:
    """:func:`here_speed` over ``measured``, else over every network in the run store at any preset set against the
    recordings of its preset (a machine that trained 40-epoch runs is as slow at 80 epochs)."""
    speed, n = here_speed(measured)
    if n:
        return speed, n
    presets = set()
    for f in store.store_root().glob("*/config.json"):
        try:
            presets.add(json.loads(f.read_text())["preset"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return here_speed(_measured([c for p in sorted(presets & set(PRESETS)) for c in measured_pool(p)], device))


def speed_words(items, device: str, pool=()) -> str:
    """Where the plan's times come from, in words: the recorded runs' times, scaled to this machine where runs
    trained here measure it."""
    speed, n = machine_speed(_measured([it.config for it in items] + list(pool), device), device)
    if not n:
        return (f"times: the recorded runs' on {device} machines, which differ up to several times (none trained "
                f"here yet to scale them by)")
    return (f"times: the recorded runs', scaled to this machine (its {n} network{'s' if n != 1 else ''} in the run "
            f"store took {speed:.2f}× the recorded median of {'its' if n == 1 else 'their'} kind)")


def _median(measured: list, scale: float) -> float:
    """The median training time times ``scale`` (images and experts), plus the median evaluating time."""
    train, ev = np.median(np.asarray(measured, dtype=float), axis=0)
    return float(train * scale + ev)


def one_after_another(cfgs, preset: str, device: str = "cpu", pool=None) -> float:
    """Seconds the runs of ``cfgs`` would take here trained one after another, as a chapter trains them: the sum of
    their estimates, measured on the runs of ``pool`` (default: every run at ``preset``, recorded or stored)."""
    items = [SimpleNamespace(config=c, key=c.key) for c in dict.fromkeys(cfgs)]
    if not items:
        return 0.0
    return float(sum(estimates(items, device, pool=measured_pool(preset) if pool is None else pool).values()))


def measured_pool(preset: str) -> list[RunConfig]:
    """The config of every run at ``preset`` in the recordings and the run store (their times: the estimates')."""
    files = [*(store.recorded_root() / preset).glob("*/config.json"), *store.store_root().glob("*/config.json")]
    out = {}
    for f in files:
        try:
            cfg = RunConfig.from_dict(json.loads(f.read_text()))
        except (OSError, ValueError, KeyError, TypeError):
            continue  # a run that cannot be read has no time to give (loading it says why)
        if cfg.preset == preset:
            out[cfg.key] = cfg
    return list(out.values())


def _metrics(cfg: RunConfig) -> dict | None:
    """The metrics of the stored or recorded run of ``cfg`` (None if there is none or they cannot be read): for its
    time alone, so without checking its arrays as loading it does."""
    where = store.source(cfg)
    if where is None:
        return None
    path = store.store_root() / cfg.key if where == "store" else store.recorded_path(cfg)
    try:
        return json.loads((path / "metrics.json").read_text())
    except (OSError, ValueError):
        return None


def _images(cfg: RunConfig) -> float:
    """Training images an epoch of ``cfg`` sees: its long-tailed set (``per_class`` a class where set), less the
    fraction it prunes; a measured epoch's time is per image of it."""
    info = data.dataset_info(cfg.dataset)
    per_class = cfg.knob("per_class")
    n = (info.num_classes * int(per_class) if per_class else
         sum(data.lt_counts(info.train_per_class, info.num_classes, cfg.imb)))
    return n * (1 - float(cfg.knob("prune_fraction", 0) or 0))


def _experts_factor(cfg: RunConfig) -> float:
    """A multi-expert run's time over that of the same run with 3 experts (1 for any other run)."""
    if cfg.head != "experts":
        return 1.0
    return (EXPERTS_SHARED + int(cfg.knob("experts", 3))) / (EXPERTS_SHARED + 3)


def _same_network(measured: dict, kind: str, preset: str, eager: bool, device: str) -> list[float]:
    """Seconds per epoch measured at another preset of the same network and batch (the budget axis), over the
    gain of compiling where this preset compiles and that one did not."""
    p = PRESETS[preset]
    compiles = lambda q: device == "cpu" and q.epochs >= COMPILE_MIN_EPOCHS  # noqa: E731
    for name, q in PRESETS.items():
        secs = measured.get((kind, name, eager))
        if name != preset and secs and (q.width, q.batch_size) == (p.width, p.batch_size):
            gain = COMPILE_GAIN if compiles(p) and not compiles(q) else 1.0
            return [(t / gain, e) for t, e in secs]
    return []


def stack_seconds(alone: list[float], cfgs, device: str) -> float:
    """A stack's time from its runs' times alone: over the stacking speed-up; a stack that trains eagerly on CUDA
    (no CUDA graph) is bound by launching its kernels, so it takes at least its slowest run's time alone."""
    if device == "cuda" and not all(graphable(c) for c in cfgs):
        return max(sum(alone) / CUDA_EAGER / stack_speedup(len(alone), device), max(alone))
    return sum(alone) / stack_speedup(len(alone), device)
