"""Chapter 0, the baselines: CE, CE + mixup, LDAM-DRW, Balanced Softmax and the decoupled classifiers on CE."""
from __future__ import annotations

from types import SimpleNamespace

from ltnb import params as Pm
from ltnb.chapters import Plan, common
from ltnb.methods import balanced_reference, get

PARAMETERS = common() + [Pm.Param("tau", 1.0, Pm.number(low=0), "tau of tau-norm in the main table")]
STAGE1 = ("CE", "CE + mixup", "LDAM-DRW", "Balanced Softmax")
STAGE2 = ("cRT", "LWS", "τ-norm")
TAUS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0)  # the tau-norm curve


def resolve(ctx, values):
    return ctx, SimpleNamespace(**values)


def plan(ctx, P) -> Plan:
    base = dict(dataset=ctx.dataset, imb=ctx.imb, preset=ctx.preset.name)

    def seeds(name, **knobs):
        return [get(name).config(base, sd, **knobs) for sd in ctx.seeds]

    out = Plan()
    out.add("stage 1", {name: seeds(name) for name in STAGE1})
    out.add("stage 2", {"cRT": seeds("cRT"), "LWS": seeds("LWS"), "τ-norm": seeds("τ-norm", tau=P.tau)})
    # what a class scores with balanced data of the same size: its difficulty, apart from its size
    out.add("balanced reference", {"CE, balanced": balanced_reference(base, ctx.seeds)},
            for_claims={"CE, balanced": ("features", "angular")})
    out.add("τ sweep", {t: seeds("τ-norm", tau=t) for t in TAUS}, tier=3)
    return out
