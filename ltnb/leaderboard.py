"""Scoring for the leaderboard: every method of the book (a :class:`~ltnb.methods.Method`) scored alike.

A method's runs come from the registry (:mod:`ltnb.chapters.leaderboard` plans them); a few
methods are *views*, post-hoc predictions read from a stored run (L2A and ABS of the angular
chapter), which cost no training. What the papers claim for a method sits beside it.
"""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import torch

from ltnb import angular, derived, evaluate, reference
from ltnb.presets import PRESETS
from ltnb.config import RunConfig
from ltnb.methods import Method
from ltnb.store import Run

# ------------------------------------------------------------------ scoring

def _angular_of(run: Run) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Test angular logits, their labels, and the per-class mean angular probabilities on the training images."""
    d = derived.get(run, "angular")
    return (torch.from_numpy(d["test_angular_logits"]), torch.from_numpy(derived.test_labels(run)).long(),
            torch.from_numpy(d["train_class_probs_angular"]))


def abs_strength(num_classes: int) -> tuple[float, str]:
    """The angular chapter's ABS default: s = 0.25 with the sine F on 10 classes, 0.1 linear on 100."""
    return (0.25, "sine") if num_classes != 100 else (0.1, "linear")


def score(entry: Method, run: Run) -> dict:
    """Last-epoch test metrics of ``entry`` from its run: the run's own, or a post-hoc view of its features."""
    counts = run.metrics["counts"]
    if entry.view == "run":
        return run.metrics
    if entry.view == "l2a_s2":
        return {**run.metrics["angular"], "counts": counts}
    if entry.view == "l2a":
        logits, y, _ = _angular_of(run)
        return evaluate.metrics(logits, y, counts)[0]
    if entry.view == "abs":
        te, y_te, train_probs = _angular_of(run)
        s, form = abs_strength(te.shape[1])
        bias = angular.abs_bias(train_probs)
        after = angular.abs_calibrate(te.softmax(1), angular.abs_gamma(bias, s, form))
        return evaluate.metrics(after.log(), y_te, counts)[0]
    raise ValueError(f"unknown view {entry.view!r}")


def lineage(run: Run, load) -> list[Run]:
    """The run and the stage-1 run it starts from (``load(cfg)`` reads a stored run)."""
    chain = [run]
    if run.config.stage2:
        parent = load(run.config.parent)
        if parent is not None:
            chain.append(parent)
    return chain


def cost_seconds(run: Run, load) -> float:
    """Training seconds of the method: its own run plus the stage-1 run under it (NaN if unrecorded)."""
    return float(sum(r.metrics.get("train_seconds", math.nan) for r in lineage(run, load)))


def throughput_spread(rates: dict) -> tuple[float, float, int]:
    """How far the training throughput of one network varied across runs: ``rates`` maps a run's key to
    (network, images/s); over the network with the most runs, (lowest, highest images/s, runs). Runs recorded
    beside other work run slower, so their seconds measure the load as much as the method."""
    by_net: dict = {}
    for net, rate in rates.values():
        if rate == rate and rate > 0:
            by_net.setdefault(net, []).append(float(rate))
    if not by_net:
        return math.nan, math.nan, 0
    v = max(by_net.values(), key=len)
    return min(v), max(v), len(v)


def parameters(cfg: RunConfig) -> int:
    """Trainable parameters of the network that predicts (the stage-1 network; stage 2 keeps its size)."""
    from ltnb import models
    from ltnb.data import dataset_info
    from ltnb.training.stage1 import build_model

    stage1 = cfg.parent or cfg
    shape = SimpleNamespace(info=dataset_info(stage1.dataset))  # all build_model reads of the data
    return models.count_parameters(build_model(stage1, shape, PRESETS[stage1.preset]))


def summarise(values) -> tuple[float, float]:
    """Mean and sample standard deviation (NaN for a single value) of the finite values, in %."""
    v = np.array([x for x in values if x == x], dtype=float) * 100
    if len(v) == 0:
        return math.nan, math.nan
    return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else math.nan


# ------------------------------------------------------------------ what the papers claim

def claimed(entry: Method, dataset: str = "cifar10", imb: int = 100) -> float:
    """What the papers report for the method on CIFAR-LT at ``imb``: the proposing paper's own number (its
    main-table row), else the median over papers of their quotes; NaN when none prints it."""
    if entry.claim is not None:
        paper, printed = entry.claim
        rows = reference.reported(paper=paper, dataset=dataset, imb=imb, method=printed, split="overall")
        if entry.key is not None and (rows["key"] == entry.key).any():
            rows = rows[rows["key"] == entry.key]  # the method's own row, not a sweep's
        if len(rows):
            return float(rows["value"].iloc[0])
    per_paper = {}
    for paper, value in quotes(entry, dataset, imb):
        per_paper.setdefault(paper, value)  # a paper quoting one number in two tables counts once
    return float(np.median(list(per_paper.values()))) if per_paper else math.nan


def quotes(entry: Method, dataset: str = "cifar10", imb: int = 100) -> list[tuple[str, float]]:
    """Every (paper, value) the papers print for the method's key: the spread of quoted baselines."""
    if entry.key is None:
        return []
    try:
        rows = reference.literature(entry.key, dataset, imb)
    except ValueError:
        return []
    return sorted({(r.paper, float(r.value)) for r in rows.itertuples()})  # a number quoted in two tables once


# ------------------------------------------------------------------ what the field's reporting hides


def best_on_test(run: Run) -> tuple[float, int] | None:
    """The best test accuracy over the run's epochs and its epoch: what picking the epoch on the test set
    reports (the field's practice; never used for ranking here). None when the run has no epochs (post hoc)."""
    accs = np.asarray(run.metrics.get("history", {}).get("test_acc", []), dtype=float)
    if not len(accs) or not np.isfinite(accs).any():
        return None
    i = int(np.nanargmax(accs))
    return float(accs[i]), i + 1


def eval_cost(runs) -> tuple[int, float, float]:
    """What recording the test accuracy after every epoch cost: (runs that timed it, median seconds spent
    evaluating per run, evaluation seconds over training seconds summed across them)."""
    pairs = [(r.metrics["history"]["eval_seconds"], r.metrics["train_seconds"]) for r in runs
             if "eval_seconds" in r.metrics.get("history", {}) and r.metrics.get("train_seconds")]
    if not pairs:
        return 0, math.nan, math.nan
    ev, tr = np.asarray(pairs, dtype=float).T
    return len(pairs), float(np.median(ev)), float(ev.sum() / tr.sum())


def pooled_sd(groups) -> tuple[float, int]:
    """Pooled sample standard deviation of several groups (each a method's values over seeds) and its
    degrees of freedom: ``sqrt(sum_g sum_i (x_gi - mean_g)^2 / sum_g (n_g - 1))``."""
    ss, df = 0.0, 0
    for g in groups:
        v = np.asarray([x for x in g if x == x], dtype=float)
        if len(v) >= 2:
            ss += float(((v - v.mean()) ** 2).sum())
            df += len(v) - 1
    return (math.sqrt(ss / df) if df else math.nan), df


def gap(a, b, sd: float, z: float = 2.0) -> tuple[float, float, str]:
    """Mean of ``a`` minus mean of ``b``, its standard error ``sd * sqrt(1/n_a + 1/n_b)`` and whether the gap
    exceeds ``z`` standard errors: "above", "below" or "indistinguishable"."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    diff = float(a.mean() - b.mean())
    se = sd * math.sqrt(1 / len(a) + 1 / len(b))
    if not se == se:
        return diff, se, "no noise estimate"
    return diff, se, "above" if diff > z * se else "below" if diff < -z * se else "indistinguishable"


def lt_prior(num_classes: int, imb: float, inverted: bool = False) -> np.ndarray:
    """A long-tailed test prior: class ``c`` in proportion to ``imb^(-c/(C-1))``, head first; ``inverted`` puts the
    largest share on the last class (SADE's backward test sets). ``imb = 1`` is uniform."""
    c = np.arange(num_classes)
    w = float(imb) ** (-(c if not inverted else num_classes - 1 - c) / max(num_classes - 1, 1))
    return w / w.sum()


def prior_accuracy(per_class, prior) -> float:
    """Accuracy on a test set drawn with class shares ``prior``: ``sum_c prior_c acc_c`` (no training).

    Summed exactly (``math.fsum``), not by BLAS: per-class accuracies are multiples of 1/1000, so these sums often
    sit on a tie of the table's last digit, and BLAS sums in an order of its CPU kernel's, which moved a printed
    89.30 to 89.31 between two machines."""
    prior, per_class = np.asarray(prior, dtype=float).ravel(), np.asarray(per_class, dtype=float).ravel()
    return math.fsum((prior * per_class).tolist())


# SADE's protocol of shifted test priors (its Table 7 on CIFAR-100-LT: forward and backward at 50 and 10)
SHIFTED_PRIORS = (("forward 50", 50.0, False), ("forward 10", 10.0, False), ("uniform", 1.0, False),
                  ("backward 10", 10.0, True), ("backward 50", 50.0, True))


# ------------------------------------------------------------------ the budget axis

def budget_table(values: dict) -> pd.DataFrame:
    """``{(method, epochs): accuracy}`` as a table: a row per method, a column per budget (epochs, ascending);
    a budget a method was not run at is NaN."""
    if not values:
        return pd.DataFrame()
    s = pd.Series(values, dtype=float)
    s.index = pd.MultiIndex.from_tuples(s.index, names=["method", "epochs"])
    table = s.unstack("epochs")
    methods = list(dict.fromkeys(m for m, _ in values))  # the order given, not alphabetical
    return table.loc[methods, sorted(table.columns)]


def budget_ranks(table: pd.DataFrame) -> pd.DataFrame:
    """Each method's rank at each budget (1: the most accurate), among the methods run at that budget."""
    return table.rank(axis=0, ascending=False, method="min")


def rank_correlations(table: pd.DataFrame, against=None) -> pd.DataFrame:
    """Spearman's ρ between each budget's accuracies and those at ``against`` (default: the longest budget), over
    the methods run at both; with the number of methods and the two-sided 5% critical value."""
    from ltnb.verdicts import critical_rho, spearman

    against = max(table.columns) if against is None else against
    rows = []
    for b in table.columns:
        both = table[[b, against]].dropna()
        n = len(both)
        rho = spearman(both[b], both[against]) if n >= 2 else math.nan
        rows.append({"epochs": b, "against": against, "methods": n, "rho": rho,
                     "critical": critical_rho(n) if n >= 4 else math.nan})
    return pd.DataFrame(rows).set_index("epochs")


def swaps(table: pd.DataFrame, b0, b1, sd: float, z: float = 2.0) -> list[str]:
    """The pairs of methods, run at budgets ``b0`` and ``b1``, that swap places with a gap past ``z`` standard errors
    of one run against one (``sd * sqrt(2)``) at both budgets; each as "A over B", A ahead at ``b1``."""
    cut = z * sd * math.sqrt(2)
    both = table[[b0, b1]].dropna()
    names = list(both.index)
    out = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            g0, g1 = both.loc[a, b0] - both.loc[b, b0], both.loc[a, b1] - both.loc[b, b1]
            if g0 * g1 < 0 and abs(g0) > cut and abs(g1) > cut:
                out.append(f"{a} over {b}" if g1 > 0 else f"{b} over {a}")
    return out


def ranking_moves(table: pd.DataFrame, seed_a: pd.Series, seed_b: pd.Series, sd: float, z: float = 2.0) -> pd.DataFrame:
    """Whether each doubling of the budget reorders the methods beyond the noise.

    For each pair of consecutive budgets, over the methods run at both: the pairs that swap places beyond the noise
    (:func:`swaps`; the test), and, as a reading, Spearman's ρ between the budgets beside ρ between two seeds of one
    schedule (``seed_a``, ``seed_b``: accuracy per method) over the same methods. Returns a row per doubling: the two
    budgets, the methods, the two ρ, ``below seeds`` (the budgets' ρ under the seeds') and ``swaps``."""
    from ltnb.verdicts import spearman

    rows = []
    cols = list(table.columns)
    for b0, b1 in zip(cols, cols[1:]):
        both = table[[b0, b1]].dropna()
        both = both[both.index.isin(seed_a.dropna().index) & both.index.isin(seed_b.dropna().index)]
        n = len(both)
        if n < 4:  # too few for a rank correlation to mean anything
            continue
        r_budget = spearman(both[b0], both[b1])
        r_seed = spearman(seed_a[both.index], seed_b[both.index])
        rows.append({"from": b0, "to": b1, "methods": n, "rho budgets": r_budget, "rho seeds": r_seed,
                     "below seeds": bool(r_budget < r_seed), "swaps": swaps(both, b0, b1, sd, z)})
    return pd.DataFrame(rows, columns=["from", "to", "methods", "rho budgets", "rho seeds", "below seeds", "swaps"])


def settled_at(table: pd.DataFrame, sd: float, z: float = 2.0):
    """The first budget from which the ranking stops moving: no two methods swap places beyond the noise
    (:func:`swaps`) between it, or any later budget, and any budget after that (so a drift over several doublings
    counts too). None when the two longest budgets still swap some, or with fewer than two budgets."""
    cols = sorted(table.columns)
    if len(cols) < 2:
        return None
    for i, b in enumerate(cols[:-1]):
        if not any(swaps(table, x, y, sd, z) for j, x in enumerate(cols[i:], i) for y in cols[j + 1:]):
            return b
    return None


def gap_sign_changes(table: pd.DataFrame, sd: float, reference: str = "CE", z: float = 2.0) -> pd.DataFrame:
    """Where a method's gap to ``reference`` changes sign between consecutive budgets it was run at.

    The gap is one run against one (one seed each), so its standard error is ``sd * sqrt(2)``; a change counts as
    beyond the noise when the gap passes ``z`` standard errors on both sides of it. Returns a row per change:
    method, the two budgets, the two gaps (points) and whether the change is beyond the noise."""
    if reference not in table.index:
        raise ValueError(f"the reference {reference!r} is not a row of the budget table")
    se = sd * math.sqrt(2)
    rows = []
    gaps = table.sub(table.loc[reference], axis=1)
    for method, g in gaps.drop(index=reference).iterrows():
        g = g.dropna()
        for (b0, g0), (b1, g1) in zip(g.items(), list(g.items())[1:]):
            if g0 * g1 < 0:
                rows.append({"method": method, "from": b0, "to": b1, "gap before": g0, "gap after": g1,
                             "beyond the noise": bool(abs(g0) > z * se and abs(g1) > z * se)})
    return pd.DataFrame(rows, columns=["method", "from", "to", "gap before", "gap after", "beyond the noise"])
