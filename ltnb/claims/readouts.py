"""What is read off a run to test a claim: per-class quantities, scalar metrics, statistics of the test
features and of the experts, each named as :mod:`ltnb.claims` names them (``quantity``). Read only, from a
stored run or its recording (post-hoc views scored as the leaderboard scores them).
"""
from __future__ import annotations

import math
from typing import Callable, NamedTuple

import numpy as np
import torch

from ltnb import store
from ltnb.claims.scores import abs_strength, score
from ltnb.kernels import angular, evaluate, lgla, samplers
from ltnb.methods import get
from ltnb.runs import derived
from ltnb.stats import spearman

TAIL, HEAD = slice(-3, None), slice(0, 3)  # the angular paper's head / tail by class index on ten classes


def _score(method: str, run, knobs=()) -> dict:

    kw = dict(knobs)
    if "s_abs" in kw:  # ABS at another strength (angular Table 5), post hoc on the stage-1 run

        a = derived.read(run, "angular")
        te = torch.from_numpy(a["test_angular_logits"]).float()
        gamma = angular.abs_gamma(angular.abs_bias(torch.from_numpy(a["train_class_probs_angular"])),
                                  kw["s_abs"], kw.get("form_abs", "sine"))
        after = angular.abs_calibrate(te.softmax(1), gamma)
        return evaluate.metrics(after.log(), torch.from_numpy(derived.test_labels(run)).long(),
                                run.metrics["counts"])[0]
    return score(get(method) if isinstance(method, str) else method, run)


# ------------------------------------------------------------------ what is read off a run

def _angular(run) -> dict:
    return derived.read(run, "angular")


def _received(run, kind: str) -> np.ndarray:
    """Mean probability each class receives over the balanced test images."""
    if kind == "angular":
        return torch.from_numpy(_angular(run)["test_angular_logits"]).float().softmax(1).mean(0).numpy()
    return _angular(run)["test_class_probs_linear"].mean(0)


def _received_abs(run) -> np.ndarray:

    a = _angular(run)
    te = torch.from_numpy(a["test_angular_logits"]).float()
    s, form = abs_strength(te.shape[1])
    gamma = angular.abs_gamma(angular.abs_bias(torch.from_numpy(a["train_class_probs_angular"])), s, form)
    after = angular.abs_calibrate(te.softmax(1), gamma)
    return (after / after.sum(1, keepdim=True)).mean(0).numpy()  # renormalised, as the chapter's Figure 5


def _norms(run) -> np.ndarray:
    w = np.asarray(run.arrays["weight"], dtype=float)
    return np.linalg.norm(w, axis=-1)  # (C,), or (K, C) for K experts


def _lws_scale(run) -> np.ndarray:
    if "scales" in run.arrays:  # MiSLAS stores its learned scales
        return np.asarray(run.arrays["scales"], dtype=float)
    parent = store.load(run.config.parent)  # LWS folds f_j into W_j: the scale is the norm ratio to its backbone
    return _norms(run) / _norms(parent)


def _expert_logits(run) -> torch.Tensor:
    return torch.from_numpy(derived.read(run, "experts")["test_expert_logits"]).float()


def _per_class_mean(values, labels, C: int) -> np.ndarray:
    return np.array([values[labels == c].mean() for c in range(C)])


def features_of(run, split: str = "test") -> np.ndarray:
    """The run's unit-length feature subset: 50 test images per class, or (``split="train"``) the first 50 training
    images of each class (:mod:`ltnb.runs.derived`'s ``train_features``)."""
    if split == "train":
        z = np.asarray(derived.read(run, "train_features")["train_features"], dtype=float)
    else:  # stored with a recording that kept them, else computed from the run's files
        z = np.asarray(derived.read(run, "features")["test_features"], dtype=float)
    return z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)


def feature_labels(run, split: str = "test") -> np.ndarray:
    if split == "train":
        return np.asarray(derived.read(run, "train_features")["train_feature_labels"])
    f = derived.read(run, "features")
    return np.asarray(f["test_labels"])[np.asarray(f["feature_idx"])]


def _spread(run) -> np.ndarray:
    """Each class's mean distance of its (unit-length) test features to their class mean."""
    z, y = features_of(run), feature_labels(run)
    return np.array([np.linalg.norm(z[y == c] - z[y == c].mean(0), axis=1).mean() for c in np.unique(y)])


def _expert_accuracy(run, k: int) -> np.ndarray:
    v, y = _expert_logits(run), np.asarray(derived.test_labels(run))
    return 100 * _per_class_mean(v[:, k].argmax(1).numpy() == y, y, v.shape[2])


# per-class quantities of one run (a method's view of it): name -> (function, positive scale, label); REFERENCE_OF
# says what the balanced reference reads for it (its plain counterpart; None: no counterpart, the trend is raw)
PER_CLASS = {
    "accuracy": (lambda m, r, k: 100 * np.asarray(_score(m, r, k)["per_class"], dtype=float), False,
                 "test accuracy (%)"),
    "weight_norm": (lambda m, r, k: _norms(r).reshape(-1, _norms(r).shape[-1]).mean(0), True,
                    "classifier weight norm"),
    "weight_norm_expert_first": (lambda m, r, k: _norms(r)[0], True, "first expert's weight norm"),
    "weight_norm_expert_last_local": (lambda m, r, k: _norms(r)[-2], True, "last local expert's weight norm"),
    "weight_norm_expert_global": (lambda m, r, k: _norms(r)[-1], True, "global (GLA) expert's weight norm"),
    "accuracy_expert_global": (lambda m, r, k: _expert_accuracy(r, -1), False, "GLA expert's test accuracy (%)"),
    "gradient_norm": (lambda m, r, k: np.asarray([g for g in r.metrics["history"]["head_grad_norm"] if g][-1],
                                                 dtype=float), True, "classifier gradient norm (last epoch)"),
    "mean_logit_true": (lambda m, r, k: np.diag(np.asarray(r.arrays["train_mean_logits"], dtype=float)), False,
                        "mean own linear logit (training images)"),
    "margin": (lambda m, r, k: np.diag(np.asarray(r.arrays["train_mean_logits"], dtype=float))
               / _norms(r).reshape(-1, _norms(r).shape[-1]).mean(0), False,
               "mean own logit over the weight norm (training images)"),
    "angular_logit_true": (lambda m, r, k: np.diag(_angular(r)["train_class_logits_angular"]), False,
                           "mean own angular logit (training images)"),
    "mean_logit_true_test": (lambda m, r, k: np.diag(_angular(r)["test_class_logits_linear"]), False,
                             "mean own linear logit (test images)"),
    "angular_logit_true_test": (lambda m, r, k: np.diag(_angular(r)["test_class_logits_angular"]), False,
                                "mean own angular logit (test images)"),
    "received_linear": (lambda m, r, k: _received(r, "linear"), True, "mean probability received (linear)"),
    "received_angular": (lambda m, r, k: _received(r, "angular"), True, "mean probability received (angular)"),
    "received_abs": (lambda m, r, k: _received_abs(r), True, "mean probability received (after ABS)"),
    "angular_floor": (lambda m, r, k: np.asarray(_angular(r)["train_class_probs_angular"]).min(0), True,
                      "least mean angular probability a class receives from any class (training images)"),
    "predicted_share": (lambda m, r, k: np.asarray(r.arrays["confusion"], dtype=float).sum(0)
                        / np.asarray(r.arrays["confusion"]).sum(), True, "share of test predictions"),
    "lws_scale": (lambda m, r, k: _lws_scale(r), True, "learned LWS scale"),
    "feature_spread": (lambda m, r, k: _spread(r), True, "spread of the test features around their class mean"),
    "avh": (lambda m, r, k: _avh(r), True, "mean angular visual hardness (test images)"),
}


REFERENCE_OF = {"weight_norm_expert_first": "weight_norm", "weight_norm_expert_last_local": "weight_norm",
                "weight_norm_expert_global": "weight_norm", "accuracy_expert_global": "accuracy", "lws_scale": None,
                "received_abs": "received_angular"}


def _avh(run) -> np.ndarray:
    return _per_class_mean(np.asarray(derived.read(run, "avh")["test_avh"]), np.asarray(derived.test_labels(run)),
                           len(run.metrics["counts"]))


def _grad(r) -> np.ndarray:
    return PER_CLASS["gradient_norm"][0]("", r, ())


# scalar metrics of a run: name -> (function of (method, run, knobs) in its unit, unit); compared as differences
# of means against the seed noise of the same metric pooled over the leaderboard's runs
METRICS = {
    **{m: ((lambda key: lambda me, r, k: 100 * float(_score(me, r, k).get(key, math.nan)))(m), "points")
       for m in ("accuracy", "many", "medium", "few", "head", "mid", "tail")},
    "ece": (lambda me, r, k: 100 * float(_score(me, r, k)["ece"]), "ECE points"),
    # the run's own test predictions (a stored run, not a post-hoc view of one)
    "macro_f1": (lambda me, r, k: 100 * float(evaluate.f1_per_class(np.asarray(r.arrays["confusion"])).mean()),
                 "points"),
    "train_loss": (lambda me, r, k: float(r.metrics["history"]["loss"][-1]), "(last-epoch training loss)"),
    "tail_gradient_norm": (lambda me, r, k: float(_grad(r)[TAIL].mean()), "(tail gradient norm)"),
    "tail_head_gradient_ratio": (lambda me, r, k: float(_grad(r)[TAIL].mean() / _grad(r)[HEAD].mean()),
                                 "(tail over head gradient norm)"),
}


def _cov(x) -> np.ndarray:
    xc = x - x.mean(0)
    return xc.T @ xc / max(len(x) - 1, 1)


def _mean_abs_corr(x) -> float:
    c = _cov(x)
    sd = np.sqrt(np.diag(c))
    live = sd > 1e-12  # a dead channel (constant over the images) has no correlation
    r = c[np.ix_(live, live)] / np.outer(sd[live], sd[live])
    return float(np.abs(r[~np.eye(len(r), dtype=bool)]).mean())


def _top_share(x) -> float:
    """The largest singular value's share of their sum, for the centred features (from the covariance's eigenvalues)."""
    s = np.sqrt(np.clip(np.linalg.eigvalsh(_cov(x)), 0, None))
    return float(s[-1] / s.sum())


def _condition(x) -> float:
    ev = np.linalg.eigvalsh(_cov(x))
    return float(np.log10(ev[-1] / max(ev[0], 1e-12)))


def _nn_correct(xy) -> np.ndarray:
    """Per test image: 1 where its nearest other image (cosine, unit features) has its class; the last column holds
    the label. Bootstrapped as per-image outcomes: resampled duplicates would be each other's nearest neighbours."""
    x, y = xy[:, :-1], xy[:, -1]
    sim = x @ x.T
    np.fill_diagonal(sim, -np.inf)
    return (y[sim.argmax(1)] == y).astype(float)[:, None]


def _tail_spread(xy) -> float:
    x, y = xy[:, :-1], xy[:, -1]
    tail = np.unique(y)[TAIL]
    return float(np.mean([np.linalg.norm(x[y == c] - x[y == c].mean(0), axis=1).mean() for c in tail]))


# statistics of a run's test-feature subset (the same test images for every run), bootstrapped over images
FEATURE_STATS = {"channel_correlation": (_mean_abs_corr, "mean |correlation| between feature channels", False),
                 "singular_value_decay": (_top_share, "largest singular value's share", False),
                 "condition_number": (_condition, "log10 condition number of the feature covariance", False),
                 "feature_separability": (_nn_correct, "1-NN accuracy of the test features", "items"),
                 # the same on the training images (the first 50 of each class): GCL Fig. 3(a)
                 "train_feature_separability": (_nn_correct, "1-NN accuracy of the training features", "items"),
                 "tail_feature_spread": (_tail_spread, "tail classes' feature spread", True)}


def _disagree(run) -> np.ndarray:
    """Per test image: 1 where the experts' predictions are not all the same."""
    p = _expert_logits(run).argmax(2).numpy()
    return (p != p[:, :1]).any(1).astype(float)[:, None]


EXPERT_STATS = {"expert_disagreement": (_disagree, "share of test images on which the experts disagree")}


def own_group_lead(run) -> float:
    """LGLA Sec. 3.2: each LLA expert alone on its own class group, against the best other expert there (points;
    the smallest of the K - 1 leads): above 0 when every LLA expert is the most accurate on its group."""
    v, y = _expert_logits(run), np.asarray(derived.test_labels(run))
    K, C = v.shape[1], v.shape[2]
    acc = np.stack([_per_class_mean(v[:, k].argmax(1).numpy() == y, y, C) for k in range(K)])  # K, C
    groups = lgla.groups_of(run.metrics["counts"], K - 1, dict(run.config.extra).get("groups", "nearest"))
    leads = []
    for g in range(K - 1):
        on_g = 100 * acc[:, groups == g].mean(1)  # each expert's accuracy on group g (balanced test: per image)
        leads.append(on_g[g] - np.delete(on_g, g).max())
    return float(min(leads))


def norm_accuracy_rho(run, reference_accuracy) -> float:
    """LGLA Sec. 3.2: within each expert, Spearman's rho between a class's weight norm and the expert's test accuracy
    on it beyond the class's difficulty (minus the balanced reference's accuracy on it, in points), averaged over
    the experts: positive when classes with larger norms are classified better than their difficulty says."""
    v, y = _expert_logits(run), np.asarray(derived.test_labels(run))
    norms = np.linalg.norm(np.asarray(run.arrays["weight"], dtype=float), axis=2)  # K, C
    return float(np.mean([spearman(norms[k], 100 * _per_class_mean(v[:, k].argmax(1).numpy() == y, y, v.shape[2])
                                   - np.asarray(reference_accuracy)) for k in range(v.shape[1])]))


class Lead(NamedTuple):
    """A per-run statistic that a "positive" claim says is above 0."""
    fn: Callable  # the statistic, a function of a run (and, where it reads difficulty, the reference's accuracy)
    label: str  # what it is, in words
    unit: str
    reads_difficulty: bool  # reads the balanced reference's per-class accuracy (a run of it per seed)


LEADS = {"own_group_lead": Lead(own_group_lead, "smallest lead of an LLA expert alone over the best other expert "
                                                "on its own class group", "points", False),
         "norm_accuracy_rho": Lead(norm_accuracy_rho, "ρ between a class's weight norm and its accuracy against the "
                                                      "balanced reference's, within an expert, mean over the experts",
                                   "", True)}


# the derived arrays (:data:`ltnb.runs.derived.KINDS`) a quantity reads off each run beyond what every recording
# keeps: a verdict's replicates are recorded with them (:mod:`ltnb.claims.replicates`)
_ANGULAR = ("angular_logit_true", "mean_logit_true_test", "angular_logit_true_test", "received_linear",
            "received_angular", "received_abs", "angular_floor")


def kinds_read(quantity: str) -> set:
    """The derived kinds reading ``quantity`` off a run needs (empty: the metrics and arrays every recording keeps)."""
    if quantity in FEATURE_STATS:
        return {"train_features" if quantity.startswith("train_") else "features"}
    if quantity in EXPERT_STATS or quantity in LEADS or quantity == "accuracy_expert_global":
        return {"experts"}
    return {"feature_spread": {"features"}, "avh": {"avh"}}.get(quantity, {"angular"} if quantity in _ANGULAR else set())


def sampler_tail_share(counts, kind: str) -> float:
    return float(samplers.class_weights(np.asarray(counts), kind)[TAIL].sum())


def batch_shares(counts, kind: str, batch_size: int) -> np.ndarray:
    """Each class's share of a batch: a sampler's target frequencies, or for ``b3rs`` a B3RS batch at Table 6's
    settings for this many classes (Eqs. 14-15), averaged over its blocks (whitening Fig. 4)."""
    n = np.asarray(counts)
    if kind != "b3rs":
        return samplers.class_weights(n, kind)
    d = samplers.b3rs_defaults(len(n))
    shares = np.zeros(len(n))
    for cls, k in samplers.b3rs_plan(n, batch_size, d["blocks"], d["r0"], d["alpha"]):
        shares[cls] += k / batch_size / d["blocks"]
    return shares


def batch_imbalance(counts, kind: str, batch_size: int) -> float:
    """How imbalanced a batch is: the largest class share over the smallest (1 for class-balanced batches)."""
    s = batch_shares(counts, kind, batch_size)
    return float(s.max() / s.min())
