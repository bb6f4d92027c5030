"""Local and global logit adjustments (Tao et al., ICCV 2023): class groups, CLA, AAW.

A model has ``K`` experts; the first ``K - 1`` are each tuned towards one group of
classes (local adjustment, LLA), the last towards an inverted long tail (global
adjustment, GLA). Tables are indexed ``[expert, class]``; classes are the columns of
the logits. Re-exported by :mod:`ltnb.kernels.logit_adjust`.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ltnb.kernels.experts import EXPERT_TYPES

EXPERT_LOSSES = ("ce", "balanced_softmax", "cla")  # Softmax, BALMS and CLA experts (Table 5)
SCALE = 30.0  # s of the cosine classifiers (official CIFAR code: NormedLinear logits times 30)


def official_tau(num_classes: int) -> float:
    """The GLA expert's tau of the official CIFAR configs: 2.5 on CIFAR-100-LT, 3.0 on CIFAR-10-LT."""
    return 2.5 if num_classes >= 100 else 3.0


def _counts(counts) -> np.ndarray:
    n = np.asarray(counts, dtype=np.float64)
    if n.ndim != 1 or len(n) < 1 or np.any(n <= 0):
        raise ValueError(f"class counts must be a 1-d list of positive numbers, got {counts!r}")
    return n


GROUPINGS = ("nearest", "official")


def official_class_groups(counts, n_groups: int) -> np.ndarray:
    """The official code's grouping: from the tail, a group closes at the first class whose running total
    passes ``N / n_groups``; the head group keeps what is left (possibly nothing). Group 0 holds the head."""
    n = _counts(counts)
    G = int(n_groups)
    order = np.argsort(-n, kind="stable")  # head first
    share = n.sum() / G
    group_of_rank = np.zeros(len(n), dtype=np.int64)
    g, running = G - 1, 0.0
    for rank in range(len(n) - 1, -1, -1):  # from the tail
        group_of_rank[rank] = g
        running += n[order[rank]]
        if running > share and g > 0:
            g, running = g - 1, 0.0
    groups = np.empty(len(n), dtype=np.int64)
    groups[order] = group_of_rank
    return groups


def groups_of(counts, n_groups: int, rule: str = "nearest") -> np.ndarray:
    """The class groups by ``rule``: the book's nearest cut (:func:`class_groups`) or the official one."""
    if rule not in GROUPINGS:
        raise ValueError(f"unknown grouping {rule!r}; choose one of {GROUPINGS}")
    return class_groups(counts, n_groups) if rule == "nearest" else official_class_groups(counts, n_groups)


def class_groups(counts, n_groups: int) -> np.ndarray:
    """Sec. 3.2: classes sorted by count, cut into ``n_groups`` groups of about equal sample totals.

    Returns the group index of every class (0 holds the head). Group ``g`` ends after the
    class whose running total (from the head) is nearest to ``(g + 1) N / n_groups``; every
    group keeps at least one class. Ties in count keep the class order.
    """
    n = _counts(counts)
    G = int(n_groups)
    if G != n_groups or not 1 <= G <= len(n):
        raise ValueError(f"n_groups must be an integer from 1 to the number of classes ({len(n)}), "
                         f"got {n_groups!r}; K experts make K - 1 groups")
    order = np.argsort(-n, kind="stable")
    total = np.cumsum(n[order])
    group_of_rank = np.zeros(len(n), dtype=np.int64)
    last = -1
    for g in range(1, G):
        cut = int(np.argmin(np.abs(total - g * total[-1] / G)))
        cut = min(max(cut, last + 1), len(n) - (G - g) - 1)  # non-empty groups on both sides
        group_of_rank[cut + 1:] += 1
        last = cut
    groups = np.empty(len(n), dtype=np.int64)
    groups[order] = group_of_rank
    return groups


def cla_table(counts, groups, tau: float) -> torch.Tensor:
    """Eq. 4: ``T(k, j)`` = log n_j for j in C_k, log n_max outside (k < K), tau log n_j for the last expert.

    ``groups`` gives each class's group (``K - 1`` groups); the result has ``K`` rows.
    """
    n = _counts(counts)
    groups = np.asarray(groups)
    if groups.shape != n.shape:
        raise ValueError(f"groups needs one entry per class ({len(n)}), got shape {groups.shape}")
    if tau < 0:
        raise ValueError(f"tau must be >= 0 (the paper uses tau > 1), got {tau}")
    G = int(groups.max()) + 1
    log_n = np.log(n)
    T = np.full((G + 1, len(n)), np.log(n.max()))
    for k in range(G):
        T[k, groups == k] = log_n[groups == k]
    T[G] = tau * log_n
    return torch.as_tensor(T, dtype=torch.float32)


def cla_margins(table: torch.Tensor) -> torch.Tensor:
    """Eq. 6: ``M(y, j, k) = T(k, j) - T(k, y)``, indexed ``[k, y, j]``; Eq. 5 adds it to logit j."""
    return table.unsqueeze(1) - table.unsqueeze(2)


def adjustment_table(loss: str, counts, experts: int, tau: float, grouping: str = "nearest") -> torch.Tensor:
    """The ``(K, C)`` offsets of a multi-expert loss: Softmax (zeros), BALMS (log n_j for all) or CLA (Eq. 4)."""
    n = _counts(counts)
    K = int(experts)
    if K != experts or K < 2:
        raise ValueError(f"a multi-expert model needs an integer number of experts >= 2, got {experts!r}")
    if loss == "ce":
        return torch.zeros(K, len(n))
    if loss == "balanced_softmax":
        return torch.as_tensor(np.log(n), dtype=torch.float32).expand(K, -1).clone()
    if loss == "cla":
        return cla_table(n, groups_of(n, K - 1, grouping), tau)
    raise ValueError(f"unknown multi-expert loss {loss!r}; choose one of {EXPERT_LOSSES}")


@torch.no_grad()
def aaw_weights(target_cosine: torch.Tensor, target: torch.Tensor, groups: torch.Tensor) -> torch.Tensor:
    """Eqs. 7-8: ``g = 1 + theta - theta_ref`` above the reference angle, 1 below; no gradient.

    ``target_cosine[i, k]`` is the cosine between expert ``k``'s feature of sample ``i`` and
    its class weight ``W_k^{y_i}``; ``theta`` is its arccos. The reference of a sample is the
    mean angle, under the same expert, of the batch samples of its class's group.
    """
    theta = torch.arccos(target_cosine.float().clamp(-1.0, 1.0))  # B, K
    member = F.one_hot(groups.to(target.device)[target], int(groups.max()) + 1).to(theta.dtype)  # B, G
    ref = (member.t() @ theta) / member.sum(0).clamp_min(1).unsqueeze(1)  # G, K: mean angle per group
    excess = theta - member @ ref
    return torch.where(excess > 0, 1 + excess, torch.ones_like(excess))


def expert_loss(expert_logits: torch.Tensor, target: torch.Tensor, table: torch.Tensor,
                weights: torch.Tensor | None = None) -> torch.Tensor:
    """Eq. 9: ``(1/N) sum_k sum_i g_ik * CE(v_ik + T(k, .), y_i)``; ``weights`` None means g = 1.

    ``expert_logits`` is ``(N, K, C)``, ``table`` ``(K, C)``, ``weights`` ``(N, K)``.
    """
    N, K, C = expert_logits.shape
    adjusted = expert_logits + table.to(expert_logits.device, expert_logits.dtype)
    ce = F.cross_entropy(adjusted.reshape(N * K, C), target.repeat_interleave(K), reduction="none").view(N, K)
    if weights is not None:
        ce = ce * weights.to(ce.dtype)
    return ce.sum(1).mean()


def make_expert_loss(loss: str, counts, experts: int, tau: float, aaw: bool, scale: float, device,
                     grouping: str = "nearest"):
    """The stage-1 loss of a multi-expert run: ``out["experts"]`` holds the scaled cosine logits."""
    table = adjustment_table(loss, counts, experts, tau, grouping).to(device)
    groups = torch.as_tensor(groups_of(counts, max(int(experts) - 1, 1), grouping)).to(device)

    def loss_fn(out, y):
        v = out["experts"].float()  # the autocast forward returns bf16 logits on the fast path
        w = None
        if aaw:
            cos_y = v.gather(2, y.view(-1, 1, 1).expand(-1, v.shape[1], 1)).squeeze(2) / scale
            w = aaw_weights(cos_y, y, groups)
        return expert_loss(v, y, table, w)

    return loss_fn


def check(experts: int, expert_type: str, tau: float, fusion=None) -> None:
    """Fail early, with what to do, on a bad LGLA parameter."""
    if not isinstance(experts, (int, np.integer)) or isinstance(experts, bool) or experts < 2:
        raise ValueError(f"experts (K) must be an integer >= 2 (K - 1 local experts and one global), got {experts!r}")
    if expert_type not in EXPERT_TYPES:
        raise ValueError(f"unknown expert type {expert_type!r}; choose one of {EXPERT_TYPES} "
                         "(independent convolutions or group convolution)")
    if not tau >= 0:
        raise ValueError(f"tau must be >= 0 (the paper asks for tau > 1), got {tau!r}")
    if fusion is not None:
        w = np.asarray(fusion, dtype=np.float64)
        if w.shape != (experts,) or np.any(w < 0) or w.sum() <= 0:
            raise ValueError(f"fusion weights must be {experts} non-negative numbers, not all zero "
                             f"(one per expert), got {fusion!r}")
