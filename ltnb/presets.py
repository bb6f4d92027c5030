"""Presets (how long to train) and the announced context of a chapter run."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

import numpy as np
import torch

from ltnb import data


@dataclass(frozen=True)
class Preset:
    """A training schedule; ``milestones`` and ``drw_start`` are fractions of ``epochs``."""
    name: str
    epochs: int
    width: float = 1.0
    batch_size: int = 128
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 2e-4
    warmup_epochs: int = 5
    lr_schedule: str = "step"  # "step": lr_decay at each milestone; "cosine": cosine to 0 after warm-up
    milestones: tuple[float, ...] = (0.8, 0.9)
    lr_decay: float = 0.1
    drw_start: float = 0.8
    stage2_epochs: int = 10
    stage2_lr: float = 0.1
    max_steps: int | None = None  # per epoch; smoke only
    test_limit: int | None = None  # evaluate on the first N test images; smoke only
    eval_every: int = 1  # test accuracy (overall and per class) every N epochs during training (0: only at the end)

    def milestone_epochs(self) -> tuple[int, ...]:
        return tuple(int(round(f * self.epochs)) for f in self.milestones)

    def drw_epoch(self) -> int:
        return int(round(self.drw_start * self.epochs))


PRESETS: dict[str, Preset] = {
    # Cao et al. 2019 / the five papers: 200 epochs, batch 128, lr 0.1 with 5 warm-up epochs,
    # decayed 10x at epochs 160 and 180, weight decay 2e-4, DRW from epoch 160.
    "paper": Preset("paper", epochs=200),
    # Two CPU cores: the same depth at half width and a 10-epoch schedule of the same shape
    # (warm-up, 10x decays at 80% and 90%, DRW from 80%): about 4 minutes a run.
    "cpu": Preset("cpu", epochs=10, width=0.5, warmup_epochs=1, stage2_epochs=10),
    # The budget axis: the cpu preset's network and schedule shape (warm-up a tenth of the epochs, 10x decays at 80%
    # and 90%, DRW from 80%, a test evaluation every tenth of the run) at 2x, 4x and 8x its epochs. `long`, the
    # 40-epoch budget, is the longest schedule recorded for every chapter on the CPU (about 4x the cpu preset's time).
    "cpu20": Preset("cpu20", epochs=20, width=0.5, warmup_epochs=2, stage2_epochs=10, eval_every=2),
    "long": Preset("long", epochs=40, width=0.5, warmup_epochs=4, stage2_epochs=10, eval_every=4),
    "cpu80": Preset("cpu80", epochs=80, width=0.5, warmup_epochs=8, stage2_epochs=10, eval_every=8),
    # Seconds: a few steps per epoch on a quarter-width net; numbers mean nothing.
    "smoke": Preset("smoke", epochs=2, width=0.25, batch_size=64, warmup_epochs=0,
                    stage2_epochs=2, max_steps=3, test_limit=400),
}

# The budget axis: the same network and schedule shape at these numbers of epochs, one preset each.
BUDGETS: dict[int, str] = {10: "cpu", 20: "cpu20", 40: "long", 80: "cpu80"}


def check_device(value):
    """'auto', 'cpu', 'cuda' or 'cuda:N', and CUDA (that GPU) present when asked for: the one device check of the
    chapters, the recorder and the bench, made before anything trains, with an error that says what to use."""
    if isinstance(value, torch.device):
        value = str(value)
    v = value.strip() if isinstance(value, str) else value
    if v is None:
        return "auto"
    if not isinstance(v, str) or not re.fullmatch(r"auto|cpu|cuda(:\d+)?", v):
        raise ValueError(f"{check_device.allowed} (N the index of a GPU, such as 0)")
    if v.startswith("cuda"):
        n = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if n == 0:
            raise ValueError("'auto' or 'cpu' here: this machine has no CUDA device")
        if ":" in v and int(v.split(":")[1]) >= n:
            raise ValueError(f"'auto', 'cpu', 'cuda' or 'cuda:N' with N below {n}: this machine has {n} GPU"
                             f"{'s' if n > 1 else ''}")
    return v


check_device.allowed = "'auto', 'cpu', 'cuda' or 'cuda:N'"


def resolve_device(device: str = "auto") -> torch.device:
    """The torch device of ``device`` (checked by :func:`check_device`); ``auto`` is CUDA where present, else CPU."""
    v = check_device(device)
    return torch.device(("cuda" if torch.cuda.is_available() else "cpu") if v == "auto" else v)


def auto_presets(asked: str, device: torch.device) -> tuple[list[str], str]:
    """The one rule for ``preset="auto"`` (chapters and the recorder): the presets it may pick, longest first, and
    why. An asked-for preset is itself; ``$LTNB_PRESET`` when set; on CUDA ``paper``; otherwise ``paper``, ``long``,
    ``cpu``: a chapter takes the first whose runs are all recorded, and the last (which trains what is missing)
    when none is; the recorder records the last."""
    if asked not in (None, "auto"):
        if asked not in PRESETS:
            raise ValueError(f"preset {asked!r}: must be one of {sorted(PRESETS)} or 'auto'")
        return [asked], "asked for"
    env = os.environ.get("LTNB_PRESET")
    if env:
        if env not in PRESETS:
            raise ValueError(f"$LTNB_PRESET={env!r}: must be one of {sorted(PRESETS)}")
        return [env], "auto: $LTNB_PRESET"
    if device.type == "cuda":
        return ["paper"], "auto: CUDA present"
    return ["paper", "long", "cpu"], "auto"


def resolve_dataset(name: str = "auto", root=None) -> tuple[str, str]:
    """``auto`` picks CIFAR-10 when it is in the data root, else the embedded Fashion-MNIST."""
    if name in (None, "auto"):
        if data.available("cifar10", root):
            return "cifar10", "auto: CIFAR-10 found"
        folder = data.data_root(root) / "cifar-10-batches-py"
        if folder.exists():
            missing = data.missing_files("cifar10", root)
            return "fmnist", (f"auto: {folder} lacks {', '.join(missing)}, so the embedded Fashion-MNIST "
                              f"(python -m ltnb.prepare cifar10 completes it where a network allows)")
        return "fmnist", "auto: no CIFAR-10 in the data folder ($LTNB_DATA, default data/), so the embedded Fashion-MNIST"
    data.dataset_info(name)  # raises on an unknown name
    return name, "asked for"


@dataclass(frozen=True)
class Context:
    """What a chapter runs with; ``stamp`` goes on every figure and table."""
    dataset: str
    imb: float
    preset: Preset
    seeds: tuple[int, ...]
    device: torch.device
    notes: tuple[str, ...] = ()
    changed: tuple = ()  # (name, value) of the chapter knobs set away from their defaults (the chapter door)

    @property
    def counts(self) -> np.ndarray:
        """Training images per class of the long-tailed set (computed, nothing loaded)."""
        info = data.dataset_info(self.dataset)
        return np.array(data.lt_counts(info.train_per_class, info.num_classes, self.imb))

    @property
    def num_classes(self) -> int:
        return data.dataset_info(self.dataset).num_classes

    @property
    def stamp(self) -> str:
        seeds = ",".join(str(s) for s in self.seeds)
        return (f"{self.dataset}-LT imb {self.imb:g} · preset {self.preset.name} · "
                f"seed{'s' if len(self.seeds) > 1 else ''} {seeds} · {self.device.type}")


