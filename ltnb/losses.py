"""Loss combinators shared by the methods."""
from __future__ import annotations


def mixup_loss(loss_fn, logits, y_a, y_b, lam: float):
    """``lam * L(y_a) + (1 - lam) * L(y_b)`` (Zhang et al. 2018)."""
    return lam * loss_fn(logits, y_a) + (1 - lam) * loss_fn(logits, y_b)
