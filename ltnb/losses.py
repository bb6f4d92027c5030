"""Cross-entropy variants and the mixup loss."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def cross_entropy(logits, target, weight=None):
    """Mean cross-entropy; with ``weight`` the weighted mean of PyTorch (sum w_y l / sum w_y)."""
    return F.cross_entropy(logits, target, weight=weight)


def mixup_loss(loss_fn, logits, y_a, y_b, lam: float):
    """``lam * L(y_a) + (1 - lam) * L(y_b)`` (Zhang et al. 2018)."""
    return lam * loss_fn(logits, y_a) + (1 - lam) * loss_fn(logits, y_b)
