"""The leaderboard chapter: every method of the book as a run config (or a view of one), scored alike.

Each :class:`Entry` builds the very config its chapter trains with the chapter's default
parameters, so the leaderboard reuses the chapters' stored runs and trains only what is missing.
A few entries are *views*: post-hoc predictions read from a stored run (L2A and ABS of the
angular chapter), which cost no training. Entries marked ``new`` are combinations no paper tried.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Callable

import numpy as np
import torch

from ltnb import angular, evaluate, lgla, reference, samplers
from ltnb.presets import PRESETS
from ltnb.runs import Run, RunConfig

SUBSET_KNOB = "subset_seed"  # which long-tailed subset: the seed of the per-class shuffle (0: Cao et al.'s)

# chapter defaults (the parameters cell of each notebook; tests/test_leaderboard.py keeps them equal)
GCL = dict(cloud="log", noise_mul=0.5, s=30.0, sampler="cben")
MARR_GAMMA = 1.2
ANGULAR = dict(tau=0.75, f_form="concave", aem_s=16.0)
LGLA = dict(experts=3, expert_type="gc", randaugment=True)
WHITENING = dict(epsilon=1e-3, alpha=2.0, b3rs_iterations=10)
BASELINES = dict(tau=1.0)


@dataclass(frozen=True)
class Entry:
    """One row of the leaderboard: a method, the chapter it comes from, and how to get its predictions."""
    name: str
    chapter: str
    family: str
    build: Callable[[dict, int], RunConfig]  # (base config fields, seed) -> the run to load or train
    view: str = "run"  # run: the run's own predictions; l2a / l2a_s2 / abs: post hoc on its stored features
    key: str | None = None  # the reference key: what the papers report for this method
    claim: tuple | None = None  # (paper, printed method) of the paper that proposes it
    new: bool = False  # a combination none of the papers tried


def with_subset(cfg: RunConfig, subset_seed: int) -> RunConfig:
    """``cfg`` on the long-tailed subset drawn with ``subset_seed`` (0 leaves the config as it is)."""
    if int(subset_seed) == 0:
        return cfg
    return dataclasses.replace(cfg, extra=cfg.extra + ((SUBSET_KNOB, int(subset_seed)),))


def _mislas_stage2(dataset: str, imb: float, method: str) -> tuple:
    from ltnb.train import mislas_settings

    knobs = dict(mislas_settings(dataset, imb), las_form=ANGULAR["f_form"] if method == "alas" else "concave")
    return tuple(knobs.items())


def entries(dataset: str, imb: float, num_classes: int) -> list[Entry]:
    """Every method of the book at its chapter's defaults, for this data set and imbalance factor."""
    R = RunConfig
    gcl_knobs = (("cloud", GCL["cloud"]), ("noise_mul", GCL["noise_mul"]), ("s", GCL["s"]))
    aem = (("s", ANGULAR["aem_s"]),)
    cw = (("cw_eps", WHITENING["epsilon"]), ("whiten", True))
    t6 = samplers.b3rs_defaults(num_classes) if num_classes in samplers.B3RS_TABLE6 else None
    bet = None if t6 is None else (
        ("bet_alpha", WHITENING["alpha"]), ("bet_blocks", int(t6["blocks"])), ("bet_interval", int(t6["interval"])),
        ("bet_iterations", int(WHITENING["b3rs_iterations"])), ("bet_r_min", float(t6["r0"])))
    ldam = dict(loss="ldam", drw=True)

    def mislas(method, backbone="ce", tau=1.0, extra=()):
        return lambda b, sd: R(**b, seed=sd, mixup_alpha=1.0, loss=backbone, stage2=method, tau=tau,
                               extra=extra + _mislas_stage2(dataset, imb, method))

    def experts(loss, aaw):
        knobs = [("aaw", aaw), ("experts", LGLA["experts"]), ("expert_type", LGLA["expert_type"]),
                 ("randaugment", LGLA["randaugment"]), ("s", lgla.SCALE)]
        if loss == "cla":
            knobs.append(("gla_tau", lgla.official_tau(num_classes)))
        return lambda b, sd: R(**b, seed=sd, loss=loss, head="experts", extra=tuple(knobs))

    rows = [
        Entry("CE", "baselines", "one stage", lambda b, sd: R(**b, seed=sd), key="ce"),
        Entry("CE + mixup", "baselines", "one stage", lambda b, sd: R(**b, seed=sd, mixup_alpha=1.0), key="ce_mixup"),
        Entry("LDAM-DRW", "baselines", "one stage", lambda b, sd: R(**b, seed=sd, **ldam), key="ldam_drw"),
        Entry("Balanced Softmax", "baselines", "one stage", lambda b, sd: R(**b, seed=sd, loss="balanced_softmax"),
              key="balanced_softmax"),
        Entry("cRT", "baselines", "two stage", lambda b, sd: R(**b, seed=sd, stage2="crt"), key="crt"),
        Entry("LWS", "baselines", "two stage", lambda b, sd: R(**b, seed=sd, stage2="lws"), key="lws"),
        Entry("τ-norm", "baselines", "two stage",
              lambda b, sd: R(**b, seed=sd, stage2="tau_norm", tau=BASELINES["tau"]), key="tau_norm"),
        Entry("GCL", "gcl", "two stage", lambda b, sd: R(**b, seed=sd, loss="gcl", mixup_alpha=1.0, stage2="crt",
                                                          extra=gcl_knobs + (("sampler2", GCL["sampler"]),)),
              key="gcl", claim=("gcl", "GCL")),
        Entry("MARR", "marr", "two stage",
              lambda b, sd: R(**b, seed=sd, stage2="marr", extra=(("gamma", MARR_GAMMA),)), key="marr",
              claim=("marr", "MARR")),
        Entry("DisAlign", "marr", "two stage",
              lambda b, sd: R(**b, seed=sd, stage2="disalign", extra=(("gamma", MARR_GAMMA),)), key="disalign"),
        Entry("MiSLAS", "angular", "two stage", mislas("mislas"), key="mislas"),
        Entry("L2A (stage 1)", "angular", "post hoc", lambda b, sd: R(**b, seed=sd, mixup_alpha=1.0), view="l2a",
              claim=("angular", "L2A_S1")),
        Entry("L2A (stage 2)", "angular", "two stage", mislas("mislas"), view="l2a_s2", claim=("angular", "L2A_S2")),
        Entry("ABS", "angular", "post hoc", lambda b, sd: R(**b, seed=sd, mixup_alpha=1.0), view="abs",
              key="abs", claim=("angular", "ABS")),
        Entry("ATL (AEM)", "angular", "one stage",
              lambda b, sd: R(**b, seed=sd, mixup_alpha=1.0, loss="aem", extra=aem), key="atl_aem",
              claim=("angular", "ATL_AEM")),
        Entry("ATL (ALAS)", "angular", "two stage", mislas("alas", tau=ANGULAR["tau"]), key="atl_alas",
              claim=("angular", "ATL_ALAS")),
        Entry("ATL (all)", "angular", "two stage", mislas("alas", "aem", ANGULAR["tau"], aem), key="atl",
              claim=("angular", "ATL_all")),
        Entry("BALMS (3 experts)", "lgla", "ensemble", experts("balanced_softmax", False)),
        Entry("LGLA (3 experts)", "lgla", "ensemble", experts("cla", True), key="lgla", claim=("lgla", "Ours (GC)")),
        Entry("GCL + MARR", "leaderboard", "two stage",
              lambda b, sd: R(**b, seed=sd, loss="gcl", mixup_alpha=1.0, stage2="marr",
                              extra=gcl_knobs + (("gamma", MARR_GAMMA),)), new=True),
    ]
    if bet is not None:
        rows += [
            Entry("CW", "whitening", "one stage", lambda b, sd: R(**b, seed=sd, extra=cw), key="cw",
                  claim=("whitening", "Ours (w/CW)")),
            Entry("CW & LDAM-DRW", "whitening", "one stage", lambda b, sd: R(**b, seed=sd, **ldam, extra=cw),
                  key="cw_ldam", claim=("whitening", "Ours (w/CW & LDAM)")),
            Entry("BET", "whitening", "one stage", lambda b, sd: R(**b, seed=sd, sampler="bet", extra=bet),
                  key="bet", claim=("whitening", "Ours (w/BET)")),
            Entry("BET & CW", "whitening", "one stage", lambda b, sd: R(**b, seed=sd, sampler="bet", extra=bet + cw),
                  key="bet_cw", claim=("whitening", "Ours (w/BET & CW)")),
            Entry("BET & LDAM-DRW", "whitening", "one stage",
                  lambda b, sd: R(**b, seed=sd, **ldam, sampler="bet", extra=bet), key="bet_ldam",
                  claim=("whitening", "Ours (w/BET & LDAM)")),
            Entry("BET & LDAM-DRW & CW", "whitening", "one stage",
                  lambda b, sd: R(**b, seed=sd, **ldam, sampler="bet", extra=bet + cw), key="bet_ldam_cw",
                  claim=("whitening", "Ours (w/BET & LDAM & CW)")),
            Entry("CW + L2A", "leaderboard", "post hoc", lambda b, sd: R(**b, seed=sd, extra=cw), view="l2a", new=True),
        ]
    return rows


def select(all_entries: list[Entry], names) -> list[Entry]:
    """The entries named (all for ``"all"``), with a clear error for a name that is not a method of the book."""
    if names == "all":
        return list(all_entries)
    known = {e.name: e for e in all_entries}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown method(s) {unknown}; the leaderboard has {list(known)}")
    return [known[n] for n in names]


# ------------------------------------------------------------------ scoring

def _angular_of(run: Run, split: str):
    f, a = run.features(), run.arrays
    z, y = torch.from_numpy(f[split]), torch.from_numpy(f[f"{split}_labels"]).long()
    return angular.angular_logits(z, torch.from_numpy(a["weight"])), y


def abs_strength(num_classes: int) -> tuple[float, str]:
    """The angular chapter's ABS default: s = 0.25 with the sine F on 10 classes, 0.1 linear on 100."""
    return (0.25, "sine") if num_classes != 100 else (0.1, "linear")


def score(entry: Entry, run: Run) -> dict:
    """Last-epoch test metrics of ``entry`` from its run: the run's own, or a post-hoc view of its features."""
    counts = run.metrics["counts"]
    if entry.view == "run":
        return run.metrics
    if entry.view == "l2a_s2":
        return {**run.metrics["angular"], "counts": counts}
    if entry.view == "l2a":
        logits, y = _angular_of(run, "test")
        return evaluate.metrics(logits, y, counts)[0]
    if entry.view == "abs":
        tr, y_tr = _angular_of(run, "train")
        te, y_te = _angular_of(run, "test")
        C = tr.shape[1]
        s, form = abs_strength(C)
        bias = angular.abs_bias(angular.class_mean_probabilities(tr.softmax(1), y_tr, C))
        after = angular.abs_calibrate(te.softmax(1), angular.abs_gamma(bias, s, form))
        return evaluate.metrics(after.log(), y_te, counts)[0]
    raise ValueError(f"unknown view {entry.view!r}")


def lineage(run: Run, load) -> list[Run]:
    """The run and the stage-1 run it starts from (``load(cfg)`` reads a stored run)."""
    chain = [run]
    if run.config.stage2:
        parent = load(run.config.parent)
        if parent is not None:
            chain.append(parent)
    return chain


def cost_seconds(run: Run, load) -> float:
    """Training seconds of the method: its own run plus the stage-1 run under it (NaN if unrecorded)."""
    return float(sum(r.metrics.get("train_seconds", math.nan) for r in lineage(run, load)))


def parameters(cfg: RunConfig) -> int:
    """Trainable parameters of the network that predicts (the stage-1 network; stage 2 keeps its size)."""
    from ltnb import models
    from ltnb.data import dataset_info
    from ltnb.train import build_model

    stage1 = cfg.parent or cfg
    shape = SimpleNamespace(info=dataset_info(stage1.dataset))  # all build_model reads of the data
    return models.count_parameters(build_model(stage1, shape, PRESETS[stage1.preset]))


def summarise(values) -> tuple[float, float]:
    """Mean and sample standard deviation (NaN for a single value) of the finite values, in %."""
    v = np.array([x for x in values if x == x], dtype=float) * 100
    if len(v) == 0:
        return math.nan, math.nan
    return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else math.nan


# ------------------------------------------------------------------ what the papers claim

def claimed(entry: Entry, dataset: str = "cifar10", imb: int = 100) -> float:
    """What the papers report for the method on CIFAR-LT at ``imb``: the proposing paper's own number (its
    main-table row), else the median over papers of their quotes; NaN when none prints it."""
    if entry.claim is not None:
        paper, printed = entry.claim
        rows = reference.reported(paper=paper, dataset=dataset, imb=imb, method=printed, split="overall")
        if entry.key is not None and (rows["key"] == entry.key).any():
            rows = rows[rows["key"] == entry.key]  # the method's own row, not a sweep's
        if len(rows):
            return float(rows["value"].iloc[0])
    per_paper = {}
    for paper, value in quotes(entry, dataset, imb):
        per_paper.setdefault(paper, value)  # a paper quoting one number in two tables counts once
    return float(np.median(list(per_paper.values()))) if per_paper else math.nan


def quotes(entry: Entry, dataset: str = "cifar10", imb: int = 100) -> list[tuple[str, float]]:
    """Every (paper, value) the papers print for the method's key: the spread of quoted baselines."""
    if entry.key is None:
        return []
    try:
        rows = reference.literature(entry.key, dataset, imb)
    except ValueError:
        return []
    return sorted({(r.paper, float(r.value)) for r in rows.itertuples()})  # a number quoted in two tables once
