"""The MARR chapter: margin rectification (and DisAlign) fitted on the stored CE backbone."""
from __future__ import annotations

from types import SimpleNamespace

from ltnb import params as Pm
from ltnb.chapters import Plan, common, factors
from ltnb.kernels import margins
from ltnb.methods import balanced_reference, get

PARAMETERS = common() + [
    Pm.Param("gamma", 1.2, Pm.number(low=0), "gamma of the re-weighting U_y, the paper's value on every data set"),
    Pm.Param("iterations", None, Pm.or_(None, Pm.number(low=1, integer=True)),
             "stage-2 SGD steps of MARR and DisAlign; None: the preset's stage-2 epochs at batch 512"),
    Pm.Param("gammas", [0.0, 0.4, 0.8, 1.2, 1.6, 2.0], Pm.list_of(Pm.number(low=0)),
             "Figure 4 sweep, each one cheap stage-2 run"),
    Pm.Param("other_losses", True, Pm.boolean,
             "train the LDAM-DRW and Balanced Softmax rows of Table 2 if not stored; False: show them only when stored"),
]
PAPER_FACTORS = (200, 100)  # Table 2's imbalance factors on CIFAR-10-LT and CIFAR-100-LT
BACKBONE_FACTORS = (200, 100, 50)  # Table 7's backbones (the paper preset trains them; see resolve)
BACKBONES = "Table 7, paper's backbones"  # the plan group of those the preset does not train
PAPER_NAME = {"Softmax (CE)": "Softmax", "LDAM-DRW": "LDAM", "Balanced Softmax": "Balanced Softmax",
              "DisAlign": "DisAlign", "Decouple-cRT": "Decouple-cRT", "Decouple-LWS": "Decouple-LWS", "MARR": "MARR"}


def resolve(ctx, values):
    P = SimpleNamespace(**values)
    n_fit = int(ctx.counts.sum()) if ctx.preset.test_limit is None else min(int(ctx.counts.sum()), ctx.preset.test_limit)
    P.steps = P.iterations or ctx.preset.stage2_epochs * -(-n_fit // margins.MARR_BATCH_SIZE)
    P.sweep = sorted({float(g) for g in P.gammas} | {P.gamma})
    if ctx.preset.name == "paper":  # Table 7: the paper's factors; one extra backbone elsewhere
        P.factors = sorted({ctx.imb, *map(float, BACKBONE_FACTORS)}, reverse=True)
    else:
        P.factors = sorted({ctx.imb, 50.0 if ctx.imb > 50 else max(1.0, ctx.imb / 2)}, reverse=True)
    return ctx, P


def plan(ctx, P) -> Plan:
    base = dict(dataset=ctx.dataset, imb=ctx.imb, preset=ctx.preset.name)

    def seeds(name, **kw):
        return [get(name).config(base, sd, **kw) for sd in ctx.seeds]

    fit = dict(gamma=P.gamma, iterations=P.iterations)

    def table2(imb, other_losses=False):
        at = dict(base, imb=imb)

        def sd(name, **kw):
            return [get(name).config(at, s, **kw) for s in ctx.seeds]

        if other_losses:
            return {"LDAM-DRW": sd("LDAM-DRW"), "Balanced Softmax": sd("Balanced Softmax")}
        return {"Softmax (CE)": sd("CE"), "DisAlign": sd("DisAlign", **fit), "Decouple-cRT": sd("cRT"),
                "Decouple-LWS": sd("LWS"), "τ-norm (τ = 1)": sd("τ-norm", tau=1.0), "MARR": sd("MARR", **fit)}

    out = Plan()
    out.add("Table 2", table2(ctx.imb))
    out.add("Table 2, other losses", table2(ctx.imb, other_losses=True), optional=not P.other_losses)
    out.add("balanced reference", {"CE, balanced": balanced_reference(base, ctx.seeds)},
            for_claims={"CE, balanced": ("features", "angular")})
    # the sweep and its CE line, one preset (under a preset recorded for the main tables only, both at cpu)
    out.add("Figure 4", {**{g: seeds("MARR", gamma=g, iterations=P.iterations) for g in P.sweep}, "CE": seeds("CE")},
            tier=3)
    out.add("Table 7", {f: seeds("MARR", **fit, backbone_imb=f) for f in P.factors}, tier=3)
    # the paper's backbones the preset does not train (200 off the paper preset), shown when recorded
    factors.add_group(out, [f for f in BACKBONE_FACTORS if f not in P.factors], ctx.imb,
                      lambda f: {"MARR": seeds("MARR", **fit, backbone_imb=f)}, name=BACKBONES, tier=3, own=False)
    # Table 2 at the paper's other factors, when recorded (the other losses too when the chapter shows them)
    factors.add_group(out, PAPER_FACTORS, ctx.imb,
                      lambda f: {**table2(f), **(table2(f, other_losses=True) if P.other_losses else {})})
    return out
