"""The angular chapter (Wang & Yan): L2A, ABS and ATL on the MiSLAS backbone, and long-tailed data pruning."""
from __future__ import annotations

from types import SimpleNamespace

from ltnb import params as Pm
from ltnb.chapters import Plan, common, factors
from ltnb.kernels import angular
from ltnb.methods import balanced_reference, get

FORMS = ("sine", "concave", "linear")
PARAMETERS = common() + [
    Pm.Param("s", "auto", Pm.or_("auto", Pm.number(low=0, high=1)),
             "ABS strength s in 0..1 of Eq. 7; auto: 0.25 on 10 classes, 0.1 on CIFAR-100 as the paper"),
    Pm.Param("F_form", "auto", Pm.or_("auto", Pm.choice(*FORMS)),
             "form of F in Eqs. 8-9: sine or linear; auto: sine on 10 classes, linear on CIFAR-100"),
    Pm.Param("aem_s", 16, Pm.number(low=0, low_open=True),
             "AEM trains on softmax of aem_s times the angular logits; 1 is Eq. 6 as written, which underfits"),
    Pm.Param("tau", 0.75, Pm.number(low=0), "ALAS tau of Eq. 5, the setting of the paper's Table 2 row"),
    Pm.Param("f_form", "concave", Pm.choice(*FORMS), "form of f in Eq. 5: concave or linear"),
    Pm.Param("shift_bn", "auto", Pm.or_("auto", Pm.boolean),
             "MiSLAS BN shift in stage 2: True, False or auto, which is off on CIFAR-10 only as the official configs"),
    Pm.Param("s_sweep", [0, 0.04, 0.08, 0.12, 0.16, 0.20, 0.24, 0.28, 0.32], Pm.list_of(Pm.number(low=0, high=1)),
             "Table 5, post hoc and free"),
    Pm.Param("tau_sweep", [0.25, 0.5, 0.75, 1.0, 1.25], Pm.list_of(Pm.number(low=0)),
             "Table 6, each a stage-2 run of seconds"),
    Pm.Param("prune_fractions", "auto", Pm.or_("auto", Pm.list_of(Pm.number(low=0, high=1, low_open=True))),
             "Figure 6 fractions pruned; auto: paper 0.15 to 0.75, cpu 0.4 and 0.7, smoke 0.5"),
    Pm.Param("score_runs", "auto", Pm.or_("auto", Pm.number(low=1, integer=True)),
             "short scoring runs of different seeds for EL2N and AVH; auto: 10 paper, 3 cpu, 2 smoke"),
    Pm.Param("score_epochs", "auto", Pm.or_("auto", Pm.number(low=1, integer=True)),
             "epochs of each scoring run on the preset schedule; auto: 10 paper, 1 otherwise"),
]
PAPER_FACTORS = (100, 50, 10)  # Table 1's imbalance factors on CIFAR-10-LT and CIFAR-100-LT
AUTO_PRUNE = {"paper": ([0.15, 0.3, 0.45, 0.6, 0.75], 10, 10), "cpu": ([0.4, 0.7], 3, 1), "smoke": ([0.5], 2, 1)}
PRUNING = {"random": "random", "classwise": "class-wise random", "el2n": "EL2N", "avh": "AVH"}
assert set(PRUNING) == set(angular.PRUNING)


PAPER_PRUNE_GROUP, PAPER_PRUNE_SEEDS = "Figure 6, the paper's fractions", (0, 1, 2)


def paper_pruning_rows(base: dict, score_runs: int, score_epochs: int) -> dict:
    """Figure 6 at the paper's five fractions over 3 seeds, on a preset below ``paper`` (its scoring runs): the
    group the chapter shows, and its claims read, once every run of it is recorded."""
    rows = {("CE", 0.0): [get("CE").config(base, sd) for sd in PAPER_PRUNE_SEEDS]}
    rows.update({(m, f): [get("CE, pruned").config(base, sd, prune=m, fraction=f, score_runs=score_runs,
                                                   score_epochs=score_epochs) for sd in PAPER_PRUNE_SEEDS]
                 for m in PRUNING for f in AUTO_PRUNE["paper"][0]})
    return rows


def resolve(ctx, values):
    P = SimpleNamespace(**values)
    ten = ctx.dataset != "cifar100"
    P.s = (0.25 if ten else 0.1) if P.s == "auto" else P.s
    P.F_form = ("sine" if ten else "linear") if P.F_form == "auto" else P.F_form
    # the budget presets (cpu20, long, cpu80: the cpu preset's network at more epochs) take the cpu preset's settings
    fractions, runs, epochs = AUTO_PRUNE.get(ctx.preset.name, AUTO_PRUNE["cpu"])
    P.prune_fractions = sorted(fractions if P.prune_fractions == "auto" else P.prune_fractions)
    P.score_runs = runs if P.score_runs == "auto" else P.score_runs
    P.score_epochs = epochs if P.score_epochs == "auto" else P.score_epochs
    Pm.check("prune_fractions", P.prune_fractions, all(f < 1 for f in P.prune_fractions),
             "'auto' or a list of fractions above 0 and below 1")
    Pm.check("score_epochs", P.score_epochs, P.score_epochs <= ctx.preset.epochs,
             f"at most the preset's {ctx.preset.epochs} epochs")
    P.stage2 = dict(shift_bn=P.shift_bn)
    return ctx, P


def plan(ctx, P) -> Plan:
    base = dict(dataset=ctx.dataset, imb=ctx.imb, preset=ctx.preset.name)

    def seeds(name, **kw):
        return [get(name).config(base, sd, **kw) for sd in ctx.seeds]

    out = Plan()
    stage1 = {"CE": seeds("CE"), "CE + mixup": seeds("CE + mixup"), "ATL (AEM)": seeds("ATL (AEM)", aem_s=P.aem_s)}
    if P.aem_s != 1:
        stage1["AEM, s = 1"] = seeds("ATL (AEM)", aem_s=1.0)
    out.add("stage 1", stage1, derived={"CE + mixup": ("angular", "avh")})
    alas = dict(tau=P.tau, f_form=P.f_form, shift_bn=P.shift_bn)
    out.add("stage 2", {"MiSLAS": seeds("MiSLAS", shift_bn=P.shift_bn), "ATL (ALAS)": seeds("ATL (ALAS)", **alas),
                        "ATL (all)": seeds("ATL (all)", **alas, aem_s=P.aem_s)}, derived={"MiSLAS": ("angular",)})
    out.add("balanced reference", {"CE, balanced": balanced_reference(base, ctx.seeds)},
            for_claims={"CE, balanced": ("features", "angular")})
    out.add("Table 6", {(form, t): seeds("ATL (ALAS)", tau=t, f_form=form, shift_bn=P.shift_bn)
                        for t in P.tau_sweep for form in ("linear", "concave")}, tier=3)
    # fraction 0 is the CE run, in the group: the figure reads one preset (cpu under MAIN_ONLY, its stage 1's at cpu)
    out.add("Figure 6", {("CE", 0.0): seeds("CE"),
                         **{(m, f): seeds("CE, pruned", prune=m, fraction=f, score_runs=P.score_runs,
                                          score_epochs=P.score_epochs)
                            for m in PRUNING for f in P.prune_fractions}}, tier=3)
    if ctx.preset.name != "paper":  # the paper's fractions over 3 seeds (its spread), on this preset: shown when recorded
        out.add(PAPER_PRUNE_GROUP, paper_pruning_rows(base, P.score_runs, P.score_epochs), tier=3, optional=True,
                record=True)

    def table1(imb):  # Table 1 reads MiSLAS's two stages, and L2A of each: the stage-1 run's angular arrays
        at = dict(base, imb=imb)
        return {"CE + mixup": [get("CE + mixup").config(at, sd) for sd in ctx.seeds],
                "MiSLAS": [get("MiSLAS").config(at, sd, shift_bn=P.shift_bn) for sd in ctx.seeds]}

    factors.add_group(out, PAPER_FACTORS, ctx.imb, table1, derived_at=lambda f: {"CE + mixup": ("angular",)})
    return out
