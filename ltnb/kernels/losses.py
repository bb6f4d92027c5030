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


SMOOTHING_TARGETS = ("eq4", "code")


def smoothed_targets(target: torch.Tensor, eps: torch.Tensor, num_classes: int, targets: str = "eq4") -> torch.Tensor:
    """Eq. 4: ``q_y = 1 - eps_y`` and ``q_i = eps_y / (M - 1)`` for every other class ``i``.

    ``targets="code"``: the official code's ``q = (1 - eps_y) onehot + eps_y / M`` on every class (the target too).
    """
    e = eps.to(target.device)[target].unsqueeze(1)
    onehot = F.one_hot(target, num_classes).float()
    if targets == "code":
        return onehot * (1 - e) + e / num_classes
    if targets != "eq4":
        raise ValueError(f"unknown smoothing targets {targets!r}; choose one of {SMOOTHING_TARGETS}")
    return onehot * (1 - e) + (1 - onehot) * e / (num_classes - 1)


def label_aware_smoothing_loss(logits: torch.Tensor, target: torch.Tensor, eps: torch.Tensor,
                               targets: str = "eq4") -> torch.Tensor:
    """Cross-entropy against the label-aware smoothed targets of Eq. 4 (MiSLAS stage 2), batch mean."""
    q = smoothed_targets(target, eps, logits.shape[1], targets)
    return -(q * F.log_softmax(logits.float(), dim=1)).sum(1).mean()


# MiSLAS's official CIFAR stage-2 configs (dvlab-research/MiSLAS, config/cifar*/*_stage2_mislas.yaml):
# imbalance factor -> (smooth_head, smooth_tail, lr_factor of the classifier, shift_bn); 10 epochs,
# lr 0.1 cosine by epoch, batch 128, weight decay 2e-4, class-balanced sampling, concave f.
MISLAS_STAGE2 = {
    "cifar10": {100: (0.3, 0.0, 0.5, False), 50: (0.2, 0.0, 0.2, False), 10: (0.1, 0.0, 0.2, False)},
    "cifar100": {100: (0.4, 0.1, 0.2, True), 50: (0.3, 0.0, 0.1, True), 10: (0.2, 0.0, 0.1, True)},
}


def mislas_settings(dataset_name: str, imb: float) -> dict:
    """MiSLAS's stage-2 settings for the official config nearest in log imbalance factor.

    Data sets of 10 classes (Fashion-MNIST) take CIFAR-10's smoothing and lr factor, but keep
    the BN shift on: the official configs switch it off only for CIFAR-10.
    """
    table = MISLAS_STAGE2["cifar100" if dataset_name == "cifar100" else "cifar10"]
    nearest = min(table, key=lambda b: abs(math.log(b) - math.log(max(imb, 1.0))))
    head, tail, lr_factor, shift = table[nearest]
    return {"las_eps_head": head, "las_eps_tail": tail, "las_form": "concave", "lr_factor": lr_factor,
            "shift_bn": shift if dataset_name.startswith("cifar") else True}
