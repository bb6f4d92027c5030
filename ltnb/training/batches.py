"""What each stage-1 step sees: the epoch's index batches (samplers, BET) and every random number it draws."""
from __future__ import annotations

import torch

from ltnb import augment, data as D
from ltnb.config import RunConfig
from ltnb.kernels import gcl, samplers
from ltnb.presets import Preset


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
