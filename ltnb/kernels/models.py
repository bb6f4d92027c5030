"""The CIFAR ResNet-32 of the long-tail literature and its classifier heads."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ltnb.kernels import angular


class BasicBlock(nn.Module):
    """Two 3x3 convolutions; the shortcut is "option A": stride-2 subsampling and zero-padded channels.

    ``groups > 1`` makes both convolutions grouped (the group-convolution experts of LGLA).
    """

    def __init__(self, cin: int, cout: int, stride: int = 1, groups: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False, groups=groups)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False, groups=groups)
        self.bn2 = nn.BatchNorm2d(cout)
        self.stride, self.extra = stride, cout - cin
        self.stack = 1  # > 1: K independent networks side by side on the channels (ltnb.training.stacked)

    def shortcut(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1 and self.extra == 0:
            return x
        x = x[:, :, ::self.stride, ::self.stride]
        half = self.extra // 2
        if self.stack > 1:  # pad each network's own channels, never across two of them
            B, C, H, W = x.shape
            x = F.pad(x.reshape(B, self.stack, C // self.stack, H, W), (0, 0, 0, 0, half, self.extra - half))
            return x.reshape(B, -1, H, W)
        return F.pad(x, (0, 0, 0, 0, half, self.extra - half))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNetCifar(nn.Module):
    """ResNet-(6n+2) for 32x32 inputs (He et al. 2016): stages of n blocks at 16/32/64 x width channels."""

    def __init__(self, depth: int = 32, width: float = 1.0, in_channels: int = 3):
        super().__init__()
        if (depth - 2) % 6:
            raise ValueError(f"CIFAR ResNet depth must be 6n+2 (20, 32, 44, 56, 110), got {depth}")
        n = (depth - 2) // 6
        chans = [max(1, int(round(c * width))) for c in (16, 32, 64)]
        self.conv1 = nn.Conv2d(in_channels, chans[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(chans[0])
        stages, cin = [], chans[0]
        for i, c in enumerate(chans):
            blocks = []
            for j in range(n):
                blocks.append(BasicBlock(cin, c, 2 if (i > 0 and j == 0) else 1))
                cin = c
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = stages
        self.feature_dim = chans[2]
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return F.adaptive_avg_pool2d(x, 1).flatten(1)


class LinearHead(nn.Linear):
    """``W z + b`` with Kaiming-normal weights."""

    def __init__(self, dim: int, num_classes: int, bias: bool = True):
        super().__init__(dim, num_classes, bias=bias)
        nn.init.kaiming_normal_(self.weight)
        if bias:
            nn.init.zeros_(self.bias)


class CosineHead(nn.Module):
    """Cosine logits ``scale * cos(z, W_j)``; ``scale=1`` gives the raw cosine (LDAM scales in its loss)."""

    def __init__(self, dim: int, num_classes: int, scale: float = 1.0):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(num_classes, dim).uniform_(-1, 1).renorm_(2, 0, 1e-5).mul_(1e5))
        self.scale = scale

    def forward(self, z):
        return self.scale * F.normalize(z, dim=1) @ F.normalize(self.weight, dim=1).t()


class AngularHead(nn.Module):
    """Angular logits ``pi - arccos(cos(z, W_j))`` in [0, pi] (angular Eq. 1); no bias, as the angle ignores one."""

    def __init__(self, dim: int, num_classes: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(num_classes, dim))
        nn.init.kaiming_normal_(self.weight)

    def forward(self, z):
        return angular.angular_logits(z, self.weight)


HEADS = {"linear": LinearHead, "cosine": CosineHead, "angular": AngularHead}


class Net(nn.Module):
    """Backbone and head; ``forward`` returns logits, ``features`` the vector before the head."""

    def __init__(self, backbone: nn.Module, head: nn.Module):
        super().__init__()
        self.backbone, self.head = backbone, head

    def features(self, x):
        return self.backbone(x)

    def forward(self, x):
        return self.head(self.backbone(x))


def resnet32(num_classes: int, in_channels: int = 3, width: float = 1.0, head: str = "linear") -> Net:
    if head not in HEADS:
        raise ValueError(f"unknown head {head!r}; choose one of {sorted(HEADS)}")
    backbone = ResNetCifar(32, width, in_channels)
    return Net(backbone, HEADS[head](backbone.feature_dim, num_classes))


def count_parameters(module: nn.Module, trainable_only: bool = True) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)
