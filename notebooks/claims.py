# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Claims: what holds here
#
# Every checkable claim of the five papers, in this book's words, with where the paper makes it
# and what the book's own runs say about it. A verdict is computed when this page executes, from
# the runs recorded with the book, so it follows the recordings: another imbalance factor, another
# preset, the papers' schedule once it is recorded. The chapters print the same verdicts beside the
# figure or table that tests each claim.
#
# * **holds**: the runs show it beyond the noise; **does not hold**: they show the opposite beyond
#   the noise; **inside the noise**: neither; **not testable here**: the claim needs what this book
#   does not have (ImageNet, a ViT, CIFAR, a method it does not train), said in each row;
#   **not recorded**: the runs are not recorded at that setting (yet).
# * **"Method A beats B"** is a difference of last-epoch accuracies (means over the seeds recorded)
#   against the run-to-run standard deviation σ pooled over the leaderboard's seeds at the same
#   setting: it decides beyond two standard errors, $2\sigma\sqrt{1/n_a + 1/n_b}$. A pruning claim "at the
#   same fraction pruned" is read at every fraction of the study, against σ pooled over those pruned runs' own
#   seeds (each seed prunes its own images): it holds where it holds at each fraction, and does not hold where
#   the other method wins beyond the noise at any.
# * **Per-class trends** ("the head gets larger weights") are Spearman rank correlations over the
#   classes between class size and the quantity, against the two-sided 5% critical value. They are
#   read **against the balanced reference**: CE trained on a balanced subset as large as the
#   long-tailed set, with the same network and schedule. On Fashion-MNIST the hardest class, Shirt
#   (class 6), is one of the larger ones, so raw per-class curves mix how many images a class has
#   with how hard it is; what the imbalance does to each class is the quantity minus its balanced
#   value (the log ratio for norms).
# * **"Flatter"** compares the spread across classes (standard deviation over mean), **"less"** a
#   statistic of the test features (correlation between channels, the largest singular value's
#   share), each with a 95% bootstrap interval over classes or test images.
#
# The rules are tested on synthetic inputs whose answer is known (`tests/test_verdicts.py`).

# %% tags=["parameters"]
dataset = "fmnist"  # the data set whose recordings are read: fmnist (CIFAR is not recorded here)
(_defined) = set(globals())  # the names above, before papermill's -p values (in brackets: not a parameter)

# %% tags=["hide-input"]
from ltnb.params import injected as _injected, refuse_unknown as _refuse

_refuse(_injected(globals()), ["dataset"], "the claims page")  # a name papermill's -p added, not dataset

import html

import pandas as pd
from IPython.display import HTML, Markdown, display

from ltnb import claims as C, evidence as E, params as Pm, report, verdicts as V
from ltnb.reference import PAPERS

dataset = Pm.read([Pm.Param("dataset", "fmnist", Pm.choice("fmnist", "cifar10", "cifar100"), "")],
                  {"dataset": dataset})["dataset"]
settings = E.recorded_settings(dataset)
if not settings:
    print(f"No {dataset} runs are recorded or stored yet: every claim reads 'not recorded' (make record records them).")
results = {(c.id, s): E.evaluate(c, E.for_claim(c, s)) for c in C.CLAIMS for s in settings}
print(f"{len(C.CLAIMS)} claims of {len(PAPERS)} papers, read at {len(settings)} settings: "
      + ", ".join(s.label for s in settings))

# %% [markdown]
# ## How many hold, paper by paper
#
# Counted at each recorded setting (preset and imbalance factor) over the claims of each paper.

# %% tags=["hide-input"]
rows = []
for paper in PAPERS:
    cs = [c for c in C.CLAIMS if c.paper == paper]
    for s in settings:
        n = V.counts(results[(c.id, s)] for c in cs)
        rows.append({"paper": paper, "setting": s.label, "claims": len(cs), **n})
if rows:
    summary = pd.DataFrame(rows).set_index(["paper", "setting"])
    report.show(summary, f"{dataset}-LT", "Verdicts per paper and setting (counts of claims)")

# %% [markdown]
# ## Every claim
#
# One table per paper; hover a verdict for the number behind it.

# %% tags=["hide-input"]
def cell(v: E.Verdict) -> str:
    return f'<span title="{html.escape(v.number)}">{report.verdict_badge(v.verdict)}</span>'


for paper, title in PAPERS.items():
    cs = [c for c in C.CLAIMS if c.paper == paper]
    head = "".join(f"<th>{html.escape(s.label)}</th>" for s in settings)
    body = "".join(
        f"<tr><td><code>{c.id}</code></td><td>{html.escape(c.where)}</td><td style='white-space:normal'>"
        f"{html.escape(c.text)}</td><td>{html.escape(c.chapter + (': ' + c.figure if c.figure else ''))}</td>"
        + "".join(f"<td data-setting='{s.label}'>{cell(results[(c.id, s)])}</td>" for s in settings) + "</tr>" for c in cs)
    display(HTML(f"<h3>{html.escape(paper)}</h3><p>{html.escape(title)}</p><div class='ltnb-claims'><table>"
                 f"<thead><tr><th>claim</th><th>paper</th><th>in short</th><th>tested in</th>{head}</tr></thead>"
                 f"<tbody>{body}</tbody></table></div>"))

# %% [markdown]
# ## Verdicts that change with the setting
#
# A claim whose verdict differs between two recorded settings (where both have one): the imbalance
# factor, or the preset, moves it.

# %% tags=["hide-input"]
changed = []
for c in C.CLAIMS:
    seen = {s.label: results[(c.id, s)] for s in settings if results[(c.id, s)].verdict in V.VERDICTS[:3]}
    if len({v.verdict for v in seen.values()}) > 1:
        changed.append(f"* `{c.id}` ({c.text}): " + "; ".join(f"{k}: {v.verdict}" for k, v in seen.items()))
display(Markdown("\n".join(changed) if changed else "No verdict differs between the recorded settings."))
