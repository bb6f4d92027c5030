"""Gaussian clouded logit adjustment (Li, Cheung and Lu, CVPR 2022)."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

CLOUD_STRATEGIES = ("log", "cos", "pow3", "pow4")


def cloud_size(counts, strategy: str = "log") -> torch.Tensor:
    """Cloud sizes ``delta_j`` (Eq. 9 and Table 3), divided by their maximum (Sec. 4.2); zero for the largest class."""
    n = np.asarray(counts, dtype=np.float64)
    nmax = n.max()
    if strategy == "log":
        d = np.log(nmax) - np.log(n)
    elif strategy == "cos":
        d = np.cos(n / nmax * np.pi / 2)
    elif strategy == "pow3":
        d = nmax ** (1 / 3) - n ** (1 / 3)
    elif strategy == "pow4":
        d = nmax ** 0.25 - n ** 0.25
    else:
        raise ValueError(f"unknown cloud-size strategy {strategy!r}; choose one of {CLOUD_STRATEGIES}")
    top = d.max()
    return torch.as_tensor(d / top if top > 0 else d, dtype=torch.float32)


def cloud_noise(shape, generator: torch.Generator | None = None, device="cpu") -> torch.Tensor:
    """``eps ~ N(0, sigma = 1/3)`` clamped to [-1, 1] (Sec. 4.2), one draw per sample and class."""
    eps = torch.randn(shape, generator=generator) / 3.0
    return eps.clamp(-1.0, 1.0).to(device)


def clouded_cosine_logits(cosine, target, delta, noise, noise_mul: float = 0.5,
                          margin: float = 0.0, s: float = 30.0) -> torch.Tensor:
    """Eq. 11: ``s * (cos_j - noise_mul * |eps| * delta_j - margin * [j = y])``."""
    delta = delta.to(cosine.device, cosine.dtype)
    out = cosine - noise_mul * noise.abs().to(cosine.dtype) * delta
    if margin:
        out = out - margin * F.one_hot(target, cosine.shape[1]).to(cosine.dtype)
    return s * out


def gcl_loss(cosine, target, delta, noise, noise_mul: float = 0.5, margin: float = 0.0,
             s: float = 30.0, weight=None, focal: float = 0.0) -> torch.Tensor:
    """Eq. 12: softmax cross-entropy on the clouded cosine logits.

    ``focal`` > 0: each image's loss times ``(1 - p_y)^focal`` with ``p_y = exp(-loss)`` held constant, the
    focal term the official stage-2 script adds (gamma = 1); the paper's Eq. 12 has none (0).
    """
    logits = clouded_cosine_logits(cosine, target, delta, noise, noise_mul, margin, s)
    if not focal:
        return F.cross_entropy(logits, target, weight=weight)
    return focal_mean(F.cross_entropy(logits, target, weight=weight, reduction="none"), focal)


def focal_mean(ce: torch.Tensor, gamma: float) -> torch.Tensor:
    """``mean((1 - p) ** gamma * ce)`` with ``p = exp(-ce)`` detached: the focal weighting of per-image losses."""
    return ((1 - torch.exp(-ce.detach())) ** gamma * ce).mean()


def target_logit_gradient(logit_difference: torch.Tensor) -> torch.Tensor:
    """``|dL/dz_y| = 1 - p_y`` for two classes whose logits differ by ``z_y - z_j`` (the softmax-saturation plot)."""
    return torch.sigmoid(-logit_difference)  # = 1 - sigmoid(d), without the cancellation
