"""The method registry: one declaration per method, the only place a method's run config is written.

A :class:`Method` knows its name as the papers write it, the paper that proposes it, the chapter
that reproduces it, and how to build its :class:`~ltnb.config.RunConfig` from a chapter's
parameters (its ``knobs``, with the chapter's defaults). A two-stage method names its stage-1
``backbone`` method; its config is the backbone's plus the stage-2 fields, so it trains on the
backbone's stored run. A *view* (L2A, ABS) is a post-hoc prediction read from a stored run.
Chapters, the leaderboard and the recorder all build configs here::

    methods.get("GCL").config(dict(dataset="fmnist", imb=100, preset="cpu"), seed=0, cloud="cos")
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Callable

from ltnb import data
from ltnb.config import RunConfig
from ltnb.kernels import lgla, losses, margins, samplers, whitening

SUBSET_KNOB = "subset_seed"  # which long-tailed subset: the seed of the per-class shuffle (0: Cao et al.'s)


@dataclass(frozen=True)
class Method:
    """One method of the book and how to build its run config from a chapter's parameters."""
    name: str  # as the papers write it
    paper: str | None  # bibtex key of the paper that proposes it (None: a plain baseline)
    chapter: str  # the chapter that reproduces it
    family: str  # one stage, two stage, post hoc, ensemble
    build: Callable[..., RunConfig]  # (base, seed, **knobs) -> the run to load or train
    knobs: dict = field(default_factory=dict)  # the chapter parameters build reads, with their defaults
    view: str = "run"  # run: the run's own predictions; l2a, l2a_s2, abs: post hoc on its stored features
    key: str | None = None  # the reference key: what the papers report for this method
    claim: tuple | None = None  # (paper, printed method) of the paper that proposes it
    new: bool = False  # a combination none of the papers tried

    def config(self, base: dict, seed: int = 0, subset: int = 0, **knobs) -> RunConfig:
        """The run of this method for ``base`` (dataset, imb, preset), ``seed`` and long-tailed ``subset``.

        ``knobs`` override the chapter defaults; an unknown knob is an error.
        """
        unknown = set(knobs) - set(self.knobs)
        if unknown:
            raise ValueError(f"{self.name} has no knob(s) {sorted(unknown)}; its knobs are {sorted(self.knobs)}")
        return with_subset(self.build(dict(base), int(seed), **{**self.knobs, **knobs}), subset)

    def components(self, base: dict) -> dict:
        """What the method trains with, read off its default config: loss, head, sampler, stage 2."""
        cfg = self.config(base)
        stage1 = cfg.parent or cfg
        head = "cosine" if cfg.loss in ("ldam", "gcl") else "angular" if cfg.loss == "aem" else cfg.head
        return {"loss": stage1.loss, "head": head, "sampler": stage1.sampler, "mixup": stage1.mixup_alpha > 0,
                "drw": stage1.drw, "stage 2": cfg.stage2 or "", "view": "" if self.view == "run" else self.view}


def with_subset(cfg: RunConfig, subset_seed: int) -> RunConfig:
    """``cfg`` on the long-tailed subset drawn with ``subset_seed`` (0 leaves the config as it is)."""
    if int(subset_seed) == 0:
        return cfg
    return dataclasses.replace(cfg, extra=cfg.extra + ((SUBSET_KNOB, int(subset_seed)),))


REGISTRY: dict[str, Method] = {}


def register(*methods: Method) -> None:
    for m in methods:
        if m.name in REGISTRY:
            raise ValueError(f"method {m.name!r} is declared twice")
        REGISTRY[m.name] = m


def get(name: str) -> Method:
    """The method called ``name``, with a clear error naming the methods there are."""
    if name not in REGISTRY:
        raise ValueError(f"unknown method {name!r}; the book has {list(REGISTRY)}")
    return REGISTRY[name]


def on_backbone(backbone: str, stage2: str, tau: float = 1.0, extra: tuple = (), **backbone_knobs) -> Callable:
    """A stage-2 build on the stored run of the ``backbone`` method (with its knobs)."""
    def build(base, seed):
        cfg = get(backbone).config(base, seed, **backbone_knobs)
        return dataclasses.replace(cfg, stage2=stage2, tau=float(tau), extra=cfg.extra + tuple(extra))
    return build


def official(**knobs) -> tuple:
    """The knobs that differ from the book's defaults, as config entries (the defaults add nothing: keys stay)."""
    return tuple((k, v) for k, v in knobs.items() if v != BOOK_DEFAULTS[k])


# Every documented departure of the book from a paper's official code, as a knob: the book's setting
# (what the paper writes, or the book's choice where it is silent) and the official code's.
BOOK_DEFAULTS = {"focal2": 0.0, "cben": "paper", "las_targets": "eq4", "marr_norm": "batch", "tau_bias": True,
                 "crt_init": "kaiming", "groups": "nearest"}


def _num_classes(base: dict) -> int:
    return data.dataset_info(base["dataset"]).num_classes


# ------------------------------------------------------------------ baselines (Kang et al., Cao et al., ...)

def _stage1(**fields) -> Callable:
    return lambda base, seed: RunConfig(**base, seed=seed, **fields)


register(
    Method("CE", None, "baselines", "one stage", _stage1(), key="ce"),
    Method("CE + mixup", "zhang2018mixup", "baselines", "one stage", _stage1(mixup_alpha=1.0), key="ce_mixup"),
    Method("LDAM-DRW", "cao2019ldam", "baselines", "one stage", _stage1(loss="ldam", drw=True), key="ldam_drw"),
    Method("Balanced Softmax", "ren2020balms", "baselines", "one stage", _stage1(loss="balanced_softmax"),
           key="balanced_softmax"),
    Method("cRT", "kang2020decoupling", "baselines", "two stage",
           lambda base, seed, backbone, crt_init: on_backbone(backbone, "crt", extra=official(crt_init=crt_init))(
               base, seed), knobs=dict(backbone="CE", crt_init="kaiming"), key="crt"),
    Method("LWS", "kang2020decoupling", "baselines", "two stage",
           lambda base, seed: on_backbone("CE", "lws")(base, seed), key="lws"),
    Method("τ-norm", "kang2020decoupling", "baselines", "two stage",
           lambda base, seed, tau, tau_bias: on_backbone("CE", "tau_norm", tau=tau, extra=official(tau_bias=tau_bias))(
               base, seed), knobs=dict(tau=1.0, tau_bias=True), key="tau_norm"),
)

# ------------------------------------------------------------------ GCL (Li et al. 2022)


def _gcl_stage1(base, seed, cloud, noise_mul, s):
    return RunConfig(**base, seed=seed, loss="gcl", mixup_alpha=1.0,
                     extra=(("cloud", cloud), ("noise_mul", float(noise_mul)), ("s", float(s))))


def _gcl(base, seed, cloud, noise_mul, s, sampler, stage2, focal2, cben):
    extra = (("sampler2", sampler),) + official(focal2=float(focal2), cben=cben)
    return on_backbone("GCL (stage 1)", stage2, extra=extra, cloud=cloud, noise_mul=noise_mul, s=s)(base, seed)


GCL_STAGE1 = dict(cloud="log", noise_mul=0.5, s=30.0)
register(
    Method("GCL (stage 1)", "li2022gcl", "gcl", "one stage", _gcl_stage1, knobs=dict(GCL_STAGE1)),
    Method("GCL", "li2022gcl", "gcl", "two stage", _gcl,
           knobs=dict(GCL_STAGE1, sampler="cben", stage2="crt", focal2=0.0, cben="paper"),
           key="gcl", claim=("gcl", "GCL")),
)

# ------------------------------------------------------------------ MARR and DisAlign


def _decision_boundary(stage2: str) -> Callable:
    def build(base, seed, gamma, iterations, backbone_imb, backbone, marr_norm):
        extra = (("gamma", float(gamma)),) + official(marr_norm=marr_norm)
        if iterations:
            extra += (("iterations", int(iterations)),)
        if backbone_imb is not None and float(backbone_imb) != float(base["imb"]):
            extra += (("backbone_imb", float(backbone_imb)),)
        return on_backbone(backbone, stage2, extra=extra)(base, seed)
    return build


MARR_KNOBS = dict(gamma=margins.MARR_GAMMA, iterations=None, backbone_imb=None, backbone="CE", marr_norm="batch")
register(
    Method("MARR", "marr2022", "marr", "two stage", _decision_boundary("marr"), knobs=dict(MARR_KNOBS), key="marr",
           claim=("marr", "MARR")),
    Method("DisAlign", "zhang2021disalign", "marr", "two stage", _decision_boundary("disalign"),
           knobs=dict(MARR_KNOBS), key="disalign"),
)

# ------------------------------------------------------------------ the angular reformulation (Wang & Yan)


def _aem(base, seed, aem_s):
    """ATL's stage 1: AEM on the angular head at logit scale ``aem_s`` (no knob at 1, Eq. 6 as written)."""
    scale = float(aem_s)
    return RunConfig(**base, seed=seed, mixup_alpha=1.0, loss="aem", extra=() if scale == 1 else (("s", scale),))


def mislas_knobs(base: dict, method: str, f_form: str = "concave", shift_bn="auto") -> tuple:
    """MiSLAS's official stage-2 settings for this data set and factor; ALAS takes the chapter's form of f."""
    s = losses.mislas_settings(base["dataset"], base["imb"])
    if shift_bn != "auto":
        s["shift_bn"] = bool(shift_bn)
    s["las_form"] = f_form if method == "alas" else "concave"
    return tuple(s.items())


def _image_stage2(method: str, backbone: str) -> Callable:
    def build(base, seed, tau=1.0, f_form="concave", shift_bn="auto", las_targets="eq4", **backbone_knobs):
        extra = mislas_knobs(base, method, f_form, shift_bn) + official(las_targets=las_targets)
        return on_backbone(backbone, method, tau=tau if method == "alas" else 1.0, extra=extra,
                           **backbone_knobs)(base, seed)
    return build


ANGULAR_STAGE2 = dict(tau=0.75, f_form="concave", shift_bn="auto")
register(
    Method("MiSLAS", "zhong2021mislas", "angular", "two stage", _image_stage2("mislas", "CE + mixup"),
           knobs=dict(shift_bn="auto", las_targets="eq4"), key="mislas"),
    Method("L2A (stage 1)", "wang2022angular", "angular", "post hoc", _stage1(mixup_alpha=1.0), view="l2a",
           claim=("angular", "L2A_S1")),
    Method("L2A (stage 2)", "wang2022angular", "angular", "two stage", _image_stage2("mislas", "CE + mixup"),
           knobs=dict(shift_bn="auto"), view="l2a_s2", claim=("angular", "L2A_S2")),
    Method("ABS", "wang2022angular", "angular", "post hoc", _stage1(mixup_alpha=1.0), view="abs", key="abs",
           claim=("angular", "ABS")),
    Method("ATL (AEM)", "wang2022angular", "angular", "one stage", _aem, knobs=dict(aem_s=16.0), key="atl_aem",
           claim=("angular", "ATL_AEM")),
    Method("ATL (ALAS)", "wang2022angular", "angular", "two stage", _image_stage2("alas", "CE + mixup"),
           knobs=dict(ANGULAR_STAGE2), key="atl_alas", claim=("angular", "ATL_ALAS")),
    Method("ATL (all)", "wang2022angular", "angular", "two stage", _image_stage2("alas", "ATL (AEM)"),
           knobs=dict(ANGULAR_STAGE2, aem_s=16.0), key="atl", claim=("angular", "ATL_all")),
)


def _pruned(base, seed, prune, fraction, score_runs, score_epochs):
    """CE on the training set with ``fraction`` of its images pruned (angular Fig. 6)."""
    extra = (("prune", prune), ("prune_fraction", float(fraction)))
    if prune in ("el2n", "avh"):
        extra += (("score_runs", int(score_runs)), ("score_epochs", int(score_epochs)))
    return RunConfig(**base, seed=seed, extra=extra)


register(Method("CE, pruned", "wang2022angular", "angular", "one stage", _pruned,
                knobs=dict(prune="random", fraction=0.5, score_runs=10, score_epochs=10)))

# ------------------------------------------------------------------ LGLA (Tao et al. 2023) and BALMS experts


def _experts(base, seed, loss, aaw, experts, expert_type, randaugment, tau, groups="nearest"):
    """A multi-expert ResNet-32: Softmax (ce), BALMS (balanced_softmax) or CLA experts, AAW on or off."""
    knobs = [("aaw", bool(aaw)), ("experts", int(experts)), ("expert_type", expert_type),
             ("randaugment", bool(randaugment)), ("s", lgla.SCALE), *official(groups=groups)]
    if loss == "cla":
        knobs.append(("gla_tau", float(lgla.official_tau(_num_classes(base)) if tau is None else tau)))
    return RunConfig(**base, seed=seed, loss=loss, head="experts", extra=tuple(knobs))


EXPERTS = dict(experts=3, expert_type="gc", randaugment=True, tau=None)
register(
    Method("LGLA", "tao2023lgla", "lgla", "ensemble", _experts, knobs=dict(EXPERTS, loss="cla", aaw=True, groups="nearest"),
           key="lgla", claim=("lgla", "Ours (GC)")),
    Method("BALMS experts", "ren2020balms", "lgla", "ensemble",
           lambda base, seed, **k: _experts(base, seed, "balanced_softmax", False, **k), knobs=dict(EXPERTS)),
)

# ------------------------------------------------------------------ channel whitening and BET (Zhang 2021)


def cw_knobs(epsilon) -> tuple:
    return (("cw_eps", whitening.check_eps(epsilon)), ("whiten", True))


def bet_knobs(base: dict, alpha, b3rs_iterations, blocks="auto", r_min="auto", interval="auto") -> tuple:
    """B3RS / BET settings: Table 6's for this many classes where a knob is 'auto'."""
    t6 = samplers.B3RS_TABLE6.get(_num_classes(base), {})
    picked = {}
    for knob, value, name in (("blocks", blocks, "blocks"), ("r_min", r_min, "r0"), ("interval", interval, "interval")):
        if value == "auto":
            if name not in t6:
                raise ValueError(f"{knob} = 'auto' takes Table 6's value, which exists for 10 and 100 classes only; "
                                 f"this data set has {_num_classes(base)}: pass {knob} explicitly")
            value = t6[name]
        picked[knob] = value
    return (("bet_alpha", float(alpha)), ("bet_blocks", int(picked["blocks"])),
            ("bet_interval", int(picked["interval"])), ("bet_iterations", int(b3rs_iterations)),
            ("bet_r_min", float(picked["r_min"])))


def _whitening(cw: bool, bet: bool, ldam: bool) -> Callable:
    def build(base, seed, epsilon, alpha, b3rs_iterations, blocks, r_min, interval):
        extra = (bet_knobs(base, alpha, b3rs_iterations, blocks, r_min, interval) if bet else ()) + \
                (cw_knobs(epsilon) if cw else ())
        kw = dict(loss="ldam", drw=True) if ldam else {}
        return RunConfig(**base, seed=seed, sampler="bet" if bet else "instance", extra=extra, **kw)
    return build


WHITENING = dict(epsilon=whitening.DEFAULT_EPS, alpha=2.0, b3rs_iterations=samplers.BET_ITERATIONS, blocks="auto",
                 r_min="auto", interval="auto")
register(*[
    Method(name, "zhang2021whitening", "whitening", "one stage", _whitening(cw, bet, ldam), knobs=dict(WHITENING),
           key=key, claim=("whitening", printed))
    for name, cw, bet, ldam, key, printed in (
        ("CW", True, False, False, "cw", "Ours (w/CW)"),
        ("CW & LDAM-DRW", True, False, True, "cw_ldam", "Ours (w/CW & LDAM)"),
        ("BET", False, True, False, "bet", "Ours (w/BET)"),
        ("BET & CW", True, True, False, "bet_cw", "Ours (w/BET & CW)"),
        ("BET & LDAM-DRW", False, True, True, "bet_ldam", "Ours (w/BET & LDAM)"),
        ("BET & LDAM-DRW & CW", True, True, True, "bet_ldam_cw", "Ours (w/BET & LDAM & CW)"))])


def _balanced(base, seed, per_class):
    """CE on a balanced subset with ``per_class`` images of each class (the whitening chapter's reference)."""
    return RunConfig(**dict(base, imb=1), seed=seed, extra=(("per_class", int(per_class)),))


register(Method("CE, balanced", "zhang2021whitening", "whitening", "one stage", _balanced, knobs=dict(per_class=100)))

# ------------------------------------------------------------------ new combinations (the leaderboard's)

register(
    Method("GCL + MARR", None, "leaderboard", "two stage",
           lambda base, seed, gamma: on_backbone("GCL (stage 1)", "marr", extra=(("gamma", float(gamma)),),
                                                 **GCL_STAGE1)(base, seed),
           knobs=dict(gamma=margins.MARR_GAMMA), new=True),
    Method("CW + L2A", None, "leaderboard", "post hoc", lambda base, seed, epsilon: RunConfig(
        **base, seed=seed, extra=cw_knobs(epsilon)), knobs=dict(epsilon=whitening.DEFAULT_EPS), view="l2a", new=True),
)


def balanced_reference(base: dict, seeds) -> list[RunConfig]:
    """The balanced reference of ``base`` (dataset, imb, preset): CE on a balanced subset with as many images as
    the long-tailed set, spread evenly over the classes, same network and schedule; one config per seed. What a
    class scores there is how hard it is; what it loses at ``imb`` is what the imbalance costs it."""
    info = data.dataset_info(base["dataset"])
    n = sum(data.lt_counts(info.train_per_class, info.num_classes, base["imb"])) // info.num_classes
    return [get("CE, balanced").config(base, sd, per_class=n) for sd in seeds]
