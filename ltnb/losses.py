"""Loss combinators and label smoothing shared by the methods."""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

FORMS = ("concave", "sine", "linear")  # "sine" (angular Eq. 8) is the "concave" form (MiSLAS, angular Table 6)


def mixup_loss(loss_fn, logits, y_a, y_b, lam: float):
    """``lam * L(y_a) + (1 - lam) * L(y_b)`` (Zhang et al. 2018)."""
    return lam * loss_fn(logits, y_a) + (1 - lam) * loss_fn(logits, y_b)


def check_form(form: str) -> str:
    if form not in FORMS:
        raise ValueError(f"unknown form {form!r} of f / F; choose one of {FORMS}")
    return form


def profile(x, form: str = "concave"):
    """``f(x)``, min-max normalised to [0, 1], linear or ``sin(pi/2 * .)`` (angular Eqs. 8-9, MiSLAS's f); zeros when all x are equal."""
    check_form(form)
    x = torch.as_tensor(x, dtype=torch.float32) if not torch.is_tensor(x) else x.float()
    span = x.max() - x.min()
    u = (x - x.min()) / span if float(span) > 0 else torch.zeros_like(x)
    return u if form == "linear" else torch.sin(0.5 * math.pi * u)


def label_aware_epsilons(counts, eps_head: float, eps_tail: float, form: str = "concave") -> torch.Tensor:
    """MiSLAS's per-class smoothing ``eps_y = eps_tail + (eps_head - eps_tail) f(N_y)``: the largest class gets ``eps_head`` (Eq. 4)."""
    if not (0 <= eps_tail <= 1 and 0 <= eps_head <= 1):
        raise ValueError(f"smoothing factors must lie in [0, 1], got head {eps_head} and tail {eps_tail}")
    return eps_tail + (eps_head - eps_tail) * profile(np.asarray(counts, dtype=np.float64), form)


def smoothed_targets(target: torch.Tensor, eps: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Eq. 4: ``q_y = 1 - eps_y`` and ``q_i = eps_y / (M - 1)`` for every other class ``i``."""
    e = eps.to(target.device)[target].unsqueeze(1)
    onehot = F.one_hot(target, num_classes).float()
    return onehot * (1 - e) + (1 - onehot) * e / (num_classes - 1)


def label_aware_smoothing_loss(logits: torch.Tensor, target: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """Cross-entropy against the label-aware smoothed targets of Eq. 4 (MiSLAS stage 2), batch mean."""
    q = smoothed_targets(target, eps, logits.shape[1])
    return -(q * F.log_softmax(logits.float(), dim=1)).sum(1).mean()
