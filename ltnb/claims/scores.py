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

from ltnb import reference, stats as V
from ltnb.config import RunConfig
from ltnb.data import dataset_info
from ltnb.kernels import angular, evaluate, models
from ltnb.methods import Method
from ltnb.presets import PRESETS
from ltnb.runs import derived
from ltnb.stats import critical_rho, spearman
from ltnb.store import Run
from ltnb.training.common import build_model

# ------------------------------------------------------------------ scoring

def _angular_of(run: Run) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Test angular logits, their labels, and the per-class mean angular probabilities on the training images, read
    by :func:`ltnb.runs.derived.read`, which never trains (a chapter fetches its runs with the arrays it reads)."""
    d = derived.read(run, "angular")
    labels = derived.test_labels(run)
    return (torch.from_numpy(d["test_angular_logits"]), torch.from_numpy(labels).long(),
            torch.from_numpy(d["train_class_probs_angular"]))


def abs_strength(num_classes: int) -> tuple[float, str]:
    """The angular chapter's ABS default: s = 0.25 with the sine F on 10 classes, 0.1 linear on 100."""
    return (0.25, "sine") if num_classes != 100 else (0.1, "linear")


def score(entry: Method, run: Run) -> dict:
    """Last-epoch test metrics of ``entry`` from its run: the run's own, or a post-hoc view of its features (read from
    the run's files, never trained: see :func:`_angular_of`)."""
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


def shares_runs(runs_a, runs_b) -> bool:
    """Whether two lists of runs (seed by seed) read the same training runs: a stage-2 method on its backbone, a
    post-hoc view of a run. Then they are compared paired."""
    return len(runs_a) == len(runs_b) and all(a.config.stage1 == b.config.stage1 for a, b in zip(runs_a, runs_b))


def paired_on(runs_a, runs_b) -> bool:
    """Whether two methods' runs read one training run on every seed both have (then :func:`against` pairs them)."""
    seed_b = {r.config.seed: r for r in runs_b}
    common = [r for r in runs_a if r.config.seed in seed_b]
    return bool(common) and shares_runs(common, [seed_b[r.config.seed] for r in common])


def against(a, runs_a, b, runs_b) -> tuple[float, str, object]:
    """:func:`versus` of two methods' values (one per run, in the order of ``runs_a`` and ``runs_b``), paired on
    the seeds both have where each of those seeds reads one training run on both sides (a stage-2 method on its
    backbone, a post-hoc view of it), else Welch over every run of each."""
    if paired_on(runs_a, runs_b):
        seed_b = {r.config.seed: j for j, r in enumerate(runs_b)}
        common = [(i, seed_b[r.config.seed]) for i, r in enumerate(runs_a) if r.config.seed in seed_b]
        return versus([a[i] for i, _ in common], [b[j] for _, j in common], paired=True)
    return versus(a, b)


def versus(a, b, paired: bool = False) -> tuple[float, str, object]:
    """Mean of ``a`` minus mean of ``b`` (one value per run) judged by their own seeds (:func:`ltnb.stats.compare`:
    Welch, or paired): (difference, "above" | "below" | "indistinguishable" | "too few runs (N seeds)", verdict)."""
    v = V.compare(a, b, paired=paired)
    word = {V.HOLDS: "above", V.FAILS: "below", V.NOISE: "indistinguishable"}.get(
        v.verdict, f"too few runs ({min(v.seeds)} seed{'s' if min(v.seeds) != 1 else ''})")
    return v.value, word, v


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
    against = max(table.columns) if against is None else against
    rows = []
    for b in table.columns:
        both = table[[b, against]].dropna()
        n = len(both)
        rho = spearman(both[b], both[against]) if n >= 2 else math.nan
        rows.append({"epochs": b, "against": against, "methods": n, "rho": rho,
                     "critical": critical_rho(n) if n >= 4 else math.nan})
    return pd.DataFrame(rows).set_index("epochs")


def gap_sign_changes(table: pd.DataFrame, reference: str = "CE") -> pd.DataFrame:
    """Where a method's gap to ``reference`` changes sign between consecutive budgets it was run at (one run a side
    at each budget: a reading, not a test). Returns a row per change: method, the two budgets, the two gaps (points)."""
    if reference not in table.index:
        raise ValueError(f"the reference {reference!r} is not a row of the budget table")
    rows = []
    gaps = table.sub(table.loc[reference], axis=1)
    for method, g in gaps.drop(index=reference).iterrows():
        g = g.dropna()
        for (b0, g0), (b1, g1) in zip(g.items(), list(g.items())[1:]):
            if g0 * g1 < 0:
                rows.append({"method": method, "from": b0, "to": b1, "gap before": g0, "gap after": g1})
    return pd.DataFrame(rows, columns=["method", "from", "to", "gap before", "gap after"])


def best_beyond_noise(values: dict, what: str = "", highest: bool = True) -> str:
    """Who is best, said only beyond the noise: ``values`` maps a method to its values, one per run. Among the
    methods with at least :data:`ltnb.stats.MIN_SEEDS` runs, the one with the highest mean (``highest``; else the
    lowest) and every other whose gap to it their own seeds cannot tell (:func:`ltnb.stats.compare`, Welch); a
    method with fewer runs is judged with none of them and named apart where its mean is past the top's. One
    sentence."""
    vals = {k: [x for x in v if x == x] for k, v in values.items()}
    vals = {k: v for k, v in vals.items() if v}
    if not vals:
        return ""
    sign = 1 if highest else -1
    order = sorted(vals, key=lambda k: sign * np.mean(vals[k]), reverse=True)
    judged = [k for k in order if len(vals[k]) >= V.MIN_SEEDS]
    word = "best" if highest else "lowest"
    head = f"{word} {what}" if what else word

    def named(ks):
        return ", ".join(f"{k} ({np.mean(vals[k]):.2f}, {len(vals[k])} seed{'s' if len(vals[k]) != 1 else ''})"
                         for k in ks)

    if not judged:
        most = max(len(v) for v in vals.values())
        return (f"{head}: too few runs to name one (at most {most} seed{'s' if most != 1 else ''} a method; a "
                f"verdict reads at least {V.MIN_SEEDS}); in the order of the means {named(order[:1])} leads")
    top = judged[0]
    past = [k for k in order[:order.index(top)]]  # under MIN_SEEDS runs, with a mean past the top's
    apart = (f"; not judged (under {V.MIN_SEEDS} seeds), with a {'higher' if highest else 'lower'} mean: "
             f"{named(past)}") if past else ""
    tied = [top] + [k for k in judged[1:]
                    if V.compare(*((vals[top], vals[k]) if highest else (vals[k], vals[top]))).verdict != V.HOLDS]
    m = f"{np.mean(vals[top]):.2f}"
    if len(tied) == 1:
        return (f"{head}: **{top}** ({m}), beyond the noise of the runs' own seeds against each of the other "
                f"{len(judged) - 1} with {V.MIN_SEEDS} seeds or more{apart}")
    if len(tied) == len(judged):
        return (f"{head}: none beyond the noise: the {word.replace('best', 'highest')} of the {len(judged)} methods "
                f"with {V.MIN_SEEDS} seeds or more ({top}, {m}) cannot be told from any of the others by their own "
                f"seeds{apart}")
    return (f"{head}: none beyond the noise: {len(tied) - 1} of the methods with {V.MIN_SEEDS} seeds or more cannot "
            f"be told from the {word.replace('best', 'highest')}, {top} ({m}), by their own seeds: "
            + ", ".join(f"{k} ({np.mean(vals[k]):.2f})" for k in tied[1:])
            + f" (the other {len(judged) - len(tied)} are {'below' if highest else 'above'} it beyond the noise: "
              f"{len(judged) - 1} tests at 5% each, with no correction for their number)" + apart)
