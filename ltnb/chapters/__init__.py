"""The chapters' parameters and plans: every run a chapter shows, built through the method registry.

Each chapter module declares ``PARAMETERS`` (the notebook's parameters cell: names, defaults and
how each is read), ``resolve(ctx, values)`` (its own checks and derived settings) and
``plan(ctx, P)`` (its runs as named groups of table rows, one config per seed). A notebook opens
with :func:`ltnb.chapters.door.open` (which may train); the recorder and the claims call :func:`plan_for`
(data: it trains nothing) with the same builders, so there is no second list of runs to keep in sync.
"""
from __future__ import annotations

import importlib
import json
import statistics
from dataclasses import dataclass, field, replace
from types import SimpleNamespace

from scipy import stats

from ltnb import data, params as Pm, store
from ltnb.config import RunConfig
from ltnb.presets import PRESETS, Context, check_device, resolve_dataset, resolve_device
from ltnb.runs import derived

# The chapters of the book, in the order of its table of contents, and the parameter sets whose runs are
# recorded with the repository: every chapter at its defaults, and the README's used-by command.
BOOK = ("baselines", "gcl", "marr", "angular", "lgla", "whitening", "leaderboard")
RECORDED_CALLS = tuple((name, {}) for name in BOOK) + (("gcl", {"imb": 200}),)


def recorded_calls(preset: str) -> tuple:
    """The calls recorded at ``preset``: all of :data:`RECORDED_CALLS`, or under :data:`MAIN_ONLY` (recorded for
    the main tables at the default factor, imb 100) the chapters at their defaults only."""
    return tuple(c for c in RECORDED_CALLS if preset not in MAIN_ONLY or not c[1])

TIERS = {1: "main tables", 2: "seeds and subsets", 3: "ablations and sweeps",
         # the seed groups (ltnb.record.seed_items): replicates the verdicts read, recorded after the book's own runs
         4: "replicates: seeds 0, 1, 2 of every run a verdict reads", 5: "the leaderboard's main table: seeds 0 to 4",
         6: "the budget axis's core set: seeds 1 and 2"}


SEED = Pm.number(low=0, high=2 ** 32 - 1, integer=True)


DATASET = Pm.Param("dataset", "auto", Pm.choice("auto", *data.DATASETS),
                   "cifar10, cifar100, fmnist or auto: CIFAR-10 if present, else fmnist")
PRESET = Pm.Param("preset", "auto", Pm.choice("auto", *PRESETS),
                  "smoke, cpu, cpu20, long, cpu80, paper or auto: paper on CUDA; else long where all its runs are "
                  "recorded, else cpu")
DEVICE = Pm.Param("device", "auto", check_device, "cpu, cuda or auto")


def common(imb=100, seed=0) -> list[Pm.Param]:
    """The parameters every chapter has: data set, imbalance factor, preset, seeds, device."""
    return [DATASET, Pm.Param("imb", imb, Pm.number(low=1), "imbalance factor n_max / n_min, at least 1"), PRESET,
            Pm.Param("seed", seed, Pm.one_or_list(SEED), "one seed, or a list of seeds such as [0, 1, 2]"), DEVICE]


def literal(value) -> str:
    """``value`` as the parameters cell writes it: strings in double quotes, lists item by item."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    return repr(value)


def parameters_cell(chapter) -> str:
    """The papermill parameters cell of ``chapter`` (its module), written from its declaration: one line a knob,
    its default and its help. The notebooks carry it verbatim (a test keeps them equal)."""
    return "\n".join(f"{p.name} = {literal(p.default)}  # {p.help}" for p in chapter.PARAMETERS)


def check_imb(dataset: str, imb: float, name: str = "imb") -> None:
    """Every class must keep at least one training image at this factor."""
    info = data.dataset_info(dataset)
    fewest = min(data.lt_counts(info.train_per_class, info.num_classes, imb))
    Pm.check(name, imb, fewest >= 1, f"at most {info.train_per_class:,} on {dataset} (n_max / n_min with "
                                     f"{info.train_per_class:,} images in the largest class: every class keeps one)")


@dataclass
class Group:
    """Rows of a table or a figure: row label -> one run config per seed."""
    rows: dict[str, list[RunConfig]]
    tier: int = 1  # 1: a main table, 2: more seeds and subsets, 3: ablations and sweeps
    optional: bool = False  # shown when stored or recorded, never trained by the chapter
    derived: dict = field(default_factory=dict)  # row -> kinds of ltnb.runs.derived arrays the chapter reads of its runs
    # row -> kinds recorded for the claims the chapter prints (read from the recordings, never trained for)
    for_claims: dict = field(default_factory=dict)
    record: bool = False  # an optional group the recorder trains all the same (hours of CPU: the budget axis)
    own_presets: bool = False  # its rows name their presets (the budget axis): never moved to another preset

    @property
    def main(self) -> bool:
        """A main table's group: shown at the chapter's preset under every preset (:data:`MAIN_ONLY`)."""
        return self.tier == 1 and not self.record


@dataclass
class Plan:
    """Every run a chapter shows, as named groups; :meth:`fetch` reads or trains them."""
    groups: dict[str, Group] = field(default_factory=dict)
    device: object = "auto"

    def add(self, name: str, rows: dict[str, list[RunConfig]], tier: int = 1, optional: bool = False,
            derived: dict | None = None, for_claims: dict | None = None, record: bool = False,
            own_presets: bool = False) -> None:
        """Add a group; ``derived`` maps a row to the kinds of derived arrays (:mod:`ltnb.runs.derived`) read of it.
        ``record``: an optional group (the chapter shows what exists) that ``make record`` trains.
        ``own_presets``: its rows are at presets of their own (left there under :data:`MAIN_ONLY`)."""
        if name in self.groups:
            raise ValueError(f"plan group {name!r} added twice")
        unknown = set(derived or {}) - set(rows)
        if unknown:
            raise ValueError(f"derived arrays asked for rows {sorted(unknown)} that group {name!r} does not have")
        if record and not optional:
            raise ValueError(f"plan group {name!r}: record=True is for optional groups (the chapter trains the others)")
        self.groups[name] = Group(dict(rows), tier, optional, dict(derived or {}), dict(for_claims or {}), record,
                                  own_presets)

    def preset_of(self, name: str, default: str) -> str:
        """The one preset of group ``name``'s runs (``default`` when it has none); a group never mixes presets."""
        found = {c.preset for cfgs in self.groups[name].rows.values() for c in cfgs}
        if len(found) > 1 and not self.groups[name].own_presets:
            raise ValueError(f"plan group {name!r} mixes presets {sorted(found)}: a table shows one")
        return found.pop() if len(found) == 1 else default

    def context(self, ctx: Context, name: str) -> Context:
        """``ctx`` at the preset of group ``name``: its ``stamp`` goes on that group's tables and figures, and its
        claims are read there (under :data:`MAIN_ONLY`, a chapter's ablations and sweeps are at cpu)."""
        preset = self.preset_of(name, ctx.preset.name)
        return ctx if preset == ctx.preset.name else replace(ctx, preset=PRESETS[preset])

    def configs(self, tiers=(1, 2, 3), optional: bool = False) -> list[RunConfig]:
        """The distinct configs of the groups in ``tiers`` (optional groups too if asked), in plan order."""
        out = {}
        for g in self.groups.values():
            if g.tier in tiers and (optional or not g.optional):
                for cfgs in g.rows.values():
                    out.update((c.key, c) for c in cfgs)
        return list(out.values())

    def fetch(self, name: str) -> dict:
        """The runs of the optional group ``name`` that exist: row -> runs per seed, a row only when all its runs
        are stored or recorded. A plan from :func:`plan_for` is data: it trains nothing (the chapter's door,
        :func:`ltnb.chapters.door.open`, returns a plan that fetches its other groups too)."""
        g = self.groups[name]
        if not g.optional:
            raise RuntimeError(f"group {name!r} of a plan from plan_for: this plan reads only (open the chapter "
                               "with ltnb.chapters.door.open to fetch or train its runs)")
        found = {row: [store.load(c) for c in cfgs] for row, cfgs in g.rows.items()}
        return {row: rs for row, rs in found.items() if all(rs)}


def module(name: str):
    if name not in BOOK:
        raise ValueError(f"unknown chapter {name!r}; the book has {BOOK}")
    return importlib.import_module(f"ltnb.chapters.{name}")


def context_of(chapter, values: dict, preset_name: str, dataset: str, device) -> tuple[Context, SimpleNamespace]:
    """The chapter's context under ``preset_name`` and its resolved parameters (``chapter.resolve``)."""
    frame = getattr(chapter, "frame", None)
    imb, seeds = frame(values, preset_name) if frame else (values["imb"], values["seed"])
    ctx = Context(dataset, float(imb), PRESETS[preset_name], tuple(int(s) for s in seeds), device)
    return chapter.resolve(ctx, dict(values))


def recorded_everywhere(plan: Plan, tiers=(1, 2, 3)) -> bool:
    """Whether every run the plan would train (groups in ``tiers``) is in the recordings or the store."""
    cfgs = plan.configs(tiers)
    return bool(cfgs) and all(store.exists(c) for c in cfgs)


# The budget presets past cpu (hours of CPU a run's worth of a chapter) are recorded for the main tables only: a
# chapter run at one of them shows its main tables there and every other group (seeds and subsets, ablations, sweeps,
# the paper's other factors) at cpu, each table and figure stamped with the preset it shows.
MAIN_ONLY = ("cpu20", "long", "cpu80")
SWEEPS_AT = "cpu"
SEEDS_SEEN = tuple(range(8))  # the seeds a page's sentence about its two schedules reads, where recorded


def build(chapter, ctx: Context, P) -> Plan:
    """The chapter's plan at ``ctx``; under :data:`MAIN_ONLY`, its groups other than the main tables at cpu."""
    plan = chapter.plan(ctx, P)
    if ctx.preset.name in MAIN_ONLY:
        for g in plan.groups.values():
            if not (g.main or g.own_presets):
                g.rows = {row: [replace(c, preset=SWEEPS_AT) for c in cfgs] for row, cfgs in g.rows.items()}
    return plan


def moved(plan: Plan, ctx: Context) -> list[str]:
    """The groups of ``plan`` shown at another preset than the chapter's (under :data:`MAIN_ONLY`), by the names a
    reader sees: a group "x: more seeds" (the further seeds of x, read where recorded) is x's."""
    return list(dict.fromkeys(n.split(": ")[0] for n, g in plan.groups.items()
                              if not g.own_presets and g.rows and plan.preset_of(n, ctx.preset.name) != ctx.preset.name))


def plan_for(name: str, preset: str, dataset: str = "auto", device="cpu", **values) -> Plan:
    """The plan of chapter ``name`` with ``values`` for its parameters (defaults otherwise), under ``preset``."""
    chapter = module(name)
    read = Pm.read(chapter.PARAMETERS, values)
    ds, _ = resolve_dataset(read.get("dataset", dataset) if dataset == "auto" else dataset)
    ctx, P = context_of(chapter, read, preset, ds, resolve_device(device))
    plan = build(chapter, ctx, P)
    plan.device = ctx.device
    return plan


# What every chapter takes (where and with what), and what only picks rows or writes files: a verdict box reads the
# claims at these as given, and at the chapter's defaults for every other knob (Context.changed names those set).
SETTING_PARAMETERS = ("dataset", "imb", "imbs", "preset", "seed", "seeds", "device", "methods", "subset_methods",
                      "subset_seeds", "table_csv")


def recorded_to_retrain(plan: Plan) -> list[RunConfig]:
    """Runs the chapter trains besides its missing ones: what those start from when it is not in the run store (a
    recording keeps neither the network nor the features a stage-2 run starts from), and recorded runs whose
    derived arrays a figure reads and the recording lacks (the chapter's fetch then trains the run into the store)."""
    shown = {c.key for c in plan.configs()}
    out = {}

    def starts_from(c):
        for d in c.dependencies():
            where = store.source(d)
            if (where == "recorded" and c.stage2) or (where is None and d.key not in shown):
                out[d.key] = d  # a recording a stage-2 run cannot start from, or a run the plan does not list
                starts_from(d)

    for g in plan.groups.values():
        if g.optional:
            continue
        for row, cfgs in g.rows.items():
            for c in cfgs:
                if not store.exists(c):
                    starts_from(c)
                kinds = g.derived.get(row, ())
                if kinds and store.source(c) == "recorded":
                    run = store.load(c)
                    if any(derived.stored(run, k) is None for k in kinds):
                        out[c.key] = c
    return list(out.values())


def second_schedule(plan: Plan, ctx: Context) -> str:
    """The opening of a chapter's second section (Markdown): which schedule its tables, figures and verdicts are at
    and why, and the computed sentence of :func:`schedules` that relates it to the headline section's. Under a preset
    that records everything (``cpu``, ``paper``), the sections share the chapter's preset and it says so."""
    others = moved(plan, ctx)
    at = PRESETS[SWEEPS_AT] if others else ctx.preset
    head = f"## At `{at.name}` ({at.epochs} epochs): ablations, sweeps and the paper's other factors\n\n"
    if not others:
        return head + (f"Everything below is at the chapter's own preset, `{ctx.preset.name}` ({ctx.preset.epochs} "
                       "epochs), like everything above.")
    there = PRESETS[SWEEPS_AT]
    return head + (f"Everything below is at `{SWEEPS_AT}` ({there.epochs} epochs of the same network), not at "
            f"`{ctx.preset.name}` ({ctx.preset.epochs} epochs): `{ctx.preset.name}` is recorded for the main tables "
            f"only, and {'these ' + str(len(others)) + ' groups' if len(others) > 1 else 'this group'} "
            f"({'; '.join(others)}) {'take' if len(others) > 1 else 'takes'} hours of CPU at the longer schedule. Every table, figure and verdict of this section reads "
            f"`{SWEEPS_AT}` runs only. "
            + schedules(plan, ctx))


def schedules(plan: Plan, ctx: Context) -> str:
    """One computed sentence that relates a chapter's two schedules under :data:`MAIN_ONLY`: its main tables' runs at
    ``ctx``'s preset against the same runs at :data:`SWEEPS_AT`, where both are recorded (mean over every seed each
    has recorded, of :data:`SEEDS_SEEN`): how far the levels sit apart (median and range over the rows) and whether
    the order carries over (Spearman's ρ). A reading of means, not a test. Empty when nothing moved."""
    if ctx.preset.name not in MAIN_ONLY or not moved(plan, ctx):
        return ""
    pairs, seen = {}, set()
    for g in plan.groups.values():
        if not g.main:
            continue
        for row, cfgs in g.rows.items():
            if any(c.knob("per_class") for c in cfgs):  # the balanced reference: in no table, so not a table's row
                continue
            keys = frozenset(replace(c, seed=0).key for c in cfgs)  # (a "more seeds" group's rows: seeds of a row above)
            if keys in seen:  # a post-hoc reading of a run an earlier row trains: its run's accuracy is not the row's
                continue
            seen.add(keys)
            here = [r for c in cfgs for s in SEEDS_SEEN if (r := store.load(replace(c, seed=s)))]
            there = [r for c in cfgs for s in SEEDS_SEEN if (r := store.load(replace(c, preset=SWEEPS_AT, seed=s)))]
            if here and there:
                pairs.setdefault(str(row), (100 * statistics.fmean(r.metrics["accuracy"] for r in here),
                                            100 * statistics.fmean(r.metrics["accuracy"] for r in there),
                                            len(here) // len(cfgs), len(there) // len(cfgs)))
    if len(pairs) < 3:
        return ""
    long_acc, cpu_acc, n_here, n_there = zip(*pairs.values())
    rho = stats.spearmanr(long_acc, cpu_acc).statistic
    gaps = [a - b for a, b in zip(long_acc, cpu_acc)]
    seeds = lambda n: f"{min(n)}" if min(n) == max(n) else f"{min(n)} to {max(n)}"  # noqa: E731
    return (f"The two schedules on this page: over the {len(pairs)} rows of its main tables recorded at both, "
            f"the runs at {ctx.preset.name} ({ctx.preset.epochs} epochs; {seeds(n_here)} seeds a row) score "
            f"{statistics.median(gaps):+.2f} points (median; {min(gaps):+.2f} to {max(gaps):+.2f}) against the same "
            f"runs at {SWEEPS_AT} ({PRESETS[SWEEPS_AT].epochs} epochs; {seeds(n_there)} seeds a row), means over "
            f"each row's seeds, and order the rows with Spearman's ρ = {rho:+.2f} against {SWEEPS_AT}'s order "
            f"(a reading of the means, not a test): a table stamped {SWEEPS_AT} is read "
            f"against the other rows at {SWEEPS_AT}, never against the {ctx.preset.name} table.")


