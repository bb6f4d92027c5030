"""The angular chapter's kernels (Wang and Yan) and MiSLAS's label-aware smoothing, on hand-computed cases."""
import math

import pytest
import torch
import torch.nn.functional as F

from ltnb.kernels import angular, losses, models

PI = math.pi
Z = torch.tensor([[1.0, 0.0]])
W = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [1.0, 1.0]])  # cos 1, 0, -1, 1/sqrt(2)


# ----------------------------------------------------------------- Eq. 1 (L2A)
def test_angular_logits_by_hand():
    out = angular.angular_logits(Z, W)
    assert torch.allclose(out, torch.tensor([[PI, PI / 2, 0.0, 3 * PI / 4]]), atol=1e-6)


def test_angular_logits_ignore_norms_and_lie_in_zero_pi():
    z, w = torch.randn(5, 3), torch.randn(4, 3)
    out = angular.angular_logits(z, w)
    assert torch.allclose(out, angular.angular_logits(7 * z, w * torch.tensor([[0.1], [3], [1], [20]])), atol=1e-5)
    assert out.min() >= 0 and out.max() <= PI
    # the prediction form differs from the linear one: a long head weight wins the linear logit only
    z_tail = torch.tensor([[0.0, 1.0]])
    w = torch.tensor([[10.0, 1.0], [0.0, 0.5]])  # head (long, off by 84 degrees), tail (short, aligned)
    assert (z_tail @ w.t()).argmax() == 0 and angular.angular_logits(z_tail, w).argmax() == 1


def test_arccos_is_safe_at_plus_minus_one():
    z = torch.tensor([[1.0, 0.0], [-1.0, 0.0]], requires_grad=True)
    w = torch.tensor([[2.0, 0.0]], requires_grad=True)
    out = angular.angular_logits(z, w)
    assert out[0, 0].item() == pytest.approx(PI) and out[1, 0].item() == pytest.approx(0.0, abs=1e-6)
    out.sum().backward()
    assert torch.isfinite(z.grad).all() and torch.isfinite(w.grad).all()
    c = torch.tensor([0.5, 1.0, -1.0, 1.5], requires_grad=True)
    angular.safe_arccos(c).sum().backward()
    assert c.grad[0].item() == pytest.approx(-1 / math.sqrt(0.75), rel=1e-5)
    assert c.grad[1].item() == pytest.approx(-1000.0, rel=1e-4)  # 1/sqrt(GRAD_EPS), not inf
    assert torch.isfinite(c.grad).all()
    assert angular.safe_arccos(torch.tensor([1.5])).item() == 0.0  # clamped into the domain


def test_angular_logits_are_fp32_under_bf16_autocast():
    z, w = torch.randn(4, 8).bfloat16(), torch.randn(3, 8)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = angular.angular_logits(z, w)
    assert out.dtype == torch.float32
    assert torch.allclose(out, angular.angular_logits(z.float(), w), atol=1e-6)


def test_angular_head_and_model():
    head = models.AngularHead(8, 3)
    z = torch.randn(5, 8)
    assert torch.allclose(head(z), angular.angular_logits(z, head.weight))
    net = models.resnet32(3, 1, 0.25, "angular")
    out = net(torch.randn(2, 1, 28, 28))
    assert out.shape == (2, 3) and out.min() >= 0 and out.max() <= PI
    out.sum().backward()
    assert net.head.weight.grad is not None and net.backbone.conv1.weight.grad.abs().sum() > 0


# ----------------------------------------------------------------- Eq. 6 (AEM)
def test_aem_loss_is_cross_entropy_plus_entropy():
    logits = torch.tensor([[PI, 0.0]])
    p0 = math.exp(PI) / (math.exp(PI) + 1)
    entropy = -(p0 * math.log(p0) + (1 - p0) * math.log(1 - p0))
    assert angular.aem_loss(logits, torch.tensor([0])).item() == pytest.approx(-math.log(p0) + entropy, rel=1e-5)
    # uniform predictions: log 2 of cross-entropy and log 2 of entropy
    assert angular.aem_loss(torch.zeros(1, 2), torch.tensor([1])).item() == pytest.approx(2 * math.log(2), rel=1e-6)
    # minimising it sharpens p: the entropy term pushes the leading logit up
    x = torch.tensor([[1.0, 0.0, 0.0]], requires_grad=True)
    ent = lambda v: -(v.softmax(1) * v.log_softmax(1)).sum()  # noqa: E731
    ent(x).backward()
    assert x.grad[0, 0] < 0


def test_aem_loss_under_mixup_counts_the_entropy_once():
    logits, ya, yb = torch.randn(4, 3), torch.tensor([0, 1, 2, 0]), torch.tensor([1, 1, 0, 2])
    lam = 0.3
    mixed = losses.mixup_loss(angular.aem_loss, logits, ya, yb, lam)
    logp = logits.log_softmax(1)
    expect = (lam * F.nll_loss(logp, ya) + (1 - lam) * F.nll_loss(logp, yb)
              - (logp.exp() * logp).sum(1).mean())
    assert torch.allclose(mixed, expect, atol=1e-6)


# ----------------------------------------------------------------- Eq. 4 (MiSLAS) and f
def test_profile_linear_and_concave_by_hand():
    x = torch.tensor([0.6, 0.5, 0.4])
    assert torch.allclose(losses.profile(x, "linear"), torch.tensor([1.0, 0.5, 0.0]), atol=1e-6)
    assert torch.allclose(losses.profile(x, "concave"), torch.tensor([1.0, math.sin(PI / 4), 0.0]), atol=1e-6)
    assert torch.allclose(losses.profile(x, "sine"), losses.profile(x, "concave"))
    assert torch.equal(losses.profile(torch.ones(3), "linear"), torch.zeros(3))  # no spread, no smoothing
    with pytest.raises(ValueError, match="unknown form"):
        losses.profile(x, "convex")


def test_label_aware_epsilons_by_hand():
    eps = losses.label_aware_epsilons([100, 50, 10], 0.3, 0.0, "linear")
    assert torch.allclose(eps, torch.tensor([0.3, 0.3 * 40 / 90, 0.0]), atol=1e-6)
    eps = losses.label_aware_epsilons([100, 50, 10], 0.4, 0.1, "concave")
    assert torch.allclose(eps, torch.tensor([0.4, 0.1 + 0.3 * math.sin(PI / 2 * 40 / 90), 0.1]), atol=1e-6)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        losses.label_aware_epsilons([10, 1], -0.1, 0.0)


def test_smoothed_targets_and_loss_by_hand():
    q = losses.smoothed_targets(torch.tensor([0, 2]), torch.tensor([0.3, 0.0, 0.1]), 3)
    assert torch.allclose(q, torch.tensor([[0.7, 0.15, 0.15], [0.05, 0.05, 0.9]]))
    assert torch.allclose(q.sum(1), torch.ones(2))
    logits = torch.tensor([[2.0, 0.0, -1.0]])
    logp = logits.log_softmax(1)[0]
    expect = -(0.7 * logp[0] + 0.15 * logp[1] + 0.15 * logp[2])
    got = losses.label_aware_smoothing_loss(logits, torch.tensor([0]), torch.tensor([0.3, 0.0, 0.1]))
    assert got.item() == pytest.approx(expect.item(), rel=1e-6)
    # no smoothing: plain cross-entropy
    y = torch.tensor([1])
    assert torch.allclose(losses.label_aware_smoothing_loss(logits, y, torch.zeros(3)), F.cross_entropy(logits, y))


# ----------------------------------------------------------------- Eq. 5 (ALAS)
def test_alas_update_by_hand():
    R = angular.alas_update(torch.tensor([0.2, 0.0]), torch.tensor([0.6, 0.4]), tau=0.5, form="linear")
    assert torch.allclose(R, torch.tensor([0.35, 0.0]))
    R3 = angular.alas_update(torch.zeros(3), torch.tensor([0.6, 0.5, 0.4]), tau=1.0, form="concave")
    assert torch.allclose(R3, 0.5 * torch.tensor([1.0, math.sin(PI / 4), 0.0]), atol=1e-6)
    # repeated with the same batch mean, R tends to tau f
    R = torch.tensor([0.4, 0.1])
    for _ in range(40):
        R = angular.alas_update(R, torch.tensor([0.3, 0.2]), tau=0.75, form="linear")
    assert torch.allclose(R, torch.tensor([0.75, 0.0]), atol=1e-6)
    with pytest.raises(ValueError, match="tau"):
        angular.alas_update(R, torch.tensor([0.3, 0.2]), tau=-1.0)


def test_alas_loss_by_hand():
    logits = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    R = torch.tensor([0.5, 0.25])
    expect = 0.5 * (0.5 * math.log(2) + 0.75 * -math.log(1 / (1 + math.e)))
    assert angular.alas_loss(logits, torch.tensor([0, 1]), R).item() == pytest.approx(expect, rel=1e-6)
    assert angular.alas_loss(logits, torch.tensor([0, 1]), torch.zeros(2)).item() == pytest.approx(
        F.cross_entropy(logits, torch.tensor([0, 1])).item(), rel=1e-6)


# ----------------------------------------------------------------- Eqs. 7-9 (ABS)
def test_abs_by_hand():
    probs = torch.tensor([[0.9, 0.1], [0.7, 0.3], [0.4, 0.6]])
    M = angular.class_mean_probabilities(probs, torch.tensor([0, 0, 1]))
    assert torch.allclose(M, torch.tensor([[0.8, 0.2], [0.4, 0.6]]))
    B = angular.abs_bias(M)
    assert torch.allclose(B, torch.tensor([0.4, 0.2]))  # the floor each class gets from any class's images
    gamma = angular.abs_gamma(B, 0.25, "linear")
    assert torch.allclose(gamma, torch.tensor([0.75, 1.0]))
    out = angular.abs_calibrate(torch.tensor([[0.55, 0.45]]), gamma)
    assert torch.allclose(out, torch.tensor([[0.4125, 0.45]])) and out.argmax() == 1  # the head's edge is gone
    # s = 0 changes nothing; sine and linear agree at the ends and differ in between
    assert torch.equal(angular.abs_gamma(B, 0.0, "sine"), torch.ones(2))
    B3 = torch.tensor([0.3, 0.2, 0.1])
    assert angular.abs_gamma(B3, 0.2, "sine")[1].item() == pytest.approx(1 - 0.2 * math.sin(PI / 4), rel=1e-6)
    assert angular.abs_gamma(B3, 0.2, "linear")[1].item() == pytest.approx(0.9, rel=1e-6)


def test_abs_rejects_bad_strength_and_form():
    with pytest.raises(ValueError, match=r"s must lie in \[0, 1\]"):
        angular.abs_gamma(torch.tensor([0.1, 0.2]), 1.5)
    with pytest.raises(ValueError, match="unknown form"):
        angular.abs_gamma(torch.tensor([0.1, 0.2]), 0.1, "cubic")


# ----------------------------------------------------------------- Eqs. 11-12 and pruning
def test_avh_by_hand():
    w = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])  # angles 0, pi/2, pi to z = (1, 0)
    s = angular.avh_score(torch.tensor([[1.0, 0.0], [3.0, 0.0]]), w, torch.tensor([1, 0]))
    assert torch.allclose(s, torch.tensor([1 / 3, 0.0]), atol=1e-6)
    # invariant to the norms of features and weights
    z, ww, y = torch.randn(6, 4), torch.randn(3, 4), torch.randint(0, 3, (6,))
    assert torch.allclose(angular.avh_score(z, ww, y), angular.avh_score(5 * z, 0.1 * ww, y), atol=1e-5)


def test_el2n_by_hand():
    s = angular.el2n_score(torch.tensor([[0.0, 0.0], [100.0, 0.0]]), torch.tensor([0, 0]))
    assert torch.allclose(s, torch.tensor([math.sqrt(0.5), 0.0]), atol=1e-6)


def test_keep_after_pruning():
    labels = torch.tensor([0, 0, 0, 0, 1, 1])
    scores = torch.tensor([0.1, 0.5, 0.3, 0.9, 0.2, 0.05])
    assert angular.keep_after_pruning(labels, 0.5, "el2n", scores).tolist() == [1, 2, 3]  # the easiest go
    assert angular.keep_after_pruning(labels, 0.0, "avh", scores).tolist() == list(range(6))
    g = torch.Generator().manual_seed(0)
    keep = angular.keep_after_pruning(labels, 0.5, "classwise", generator=g)
    assert torch.bincount(labels[keep]).tolist() == [2, 1]
    keep = angular.keep_after_pruning(labels, 0.5, "random", generator=g)
    assert len(keep) == 3 and len(set(keep.tolist())) == 3
    assert torch.bincount(labels[angular.keep_after_pruning(labels, 0.9, "classwise", generator=g)]).tolist() == [1, 1]
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        angular.keep_after_pruning(labels, 1.0, "random")
    with pytest.raises(ValueError, match="unknown pruning method"):
        angular.keep_after_pruning(labels, 0.5, "forgetting")
    with pytest.raises(ValueError, match="one score per image"):
        angular.keep_after_pruning(labels, 0.5, "avh", scores[:3])
