"""Logit adjustments: LDAM margins, Balanced Softmax, deferred re-weighting (DRW), LGLA's CLA and AAW."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def ldam_margins(counts, max_margin: float = 0.5) -> torch.Tensor:
    """LDAM margins ``m_j = C / n_j^(1/4)`` scaled so the largest is ``max_margin`` (Cao et al. 2019, Eq. 12)."""
    m = 1.0 / np.power(np.asarray(counts, dtype=np.float64), 0.25)
    return torch.as_tensor(m * (max_margin / m.max()), dtype=torch.float32)


def ldam_logits(cosine, target, margins, s: float = 30.0):
    """Subtract the target class's margin from its cosine logit, then scale by ``s``."""
    onehot = F.one_hot(target, cosine.shape[1]).to(cosine.dtype)
    return s * (cosine - onehot * margins.to(cosine.device, cosine.dtype))


def ldam_loss(cosine, target, margins, s: float = 30.0, weight=None):
    return F.cross_entropy(ldam_logits(cosine, target, margins, s), target, weight=weight)


def log_prior(counts) -> torch.Tensor:
    n = torch.as_tensor(np.asarray(counts), dtype=torch.float32)
    return torch.log(n / n.sum())


def balanced_softmax_loss(logits, target, counts, weight=None, prior=None):
    """Balanced Softmax (Ren et al. 2020): cross-entropy on ``logits + log n_j`` (``prior``: a precomputed log_prior)."""
    adj = (log_prior(counts) if prior is None else prior).to(logits.device, logits.dtype)
    return F.cross_entropy(logits + adj, target, weight=weight)


def effective_number_weights(counts, beta: float = 0.9999) -> torch.Tensor:
    """Class weights ``(1 - beta) / (1 - beta^n_j)`` normalised to sum to C (Cui et al. 2019), as DRW uses them."""
    n = np.asarray(counts, dtype=np.float64)
    w = (1.0 - beta) / (1.0 - np.power(beta, n))
    return torch.as_tensor(w / w.sum() * len(n), dtype=torch.float32)
