"""Post-hoc and re-trained classifier adjustments on a frozen backbone: LWS, tau-norm, margins, MARR, DisAlign."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def tau_norm_weight(weight: torch.Tensor, tau: float) -> torch.Tensor:
    """tau-normalised weights ``W_j / ||W_j||^tau`` (Kang et al. 2020, Sec. 4)."""
    norms = weight.norm(dim=1, keepdim=True).clamp_min(1e-12)
    return weight / norms.pow(tau)


class _Frozen(nn.Module):
    """A linear classifier ``eta = W z + b`` kept frozen; subclasses add the trained correction."""

    def __init__(self, linear: nn.Linear):
        super().__init__()
        self.weight = nn.Parameter(linear.weight.detach().clone(), requires_grad=False)
        bias = linear.bias.detach().clone() if linear.bias is not None else torch.zeros(linear.out_features)
        self.bias = nn.Parameter(bias, requires_grad=False)

    def logits(self, z):
        return z @ self.weight.t() + self.bias


class LWS(_Frozen):
    """Learnable weight scaling: logits ``f_j * (W_j z + b_j)`` with ``f`` trained, ``W, b`` frozen; ``f = 1`` at start."""

    def __init__(self, linear: nn.Linear):
        super().__init__(linear)
        self.scales = nn.Parameter(torch.ones(linear.out_features))

    def forward(self, z):
        return self.scales * self.logits(z)


# ------------------------------------------------------------------ MARR (margin rectification)

def margins(eta: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Signed margins to each class hyperplane, ``d_j = (W_j z + b_j) / ||W_j|| = eta_j / ||W_j||`` (MARR Eq. 4)."""
    return eta / weight.norm(dim=1).clamp_min(1e-12)


def class_means(values: torch.Tensor, labels: torch.Tensor, num_classes: int | None = None) -> torch.Tensor:
    """Row ``c``: the mean of ``values`` over the samples labelled ``c`` (zeros for an absent class)."""
    K = num_classes or values.shape[1]
    sums = torch.zeros(K, values.shape[1], dtype=values.dtype).index_add_(0, labels, values)
    return sums / torch.bincount(labels, minlength=K).clamp_min(1).unsqueeze(1).to(values.dtype)


def mean_logit_and_margin(eta: torch.Tensor, labels: torch.Tensor, weight: torch.Tensor):
    """Per class ``j``: mean logit ``eta_j`` over the images of class ``j``, and ``d_j = eta_j / ||W_j||`` (MARR Eq. 7)."""
    own = class_means(eta, labels, weight.shape[0]).diagonal()
    return own, margins(own, weight)


def rectified_logits(eta: torch.Tensor, omega: torch.Tensor, beta: torch.Tensor, w_norm: torch.Tensor):
    """``||W_j|| (omega_j d_j + beta_j) = omega_j eta_j + beta_j ||W_j||`` (MARR Eqs. 8-9)."""
    return omega * eta + beta * w_norm


class MARR(_Frozen):
    """Margin rectification: ``omega * eta + beta * ||W||`` on a frozen classifier; ``2K`` parameters, identity at start (MARR Eq. 10)."""

    def __init__(self, linear: nn.Linear):
        super().__init__(linear)
        K = linear.out_features
        self.omega = nn.Parameter(torch.ones(K))
        self.beta = nn.Parameter(torch.zeros(K))
        self.register_buffer("w_norm", self.weight.detach().norm(dim=1))

    def forward(self, z):
        return rectified_logits(self.logits(z), self.omega, self.beta, self.w_norm)


def class_weights(counts, gamma: float) -> torch.Tensor:
    """``U_y = K (1/n_y)^gamma / sum_j (1/n_j)^gamma``; all ones at ``gamma = 0`` (MARR Eq. 12)."""
    inv = torch.as_tensor(counts, dtype=torch.float64).reciprocal().pow(gamma)
    return (len(inv) * inv / inv.sum()).float()


MARR_NORMS = ("batch", "weights")


def reweighted_loss(logits: torch.Tensor, target: torch.Tensor, U: torch.Tensor, norm: str = "batch") -> torch.Tensor:
    """Batch mean of ``-U_y log softmax(logits)_y`` (MARR Eq. 11, Algorithm 2 line 10: divided by the batch size).

    ``norm="weights"`` divides by ``sum_i U_{y_i}`` instead, as ``cross_entropy(weight=U)`` does.
    """
    w = U.to(logits.device)[target]
    weighted = w * F.cross_entropy(logits, target, reduction="none")
    if norm == "weights":
        return weighted.sum() / w.sum()
    if norm != "batch":
        raise ValueError(f"unknown MARR normalisation {norm!r}; choose one of {MARR_NORMS}")
    return weighted.mean()


class DisAlign(_Frozen):
    """DisAlign's calibration ``sigma(z) (omega * eta + beta) + (1 - sigma(z)) eta``, ``sigma(z) = sigmoid(v . z)``; ``p + 2K`` parameters (MARR Table 1)."""

    def __init__(self, linear: nn.Linear):
        super().__init__(linear)
        K, p = self.weight.shape
        self.v = nn.Parameter(torch.zeros(p))
        self.omega = nn.Parameter(torch.ones(K))
        self.beta = nn.Parameter(torch.zeros(K))

    def confidence(self, z):
        return torch.sigmoid(z @ self.v).unsqueeze(1)

    def forward(self, z):
        eta, s = self.logits(z), self.confidence(z)
        return s * (self.omega * eta + self.beta) + (1 - s) * eta


# MARR Sec. 4.1: stage two with "a cosine learning rate schedule ... from 0.05 to 0 for all datasets",
# batch size 512 on CIFAR, gamma = 1.2; the CIFAR stage-two length is not given (10 epochs on
# ImageNet-LT and Places-LT), so the default is the preset's stage2_epochs at this batch size.
MARR_LR = 0.05
MARR_BATCH_SIZE = 512
MARR_GAMMA = 1.2
