"""Tables for the chapters: measured numbers (mean ± std over seeds) beside the literature's."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ltnb import reference
from ltnb.runs import Run

SPLITS = ("accuracy", "many", "medium", "few")


def _cell(values) -> str:
    values = [v for v in values if v == v]  # drop NaN (an empty split)
    if not values:
        return "–"
    m = 100 * float(np.mean(values))
    return f"{m:.2f}" if len(values) == 1 else f"{m:.2f} ± {100 * float(np.std(values, ddof=1)):.2f}"


def literature_cell(key: str | None, dataset: str, imb: float) -> str:
    """The numbers the five papers report for ``key`` in this setting, e.g. ``77.0 (lgla T1)``."""
    if key is None or float(imb) != int(imb):
        return ""
    try:
        rows = reference.literature(key, dataset, int(imb))
    except ValueError:
        return ""
    return ", ".join(f"{r.value:g} ({r.paper} {r.table.replace('Table ', 'T')})" for r in rows.itertuples())


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
            row[s] = _cell([r.metrics.get(s, float("nan")) for r in rs])
        row["ECE"] = _cell([r.metrics["ece"] for r in rs])
        row["seeds"] = len(rs)
        if literature_dataset:
            row[f"reported on {literature_dataset}-LT"] = literature_cell(
                (keys or {}).get(name), literature_dataset, imb)
        row.update((extra or {}).get(name, {}))
        rows.append(row)
    return pd.DataFrame(rows).set_index("method")


def show(df: pd.DataFrame, stamp: str, caption: str = ""):
    """Display a table with its caption and the stamp of the runs behind it."""
    import hashlib

    from IPython.display import HTML, display

    text = f"{caption} — {stamp}" if caption else stamp
    uid = hashlib.sha1(text.encode()).hexdigest()[:8]  # stable ids: the same table renders to the same HTML
    # as HTML: a Styler's plain-text form carries its memory address, which changed the notebook on every run
    display(HTML(df.style.set_caption(text).set_uuid(uid).to_html()))
