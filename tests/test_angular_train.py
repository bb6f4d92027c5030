"""The angular chapter's runs on a few smoke steps: AEM stage 1, MiSLAS / ALAS stage 2 on images, pruned runs."""
import math

import numpy as np
import pytest

from ltnb import config
from ltnb.kernels import losses
from ltnb.runs import train as runs
from ltnb.training import images
from ltnb.runs.train import RunConfig, get_or_train

BASE = dict(dataset="fmnist", imb=100, preset="smoke")


def test_aem_trains_on_the_angular_head(tmp_store):
    run = get_or_train(RunConfig(**BASE, loss="aem", mixup_alpha=1.0), device="cpu", progress=False)
    logits = run.arrays["test_logits"]
    assert logits.min() >= 0 and logits.max() <= math.pi  # the stored predictions are Eq. 1's
    assert "bias" not in run.arrays and run.arrays["weight"].shape == (10, 16)
    assert np.isfinite(run.metrics["history"]["loss"]).all()


def test_aem_scale_knob_multiplies_the_angular_logits(tmp_store):
    run = get_or_train(RunConfig(**BASE, loss="aem", extra=(("s", 16.0),)), device="cpu", progress=False)
    f, a = run.features(), run.arrays
    import torch
    from ltnb.kernels import angular
    ang = angular.angular_logits(torch.from_numpy(f["test"][a["feature_idx"]]), torch.from_numpy(a["weight"]))
    assert np.allclose(a["test_logits"][a["feature_idx"]], 16 * ang.numpy(), atol=1e-3)
    assert a["test_logits"].max() > math.pi  # scaled beyond Eq. 1's range
    with pytest.raises(ValueError, match="logit scale s must be positive"):
        RunConfig(**BASE, loss="aem", extra=(("s", 0.0),))


def test_mislas_and_alas_on_one_backbone(tmp_store):
    cfgs = {m: RunConfig(**BASE, mixup_alpha=1.0, stage2=m, tau=0.75, extra=(("shift_bn", True), ("las_form", "linear")))
            for m in ("mislas", "alas")}
    assert cfgs["mislas"].parent == RunConfig(**BASE, mixup_alpha=1.0)  # stage-2 knobs do not move the backbone
    images.STREAMS.clear()
    got = {m: get_or_train(c, device="cpu", progress=False) for m, c in cfgs.items()}
    assert len(images.STREAMS) == 1  # both heads trained on one stream of shifted features
    mislas, alas = got["mislas"], got["alas"]
    a = mislas.arrays
    assert mislas.metrics["prediction"] == "linear with LWS" and a["scales"].shape == (10,)
    assert np.allclose(a["test_logits"], a["test_linear"] * a["scales"], atol=1e-5)
    assert mislas.metrics["settings"]["las_eps_head"] == 0.3 and mislas.metrics["settings"]["las_form"] == "linear"
    b = alas.arrays
    assert alas.metrics["prediction"] == "angular" and "scales" not in b
    assert np.array_equal(b["test_logits"], b["test_angular"])
    assert alas.metrics["angular"]["accuracy"] == alas.metrics["accuracy"]
    assert 0 <= b["final_factor"].min() and b["final_factor"].max() <= 0.75  # R stays in [0, tau] from R^0 <= tau
    assert mislas.features()["test"].shape[0] == len(a["test_labels"])


def test_bn_shift_moves_the_features_and_only_then(tmp_store):
    parent = get_or_train(RunConfig(**BASE), device="cpu", progress=False)
    kept = get_or_train(RunConfig(**BASE, stage2="alas", extra=(("shift_bn", False),)), device="cpu", progress=False)
    shifted = get_or_train(RunConfig(**BASE, stage2="alas", extra=(("shift_bn", True),)), device="cpu", progress=False)
    before = parent.features()["test"]
    assert np.allclose(kept.features()["test"], before, atol=1e-4)
    assert not np.allclose(shifted.features()["test"], before, atol=1e-2)


def test_mislas_settings_follow_the_official_configs():
    assert losses.mislas_settings("cifar10", 100) == dict(las_eps_head=0.3, las_eps_tail=0.0, las_form="concave",
                                                         lr_factor=0.5, shift_bn=False)
    s = losses.mislas_settings("cifar100", 200)  # nearest official factor: 100
    assert (s["las_eps_head"], s["las_eps_tail"], s["lr_factor"], s["shift_bn"]) == (0.4, 0.1, 0.2, True)
    assert losses.mislas_settings("cifar10", 40)["las_eps_head"] == 0.2
    assert losses.mislas_settings("fmnist", 100)["shift_bn"] is True


def test_pruned_run_trains_on_the_kept_images(tmp_store):
    extra = (("prune", "avh"), ("prune_fraction", 0.5), ("score_runs", 2), ("score_epochs", 1))
    run = get_or_train(RunConfig(**BASE, extra=extra), device="cpu", progress=False)
    full = np.asarray(run.metrics["counts"])
    assert sum(run.metrics["trained_counts"]) == full.sum() - round(0.5 * full.sum())
    scoring = [runs.load(c) for c in config.scoring_configs(run.config)]
    assert all(scoring) and [r.config.seed for r in scoring] == [0, 1]
    assert len(scoring[0].arrays["train_avh"]) == full.sum() and len(scoring[0].metrics["history"]["epoch"]) == 1
    assert not np.allclose(scoring[0].arrays["train_avh"], scoring[1].arrays["train_avh"])  # two seeds, two models


@pytest.mark.parametrize("extra, msg", [((("prune", "loss"), ("prune_fraction", 0.5)), "unknown pruning method"),
                                        ((("prune", "avh"), ("prune_fraction", 1.0)), r"\[0, 1\)"),
                                        ((("prune", "avh"),), "needs both"),
                                        ((("stop_epoch", 0),), "stop_epoch")])
def test_bad_pruning_knobs_are_refused(extra, msg):
    with pytest.raises(ValueError, match=msg):
        RunConfig(**BASE, extra=extra)


def test_bad_stage2_settings_fail_before_training(tmp_store):
    with pytest.raises(ValueError, match="unknown form"):
        get_or_train(RunConfig(**BASE, stage2="alas", extra=(("las_form", "cubic"),)), device="cpu", progress=False)
