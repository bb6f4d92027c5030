"""Post-hoc and re-trained classifier adjustments on a frozen backbone: LWS and tau-norm."""
from __future__ import annotations

import torch
from torch import nn


def tau_norm_weight(weight: torch.Tensor, tau: float) -> torch.Tensor:
    """tau-normalised weights ``W_j / ||W_j||^tau`` (Kang et al. 2020, Sec. 4)."""
    norms = weight.norm(dim=1, keepdim=True).clamp_min(1e-12)
    return weight / norms.pow(tau)


class LWS(nn.Module):
    """Learnable weight scaling: logits ``f_j * (W_j z + b_j)`` with ``f`` trained, ``W, b`` frozen; ``f = 1`` at start."""

    def __init__(self, linear: nn.Linear):
        super().__init__()
        self.weight = nn.Parameter(linear.weight.detach().clone(), requires_grad=False)
        bias = linear.bias.detach().clone() if linear.bias is not None else torch.zeros(linear.out_features)
        self.bias = nn.Parameter(bias, requires_grad=False)
        self.scales = nn.Parameter(torch.ones(linear.out_features))

    def forward(self, z):
        return self.scales * (z @ self.weight.t() + self.bias)
