"""Channel whitening, channel correlation, singular values, B3RS and BET: hand-computed cases and invariants."""
import math

import numpy as np
import pytest
import torch

from ltnb.kernels import models, samplers, whitening as W
from ltnb.presets import PRESETS
from ltnb.training import batches, common, stage1
from ltnb.runs.train import RunConfig, get_or_train

R3 = math.sqrt(3)


def _sym(f):
    return lambda A: f((A + A.t()) / 2)  # eigh reads one triangle: check on symmetric matrices


# --------------------------------------------------------------- channel whitening
def test_zca_undoes_a_known_colouring():
    # Z has mean 0 and covariance I (1/B); S = Sigma^{1/2} for Sigma = [[2, 1], [1, 2]] (eigenvalues 3, 1)
    Z = torch.tensor([[1.0, 1], [1, -1], [-1, 1], [-1, -1]], dtype=torch.float64)
    S = 0.5 * torch.tensor([[R3 + 1, R3 - 1], [R3 - 1, R3 + 1]], dtype=torch.float64)
    X = Z @ S + torch.tensor([5.0, -2.0], dtype=torch.float64)
    out, mean, cov = W.channel_whitening(X, eps=1e-12)
    assert torch.allclose(mean, torch.tensor([5.0, -2.0], dtype=torch.float64))
    assert torch.allclose(cov, torch.tensor([[2.0, 1], [1, 2]], dtype=torch.float64))
    assert torch.allclose(out, Z, atol=1e-9)  # ZCA: the symmetric inverse square root, no rotation left
    inv = 0.5 * torch.tensor([[1 / R3 + 1, 1 / R3 - 1], [1 / R3 - 1, 1 / R3 + 1]], dtype=torch.float64)
    assert torch.allclose(W.inverse_sqrtm(cov), inv)


def test_whitened_features_have_identity_covariance():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(256, 6, generator=g) @ torch.randn(6, 6, generator=g) + 3.0  # correlated channels
    layer = W.ChannelWhitening(6, eps=1e-6).train()
    out = layer(x).double()
    assert torch.allclose(out.mean(0), torch.zeros(6, dtype=torch.float64), atol=1e-5)
    assert torch.allclose(out.t() @ out / 256, torch.eye(6, dtype=torch.float64), atol=1e-3)
    rho = W.channel_correlation(x)
    assert W.mean_abs_correlation(rho) > 0.2 and W.mean_abs_correlation(W.channel_correlation(out)) < 1e-3


def test_running_estimates_at_evaluation():
    g = torch.Generator().manual_seed(1)
    layer = W.ChannelWhitening(3, eps=1e-6, momentum=1.0)  # momentum 1: the running values are the last batch's
    x = torch.randn(500, 3, generator=g) @ torch.tensor([[2.0, 0, 0], [1, 1, 0], [0, 0, 0.5]])
    train_out = layer.train()(x)
    assert torch.allclose(layer.running_mean, x.mean(0))
    assert torch.allclose(layer.running_cov, torch.cov(x.t()), atol=1e-5)  # unbiased, as batch norm keeps it
    layer.eval()
    assert torch.allclose(layer(x), train_out * (499 / 500) ** 0.5, atol=1e-4)  # same statistics, unbiased
    one = layer(x[:1])  # one image at evaluation: no batch statistics needed
    assert torch.allclose(one, layer(x)[:1], atol=1e-5)
    with pytest.raises(ValueError, match="at least 2 images"):
        layer.train()(x[:1])


def test_whitening_gradient_is_exact_and_stays_finite_at_repeated_eigenvalues():
    A = torch.tensor([[4.0, 1, 0.5], [1, 3, 0.2], [0.5, 0.2, 2]], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(_sym(W.inverse_sqrtm), (A,))
    # Sigma = 2 I: f(2I + D) = 2^{-1/2} I - 2^{-5/2} D + O(D^2), so d<f, G>/dSigma = -2^{-5/2} sym(G)
    sigma = (2 * torch.eye(3, dtype=torch.float64)).requires_grad_()
    G = torch.tensor([[1.0, 2, 0], [0, 1, -1], [3, 0, 2]], dtype=torch.float64)
    (W.inverse_sqrtm(sigma) * G).sum().backward()
    assert torch.allclose(sigma.grad, -2 ** -2.5 * (G + G.t()) / 2)
    assert torch.autograd.gradcheck(_sym(W.inverse_sqrtm), (sigma.detach().clone().requires_grad_(),))
    # the plain eigh backward has 1 / (l_i - l_j) and fails exactly here
    naive = sigma.detach().clone().requires_grad_()
    lam, V = torch.linalg.eigh(naive)
    ((V * lam.rsqrt()) @ V.t() * G).sum().backward()
    assert not torch.isfinite(naive.grad).all()


def test_whitening_layer_trains_in_a_network_under_autocast():
    g = torch.Generator().manual_seed(2)
    net = torch.nn.Sequential(torch.nn.Linear(5, 8), W.ChannelWhitening(8), torch.nn.Linear(8, 3))
    x, y = torch.randn(64, 5, generator=g), torch.randint(0, 3, (64,), generator=g)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = net(x)
    torch.nn.functional.cross_entropy(out.float(), y).backward()
    assert all(torch.isfinite(p.grad).all() for p in net.parameters())


@pytest.mark.parametrize("eps", [0, -1e-3, "tiny", float("inf")])
def test_bad_epsilon_is_refused(eps):
    with pytest.raises(ValueError, match="epsilon"):
        W.ChannelWhitening(4, eps=eps)


# -------------------------------------------------------- correlation and spectra
def test_channel_correlation_by_hand():
    x = torch.tensor([[1.0, 2, -1, 7], [2, 4, -2, 7], [3, 6, -3, 7]])  # c1 = 2 c0, c2 = -c0, c3 constant
    rho = W.channel_correlation(x)
    expect = torch.tensor([[1.0, 1, -1, 0], [1, 1, -1, 0], [-1, -1, 1, 0], [0, 0, 0, 1]])
    assert torch.allclose(rho, expect, atol=1e-6)
    assert W.mean_abs_correlation(rho) == pytest.approx(6 / 12)
    y = torch.tensor([[1.0, 1], [-1, 1], [1, -1], [-1, -1]])  # orthogonal centred columns
    assert torch.allclose(W.channel_correlation(y), torch.eye(2))


def test_channel_singular_values_by_hand():
    # centred columns of norms 2 and 4 over N = 4 rows, orthogonal: singular values 4/2 and 2/2
    x = torch.tensor([[1.0, 2], [-1, 2], [1, -2], [-1, -2]]) + 10
    assert torch.allclose(W.channel_singular_values(x), torch.tensor([2.0, 1.0]))
    # a feature map (B, C, H, W): every position is a row
    fmap = x.t().reshape(1, 2, 2, 2)
    assert torch.allclose(W.channel_singular_values(fmap), torch.tensor([2.0, 1.0]))
    # Gaussian entropy (Eq. 3): d/2 log(2 pi e) for an identity covariance, + 1/2 log(4 * 1) for x's
    assert W.gaussian_entropy(x / torch.tensor([2.0, 1.0])) == pytest.approx(math.log(2 * math.pi * math.e))
    assert W.gaussian_entropy(x) == pytest.approx(math.log(2 * math.pi * math.e) + math.log(2))


def test_layer_features_of_a_whitened_resnet():
    model = common.build_model(RunConfig(preset="smoke", extra=(("whiten", True), ("cw_eps", 1e-3))),
                              common.dataset("fmnist", 100), PRESETS["smoke"])
    assert isinstance(model.backbone, W.WhitenedBackbone) and model.head.weight.shape == (10, 16)
    feats = W.layer_features(model, torch.randn(20, 1, 28, 28))
    assert list(feats) == list(W.LAYERS)
    assert feats["conv_1"].shape == (20, 4, 28, 28) and feats["layer_3"].shape == (20, 16, 7, 7)
    assert torch.allclose(feats["layer_p"], feats["layer_3"].mean((2, 3)), atol=1e-5)
    assert (feats["conv_1"] >= 0).all()
    plain = models.resnet32(10, 1, 0.25)
    assert "layer_w" not in W.layer_features(plain, torch.randn(4, 1, 28, 28))


# ------------------------------------------------------------------------ B3RS
def test_b3rs_blocks_interleave_sorted_classes():
    blocks = samplers.b3rs_blocks([10, 100, 20, 50, 5, 70], 2)  # sorted: 1, 5, 3, 2, 0, 4
    assert [b.tolist() for b in blocks] == [[1, 3, 0], [5, 2, 4]]
    with pytest.raises(ValueError, match="divisor"):
        samplers.b3rs_blocks([3, 2, 1], 2)


@pytest.mark.parametrize("imb, expect", [(200, 0.05), (100, 0.05 * 25 / 12.8), (10, 0.1)])
def test_b3rs_min_ratio_eq14_on_cifar10(imb, expect):
    counts = [int(5000 * imb ** (-i / 9)) for i in range(10)]  # Q_N = 25, 50, 500
    # S = (Q_N / 2) / (128 / 10) = 0.98 (< 1: r0), 1.95 (S r0), 19.5 (>= 10: 1/F)
    assert samplers.b3rs_min_ratio(counts, 1, 0.05, 2, 128) == pytest.approx(expect)
    # Eq. 14's middle case is capped at a balanced batch: S = 64 / 12.8 = 5, S r0 = 0.25 > 1/F = 0.1
    assert samplers.b3rs_min_ratio([1000] * 9 + [128], 1, 0.05, 2, 128) == pytest.approx(0.1)


def test_b3rs_ratios_eq15():
    # shares 0.5, 0.3, 0.12, 0.08; r_min 0.1: the last gets 0.1, the rest share 0.9 pro rata
    r = samplers.b3rs_ratios([50, 30, 12, 8], 0.1)
    assert np.allclose(r, [0.5 * 0.9 / 0.92, 0.3 * 0.9 / 0.92, 0.12 * 0.9 / 0.92, 0.1])
    # shares 0.6, 0.3, 0.1 (= r_min), then 0.3 * 0.9 / 0.9 stays: only the last is raised... to itself
    assert np.allclose(samplers.b3rs_ratios([60, 30, 10], 0.1), [0.6, 0.3, 0.1])
    # a class pushed under r_min by the redistribution is raised too (water-filling)
    r = samplers.b3rs_ratios([80, 11, 9], 0.2)
    assert np.allclose(r, [0.6, 0.2, 0.2]) and r.sum() == pytest.approx(1)
    assert np.allclose(samplers.b3rs_ratios([90, 9, 1], 1 / 3), [1 / 3] * 3)  # r_min = 1/F: balanced


def test_batch_composition_rounds_and_keeps_every_class():
    assert samplers.batch_composition([0.5, 0.3, 0.2], 10).tolist() == [5, 3, 2]
    assert samplers.batch_composition([0.6, 0.3, 0.1], 4).tolist() == [2, 1, 1]
    k = samplers.batch_composition(samplers.b3rs_ratios([5000, 25], 0.05), 128)
    assert k.tolist() == [122, 6] and k.sum() == 128


def test_b3rs_batches_come_from_one_block_in_fixed_composition():
    counts = [40, 30, 20, 10, 6, 4]
    labels = torch.tensor(sum(([c] * n for c, n in enumerate(counts)), []))
    g = torch.Generator().manual_seed(0)
    plan = samplers.b3rs_plan(counts, 20, blocks=2, r0=0.1, alpha=1)
    assert [cls.tolist() for cls, _ in plan] == [[0, 2, 4], [1, 3, 5]]
    batches = samplers.b3rs_batches(labels, counts, 20, g, 5, blocks=2, r0=0.1, alpha=1, start=1)
    for t, idx in enumerate(batches):
        cls, k = plan[(1 + t) % 2]  # cyclic over the blocks, from block `start`
        got = torch.bincount(labels[idx], minlength=6).numpy()
        assert len(idx) == 20 and got[cls].tolist() == k.tolist() and got.sum() == got[cls].sum()
    # with replacement: a class of 4 images still fills its share every time
    assert all(torch.bincount(labels[b], minlength=6)[5] == plan[1][1][2] for b in batches[::2])


def test_bet_embeds_t2_b3rs_batches_after_every_t_th():
    counts = [60, 25, 10, 5]
    labels = torch.tensor(sum(([c] * n for c, n in enumerate(counts)), []))
    g = torch.Generator().manual_seed(0)
    plan = samplers.bet_batches(labels, counts, 10, g, epoch=0, blocks=1, r0=0.1, alpha=1, interval=3, iterations=2)
    # 100 images: T1 = 10 random batches; after the 3rd, 6th and 9th, two B3RS batches
    assert len(plan) == samplers.bet_length(100, 10, 3, 2) == 10 + 2 * 3
    embedded = [3, 4, 8, 9, 13, 14]  # positions of the B3RS batches
    random_part = torch.cat([b for i, b in enumerate(plan) if i not in embedded])
    assert sorted(random_part.tolist()) == list(range(100))  # the instance sampler's epoch, untouched
    k = samplers.b3rs_plan(counts, 10, 1, 0.1, 1)[0][1]
    for i in embedded:
        assert torch.bincount(labels[plan[i]], minlength=4).tolist() == k.tolist()
    assert len(samplers.bet_batches(labels, counts, 10, g, interval=60)) == 10  # T > T1: no B3RS this epoch


@pytest.mark.parametrize("kw, msg", [(dict(blocks=3), "divisor"), (dict(r0=0.0), "r_min"), (dict(r0=1.5), "r_min"),
                                     (dict(alpha=0), "alpha"), (dict(interval=0), "interval T"),
                                     (dict(iterations=-1), "T2")])
def test_bad_b3rs_settings_are_refused(kw, msg):
    args = dict(blocks=1, r0=0.05, alpha=2.0, interval=60, iterations=10) | kw
    with pytest.raises(ValueError, match=msg):
        samplers.check_b3rs(10, **args)


# ------------------------------------------------------------------- trainer
def test_whitened_bet_run_trains_and_records_gradient_norms(tmp_store):
    cfg = RunConfig(dataset="fmnist", imb=100, preset="smoke", sampler="bet",
                    extra=(("whiten", True), ("cw_eps", 1e-3), ("bet_interval", 1), ("bet_iterations", 1),
                           ("bet_blocks", 1), ("bet_r_min", 0.05), ("bet_alpha", 2.0)))
    assert cfg.label == "ce+bet+cw"
    lt = common.training_set(cfg)
    p = PRESETS["smoke"]
    n = int(lt.counts.sum())
    assert batches.steps_per_epoch(cfg, n, 10, PRESETS["paper"]) == 2 * -(-n // 128)  # T = T2 = 1
    assert batches.steps_per_epoch(cfg, n, 10, p) == p.max_steps
    plan = batches.epoch_plan(cfg, lt.train.labels, lt.counts, p, torch.Generator().manual_seed(0), 0)
    assert len(plan) == 2 * -(-n // p.batch_size)  # T = T2 = 1: every other batch is B3RS
    run = get_or_train(cfg, device="cpu", progress=False)
    h = run.metrics["history"]
    assert len(h["head_grad_norm"]) == p.epochs and len(h["head_grad_norm"][0]) == 10
    assert all(v > 0 for v in h["head_grad_norm"][-1]) and np.isfinite(h["loss"]).all()
    state = run.state_dict()
    assert "backbone.whiten.running_cov" in state and state["backbone.whiten.running_cov"].shape == (16, 16)
    # the stored test features are the whitened ones the head sees: they reproduce the stored logits
    arr = run.arrays
    logits = arr["test_features"] @ arr["weight"].T + arr["bias"]
    assert np.allclose(logits, arr["test_logits"][arr["feature_idx"]], atol=1e-4)


def test_balanced_reference_set_caps_each_class():
    cfg = RunConfig(dataset="fmnist", imb=1, preset="smoke", extra=(("per_class", 30),))
    lt = common.training_set(cfg)
    assert lt.counts.tolist() == [30] * 10
    full = common.dataset("fmnist", 1).train.labels.numpy()
    first = np.where(full == 3)[0][:30]  # the first images of each class's seeded shuffle
    assert torch.equal(lt.train.images[lt.train.labels == 3], common.dataset("fmnist", 1).train.images[first])
    with pytest.raises(ValueError, match="per_class"):
        common.training_set(RunConfig(dataset="fmnist", imb=1, preset="smoke", extra=(("per_class", 0),)))


def test_bet_settings_come_from_table6_then_the_knobs():
    cfg = RunConfig(preset="smoke", sampler="bet")
    assert batches.bet_settings(cfg, 100) == dict(blocks=10, r0=0.01, alpha=2.0, interval=30, iterations=10)
    assert batches.bet_settings(RunConfig(preset="smoke", sampler="bet", extra=(("bet_interval", 7),)), 10)["interval"] == 7
    with pytest.raises(ValueError, match="bet_blocks"):
        batches.bet_settings(cfg, 7)  # no Table 6 row for 7 classes, no knobs
    with pytest.raises(ValueError, match="divisor"):
        batches.bet_settings(RunConfig(preset="smoke", sampler="bet", extra=(("bet_blocks", 3),)), 10)


def test_head_gradient_norms_average_over_an_epoch():
    w = torch.nn.Parameter(torch.zeros(2, 2))
    norms = stage1.HeadGradientNorms(w)
    (w * torch.tensor([[3.0, 4.0], [0.0, 1.0]])).sum().backward()  # row norms 5 and 1
    (w * torch.tensor([[0.0, 1.0], [0.0, 3.0]])).sum().backward()  # row norms 1 and 3
    assert norms.pop() == pytest.approx([3.0, 2.0])
    assert norms.pop() == []  # reset: an epoch without steps has none
