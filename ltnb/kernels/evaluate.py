"""Metrics from logits: accuracy overall, by split and per class; confusion; calibration."""
from __future__ import annotations

import numpy as np
import torch

from ltnb.data import head_mid_tail, many_medium_few


def confusion_matrix(pred, target, num_classes: int) -> np.ndarray:
    """``M[i, j]`` counts test images of class ``i`` predicted as ``j``."""
    idx = np.asarray(target) * num_classes + np.asarray(pred)
    return np.bincount(idx, minlength=num_classes ** 2).reshape(num_classes, num_classes)


def per_class_accuracy(confusion: np.ndarray) -> np.ndarray:
    return np.diag(confusion) / np.maximum(confusion.sum(1), 1)


def f1_per_class(confusion: np.ndarray) -> np.ndarray:
    """F1_j = 2 P_j R_j / (P_j + R_j), precision P_j = M_jj / sum_i M_ij, recall R_j = M_jj / sum_k M_jk (0 if both 0)."""
    tp = np.diag(confusion).astype(float)
    precision = tp / np.maximum(confusion.sum(0), 1)
    recall = tp / np.maximum(confusion.sum(1), 1)
    both = precision + recall
    return np.where(both > 0, 2 * precision * recall / np.where(both > 0, both, 1.0), 0.0)


def expected_calibration_error(probs: torch.Tensor, target: torch.Tensor, bins: int = 15) -> float:
    """ECE: sum over confidence bins of |accuracy - confidence| weighted by the bin's share."""
    conf, pred = probs.max(1)
    correct = (pred == target).double()
    edges = torch.linspace(0, 1, bins + 1, dtype=conf.dtype)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (conf > lo) & (conf <= hi)
        if m.any():
            ece += m.double().mean().item() * abs(correct[m].mean().item() - conf[m].double().mean().item())
    return ece


def split_accuracy(per_class: np.ndarray, counts) -> dict[str, float]:
    """Mean per-class accuracy over many/medium/few (and head/mid/tail where defined); NaN if empty.

    The test sets are balanced, so a split's mean class accuracy equals its image accuracy.
    """
    groups = dict(many_medium_few(counts))
    if len(per_class) in (10, 100):
        groups.update(head_mid_tail(len(per_class)))
    return {k: (float(per_class[v].mean()) if len(v) else float("nan")) for k, v in groups.items()}


def metrics(logits: torch.Tensor, target: torch.Tensor, counts) -> dict:
    """Accuracy (overall, splits, per class), confusion matrix, ECE and NLL from test logits."""
    logits, target = logits.float().cpu(), target.cpu()
    num_classes = logits.shape[1]
    pred = logits.argmax(1)
    conf = confusion_matrix(pred.numpy(), target.numpy(), num_classes)
    pc = per_class_accuracy(conf)
    probs = logits.softmax(1)
    out = {"accuracy": float((pred == target).double().mean()),
           "per_class": pc.tolist(),
           "ece": expected_calibration_error(probs, target),
           "nll": float(torch.nn.functional.cross_entropy(logits, target))}
    out.update(split_accuracy(pc, counts))
    return out, conf


def not_probabilities(stage2: str | None, prediction: str | None = None, view: str = "run") -> str:
    """Why a run's test scores are not probabilities a loss fitted, so that no ECE is read off them; '' if they are.

    Angular scores (L2A, ABS, the angular prediction of ALAS and ATL) are class scores, not a softmax the training
    fitted, and τ-norm rescales the classifier after training; no temperature is fitted here to make them so.
    """
    if view != "run" or prediction == "angular":
        return "angular scores are not probabilities"
    if stage2 == "tau_norm":
        return "τ-norm rescales the weights after training"
    return ""
