"""Paper as written against the official code: every documented departure is a knob with both settings,
checked on small hand-computed cases; the default of each is the book's behaviour, so no run key moves."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ltnb.kernels import gcl, lgla, losses, margins, samplers
from ltnb.config import RunConfig
from ltnb.runs.train import get_or_train


def test_gcl_focal_term_weights_each_image_by_one_minus_p():
    cos = torch.tensor([[0.0, 0.0], [0.5, 0.0]])
    y = torch.tensor([0, 0])
    zero = torch.zeros(2, 2)
    ce = F.cross_entropy(gcl.clouded_cosine_logits(cos, y, torch.zeros(2), zero, s=2.0), y, reduction="none")
    assert float(ce[0]) == pytest.approx(math.log(2))  # equal logits: p = 1/2
    p = torch.exp(-ce)
    expect = float(((1 - p) * ce).mean())  # gamma = 1: ln2 / 2 for the first image
    got = gcl.gcl_loss(cos, y, torch.zeros(2), zero, s=2.0, focal=1.0)
    assert float(got) == pytest.approx(expect) and float(got) < float(ce.mean())
    assert torch.equal(gcl.gcl_loss(cos, y, torch.zeros(2), zero, s=2.0), ce.mean())  # focal 0: Eq. 12
    c = cos.clone().requires_grad_()
    gcl.gcl_loss(c, y, torch.zeros(2), zero, s=2.0, focal=1.0).backward()  # the weight (1 - p) has no gradient
    # image 0: d CE / d cos = s (softmax - onehot) = 2 ([0.5, 0.5] - [1, 0]); times (1 - p) = 1/2, over 2 images
    assert torch.allclose(c.grad[0], torch.tensor([-0.25, 0.25]), atol=1e-6)


@pytest.mark.parametrize("side, a, b", [("paper", 0.999, 0.0009), ("code", 0.9999, 1e-5)])
def test_cben_beta_as_in_the_paper_and_as_in_the_code(side, a, b):
    assert samplers.CBEN_AB[side] == (a, b)
    counts = np.array([1000, 100, 10])
    d = np.log(1000) - np.log(counts)  # 0, ln 10, ln 100
    beta = samplers.cben_beta(counts, a, b)
    assert beta == pytest.approx(a + b * d / d.max())
    assert beta[0] == pytest.approx(a) and beta[-1] == pytest.approx(a + b)
    rho = (1 - beta) / (1 - beta ** counts)  # Eq. 13 per image
    w = samplers.class_weights(counts, "cben", a=a, b=b)
    assert w == pytest.approx(counts * rho / (counts * rho).sum())


def test_the_two_cben_settings_sit_between_instance_and_class_balanced_sampling():
    counts = np.array([5000, 1000, 50])
    inst, cb = samplers.class_weights(counts, "instance"), samplers.class_weights(counts, "class_balanced")
    paper, code = (samplers.class_weights(counts, "cben", *(), a=a, b=b) for a, b in
                   (samplers.CBEN_AB["paper"], samplers.CBEN_AB["code"]))
    for w in (paper, code):
        assert inst[-1] < w[-1] < cb[-1] and inst[0] > w[0] > cb[0]
    assert code[-1] > paper[-1]  # beta = 0.9999 at the head too: nearer class-balanced
    # one per image: the head's (1 - beta)/(1 - beta^n) times n, by hand for the paper's beta
    b0 = 0.999
    assert paper[0] / paper[-1] == pytest.approx(5000 * (1 - b0) / (1 - b0 ** 5000) / (50 * (1 - (b0 + 0.0009)) /
                                                                                     (1 - (b0 + 0.0009) ** 50)))


@pytest.mark.parametrize("targets, q_y, q_other", [("eq4", 0.7, 0.3 / 9), ("code", 0.7 + 0.03, 0.03)])
def test_mislas_smoothed_targets_eq4_and_code(targets, q_y, q_other):
    q = losses.smoothed_targets(torch.tensor([2]), torch.tensor([0.1, 0.2, 0.3]), 10, targets)
    assert float(q[0, 2]) == pytest.approx(q_y) and float(q[0, 0]) == pytest.approx(q_other)
    assert float(q.sum()) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="smoothing targets"):
        losses.smoothed_targets(torch.tensor([2]), torch.tensor([0.1, 0.2, 0.3]), 10, "eq5")


def test_marr_loss_normalised_by_the_batch_or_by_the_weights():
    logits = torch.zeros(2, 2)  # every CE is ln 2
    y = torch.tensor([0, 1])
    U = torch.tensor([1.0, 3.0])
    assert float(margins.reweighted_loss(logits, y, U)) == pytest.approx((1 + 3) * math.log(2) / 2)
    assert float(margins.reweighted_loss(logits, y, U, "weights")) == pytest.approx(math.log(2))
    assert float(margins.reweighted_loss(logits, y, U, "weights")) == pytest.approx(
        float(F.cross_entropy(logits, y, weight=U)))


def test_lgla_groupings_nearest_and_official():
    counts = np.array([30, 25, 25, 20])
    assert list(lgla.groups_of(counts, 2, "nearest")) == [0, 0, 1, 1]  # running totals 30, 55: 55 is nearest 50
    assert list(lgla.groups_of(counts, 2, "official")) == [0, 1, 1, 1]  # from the tail 20, 45, 70: closed past 50
    fmnist = np.array([6000, 3597, 2156, 1292, 774, 464, 278, 166, 100, 60])  # imb 100
    assert list(lgla.groups_of(fmnist, 2, "nearest")) == list(lgla.groups_of(fmnist, 2, "official"))
    t = lgla.adjustment_table("cla", counts, 3, 1.0, "official")
    assert not torch.equal(t, lgla.adjustment_table("cla", counts, 3, 1.0))


@pytest.mark.parametrize("knob, value", [("cben", "both"), ("crt_init", "xavier"), ("tau_bias", "no"),
                                          ("groups", "balanced"), ("focal2", -1)])
def test_a_knob_outside_its_settings_is_refused(knob, value):
    with pytest.raises(ValueError, match=knob):
        RunConfig(preset="smoke", stage2="crt", extra=((knob, value),))


def test_the_book_defaults_keep_every_key():
    base = RunConfig(preset="smoke", stage2="crt")
    assert RunConfig(preset="smoke", stage2="crt", extra=(("crt_init", "default"),)).parent == base.parent
    assert RunConfig(preset="smoke", stage2="crt", extra=(("crt_init", "default"),)).key != base.key


def test_tau_norm_bias_and_crt_init_on_a_stored_backbone(tmp_store):
    base = dict(preset="smoke")
    ce = get_or_train(RunConfig(**base), progress=False)
    keep = get_or_train(RunConfig(**base, stage2="tau_norm", tau=1.0), progress=False)
    drop = get_or_train(RunConfig(**base, stage2="tau_norm", tau=1.0, extra=(("tau_bias", False),)), progress=False)
    W, b = ce.arrays["weight"], ce.arrays["bias"]
    z = ce.features()["test"]
    Wn = W / np.linalg.norm(W, axis=1, keepdims=True)
    assert np.allclose(keep.arrays["test_logits"], z @ Wn.T + b, atol=1e-4)
    assert np.allclose(drop.arrays["test_logits"], z @ Wn.T, atol=1e-4)
    d = W.shape[1]
    default = get_or_train(RunConfig(**base, stage2="crt", extra=(("crt_init", "default"),)), progress=False)
    assert default.metrics["trainable_parameters"] == 10 * d + 10
    torch.manual_seed(0)
    init = torch.nn.Linear(d, 10).weight.detach()
    assert float(init.abs().max()) <= 1 / math.sqrt(d)  # PyTorch's default bound, narrower than Kaiming's
