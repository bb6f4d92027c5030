"""Verdicts: each claim of :mod:`ltnb.claims` tested on the book's own runs, with the number behind it.

The unit of evidence is a training run. A verdict reads every recorded seed of the runs it compares and
judges them by their own seed-to-seed noise, never by a noise borrowed from other methods, metrics,
factors or presets. It is one of **holds**, **does not hold**, **inside the noise**, **smaller than
claimed** (the runs' interval excludes the gap the paper prints) or **too few runs** (under
:data:`MIN_SEEDS` seeds a side: no verdict), and **not testable here**; a claim whose runs are not
recorded at a setting gets none there ("not recorded"). The rules are pure functions of arrays, tested on
synthetic runs whose answer is known (``tests/test_verdicts.py``), their false-positive rate included:

* :func:`compare`: one value per seed on each side (an accuracy, a statistic of the features, a spread
  across classes, a rank correlation), the difference of the means with its 95% interval: **Welch's**
  t interval (each side's own variance, Welch-Satterthwaite degrees of freedom), or **paired** seed by
  seed where the two sides share their training run (stage-2 methods on one backbone, post-hoc views of
  one run). The interval decides; an "inside the noise" says the smallest gap the runs could detect
  (:func:`detectable_gap`: 80% power at the 5% level), beside the paper's own.
* :func:`trend_per_seed`: Spearman's rank correlation over classes, per seed, then across seeds (Fisher's
  z, a one-sample t interval): a trend carries the training noise like every other statistic.
* :func:`fdr`: Benjamini-Hochberg over the tests at one setting (the Claims page), and :func:`aa_rate`:
  the machinery run on a method against itself, its seeds split in two, which should decide at 5%.

Class size is not class difficulty: on Fashion-MNIST the hardest class (Shirt, class 6) is a middle-sized one, not a tail one. Per-class
trends are therefore read **against the balanced reference** (CE on a balanced subset as large as the
long-tailed set, same network and schedule): what the imbalance does to each class, ``q - q_balanced``
(``log(q / q_balanced)`` for positive scales such as norms), not the raw quantity.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from scipy import optimize, stats

HOLDS, FAILS, NOISE, UNTESTABLE, MISSING = ("holds", "does not hold", "inside the noise", "not testable here",
                                            "not recorded")
SMALLER, TOO_FEW = "smaller than claimed", "too few runs"
VERDICTS = (HOLDS, FAILS, NOISE, SMALLER, TOO_FEW, UNTESTABLE)
DECIDED = (HOLDS, FAILS)  # what a test at 5% calls beyond the noise (chance alone gives 5% of them)
MIN_SEEDS = 3  # training runs a side a verdict needs: with 2, a variance has 1 d.o.f. and an interval is 12.7 s.e. wide
ALPHA = 0.05  # two-sided level of every interval and test
POWER = 0.8  # the power the smallest detectable gap is stated at


@dataclass(frozen=True)
class Verdict:
    verdict: str
    number: str  # the statistic behind it, in words, e.g. "Δ = +1.20 points, 95% interval [+0.4, +2.0] ..."
    value: float = math.nan  # the measured effect, in the claimed direction (positive: as claimed)
    lo: float = math.nan  # its 95% interval
    hi: float = math.nan
    p: float = math.nan  # two-sided p value of "no effect" (NaN: not a test, e.g. an exact count)
    detectable: float = math.nan  # the smallest effect these runs detect with 80% power at the 5% level
    paper: float = math.nan  # the gap the paper prints for the claim, in the same direction and unit
    seeds: tuple = ()  # runs a side
    scale: str = "gap"  # what ``value`` is, in "smallest detectable ..." ("ρ" for a trend)

    def __str__(self) -> str:
        return f"{self.verdict} ({self.number})" if self.number else self.verdict


# ------------------------------------------------------------------ rules (pure)

def detectable_gap(se: float, df: float, alpha: float = ALPHA, power: float = POWER) -> float:
    """The smallest true difference a two-sided t test at ``alpha`` detects with probability ``power``, for a
    standard error ``se`` on ``df`` degrees of freedom: ``delta * se`` where the noncentral t with noncentrality
    ``delta`` passes the critical value with that probability (``tests/test_verdicts.py`` checks it by simulation)."""
    if not (se == se and df == df) or df <= 0 or se <= 0:
        return math.nan
    crit = stats.t.ppf(1 - alpha / 2, df)

    def short(delta):  # power at noncentrality delta (the far tail, under alpha / 2, left out), less the power asked
        return stats.nct.sf(crit, df, delta) - power

    hi = crit + 1.0
    while short(hi) < 0:
        hi *= 2
    return float(optimize.brentq(short, 0.0, hi) * se)


def seeds_words(na: int, nb: int) -> str:
    return f"{na} seed{'s' if na != 1 else ''}" + ("" if na == nb else f" against {nb}")


def compare(a, b, paired: bool = False, unit: str = "points", paper: float = math.nan, paper_where: str = "",
            label: str = "Δ", min_seeds: int = MIN_SEEDS, digits: int = 2, how: str = "") -> Verdict:
    """Is ``mean(a) > mean(b)``? One value per training run on each side (``paired``: the same seeds in the same
    order, sharing their training run). The difference with its 95% interval (Welch's, or the paired t interval):
    **holds** when the interval lies above 0, **does not hold** when below, else **inside the noise**, which says the
    smallest gap these runs detect. ``paper``: the claim's printed gap (same direction and unit) measured on
    ``paper_where``; an interval wholly below it is **smaller than claimed** (unless it does not hold). Fewer than
    ``min_seeds`` a side: **too few runs**, the difference shown and nothing decided. ``how``: the test's name in the
    words (default "paired" or "Welch"; against zeros, paired is the one-sample t)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if not (len(a) and len(b)):
        raise ValueError("a comparison needs at least one run on each side")
    if paired and len(a) != len(b):
        raise ValueError(f"a paired comparison needs the same seeds on both sides, got {len(a)} and {len(b)}")
    d = float(a.mean() - b.mean())
    f = f"{{:+.{digits}f}}"
    unit = f" {unit}" if unit else ""
    gap = "" if paper != paper else f"; the paper's {paper_where + ' ' if paper_where else ''}gap {f.format(paper)}"
    if min(len(a), len(b)) < max(min_seeds, 2):  # (a variance needs 2 runs a side whatever min_seeds says)
        return Verdict(TOO_FEW, f"{label} = {f.format(d)}{unit}; too few runs: {seeds_words(len(a), len(b))} "
                                f"(a verdict reads at least {min_seeds} a side){gap}", d, paper=paper,
                       seeds=(len(a), len(b)))
    if paired and not how and np.array_equal(a, b):  # one run read twice (a backbone at 50 against imb 50)
        return Verdict(UNTESTABLE, f"{label} = {f.format(0.0)}{unit} on every seed: here both sides are one run, so "
                                   "there is nothing to test", 0.0, seeds=(len(a), len(b)))
    if paired:
        diff = a - b
        se, df, how = float(diff.std(ddof=1) / math.sqrt(len(diff))), len(diff) - 1, how or "paired"
    else:
        va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
        se = float(math.sqrt(va + vb))
        df = float((va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))) if se > 0 else len(a) + len(b) - 2
        how = how or "Welch"
    if se == 0:  # the runs agree exactly on each side: the difference is what it is
        lo = hi = d
        p = 0.0 if d != 0 else 1.0
    else:
        t = stats.t.ppf(1 - ALPHA / 2, df)
        lo, hi = d - t * se, d + t * se
        p = float(2 * stats.t.sf(abs(d) / se, df))
    verdict = HOLDS if lo > 0 else FAILS if hi < 0 else NOISE
    side = ""
    if paper == paper and paper > 0 and hi < paper and verdict != FAILS:
        side = ("; above zero, below the paper's gap" if verdict == HOLDS else
                "; below the paper's gap, and the interval holds zero")
        verdict = SMALLER
    if hi > lo:  # enough digits for the interval's width to show (a feature statistic can be 0.003 wide)
        digits = max(digits, 1 - math.floor(math.log10(hi - lo)))
        f = f"{{:+.{digits}f}}"
        gap = "" if paper != paper else f"; the paper's {paper_where + ' ' if paper_where else ''}gap {f.format(paper)}"
    det = detectable_gap(se, df)
    seen = seen_words("gap", det, digits) if verdict in (NOISE, SMALLER) else ""
    return Verdict(verdict, f"{label} = {f.format(d)}{unit}, 95% interval [{f.format(lo)}, {f.format(hi)}] "
                            f"({how}, {df:.1f} d.o.f.; {seeds_words(len(a), len(b))}){seen}{gap}{side}",
                   d, lo, hi, p, det, paper, (len(a), len(b)))


def fisher_z(rho) -> np.ndarray:
    """Fisher's variance-stabilising transform of correlations, clipped short of +-1."""
    return np.arctanh(np.clip(np.asarray(rho, dtype=float), -0.999, 0.999))


def trend_per_seed(values, sizes, direction: str = "head", what: str = "", min_seeds: int = MIN_SEEDS,
                   lead: str = "") -> Verdict:
    """Does a per-class quantity grow with class size (``direction="head"``) or shrink (``"tail"``)? ``values``:
    one row per training run; ``sizes``: the class sizes, or one row per run of another quantity of the same runs. Spearman's rho per run, then across runs: the mean of Fisher's z with its one-sample
    t interval, back to rho. Holds where the interval lies in the claimed direction. ``lead``: how the number is
    named (default "ρ toward the head/tail", right for class sizes; against another quantity, e.g. "ρ (positive as
    claimed)")."""
    v = np.atleast_2d(np.asarray(values, dtype=float))
    x = np.asarray(sizes, dtype=float)
    if direction not in ("head", "tail"):
        raise ValueError(f"direction must be 'head' or 'tail', got {direction!r}")
    if x.shape[-1] != v.shape[1]:
        raise ValueError(f"{v.shape[1]} values for {x.shape[-1]} classes")
    x = np.broadcast_to(x, v.shape)  # the class sizes, or another per-class quantity of each run
    s = x[0]
    sign = 1 if direction == "head" else -1
    rhos = np.array([sign * spearman(xi, row) for xi, row in zip(x, v)])
    lead = lead or f"ρ toward {'the head' if direction == 'head' else 'the tail'}"
    each = ", ".join(f"{r:+.2f}" for r in rhos)
    z = compare(fisher_z(rhos), np.zeros(len(rhos)), paired=True, unit="",
                min_seeds=min_seeds)
    mean_rho = float(np.tanh(fisher_z(rhos).mean()))
    if z.verdict == TOO_FEW:
        return Verdict(TOO_FEW, f"{lead} over {len(s)} classes{what}: {each}; too few runs: "
                                f"{len(rhos)} seed{'s' if len(rhos) != 1 else ''} (a verdict reads at least "
                                f"{min_seeds})", mean_rho, seeds=(len(rhos),))
    lo, hi = float(np.tanh(z.lo)), float(np.tanh(z.hi))
    det = float(np.tanh(z.detectable)) if z.detectable == z.detectable else math.nan
    seen = seen_words("ρ", det, 2) if z.verdict == NOISE else ""
    return Verdict(z.verdict, f"{lead} over {len(s)} classes{what}: mean {mean_rho:+.2f} of {each}, "
                              f"95% interval [{lo:+.2f}, {hi:+.2f}] ({len(rhos)} seeds){seen}",
                   mean_rho, lo, hi, z.p, det, seeds=(len(rhos),), scale="ρ")


def seen_words(scale: str, det: float, digits: int | None = None) -> str:
    """"; smallest detectable gap 2.53" ("" where ``det`` is nan); ``digits`` after the point, else two
    significant below 0.1."""
    if det != det:
        return ""
    value = f"{det:.{digits}f}" if digits is not None else f"{det:.2f}" if det >= 0.1 else f"{det:.2g}"
    return f"; smallest detectable {scale} {value}"


def detectable_words(v: Verdict) -> str:
    """:func:`seen_words` for a verdict whose number does not say it yet (one demoted to inside the noise)."""
    return "" if f"smallest detectable {v.scale}" in v.number else seen_words(v.scale, v.detectable)


def fdr(verdicts, q: float = ALPHA) -> tuple[list, dict]:
    """Benjamini-Hochberg over the tests among ``verdicts`` (those with a p value): a **holds** or **does not hold**
    whose adjusted p value passes ``q`` becomes **inside the noise** and says so, with the smallest gap its runs
    detect; a does-not-hold whose interval lies wholly below the paper's gap becomes **smaller than claimed**, the
    precedence :func:`compare` gives it over inside the noise. Returns the verdicts and a summary:
    tests, decided before and after, and how many decisions chance alone would give (``q`` of those decided after,
    at most; ``alpha`` of the tests without the correction)."""
    vs = list(verdicts)
    idx = [i for i, v in enumerate(vs) if isinstance(v, Verdict) and v.p == v.p]
    adjusted = stats.false_discovery_control([vs[i].p for i in idx]) if idx else []
    out = list(vs)
    for i, pa in zip(idx, adjusted):
        v = vs[i]
        if v.verdict in DECIDED and pa >= q:
            smaller = v.verdict == FAILS and v.paper == v.paper and v.paper > 0 and v.hi < v.paper
            out[i] = replace(v, verdict=SMALLER if smaller else NOISE,
                             number=f"{v.number}{detectable_words(v)}; that interval is unadjusted, and "
                                    f"{'below zero it is' if smaller else 'the test is'} not past the false "
                                    f"discovery rate over {len(idx)} tests (adjusted p = {pa:.3f}, not under {q:g})"
                                    + ("; below the paper's gap" if smaller else ""))
    before = sum(vs[i].verdict in DECIDED for i in idx)
    after = sum(out[i].verdict in DECIDED for i in idx)
    return out, {"tests": len(idx), "decided": before, "decided after": after,
                 "chance uncorrected": ALPHA * len(idx), "chance after": q * after}


def aa_splits(n: int, max_splits: int = 10) -> list[tuple[tuple, tuple]]:
    """Ways to split ``n`` seeds into two groups as equal as can be (each split once, not its mirror)."""
    from itertools import combinations

    k = n // 2
    out = []
    for left in combinations(range(n), k):
        right = tuple(i for i in range(n) if i not in left)
        if (right, left) not in out:
            out.append((left, right))
    return out[:max_splits]


def aa_rate(groups, min_seeds: int = 2) -> dict:
    """The A/A check: each group (one method's values, one per seed, at least 4) split into two halves and compared
    with :func:`compare` as two methods (Welch); ``rate`` is the share of comparisons that decide (holds or does not
    hold), which should sit near the 5% level, with its exact (Clopper-Pearson) 95% interval ``ci`` (the splits of
    one method share seeds, so the interval is optimistic). ``min_seeds`` 2 lets 4 seeds split 2 against 2."""
    decided = total = 0
    which = []  # (group index, split) of each comparison that decided
    for g, values in enumerate(groups):
        v = np.asarray([x for x in values if x == x], dtype=float)
        if len(v) < 4:
            continue
        for left, right in aa_splits(len(v)):
            total += 1
            if compare(v[list(left)], v[list(right)], min_seeds=min_seeds).verdict in DECIDED:
                decided += 1
                which.append((g, (left, right)))
    ci = stats.binomtest(decided, total).proportion_ci(0.95) if total else None
    return {"comparisons": total, "decided": decided, "rate": decided / total if total else math.nan,
            "ci": (ci.low, ci.high) if ci else (math.nan, math.nan), "which": which}


def critical_rho(n: int, alpha: float = ALPHA) -> float:
    """Two-sided critical value of Spearman's rho for ``n`` pairs (t approximation with n - 2 d.o.f.)."""
    if n < 4:
        raise ValueError(f"a rank correlation needs at least 4 classes, got {n}")
    t = stats.t.ppf(1 - alpha / 2, n - 2)
    return float(t / math.sqrt(n - 2 + t * t))


def spearman(x, y) -> float:
    """Spearman's rho: Pearson's correlation of the ranks (ties share their mean rank)."""
    rx, ry = stats.rankdata(x), stats.rankdata(y)
    if rx.std() == 0 or ry.std() == 0:
        return 0.0
    return float(np.corrcoef(rx, ry)[0, 1])


def dispersion(values) -> float:
    """Spread across classes relative to the level: the standard deviation over the mean absolute value."""
    v = np.asarray(values, dtype=float)
    level = np.abs(v).mean(axis=-1)
    return v.std(axis=-1) / np.where(level > 0, level, np.nan)


def against_reference(values, reference, log: bool = False) -> np.ndarray:
    """What the imbalance does to each class: ``values - reference``, or ``log(values / reference)``."""
    v, r = np.asarray(values, dtype=float), np.asarray(reference, dtype=float)
    if log:
        if (v <= 0).any() or (r <= 0).any():
            raise ValueError("a log ratio needs positive values on both sides")
        return np.log(v / r)
    return v - r


def counts(verdicts) -> dict[str, int]:
    """How many of each verdict (the four, in order; 'not recorded' apart)."""
    out = {v: 0 for v in (*VERDICTS, MISSING)}
    for v in verdicts:
        out[v.verdict if isinstance(v, Verdict) else v] += 1
    return out


def best_of(a: str, each: list) -> Verdict:
    """"``a`` is the best of a set", from its comparison against each rival, ``each`` as (rival, :class:`Verdict`):
    an intersection-union test. It holds where every comparison holds (the largest p value); it does not hold where
    a rival is ahead beyond the noise (that p value times the number of comparisons, Bonferroni); too few runs where
    a comparison has too few and none fails (the lowest point estimate shown); else, of the comparisons that do not
    hold, the one with the lowest interval speaks. Its number names the rival that decides and lists the others."""
    fails = [(r, v) for r, v in each if v.verdict == FAILS]
    few = [(r, v) for r, v in each if v.verdict == TOO_FEW]
    if fails:
        rival, v = min(fails, key=lambda rv: rv[1].p if rv[1].p == rv[1].p else 1.0)
        p = min(1.0, v.p * len(each)) if v.p == v.p else math.nan
    elif few:  # no interval to go by: the lowest point estimate
        rival, v = min(few, key=lambda rv: rv[1].value if rv[1].value == rv[1].value else math.inf)
        p = math.nan
    elif all(w.verdict == HOLDS for _, w in each):
        rival, v = max(each, key=lambda rv: rv[1].p if rv[1].p == rv[1].p else 1.0)
        p = v.p
    else:
        rival, v = min([(r, w) for r, w in each if w.verdict != HOLDS],
                       key=lambda rv: rv[1].lo if rv[1].lo == rv[1].lo else -math.inf)
        p = v.p
    others = "; ".join(f"{r}: {w.value:+.2f} ({w.verdict})" if w.value == w.value else f"{r}: {w.verdict}"
                       for r, w in each if r != rival)
    which = "the hardest, with too few runs" if v.verdict == TOO_FEW else "the one that decides"
    words = (f"against each of {len(each)} ({', '.join(r for r, _ in each)}), {which}, {rival}: {v.number}"
             + (f"; the others, {a} − them: {others}" if others else ""))
    return replace(v, number=words, p=p)


def at_every(each: list) -> Verdict:
    """"``a`` beats ``b`` at every point of a sweep" (a pruning claim at each fraction), ``each`` as (point,
    :class:`Verdict`): too few runs where any point has too few, does not hold where ``b`` wins at any, holds where
    ``a`` wins at each, else inside the noise; the least favourable point's effect, and the smallest p value times
    the number of points (Bonferroni)."""
    verdicts = [v.verdict for _, v in each]
    verdict = (TOO_FEW if TOO_FEW in verdicts else FAILS if FAILS in verdicts
               else HOLDS if all(v == HOLDS for v in verdicts) else NOISE)
    worst = min(each, key=lambda fv: fv[1].value)[1]
    ps = [v.p for _, v in each if v.p == v.p]
    p = min(1.0, min(ps) * len(ps)) if ps and verdict != TOO_FEW else math.nan
    dets = [v.detectable for _, v in each if v.detectable == v.detectable]
    det = max(dets) if dets else math.nan  # the gap the runs detect at every point
    out = Verdict(verdict, "; ".join(f"{f:g}: {v.number.split(' (')[0]}" for f, v in each), worst.value, worst.lo,
                  worst.hi, p, det, seeds=worst.seeds)
    if verdict == NOISE and det == det:
        out = replace(out, number=out.number + detectable_words(out) + " (at every point)")
    return out
