"""Channel whitening before the classifier, channel correlation and singular values (Zhang, "You only need end-to-end training").

The layer whitens the pooled features of a batch with ZCA (Eq. 13): centre, then multiply by
``Sigma^{-1/2} = V Lambda^{-1/2} V^T`` from the eigendecomposition of the batch covariance.
The gradient through ``Sigma^{-1/2}`` is taken with divided differences of ``f(l) = l^{-1/2}``
(the Daleckii-Krein formula), which stays finite when eigenvalues coincide, where the
gradient of ``torch.linalg.eigh`` is ``1 / (l_i - l_j)`` and blows up. At evaluation the layer
uses running estimates of the mean and covariance, like batch normalisation.
"""
from __future__ import annotations

import math

import torch
from torch import nn

DEFAULT_EPS = 1e-3
DEFAULT_MOMENTUM = 0.1


def check_eps(eps: float) -> float:
    """``eps`` as a float, or a ValueError that says what is allowed."""
    try:
        eps = float(eps)
    except (TypeError, ValueError):
        raise ValueError(f"epsilon must be a positive number, got {eps!r}") from None
    if not eps > 0 or math.isinf(eps):
        raise ValueError(f"epsilon must be > 0 (it keeps Sigma + eps I invertible, Eq. 13), got {eps:g}")
    return eps


def _inv_sqrt_divided_differences(lam: torch.Tensor) -> torch.Tensor:
    """``L_ij = (f(l_i) - f(l_j)) / (l_i - l_j)`` for ``f(l) = l^{-1/2}``, and ``f'`` where ``l_i ~ l_j``.

    ``(a^{-1/2} - b^{-1/2}) / (a - b) = -1 / (sqrt(a) sqrt(b) (sqrt(a) + sqrt(b)))``: written
    this way there is no cancellation, and it equals ``f'(l) = -l^{-3/2} / 2`` at ``a = b``.
    """
    s = lam.sqrt()
    si, sj = s.unsqueeze(1), s.unsqueeze(0)
    return -1.0 / (si * sj * (si + sj))


class _InverseSqrtm(torch.autograd.Function):
    """``Sigma^{-1/2}`` of a symmetric positive definite matrix, with a stable backward."""

    @staticmethod
    def forward(ctx, sigma):
        lam, V = torch.linalg.eigh(sigma)
        lam = lam.clamp_min(1e-12)  # rounding can push the smallest eigenvalue of Sigma + eps I below 0
        out = (V * lam.rsqrt().unsqueeze(0)) @ V.transpose(-1, -2)
        ctx.save_for_backward(lam, V)
        return out

    @staticmethod
    def backward(ctx, grad):
        lam, V = ctx.saved_tensors
        g = 0.5 * (grad + grad.transpose(-1, -2))
        inner = V.transpose(-1, -2) @ g @ V
        return V @ (_inv_sqrt_divided_differences(lam) * inner) @ V.transpose(-1, -2)


def inverse_sqrtm(sigma: torch.Tensor) -> torch.Tensor:
    """``Sigma^{-1/2} = V Lambda^{-1/2} V^T`` through the eigendecomposition (Eq. 13, ZCA), stable gradient."""
    return _InverseSqrtm.apply(sigma)


def covariance(x: torch.Tensor, mean: torch.Tensor | None = None) -> torch.Tensor:
    """``(X - u 1^T)(X - u 1^T)^T / B`` for a batch ``x`` of shape (B, C): the C x C channel covariance."""
    xc = x - (x.mean(0) if mean is None else mean)
    return xc.t() @ xc / x.shape[0]


def channel_whitening(x: torch.Tensor, eps: float = DEFAULT_EPS):
    """ZCA-whiten a batch (B, C) with its own statistics (Eq. 13); returns (whitened, mean, covariance).

    ``Sigma`` is divided by the batch size B (Eq. 13 prints the channel count C; with B the
    whitened batch has identity covariance up to ``eps``).
    """
    mean = x.mean(0)
    cov = covariance(x, mean)
    eye = torch.eye(x.shape[1], dtype=x.dtype, device=x.device)
    return (x - mean) @ inverse_sqrtm(cov + eps * eye), mean, cov


class ChannelWhitening(nn.Module):
    """ZCA channel whitening of (B, C) features (Eq. 13), batch statistics in training, running ones at evaluation.

    In training the batch mean and covariance whiten the batch and update ``running_mean`` and
    ``running_cov`` by an exponential average (``momentum``, the unbiased covariance, as batch
    normalisation does); in evaluation ``(running_cov + eps I)^{-1/2}`` is used, so a test image's
    output does not depend on the other images of its batch. Computed in fp32 under autocast.
    """

    def __init__(self, num_features: int, eps: float = DEFAULT_EPS, momentum: float = DEFAULT_MOMENTUM):
        super().__init__()
        self.eps = check_eps(eps)
        if not 0 < momentum <= 1:
            raise ValueError(f"momentum must be in (0, 1], got {momentum}")
        self.momentum = float(momentum)
        self.num_features = int(num_features)
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_cov", torch.eye(num_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] != self.num_features:
            raise ValueError(f"ChannelWhitening({self.num_features}) expects (batch, {self.num_features}) "
                             f"features, got {tuple(x.shape)}")
        with torch.autocast(x.device.type, enabled=False):
            x = x.float()
            if self.training:
                if x.shape[0] < 2:
                    raise ValueError("channel whitening in training needs at least 2 images in a batch")
                out, mean, cov = channel_whitening(x, self.eps)
                with torch.no_grad():
                    b = x.shape[0]
                    self.running_mean.lerp_(mean.detach(), self.momentum)
                    self.running_cov.lerp_(cov.detach() * (b / (b - 1)), self.momentum)
                return out
            eye = torch.eye(self.num_features, device=x.device)
            return (x - self.running_mean) @ inverse_sqrtm(self.running_cov + self.eps * eye)

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps:g}, momentum={self.momentum:g}"


class WhitenedBackbone(nn.Module):
    """A backbone followed by channel whitening of its pooled features (the paper's layer_w, Sec. 3.3)."""

    def __init__(self, backbone: nn.Module, eps: float = DEFAULT_EPS):
        super().__init__()
        self.net = backbone
        self.feature_dim = backbone.feature_dim
        self.whiten = ChannelWhitening(backbone.feature_dim, eps)

    def forward(self, x):
        return self.whiten(self.net(x))


# ----------------------------------------------------------------------- analysis
def channel_correlation(x: torch.Tensor) -> torch.Tensor:
    """Pearson correlation between channels over a batch (Appendix Eq. 16): (B, C) -> (C, C).

    A channel that is constant over the batch (a dead ReLU) has no defined correlation: its row
    and column are 0, its diagonal entry 1.
    """
    x = x.double()
    xc = x - x.mean(0)
    norm = xc.norm(dim=0)
    alive = norm > 1e-12 * max(1.0, float(x.abs().max()))
    scale = torch.where(alive, norm, torch.ones_like(norm))
    rho = (xc.t() @ xc) / (scale.unsqueeze(1) * scale.unsqueeze(0))
    rho = rho * (alive.unsqueeze(1) & alive.unsqueeze(0))
    rho.fill_diagonal_(1.0)
    return rho.clamp(-1, 1).float()


def mean_abs_correlation(rho: torch.Tensor) -> float:
    """Mean ``|rho|`` over the off-diagonal entries of a correlation matrix."""
    C = rho.shape[0]
    off = ~torch.eye(C, dtype=torch.bool, device=rho.device)
    return float(rho.abs()[off].mean()) if C > 1 else 0.0


def _channels_last_matrix(x: torch.Tensor) -> torch.Tensor:
    """(B, C) or (B, C, H, W) -> (N, C) with one row per image and position."""
    if x.dim() == 4:
        return x.permute(0, 2, 3, 1).reshape(-1, x.shape[1])
    if x.dim() == 2:
        return x
    raise ValueError(f"expected features of shape (B, C) or (B, C, H, W), got {tuple(x.shape)}")


def channel_singular_values(x: torch.Tensor) -> torch.Tensor:
    """Singular values of the centred channel matrix divided by sqrt(N), descending (Sec. 3.1, Figs. 7, 11).

    ``x``: (B, C) features or (B, C, H, W) feature maps (every position a row). The squares are
    the eigenvalues of the channel covariance, the ``lambda_i`` of Eq. 4.
    """
    m = _channels_last_matrix(x).double()
    m = m - m.mean(0)
    return (torch.linalg.svdvals(m) / math.sqrt(m.shape[0])).float()


def gaussian_entropy(x: torch.Tensor, eps: float = 0.0) -> float:
    """Entropy of a Gaussian with the channel covariance of ``x`` (Eqs. 3-4), in nats.

    ``H = d/2 log(2 pi) + d/2 + 1/2 sum_i log lambda_i``; ``eps`` is added to each eigenvalue.
    """
    m = _channels_last_matrix(x).double()
    d = m.shape[1]
    lam = channel_singular_values(m).double() ** 2 + eps
    return float(d / 2 * math.log(2 * math.pi) + d / 2 + 0.5 * lam.log().sum())


LAYERS = ("conv_1", "layer_1", "layer_2", "layer_3", "layer_p", "layer_w")


@torch.no_grad()
def layer_features(model: nn.Module, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """The features of each ResNet stage (paper's Conv_1, Layer_1-3), pooled (Layer_p) and whitened (Layer_w).

    Forward hooks on a ``models.Net`` whose backbone is a CIFAR ResNet, optionally inside a
    :class:`WhitenedBackbone`; the model runs in evaluation mode (running statistics).
    """
    model.eval()
    backbone = model.backbone
    resnet = backbone.net if isinstance(backbone, WhitenedBackbone) else backbone
    out, handles = {}, []

    def keep(name):
        def hook(module, inputs, output):
            out[name] = output.detach().float()
        return hook

    def stem(module, inputs, output):  # the stem's output after its ReLU, as the next stage sees it
        out["conv_1"] = output.detach().relu().float()

    handles.append(resnet.bn1.register_forward_hook(stem))
    for name, module in (("layer_1", resnet.layer1), ("layer_2", resnet.layer2), ("layer_3", resnet.layer3),
                         ("layer_p", resnet)):
        handles.append(module.register_forward_hook(keep(name)))
    if isinstance(backbone, WhitenedBackbone):
        handles.append(backbone.whiten.register_forward_hook(keep("layer_w")))
    try:
        model(x)
    finally:
        for h in handles:
            h.remove()
    return {k: out[k] for k in LAYERS if k in out}
