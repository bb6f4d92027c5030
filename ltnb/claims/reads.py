"""Which runs a claim reads, where: the setting a claim is read at, each method's run config there (through the
method registry, :mod:`ltnb.methods`), and the runs a verdict compares, as data. Nothing here loads or trains a run:
:mod:`ltnb.claims.evidence` reads them, :mod:`ltnb.claims.replicates` plans more seeds of them."""
from __future__ import annotations

from dataclasses import dataclass

from ltnb import data, store
from ltnb.chapters.angular import AUTO_PRUNE, paper_pruning_rows
from ltnb.claims.readouts import LEADS, REFERENCE_OF
from ltnb.methods import get

REFERENCE = "CE, balanced"  # the balanced reference: CE on a balanced subset as large as the long-tailed set


@dataclass(frozen=True)
class Setting:
    """Where a claim is tested: data set, imbalance factor, preset, and the seeds to read (those recorded)."""
    dataset: str = "fmnist"
    imb: float = 100.0
    preset: str = "cpu"
    seeds: tuple = tuple(range(8))

    @property
    def base(self) -> dict:
        return dict(dataset=self.dataset, imb=float(self.imb), preset=self.preset)

    @property
    def label(self) -> str:
        return f"{self.preset} · imb {self.imb:g}"

    @classmethod
    def of(cls, ctx, seeds=None) -> "Setting":
        """A chapter's setting (:class:`ltnb.presets.Context`): every recorded seed is read (:data:`SEEDS_READ`),
        whatever seeds the chapter's tables show."""
        return cls(ctx.dataset, float(ctx.imb), ctx.preset.name, tuple(seeds or SEEDS_READ))


SEEDS_READ = tuple(range(8))  # a verdict reads every recorded seed of its runs: those of these that exist
UNNAMED_FACTOR = 100.0  # where a paper names no imbalance factor for a claim: the book's headline factor


def paper_factors(claim) -> tuple:
    """The imbalance factors at which the paper makes ``claim`` (``Claim.imbs``). Where the paper names none for it
    (a figure drawn at a factor it does not print), the book reads it as the paper's at :data:`UNNAMED_FACTOR`, the
    factor its seed groups are planned at, and as "beyond the paper" elsewhere."""
    return tuple(float(f) for f in claim.imbs) or (UNNAMED_FACTOR,)


# ------------------------------------------------------------------ runs

def config_of(method: str, setting: Setting, seed: int, knobs=()):
    """``method``'s config at ``setting``; knobs ``auto`` follow the chapter's defaults for the preset."""
    m, kw = get(method), dict(knobs)
    kw.pop("s_abs", None), kw.pop("form_abs", None)  # ABS's strength: read post hoc, not a run's knob
    if "per_class" in m.knobs:  # the balanced reference: as many images as the long-tailed set, spread evenly
        info = data.dataset_info(setting.dataset)
        kw["per_class"] = sum(data.lt_counts(info.train_per_class, info.num_classes, setting.imb)) // info.num_classes
    if "prune" in m.knobs:  # the pruning study: the preset's fractions and scoring runs (angular chapter), or the
        fractions, runs, epochs = AUTO_PRUNE.get(setting.preset, AUTO_PRUNE["cpu"])  # budgets: cpu's
        if paper_pruning_recorded(setting):  # paper's fractions over 3 seeds where all of them are recorded
            fractions = AUTO_PRUNE["paper"][0]
        kw.update(fraction={"first": fractions[0], "last": fractions[-1]}.get(kw.get("fraction"), kw.get("fraction")),
                  score_runs=runs, score_epochs=epochs)
    return m.config(setting.base, seed, **kw)


def paper_pruning_recorded(setting: Setting) -> bool:
    """Whether the pruning study at the paper's fractions over 3 seeds is recorded in full at ``setting`` (a
    preset below ``paper``): the angular chapter then draws Figure 6 from it, and the pruning claims read it."""
    if setting.preset == "paper":
        return False
    _, runs, epochs = AUTO_PRUNE.get(setting.preset, AUTO_PRUNE["cpu"])
    return all(store.exists(c) for cs in paper_pruning_rows(setting.base, runs, epochs).values() for c in cs)


def runs_read(claim, setting: Setting) -> list[tuple[str, tuple]]:
    """The runs a verdict on ``claim`` reads at ``setting``, as (method, knobs) pairs, one per seed read: the data
    the recorder plans replicates from (nothing is loaded here)."""
    if claim.kind == "untestable" or claim.quantity in ("tail_sampling_share", "batch_imbalance"):  # exact: no run
        return []
    if claim.kind == "positive":  # (a lead judged against a class's difficulty reads the balanced reference too)
        lead = LEADS.get(claim.quantity)
        return [(claim.method, claim.ka)] + ([(REFERENCE, ())] if lead and lead.reads_difficulty else [])
    if claim.kind == "trend":
        own = [(claim.method, claim.ka)]
        if claim.against or REFERENCE_OF.get(claim.quantity, claim.quantity) is None:
            return own
        return own + [(REFERENCE, ())]
    if claim.kind == "beats" and dict(claim.ka).get("fraction") == "each":
        fractions = (AUTO_PRUNE["paper"] if paper_pruning_recorded(setting)
                     else AUTO_PRUNE.get(setting.preset, AUTO_PRUNE["cpu"]))[0]
        at = lambda knobs, f: tuple((k, f if k == "fraction" else v) for k, v in knobs)  # noqa: E731
        return [(n, at(k, f)) for f in fractions for n, k in ((claim.a, claim.ka), (claim.b or claim.a, claim.kb))]
    out = [(claim.a, claim.ka), *sides(claim)]
    if claim.kind == "gain":
        out += [(claim.a0, ()), (claim.b0, ())]
    return out


def sides(claim) -> list[tuple[str, tuple]]:
    """What ``claim``'s ``a`` is compared with, as (method, knobs): ``b``, then each of ``rivals`` (a rival is a
    method's name, or (name, knobs) for another setting of a method, as a point of a sweep)."""
    rivals = [(r, ()) if isinstance(r, str) else (r[0], tuple(r[1])) for r in claim.rivals]
    return [(claim.b or claim.a, claim.kb), *rivals]


def shares_runs(setting: Setting, a: tuple, b: tuple) -> bool:
    """Whether (method, knobs) ``a`` and ``b`` read the same training run seed by seed (a stage-2 method and its
    backbone, two post-hoc views of one run): then they are compared paired."""
    return config_of(a[0], setting, 0, a[1]).stage1 == config_of(b[0], setting, 0, b[1]).stage1
