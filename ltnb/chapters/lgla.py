"""The LGLA chapter (Tao et al. 2023): local and global logit adjustment on a multi-expert ResNet-32."""
from __future__ import annotations

from types import SimpleNamespace

from ltnb import params as Pm
from ltnb.chapters import Plan, common, factors
from ltnb.kernels import lgla
from ltnb.methods import balanced_reference, get

PARAMETERS = common() + [
    Pm.Param("experts", 3, Pm.number(low=2, integer=True), "K, the number of experts: K - 1 local ones and one global"),
    Pm.Param("tau", None, Pm.or_(None, Pm.number(low=0)),
             "tau of the global expert; None: the official configs, 3.0 on 10 classes and 2.5 on 100"),
    Pm.Param("expert_type", "gc", Pm.choice("gc", "ic"), "gc: one K-group convolution, ic: K independent convolutions"),
    Pm.Param("randaugment", True, Pm.boolean, "RandAugment on the training batches of the multi-expert runs"),
    Pm.Param("fusion", None, Pm.or_(None, Pm.list_of(Pm.number(low=0))),
             "ensemble weights, one per expert such as [1, 1, 2]; None: the mean of the experts"),
    Pm.Param("sweep", "auto", Pm.choice("auto", "full", "reduced"),
             "auto: full sweeps under the paper preset, reduced ones otherwise; or full, reduced"),
]
PAPER_FACTORS = (100, 50)  # Table 1's imbalance factors on CIFAR-10-LT and CIFAR-100-LT
ABLATION = {"Softmax": ("ce", False), "BALMS": ("balanced_softmax", False), "CLA": ("cla", False),
            "BALMS + AAW": ("balanced_softmax", True), "CLA + AAW": ("cla", True)}  # Table 5: (loss, AAW)
T4 = {"Softmax": ("ce", False), "BALMS": ("balanced_softmax", False), "Ours (GC)": ("cla", True)}
SINGLE = {"CE (one ResNet-32)": "CE", "LDAM-DRW (one ResNet-32)": "LDAM-DRW",
          "Balanced Softmax (one ResNet-32)": "Balanced Softmax"}


def resolve(ctx, values):
    P = SimpleNamespace(**values)
    C = ctx.num_classes
    P.TAU = float(lgla.official_tau(C) if P.tau is None else P.tau)
    Pm.check("experts", P.experts, P.experts - 1 <= C, f"at most {C + 1}: K - 1 class groups of the {C} classes")
    Pm.check("fusion", P.fusion, P.fusion is None or (len(P.fusion) == P.experts and sum(P.fusion) > 0),
             f"None or {P.experts} non-negative numbers, one per expert (experts={P.experts}), not all zero")
    lgla.check(P.experts, P.expert_type, P.TAU, P.fusion)  # the kernel's own check: passes after the ones above
    P.FULL = P.sweep == "full" or (P.sweep == "auto" and ctx.preset.name == "paper")
    P.OTHER = {"gc": "ic", "ic": "gc"}[P.expert_type]
    P.MAIN = f"LGLA ({P.expert_type.upper()})"
    P.Ks = sorted({2, 3, 4, 5, 6, 7, P.experts}) if P.FULL else sorted({2, P.experts})
    P.K8 = P.experts if P.FULL else 2
    return ctx, P


def plan(ctx, P) -> Plan:
    base = dict(dataset=ctx.dataset, imb=ctx.imb, preset=ctx.preset.name)
    main = dict(experts=P.experts, expert_type=P.expert_type, randaugment=P.randaugment, tau=P.tau)

    def multi(**kw):
        return [get("LGLA").config(base, sd, **{**main, **kw}) for sd in ctx.seeds]

    def seeds(name):
        return [get(name).config(base, sd) for sd in ctx.seeds]

    def table1(imb):
        at = dict(base, imb=imb)
        lg = get("LGLA")
        return {P.MAIN: [lg.config(at, sd, **main) for sd in ctx.seeds],
                "BALMS": [lg.config(at, sd, **{**main, "loss": "balanced_softmax", "aaw": False}) for sd in ctx.seeds],
                **{row: [get(name).config(at, sd) for sd in ctx.seeds] for row, name in SINGLE.items()}}

    out = Plan()
    out.add("main", table1(ctx.imb), derived={P.MAIN: ("experts",)}, for_claims={"BALMS": ("experts",)})
    out.add("balanced reference", {"CE, balanced": balanced_reference(base, ctx.seeds)},
            for_claims={"CE, balanced": ("features", "angular")})
    # under a reduced sweep these are shown when recorded, and `make record` records them (hours on a CPU)
    out.add("Table 5", {name: multi(loss=loss, aaw=aaw) for name, (loss, aaw) in ABLATION.items()},
            tier=3, optional=not P.FULL, record=not P.FULL)
    out.add("other expert type", {P.OTHER: multi(expert_type=P.OTHER)}, tier=3, optional=not P.FULL,
            record=not P.FULL)
    t4 = {(name, ra): multi(loss=loss, aaw=aaw, randaugment=ra) for name, (loss, aaw) in T4.items()
          for ra in (False, True)}
    needed = {k for k in t4 if P.FULL or (k[1] == P.randaugment and T4[k[0]][0] in ("cla", "balanced_softmax"))}
    out.add("Table 4", {k: v for k, v in t4.items() if k in needed}, tier=3)
    out.add("Table 4, stored only", {k: v for k, v in t4.items() if k not in needed}, tier=3, optional=True,
            record=True)  # the other RandAugment column (w/o, or with): recorded, never trained by the chapter
    if P.FULL and P.experts != 4:
        out.add("Figure 6", {4: multi(experts=4)}, tier=3, derived={4: ("experts",)})
    out.add("Figure 7", {k: multi(experts=k) for k in P.Ks}, tier=3)
    rest = [k for k in range(2, min(7, ctx.num_classes + 1) + 1) if k not in P.Ks]
    if rest:  # the reduced sweep's other K (the paper's 2 to 7): shown when recorded
        out.add("Figure 7, the rest", {k: multi(experts=k) for k in rest}, tier=3, optional=True, record=True)
    fig8 = {("LGLA", kind): multi(experts=P.K8, expert_type=kind) for kind in ("ic", "gc")}
    if P.FULL:
        fig8.update({("BALMS", kind): multi(loss="balanced_softmax", aaw=False, experts=P.K8, expert_type=kind)
                     for kind in ("ic", "gc")})
    out.add("Figure 8", fig8, tier=3)
    factors.add_group(out, PAPER_FACTORS, ctx.imb, table1)  # Table 1 at the paper's other factors, when recorded
    return out
