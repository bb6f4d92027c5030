"""The papers' imbalance factors: a chapter's main table with one column group per factor.

The papers print their CIFAR main tables at several imbalance factors; a chapter trains its own factor
(``imb``) only. Each chapter declares the factors of its paper's main table (``PAPER_FACTORS`` in its
module) and adds, with :func:`add_group`, one optional plan group holding the main table's rows at the
other factors: the very runs the chapter's own plan builds when it is called with ``imb`` at that factor
(same keys), shown when recorded or stored, never trained by the chapter, trained by ``python -m
ltnb.record``. :func:`gather` reads them factor by factor, :func:`table` lays them out as a pandas
MultiIndex column ``(imb f, metric)`` (shown with :func:`ltnb.report.show` and :func:`stamp`), and
:func:`note` names the factors not recorded yet instead of dropping them silently.
"""
from __future__ import annotations

from typing import Callable

import pandas as pd

from ltnb import store
from ltnb.report import mean_sd
from ltnb.chapters import plan_for, recorded_calls
from ltnb.runs import derived

GROUP = "paper's factors"  # the plan group of every chapter: its main table's rows at the paper's other factors


def ordered(factors, imb: float | None = None) -> list[float]:
    """The distinct factors (with ``imb`` if given), largest first: the papers' order."""
    return sorted({float(f) for f in factors} | ({float(imb)} if imb is not None else set()), reverse=True)


def others(factors, imb: float) -> list[float]:
    """The paper's factors other than the chapter's own ``imb``, largest first."""
    return [f for f in ordered(factors) if f != float(imb)]


def add_group(plan, factors, imb: float, rows_at: Callable[[float], dict], name: str = GROUP,
              derived_at: Callable[[float], dict] | None = None, tier: int = 1, own: bool = True) -> None:
    """Add the optional, recorded group of the main table's rows at the ``factors`` (and at ``imb`` itself when
    ``own``: the same keys as the chapter's main table, so that under a preset recorded for the main tables only,
    :data:`ltnb.chapters.MAIN_ONLY`, the whole factor table is read at the one preset the group is moved to).

    ``rows_at(f)``: row -> one config per seed at factor ``f`` (the chapter's main rows, built as its plan
    builds them); ``derived_at(f)``: row -> the derived kinds the table reads of it. The group's rows are
    ``(f, row)``; nothing is added when no factor but the chapter's own is asked for. ``tier``: 1, a main table's."""
    if not others(factors, imb):
        return
    rows, derived = {}, {}
    for f in ordered(factors, imb) if own else others(factors, imb):
        for row, cfgs in rows_at(f).items():
            rows[(f, row)] = cfgs
        for row, kinds in (derived_at(f) if derived_at else {}).items():
            derived[(f, row)] = kinds
    plan.add(name, rows, tier=tier, optional=True, record=True, derived=derived)


def gather(plan, imb: float, own: dict, name: str = GROUP) -> dict[float, dict | None]:
    """Factor -> row -> runs, largest factor first: ``own`` (the chapter's runs at ``imb``) and, for each
    factor of group ``name``, its rows when every one of their runs is recorded or stored (with the derived
    arrays the group names for it), else None: reading a table never trains. The group's rows at ``imb``, when
    it has them, stand for ``own``: the same runs, or under :data:`ltnb.chapters.MAIN_ONLY` the same rows at the
    group's preset, so that the table shows one preset."""
    out = {float(imb): own}
    group = plan.groups.get(name)
    if group is not None:
        fetched = plan.fetch(name)  # an optional group: only the rows whose runs all exist
        for f in dict.fromkeys(f for f, _ in group.rows):
            rows = [row for g, row in group.rows if g == f]
            rows = [row for row in own if row in rows] + [row for row in rows if row not in own]  # own's order
            ready = all((f, row) in fetched and _has(fetched[(f, row)], group.derived.get((f, row), ()))
                        for row in rows)
            if ready:
                out[f] = {row: fetched[(f, row)] for row in rows}
            elif f == float(imb):  # the chapter's own runs when they are the group's (not recorded, trained here)
                keys = {getattr(c, "key", c) for (g, _), cfgs in group.rows.items() if g == f for c in cfgs}
                same = all(getattr(getattr(r, "config", None), "key", None) in keys for rs in own.values() for r in rs)
                out[f] = own if same else None
            else:
                out[f] = None
    return {f: out[f] for f in ordered(out)}


def _has(runs, kinds) -> bool:
    """Whether the derived arrays ``kinds`` of these runs can be read without training: a recording keeps only
    the kinds recorded for it (asking for another trains the run), a run in the store computes any."""
    if not kinds:
        return True

    return all(not getattr(r, "recorded", False) or all(derived.stored(r, k) is not None for k in kinds)
               for r in runs)


def missing(columns: dict[float, dict | None]) -> list[float]:
    """The factors of ``columns`` whose runs are not all recorded or stored."""
    return [f for f, runs in columns.items() if runs is None]


def table(columns: dict[float, dict | None], splits=("accuracy", "few"),
          paper: Callable[[float], dict] | None = None, paper_label: str = "paper") -> pd.DataFrame:
    """One row per method, one column group ``imb f`` per factor whose runs are all there (in the order of
    ``columns``), each with ``splits`` (last-epoch test accuracy in %, mean ± std over the seeds) and, where
    ``paper(f)`` gives the paper's printed numbers at ``f`` (row -> text), a ``paper_label`` column.

    A row a factor does not have reads '–'; rows keep the order in which the factors first name them. A split
    that is empty in every cell (no class of the data set falls in it, e.g. few on 10 classes) is left out."""
    shown = {f: runs for f, runs in columns.items() if runs is not None}
    rows = list(dict.fromkeys(row for runs in shown.values() for row in runs))
    if not shown:
        return pd.DataFrame(index=pd.Index(rows, name="method"))
    data, keys = {}, []
    for f, runs in shown.items():
        head = f"imb {f:g}"
        for s in splits:
            keys.append((head, s))
            data[(head, s)] = [mean_sd([r.metrics.get(s, float("nan")) for r in runs[row]]) if row in runs else "–"
                               for row in rows]
        printed = paper(f) if paper else None
        if printed:
            keys.append((head, paper_label))
            data[(head, paper_label)] = [printed.get(row, "–") for row in rows]
    empty = {s for s in splits if all(v == "–" for (h, m), col in data.items() if m == s for v in col)}
    keys = [k for k in keys if k[1] not in empty]  # a split this data set has no class in (few on 10 classes)
    return pd.DataFrame({k: data[k] for k in keys}, index=pd.Index(rows, name="method"),
                        columns=pd.MultiIndex.from_tuples(keys))


def stamp(ctx, columns: dict[float, dict | None], plan=None, name: str = GROUP) -> str:
    """The chapter's stamp with the factors of the table in place of its own: data set, preset (that of group
    ``name`` of ``plan`` when given), seeds."""
    if plan is not None and name in plan.groups:
        ctx = plan.context(ctx, name)
    shown = [f"{f:g}" for f, runs in columns.items() if runs is not None] or [f"{ctx.imb:g}"]
    return ctx.stamp.replace(f"imb {ctx.imb:g}", f"imb {', '.join(shown)}", 1)


def missing_note(plan, ctx, columns: dict[float, dict | None], name: str = GROUP, label: str = "imb") -> str | None:
    """One line naming the factors not recorded yet and the command that records them; None if none.

    The command is ``python -m ltnb.record`` when the recorder's plan (the book's recorded calls: the chapters
    at their default parameters) holds those runs; otherwise the line says so and how to train them."""
    gone = missing(columns)
    if not gone:
        return None

    group = plan.groups[name]
    preset = plan.preset_of(name, ctx.preset.name)
    todo = {c.key for (f, row), cfgs in group.rows.items() if f in gone for c in cfgs  # missing, or its arrays
            if not store.exists(c) or not _has([store.load(c)], group.derived.get((f, row), ()))}
    planned = set()  # what `python -m ltnb.record` trains: the recorded calls' groups, optional ones if record=True
    for chapter, values in recorded_calls(preset):
        there = plan_for(chapter, preset, dataset=ctx.dataset, **values)
        planned |= {c.key for g in there.groups.values() if g.record or not g.optional
                    for cfgs in g.rows.values() for c in cfgs}
    where = ", ".join(f"{f:g}" for f in gone)
    n = f"{len(todo)} run{'s' if len(todo) != 1 else ''}"
    if todo <= planned:
        return (f"Not recorded yet at {label} {where} ({n}): `python -m ltnb.record --preset {preset} "
                f"--dataset {ctx.dataset}` records {'it' if len(gone) == 1 else 'them'}.")
    return (f"Not recorded yet at {label} {where} ({n}), and not among the runs `python -m ltnb.record` records "
            f"(the chapters at their default parameters): this chapter called with `imb` set to "
            f"{'that factor' if len(gone) == 1 else 'each of them'} and these parameters trains them.")


def note(plan, ctx, columns: dict[float, dict | None], name: str = GROUP, label: str = "imb") -> None:
    """Display :func:`missing_note` under the table, when a factor is not recorded yet."""
    text = missing_note(plan, ctx, columns, name, label)
    if text:
        from IPython.display import Markdown, display

        display(Markdown(text))
