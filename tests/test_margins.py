"""MARR's kernels (margins, rectifier, re-weighted loss) and DisAlign's calibration on hand-computed cases."""
import math

import pytest
import torch
import torch.nn.functional as F

from ltnb.kernels import margins, models


def _linear(W, b):
    lin = torch.nn.Linear(W.shape[1], W.shape[0])
    with torch.no_grad():
        lin.weight.copy_(W)
        lin.bias.copy_(b)
    return lin


W = torch.tensor([[3.0, 4.0], [0.0, 2.0]])  # ||W_0|| = 5, ||W_1|| = 2
b = torch.tensor([-5.0, 1.0])


def test_margin_is_the_signed_distance_to_the_hyperplane():
    z = torch.tensor([[3.0, 4.0], [1.0, 0.5]])
    d = margins.margins(z @ W.t() + b, W)
    # class 0: (9 + 16 - 5) / 5 = 4; (3 + 2 - 5) / 5 = 0 (on the hyperplane)
    # class 1: (8 + 1) / 2 = 4.5; (1 + 1) / 2 = 1
    assert torch.allclose(d, torch.tensor([[4.0, 4.5], [0.0, 1.0]]))
    # the same distance by projecting z - z0 on W_j, z0 a point of the hyperplane W_0 z0 + b_0 = 0
    z0 = torch.tensor([1.0, 0.5])
    proj = (z[0] - z0) @ W[0] / W[0].norm()
    assert torch.isclose(proj, d[0, 0])
    # logit = ||W_j|| d_j (the paper's rewriting of Eq. 2 into Eq. 5)
    assert torch.allclose(d * W.norm(dim=1), z @ W.t() + b)


def test_margins_are_invariant_to_rescaling_a_class():
    z = torch.randn(6, 2)
    W2 = W * torch.tensor([[7.0], [0.5]])
    b2 = b * torch.tensor([7.0, 0.5])
    assert torch.allclose(margins.margins(z @ W.t() + b, W), margins.margins(z @ W2.t() + b2, W2), atol=1e-5)


def test_mean_logit_and_margin_by_hand():
    eta = torch.tensor([[2.0, 0.0], [4.0, 1.0], [9.0, 6.0]])
    y = torch.tensor([0, 0, 1])
    own, d = margins.mean_logit_and_margin(eta, y, W)
    assert torch.allclose(own, torch.tensor([3.0, 6.0]))  # mean of eta_0 over class 0; eta_1 of its one image
    assert torch.allclose(d, torch.tensor([3.0 / 5, 6.0 / 2]))
    means = margins.class_means(eta, torch.tensor([1, 1, 1]))
    assert torch.allclose(means[0], torch.zeros(2)) and torch.allclose(means[1], eta.mean(0))


def test_rectified_logits_by_hand():
    eta = torch.tensor([[2.0, -1.0]])
    out = margins.rectified_logits(eta, torch.tensor([0.5, 2.0]), torch.tensor([1.0, -1.0]), torch.tensor([5.0, 2.0]))
    assert torch.allclose(out, torch.tensor([[0.5 * 2 + 5, 2.0 * -1 - 2]]))
    # Eq. 9: ||W_j|| (omega d_j + beta_j) is the same thing
    d = margins.margins(eta, W)
    assert torch.allclose(out, W.norm(dim=1) * (torch.tensor([0.5, 2.0]) * d + torch.tensor([1.0, -1.0])))


def test_marr_is_the_classifier_at_start_and_trains_2k_parameters():
    lin = _linear(W, b)
    marr = margins.MARR(lin)
    z = torch.randn(5, 2)
    assert torch.allclose(marr(z), lin(z))
    assert models.count_parameters(marr) == 2 * 2
    assert {n for n, q in marr.named_parameters() if q.requires_grad} == {"omega", "beta"}
    loss = marr(z).logsumexp(1).sum()
    loss.backward()
    assert marr.weight.grad is None and marr.bias.grad is None
    assert marr.omega.grad is not None and marr.beta.grad is not None
    # the rectified logit of class j is omega_j eta_j + beta_j ||W_j||
    with torch.no_grad():
        marr.omega.copy_(torch.tensor([2.0, 1.0]))
        marr.beta.copy_(torch.tensor([0.0, 3.0]))
    assert torch.allclose(marr(z), lin(z) * torch.tensor([2.0, 1.0]) + torch.tensor([0.0, 6.0]), atol=1e-6)


def test_class_weights_by_hand():
    U = margins.class_weights([100, 10, 1], 1.0)
    s = 0.01 + 0.1 + 1.0
    assert torch.allclose(U, 3 * torch.tensor([0.01, 0.1, 1.0]) / s)
    assert torch.allclose(margins.class_weights([100, 10, 1], 0.0), torch.ones(3))
    U = margins.class_weights([500, 200, 50, 5], 1.2)
    assert U.sum().item() == pytest.approx(4.0, rel=1e-6)  # sum_j U_j = K
    assert torch.all(U[1:] > U[:-1])  # rarer classes weigh more


def test_reweighted_loss_by_hand():
    logits = torch.tensor([[0.0, 0.0], [math.log(3.0), 0.0]])
    y = torch.tensor([0, 1])
    U = torch.tensor([0.5, 1.5])
    expected = (0.5 * math.log(2.0) + 1.5 * math.log(4.0)) / 2  # divided by the batch, not by sum U
    assert margins.reweighted_loss(logits, y, U).item() == pytest.approx(expected)
    assert margins.reweighted_loss(logits, y, torch.ones(2)).item() == pytest.approx(F.cross_entropy(logits, y).item())


def test_disalign_is_the_classifier_at_start_and_has_p_plus_2k_parameters():
    lin = _linear(W, b)
    da = margins.DisAlign(lin)
    z = torch.randn(4, 2)
    assert torch.allclose(da(z), lin(z))
    assert models.count_parameters(da) == 2 + 2 * 2
    with torch.no_grad():
        da.v.copy_(torch.tensor([1.0, 0.0]))
        da.omega.copy_(torch.tensor([2.0, 0.5]))
        da.beta.copy_(torch.tensor([1.0, -1.0]))
    zz = torch.tensor([[0.0, 1.0]])  # sigma(v . z) = 1/2
    eta = lin(zz)
    expected = 0.5 * (torch.tensor([2.0, 0.5]) * eta + torch.tensor([1.0, -1.0])) + 0.5 * eta
    assert torch.allclose(da(zz), expected)


def test_lws_still_starts_as_the_classifier():
    lin = _linear(W, b)
    lws = margins.LWS(lin)
    z = torch.randn(3, 2)
    assert torch.allclose(lws(z), lin(z)) and models.count_parameters(lws) == 2
