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


# ------------------------------------------------------------------ claims on runs

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


def _config(method: str, setting: Setting, seed: int):
    from ltnb import data
    from ltnb.methods import get

    m = get(method)
    knobs = {}
    if "per_class" in m.knobs:  # the balanced reference: as many images as the long-tailed set, spread evenly
        info = data.dataset_info(setting.dataset)
        knobs["per_class"] = sum(data.lt_counts(info.train_per_class, info.num_classes, setting.imb)) // info.num_classes
    return m.config(setting.base, seed, **knobs)


def runs_of(method: str, setting: Setting) -> list:
    """The stored or recorded runs of ``method`` at ``setting``'s seeds (those that exist; nothing trains)."""
    from ltnb import store

    found = [store.load(_config(method, setting, s)) for s in setting.seeds]
    return [r for r in found if r is not None]


def _score(method: str, run) -> dict:
    from ltnb.leaderboard import score
    from ltnb.methods import get

    return score(get(method), run)


def _received(run, kind: str) -> np.ndarray:
    """Mean probability each class receives over the test images (columns of the per-true-class means)."""
    from ltnb import derived

    return derived.get(run, "angular")[f"test_class_probs_{kind}"].mean(0)


def _features(run) -> np.ndarray:
    return np.asarray(run.arrays["test_features"], dtype=float)


# per-class quantities of one run (a method's view of it): name -> (function, positive scale or not, label)
PER_CLASS = {
    "accuracy": (lambda m, r: 100 * np.asarray(_score(m, r)["per_class"], dtype=float), False, "test accuracy (%)"),
    "weight_norm": (lambda m, r: np.linalg.norm(np.asarray(r.arrays["weight"], dtype=float), axis=-1).reshape(
        -1, r.arrays["weight"].shape[-2]).mean(0), True, "classifier weight norm"),
    "gradient_norm": (lambda m, r: np.nanmean(np.asarray([g for g in r.metrics["history"]["head_grad_norm"] if g],
                                                          dtype=float), axis=0), True, "classifier gradient norm"),
    "mean_logit_true": (lambda m, r: np.diag(np.asarray(r.arrays["train_mean_logits"], dtype=float)), False,
                        "mean true-class logit (training images)"),
    "received_linear": (lambda m, r: _received(r, "linear"), True, "mean probability received (linear)"),
    "received_angular": (lambda m, r: _received(r, "angular"), True, "mean probability received (angular)"),
}


def _mean_abs_corr(x) -> float:
    c = np.corrcoef(x, rowvar=False)
    c = c[~np.eye(len(c), dtype=bool)]
    return float(np.nanmean(np.abs(c)))


def _top_share(x) -> float:
    s = np.linalg.svd(x - x.mean(0), compute_uv=False)
    return float(s[0] / s.sum())


# scalar statistics of a run's test-feature subset (the same test images for every run): bootstrapped over images
FEATURE_STATS = {"channel_correlation": (_mean_abs_corr, "mean |correlation| between feature channels"),
                 "singular_value_decay": (_top_share, "share of the largest singular value of the features")}
# scalar metrics of a run: compared as differences of means against the pooled seed noise of that metric
METRICS = {"accuracy": ("accuracy", "points"), "few": ("few", "points"), "many": ("many", "points"),
           "medium": ("medium", "points"), "ece": ("ece", "ECE points")}


def pooled_noise(setting: Setting, metric: str = "accuracy") -> tuple[float, int, str]:
    """Run-to-run standard deviation of ``metric`` (in %), pooled over every leaderboard method with two or
    more seeds recorded at ``setting`` (else at imb 100 of the same preset, said so); (sigma, d.o.f., where)."""
    for imb in dict.fromkeys((float(setting.imb), 100.0)):
        key = (setting.dataset, imb, setting.preset, metric)
        if key not in _NOISE:
            from ltnb import derived

            with derived.reading_only():
                _NOISE[key] = _pooled(Setting(setting.dataset, imb, setting.preset, (0, 1)), metric)
        sd, df = _NOISE[key]
        if df >= 3:
            return sd, df, "" if imb == setting.imb else f"σ of imb {imb:g}"
    return math.nan, 0, "no seeds to pool"


_NOISE: dict = {}


def _pooled(setting: Setting, metric: str) -> tuple[float, int]:
    from ltnb import data
    from ltnb.chapters.leaderboard import entries
    from ltnb.leaderboard import pooled_sd

    groups = []
    for e in entries(data.dataset_info(setting.dataset).num_classes):
        groups.append([100 * _metric(e, r, metric) for r in _entry_runs(e, setting)])
    return pooled_sd(groups)


def _entry_runs(entry, setting: Setting) -> list:
    from ltnb import store

    found = [store.load(entry.config(setting.base, s)) for s in setting.seeds]
    return [r for r in found if r is not None]


def _metric(entry, run, metric: str) -> float:
    from ltnb.leaderboard import score

    try:
        return float(score(entry, run).get(METRICS[metric][0], math.nan))
    except FileNotFoundError:  # a post-hoc view whose arrays this recording does not keep: not counted
        return math.nan


def _mean_over_seeds(method: str, runs, quantity: str) -> np.ndarray:
    fn = PER_CLASS[quantity][0]
    return np.mean([fn(method, r) for r in runs], axis=0)


def evaluate(claim, setting: Setting) -> Verdict:
    """The verdict on ``claim`` (:class:`ltnb.claims.Claim`) from the runs recorded or stored at ``setting``."""
    from ltnb import derived

    if claim.kind == "untestable":
        return Verdict(UNTESTABLE, claim.why)
    try:
        with derived.reading_only():
            return _evaluate(claim, setting)
    except FileNotFoundError as err:  # a view that needs arrays the recording does not keep
        return Verdict(MISSING, f"a run lacks what this needs ({str(err).split(':')[0]})")


def _missing(*names) -> Verdict:
    return Verdict(MISSING, f"no run of {', '.join(names)} recorded at this setting")


def _evaluate(claim, s: Setting) -> Verdict:
    kind, q = claim.kind, claim.quantity
    if kind == "trend":
        runs = runs_of(claim.method, s)
        if not runs:
            return _missing(claim.method)
        sizes = np.asarray(runs[0].metrics["counts"], dtype=float)
        values = _mean_over_seeds(claim.method, runs, q)
        ref = runs_of(REFERENCE, s)
        if not ref:
            return _missing(REFERENCE)
        rel = against_reference(values, _mean_over_seeds(REFERENCE, ref, q), log=PER_CLASS[q][1])
        return rank_trend(rel, sizes, claim.direction, what=" (against the balanced reference)")
    a, b = claim.a, claim.b or claim.a
    ra, rb = runs_of(a, s), runs_of(b, s)
    if not ra or not rb:
        return _missing(*[n for n, r in ((a, ra), (b, rb)) if not r])
    smaller = kind in ("less", "flatter")
    if kind in ("beats", "beats_few") or (kind in ("less", "more") and q in METRICS):
        metric = "few" if kind == "beats_few" else q if kind in ("less", "more") else "accuracy"
        if metric in ("few", "medium", "many") and not _has_split(ra[0], metric):
            return Verdict(UNTESTABLE, f"no class is '{metric}' at this imbalance factor "
                                       f"(few: under 20 training images, many: over 100)")
        sigma, df, where = pooled_noise(s, metric)
        if not sigma == sigma:
            return Verdict(MISSING, "no seeds recorded to estimate the noise")
        va = [100 * _metric_of(a, r, metric) for r in ra]
        vb = [100 * _metric_of(b, r, metric) for r in rb]
        if smaller:
            va, vb = vb, va  # "a less than b" is "b beats a" on this metric
        v = difference(va, vb, sigma, METRICS[metric][1])
        return Verdict(v.verdict, v.number + (f"; {where}" if where else ""), v.value)
    if kind == "flatter":
        qb = claim.quantity_b or q
        return spread(_mean_over_seeds(a, ra, q), _mean_over_seeds(b, rb, qb), smaller=True,
                      label=f"spread of {PER_CLASS[q][2]} ({a}) − of {PER_CLASS[qb][2]} ({b})")
    if kind in ("less", "more") and q in FEATURE_STATS:
        stat, label = FEATURE_STATS[q]
        return bootstrap_scalar(_features(ra[0]), _features(rb[0]), stat, smaller=smaller, paired=True,
                                label=f"{label}: {a} − {b} (first seed, the same test images)")
    raise ValueError(f"claim {claim.id}: no rule for kind {kind!r} with quantity {q!r}")


REFERENCE = "CE, balanced"


def _has_split(run, split: str) -> bool:
    v = run.metrics.get(split)
    return v is not None and v == v


def _metric_of(method: str, run, metric: str) -> float:
    return float(_score(method, run).get(METRICS[metric][0], math.nan))


def show(ctx, chapter: str, figure: str) -> list:
    """A chapter's cell under a figure or table: the claims it tests (:func:`ltnb.claims.of_chapter`), each
    with its verdict at the chapter's setting. Returns the (claim, verdict) pairs."""
    from ltnb import claims, report

    setting = Setting.of(ctx)
    rows = [(c, evaluate(c, setting)) for c in claims.of_chapter(chapter, figure)]
    if not rows:
        raise ValueError(f"no claim of chapter {chapter!r} is tested at {figure!r}")
    report.verdict_box(rows, f"{ctx.stamp}; noise: {_noise_words(setting)}")
    return rows


def _noise_words(setting: Setting) -> str:
    sd, df, where = pooled_noise(setting)
    if not sd == sd:
        return "no seeds recorded to pool"
    return f"run-to-run σ = {sd:.2f} points pooled over {df} d.o.f. of the leaderboard's seeds" + (
        f" ({where})" if where else "")


def recorded_settings(dataset: str = "fmnist", presets=None) -> list[Setting]:
    """Every (preset, imbalance factor) at which CE's first seed is stored or recorded: where claims can be read."""
    from ltnb import store
    from ltnb.presets import PRESETS

    out = []
    for preset in presets or PRESETS:
        for imb in (1000.0, 500.0, 200.0, 100.0, 50.0, 10.0):
            s = Setting(dataset, imb, preset, (0, 1))
            if store.exists(_config("CE", s, 0)):
                out.append(s)
    return out
