"""GCL kernels and the CBEN sampler on hand-computed cases."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ltnb.kernels import gcl, samplers


def test_cloud_size_log_by_hand():
    d = gcl.cloud_size([100, 10, 1])
    # log 100 - log n = (ln 100, ln 10, 0) -> normalised by ln 100
    assert torch.allclose(d, torch.tensor([0.0, 0.5, 1.0]))


@pytest.mark.parametrize("strategy", gcl.CLOUD_STRATEGIES)
def test_every_strategy_is_zero_at_the_head_and_one_at_the_tail(strategy):
    d = gcl.cloud_size([500, 200, 50, 5], strategy)
    assert d[0] == pytest.approx(0.0, abs=1e-6) and d.max() == pytest.approx(1.0)
    assert torch.all(d[1:] >= d[:-1])  # fewer images, larger cloud


def test_other_strategies_by_hand():
    n = [64, 8, 1]
    assert torch.allclose(gcl.cloud_size(n, "pow3"), torch.tensor([0.0, 2 / 3, 1.0]))  # 4-4, 4-2, 4-1 over 3
    c = gcl.cloud_size(n, "cos")
    expect = np.cos(np.array([1, 1 / 8, 1 / 64]) * np.pi / 2)
    assert torch.allclose(c, torch.tensor(expect / expect.max(), dtype=torch.float32), atol=1e-6)
    with pytest.raises(ValueError, match="unknown cloud-size"):
        gcl.cloud_size(n, "square")


def test_noise_is_clamped_gaussian_with_sigma_one_third():
    eps = gcl.cloud_noise((200000,), torch.Generator().manual_seed(0))
    assert eps.abs().max() <= 1.0
    assert eps.std().item() == pytest.approx(1 / 3, rel=0.02) and abs(eps.mean().item()) < 0.01


def test_clouded_logits_by_hand():
    cos = torch.tensor([[0.5, 0.2, -0.1]])
    delta = torch.tensor([0.0, 0.5, 1.0])
    noise = torch.tensor([[-0.4, -0.4, 0.6]])  # |eps| is used: the cloud only lowers logits
    out = gcl.clouded_cosine_logits(cos, torch.tensor([1]), delta, noise, noise_mul=1.0, margin=0.1, s=10)
    assert torch.allclose(out, 10 * torch.tensor([[0.5, 0.2 - 0.2 - 0.1, -0.1 - 0.6]]))


def test_zero_noise_is_the_plain_cosine_loss():
    cos = torch.rand(5, 4) * 2 - 1
    y = torch.tensor([0, 1, 2, 3, 0])
    loss = gcl.gcl_loss(cos, y, gcl.cloud_size([40, 20, 10, 5]), torch.zeros(5, 4), s=30)
    assert torch.allclose(loss, F.cross_entropy(30 * cos, y))


def test_softmax_saturation_gradient():
    g = gcl.target_logit_gradient(torch.tensor([0.0, 10.0]))
    assert g[0] == pytest.approx(0.5) and g[1] == pytest.approx(1 / (1 + math.exp(10)), rel=1e-4)


def test_cben_beta_range_and_weights_by_hand():
    n = np.array([100, 10, 1])
    beta = samplers.cben_beta(n, a=0.9, b=0.09)
    assert np.allclose(beta, [0.9, 0.945, 0.99])
    w = samplers.class_weights(n, "cben", a=0.9, b=0.09)
    rho = (1 - beta) / (1 - beta ** n)  # per image
    assert np.allclose(w, n * rho / (n * rho).sum())
    # the tail is drawn more often than instance sampling would, less than class-balanced
    inst = samplers.class_weights(n, "instance")
    assert w[2] > inst[2] and w[2] < 1 / 3
