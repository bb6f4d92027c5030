"""The seed groups: more training runs of what the book shows, for the verdicts (at least 3 seeds a side), the
leaderboard's A/A check (5 seeds) and the budget axis (3 seeds of its core set). ``make plan`` and ``make record``
list them after the book's own tiers (:mod:`ltnb.record`)."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from types import SimpleNamespace

from ltnb import store
from ltnb.chapters import SWEEPS_AT, plan_for
from ltnb.chapters.leaderboard import CORE, budget_rows, entries
from ltnb.claims import CLAIMS
from ltnb.claims.reads import REFERENCE, Setting, config_of, paper_factors, runs_read
from ltnb.claims.readouts import REFERENCE_OF, kinds_read
from ltnb.config import RunConfig
from ltnb.presets import PRESETS
from ltnb.runs import derived


@dataclass
class Item:
    """One run of the book: its config, its priority tier and who shows it."""
    config: RunConfig
    tier: int
    where: str  # "chapter: group"
    kinds: set = field(default_factory=set)  # derived arrays its chapters read

    @property
    def key(self) -> str:
        return self.config.key


def with_dependencies(cfg: RunConfig) -> list[RunConfig]:
    """``cfg`` after the runs it starts from (theirs first)."""
    out = []
    for d in cfg.dependencies():
        out += with_dependencies(d)
    return out + [cfg]


# The seed groups: the training runs the verdicts stand on (a verdict reads at least 3 seeds a side), recorded after
# the book's own runs, in this order: tier 4, seeds 0-2 of every run a computed verdict reads at the headline
# setting (long, imb 100) and at the factors where the papers make their claims (cpu; the leaderboard's
# paper-against-code table among them); tier 5, seeds 0-4 of the leaderboard's main table at long, imb 100; tier 6,
# seeds 1 and 2 of the budget axis's core set at 20 and 80 epochs.
REPLICATES = (0, 1, 2)
LEADERBOARD_SEEDS = (0, 1, 2, 3, 4)
BUDGET_SEEDS = (1, 2)
HEADLINE = ("long", 100.0)
SEED_TIERS = (4, 5, 6)


def reseeded(cfg: RunConfig, seed: int) -> RunConfig:
    return replace(cfg, seed=seed)


def recorded_kinds(cfg: RunConfig) -> set:
    """The derived arrays (:data:`ltnb.runs.derived.KINDS`) the recording of ``cfg`` keeps (none if not recorded)."""
    run = store.load(cfg)
    return {k for k in derived.KINDS if run is not None and derived.stored(run, k) is not None}


def reads_off(claim, method: str) -> set:
    """The derived kinds ``claim``'s verdict reads off each run of ``method`` (a trend's balanced reference reads
    the quantity's plain counterpart, a lead's its accuracy)."""
    if method == REFERENCE and claim.kind == "positive":
        return kinds_read("")
    if method == REFERENCE and claim.kind == "trend":
        return kinds_read(REFERENCE_OF.get(claim.quantity, claim.quantity) or "")
    return kinds_read(claim.quantity) | kinds_read(claim.quantity_b or "")


def seed_items(preset: str, shown: list[Item], headline_items) -> list[Item]:
    """The seed groups at ``preset`` (tiers 4 to 6): more seeds of runs the book already shows (``shown``, the
    book's items at ``preset``; ``headline_items()`` those at the headline preset, where the budget axis is shown),
    each with the derived arrays its first seed's recording keeps."""
    known = {it.key: it for it in shown}
    ds = shown[0].config.dataset if shown else "fmnist"
    out: dict[str, Item] = {}

    def add(cfg: RunConfig, seeds, tier: int, where: str, kept: bool = False, new: bool = False,
            reads: frozenset = frozenset()) -> None:
        first = known.get(reseeded(cfg, 0).key)
        if first is None and new:  # a verdict at a factor no chapter shows: all its seeds, with their metrics
            first = Item(reseeded(cfg, 0), tier, where, recorded_kinds(reseeded(cfg, 0)))
        if first is None:  # a run the book does not show at this preset: no replicates of it
            return
        if kept:  # a verdict's replicates keep what its first seed's recording keeps, declared by a chapter or not,
            # and what the verdict reads off each of them (its first seed included)
            first = replace(first, kinds=first.kinds | recorded_kinds(first.config) | reads)
        for s in seeds:
            target = reseeded(cfg, s)
            for c in with_dependencies(target):
                # a run the book shows already: here only if its recording must keep more arrays (what the first
                # seed's keeps for the verdicts), so that the recorder trains it again with them
                if c.key in known and (c.key != target.key or first.kinds <= known[c.key].kinds):
                    continue
                it = out.setdefault(c.key, Item(c, tier, where))
                it.tier = min(it.tier, tier)
            if target.key in out:
                out[target.key].kinds |= first.kinds | (known[target.key].kinds if target.key in known else set())

    if preset in ("long", "cpu"):
        for claim in CLAIMS:
            if claim.kind == "untestable":
                continue
            imbs = [HEADLINE[1]] if preset == HEADLINE[0] else sorted(paper_factors(claim))
            for imb in imbs:
                setting = Setting(ds, imb, preset, REPLICATES)
                for method, knobs in runs_read(claim, setting):
                    try:
                        cfg = config_of(method, setting, 0, knobs)
                    except (KeyError, ValueError):  # a knob the registry reads post hoc only
                        continue
                    add(cfg, REPLICATES, 4, f"replicates: {claim.id} at imb {imb:g}", kept=True,
                        new=preset == SWEEPS_AT and claim.kind in ("beats", "gain"),  # (metrics: every run's)
                        reads=frozenset(reads_off(claim, method)))
    if preset == SWEEPS_AT:  # the leaderboard's paper-against-code table: both sides of each departure
        for (row, side), cfgs in plan_for("leaderboard", preset, dataset=ds).groups["paper vs code"].rows.items():
            add(cfgs[0], REPLICATES, 4, f"replicates: paper vs code, {row} ({side})")
    if preset == HEADLINE[0]:
        for e in entries(10):
            add(e.config(dict(dataset=ds, imb=HEADLINE[1], preset=preset), 0), LEADERBOARD_SEEDS, 5,
                f"leaderboard: {e.name}")
    if preset in ("cpu20", "cpu80"):  # the budget rows are shown from the long plan (they name their own presets)
        known = {it.key: it for it in headline_items()}  # (this preset's main tables aside)
        ctx = SimpleNamespace(dataset=ds, preset=PRESETS[HEADLINE[0]])
        P = SimpleNamespace(seeds=[0], imbs=[HEADLINE[1]], chosen=entries(10))
        rows = budget_rows(ctx, P)
        core = {c.stage1.key for (name, _), cs in rows.items() for c in cs if name in CORE}
        for (name, epochs), cs in rows.items():
            for c in cs:
                if c.preset == preset and c.stage1.key in core:
                    add(c, BUDGET_SEEDS, 6, f"budget: {name} at {epochs} epochs")
    order = {k: i for i, k in enumerate(out)}
    return sorted(out.values(), key=lambda it: (it.tier, order[it.key]))
