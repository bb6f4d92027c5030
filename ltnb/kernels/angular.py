"""Angular predictions (Wang and Yan): L2A, AEM, ALAS, ABS, and the pruning scores AVH and EL2N.

Pure tensor code. ``z`` are features ``phi(x)`` (N, d), ``weight`` the classifier ``W`` (C, d);
angles are computed in fp32 whatever the autocast context.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ltnb.kernels.losses import check_form, profile

GRAD_EPS = 1e-6  # 1 - cos^2 is kept above this in arccos's gradient: at most 1/sqrt(1e-6) = 1000
PRUNING = ("random", "classwise", "el2n", "avh")


class _Arccos(torch.autograd.Function):
    """``arccos`` exact on [-1, 1] (inputs clamped) with a bounded gradient at cos = +-1."""

    @staticmethod
    def forward(ctx, c):
        c = c.clamp(-1.0, 1.0)
        ctx.save_for_backward(c)
        return torch.arccos(c)

    @staticmethod
    def backward(ctx, grad):
        (c,) = ctx.saved_tensors
        return -grad * torch.rsqrt((1 - c * c).clamp_min(GRAD_EPS))


def safe_arccos(c: torch.Tensor) -> torch.Tensor:
    """``arccos(clamp(c, -1, 1))`` whose gradient stays finite where ``|c| = 1``."""
    return _Arccos.apply(c)


def cosine(z: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``cos(phi(x), W_c) = phi(x) . W_c / (||phi(x)|| ||W_c||)`` for every class, in fp32."""
    with torch.autocast(z.device.type, enabled=False):
        return F.normalize(z.float(), dim=1) @ F.normalize(weight.float(), dim=1).t()


def angles(z: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``A_c(x) = arccos(cos(phi(x), W_c))`` in [0, pi] (Eq. 12)."""
    return safe_arccos(cosine(z, weight))


def angular_logits(z: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``P^A_c = pi - arccos(cos(phi(x), W_c))`` in [0, pi] (Eq. 1): the L2A prediction."""
    return math.pi - angles(z, weight)


def angular_probabilities(z: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """The angular probabilities ``softmax(P^A)`` (Sec. 3.2, used by AEM, ALAS and ABS)."""
    return angular_logits(z, weight).softmax(1)


# ------------------------------------------------------------------ AEM (stage 1)

def aem_loss(angular: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``-(sum_i q_i log p_i + sum_i p_i log p_i)``, ``p = softmax(P^A)``: cross-entropy plus the entropy of p (Eq. 6), batch mean."""
    logp = F.log_softmax(angular.float(), dim=1)
    ce = F.nll_loss(logp, target)
    entropy = -(logp.exp() * logp).sum(1).mean()
    return ce + entropy


# ------------------------------------------------------------------ ALAS (stage 2)

def alas_update(previous: torch.Tensor, mean_probability: torch.Tensor, tau: float,
                form: str = "concave") -> torch.Tensor:
    """``R^b_y = (tau f(1/B sum_i P^A_y(x_i)) + R^{b-1}_y) / 2`` for every class y (Eq. 5); ``f`` normalises across classes."""
    if tau < 0:
        raise ValueError(f"ALAS tau must be >= 0, got {tau}")
    return 0.5 * (tau * profile(mean_probability.detach(), form).to(previous.device) + previous)


def alas_loss(logits: torch.Tensor, target: torch.Tensor, R: torch.Tensor) -> torch.Tensor:
    """Cross-entropy against Eq. 5's targets ``q_y = 1 - R_y``, 0 elsewhere: ``-(1 - R_y) log p_y``, batch mean."""
    q = 1 - R.to(logits.device)[target]
    return (q * F.cross_entropy(logits.float(), target, reduction="none")).mean()


# ------------------------------------------------------------------ ABS (post hoc)

def class_mean_probabilities(probs: torch.Tensor, labels: torch.Tensor, num_classes: int | None = None) -> torch.Tensor:
    """Row ``i``: the mean prediction ``E[P_tr]`` over the training images of class ``i`` (C x C; Fig. 4)."""
    C = num_classes or probs.shape[1]
    sums = torch.zeros(C, probs.shape[1], dtype=probs.dtype, device=probs.device).index_add_(0, labels, probs)
    return sums / torch.bincount(labels, minlength=C).clamp_min(1).unsqueeze(1).to(probs.dtype)


def abs_bias(mean_probabilities: torch.Tensor) -> torch.Tensor:
    """``B_tr[c] = min_i E[P_tr^c | class i]``: the least probability class c gets from the images of any class (Sec. 3.3)."""
    return mean_probabilities.min(0).values


def abs_gamma(bias: torch.Tensor, s: float, form: str = "sine") -> torch.Tensor:
    """``gamma = 1 - s F(P_tr)`` with ``F`` the sine (Eq. 8) or linear (Eq. 9) normalisation of ``B_tr`` (Eq. 7)."""
    if not 0 <= s <= 1:
        raise ValueError(f"ABS strength s must lie in [0, 1], got {s}")
    return 1 - s * profile(bias, check_form(form))


def abs_calibrate(probs: torch.Tensor, gamma: torch.Tensor) -> torch.Tensor:
    """``P_te <- gamma * P_te`` (Eq. 7), class by class; predictions are its argmax."""
    return probs * gamma.to(probs.device, probs.dtype)


# ------------------------------------------------------------------ pruning scores

def avh_score(z: torch.Tensor, weight: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Angular visual hardness ``A_y / sum_i A_i`` of each image under one model (Eq. 12); small is easy."""
    A = angles(z, weight)
    return A.gather(1, target.unsqueeze(1)).squeeze(1) / A.sum(1).clamp_min(1e-12)


def el2n_score(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """EL2N ``||softmax(logits) - onehot(y)||_2`` of each image under one model (Eq. 11); small is easy."""
    p = logits.float().softmax(1)
    return (p - F.one_hot(target, p.shape[1]).to(p.dtype)).norm(dim=1)


def keep_after_pruning(labels: torch.Tensor, fraction: float, method: str, scores: torch.Tensor | None = None,
                       generator: torch.Generator | None = None) -> torch.Tensor:
    """Sorted indices of the images kept when ``fraction`` of them are pruned (Sec. 4.3).

    ``random``: a random ``round(fraction N)`` of the whole set; ``classwise``: the same share of
    every class (at least one image stays); ``el2n`` / ``avh``: the images with the lowest
    ``scores`` (the easiest) go first.
    """
    if not 0 <= fraction < 1:
        raise ValueError(f"the pruned fraction must lie in [0, 1), got {fraction}")
    if method not in PRUNING:
        raise ValueError(f"unknown pruning method {method!r}; choose one of {PRUNING}")
    labels = torch.as_tensor(labels).cpu()
    n = len(labels)
    if method == "classwise":
        keep = []
        for c in torch.unique(labels):
            idx = torch.nonzero(labels == c).squeeze(1)
            k = max(1, len(idx) - int(round(fraction * len(idx))))
            keep.append(idx[torch.randperm(len(idx), generator=generator)[:k]])
        return torch.sort(torch.cat(keep)).values
    k = n - int(round(fraction * n))
    if method == "random":
        order = torch.randperm(n, generator=generator)
    else:
        if scores is None or len(scores) != n:
            raise ValueError(f"pruning by {method} needs one score per image ({n})")
        order = torch.argsort(torch.as_tensor(scores).cpu().double(), descending=True, stable=True)
    return torch.sort(order[:k]).values
