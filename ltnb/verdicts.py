"""Verdicts: each claim of :mod:`ltnb.claims` tested on the book's own runs, with the number behind it.

A verdict is one of **holds**, **does not hold**, **inside the noise** or **not testable here**; a claim
whose runs are not recorded at a setting gets none there ("not recorded"). The rules are pure
functions of arrays, tested on synthetic inputs whose answer is known:

* :func:`difference`: a mean over seeds against another, in units of the standard error of the
  difference, ``sigma * sqrt(1/n_a + 1/n_b)``, with ``sigma`` the run-to-run standard deviation pooled
  over the leaderboard's seeds at the same setting. Two standard errors either way decide.
* :func:`rank_trend`: Spearman's rank correlation over classes between class size and a per-class
  quantity, against its two-sided 5% critical value (t approximation).
* :func:`spread` and :func:`bootstrap_scalar`: a statistic of ``a`` against the same of ``b``, with a
  95% bootstrap interval over the units (classes, test images); an interval that holds 0 is noise.

Class size is not class difficulty: on Fashion-MNIST the hardest class (Shirt) is a large one. Per-class
trends are therefore read **against the balanced reference** (CE on a balanced subset as large as the
long-tailed set, same network and schedule): what the imbalance does to each class, ``q - q_balanced``
(``log(q / q_balanced)`` for positive scales such as norms), not the raw quantity.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

HOLDS, FAILS, NOISE, UNTESTABLE, MISSING = ("holds", "does not hold", "inside the noise", "not testable here",
                                            "not recorded")
VERDICTS = (HOLDS, FAILS, NOISE, UNTESTABLE)
Z = 2.0  # standard errors a difference of means must pass
ALPHA = 0.05  # two-sided level of the rank correlation and of the bootstrap intervals
BOOTSTRAPS = 2000


@dataclass(frozen=True)
class Verdict:
    verdict: str
    number: str  # the statistic behind it, in words, e.g. "Δ = +1.20 points = 1.7 standard errors"
    value: float = math.nan

    def __str__(self) -> str:
        return f"{self.verdict} ({self.number})" if self.number else self.verdict


# ------------------------------------------------------------------ rules (pure)

def difference(a, b, sigma: float, unit: str = "points", z: float = Z) -> Verdict:
    """``mean(a) > mean(b)``? Holds beyond ``z`` standard errors, does not hold below ``-z``, else noise."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if not (len(a) and len(b)) or not sigma == sigma or sigma <= 0:
        raise ValueError("a difference needs values on both sides and a positive noise estimate sigma")
    d = float(a.mean() - b.mean())
    se = sigma * math.sqrt(1 / len(a) + 1 / len(b))
    verdict = HOLDS if d > z * se else FAILS if d < -z * se else NOISE
    seeds = f"{len(a)} seed{'s' if len(a) > 1 else ''}" + ("" if len(a) == len(b) else f" against {len(b)}")
    return Verdict(verdict, f"Δ = {d:+.2f} {unit} = {d / se:+.1f} s.e. (σ = {sigma:.2f}, {seeds})", d / se)


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


def rank_trend(values, sizes, direction: str = "head", what: str = "") -> Verdict:
    """Does the per-class ``values`` grow with class size (``direction="head"``) or shrink with it (``"tail"``)?
    Holds when Spearman's rho passes the critical value in the claimed direction, does not hold past it the
    other way; a flat one is noise."""
    if direction not in ("head", "tail"):
        raise ValueError(f"direction must be 'head' or 'tail', got {direction!r}")
    v, s = np.asarray(values, dtype=float), np.asarray(sizes, dtype=float)
    if v.shape != s.shape:
        raise ValueError(f"{len(v)} values for {len(s)} classes")
    rho = spearman(s, v) * (1 if direction == "head" else -1)
    crit = critical_rho(len(v))
    verdict = HOLDS if rho >= crit else FAILS if rho <= -crit else NOISE
    toward = "the head" if direction == "head" else "the tail"
    return Verdict(verdict, f"ρ = {rho:+.2f} toward {toward} over {len(v)} classes{what} (critical {crit:.2f})", rho)


def dispersion(values) -> float:
    """Spread across classes relative to the level: the standard deviation over the mean absolute value."""
    v = np.asarray(values, dtype=float)
    level = np.abs(v).mean(axis=-1)
    return v.std(axis=-1) / np.where(level > 0, level, np.nan)


def _interval(draws) -> tuple[float, float]:
    return (float(np.nanquantile(draws, ALPHA / 2)), float(np.nanquantile(draws, 1 - ALPHA / 2)))


def _decide(point: float, lo: float, hi: float, smaller: bool, label: str) -> Verdict:
    """``point`` = stat(a) - stat(b); the claim is that it is negative (``smaller``) or positive."""
    sign = -1 if smaller else 1
    verdict = HOLDS if sign * lo > 0 and sign * hi > 0 else FAILS if sign * lo < 0 and sign * hi < 0 else NOISE
    return Verdict(verdict, f"{label} = {point:+.3f}, 95% bootstrap interval [{lo:+.3f}, {hi:+.3f}]", point)


def spread(a, b, smaller: bool = True, seed: int = 0, label: str = "spread(a) − spread(b)") -> Verdict:
    """Is ``a`` flatter across classes than ``b`` (``smaller``), or less flat? :func:`dispersion` of each,
    with classes resampled together (the same classes for both)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError("spread compares two per-class vectors of the same length")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(a), size=(BOOTSTRAPS, len(a)))
    draws = dispersion(a[idx]) - dispersion(b[idx])
    return _decide(float(dispersion(a) - dispersion(b)), *_interval(draws), smaller, label)


def bootstrap_scalar(a_units, b_units, stat, smaller: bool = True, seed: int = 0, label: str = "stat(a) − stat(b)",
                     paired: bool = False) -> Verdict:
    """``stat(a_units)`` below (``smaller``) or above ``stat(b_units)``, units (rows) resampled on each side
    (``paired``: the same rows for both, e.g. the same test images)."""
    a, b = np.asarray(a_units, dtype=float), np.asarray(b_units, dtype=float)
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(BOOTSTRAPS // 4):  # statistics of matrices are slower: 500 draws
        ia = rng.integers(0, len(a), len(a))
        ib = ia if paired else rng.integers(0, len(b), len(b))
        draws.append(stat(a[ia]) - stat(b[ib]))
    return _decide(float(stat(a) - stat(b)), *_interval(np.asarray(draws)), smaller, label)


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
