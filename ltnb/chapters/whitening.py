"""The whitening chapter (Zhang 2021): channel whitening (CW) and the BET batch plan, alone and together."""
from __future__ import annotations

from types import SimpleNamespace

from ltnb import params as Pm
from ltnb.chapters import Plan, check_imb, common, factors
from ltnb.kernels import samplers, whitening as W
from ltnb.methods import bet_knobs, get

PARAMETERS = common() + [
    Pm.Param("whitening", True, Pm.boolean, "train the channel-whitening rows and figures; False: CE, LDAM and BET rows only"),
    Pm.Param("epsilon", 1e-3, Pm.number(low=0, low_open=True), "epsilon of Eq. 13, added to the batch covariance"),
    Pm.Param("blocks", "auto", Pm.or_("auto", Pm.number(low=1, integer=True)),
             "B3RS block number G; auto: Table 6, 1 for 10 classes and 10 for 100"),
    Pm.Param("r_min", "auto", Pm.or_("auto", Pm.number(low=0, high=1, low_open=True)),
             "basic sampling ratio r_0 of Eq. 14; auto: Table 6, 0.05 for 10 classes and 0.01 for 100"),
    Pm.Param("alpha", 2.0, Pm.number(low=0, low_open=True), "alpha of Eq. 14, tail images seen once every alpha epochs; Table 6: 2"),
    Pm.Param("interval", "auto", Pm.or_("auto", Pm.number(low=1, integer=True)),
             "BET interval T in iterations; auto: Table 6, 60 for 10 classes and 30 for 100"),
    Pm.Param("b3rs_iterations", 10, Pm.number(low=0, integer=True),
             "T2, B3RS iterations after every T-th random one; the paper gives none for CIFAR"),
    Pm.Param("imbs", "auto", Pm.or_("auto", Pm.list_of(Pm.number(low=1))),
             "imbalance factors of Tables 1 and 2; auto: imb alone, or 1000, 500, 200, 100, 50, 10 under paper"),
]
PAPER_FACTORS = (1000, 500, 200, 100, 50, 10)  # Table 1's imbalance factors on CIFAR-10-LT
METHODS = {  # row: (the paper's key, the registry's method)
    "CE": ("ce", "CE"), "LDAM-DRW": ("ldam", "LDAM-DRW"), "CW": ("cw", "CW"), "CW & LDAM": ("cw_ldam", "CW & LDAM-DRW"),
    "BET": ("bet", "BET"), "BET & CW": ("bet_cw", "BET & CW"), "BET & LDAM": ("bet_ldam", "BET & LDAM-DRW"),
    "BET & LDAM & CW": ("bet_ldam_cw", "BET & LDAM-DRW & CW"),
}


def resolve(ctx, values):
    P = SimpleNamespace(**values)
    P.eps = W.check_eps(P.epsilon)
    C = ctx.num_classes
    for knob in ("blocks", "r_min", "interval"):  # 'auto' takes Table 6's value, given for 10 and 100 classes
        Pm.check(knob, getattr(P, knob), getattr(P, knob) != "auto" or C in samplers.B3RS_TABLE6,
                 f"given explicitly on {C} classes: Table 6, which 'auto' reads, has 10 and 100")
    divisors = [g for g in range(1, C + 1) if C % g == 0]
    Pm.check("blocks", P.blocks, P.blocks == "auto" or P.blocks in divisors,
             f"'auto' or a divisor of the {C} classes ({', '.join(map(str, divisors))}): each block holds C / G")
    base = dict(dataset=ctx.dataset, imb=ctx.imb)
    bet = dict(bet_knobs(base, P.alpha, P.b3rs_iterations, P.blocks, P.r_min, P.interval))
    P.G, P.r0, P.T, P.T2 = bet["bet_blocks"], bet["bet_r_min"], bet["bet_interval"], bet["bet_iterations"]
    samplers.check_b3rs(C, P.G, P.r0, P.alpha, P.T, P.T2)  # the sampler's own check: passes after the ones above
    P.factors = (list(PAPER_FACTORS) if ctx.preset.name == "paper" else []) if P.imbs == "auto" else P.imbs
    P.factors = sorted(set(P.factors) | {ctx.imb}, reverse=True)
    for f in P.factors:
        check_imb(ctx.dataset, f, "imbs")
    P.methods = {k: v for k, v in METHODS.items() if P.whitening or "CW" not in k}
    P.n_per_class = int(ctx.counts.sum()) // ctx.num_classes
    return ctx, P


def plan(ctx, P) -> Plan:
    knobs = dict(epsilon=P.epsilon, alpha=P.alpha, b3rs_iterations=P.b3rs_iterations, blocks=P.blocks,
                 r_min=P.r_min, interval=P.interval)

    def table1(f):
        base = dict(dataset=ctx.dataset, imb=f, preset=ctx.preset.name)
        rows = {}
        for row, (_, name) in P.methods.items():
            m = get(name)
            rows[row] = [m.config(base, sd, **{k: v for k, v in knobs.items() if k in m.knobs}) for sd in ctx.seeds]
        return rows

    out = Plan()
    for f in P.factors:
        rows = table1(f)
        figures = {"CE", "CW", "LDAM-DRW", "CW & LDAM"} & set(rows) if f == ctx.imb else set()
        out.add(f"imb {f:g}", rows, tier=1 if f == ctx.imb else 3,
                derived={row: ("features", "spectra") for row in figures})
    base = dict(dataset=ctx.dataset, imb=ctx.imb, preset=ctx.preset.name)
    out.add("balanced", {"CE, balanced": [get("CE, balanced").config(base, sd, per_class=P.n_per_class)
                                          for sd in ctx.seeds]},
            derived={"CE, balanced": ("features", "spectra")})
    # Table 1 at the paper's factors and the chapter's (imbs), when recorded: the chapter trains its own (imbs)
    factors.add_group(out, sorted(set(PAPER_FACTORS) | set(P.factors), reverse=True), ctx.imb, table1)
    return out
