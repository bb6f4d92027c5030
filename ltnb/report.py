"""Tables for the chapters: measured numbers (mean ± std over seeds) beside the literature's."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from ltnb import reference
from ltnb.kernels.evaluate import not_probabilities
from ltnb.store import Run

SPLITS = ("accuracy", "many", "medium", "few")


def words(names) -> str:
    """"a", "a and b", "a, b and c": names as a sentence lists them."""
    names = [str(n) for n in names]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def n_of(n: int, noun: str) -> str:
    """"1 seed", "3 seeds": a count with its noun in the right number."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def mean_sd(values, scale: float = 100.0) -> str:
    """The book's one cell for a number over seeds: the mean of ``values`` times ``scale`` (fractions to %), and
    ± their standard deviation over the seeds (n - 1) when there are several; NaN (an empty split) dropped, "–" for
    none."""
    values = [scale * float(v) for v in values if v == v]
    if not values:
        return "–"
    m = float(np.mean(values))
    return f"{m:.2f}" if len(values) == 1 else f"{m:.2f} ± {float(np.std(values, ddof=1)):.2f}"


def literature_cell(key: str | None, dataset: str, imb: float, exclude=()) -> str:
    """The numbers the five papers (but those in ``exclude``) report for ``key`` in this setting, e.g. ``77.0 (lgla
    T1)``."""
    if key is None or float(imb) != int(imb):
        return ""
    try:
        rows = reference.literature(key, dataset, int(imb))
    except ValueError:
        return ""
    tables: dict = {}  # one paper printing the same number in several tables: said once, with its tables
    for r in rows.itertuples():
        if r.paper not in exclude:
            tables.setdefault((r.value, r.paper), []).append(r.table.replace("Table ", "T"))
    return ", ".join(f"{value:g} ({paper} {', '.join(dict.fromkeys(ts))})" for (value, paper), ts in tables.items())


def ece_cell(rs, view: str = "run") -> str:
    """ECE (%) over the seeds, or '–' where the scores are not probabilities (:func:`evaluate.not_probabilities`)."""
    r = rs[0]
    if not_probabilities(getattr(getattr(r, "config", None), "stage2", None), r.metrics.get("prediction"), view):
        return "–"
    return mean_sd([x.metrics["ece"] for x in rs])


ECE_NOTE = ("ECE (15 bins) is shown only where the test scores are the softmax the training fitted; '–' marks "
            "angular scores (L2A, ABS, and the rows that use ALAS) and τ-norm's re-scaled weights, which are not probabilities "
            "(no temperature is fitted here).")


def accuracy_table(runs: dict[str, list[Run]], keys: dict[str, str] | None = None,
                   splits=SPLITS, literature_dataset: str | None = None, imb: float | None = None,
                   extra: dict[str, dict[str, str]] | None = None) -> pd.DataFrame:
    """One row per method: last-epoch test accuracy (%) overall and by split, mean ± std over seeds.

    With ``literature_dataset`` set, a column gives the numbers the papers report for that
    dataset at ``imb`` (by the method's key in ``keys``).
    """
    rows = []
    for name, rs in runs.items():
        row = {"method": name}
        for s in splits:
            row[s] = mean_sd([r.metrics.get(s, float("nan")) for r in rs])
        row["ECE"] = ece_cell(rs)
        row["seeds"] = len(rs)
        if literature_dataset:
            row[f"reported on {literature_dataset}-LT"] = literature_cell(
                (keys or {}).get(name), literature_dataset, imb)
        row.update((extra or {}).get(name, {}))
        rows.append(row)
    return pd.DataFrame(rows).set_index("method")


SPLIT_NAMES = ("many", "medium", "few")  # the splits by training images: > 100, 20-100, < 20


def drop_empty_splits(df: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """``df`` without its split columns (many, medium, few, with or without a unit) that no row has a value in: at
    imbalance 10 on Fashion-MNIST the smallest class has 600 images, so no class is 'few'. Returns the names left out."""
    def blank(v) -> bool:
        return v is None or (isinstance(v, float) and v != v) or (isinstance(v, str) and v.strip() in ("", "–", "-", "nan"))

    empty = [c for c in df.columns if isinstance(c, str) and c.split(" (")[0].split(" ")[0].lower() in SPLIT_NAMES
             and len(df) and all(blank(v) for v in df[c])]
    return df.drop(columns=empty), list(dict.fromkeys(c.split(" (")[0] for c in empty))


def show(df: pd.DataFrame, stamp: str, caption: str = ""):
    """Display a table with its caption and the stamp of the runs behind it."""
    import hashlib

    from IPython.display import HTML, display

    df, empty = drop_empty_splits(df)
    if empty:
        caption = (caption + " " if caption else "") + (f"(no class is {' or '.join(empty)} at this imbalance factor: "
                                                         f"{'that column' if len(empty) == 1 else 'those columns'} left out)")
    text = f"{caption} — {stamp}" if caption else stamp
    uid = hashlib.sha1(text.encode()).hexdigest()[:8]  # stable ids: the same table renders to the same HTML
    # as HTML: a Styler's plain-text form carries its memory address, which changed the notebook on every run
    display(HTML(df.style.set_caption(text).set_uuid(uid).to_html()))


VERDICT_STYLE = {"holds": "#1b7837", "does not hold": "#b2182b", "inside the noise": "#8c6d1f",
                 "smaller than claimed": "#2166ac", "too few runs": "#7b3294", "not testable here": "#666666",
                 "not recorded": "#999999"}


def verdict_badge(verdict: str) -> str:
    return (f'<span class="ltnb-verdict" style="color:{VERDICT_STYLE.get(verdict, "#333")};'
            f'font-weight:600">{verdict}</span>')


def verdict_box(rows, stamp: str, changed=(), seeds=()):
    """The claims a figure or table tests, each with its verdict and the number behind it.

    ``rows``: (claim, verdict) pairs (:mod:`ltnb.claims`, :mod:`ltnb.stats`). ``changed``: the chapter knobs the
    reader set away from their defaults; the claims are defined on the book's runs at the defaults, so the caption
    then says that the verdicts do not test what the tables above show. ``seeds``: the seeds the page's tables and
    figures show; where a verdict reads more, the caption says so (a difference of more seeds can differ in sign)."""
    import html

    from IPython.display import HTML, display

    items = "".join(
        f'<tr><td><code>{c.id}</code></td><td>{html.escape(c.where)}</td><td style="white-space:normal">'
        f'{html.escape(c.text)}</td><td>{verdict_badge(v.verdict)}</td><td style="white-space:normal">'
        f'{html.escape(v.number)}</td></tr>' for c, v in rows)
    what = "these runs show" if not changed else "the book's runs show at this chapter's default knobs"
    tail = "" if not changed else (
        ". This page sets " + ", ".join(f"{k} {json.dumps(v) if isinstance(v, (list, bool)) or v is None else v}"
                                        for k, v in changed)
        + ", which these verdicts do not test: compare with the table above by hand")
    more = [v for _, v in rows if v.seeds and max(v.seeds) > len(seeds)] if seeds else []
    if more:
        tail += (f"; each verdict reads every recorded seed (its number says how many a side), the tables and figures "
                 f"above the {len(seeds)} seed{'s' if len(seeds) > 1 else ''} of their stamp: where the two differ, "
                 "the verdict's difference is the better estimate")
    display(HTML(f'<div class="ltnb-claims"><table><caption>What the papers claim here, and what {what} — '
                 f'{html.escape(stamp + tail)}</caption><thead><tr><th>claim</th><th>paper</th><th>in short</th>'
                 f'<th>verdict</th><th>the number behind it</th></tr></thead><tbody>{items}</tbody></table></div>'))
