"""The GCL chapter (Li et al. 2022): Gaussian clouded logits, then a re-trained classifier."""
from __future__ import annotations

from types import SimpleNamespace

from ltnb import params as Pm
from ltnb.chapters import Plan, common, factors
from ltnb.kernels import gcl, samplers
from ltnb.methods import balanced_reference, get

STAGE2 = ("crt", "lws", "tau_norm")
PARAMETERS = common() + [
    Pm.Param("noise_mul", 0.5, Pm.number(low=0), "lambda, the noise multiplier of the official CIFAR code"),
    Pm.Param("s", 30.0, Pm.number(low=0, low_open=True), "scale of the cosine logits in stage 1"),
    Pm.Param("cloud", "log", Pm.choice(*gcl.CLOUD_STRATEGIES), "cloud-size strategy of the main runs: log, cos, pow3 or pow4"),
    Pm.Param("sampler", "cben", Pm.choice(*samplers.SAMPLERS), "stage-2 sampler of the main runs: cben, class_balanced, effective_number, instance"),
    Pm.Param("stage2", "crt", Pm.choice(*STAGE2), "stage-2 method of the main runs: crt, lws or tau_norm"),
    Pm.Param("strategies", ["cos", "pow3", "pow4", "log"], Pm.list_of(Pm.choice(*gcl.CLOUD_STRATEGIES), distinct=True),
             "Table 3 rows to train, each one stage-1 run"),
]
SAMPLER_NAMES = {"cben": "CBEN", "class_balanced": "CB", "effective_number": "EN", "instance": "IB",
                 "square_root": "square-root"}
STAGE2_NAMES = {"crt": "cRT", "lws": "LWS", "tau_norm": "τ-norm"}
STRATEGY_NAMES = {"cos": "cos.", "pow3": "pow. diff. (e:1/3)", "pow4": "pow. diff. (e:1/4)", "log": "log. diff."}
PAPER_FACTORS = (200, 100, 50)  # Table 1's imbalance factors on CIFAR-10-LT and CIFAR-100-LT
TABLE4 = (("IB", "instance"), ("CB", "class_balanced"), ("EN", "effective_number"), ("CBEN", "cben"))


def resolve(ctx, values):
    return ctx, SimpleNamespace(**values, main=f"GCL + {SAMPLER_NAMES[values['sampler']]} + "
                                               f"{STAGE2_NAMES[values['stage2']]}")


def plan(ctx, P) -> Plan:
    base = dict(dataset=ctx.dataset, imb=ctx.imb, preset=ctx.preset.name)
    knobs = dict(cloud=P.cloud, noise_mul=P.noise_mul, s=P.s)

    def seeds(name, **kw):
        return [get(name).config(base, sd, **kw) for sd in ctx.seeds]

    def gcl2(**kw):
        return seeds("GCL", **{**knobs, "sampler": P.sampler, "stage2": P.stage2, **kw})

    def table1(imb):
        at = dict(base, imb=imb)

        def sd(name, **kw):
            return [get(name).config(at, s, **kw) for s in ctx.seeds]

        return {"CE": sd("CE"), "CE + mixup": sd("CE + mixup"), "LDAM-DRW": sd("LDAM-DRW"),
                "CE + mixup + cRT": sd("cRT", backbone="CE + mixup"),
                "GCL (stage 1 only)": sd("GCL (stage 1)", **knobs),
                P.main: sd("GCL", **{**knobs, "sampler": P.sampler, "stage2": P.stage2})}

    out = Plan()
    # Figs. 1 and 3 draw the first seed's training features beside the test features
    out.add("Table 1", table1(ctx.imb), derived={"CE": ("features", "train_features"),
                                                 "GCL (stage 1 only)": ("features", "train_features")})
    out.add("balanced reference", {"CE, balanced": balanced_reference(base, ctx.seeds)},
            for_claims={"CE, balanced": ("features", "angular")})
    out.add("Table 3", {STRATEGY_NAMES[st]: gcl2(cloud=st, stage2="crt", sampler="cben") for st in P.strategies},
            tier=3)
    out.add("Table 4", {label: gcl2(stage2="crt", sampler=k) for label, k in TABLE4}, tier=3)
    out.add("Table 5", {"w/o RT": seeds("GCL (stage 1)", **knobs), "CBEN + LWS": gcl2(stage2="lws"),
                        "CBEN + τ-norm": gcl2(stage2="tau_norm"), "CBEN + cRT": gcl2(stage2="crt")}, tier=3)
    factors.add_group(out, PAPER_FACTORS, ctx.imb, table1)  # Table 1 at the paper's other factors, when recorded
    return out
