"""Stacked training: K runs as one grouped network give each run the numbers it gets alone."""
import dataclasses

import numpy as np
import pytest
import torch

from ltnb.kernels import models
from ltnb.presets import PRESETS
from ltnb.runs.train import RunConfig, get_or_train
from ltnb.training import common, stacked, stage1

GCL = (("cloud", "log"), ("noise_mul", 0.5), ("s", 30.0))
CFGS = [RunConfig(preset="smoke", seed=0),
        RunConfig(preset="smoke", seed=1, loss="balanced_softmax", drw=True),
        RunConfig(preset="smoke", seed=2, loss="gcl", mixup_alpha=1.0, extra=GCL)]
CW = (("cw_eps", 0.001), ("whiten", True))  # the whitening chapter's channel whitening before the head
CW_CFGS = [RunConfig(preset="smoke", seed=0, extra=CW),
           RunConfig(preset="smoke", seed=1, loss="ldam", drw=True, extra=CW)]
# two steps across an epoch boundary, DRW switching on in the second epoch
SHORT = dataclasses.replace(PRESETS["smoke"], epochs=2, max_steps=1, lr=0.01, drw_start=0.5)


def whole(model) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def test_channel_whitened_runs_stack_each_with_its_own_whitening(monkeypatch):
    """CW runs stack like the others; each run's whitening layer (running mean and covariance) stays its own.

    The first step is a forward pass on equal weights: equal to rounding. After it, whitening's inverse square
    root of a 16-channel covariance from 64 images amplifies rounding, most under LDAM's large loss: on a CPU
    limited to AVX2 (fp32) the second loss was 3.3e-4 and the weights 7.6e-3 apart (relative), so the bounds
    are 2e-3 and 5e-2: loose for rounding, far below what a run mixed up with another or left unwhitened gives.
    """
    monkeypatch.setenv("LTNB_LAYOUT", "contiguous")  # both sides in one layout, as the bounds were measured
    lt = common.dataset("fmnist", 100)
    alone = [stage1.fit(c, lt, SHORT, "cpu", progress=False, fast=False) for c in CW_CFGS]
    together = stacked.fit_stacked(CW_CFGS, lt, SHORT, "cpu", progress=False, fast=False)
    for (m1, h1), (m2, h2) in zip(alone, together):
        assert h1["loss"][0] == pytest.approx(h2["loss"][0], rel=1e-4)
        assert np.allclose(h1["loss"], h2["loss"], rtol=2e-3), (h1["loss"], h2["loss"])
        assert float((whole(m1) - whole(m2)).norm() / whole(m1).norm()) < 5e-2
        w1, w2 = m1.backbone.whiten, m2.backbone.whiten
        assert torch.allclose(w1.running_cov, w2.running_cov, rtol=0, atol=1e-3)  # 4e-5 apart on AVX2
        assert not torch.equal(w2.running_cov, torch.eye(len(w2.running_cov)))  # it learned a covariance
    cov = [m.backbone.whiten.running_cov for m, _ in together]
    assert not torch.allclose(cov[0], cov[1])  # two runs, two whitening layers


def test_three_different_runs_stacked_and_alone_agree_step_for_step():
    """fp32 on the CPU: each run's per-step losses and final weights, stacked or alone, to float tolerance.

    The tolerance is float rounding's: grouped and plain convolutions sum in different orders, and this
    quarter-width network amplifies such differences within a few steps (1 and 2 CPU threads differ as much),
    so the check runs two steps; the epoch logic is checked bit for bit below.
    """
    lt = common.dataset("fmnist", 100)
    alone = [stage1.fit(c, lt, SHORT, "cpu", progress=False, fast=False) for c in CFGS]
    together = stacked.fit_stacked(CFGS, lt, SHORT, "cpu", progress=False, fast=False)
    for (m1, h1), (m2, h2) in zip(alone, together):
        assert np.allclose(h1["loss"], h2["loss"], rtol=1e-4), (h1["loss"], h2["loss"])
        assert float((whole(m1) - whole(m2)).norm() / whole(m1).norm()) < 1e-3
        x, _ = common.D.DeviceImages(lt.test, "cpu").batch(torch.arange(256), augment=False)
        m1.eval(), m2.eval()
        with torch.no_grad():
            assert float((m1(x) - m2(x)).abs().max()) < 1e-2 * float(m1(x).abs().max())  # eval mode: running stats
        assert h2["stacked"] == 3
    assert len({tuple(h["loss"]) for _, h in together}) == 3  # three different runs, not one copied


@pytest.mark.parametrize("cfg", CFGS + [RunConfig(preset="smoke", seed=4, loss="ldam", drw=True), CW_CFGS[1]],
                         ids=lambda c: c.label)
def test_a_stack_of_one_is_the_run_alone_bit_for_bit(cfg):
    """The stacked loop's epochs, draws, DRW switch and unstacking, against fit(): identical numbers."""
    lt = common.dataset("fmnist", 100)
    p = dataclasses.replace(PRESETS["smoke"], epochs=3)
    m1, h1 = stage1.fit(cfg, lt, p, "cpu", progress=False, fast=False)
    ((m2, h2),) = stacked.fit_stacked([cfg], lt, p, "cpu", progress=False, fast=False)
    assert h1["loss"] == h2["loss"]
    # evaluation runs the stacked network's own forward, whose logits differ from the plain one's in rounding; on
    # some CPUs (AMD EPYC, fp32) that flips a near-tied prediction of this near-chance smoke model: one image of 400
    assert np.allclose(h1["test_acc"][:-1], h2["test_acc"][:-1], rtol=0, atol=0.01), (h1["test_acc"], h2["test_acc"])
    assert all(torch.equal(a, b) for a, b in zip(m1.state_dict().values(), m2.state_dict().values()))


def test_the_stacked_shortcut_pads_each_network_apart():
    block = models.BasicBlock(2, 4, stride=2)
    block.stack = 2
    x = torch.arange(2 * 4 * 2 * 2, dtype=torch.float32).view(1, 4, 4, 2)[:, :, :2, :2].contiguous().view(1, 4, 2, 2)
    out = block.shortcut(x)  # each network: 2 channels padded to 4, one zero channel on each side
    assert out.shape == (1, 8, 1, 1)
    assert [float(v) for v in out.flatten()] == [0, float(x[0, 0, 0, 0]), float(x[0, 1, 0, 0]), 0,
                                                 0, float(x[0, 2, 0, 0]), float(x[0, 3, 0, 0]), 0]


def test_only_compatible_runs_stack():
    assert stacked.stack_key(CFGS[0]) == stacked.stack_key(CFGS[2])
    assert stacked.stack_key(CW_CFGS[0]) == stacked.stack_key(CW_CFGS[1]) != stacked.stack_key(CFGS[0])
    assert stacked.stack_key(RunConfig(preset="smoke", head="experts")) is None
    assert stacked.stack_key(RunConfig(preset="smoke", imb=50)) != stacked.stack_key(CFGS[0])
    assert stacked.stack_key(RunConfig(preset="smoke", sampler="bet")) != stacked.stack_key(CFGS[0])
    groups = stacked.groups(CFGS + [RunConfig(preset="smoke", imb=50), RunConfig(preset="smoke", stage2="crt")], 2)
    assert sorted(len(g) for g in groups) == [1, 1, 1, 2]
    with pytest.raises(ValueError, match="cannot stack"):
        stacked.fit_stacked([CFGS[0], RunConfig(preset="smoke", imb=50)], common.dataset("fmnist", 100),
                            PRESETS["smoke"], "cpu")


def test_train_many_stacks_and_stores_each_run_under_its_own_key(tmp_store):
    from ltnb.runs.parallel import train_many

    runs = train_many(CFGS + [RunConfig(preset="smoke", stage2="crt")], stack=3, device="cpu", progress=False)
    assert [r.config for r in runs[:3]] == CFGS
    assert all(r.metrics["stacked"] == 3 for r in runs[:3]) and runs[3].metrics["stage"] == 2
    # stored as if trained alone: the same first-epoch loss up to float rounding (the exact agreement is the
    # step-for-step test's; later epochs at lr 0.1 amplify rounding, and a 6-step model's accuracy is noise)
    for k, cfg in enumerate(CFGS):
        alone = get_or_train(cfg, progress=False, root=tmp_store.parent / "alone")
        assert alone.metrics["history"]["loss"][0] == pytest.approx(runs[k].metrics["history"]["loss"][0], rel=0.02)


def test_a_run_without_a_cuda_graph_does_not_make_its_stack_eager():
    aem = RunConfig(preset="smoke", loss="aem", mixup_alpha=1.0)
    assert not stage1.graphable(aem) and stage1.graphable(CFGS[0])
    assert stacked.stack_key(aem) != stacked.stack_key(CFGS[0])
    assert stage1.graphable(RunConfig(preset="smoke", extra=(("subset_seed", 1),)))  # other images, the same step
