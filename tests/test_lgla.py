"""LGLA kernels on hand-computed cases: class groups, the CLA table (Eq. 4) and its margins (Eq. 6),
AAW weights (Eqs. 7-8), the total loss (Eq. 9)."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ltnb.kernels import lgla, logit_adjust
from ltnb.data import lt_counts

L = math.log


# ------------------------------------------------------------------------- class groups
def test_groups_by_hand():
    counts = [50, 30, 10, 6, 4]  # N = 100; running totals from the head: 50, 80, 90, 96, 100
    assert lgla.class_groups(counts, 1).tolist() == [0, 0, 0, 0, 0]
    assert lgla.class_groups(counts, 2).tolist() == [0, 1, 1, 1, 1]  # 50 is nearest to 50
    assert lgla.class_groups(counts, 3).tolist() == [0, 1, 2, 2, 2]  # cuts nearest to 33.3 and 66.7
    assert lgla.class_groups(counts, 5).tolist() == [0, 1, 2, 3, 4]  # one class per group at most


def test_groups_follow_counts_not_class_order():
    counts = [4, 50, 10, 30, 6]  # the same counts, shuffled
    assert lgla.class_groups(counts, 3).tolist() == [2, 0, 2, 1, 2]


@pytest.mark.parametrize("C, n_max, imb, G", [(100, 500, 100, 2), (100, 500, 100, 4), (100, 500, 50, 6),
                                             (10, 5000, 100, 2), (10, 6000, 100, 6)])
def test_groups_are_head_to_tail_slices_of_about_equal_totals(C, n_max, imb, G):
    n = np.array(lt_counts(n_max, C, imb))
    g = lgla.class_groups(n, G)
    assert sorted(set(g.tolist())) == list(range(G))  # every group holds a class
    for a in range(G - 1):  # group a's smallest class is at least as large as group a+1's largest
        assert n[g == a].min() >= n[g == a + 1].max()
    totals = np.array([n[g == a].sum() for a in range(G)])
    if C == 100:  # many classes: each total is within one class of N / G
        assert np.all(np.abs(totals - n.sum() / G) <= n.max())


@pytest.mark.parametrize("G", [0, 6, 2.5])
def test_bad_group_counts_are_refused(G):
    with pytest.raises(ValueError, match="n_groups"):
        lgla.class_groups([5, 4, 3, 2, 1], G)


# -------------------------------------------------------------------- CLA table, margins
COUNTS = [8, 4, 2, 1]  # groups for K = 3 experts: {0, 1} and {2, 3}
GROUPS = [0, 0, 1, 1]


def test_cla_table_by_hand():
    T = lgla.cla_table(COUNTS, GROUPS, tau=2.0)
    expect = [[L(8), L(4), L(8), L(8)],  # expert 1 (LLA): log n_j in C_1, log n_max outside
              [L(8), L(8), L(2), L(1)],  # expert 2 (LLA): log n_j in C_2
              [2 * L(8), 2 * L(4), 2 * L(2), 0.0]]  # expert K (GLA): tau log n_j
    assert torch.allclose(T, torch.tensor(expect), atol=1e-6)


def eq6(y, j, k, tau=2.0):
    """Eq. 6 written out case by case (k, y, j zero-based; k = 2 is the GLA expert)."""
    n, n_max = COUNTS, max(COUNTS)
    if k == 2:
        return tau * L(n[j] / n[y])
    in_y, in_j = GROUPS[y] == k, GROUPS[j] == k
    if in_y and in_j:
        return L(n[j] / n[y])
    if in_y:
        return L(n_max / n[y])
    if in_j:
        return L(n[j] / n_max)
    return 0.0


def test_cla_margins_every_case_of_eq6():
    M = lgla.cla_margins(lgla.cla_table(COUNTS, GROUPS, tau=2.0))
    assert M.shape == (3, 4, 4)
    for k in range(3):
        for y in range(4):
            for j in range(4):
                assert M[k, y, j].item() == pytest.approx(eq6(y, j, k), abs=1e-6), (k, y, j)
    # one instance of each line of Eq. 6, by hand
    assert M[0, 1, 0].item() == pytest.approx(L(2))  # y, j in C_1: log(n_j / n_y) = log(8 / 4)
    assert M[1, 3, 0].item() == pytest.approx(L(8))  # y in C_2, j not: log(n_max / n_y) > 0
    assert M[1, 0, 3].item() == pytest.approx(-L(8))  # y not in C_2, j in: log(n_j / n_max) < 0
    assert M[1, 0, 1].item() == pytest.approx(0.0)  # neither in C_2: plain softmax
    assert M[2, 3, 0].item() == pytest.approx(2 * L(8))  # GLA: tau log(n_j / n_y)


def test_eq3_and_eq5_are_the_same_probability():
    T = lgla.cla_table(COUNTS, GROUPS, tau=2.0)
    M = lgla.cla_margins(T)
    v = torch.tensor([0.3, -1.2, 2.0, 0.5])
    for k in range(3):
        for y in range(4):
            p3 = torch.softmax(v + T[k], 0)[y]
            p5 = torch.exp(v[y]) / torch.exp(v + M[k, y]).sum()
            assert p3.item() == pytest.approx(p5.item(), rel=1e-5)


def test_adjustment_tables_of_the_ablation():
    n = [8, 4, 2, 1]
    assert torch.equal(lgla.adjustment_table("ce", n, 3, 2.0), torch.zeros(3, 4))
    bs = lgla.adjustment_table("balanced_softmax", n, 3, 2.0)
    assert torch.allclose(bs, torch.log(torch.tensor([8.0, 4, 2, 1])).expand(3, 4))
    # K = 3: two groups; running totals 8, 12, 14, 15 put the cut after class 0 (8 is nearest to 7.5)
    assert lgla.class_groups(n, 2).tolist() == [0, 1, 1, 1]
    assert torch.allclose(lgla.adjustment_table("cla", n, 3, 2.0), lgla.cla_table(n, [0, 1, 1, 1], 2.0))
    # K = 2: the one local expert's group is every class, so it is Balanced Softmax
    assert torch.allclose(lgla.adjustment_table("cla", n, 2, 2.0)[0], bs[0])
    with pytest.raises(ValueError, match="experts"):
        lgla.adjustment_table("cla", n, 1, 2.0)
    with pytest.raises(ValueError, match="unknown multi-expert loss"):
        lgla.adjustment_table("ldam", n, 3, 2.0)
    with pytest.raises(ValueError, match="tau"):
        lgla.cla_table(n, GROUPS, -1.0)


# -------------------------------------------------------------------------------- AAW
def test_aaw_weights_by_hand():
    groups = torch.tensor([0, 0, 1])  # classes 0, 1 in group 0; class 2 in group 1
    y = torch.tensor([0, 1, 2, 2])
    # expert 1: angles 0, pi/2 (group 0, mean pi/4) and pi/3, pi (group 1, mean 2pi/3)
    # expert 2: angles pi/2, pi/2 (mean pi/2) and pi/2, 0 (mean pi/4)
    cos = torch.tensor([[1.0, 0.0], [0.0, 0.0], [0.5, 0.0], [-1.0, 1.0]])
    w = lgla.aaw_weights(cos, y, groups)
    pi = math.pi
    expect = torch.tensor([[1.0, 1.0], [1 + pi / 4, 1.0], [1.0, 1 + pi / 4], [1 + pi / 3, 1.0]])
    assert torch.allclose(w, expect, atol=1e-5)


def test_aaw_weights_carry_no_gradient_and_tolerate_absent_groups():
    cos = torch.tensor([[0.2], [0.9], [-0.3]], requires_grad=True)
    w = lgla.aaw_weights(cos, torch.tensor([0, 0, 0]), torch.tensor([0, 1]))  # group 1 not in the batch
    assert not w.requires_grad and torch.isfinite(w).all()
    assert torch.all(w >= 1)
    assert w.max().item() == pytest.approx(1 + math.acos(-0.3) - np.mean([math.acos(c) for c in (0.2, 0.9, -0.3)]),
                                           rel=1e-5)


# --------------------------------------------------------------------------- Eq. 9 loss
def test_expert_loss_by_hand():
    logits = torch.zeros(2, 2, 2)  # every CE is log 2
    w = torch.tensor([[1.0, 2.0], [1.0, 1.0]])
    loss = lgla.expert_loss(logits, torch.tensor([0, 1]), torch.zeros(2, 2), w)
    assert loss.item() == pytest.approx(2.5 * L(2))  # (3 log 2 + 2 log 2) / 2
    # no weights: the sum over experts of each expert's mean cross-entropy
    v = torch.randn(5, 3, 4)
    y = torch.randint(0, 4, (5,))
    T = lgla.cla_table(COUNTS, GROUPS, 2.0)
    expect = sum(F.cross_entropy(v[:, k] + T[k], y) for k in range(3))
    assert lgla.expert_loss(v, y, T).item() == pytest.approx(expect.item(), rel=1e-5)


def test_balms_experts_are_balanced_softmax_each():
    v = torch.randn(6, 3, 4)
    y = torch.randint(0, 4, (6,))
    table = lgla.adjustment_table("balanced_softmax", COUNTS, 3, 2.0)
    expect = sum(logit_adjust.balanced_softmax_loss(v[:, k], y, COUNTS) for k in range(3))
    assert lgla.expert_loss(v, y, table).item() == pytest.approx(expect.item(), rel=1e-5)


def test_aaw_loss_passes_gradient_through_the_logits_only():
    torch.manual_seed(0)
    v = (torch.rand(8, 3, 4) * 2 - 1).requires_grad_()
    y = torch.randint(0, 4, (8,))
    fn = lgla.make_expert_loss("cla", COUNTS, 3, 2.0, aaw=True, scale=1.0, device="cpu")
    fn({"experts": v}, y).backward()
    # the same loss with the weights computed beforehand, as constants
    v2 = v.detach().clone().requires_grad_()
    cos_y = v2.detach().gather(2, y.view(-1, 1, 1).expand(-1, 3, 1)).squeeze(2)
    w = lgla.aaw_weights(cos_y, y, torch.as_tensor(lgla.class_groups(COUNTS, 2)))
    assert torch.any(w > 1)
    lgla.expert_loss(v2, y, lgla.adjustment_table("cla", COUNTS, 3, 2.0), w).backward()
    assert torch.allclose(v.grad, v2.grad, atol=1e-6)


@pytest.mark.parametrize("kw, msg", [(dict(experts=1), "experts"), (dict(experts=2.5), "experts"),
                                      (dict(expert_type="dense"), "unknown expert type"),
                                      (dict(tau=-1.0), "tau"), (dict(fusion=[1, 1]), "fusion"),
                                      (dict(fusion=[1, -1, 1]), "fusion"), (dict(fusion=[0, 0, 0]), "fusion")])
def test_bad_parameters_fail_early(kw, msg):
    args = dict(experts=3, expert_type="gc", tau=2.0, fusion=None) | kw
    with pytest.raises(ValueError, match=msg):
        lgla.check(**args)
