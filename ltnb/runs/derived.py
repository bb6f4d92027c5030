"""Arrays the chapters read that are computed from a run's own files (a recording lacking them: from the run trained into the store).

A run in the user's store keeps its features and network, so these are computed when asked
for; a recording (:mod:`ltnb.record`) keeps the small part of a run and stores the kinds its
chapters read, computed here, instead of the features. :func:`read` serves both alike and never trains;
:func:`ltnb.runs.train.arrays` trains the run into the store where a recording lacks a kind.

Kinds:

* ``angular``: the angular logits of the test images (angular Eq. 1) and the per-class means of
  the linear and angular logits and probabilities on the training and test images (C x C each);
* ``avh``: the angular visual hardness of every test image (angular Eq. 12);
* ``experts``: every expert's test logits of a multi-expert run, ``(N, K, C)``;
* ``spectra``: the singular values of each stage's channel matrix over the first 300 test
  images (whitening Figs. 7 and 11), from the stored network;
* ``features``: the stored subset of test features (50 per class) and the test labels.
* ``train_features``: the same for the training images: the features of the first 50 images of each class
  (all of a class with fewer), their indices and labels (GCL Figs. 1 and 3 draw the training set beside the
  test set).
"""
from __future__ import annotations

import numpy as np
import torch

from ltnb import data as D
from ltnb.kernels import angular, experts as E, whitening as W
from ltnb.presets import PRESETS
from ltnb.store import Run
from ltnb.training.common import FEATURES_PER_CLASS, build_model, dataset, feature_subset

KINDS = ("angular", "avh", "experts", "spectra", "features", "train_features")
KIND_WORDS = {"angular": "angular logits", "avh": "angular hardness (AVH)", "experts": "per-expert test logits",
              "spectra": "per-stage singular values", "features": "test features",
              "train_features": "training-image features"}
NAMES = {
    "angular": ("test_angular_logits", "train_class_logits_linear", "train_class_logits_angular",
                "train_class_probs_linear", "train_class_probs_angular", "test_class_logits_linear",
                "test_class_logits_angular", "test_class_probs_linear", "test_class_probs_angular"),
    "avh": ("test_avh",),
    "experts": ("test_expert_logits",),
    "features": ("test_features", "feature_idx", "test_labels"),  # a recording without them: "lacks 'test_features'"
    "train_features": ("train_feature_idx", "train_features", "train_feature_labels"),
}
SPECTRUM = "spectrum_"  # + layer name: one array per stage
SPECTRUM_IMAGES = 300


def _split(run: Run, split: str):
    f = run.features()
    return torch.from_numpy(f[split]).float(), torch.from_numpy(f[f"{split}_labels"]).long()


def _class_means(values: torch.Tensor, labels: torch.Tensor, num_classes: int) -> np.ndarray:
    return angular.class_mean_probabilities(values, labels, num_classes).numpy()


def _angular(run: Run) -> dict:
    if run.config.stage2 in ("mislas", "alas"):  # stage 2 on images stores its own test angular logits
        return {"test_angular_logits": run.arrays["test_angular"]}
    a = run.arrays
    Wt = torch.from_numpy(a["weight"]).float()
    b = torch.from_numpy(a["bias"]).float() if "bias" in a else 0
    out = {}
    for split in ("train", "test"):
        z, y = _split(run, split)
        lin, ang = z @ Wt.t() + b, angular.angular_logits(z, Wt)
        C = Wt.shape[0]
        for name, lg in (("linear", lin), ("angular", ang)):
            out[f"{split}_class_logits_{name}"] = _class_means(lg, y, C)
            out[f"{split}_class_probs_{name}"] = _class_means(lg.softmax(1), y, C)
        if split == "test":
            out["test_angular_logits"] = ang.numpy()
    return out


def _avh(run: Run) -> dict:
    z, y = _split(run, "test")
    return {"test_avh": angular.avh_score(z, torch.from_numpy(run.arrays["weight"]).float(), y).numpy()}


def _experts(run: Run) -> dict:
    z, _ = _split(run, "test")
    scale = float(run.config.knob("s", 30.0))
    return {"test_expert_logits": E.cosine_logits(z, torch.from_numpy(run.arrays["weight"]).float(), scale).numpy()}


def _spectra(run: Run) -> dict:
    cfg = run.config
    lt = dataset(cfg.dataset, cfg.imb)
    images, _ = D.DeviceImages(lt.test, "cpu").batch(torch.arange(min(SPECTRUM_IMAGES, len(lt.test))), augment=False)
    model = build_model(cfg, lt, PRESETS[cfg.preset])
    model.load_state_dict(run.state_dict())
    feats = W.layer_features(model, images)
    return {SPECTRUM + k: W.channel_singular_values(v).numpy() for k, v in feats.items()}


def _features(run: Run) -> dict:
    a = run.arrays
    return {k: a[k] for k in NAMES["features"]}


def _train_features(run: Run) -> dict:
    z, y = _split(run, "train")
    keep = feature_subset(y, FEATURES_PER_CLASS)
    return {"train_feature_idx": keep, "train_features": z[keep].numpy().astype(np.float32),
            "train_feature_labels": y[keep].numpy()}


COMPUTE = {"angular": _angular, "avh": _avh, "experts": _experts, "spectra": _spectra, "features": _features,
           "train_features": _train_features}


def compute(run: Run, kind: str) -> dict[str, np.ndarray]:
    """The arrays of ``kind`` computed from the run's files (its features, or its network for spectra)."""
    if kind not in COMPUTE:
        raise ValueError(f"unknown derived kind {kind!r}; choose one of {KINDS}")
    return COMPUTE[kind](run)


def stored(run: Run, kind: str) -> dict | None:
    a = run.arrays
    if kind == "spectra":
        found = {k: v for k, v in a.items() if k.startswith(SPECTRUM)}
        return found or None
    if kind == "angular" and run.config.stage2 in ("mislas", "alas") and "test_angular_logits" in a:
        return {"test_angular_logits": a["test_angular_logits"]}
    names = NAMES[kind]
    return {k: a[k] for k in names} if all(k in a for k in names) else None


_CACHE: dict = {}


class NotRecorded(FileNotFoundError):
    """A recording lacks derived arrays and has no network or features to compute them from."""


def read(run: Run, kind: str) -> dict[str, np.ndarray]:
    """The arrays of ``kind`` for ``run``, never training: stored with it (a recording), else computed from its files
    (a stored run). A recording without them raises :class:`NotRecorded`, naming the run and the kind. The claims
    read through this (they cannot train: nothing on this path imports the trainer)."""
    key = (str(run.path), kind)
    if key not in _CACHE:
        found = stored(run, kind)
        if found is None and run.recorded:
            raise NotRecorded(f"the recording of run {run.config.key} has no {kind}: arrays (a chapter that shows them "
                              f"trains the run again; python -m ltnb.record --retrain {run.config.key} does too)")
        _CACHE[key] = found or compute(run, kind)
    return _CACHE[key]


def test_labels(run: Run, reader=read) -> np.ndarray:
    """The run's test labels: a fresh run and a recording of test arrays keep them; else read with its features by
    ``reader`` (:func:`read`, or :func:`ltnb.runs.train.arrays`, which trains), so labels come from the run they label."""
    a = run.arrays
    return a["test_labels"] if "test_labels" in a else reader(run, "features")["test_labels"]
