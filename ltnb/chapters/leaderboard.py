"""The leaderboard: every method of the book at its chapter's defaults, on the same runs, scored alike."""
from __future__ import annotations

import dataclasses
import difflib
from pathlib import Path
from types import SimpleNamespace

from ltnb import params as Pm
from ltnb.chapters import DATASET, DEVICE, PRESET, SEED, Plan, check_imb
from ltnb.kernels import lgla, samplers
from ltnb.methods import Method, get
from ltnb.presets import BUDGETS

PARAMETERS = [
    DATASET,
    Pm.Param("imb", "auto", Pm.or_("auto", Pm.number(low=1)),
             "one imbalance factor, as in every chapter: imbs of that one factor; auto: imbs decides"),
    Pm.Param("imbs", "auto", Pm.or_("auto", Pm.list_of(Pm.number(low=1), distinct=True)),
             "imbalance factors, the first the main table's; auto: 100 under cpu and smoke, 100, 50 and 10 under paper"),
    PRESET,
    Pm.Param("seed", "auto", Pm.or_("auto", Pm.one_or_list(SEED)),
             "one seed or a list of seeds, as in every chapter: the same as seeds; auto: seeds decides"),
    Pm.Param("seeds", "auto", Pm.or_("auto", Pm.list_of(SEED, distinct=True)),
             "training seeds, at least two for a spread; auto: 0 and 1 (0, 1, 2 under paper), trained where missing, "
             "and every further seed recorded or stored for a method (the seed groups), read only"),
    DEVICE,
    Pm.Param("methods", "all", Pm.or_("all", Pm.list_of(Pm.text, distinct=True)),
             'all, or a list of method names such as ["CE", "GCL"]'),
    Pm.Param("subset_seeds", "auto", Pm.or_("auto", Pm.list_of(Pm.number(low=1, integer=True), min_length=0,
                                                                distinct=True)),
             "other long-tailed subsets for the spread figure; auto: 1 and 2, or 1 under smoke"),
    Pm.Param("subset_methods", ["CE", "LDAM-DRW", "Balanced Softmax"], Pm.list_of(Pm.text, min_length=0),
             "methods trained on the other subsets too"),
    Pm.Param("table_csv", "", Pm.text,
             "a path: also write the table's numbers there (one CSV, a row per method and imbalance factor)"),
]
# (row as shown, the registry's method): the order of the table before sorting
ROWS = [("CE", "CE"), ("CE + mixup", "CE + mixup"), ("LDAM-DRW", "LDAM-DRW"), ("Balanced Softmax", "Balanced Softmax"),
        ("cRT", "cRT"), ("LWS", "LWS"), ("τ-norm", "τ-norm"), ("GCL", "GCL"), ("MARR", "MARR"),
        ("DisAlign", "DisAlign"), ("MiSLAS", "MiSLAS"), ("L2A (stage 1)", "L2A (stage 1)"),
        ("L2A (stage 2)", "L2A (stage 2)"), ("ABS", "ABS"), ("ATL (AEM)", "ATL (AEM)"), ("ATL (ALAS)", "ATL (ALAS)"),
        ("ATL (all)", "ATL (all)"), ("BALMS (3 experts)", "BALMS experts"), ("LGLA (3 experts)", "LGLA"),
        ("GCL + MARR", "GCL + MARR")]
WHITENING_ROWS = [("CW", "CW"), ("CW & LDAM-DRW", "CW & LDAM-DRW"), ("BET", "BET"), ("BET & CW", "BET & CW"),
                  ("BET & LDAM-DRW", "BET & LDAM-DRW"), ("BET & LDAM-DRW & CW", "BET & LDAM-DRW & CW"),
                  ("CW + L2A", "CW + L2A")]


# Paper as written against the official code: (row, the registry's method, its knob, the book's setting, the
# official code's, the chapter that documents the departure). Both sides train on the same backbone runs.
DEPARTURES = [
    ("GCL stage 2: focal term γ", "GCL", "focal2", 0.0, 1.0, "gcl"),
    ("GCL stage 2: CBEN's (a, b)", "GCL", "cben", "paper", "code", "gcl"),
    ("GCL stage 2: sampler", "GCL", "sampler", "cben", "class_balanced", "gcl"),
    ("MiSLAS: smoothed targets", "MiSLAS", "las_targets", "eq4", "code", "angular"),
    ("MARR: loss normalisation", "MARR", "marr_norm", "batch", "weights", "marr"),
    ("τ-norm: bias", "τ-norm", "tau_bias", True, False, "baselines"),
    ("cRT: classifier initialisation", "cRT", "crt_init", "kaiming", "default", "baselines"),
    ("LGLA: class groups", "LGLA", "groups", "nearest", "official", "lgla"),
]
SETTING_NAMES = {  # (knob, setting) -> how the table names it
    ("focal2", 0.0): "none", ("focal2", 1.0): "γ = 1", ("cben", "paper"): "a = 0.999, b = 0.0009",
    ("cben", "code"): "a = 0.9999, b = 1e-5", ("sampler", "cben"): "CBEN", ("sampler", "class_balanced"): "class-balanced",
    ("las_targets", "eq4"): "Eq. 4: ε/(M−1) off the target", ("las_targets", "code"): "ε/M on every class",
    ("marr_norm", "batch"): "divided by the batch size", ("marr_norm", "weights"): "divided by Σ U_y",
    ("tau_bias", True): "kept", ("tau_bias", False): "dropped", ("crt_init", "kaiming"): "Kaiming normal",
    ("crt_init", "default"): "PyTorch's default", ("groups", "nearest"): "nearest cut",
    ("groups", "official"): "accumulated from the tail"}


def setting_name(knob: str, value) -> str:
    return SETTING_NAMES.get((knob, value), str(value))


def entries(num_classes: int) -> list[Method]:
    """Every method of the book at its chapter's defaults, named as the table shows it. The whitening rows
    need B3RS settings (Table 6 has them for 10 and 100 classes)."""
    rows = ROWS + (WHITENING_ROWS if num_classes in samplers.B3RS_TABLE6 else [])
    return [dataclasses.replace(get(method), name=name) for name, method in rows]


def select(all_entries: list[Method], names, param: str = "methods", among: str = "the leaderboard's") -> list[Method]:
    """The entries named (all for ``"all"``), with a clear error for a name that is not a method of the book."""
    if names == "all":
        return list(all_entries)
    known = {e.name: e for e in all_entries}
    unknown = [n for n in names if n not in known]
    if unknown:
        close = difflib.get_close_matches(unknown[0], list(known), n=1)
        Pm.check(param, names, False, f"names of {among} methods ({', '.join(known)}); {unknown[0]!r} is not one"
                                      + (f" (did you mean {close[0]!r}?)" if close else ""))
    return [known[n] for n in names]


def _one(values, one: str, many: str):
    """``many`` (a list), or ``one`` given instead (as a list); both given is refused."""
    Pm.check(one, values[one], values[one] == "auto" or values[many] == "auto",
             f"'auto' when {many} is given ({many}={values[many]!r}): give one of them")
    if values[one] == "auto":
        return values[many]
    return values[one] if isinstance(values[one], list) else [values[one]]


def _imbs(values, preset: str) -> list[float]:
    imbs = _one(values, "imb", "imbs")
    return ([100.0] if preset != "paper" else [100.0, 50.0, 10.0]) if imbs == "auto" else imbs


def frame(values, preset: str):
    """The chapter's imbalance factor and seeds under ``preset``: the first of ``imbs`` (or ``imb``), and
    ``seeds`` (or ``seed``)."""
    seeds = _one(values, "seed", "seeds")
    seeds = ([0, 1] if preset != "paper" else [0, 1, 2]) if seeds == "auto" else seeds
    return _imbs(values, preset)[0], seeds


# The further seeds the table reads under seeds "auto" where they are recorded or stored (never trained here): those a
# verdict reads (ltnb.claims.reads.SEEDS_READ; a test holds the two equal).
MORE_SEEDS = tuple(range(8))


def more_seeds_group(f: float) -> str:
    return f"imb {f:g}: more seeds"


def resolve(ctx, values):
    P = SimpleNamespace(**values)
    P.more_seeds = values["seed"] == "auto" and values["seeds"] == "auto"
    P.imbs, P.seeds = _imbs(values, ctx.preset.name), list(ctx.seeds)
    Pm.check("seeds", P.seeds, len(P.seeds) >= 1, "at least one seed")
    for f in P.imbs:
        check_imb(ctx.dataset, f, "imbs")
    P.subset_seeds = ([1] if ctx.preset.name == "smoke" else [1, 2]) if P.subset_seeds == "auto" else P.subset_seeds
    P.chosen = select(entries(ctx.num_classes), P.methods)
    P.spread = select(P.chosen, P.subset_methods, "subset_methods", "the table's") if P.subset_methods else []
    if P.table_csv:
        out = Path(P.table_csv)
        taken = next((a for a in out.parents if a.exists() and not a.is_dir()), None)
        Pm.check("table_csv", P.table_csv, not out.is_dir() and taken is None,
                 f"'' or the path of a CSV file to write ({'it is a folder' if out.is_dir() else f'{taken} is a file'})")
    return ctx, P


def plan(ctx, P) -> Plan:
    out = Plan()
    for i, f in enumerate(P.imbs):
        base = dict(dataset=ctx.dataset, imb=f, preset=ctx.preset.name)
        angles = {e.name: ("angular",) for e in P.chosen if e.view in ("l2a", "abs")}
        out.add(f"imb {f:g}", {e.name: [e.config(base, sd) for sd in P.seeds] for e in P.chosen},
                tier=1 if i == 0 else 3, derived=angles)
        if P.more_seeds:  # one row per (method, seed), shown where it exists, at the table's own preset (a main group)
            more = {(e.name, sd): [e.config(base, sd)] for e in P.chosen for sd in MORE_SEEDS if sd not in P.seeds}
            out.add(more_seeds_group(f), more, tier=1 if i == 0 else 3, optional=True,
                    derived={row: angles[row[0]] for row in more if row[0] in angles})
    base = dict(dataset=ctx.dataset, imb=P.imbs[0], preset=ctx.preset.name)
    # the spread figure: each method over the seeds (subset 0) and over the other subsets (seed seeds[0]), one group
    # so that the figure reads one preset (cpu under MAIN_ONLY: the seeds' runs are then the cpu table's)
    spread = {}
    for e in P.spread:
        spread[(e.name, "seeds")] = [e.config(base, sd) for sd in P.seeds]
        spread[(e.name, "subsets")] = [e.config(base, P.seeds[0], subset=k) for k in P.subset_seeds]
    out.add("subsets", spread, tier=2)
    dep = departures(ctx, P, base)
    out.add("paper vs code", dep, tier=3)
    if P.more_seeds:  # the same sides at the further seeds, where recorded (the seed groups record seed 2 at cpu)
        out.add("paper vs code: more seeds", {(row, sd): [dataclasses.replace(cfgs[0], seed=sd)]
                                              for row, cfgs in dep.items() for sd in MORE_SEEDS if sd not in P.seeds},
                tier=3, optional=True)
    if ctx.preset.name in BUDGETS.values():
        rows = budget_rows(ctx, P)
        angles = {e.name for e in P.chosen if e.view in ("l2a", "abs")}  # post-hoc views read the angular arrays
        out.add("budget", rows, tier=3, optional=True, record=True, own_presets=True,
                derived={row: ("angular",) for row in rows if row[0] in angles})
    return out


# The budget axis: every method at each budget (epochs, one seed: the chapter's first), and at the longest only those
# on the core set's stage-1 runs (CE, CE + mixup = MiSLAS's stage 1, LDAM-DRW, Balanced Softmax, GCL's stage 1, CW,
# BET): eight 80-epoch stage-1 runs where every method would need fourteen.
CORE = ("CE", "CE + mixup", "LDAM-DRW", "Balanced Softmax", "GCL", "CW", "BET", "MiSLAS")
LONGEST = max(BUDGETS)


def budget_rows(ctx, P) -> dict:
    """(method, epochs) -> its run at that budget for seed ``P.seeds[0]``, budgets other than the chapter's
    preset, shortest first (the recorder's order): at the longest budget, the methods on the core set's
    stage-1 runs."""
    rows = {}
    for epochs, preset in sorted(BUDGETS.items()):
        if preset == ctx.preset.name:
            continue
        base = dict(dataset=ctx.dataset, imb=P.imbs[0], preset=preset)
        on = {e.name: e.config(base, P.seeds[0]) for e in P.chosen}
        if epochs == LONGEST:
            core = {c.stage1.key for name, c in on.items() if name in CORE}
            on = {name: c for name, c in on.items() if c.stage1.key in core}
        rows.update({(name, epochs): [c] for name, c in on.items()})
    return rows


def departures(ctx, P, base) -> dict:
    """Both sides of every documented departure whose method is on the table: (row, "book" | "code") -> configs.
    Where the two settings give the same run (LGLA's groups on some counts), the code side is the book's run."""
    shown = {get(m).name for m in (dict((n, m) for n, m in ROWS + WHITENING_ROWS)[e.name] for e in P.chosen)}
    rows = {}
    for row, method, knob, book, code, _ in DEPARTURES:
        if method not in shown:
            continue
        m = get(method)
        rows[(row, "book")] = [m.config(base, sd, **{knob: book}) for sd in P.seeds]
        same = knob == "groups" and list(lgla.groups_of(ctx.counts, m.knobs["experts"] - 1, "nearest")) == \
            list(lgla.groups_of(ctx.counts, m.knobs["experts"] - 1, "official"))
        rows[(row, "code")] = rows[(row, "book")] if same else [m.config(base, sd, **{knob: code}) for sd in P.seeds]
    return rows
