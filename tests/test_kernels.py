"""Kernels on small hand-computed cases and invariants."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ltnb.kernels import evaluate, logit_adjust, margins, models, samplers


# ----------------------------------------------------------------- logit adjustment
def test_ldam_margins_by_hand():
    # 1/16^(1/4) = 0.5, 1/1^(1/4) = 1: scaled so the largest is 0.5
    assert torch.allclose(logit_adjust.ldam_margins([16, 1]), torch.tensor([0.25, 0.5]))


def test_ldam_logits_only_touch_the_target():
    cos = torch.tensor([[0.5, 0.2], [0.1, 0.9]])
    out = logit_adjust.ldam_logits(cos, torch.tensor([0, 1]), torch.tensor([0.25, 0.5]), s=10)
    assert torch.allclose(out, torch.tensor([[2.5, 2.0], [1.0, 4.0]]))


def test_balanced_softmax_is_ce_on_shifted_logits():
    logits = torch.tensor([[1.0, 0.0, -1.0]])
    counts = [6, 3, 1]
    expect = -math.log(math.exp(1 + math.log(0.6)) / sum(math.exp(l + math.log(n / 10))
                                                           for l, n in zip([1, 0, -1], counts)))
    assert logit_adjust.balanced_softmax_loss(logits, torch.tensor([0]), counts).item() == pytest.approx(expect, rel=1e-5)
    # balanced counts: Balanced Softmax is plain cross-entropy
    assert torch.allclose(logit_adjust.balanced_softmax_loss(logits, torch.tensor([2]), [5, 5, 5]),
                          F.cross_entropy(logits, torch.tensor([2])))


def test_effective_number_weights_by_hand():
    w = logit_adjust.effective_number_weights([1, 2], beta=0.5)
    # (1-b)/(1-b^n): 1 and 0.5/0.75 = 2/3, normalised to sum 2
    assert torch.allclose(w, torch.tensor([1, 2 / 3]) / (5 / 3) * 2)
    assert w.sum().item() == pytest.approx(2.0)


# ------------------------------------------------------------------------ margins
def test_tau_norm_limits():
    W = torch.tensor([[3.0, 4.0], [0.0, 2.0]])
    assert torch.allclose(margins.tau_norm_weight(W, 0.0), W)
    assert torch.allclose(margins.tau_norm_weight(W, 1.0).norm(dim=1), torch.ones(2))
    assert torch.allclose(margins.tau_norm_weight(W, 0.5), W / torch.tensor([[5 ** .5], [2 ** .5]]))


def test_lws_starts_as_the_classifier_and_trains_only_scales():
    lin = torch.nn.Linear(4, 3)
    lws = margins.LWS(lin)
    z = torch.randn(5, 4)
    assert torch.allclose(lws(z), lin(z), atol=1e-6)
    assert [n for n, p in lws.named_parameters() if p.requires_grad] == ["scales"]
    assert models.count_parameters(lws) == 3


# ------------------------------------------------------------------------ samplers
def test_class_weights_by_hand():
    n = [9, 4, 1]
    assert np.allclose(samplers.class_weights(n, "instance"), np.array(n) / 14)
    assert np.allclose(samplers.class_weights(n, "class_balanced"), [1 / 3] * 3)
    assert np.allclose(samplers.class_weights(n, "square_root"), np.array([3, 2, 1]) / 6)
    with pytest.raises(ValueError, match="unknown sampler"):
        samplers.class_weights(n, "bogus")


def test_instance_epoch_is_a_permutation():
    labels = torch.tensor([0] * 7 + [1] * 3)
    b = samplers.epoch_batches(labels, [7, 3], "instance", 4, torch.Generator().manual_seed(0))
    assert [len(x) for x in b] == [4, 4, 2]
    assert sorted(torch.cat(b).tolist()) == list(range(10))


def test_class_balanced_draws_classes_equally():
    labels = torch.tensor([0] * 900 + [1] * 90 + [2] * 10)
    g = torch.Generator().manual_seed(0)
    drawn = torch.cat([torch.cat(samplers.epoch_batches(labels, [900, 90, 10], "class_balanced", 100, g))
                       for _ in range(30)])
    freq = torch.bincount(labels[drawn], minlength=3).double() / len(drawn)
    assert torch.allclose(freq, torch.full((3,), 1 / 3, dtype=torch.double), atol=0.01)


# ------------------------------------------------------------------------ evaluate
def test_confusion_and_per_class_accuracy():
    conf = evaluate.confusion_matrix([0, 1, 1, 2, 0], [0, 1, 2, 2, 1], 3)
    assert conf.tolist() == [[1, 0, 0], [1, 1, 0], [0, 1, 1]]
    assert evaluate.per_class_accuracy(conf).tolist() == [1.0, 0.5, 0.5]


def test_f1_by_hand():
    """[[3, 1], [2, 4]]: class 0 precision 3/5, recall 3/4, F1 2/3; class 1 precision 4/5, recall 4/6, F1 8/11."""
    f1 = evaluate.f1_per_class(np.array([[3, 1], [2, 4]]))
    assert f1 == pytest.approx([2 / 3, 8 / 11])
    assert evaluate.f1_per_class(np.diag([5, 2, 7])).tolist() == [1.0, 1.0, 1.0]  # no error: every F1 is 1
    assert evaluate.f1_per_class(np.array([[2, 0], [3, 0]])).tolist()[1] == 0.0  # never right: 0, not NaN


def test_ece_by_hand():
    probs = torch.tensor([[0.9, 0.1], [0.9, 0.1], [0.3, 0.7], [0.4, 0.6]])
    target = torch.tensor([0, 1, 1, 1])
    # bin (0.85,0.9]: conf .9, acc .5 -> .4 * 2/4; bin (.667,.733]: conf .7 acc 1 -> .3 * 1/4;
    # bin (.6,.667]... conf .6 acc 1 -> .4 * 1/4
    assert evaluate.expected_calibration_error(probs, target) == pytest.approx(0.2 + 0.075 + 0.1)


def test_metrics_splits_on_a_balanced_test_set():
    logits = torch.eye(10)[[0, 1, 2, 3, 4, 5, 6, 7, 8, 0]]
    target = torch.arange(10)
    counts = [500, 300, 200, 150, 101, 100, 50, 20, 19, 5]
    m, conf = evaluate.metrics(logits, target, counts)
    assert m["accuracy"] == pytest.approx(0.9)
    assert m["many"] == 1.0 and m["medium"] == 1.0 and m["few"] == 0.5
    assert m["tail"] == pytest.approx(2 / 3) and conf.sum() == 10


# ------------------------------------------------------------------------ models
def test_resnet32_shape_and_size():
    net = models.resnet32(10)
    assert models.count_parameters(net) == 464154  # the 0.46M of He et al.'s CIFAR ResNet-32
    x = torch.randn(2, 3, 32, 32)
    assert net.features(x).shape == (2, 64) and net(x).shape == (2, 10)
    grey = models.resnet32(10, in_channels=1, width=0.5)
    assert grey.features(torch.randn(2, 1, 28, 28)).shape == (2, 32)
    with pytest.raises(ValueError, match="6n\\+2"):
        models.ResNetCifar(depth=30)


def test_option_a_shortcut_subsamples_and_zero_pads():
    blk = models.BasicBlock(2, 6, stride=2)
    x = torch.arange(2 * 4 * 4, dtype=torch.float32).view(1, 2, 4, 4)
    s = blk.shortcut(x)
    assert s.shape == (1, 6, 2, 2)
    assert torch.equal(s[0, 2:4], x[0, :, ::2, ::2]) and s[0, :2].abs().sum() == 0 and s[0, 4:].abs().sum() == 0


def test_cosine_head_is_bounded_cosine():
    head = models.CosineHead(4, 3, scale=2.0)
    z = torch.randn(6, 4)
    out = head(z)
    assert out.abs().max() <= 2.0 + 1e-5
    expect = 2 * F.cosine_similarity(z[:, None, :], head.weight[None], dim=2)
    assert torch.allclose(out, expect, atol=1e-5)


def test_mixup_loss_by_hand():
    from ltnb.kernels.losses import mixup_loss

    logits = torch.tensor([[2.0, 0.0]])
    a, b = torch.tensor([0]), torch.tensor([1])
    expect = 0.25 * F.cross_entropy(logits, a) + 0.75 * F.cross_entropy(logits, b)
    assert torch.allclose(mixup_loss(F.cross_entropy, logits, a, b, 0.25), expect)


def test_the_memory_layout_is_channels_last_on_the_cpu_unless_asked(monkeypatch):
    import torch

    from ltnb.training.common import memory_layout

    monkeypatch.delenv("LTNB_LAYOUT", raising=False)
    assert memory_layout(torch.device("cpu"), fast=False) == torch.channels_last
    assert memory_layout(torch.device("cuda"), fast=False) == torch.contiguous_format
    monkeypatch.setenv("LTNB_LAYOUT", "contiguous")
    assert memory_layout(torch.device("cpu"), fast=True) == torch.contiguous_format
    monkeypatch.setenv("LTNB_LAYOUT", "nhwc")
    with pytest.raises(ValueError, match="LTNB_LAYOUT='nhwc'"):
        memory_layout(torch.device("cpu"))
