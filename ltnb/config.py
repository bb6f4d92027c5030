"""A run's identity: the frozen config of everything that decides its numbers, and its stable key."""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from dataclasses import dataclass, field

from ltnb.kernels.angular import PRUNING
from ltnb.presets import PRESETS

# Bump when a kernel or the trainer changes what a stored run means: old runs then stop matching.
KERNEL_VERSION = 1

STAGE2_METHODS = ("crt", "lws", "tau_norm", "marr", "disalign", "mislas", "alas")
# knobs in ``extra`` that only a stage-2 run reads; its parent is the config without them.
# ``backbone_imb``: the parent was trained at this imbalance factor, stage 2 fits on ``imb`` (MARR Table 7).
# MiSLAS / ALAS (angular chapter): label-aware smoothing factors and form, classifier lr factor, BN shift.
STAGE2_KNOBS = {"sampler2", "s2", "margin2", "gamma", "iterations", "backbone_imb",
                "las_eps_head", "las_eps_tail", "las_form", "lr_factor", "shift_bn",
                # paper as written or official code (the leaderboard's table of both): GCL's stage-2 focal term,
                # CBEN's (a, b), MiSLAS's smoothed targets, MARR's normalisation, tau-norm's bias, cRT's init
                "focal2", "cben", "las_targets", "marr_norm", "tau_bias", "crt_init"}
LOSSES = ("ce", "ldam", "balanced_softmax", "gcl", "aem", "cla")
# head "experts": LGLA's multi-expert ResNet-32 (knobs: experts, expert_type, gla_tau, aaw, s), trained
# with one of these losses per expert (Softmax, BALMS, CLA); "cla" needs it.
HEADS = ("linear", "cosine", "angular", "experts")
EXPERT_LOSSES = ("ce", "balanced_softmax", "cla")
COSINE_LOSSES = {"ldam": 30.0, "gcl": 30.0}  # losses on cosine logits, and their default scale s
# AEM's angular logits lie in [0, pi]; knob ``s`` scales them (1: Eq. 6 as written, which underfits).
SCALED_LOSSES = {**COSINE_LOSSES, "aem": 1.0}
# knobs with a fixed set of values (paper as written or official code; absent: the book's default, the first)
KNOB_CHOICES = {"cben": ("paper", "code"), "las_targets": ("eq4", "code"), "marr_norm": ("batch", "weights"),
                "tau_bias": (True, False), "crt_init": ("kaiming", "default"), "groups": ("nearest", "official")}


def _check_pruning(cfg) -> None:
    """A pruned run (angular chapter, Fig. 6) names a method and a fraction in [0, 1); scoring runs stop early."""
    method, fraction = cfg.knob("prune"), cfg.knob("prune_fraction")
    if (method is None) != (fraction is None):
        raise ValueError("a pruned run needs both knobs 'prune' (the method) and 'prune_fraction'")
    if method is not None:
        if method not in PRUNING:
            raise ValueError(f"unknown pruning method {method!r}; choose one of {PRUNING}")
        if not 0 <= float(fraction) < 1:
            raise ValueError(f"prune_fraction must lie in [0, 1), got {fraction}")
        for k in ("score_runs", "score_epochs"):
            if int(cfg.knob(k, 1)) < 1:
                raise ValueError(f"{k} must be a positive integer, got {cfg.knob(k)}")
    stop = cfg.knob("stop_epoch")
    if stop is not None and int(stop) < 1:
        raise ValueError(f"stop_epoch must be a positive number of epochs, got {stop}")


@dataclass(frozen=True)
class RunConfig:
    """Everything that decides a run's numbers. Stage 2 (``stage2`` set) starts from the same config without it."""
    dataset: str = "fmnist"
    imb: float = 100.0
    seed: int = 0
    preset: str = "cpu"
    loss: str = "ce"
    head: str = "linear"
    mixup_alpha: float = 0.0
    drw: bool = False
    sampler: str = "instance"
    stage2: str | None = None
    tau: float = 1.0
    extra: tuple = field(default_factory=tuple)  # chapter knobs as sorted (name, value) pairs

    def __post_init__(self):
        if self.preset not in PRESETS:
            raise ValueError(f"unknown preset {self.preset!r}; a run needs a resolved one of {sorted(PRESETS)}")
        if self.loss not in LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}; choose one of {LOSSES}")
        if self.stage2 is not None and self.stage2 not in STAGE2_METHODS:
            raise ValueError(f"unknown stage-2 method {self.stage2!r}; choose one of {STAGE2_METHODS}")
        if self.imb < 1:
            raise ValueError(f"imbalance factor must be >= 1, got {self.imb}")
        if self.head not in HEADS:
            raise ValueError(f"unknown head {self.head!r}; choose one of {HEADS}")
        if self.head == "experts":
            if self.loss not in EXPERT_LOSSES:
                raise ValueError(f"a multi-expert run trains with one of {EXPERT_LOSSES}, not {self.loss!r}")
            if self.mixup_alpha or self.drw or self.stage2:
                raise ValueError("a multi-expert run supports neither mixup, DRW nor a stage 2")
        elif self.loss == "cla":
            raise ValueError("loss 'cla' (LGLA's class-aware adjustment) needs head='experts'")
        object.__setattr__(self, "imb", float(self.imb))
        object.__setattr__(self, "extra", tuple(sorted(tuple(kv) for kv in self.extra)))
        _check_pruning(self)
        for name, allowed in KNOB_CHOICES.items():
            if self.knob(name, allowed[0]) not in allowed:
                raise ValueError(f"knob {name}={self.knob(name)!r}: choose one of {allowed}")
        if float(self.knob("focal2", 0.0)) < 0:
            raise ValueError(f"the focal exponent focal2 must be >= 0, got {self.knob('focal2')}")
        if self.knob("s") is not None and not float(self.knob("s")) > 0:
            raise ValueError(f"the logit scale s must be positive, got {self.knob('s')}")

    @property
    def parent(self) -> "RunConfig | None":
        """The stage-1 run a stage-2 run starts from: the same config without its stage-2 knobs
        (at ``backbone_imb`` when that knob is set)."""
        if not self.stage2:
            return None
        extra = tuple(kv for kv in self.extra if kv[0] not in STAGE2_KNOBS)
        imb = self.knob("backbone_imb", self.imb)
        return dataclasses.replace(self, imb=imb, stage2=None, tau=1.0, extra=extra)

    @property
    def stage1(self) -> "RunConfig":
        """The stage-1 run this run starts from (itself for a stage-1 run): runs that share it share their training."""
        return self.parent.stage1 if self.stage2 else self

    def describe(self) -> dict:
        d = dataclasses.asdict(self)
        d["extra"] = [list(kv) for kv in self.extra]
        d["schedule"] = dataclasses.asdict(PRESETS[self.preset])
        d["kernel_version"] = KERNEL_VERSION
        return d

    @functools.cached_property  # fields are frozen: computed once (the Claims page asks thousands of times)
    def key(self) -> str:
        blob = json.dumps(self.describe(), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    @classmethod
    def from_dict(cls, d: dict) -> "RunConfig":
        """The config a run's config.json holds (its fields; ``extra`` as pairs)."""
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k != "extra"},
                   extra=tuple(tuple(kv) for kv in d["extra"]))

    def knob(self, name: str, default=None):
        """A chapter knob from ``extra`` (e.g. GCL's ``noise_mul``), or ``default``."""
        return dict(self.extra).get(name, default)

    @property
    def logit_scale(self) -> float:
        """The ``s`` that turns a cosine or angular head's outputs into logits (1 for a linear head)."""
        return float(self.knob("s", SCALED_LOSSES[self.loss])) if self.loss in SCALED_LOSSES else 1.0

    @property
    def label(self) -> str:
        parts = [self.loss]
        if self.head == "experts":
            parts.append(f"{self.knob('experts', 3)}{self.knob('expert_type', 'gc')}")
            if self.knob("aaw"):
                parts.append("aaw")
        if self.knob("randaugment"):
            parts.append("ra")
        if self.mixup_alpha:
            parts.append("mixup")
        if self.drw:
            parts.append("drw")
        if self.sampler != "instance":
            parts.append(self.sampler)
        if self.knob("whiten"):
            parts.append("cw")
        if self.stage2:
            parts.append(self.stage2)
        return "+".join(parts)

    def dependencies(self) -> list["RunConfig"]:
        """The runs this one starts from: a stage-2 run's parent; a pruned run's scoring runs (EL2N, AVH)."""
        if self.stage2:
            return [self.parent]
        if self.knob("prune") in ("el2n", "avh"):
            return scoring_configs(self)
        return []


def scoring_configs(cfg: RunConfig) -> list[RunConfig]:
    """The short CE runs whose scores a pruned run averages: seeds 0..score_runs-1, stopped after score_epochs."""
    return [RunConfig(dataset=cfg.dataset, imb=cfg.imb, preset=cfg.preset, seed=s,
                      extra=(("stop_epoch", int(cfg.knob("score_epochs", 10))),))
            for s in range(int(cfg.knob("score_runs", 10)))]
