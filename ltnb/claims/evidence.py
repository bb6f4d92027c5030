"""What the runs say about each claim of :mod:`ltnb.claims`: the quantities read off a run, the settings a
claim is read at, its verdict (:mod:`ltnb.stats`' rules) and the boxes the chapters print.

Per-class trends are read against the balanced reference (``CE, balanced``: CE on a balanced subset as large
as the long-tailed set, same network and schedule); see :mod:`ltnb.stats`. Nothing here trains: a run or
an array that is not stored or recorded leaves the claim "not recorded" at that setting.
"""
from __future__ import annotations

import math
import re
from dataclasses import replace

import numpy as np

from ltnb import claims, data, report, store
from ltnb.chapters import MAIN_ONLY, SWEEPS_AT
from ltnb.chapters.angular import AUTO_PRUNE
from ltnb.claims import KNOB_WORDS, METRIC_WORDS, knob_words, paper_gap, run_words  # noqa: F401 (the API)
from ltnb.claims.readouts import (
    EXPERT_STATS,
    FEATURE_STATS,
    LEADS,
    METRICS,
    PER_CLASS,
    REFERENCE_OF,
    feature_labels,
    features_of,
    sampler_tail_share, batch_imbalance,
)
from ltnb.claims.reads import REFERENCE, SEEDS_READ, Setting, paper_factors, config_of, paper_pruning_recorded, runs_read, shares_runs, sides  # noqa: F401 (API)
from ltnb.presets import PRESETS
from ltnb.runs import derived
from ltnb.stats import (  # noqa: F401 (API)
    FAILS,
    HOLDS,
    MISSING,
    NOISE,
    SMALLER,
    TOO_FEW,
    UNTESTABLE,
    VERDICTS,
    Verdict,
    against_reference,
    at_every,
    best_of,
    compare,
    counts,
    dispersion,
    fdr,
    trend_per_seed,
)

EXACT = ("trainable_parameters", "tail_sampling_share", "batch_imbalance")  # compared exactly: counts, and the samplers' class shares
SCALARS = (*METRICS, *FEATURE_STATS, *EXPERT_STATS, *EXACT)  # what a "less" / "more" claim can compare


def runs_of(method: str, setting: Setting, knobs=()) -> list:
    """The stored or recorded runs of ``method`` at ``setting``'s seeds (those that exist; nothing trains)."""
    return list(seeded(method, setting, knobs).values())


def seeded(method: str, setting: Setting, knobs=()) -> dict:
    """seed -> the stored or recorded run of ``method`` at ``setting``, for the seeds that exist."""
    found = {s: _load(config_of(method, setting, s, knobs)) for s in setting.seeds}
    return {s: r for s, r in found.items() if r is not None}


def every_seed(runs) -> list:
    """The runs a page shows (one config, the page's seeds) at every seed recorded of that config, as a verdict reads
    them: what a sentence judging them by their seeds reads. Nothing trains."""
    cfg = runs[0].config
    found = [_load(replace(cfg, seed=s)) for s in SEEDS_READ]
    return [r for r in found if r is not None]


_LOADED: dict = {}


def _load(cfg):
    """A stored or recorded run, read once per process (a page reads each run many times; its arrays are read once
    per :class:`ltnb.store.Run`)."""
    key = (cfg.key, store.source(cfg), str(store.store_root()))
    if key not in _LOADED:
        _LOADED[key] = store.load(cfg)
    return _LOADED[key]


def _safe(fn) -> float:
    try:
        return float(fn())
    except (FileNotFoundError, KeyError, IndexError, TypeError, ValueError, ZeroDivisionError):
        return math.nan  # a view or a quantity this run does not have: not counted


# ------------------------------------------------------------------ verdicts

def evaluate(claim, setting: Setting) -> Verdict:
    """The verdict on ``claim`` (:class:`ltnb.claims.Claim`) from the runs recorded or stored at ``setting``."""
    if claim.kind == "untestable":
        return Verdict(UNTESTABLE, claim.why)
    if claim.rivals:
        return _best_of(claim, setting)
    try:  # the readouts read through ltnb.runs.derived.read: a recording that lacks arrays raises, nothing trains
        return _evaluate(claim, setting)
    except FileNotFoundError as err:  # a view that needs arrays the recording does not keep (named by key, not path)
        found = re.search(r"([0-9a-f]{16}) has no (\S+?):", str(err))
        return Verdict(MISSING, f"the recording of run {found.group(1)} keeps no "
                                f"{derived.KIND_WORDS.get(found.group(2), found.group(2))}" if found
                       else "a run lacks what this needs")
    except KeyError as err:  # a recording made for a chapter that reads less of it (no test features, say)
        return Verdict(MISSING, f"a run's recording lacks {err}")
    except ValueError as err:  # runs too short to read it from (a smoke run: a class never seen)
        return Verdict(MISSING, f"cannot be read from these runs: {err}")


def _best_of(claim, setting: Setting) -> Verdict:
    """A "best of a set" claim: ``a`` against ``b`` and each rival (:func:`~ltnb.claims.reads.sides`), each by its
    own runs, then :func:`ltnb.stats.best_of` (an intersection-union test). A rival not recorded at the setting is
    named and left out."""
    each = [(run_words(m, k), evaluate(replace(claim, b=m, kb=k, rivals=()), setting)) for m, k in sides(claim)]
    absent = [r for r, v in each if v.verdict == MISSING]
    if each[0][0] in absent or len(absent) == len(each):
        return _missing(*absent)
    v = best_of(claim.a, [(r, v) for r, v in each if v.verdict != MISSING])
    return replace(v, number=v.number + (f"; not recorded here: {', '.join(absent)}" if absent else ""))


def _missing(*names) -> Verdict:
    return Verdict(MISSING, f"no run of {', '.join(dict.fromkeys(names))} recorded at this setting")  # each name once


def _per_class(method, run, quantity, knobs=()) -> np.ndarray:
    return np.asarray(PER_CLASS[quantity][0](method, run, knobs), dtype=float)


def _each(fn, runs: dict) -> dict:
    """seed -> ``fn(run)`` for the runs whose recordings keep what ``fn`` reads (a seed recorded for a table only
    lacks the features a statistic needs: it is left out, and the count of seeds says so); the first error is
    raised again when no run has it."""
    out, first = {}, None
    for sd, r in runs.items():
        try:
            out[sd] = fn(r)
        except (FileNotFoundError, KeyError) as err:
            first = first or err
    if not out and first is not None:
        raise first
    return out


def _aligned(va: dict, vb: dict, paired: bool) -> tuple[list, list]:
    """The two sides' values as lists; paired: the seeds both have, in the same order."""
    if paired:
        common = [sd for sd in va if sd in vb]
        return [va[sd] for sd in common], [vb[sd] for sd in common]
    return list(va.values()), list(vb.values())


def _evaluate(c, s: Setting) -> Verdict:
    kind, q = c.kind, c.quantity
    if q == "tail_sampling_share":  # a property of the samplers on this setting's class counts: exact

        info = data.dataset_info(s.dataset)
        n = data.lt_counts(info.train_per_class, info.num_classes, s.imb)
        va, vb = sampler_tail_share(n, c.a), sampler_tail_share(n, c.b)
        ok = va < vb if kind == "less" else va > vb
        sw = KNOB_WORDS["sampler"]
        return Verdict(HOLDS if ok else FAILS, f"tail share {va:.3f} ({sw(c.a)}) against {vb:.3f} ({sw(c.b)}), exact")
    if q == "batch_imbalance":  # a property of the batch plans on this setting's class counts: exact
        info = data.dataset_info(s.dataset)
        n = data.lt_counts(info.train_per_class, info.num_classes, s.imb)
        B = PRESETS[s.preset].batch_size
        va, vb = (batch_imbalance(n, k, B) for k in (c.a, c.b))
        floor = -(-B // len(n)) / (B // len(n))  # a batch of whole images is no more even than ceil(B/C) : floor(B/C)
        va, vb = (max(v, floor) for v in (va, vb))
        ok = va < vb if kind == "less" else va > vb
        sw = KNOB_WORDS["sampler"]
        return Verdict(HOLDS if ok else FAILS, f"largest over smallest class share of a batch {va:.2f} ({sw(c.a)}) "
                                               f"against {vb:.2f} ({sw(c.b)}), exact; a batch of {B} whole images "
                                               f"is at best {floor:.2f} ({-(-B // len(n))} against {B // len(n)})")
    if kind == "positive":  # a lead per run, above 0 across the seeds (the one-sample t: paired against 0)
        runs = seeded(c.method, s, c.ka)
        if not runs:
            return _missing(c.method)
        fn, label, unit, difficulty = LEADS[q]
        if difficulty:  # run i of the method with run i of the balanced reference (independent runs)
            ref = seeded(REFERENCE, s)
            if not ref:
                return _missing(REFERENCE)
            base = [PER_CLASS["accuracy"][0](REFERENCE, r, ()) for r in ref.values()]
            lead = list(_each(lambda rb: fn(*rb), dict(zip(runs, zip(runs.values(), base)))).values())
        else:
            lead = list(_each(fn, runs).values())
        return compare(lead, [0.0] * len(lead), paired=True, unit=unit, label=label, how="one-sample t against 0")
    if kind == "trend":
        runs = seeded(c.method, s, c.ka)
        if not runs:
            return _missing(c.method)
        values = _each(lambda r: _per_class(c.method, r, q, c.ka), runs)
        if c.against:  # one per-class quantity against another of the same runs, per seed
            x = [_per_class(c.method, runs[sd], c.against, c.ka) for sd in values]
            return trend_per_seed(list(values.values()), x, c.direction,
                                  what=f", {PER_CLASS[q][2]} against {PER_CLASS[c.against][2]}",
                                  lead=f"ρ ({'positive' if c.direction == 'head' else 'negative'} as claimed)")
        sizes = next(iter(runs.values())).metrics["counts"]
        rq = REFERENCE_OF.get(q, q)
        if rq is None:  # a quantity the balanced reference has no counterpart of: the raw trend, said so
            return trend_per_seed(list(values.values()), sizes, c.direction, what=", raw (no balanced counterpart)")
        ref = seeded(REFERENCE, s)
        if not ref:
            return _missing(REFERENCE)
        base = list(_each(lambda r: _per_class(REFERENCE, r, rq), ref).values())
        rows = []  # run i of the method against run i of the reference (independent runs: any pairing is fair)
        for v, b in zip(values.values(), base):
            log = PER_CLASS[q][1] and (v > 0).all() and (b > 0).all()  # a class at 0: the difference instead
            rows.append(against_reference(v, b, log=log))
        raw = trend_per_seed(list(values.values())[:len(rows)], sizes, c.direction, min_seeds=1).value  # same runs
        return trend_per_seed(rows, sizes, c.direction, what=f", against the balanced reference (raw mean {raw:+.2f})")
    if kind == "beats" and dict(c.ka).get("fraction") == "each":
        return _at_each_fraction(c, s)
    A, B = (c.a, c.ka), (c.b or c.a, c.kb)
    ra, rb = seeded(A[0], s, A[1]), seeded(B[0], s, B[1])
    if not ra or not rb:
        return _missing(*[n for n, r in ((c.a, ra), (c.b or c.a, rb)) if not r])
    paired = shares_runs(s, A, B)
    if paired:  # the same training run each seed: the seeds both have, in order
        common = [sd for sd in ra if sd in rb]
        ra, rb = {sd: ra[sd] for sd in common}, {sd: rb[sd] for sd in common}
    how = "the same training run each seed" if paired else "independent runs"
    smaller = kind in ("less", "flatter")
    if kind == "flatter":  # the spread across classes (sd / mean), per run; claimed: a's below b's
        qb = c.quantity_b or q
        da = _each(lambda r: float(dispersion(_per_class(c.a, r, q, c.ka))), ra)
        db = _each(lambda r: float(dispersion(_per_class(B[0], r, qb, c.kb))), rb)
        da, db = _aligned(da, db, paired)
        sides = (f"of {PER_CLASS[qb][2]}, {B[0]} − {c.a}" if B[0] != c.a or qb == q else  # one run, two readings
                 f"of {c.a}'s per-class values, {PER_CLASS[qb][2]} − {PER_CLASS[q][2]}")
        return compare(db, da, paired, unit="", digits=3, label=f"spread (sd/mean) {sides} ({how})")
    if q in FEATURE_STATS or q in EXPERT_STATS:  # a statistic of each run's features, then across runs
        if q in FEATURE_STATS:
            stat, label, labelled = FEATURE_STATS[q]
            split = "train" if q.startswith("train_") else "test"

            def one(r):
                x = features_of(r, split)
                if labelled:
                    x = np.column_stack([x, feature_labels(r, split)])
                return float(np.mean(stat(x))) if labelled == "items" else float(stat(x))
        else:
            (fn, label) = EXPERT_STATS[q]

            def one(r):
                return float(np.mean(fn(r)))
        va, vb = _aligned(_each(one, ra), _each(one, rb), paired)
        if smaller:
            return compare(vb, va, paired, unit="", digits=3, label=f"{label}: {B[0]} − {c.a} ({how})")
        return compare(va, vb, paired, unit="", digits=3, label=f"{label}: {c.a} − {B[0]} ({how})")
    if q == "trainable_parameters":  # exact counts
        na, nb = (int(next(iter(r.values())).metrics["trainable_parameters"]) for r in (ra, rb))
        ok = na < nb if smaller else na > nb
        return Verdict(HOLDS if ok else FAILS, f"{na:,} against {nb:,} trainable parameters, exact")
    metric = "few" if kind == "beats_few" else c.metric if kind in ("beats", "gain") else q
    first = next(iter(ra.values()))
    if metric in ("few", "medium", "many") and math.isnan(_safe(lambda: METRICS[metric][0](c.a, first, c.ka))):
        return Verdict(UNTESTABLE, f"no class is '{metric}' at this imbalance factor (few: under 20 training "
                                   f"images, many: over 100)")
    fn, unit = METRICS[metric]
    va = _each(lambda r: fn(c.a, r, c.ka), ra)
    vb = _each(lambda r: fn(B[0], r, c.kb), rb)
    if kind == "gain":  # (a - a0) against (b - b0): each side seed by seed against its own reference run
        r0a, r0b = seeded(c.a0, s), seeded(c.b0, s)
        if not r0a or not r0b:
            return _missing(*[n for n, r in ((c.a0, r0a), (c.b0, r0b)) if not r])
        va = {sd: x - fn(c.a0, r0a[sd], ()) for sd, x in va.items() if sd in r0a}
        vb = {sd: x - fn(c.b0, r0b[sd], ()) for sd, x in vb.items() if sd in r0b}
    names = [run_words(c.a, c.ka) + (f" − {c.a0}" if kind == "gain" else ""),
             run_words(B[0], c.kb) + (f" − {c.b0}" if kind == "gain" else "")]
    xa, xb = _aligned(va, vb, paired)
    if smaller:
        xa, xb = xb, xa  # "a less than b" is "b above a" on this metric
        names.reverse()
    gap, where = paper_gap(c, s.imb) if kind in ("beats", "beats_few", "gain") else (math.nan, "")
    what = f"{METRIC_WORDS.get(metric, metric)}: " if metric != "accuracy" else ""
    unit = "points" if unit == "points" or unit == "ECE points" else ""
    return compare(xa, xb, paired, unit, paper=gap, paper_where=where,
                   label=f"{what}{names[0]} − {names[1]} ({how})")


def _at_each_fraction(c, s: Setting) -> Verdict:
    """A pruning claim "a beats b at the same fraction pruned", read at every fraction the setting's study has, each
    by the two methods' own seeds there (each seed prunes its own images; the runs are independent), then the rule
    of :func:`ltnb.stats.at_every`."""
    fractions = (AUTO_PRUNE["paper"] if paper_pruning_recorded(s) else AUTO_PRUNE.get(s.preset, AUTO_PRUNE["cpu"]))[0]
    fn, unit = METRICS[c.metric]

    def at(name, knobs, f):
        knobs = tuple((k, f if k == "fraction" else v) for k, v in knobs)
        return [fn(name, r, knobs) for r in runs_of(name, s, knobs)]

    pairs = [(f, at(c.a, c.ka, f), at(c.b or c.a, c.kb, f)) for f in fractions]
    if not all(a and b for _, a, b in pairs):
        return _missing(c.a if not all(a for _, a, _ in pairs) else c.b or c.a)
    v = at_every([(f, compare(a, b, unit=unit)) for f, a, b in pairs])
    return replace(v, number=f"{run_words(c.a, c.ka)} − {run_words(c.b or c.a, c.kb)}: {v.number} (Welch at each; "
                             f"{len(pairs[0][1])} against {len(pairs[0][2])} seeds)")


# ------------------------------------------------------------------ chapters and the Claims page

_AT: dict = {}


def verdicts_at(setting: Setting) -> tuple[dict, dict]:
    """Every claim's verdict at ``setting`` (every recorded seed), after the false discovery rate is controlled over
    the setting's tests (:func:`ltnb.stats.fdr`), and the summary of that control: what the Claims page and every
    chapter's boxes print, so that they agree. Computed once per process and setting."""

    key = (replace(setting, seeds=SEEDS_READ), _store_state())
    if key not in _AT:
        raw = [evaluate(c, key[0]) for c in claims.CLAIMS]
        adjusted, summary = fdr(raw)
        _AT[key] = ({c.id: v for c, v in zip(claims.CLAIMS, adjusted)}, summary)
    return _AT[key]


def _store_state():
    return str(store.store_root()), str(store.recorded_root())


def show(ctx, chapter: str, figure: str, also=()) -> None:
    """A chapter's cell under a figure or table: the claims it tests (:func:`ltnb.claims.of_chapter`, and the
    claims ``also`` names, made in other chapters' papers about the same runs), each with its verdict at the
    chapter's setting; a claim the paper makes at other imbalance factors than the chapter's (``Claim.imbs``) is
    shown apart, as "beyond the paper". Under a preset recorded for the main tables only, a claim whose runs are
    recorded only at :data:`ltnb.chapters.SWEEPS_AT` is held back for :func:`show_moved`, which the chapter calls in
    its section at that preset: no section mixes presets."""
    setting = Setting.of(ctx)
    at = verdicts_at(setting)[0]
    rows = [(c, at[c.id]) for c in claims.of_chapter(chapter, figure) + [claims.by_id(i) for i in also]]
    if not rows:
        raise ValueError(f"no claim of chapter {chapter!r} is tested at {figure!r}")
    here, there = _split_at_sweeps(rows, setting)
    if there:
        _MOVED.setdefault((chapter, setting), []).extend((figure, c, v) for c, v in there)
        here = here + [(c, Verdict(MISSING, f"recorded at {SWEEPS_AT} only: its verdict is in the section at "
                                            f"{SWEEPS_AT} below")) for c, _ in there]
    for box in _boxes(here, ctx.stamp, setting):
        report.verdict_box(*box, changed=ctx.changed, seeds=ctx.seeds)


_MOVED: dict = {}  # (chapter, setting) -> (figure, claim, verdict at SWEEPS_AT) held back by show() for show_moved()


def show_moved(ctx, chapter: str) -> None:
    """In a chapter's section at :data:`ltnb.chapters.SWEEPS_AT`: the verdicts :func:`show` held back from the
    headline section (claims whose runs are recorded only at that preset), stamped with it."""
    moved = _MOVED.pop((chapter, Setting.of(ctx)), [])
    if not moved:
        return
    stamp = replace(ctx, preset=PRESETS[SWEEPS_AT]).stamp
    rows = list({c.id: (c, v) for _, c, v in moved}.values())
    figures = ", ".join(dict.fromkeys(f for f, _, _ in moved))
    for box in _boxes(rows, f"the claims of {figures} above whose runs are recorded at {SWEEPS_AT} only: {stamp}",
                      Setting.of(ctx)):
        report.verdict_box(*box, changed=ctx.changed, seeds=ctx.seeds)


RULE = ("each verdict from the compared runs' own seeds: Welch's 95% interval, paired where both sides read the same "
        "training run; a verdict needs 3 seeds a side; the false discovery rate controlled over the setting's tests")


def where_claimed(claim, imb: float) -> bool:
    """Whether the paper makes ``claim`` at imbalance factor ``imb`` (:func:`~ltnb.claims.reads.paper_factors`)."""
    return float(imb) in paper_factors(claim)


def _split_at_sweeps(rows, setting):
    """(rows read at ``setting``, rows read at :data:`ltnb.chapters.SWEEPS_AT` instead): under a preset recorded for the
    main tables only, a claim whose runs are recorded only at that preset (an ablation's row) is read there rather
    than shown 'not recorded'."""
    if setting.preset not in MAIN_ONLY:
        return rows, []
    at_sweeps = verdicts_at(replace(setting, preset=SWEEPS_AT))[0]
    there = [(c, at_sweeps[c.id]) for c, v in rows if v.verdict == MISSING and at_sweeps[c.id].verdict != MISSING]
    moved = {c.id for c, _ in there}
    return [(c, v) for c, v in rows if c.id not in moved], there


def _boxes(rows, stamp: str, setting):
    """The verdict boxes of ``rows``: those the paper makes at ``setting``'s factor, and apart, headed "beyond the
    paper", those it makes at other factors."""
    boxes, claimed = [], [(c, v) for c, v in rows if where_claimed(c, setting.imb)]
    beyond = [(c, v) for c, v in rows if not where_claimed(c, setting.imb)]
    if claimed:
        boxes.append((claimed, f"{stamp}; {RULE}"))
    if beyond:
        factors = ", ".join(f"{f:g}" for f in sorted({f for c, _ in beyond for f in paper_factors(c)}))
        unnamed = " (where it names none, the book reads it at 100)" if any(not c.imbs for c, _ in beyond) else ""
        boxes.append((beyond, f"beyond the paper, which makes these claims at imbalance {factors}{unnamed}, "
                              f"not {setting.imb:g}: {stamp}; {RULE}"))
    return boxes


def recorded_settings(dataset: str = "fmnist", presets=None) -> list[Setting]:
    """Every (preset, imbalance factor) at which CE's first seed is stored or recorded: where claims can be read."""

    out = []
    for preset in presets or PRESETS:
        for imb in (1000.0, 500.0, 200.0, 100.0, 50.0, 10.0):
            s = Setting(dataset, imb, preset, (0,))
            if store.exists(config_of("CE", s, 0)):
                out.append(s)
    return out


def for_claim(claim, setting: Setting) -> Setting:
    """``setting`` reading every recorded seed (:data:`SEEDS_READ`): a verdict reads them all, whichever chapter
    shows it."""
    return replace(setting, seeds=SEEDS_READ)
