"""What the runs say about each claim of :mod:`ltnb.claims`: the quantities read off a run, the settings a
claim is read at, its verdict (:mod:`ltnb.verdicts`' rules) and the boxes the chapters print.

Per-class trends are read against the balanced reference (``CE, balanced``: CE on a balanced subset as large
as the long-tailed set, same network and schedule); see :mod:`ltnb.verdicts`. Nothing here trains: a run or
an array that is not stored or recorded leaves the claim "not recorded" at that setting.
"""
from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, replace

import numpy as np
import torch

from ltnb.readouts import (EXPERT_STATS, FEATURE_STATS, METRICS, PER_CLASS, REFERENCE_OF, _feature_labels, _features,
                           _sampler_tail_share)
from ltnb.verdicts import (FAILS, HOLDS, MISSING, NOISE, UNTESTABLE, VERDICTS, Verdict,  # noqa: F401 (the API)
                           against_reference, bootstrap_scalar, counts, difference, rank_trend, spread)

REFERENCE = "CE, balanced"
EXACT = ("trainable_parameters", "tail_sampling_share")  # compared exactly: counts, and the samplers' class shares
SCALARS = (*METRICS, *FEATURE_STATS, *EXPERT_STATS, *EXACT)  # what a "less" / "more" claim can compare


@dataclass(frozen=True)
class Setting:
    """Where a claim is tested: data set, imbalance factor, preset, and the seeds to read (those recorded)."""
    dataset: str = "fmnist"
    imb: float = 100.0
    preset: str = "cpu"
    seeds: tuple = (0, 1)

    @property
    def base(self) -> dict:
        return dict(dataset=self.dataset, imb=float(self.imb), preset=self.preset)

    @property
    def label(self) -> str:
        return f"{self.preset} · imb {self.imb:g}"

    @classmethod
    def of(cls, ctx, seeds=None) -> "Setting":
        """A chapter's setting (:class:`ltnb.presets.Context`)."""
        return cls(ctx.dataset, float(ctx.imb), ctx.preset.name, tuple(seeds or ctx.seeds))


# ------------------------------------------------------------------ runs

def _config(method: str, setting: Setting, seed: int, knobs=()):
    """``method``'s config at ``setting``; knobs ``auto`` follow the chapter's defaults for the preset."""
    from ltnb import data
    from ltnb.chapters.angular import AUTO_PRUNE
    from ltnb.methods import get

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
    from ltnb import store
    from ltnb.chapters.angular import AUTO_PRUNE, paper_pruning_rows

    if setting.preset == "paper":
        return False
    _, runs, epochs = AUTO_PRUNE.get(setting.preset, AUTO_PRUNE["cpu"])
    return all(store.exists(c) for cs in paper_pruning_rows(setting.base, runs, epochs).values() for c in cs)


def runs_read(claim, setting: Setting) -> list[tuple[str, tuple]]:
    """The runs a verdict on ``claim`` reads at ``setting``, as (method, knobs) pairs, one per seed read: the data
    the recorder plans replicates from (nothing is loaded here)."""
    if claim.kind == "untestable" or claim.quantity == "tail_sampling_share":  # exact: no run read
        return []
    if claim.kind == "trend":
        own = [(claim.method, claim.ka)]
        if claim.against or REFERENCE_OF.get(claim.quantity, claim.quantity) is None:
            return own
        return own + [(REFERENCE, ())]
    if claim.kind == "beats" and dict(claim.ka).get("fraction") == "each":
        from ltnb.chapters.angular import AUTO_PRUNE

        fractions = (AUTO_PRUNE["paper"] if paper_pruning_recorded(setting)
                     else AUTO_PRUNE.get(setting.preset, AUTO_PRUNE["cpu"]))[0]
        at = lambda knobs, f: tuple((k, f if k == "fraction" else v) for k, v in knobs)  # noqa: E731
        return [(n, at(k, f)) for f in fractions for n, k in ((claim.a, claim.ka), (claim.b or claim.a, claim.kb))]
    out = [(claim.a, claim.ka), (claim.b or claim.a, claim.kb)]
    if claim.kind == "gain":
        out += [(claim.a0, ()), (claim.b0, ())]
    return out


def runs_of(method: str, setting: Setting, knobs=()) -> list:
    """The stored or recorded runs of ``method`` at ``setting``'s seeds (those that exist; nothing trains)."""
    found = [_load(_config(method, setting, s, knobs)) for s in setting.seeds]
    return [r for r in found if r is not None]


_LOADED: dict = {}


def _load(cfg):
    """A stored or recorded run, read once per process (a page reads each run many times; its arrays are read once
    per :class:`ltnb.store.Run`)."""
    from ltnb import store

    key = (cfg.key, store.source(cfg), str(store.store_root()))
    if key not in _LOADED:
        _LOADED[key] = store.load(cfg)
    return _LOADED[key]


# ------------------------------------------------------------------ noise

_NOISE: dict = {}


MIN_DOF = 10  # a σ pooled over fewer degrees of freedom is too uncertain to judge by (with 4, a 95% interval
# for σ spans 0.6σ to 2.9σ): a setting whose seeds are still being recorded borrows the next setting's σ


def pooled_noise(setting: Setting, metric: str = "accuracy") -> tuple[float, int, str]:
    """Run-to-run standard deviation of ``metric``, pooled over every leaderboard method with two or more seeds
    recorded at ``setting``, where they give :data:`MIN_DOF` degrees of freedom (else at imb 100 of the same
    preset; a budget preset short of them, else the cpu preset's: 10 epochs of the same network, whose σ need not be
    the longer run's, so the caller says which it is); (sigma, d.o.f., where)."""
    from ltnb import derived
    from ltnb.presets import BUDGETS

    presets = dict.fromkeys((setting.preset, BUDGETS[min(BUDGETS)] if setting.preset in BUDGETS.values() else None))
    for preset in filter(None, presets):
        for imb in dict.fromkeys((float(setting.imb), 100.0)):
            key = (setting.dataset, imb, preset, metric)
            if key not in _NOISE:
                with derived.reading_only():
                    _NOISE[key] = _pooled(Setting(setting.dataset, imb, preset, (0, 1)), metric)
            sd, df = _NOISE[key]
            if df >= MIN_DOF:
                same = (imb, preset) == (setting.imb, setting.preset)
                return sd, df, "" if same else f"σ of {'' if preset == setting.preset else preset + ' · '}imb {imb:g}"
    return math.nan, 0, "no seeds to pool"


def _pooled(setting: Setting, metric: str) -> tuple[float, int]:
    from ltnb import data
    from ltnb.chapters.leaderboard import entries
    from ltnb.leaderboard import pooled_sd

    groups = []
    for e in entries(data.dataset_info(setting.dataset).num_classes):
        runs = [r for r in (_load(e.config(setting.base, s)) for s in setting.seeds) if r is not None]
        groups.append([_safe(lambda: METRICS[metric][0](e, r, ())) for r in runs])  # the entry: its view
    return pooled_sd(groups)


def _safe(fn) -> float:
    try:
        return float(fn())
    except (FileNotFoundError, KeyError, IndexError, TypeError, ValueError, ZeroDivisionError):
        return math.nan  # a view or a quantity this run does not have: not counted


# ------------------------------------------------------------------ verdicts

def evaluate(claim, setting: Setting) -> Verdict:
    """The verdict on ``claim`` (:class:`ltnb.claims.Claim`) from the runs recorded or stored at ``setting``."""
    from ltnb import derived

    if claim.kind == "untestable":
        return Verdict(UNTESTABLE, claim.why)
    try:
        with derived.reading_only():
            return _evaluate(claim, setting)
    except FileNotFoundError as err:  # a view that needs arrays the recording does not keep (named by key, not path)
        found = re.search(r"([0-9a-f]{16}) has no (\S+?):", str(err))
        return Verdict(MISSING, f"the recording of run {found.group(1)} has no {found.group(2)}" if found
                       else "a run lacks what this needs")
    except KeyError as err:  # a recording made for a chapter that reads less of it (no test features, say)
        return Verdict(MISSING, f"a run's recording lacks {err}")
    except ValueError as err:  # runs too short to read it from (a smoke run: a class never seen, no noise estimate)
        return Verdict(MISSING, f"cannot be read from these runs: {err}")


def _missing(*names) -> Verdict:
    return Verdict(MISSING, f"no run of {', '.join(names)} recorded at this setting")


def _per_class(method, runs, quantity, knobs=()) -> np.ndarray:
    return np.mean([PER_CLASS[quantity][0](method, r, knobs) for r in runs], axis=0)


def _evaluate(c, s: Setting) -> Verdict:
    kind, q = c.kind, c.quantity
    if q == "tail_sampling_share":  # a property of the samplers on this setting's class counts: exact
        from ltnb import data

        info = data.dataset_info(s.dataset)
        n = data.lt_counts(info.train_per_class, info.num_classes, s.imb)
        va, vb = _sampler_tail_share(n, c.a), _sampler_tail_share(n, c.b)
        ok = va < vb if kind == "less" else va > vb
        return Verdict(HOLDS if ok else FAILS, f"tail share {va:.3f} ({c.a}) against {vb:.3f} ({c.b}), exact")
    if kind == "trend":
        runs = runs_of(c.method, s, c.ka)
        if not runs:
            return _missing(c.method)
        values = _per_class(c.method, runs, q, c.ka)
        if c.against:  # one per-class quantity against another of the same runs
            x = _per_class(c.method, runs, c.against, c.ka)
            v = rank_trend(values, x, c.direction)
            return Verdict(v.verdict, f"ρ = {v.value:+.2f} between {PER_CLASS[q][2]} and {PER_CLASS[c.against][2]}"
                                      f"{' (claimed positive)' if c.direction == 'head' else ' (claimed negative)'}"
                                      f"{v.number[v.number.index(' over'):]}", v.value)
        sizes = runs[0].metrics["counts"]
        rq = REFERENCE_OF.get(q, q)
        if rq is None:  # a quantity the balanced reference has no counterpart of: the raw trend, said so
            return rank_trend(values, sizes, c.direction, what=", raw (no balanced counterpart)")
        ref = runs_of(REFERENCE, s)
        if not ref:
            return _missing(REFERENCE)
        base = _per_class(REFERENCE, ref, rq)
        log = PER_CLASS[q][1] and (values > 0).all() and (base > 0).all()  # a class at 0 (no gradient, no
        rel = against_reference(values, base, log=log)  # prediction): the difference instead of the log ratio
        raw = rank_trend(values, sizes, c.direction).value
        return rank_trend(rel, sizes, c.direction, what=f", against the balanced reference (raw: {raw:+.2f})")
    if kind == "beats" and dict(c.ka).get("fraction") == "each":
        return _at_each_fraction(c, s)
    ra, rb = runs_of(c.a, s, c.ka), runs_of(c.b or c.a, s, c.kb)
    if not ra or not rb:
        return _missing(*[n for n, r in ((c.a, ra), (c.b or c.a, rb)) if not r])
    smaller = kind in ("less", "flatter")
    if kind == "flatter":
        qb = c.quantity_b or q
        return spread(_per_class(c.a, ra, q, c.ka), _per_class(c.b or c.a, rb, qb, c.kb), smaller=True,
                      label=f"spread (sd/mean) of {PER_CLASS[q][2]}, {c.a} − {c.b or c.a}")
    if q in FEATURE_STATS or q in EXPERT_STATS:
        if q in FEATURE_STATS:
            stat, label, labelled = FEATURE_STATS[q]
            split = "train" if q.startswith("train_") else "test"
            xa, xb = _features(ra[0], split), _features(rb[0], split)
            if labelled:
                xa = np.column_stack([xa, _feature_labels(ra[0], split)])
                xb = np.column_stack([xb, _feature_labels(rb[0], split)])
            if labelled == "items":  # per-image outcomes, resampled as such
                xa, xb, stat = stat(xa), stat(xb), (lambda x: float(x.mean()))
        else:
            (fn, label), stat = EXPERT_STATS[q], (lambda x: float(x.mean()))
            xa, xb = fn(ra[0]), fn(rb[0])
        return bootstrap_scalar(xa, xb, stat, smaller=smaller, paired=True,
                                label=f"{label}: {c.a} − {c.b} (first seed, the same "
                                      f"{'training' if q.startswith('train_') else 'test'} images)")
    if q == "trainable_parameters":  # exact counts
        na, nb = (int(r[0].metrics["trainable_parameters"]) for r in (ra, rb))
        ok = na < nb if smaller else na > nb
        return Verdict(HOLDS if ok else FAILS, f"{na:,} against {nb:,} trainable parameters, exact")
    metric = "few" if kind == "beats_few" else c.metric if kind in ("beats", "gain") else q
    if metric in ("few", "medium", "many") and math.isnan(_safe(lambda: METRICS[metric][0](c.a, ra[0], c.ka))):
        return Verdict(UNTESTABLE, f"no class is '{metric}' at this imbalance factor (few: under 20 training "
                                   f"images, many: over 100)")
    sigma, df, where = pooled_noise(s, metric)
    if not sigma == sigma:
        return Verdict(MISSING, "no seeds recorded to estimate the noise")
    fn, unit = METRICS[metric]
    va, vb = [fn(c.a, r, c.ka) for r in ra], [fn(c.b, r, c.kb) for r in rb]
    if kind == "gain":  # (a - a0) against (b - b0): each side a difference of two runs of the same seeds
        r0a, r0b = runs_of(c.a0, s), runs_of(c.b0, s)
        if not r0a or not r0b:
            return _missing(*[n for n, r in ((c.a0, r0a), (c.b0, r0b)) if not r])
        va = [x - fn(c.a0, r, ()) for x, r in zip(va, r0a)]
        vb = [x - fn(c.b0, r, ()) for x, r in zip(vb, r0b)]
        sigma *= math.sqrt(2)
    names = [f"{c.a}{_knobs(c.ka)}" + (f" − {c.a0}" if kind == "gain" else ""),
             f"{c.b}{_knobs(c.kb)}" + (f" − {c.b0}" if kind == "gain" else "")]
    if smaller:
        va, vb = vb, va  # "a less than b" is "b above a" on this metric
        names.reverse()
    v = difference(va, vb, sigma, unit)
    what = f"{metric}: " if metric != "accuracy" else ""
    return Verdict(v.verdict, f"{what}{names[0]} against {names[1]}: " + v.number + (f"; {where}" if where else ""),
                   v.value)


def _at_each_fraction(c, s: Setting) -> Verdict:
    """A pruning claim "a beats b at the same fraction pruned", read at every fraction the setting's study has: holds
    where it holds at each, does not hold where b beats a beyond the noise at any, else inside the noise. σ is
    pooled over the two methods' own seeds at those fractions (each seed prunes its own images, so these runs vary
    more than the leaderboard's); with under :data:`MIN_DOF` d.o.f., the leaderboard's."""
    from ltnb.chapters.angular import AUTO_PRUNE

    fractions = (AUTO_PRUNE["paper"] if paper_pruning_recorded(s) else AUTO_PRUNE.get(s.preset, AUTO_PRUNE["cpu"]))[0]
    fn, unit = METRICS[c.metric]

    def at(name, knobs, f):
        knobs = tuple((k, f if k == "fraction" else v) for k, v in knobs)
        return [fn(name, r, knobs) for r in runs_of(name, s, knobs)]

    pairs = [(f, at(c.a, c.ka, f), at(c.b or c.a, c.kb, f)) for f in fractions]
    if not all(a and b for _, a, b in pairs):
        return _missing(c.a if not all(a for _, a, _ in pairs) else c.b or c.a)
    sides = [np.asarray(x, dtype=float) for _, a, b in pairs for x in (a, b) if len(x) > 1]
    df = sum(len(x) - 1 for x in sides)
    if df >= MIN_DOF:
        sigma, where = math.sqrt(sum(((x - x.mean()) ** 2).sum() for x in sides) / df), f"σ of these runs' own seeds, {df} d.o.f."
    else:
        sigma, df, where = pooled_noise(s, c.metric)
        if not sigma == sigma:
            return Verdict(MISSING, "no seeds recorded to estimate the noise")
    each = [(f, difference(a, b, sigma, unit)) for f, a, b in pairs]
    verdicts = [v.verdict for _, v in each]
    verdict = FAILS if FAILS in verdicts else HOLDS if all(v == HOLDS for v in verdicts) else NOISE
    worst = min(each, key=lambda fv: fv[1].value)[1]
    return Verdict(verdict, f"{c.a}{_knobs(c.ka)} against {c.b or c.a}{_knobs(c.kb)}, at each fraction: "
                   + "; ".join(f"{f:g}: {v.number.split(' (σ')[0]}" for f, v in each)
                   + f" (σ = {sigma:.2f}, {where}; {len(pairs[0][1])} seed(s))", worst.value)


def _knobs(knobs) -> str:
    return f" ({', '.join(f'{k} {v}' for k, v in knobs)})" if knobs else ""


# ------------------------------------------------------------------ chapters and the Claims page

def show(ctx, chapter: str, figure: str, also=()) -> None:
    """A chapter's cell under a figure or table: the claims it tests (:func:`ltnb.claims.of_chapter`, and the
    claims ``also`` names, made in other chapters' papers about the same runs), each with its verdict at the
    chapter's setting."""
    from ltnb import claims, report

    setting = Setting.of(ctx)
    rows = [(c, evaluate(c, setting)) for c in claims.of_chapter(chapter, figure) + [claims.by_id(i) for i in also]]
    if not rows:
        raise ValueError(f"no claim of chapter {chapter!r} is tested at {figure!r}")
    for box in _at_sweeps_preset(rows, ctx, setting):
        report.verdict_box(*box, changed=ctx.changed)


def _at_sweeps_preset(rows, ctx, setting):
    """The verdict boxes of ``rows``: under a preset recorded for the main tables only, a claim whose runs are
    recorded only at :data:`ltnb.chapters.SWEEPS_AT` (an ablation's row) is read there, in a second box stamped
    with that preset, rather than shown 'not recorded'."""
    from dataclasses import replace

    from ltnb.chapters import MAIN_ONLY, SWEEPS_AT
    from ltnb.presets import PRESETS

    at_sweeps = replace(setting, preset=SWEEPS_AT)
    there = [(c, evaluate(c, at_sweeps)) for c, v in rows
             if setting.preset in MAIN_ONLY and v.verdict == "not recorded"]
    there = [(c, v) for c, v in there if v.verdict != "not recorded"]
    rows = [(c, v) for c, v in rows if c.id not in {c.id for c, _ in there}]
    boxes = []
    for rs, st, stamp in ((rows, setting, ctx.stamp), (there, at_sweeps, f"read at {SWEEPS_AT}, where their runs "
                                                       f"are recorded: {replace(ctx, preset=PRESETS[SWEEPS_AT]).stamp}")):
        if rs:
            sd, df, where = pooled_noise(st)
            noise = (f"run-to-run σ = {sd:.2f} points, pooled over {df} d.o.f. of the leaderboard's seeds"
                     + (f" ({where})" if where else "")) if sd == sd else "no seeds recorded to pool"
            boxes.append((rs, f"{stamp}; {noise}"))
    return boxes


def verdict_of(ctx, claim_id: str) -> Verdict:
    """One claim's verdict at a chapter's setting, for a sentence that states it."""
    from ltnb import claims

    return evaluate(claims.by_id(claim_id), Setting.of(ctx))


def recorded_settings(dataset: str = "fmnist", presets=None) -> list[Setting]:
    """Every (preset, imbalance factor) at which CE's first seed is stored or recorded: where claims can be read."""
    from ltnb import store
    from ltnb.presets import PRESETS

    out = []
    for preset in presets or PRESETS:
        for imb in (1000.0, 500.0, 200.0, 100.0, 50.0, 10.0):
            s = Setting(dataset, imb, preset, (0,))
            if store.exists(_config("CE", s, 0)):
                out.append(s)
    return out


@functools.lru_cache(maxsize=None)
def chapter_seeds(chapter: str, preset: str) -> tuple:
    """The seeds a chapter reads at its defaults under ``preset`` (the Claims page reads what the chapters read)."""
    from ltnb import chapters, params as Pm

    m = chapters.module(chapter)
    ctx, _ = chapters._context(m, Pm.read(m.PARAMETERS, {}), preset, "fmnist", torch.device("cpu"))
    return tuple(ctx.seeds)


def for_claim(claim, setting: Setting) -> Setting:
    """``setting`` with the seeds of the chapter that shows ``claim`` (its paper's chapter if none); a pruning claim
    reads the paper's fractions over their 3 seeds where those are recorded, as the chapter's Figure 6 does."""
    from ltnb.chapters.angular import PAPER_PRUNE_SEEDS

    if any(k == "prune" for k, _ in (*claim.ka, *claim.kb)) and paper_pruning_recorded(setting):
        return replace(setting, seeds=PAPER_PRUNE_SEEDS)
    return replace(setting, seeds=chapter_seeds(claim.chapter or claim.paper, setting.preset))
