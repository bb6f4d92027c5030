"""Chapter 0, the baselines: CE, CE + mixup, LDAM-DRW, Balanced Softmax and the decoupled classifiers on CE."""
from __future__ import annotations

from types import SimpleNamespace

from ltnb import params as Pm
from ltnb.chapters import Plan, common, factors
from ltnb.methods import balanced_reference, get

PARAMETERS = common() + [Pm.Param("tau", 1.0, Pm.number(low=0), "tau of tau-norm in the main table")]
STAGE1 = ("CE", "CE + mixup", "LDAM-DRW", "Balanced Softmax")
STAGE2 = ("cRT", "LWS", "τ-norm")
PAPER_FACTORS = (200, 100, 50, 10)  # the factors the papers' CIFAR main tables print, all of them
TAUS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0)  # the tau-norm curve


def resolve(ctx, values):
    return ctx, SimpleNamespace(**values)


def plan(ctx, P) -> Plan:
    base = dict(dataset=ctx.dataset, imb=ctx.imb, preset=ctx.preset.name)

    def seeds(name, imb=ctx.imb, **knobs):
        return [get(name).config(dict(base, imb=imb), sd, **knobs) for sd in ctx.seeds]

    def stage1(imb):
        return {name: seeds(name, imb) for name in STAGE1}

    def stage2(imb):
        return {"cRT": seeds("cRT", imb), "LWS": seeds("LWS", imb), "τ-norm": seeds("τ-norm", imb, tau=P.tau)}

    out = Plan()
    out.add("stage 1", stage1(ctx.imb))
    out.add("stage 2", stage2(ctx.imb))
    # what a class scores with balanced data of the same size: its difficulty, apart from its size
    out.add("balanced reference", {"CE, balanced": balanced_reference(base, ctx.seeds)},
            for_claims={"CE, balanced": ("features", "angular")})
    out.add("τ sweep", {t: seeds("τ-norm", tau=t) for t in TAUS}, tier=3)
    # the accuracy table at the papers' other factors, when recorded
    factors.add_group(out, PAPER_FACTORS, ctx.imb, lambda f: {**stage1(f), **stage2(f)})
    return out
