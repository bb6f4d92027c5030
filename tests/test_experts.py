"""The multi-expert ResNet-32 (independent and group-convolution experts), the ensemble, RandAugment
on device batches, and a multi-expert smoke run through the trainer."""
import math

import numpy as np
import pytest
import torch

from ltnb import augment, data as D
from ltnb.kernels import experts, models
from ltnb.presets import PRESETS
from ltnb.runs.train import RunConfig, get_or_train
from ltnb.training import common


def net(kind, K=3, seed=0):
    torch.manual_seed(seed)
    return experts.multi_expert_resnet32(10, 1, 0.25, K, kind).eval()


# ------------------------------------------------------------------------- the model
def test_ic_and_gc_have_the_same_parameters():
    ic, gc = net("ic"), net("gc")
    assert models.count_parameters(ic) == models.count_parameters(gc)
    # K - 1 more copies of stages 2 and 3 and of the classifier than one ResNet-32
    one = models.resnet32(10, 1, 0.25, "cosine")
    stages23 = sum(p.numel() for n, p in one.named_parameters() if n.startswith(("backbone.layer2", "backbone.layer3")))
    assert models.count_parameters(ic) == models.count_parameters(one) + 2 * (stages23 + 10 * 16)


def test_one_group_convolution_expert_is_resnet32():
    gc = net("gc", K=1)
    one = models.resnet32(10, 1, 0.25, "cosine").eval()
    state = {k.replace("branches.0.", "layer2.").replace("branches.1.", "layer3."): v
             for k, v in gc.state_dict().items() if not k.startswith("head.")}
    one.backbone.load_state_dict(state)
    x = torch.randn(4, 1, 28, 28)
    assert torch.allclose(gc.features(x), one.features(x), atol=1e-5)


def perturbed_features(model, expert):
    """Features of every expert before and after changing ``expert``'s stage-2 weights."""
    x = torch.randn(6, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    before = model.features(x).view(6, 3, -1)
    with torch.no_grad():
        if model.expert_type == "ic":
            w = model.branches[expert][0][1].conv1.weight
            w.add_(torch.randn_like(w))
        else:  # the output channels of this expert's group in a stage-2 convolution
            w = model.branches[0][1].conv1.weight
            c = w.shape[0] // 3
            w[expert * c:(expert + 1) * c] += torch.randn_like(w[expert * c:(expert + 1) * c])
    return before, model.features(x).view(6, 3, -1)


def test_independent_experts_do_not_see_each_other():
    before, after = perturbed_features(net("ic"), expert=0)
    assert not torch.allclose(before[:, 0], after[:, 0])
    assert torch.equal(before[:, 1:], after[:, 1:])


def test_group_convolution_shortcut_crosses_experts():
    # stage 3's first shortcut zero-pads the stacked channels: the middle expert receives
    # half of each neighbour's stage-2 channels through it, the outer ones only their own
    before, after = perturbed_features(net("gc"), expert=0)
    assert not torch.allclose(before[:, 0], after[:, 0])
    assert not torch.allclose(before[:, 1], after[:, 1])
    assert torch.equal(before[:, 2], after[:, 2])


def test_forward_is_the_mean_of_cosine_experts():
    m = net("gc")
    x = torch.randn(5, 1, 28, 28)
    out = m(x)
    z = m.features(x)
    assert out["experts"].shape == (5, 3, 10)
    assert torch.allclose(out["experts"], experts.cosine_logits(z, m.head.weight, 30.0), atol=1e-5)
    assert torch.allclose(out["logits"], out["experts"].mean(1), atol=1e-5)
    assert torch.allclose(m.head(z), out["logits"], atol=1e-5)  # the path predict() takes
    assert out["experts"].abs().max() <= 30.0 + 1e-4  # s times a cosine


def test_cosine_logits_and_fusion_by_hand():
    z = torch.tensor([[3.0, 4.0, 0.0, 2.0]])  # two experts, d = 2: (3, 4) and (0, 2)
    W = torch.tensor([[[1.0, 0.0]], [[0.0, 5.0]]])  # one class
    v = experts.cosine_logits(z, W, scale=10.0)
    assert torch.allclose(v, torch.tensor([[[6.0], [10.0]]]))
    assert torch.allclose(experts.fuse(v), torch.tensor([[8.0]]))
    assert torch.allclose(experts.fuse(v, [1.0, 3.0]), torch.tensor([[9.0]]))  # (6 + 30) / 4


def test_bad_expert_type_is_refused():
    with pytest.raises(ValueError, match="unknown expert type"):
        experts.multi_expert_resnet32(10, 1, 0.25, 3, "shared")


# ----------------------------------------------------------------------- RandAugment
def test_magnitudes_at_level_9_of_31():
    m = lambda op: augment.op_magnitude(op, 9, 28, 28)  # noqa: E731
    assert m("ShearX") == pytest.approx(0.09) and m("Rotate") == pytest.approx(9.0)
    assert m("Brightness") == pytest.approx(0.27) and m("Solarize") == pytest.approx(0.7)
    assert m("Posterize") == 7.0  # 8 - round(9 / 7.5) bits
    assert m("TranslateX") == pytest.approx(150 / 331 * 28 * 0.3)
    with pytest.raises(ValueError, match="unknown RandAugment op"):
        augment.op_magnitude("Invert", 9, 28, 28)


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("op", [o for o in augment.OPS if o != "Identity"])
def test_an_op_on_a_batch_is_the_op_on_each_image(op, channels):
    x = torch.randint(0, 256, (4, channels, 12, 12), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    m = -augment.op_magnitude(op, 9, 12, 12) if op in augment.SIGNED else augment.op_magnitude(op, 9, 12, 12)
    batched = augment.apply_op(x, op, m)
    assert batched.dtype == torch.uint8
    assert torch.equal(batched, torch.stack([augment.apply_op(x[i:i + 1], op, m)[0] for i in range(4)]))


def test_posterize_and_solarize_by_hand():
    x = torch.tensor([0, 1, 178, 179, 255], dtype=torch.uint8).view(1, 1, 1, 5)
    assert augment.apply_op(x, "Posterize", 7.0).flatten().tolist() == [0, 0, 178, 178, 254]
    assert augment.apply_op(x, "Solarize", 0.7).flatten().tolist() == [0, 1, 178, 255 - 179, 0]


def test_rand_augment_draws_per_image_and_is_seeded():
    x = torch.randint(1, 256, (200, 1, 8, 8), dtype=torch.uint8, generator=torch.Generator().manual_seed(0)) | 1
    out = augment.rand_augment(x, torch.Generator().manual_seed(3), num_ops=1, ops=("Identity", "Posterize"))
    changed = (out != x).flatten(1).any(1)
    assert 60 < int(changed.sum()) < 140  # about half the images drew Posterize (odd pixels lose a bit)
    assert torch.equal(out[changed], x[changed] & 0xFE) and torch.equal(out[~changed], x[~changed])
    again = augment.rand_augment(x, torch.Generator().manual_seed(3), num_ops=1, ops=("Identity", "Posterize"))
    assert torch.equal(out, again)
    drawn = augment.rand_augment_draws(200, torch.Generator().manual_seed(3), num_ops=1, num_choices=2)
    assert torch.equal(out, augment.rand_augment(x, num_ops=1, ops=("Identity", "Posterize"), draws=drawn))
    with pytest.raises(ValueError, match="uint8"):
        augment.rand_augment(x.float())


def test_device_images_apply_rand_augment_to_training_batches_only():
    s = D.ImageSet(torch.randint(0, 256, (16, 1, 28, 28), dtype=torch.uint8), torch.arange(16) % 2, D.DATASETS["fmnist"])
    plain, ra = D.DeviceImages(s), D.DeviceImages(s, randaugment=True)
    idx = torch.arange(16)
    assert torch.equal(plain.batch(idx, augment=False)[0], ra.batch(idx, augment=False)[0])
    a = plain.batch(idx, augment=True, generator=torch.Generator().manual_seed(0))[0]
    b = ra.batch(idx, augment=True, generator=torch.Generator().manual_seed(0))[0]
    assert not torch.equal(a, b)


# ------------------------------------------------------------------------ the trainer
def test_multi_expert_configs_are_checked():
    with pytest.raises(ValueError, match="needs head='experts'"):
        RunConfig(loss="cla")
    with pytest.raises(ValueError, match="multi-expert run trains with"):
        RunConfig(loss="ldam", head="experts")
    with pytest.raises(ValueError, match="neither mixup"):
        RunConfig(loss="cla", head="experts", mixup_alpha=1.0)
    with pytest.raises(ValueError, match="unknown head"):
        RunConfig(head="mlp")


def test_a_multi_expert_smoke_run_stores_what_the_chapter_reads(tmp_store):
    extra = (("aaw", True), ("experts", 3), ("expert_type", "gc"), ("gla_tau", 3.0), ("randaugment", True))
    run = get_or_train(RunConfig(dataset="fmnist", imb=100, preset="smoke", loss="cla", head="experts", extra=extra),
                       device="cpu", progress=False)
    W = run.arrays["weight"]
    assert W.shape == (3, 10, 16)
    f = run.features()
    assert f["test"].shape == (400, 48)
    # the stored features and classifiers give back the stored ensemble logits
    v = experts.cosine_logits(torch.from_numpy(f["test"]), torch.from_numpy(W), 30.0)
    assert np.allclose(experts.fuse(v).numpy(), run.arrays["test_logits"], atol=1e-4)
    assert run.config.label == "cla+3gc+aaw+ra"
    assert math.isfinite(run.metrics["history"]["loss"][-1])


def test_build_model_picks_the_network():
    lt = type("LT", (), {"info": D.DATASETS["fmnist"]})()
    p = PRESETS["smoke"]
    ic = common.build_model(RunConfig(preset="smoke", loss="ce", head="experts", extra=(("experts", 2), ("expert_type", "ic"))), lt, p)
    assert isinstance(ic, experts.MultiExpertResNet) and ic.expert_type == "ic" and ic.num_experts == 2
    assert isinstance(common.build_model(RunConfig(preset="smoke"), lt, p), models.Net)
