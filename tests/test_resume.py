"""Runs resume from their last complete epoch.

A run stopped after epoch k (alone, stacked, or a stage-2 run) and asked for again ends with the numbers of a run
never stopped, bit for bit: every tensor of its state dict, every array and the metrics with their per-epoch
history, timings aside. A checkpoint that does not match its key is refused. Ctrl-C, a deadline and SIGTERM
keep the last epoch.
"""
import dataclasses
import json
import math
import shutil
import signal
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from ltnb import presets, runs, store
from ltnb.runs import RunConfig, get_or_train
from ltnb.training import checkpoint, images, stacked, stage1

ROOT = Path(__file__).resolve().parents[1]
TIMINGS = {"train_seconds", "train_images_per_second", "eval_images_per_second", "eval_seconds", "resumed_at"}
GCL = (("cloud", "log"), ("noise_mul", 0.5), ("s", 30.0))
FEW = (("per_class", 30),)  # 300 training images: a stored run's features and evaluation in a fraction of a second


def few(**kw) -> RunConfig:
    return RunConfig(preset="smoke", **{**kw, "extra": tuple(kw.get("extra", ())) + FEW})


@pytest.fixture(autouse=True)
def one_thread():
    """One thread a run, as the recorder trains on 2 cores (and bit for bit needs one thread count throughout)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def four_epochs(monkeypatch):
    """Smoke runs of 4 epochs (stage 2 too), every boundary checkpointed: stopped after the second, they resume
    across the learning-rate decay and DRW's switch (both at epoch 3)."""
    monkeypatch.setitem(presets.PRESETS, "smoke", dataclasses.replace(presets.PRESETS["smoke"], epochs=4,
                                                                      stage2_epochs=4))
    monkeypatch.setattr(checkpoint, "SHARE", math.inf)


def stop_after(monkeypatch, k: int, train) -> None:
    """``train()`` stops after epoch ``k`` (the test hook a deadline or a signal stands for), its checkpoint kept."""
    monkeypatch.setenv("LTNB_STOP_AFTER_EPOCH", str(k))
    with pytest.raises(checkpoint.Stopped, match=f"kept at epoch {k} of "):
        train()
    monkeypatch.delenv("LTNB_STOP_AFTER_EPOCH")


def without_timings(metrics: dict) -> str:
    m = {k: v for k, v in metrics.items() if k not in TIMINGS}
    if isinstance(m.get("history"), dict):
        m["history"] = {k: v for k, v in m["history"].items() if k not in TIMINGS}
    return json.dumps(m, sort_keys=True)  # NaN (epochs not evaluated) compares equal as text


def assert_same(a: runs.Run, b: runs.Run) -> None:
    """Every tensor of the state dict, every array and feature, and the metrics, timings aside: bit for bit."""
    assert (a.path / "model.pt").exists() == (b.path / "model.pt").exists()
    if (a.path / "model.pt").exists():
        sa, sb = a.state_dict(), b.state_dict()
        assert sa.keys() == sb.keys()
        assert [k for k in sa if not torch.equal(sa[k], sb[k])] == []
    for get in ("arrays",) + (("features",) if (a.path / "features.npz").exists() else ()):
        xa, xb = (a.arrays, b.arrays) if get == "arrays" else (a.features(), b.features())
        assert xa.keys() == xb.keys() and [k for k in xa if not np.array_equal(xa[k], xb[k])] == []
    assert without_timings(a.metrics) == without_timings(b.metrics)


@pytest.mark.parametrize("cfg, stops", [
    (few(loss="gcl", mixup_alpha=1.0, drw=True, extra=GCL), (1, 3)),  # clouds, mixup: gen draws
    (few(head="experts", loss="balanced_softmax", extra=(("aaw", True), ("experts", 3))), (2,)),
    (few(loss="ldam", drw=True, sampler="class_balanced", extra=(("cw_eps", 0.001), ("randaugment", True),
                                                                ("whiten", True))), (2,)),
], ids=lambda v: v.label if isinstance(v, RunConfig) else str(v))
def test_a_run_stopped_after_epoch_k_resumes_to_the_numbers_of_a_run_never_stopped(cfg, stops, tmp_path, monkeypatch,
                                                                                    four_epochs):
    whole = get_or_train(cfg, "cpu", False, tmp_path / "whole")
    root = tmp_path / "store"
    for k in stops:
        stop_after(monkeypatch, k, lambda: get_or_train(cfg, "cpu", False, root))
        assert runs.checkpoint_of(cfg, root).path.is_file() and not (root / cfg.key).exists()
    resumed = get_or_train(cfg, "cpu", False, root)
    assert resumed.metrics["resumed_at"] == list(stops) and "resumed_at" not in whole.metrics
    assert len(resumed.metrics["history"]["epoch"]) == 4
    assert_same(whole, resumed)
    assert list(checkpoint.folder(root).iterdir()) == []  # the checkpoint went once the run was stored


def test_a_stack_stopped_after_epoch_k_resumes_every_member_as_checkpointed(tmp_path, monkeypatch, four_epochs):
    from ltnb.parallel import train_many

    cfgs = [few(seed=5), few(seed=6, loss="gcl", mixup_alpha=1.0, drw=True, extra=GCL)]
    monkeypatch.setenv("LTNB_RUNS", str(tmp_path / "whole"))
    whole = train_many(cfgs, stack=2, device="cpu", progress=False)
    monkeypatch.setenv("LTNB_RUNS", str(tmp_path / "store"))
    stop_after(monkeypatch, 2, lambda: train_many(cfgs, stack=2, device="cpu", progress=False))
    ((name, meta),) = checkpoint.pending().items()
    assert name.startswith("stack-") and meta["keys"] == [c.key for c in cfgs] and meta["epoch"] == 2
    # asked for in another order, with another run that could join it, the stack resumes as it was checkpointed
    other = few(seed=7)
    assert stacked.groups([other, *cfgs[::-1]], 8) == [cfgs, [other]]
    resumed = train_many(cfgs[::-1], stack=2, device="cpu", progress=False)[::-1]
    for a, b in zip(whole, resumed):
        assert b.metrics["resumed_at"] == [2] and b.metrics["stacked"] == a.metrics["stacked"] == 2
        assert_same(a, b)
    assert checkpoint.pending() == {}


def test_stage2_runs_stopped_after_epoch_k_resume_to_the_same_numbers(tmp_path, monkeypatch, four_epochs):
    """cRT of a GCL backbone (its own cloud generator), MiSLAS (LWS scales) and ALAS (its smoothing factor, updated
    every step), the last two on images through the backbone (the feature stream computed again on resuming)."""
    parent = few(loss="gcl", mixup_alpha=1.0, extra=GCL)
    get_or_train(parent, "cpu", False, tmp_path / "whole")
    shutil.copytree(tmp_path / "whole" / parent.key, tmp_path / "store" / parent.key)  # one backbone for both
    for child in (dataclasses.replace(parent, stage2="crt"), dataclasses.replace(parent, stage2="mislas"),
                  dataclasses.replace(parent, stage2="alas", tau=1.0)):
        whole = get_or_train(child, "cpu", False, tmp_path / "whole")
        images.STREAMS.clear()
        stop_after(monkeypatch, 2, lambda: get_or_train(child, "cpu", False, tmp_path / "store"))
        images.STREAMS.clear()
        resumed = get_or_train(child, "cpu", False, tmp_path / "store")
        assert resumed.metrics["resumed_at"] == [2] and len(resumed.metrics["history"]["epoch"]) == 4
        assert_same(whole, resumed)
    assert list(checkpoint.folder(tmp_path / "store").iterdir()) == []


def test_a_checkpoint_that_does_not_match_its_key_is_refused_and_left_untouched(tmp_path, monkeypatch, four_epochs):
    cfg, other = few(seed=3), few(seed=4)
    stop_after(monkeypatch, 1, lambda: get_or_train(cfg, "cpu", False, tmp_path))
    ck, wrong = runs.checkpoint_of(cfg, tmp_path), runs.checkpoint_of(other, tmp_path)
    shutil.copy(ck.path, wrong.path)
    with pytest.raises(store.CorruptRun, match="does not match the config of its key.*left untouched: move it aside"):
        get_or_train(other, "cpu", False, tmp_path)
    assert wrong.path.read_bytes() == ck.path.read_bytes() and not (tmp_path / other.key).exists()
    monkeypatch.setattr(checkpoint, "KERNEL_VERSION", checkpoint.KERNEL_VERSION + 1)
    with pytest.raises(checkpoint.CheckpointMismatch, match=f"written by kernel version {checkpoint.KERNEL_VERSION - 1}"):
        get_or_train(cfg, "cpu", False, tmp_path)
    monkeypatch.setattr(checkpoint, "KERNEL_VERSION", checkpoint.KERNEL_VERSION - 1)
    wrong.path.write_bytes(ck.path.read_bytes()[:5000])  # a damaged file
    with pytest.raises(checkpoint.CheckpointMismatch, match="cannot be read"):
        get_or_train(other, "cpu", False, tmp_path)
    assert get_or_train(cfg, "cpu", False, tmp_path).metrics["resumed_at"] == [1]  # its own still resumes


def test_ctrl_c_in_an_epoch_keeps_the_last_one_and_says_so_in_one_line(tmp_store, monkeypatch, capfd, four_epochs):
    from ltnb.parallel import train_many

    cfg = few(seed=8)
    steps, step = [], stage1.train_step

    def ctrl_c_in_epoch_3(*a, **k):  # 3 steps an epoch: the second step of the third epoch
        steps.append(1)
        if len(steps) == 8:
            raise KeyboardInterrupt
        return step(*a, **k)

    monkeypatch.setattr(stage1, "train_step", ctrl_c_in_epoch_3)
    with pytest.raises(KeyboardInterrupt):
        train_many([cfg], device="cpu", progress=False)
    err = capfd.readouterr().err
    path = runs.checkpoint_of(cfg).path
    assert [line for line in err.splitlines() if line.strip()] == [
        f"Interrupted: ce (fmnist imb 100, seed 8, preset smoke) kept at epoch 2 of 4 in {path}. "
        f"Run the same command again to resume it."]
    monkeypatch.setattr(stage1, "train_step", step)
    (run,) = train_many([cfg], device="cpu", progress=False)
    assert run.metrics["resumed_at"] == [2]


def test_a_deadline_or_sigterm_stops_a_run_at_its_next_epoch_boundary(tmp_path, monkeypatch, four_epochs):
    cfg = few(seed=9)
    monkeypatch.setitem(checkpoint.STOP, "signal", None)
    monkeypatch.setenv("LTNB_DEADLINE", str(time.time()))  # passed already: the first boundary stops
    with pytest.raises(checkpoint.Stopped, match=r"deadline.*kept at epoch 1 of 4"):
        get_or_train(cfg, "cpu", False, tmp_path)
    monkeypatch.delenv("LTNB_DEADLINE")
    with checkpoint.stop_on_sigterm():
        signal.raise_signal(signal.SIGTERM)
        assert checkpoint.STOP["signal"] == "SIGTERM"
        with pytest.raises(checkpoint.Stopped, match="SIGTERM received.*kept at epoch 2 of 4"):
            get_or_train(cfg, "cpu", False, tmp_path)
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    checkpoint.STOP["signal"] = None
    assert get_or_train(cfg, "cpu", False, tmp_path).metrics["resumed_at"] == [1, 2]
