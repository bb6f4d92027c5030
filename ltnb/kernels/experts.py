"""Multi-expert CIFAR ResNet-32 (LGLA, RIDE, NCL): a shared stem and first stage, one set of later
stages and one cosine classifier per expert. Re-exported by :mod:`ltnb.kernels.models`.

Two ways to build the experts' stages (LGLA Sec. 4.4):

* ``"ic"`` independent convolutions: ``K`` separate copies of stages 2 and 3;
* ``"gc"`` group convolution: the first stage's output is repeated ``K`` times along the
  channels and stages 2 and 3 are ``K``-group convolutions over the stack (same parameter
  count). The option-A shortcut of the first block of a stage zero-pads the *stacked*
  channels, so it carries features across expert boundaries: the only way the two differ.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ltnb.kernels.models import BasicBlock

EXPERT_TYPES = ("gc", "ic")


def _stage(cin: int, cout: int, blocks: int, stride: int, groups: int = 1) -> nn.Sequential:
    layers = [BasicBlock(cin, cout, stride, groups)]
    layers += [BasicBlock(cout, cout, 1, groups) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


def fuse(expert_logits: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """The ensemble: the mean of the experts' logits ``(N, K, C) -> (N, C)``, or their ``weights``-weighted mean."""
    if weights is None:
        return expert_logits.mean(1)
    w = torch.as_tensor(weights, dtype=expert_logits.dtype, device=expert_logits.device)
    return (expert_logits * w.view(1, -1, 1)).sum(1) / w.sum()


def cosine_logits(features: torch.Tensor, weight: torch.Tensor, scale: float) -> torch.Tensor:
    """Per-expert cosine logits ``s cos(z_k, W_k^j)``: features ``(N, K*d)``, weight ``(K, C, d)`` -> ``(N, K, C)``."""
    K, C, d = weight.shape
    z = F.normalize(features.reshape(len(features), K, d), dim=2)
    return scale * torch.einsum("nkd,kcd->nkc", z, F.normalize(weight, dim=2))


class ExpertHeads(nn.Module):
    """``K`` cosine classifiers on the concatenated expert features; ``forward`` returns the fused logits."""

    def __init__(self, experts: int, dim: int, num_classes: int, scale: float = 30.0, fusion=None):
        super().__init__()
        w = torch.empty(experts, num_classes, dim)
        for k in range(experts):  # the cosine head's initialisation, per expert
            w[k].uniform_(-1, 1).renorm_(2, 0, 1e-5).mul_(1e5)
        self.weight = nn.Parameter(w)
        self.scale = scale
        self.register_buffer("fusion", torch.ones(experts) if fusion is None else torch.as_tensor(fusion, dtype=torch.float32))

    def experts(self, z: torch.Tensor) -> torch.Tensor:
        return cosine_logits(z, self.weight, self.scale)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return fuse(self.experts(z), self.fusion)


class MultiExpertResNet(nn.Module):
    """ResNet-32 with ``experts`` branches after the first stage; ``forward`` returns
    ``{"logits": ensemble, "experts": (N, K, C)}`` and ``features`` the ``(N, K*d)`` stack."""

    def __init__(self, num_classes: int, in_channels: int = 3, width: float = 1.0, experts: int = 3,
                 expert_type: str = "gc", scale: float = 30.0, depth: int = 32):
        super().__init__()
        if expert_type not in EXPERT_TYPES:
            raise ValueError(f"unknown expert type {expert_type!r}; choose one of {EXPERT_TYPES}")
        if int(experts) != experts or experts < 1:
            raise ValueError(f"experts must be a positive integer, got {experts!r}")
        if (depth - 2) % 6:
            raise ValueError(f"CIFAR ResNet depth must be 6n+2, got {depth}")
        n = (depth - 2) // 6
        K = self.num_experts = int(experts)
        self.expert_type = expert_type
        c1, c2, c3 = (max(1, int(round(c * width))) for c in (16, 32, 64))
        self.conv1 = nn.Conv2d(in_channels, c1, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c1)
        self.layer1 = _stage(c1, c1, n, 1)
        if expert_type == "gc":
            self.branches = nn.Sequential(_stage(K * c1, K * c2, n, 2, K), _stage(K * c2, K * c3, n, 2, K))
        else:
            self.branches = nn.ModuleList(nn.Sequential(_stage(c1, c2, n, 2), _stage(c2, c3, n, 2)) for _ in range(K))
        self.feature_dim = c3
        self.head = ExpertHeads(K, c3, num_classes, scale)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layer1(F.relu(self.bn1(self.conv1(x))))
        if self.expert_type == "gc":
            out = self.branches(x.repeat(1, self.num_experts, 1, 1))
        else:
            out = torch.cat([b(x) for b in self.branches], dim=1)
        return F.adaptive_avg_pool2d(out, 1).flatten(1)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        experts = self.head.experts(self.features(x))
        return {"logits": fuse(experts, self.head.fusion), "experts": experts}


def multi_expert_resnet32(num_classes: int, in_channels: int = 3, width: float = 1.0, experts: int = 3,
                          expert_type: str = "gc", scale: float = 30.0) -> MultiExpertResNet:
    return MultiExpertResNet(num_classes, in_channels, width, experts, expert_type, scale)
