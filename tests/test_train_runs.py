"""The trainer on a few smoke steps, and the run store."""
import dataclasses
import json
import shutil

import numpy as np
import pytest
import torch

from ltnb import data as D
from ltnb.runs import train as runs
from ltnb.presets import PRESETS
from ltnb.training import common, stage1
from ltnb.runs.train import RunConfig, get_or_train


def test_learning_rate_warmup_and_steps():
    p = dataclasses.replace(PRESETS["paper"], epochs=10, warmup_epochs=2, milestones=(0.5, 0.8))
    lrs = [common.learning_rate(s, 4, p) for s in range(40)]
    assert lrs[0] == pytest.approx(0.1 / 8) and lrs[7] == pytest.approx(0.1)
    assert lrs[8] == pytest.approx(0.1) and lrs[19] == pytest.approx(0.1)
    assert lrs[20] == pytest.approx(0.01) and lrs[32] == pytest.approx(0.001)


def test_config_key_is_stable_and_covers_the_schedule():
    a, b = RunConfig(imb=100, preset="smoke"), RunConfig(imb=100.0, preset="smoke")
    assert a.key == b.key and len(a.key) == 16
    assert RunConfig(preset="smoke", seed=1).key != a.key
    assert RunConfig(preset="cpu").key != RunConfig(preset="smoke").key
    assert RunConfig(preset="smoke", stage2="crt").parent == a


@pytest.mark.parametrize("kw, msg", [(dict(loss="hinge"), "unknown loss"), (dict(preset="auto"), "unknown preset"),
                                      (dict(stage2="platt"), "unknown stage-2"), (dict(imb=0.9), ">= 1")])
def test_bad_configs_are_refused(kw, msg):
    with pytest.raises(ValueError, match=msg):
        RunConfig(**kw)


def test_smoke_runs_train_store_and_reuse(tmp_store, monkeypatch):
    cfg = RunConfig(dataset="fmnist", imb=100, preset="smoke", loss="ldam", drw=True)
    run = get_or_train(cfg, device="cpu", progress=False)
    m = run.metrics
    assert 0 <= m["accuracy"] <= 1 and len(m["per_class"]) == 10 and m["stage"] == 1
    assert len(m["history"]["loss"]) == PRESETS["smoke"].epochs
    assert run.arrays["confusion"].sum() == PRESETS["smoke"].test_limit
    assert run.arrays["weight"].shape == (10, 16)
    assert (tmp_store / cfg.key / "model.pt").is_file()
    # a second call reuses the stored run: training is not called again
    monkeypatch.setattr(runs, "train", lambda *a, **k: pytest.fail("retrained a stored run"))
    again = get_or_train(cfg, device="cpu", progress=False)
    assert again.metrics == m


def test_stage2_methods_on_the_stored_backbone(tmp_store):
    base = dict(dataset="fmnist", imb=100, preset="smoke")
    ce = get_or_train(RunConfig(**base), progress=False)
    crt = get_or_train(RunConfig(**base, stage2="crt"), progress=False)
    lws = get_or_train(RunConfig(**base, stage2="lws"), progress=False)
    t0 = get_or_train(RunConfig(**base, stage2="tau_norm", tau=0.0), progress=False)
    assert crt.metrics["trainable_parameters"] == 10 * 16 + 10
    assert lws.metrics["trainable_parameters"] == 10
    assert t0.metrics["trainable_parameters"] == 0
    # tau = 0 leaves the classifier as it was: the same predictions as the stage-1 run
    assert np.array_equal(t0.arrays["confusion"], ce.arrays["confusion"])
    assert np.allclose(t0.arrays["test_logits"], ce.arrays["test_logits"], atol=1e-4)


def test_cpu_rerun_gives_the_same_numbers(tmp_path):
    cfg = RunConfig(dataset="fmnist", imb=100, preset="smoke", mixup_alpha=1.0)
    a = get_or_train(cfg, progress=False, root=tmp_path / "a")
    b = get_or_train(cfg, progress=False, root=tmp_path / "b")
    assert a.metrics["history"]["loss"] == b.metrics["history"]["loss"]
    assert np.array_equal(a.arrays["test_logits"], b.arrays["test_logits"])


def test_balanced_softmax_and_mixup_smoke_train(tmp_store):
    for kw in (dict(loss="balanced_softmax"), dict(mixup_alpha=1.0), dict(sampler="class_balanced")):
        m = get_or_train(RunConfig(preset="smoke", **kw), progress=False).metrics
        assert np.isfinite(m["history"]["loss"]).all() and 0 <= m["accuracy"] <= 1


def test_fast_path_matches_the_plain_path():
    """bf16 autocast (the CUDA fast path, here on the CPU) against fp32, on any CPU (native bf16 or not).

    One forward pass of the same network agrees within bf16's precision but not bit for bit (the fast
    path really runs in bf16), and a short training follows the same loss trajectory. No accuracy of a
    barely trained model is compared: that is noise, different on every machine.
    """
    import dataclasses as dc

    lt = common.dataset("fmnist", 100)
    cfg = RunConfig(preset="smoke")
    torch.manual_seed(0)
    model = common.build_model(cfg, lt, PRESETS["smoke"]).eval()
    x, _ = D.DeviceImages(lt.test, "cpu").batch(torch.arange(256), augment=False)
    with torch.no_grad():
        plain = model(x)
        with common.autocast(torch.device("cpu"), fast=True):
            fast = model(x).float()
    assert not torch.equal(fast, plain)
    assert (fast - plain).abs().max() <= 0.05 * plain.abs().max()
    assert (fast.argmax(1) == plain.argmax(1)).float().mean() >= 0.9
    p = dc.replace(PRESETS["smoke"], epochs=3, max_steps=4, eval_every=0, lr=0.02)  # a smooth trajectory
    _, hp = stage1.fit(cfg, lt, p, "cpu", progress=False, fast=False)
    _, hf = stage1.fit(cfg, lt, p, "cpu", progress=False, fast=True)
    assert (hp["precision"], hf["precision"]) == ("fp32", "bf16 autocast")
    assert np.allclose(hp["loss"], hf["loss"], rtol=0.05), (hp["loss"], hf["loss"])


def test_cosine_learning_rate():
    p = dataclasses.replace(PRESETS["paper"], epochs=12, warmup_epochs=2, lr_schedule="cosine")
    assert common.learning_rate(8, 4, p) == pytest.approx(0.1)  # first step after warm-up
    assert common.learning_rate(28, 4, p) == pytest.approx(0.05)  # half way through the cosine
    assert common.learning_rate(48, 4, p) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="lr_schedule"):
        common.learning_rate(20, 4, dataclasses.replace(p, lr_schedule="poly"))


def test_gcl_two_stages_smoke(tmp_store):
    """GCL stage 1 (cosine head, clouded loss, mixup) and its CBEN cRT; the cosine parent's classifier
    survives the conversion to a linear one on normalised features (tau-norm at 0 = stage 1)."""
    base = dict(preset="smoke", loss="gcl", mixup_alpha=1.0, extra=(("noise_mul", 0.5),))
    s1 = get_or_train(RunConfig(**base), progress=False)
    assert np.isfinite(s1.metrics["history"]["loss"]).all()
    crt = get_or_train(RunConfig(**base, stage2="crt"), progress=False)
    assert crt.metrics["trainable_parameters"] == 10 * 16
    t0 = get_or_train(RunConfig(**base, stage2="tau_norm", tau=0.0), progress=False)
    assert np.allclose(t0.arrays["test_logits"], s1.arrays["test_logits"], atol=1e-3)
    ib_cfg = RunConfig(**(base | {"extra": base["extra"] + (("sampler2", "instance"),)}), stage2="crt")
    assert ib_cfg.parent == s1.config and ib_cfg.key != crt.config.key
    ib = get_or_train(ib_cfg, progress=False)
    assert ib.metrics["stage"] == 2


def test_stage2_knobs_leave_the_parent_the_baselines_ce_run():
    marr = RunConfig(dataset="fmnist", imb=100, preset="cpu", stage2="marr", extra=(("gamma", 1.2), ("iterations", 50)))
    assert marr.parent.key == RunConfig(dataset="fmnist", imb=100, preset="cpu").key
    t7 = RunConfig(dataset="fmnist", imb=100, preset="cpu", stage2="marr", extra=(("backbone_imb", 50), ("gamma", 1.2)))
    assert t7.parent.key == RunConfig(dataset="fmnist", imb=50, preset="cpu").key
    # existing keys did not move: a config without the new knobs describes itself as before
    assert "gamma" not in json.dumps(RunConfig(preset="cpu", stage2="crt").describe())


def test_marr_and_disalign_on_the_stored_backbone(tmp_store, monkeypatch):
    base = dict(dataset="fmnist", imb=100, preset="smoke")
    ce = get_or_train(RunConfig(**base), progress=False)
    monkeypatch.setattr(stage1, "train_stage1", lambda *a, **k: pytest.fail("retrained the stored backbone"))
    marr = get_or_train(RunConfig(**base, stage2="marr", extra=(("gamma", 1.2), ("iterations", 7))), progress=False)
    dis = get_or_train(RunConfig(**base, stage2="disalign", extra=(("gamma", 1.2),)), progress=False)
    assert marr.metrics["trainable_parameters"] == 2 * 10
    assert dis.metrics["trainable_parameters"] == 16 + 2 * 10
    a = marr.arrays
    assert a["omega"].shape == (10,) and a["beta"].shape == (10,) and not np.allclose(a["omega"], 1)
    assert np.array_equal(a["weight"], ce.arrays["weight"])  # the classifier stayed frozen
    # the stored logits are the rectified ones: omega * eta + beta * ||W|| on the parent's test features
    z = torch.from_numpy(ce.features()["test"])
    eta = z @ torch.from_numpy(a["weight"]).t() + torch.from_numpy(a["bias"])
    rect = torch.from_numpy(a["omega"]) * eta + torch.from_numpy(a["beta"]) * torch.from_numpy(a["weight"]).norm(dim=1)
    assert np.allclose(rect.numpy(), a["test_logits"], atol=1e-4)


def test_marr_on_a_backbone_trained_at_another_factor(tmp_store):
    base = dict(dataset="fmnist", imb=200, preset="smoke")
    cfg = RunConfig(**base, stage2="marr", extra=(("backbone_imb", 50),))
    run = get_or_train(cfg, progress=False)
    assert runs.load(RunConfig(dataset="fmnist", imb=50, preset="smoke")) is not None
    assert runs.load(RunConfig(**base)) is None  # no backbone at 200 was needed
    assert run.metrics["counts"] == common.dataset("fmnist", 200).counts.tolist()  # fitted on the imb-200 set


def test_a_recorded_run_is_used_when_the_store_lacks_it_and_never_silently_when_it_mismatches(tmp_path, monkeypatch):
    from ltnb import record

    cfg = RunConfig(preset="smoke", seed=7)
    recorded = tmp_path / "recorded"
    monkeypatch.setenv("LTNB_RECORDED", str(recorded))
    monkeypatch.setenv("LTNB_RUNS", str(tmp_path / "full"))
    full = get_or_train(cfg, progress=False)
    record.export(full)
    monkeypatch.setenv("LTNB_RUNS", str(tmp_path / "empty"))
    run = runs.load(cfg)
    assert run.recorded and run.path == recorded / "smoke" / cfg.key
    assert run.metrics["accuracy"] == full.metrics["accuracy"]
    with pytest.raises(FileNotFoundError, match="recordings keep the small files"):
        run.features()
    monkeypatch.setenv("LTNB_RUNS", str(tmp_path / "full"))  # the store wins over the recording
    assert not runs.load(cfg).recorded
    # a recording whose config no longer matches its key is refused and left in place
    other = RunConfig(preset="smoke", seed=8)
    shutil.copytree(recorded / "smoke" / cfg.key, recorded / "smoke" / other.key)
    with pytest.raises(runs.CorruptRun, match="does not match"):
        runs.load(other)
    assert (recorded / "smoke" / other.key / "config.json").is_file()


def test_evaluating_every_epoch_changes_no_training_number():
    """Per-epoch test accuracy is recorded (overall and per class) without touching what is trained."""
    lt = common.dataset("fmnist", 100)
    cfg = RunConfig(preset="smoke", mixup_alpha=1.0)
    p = dataclasses.replace(PRESETS["smoke"], epochs=3)
    quiet, hq = stage1.fit(cfg, lt, dataclasses.replace(p, eval_every=0), "cpu", progress=False)
    loud, hl = stage1.fit(cfg, lt, dataclasses.replace(p, eval_every=1), "cpu", progress=False)
    assert hq["loss"] == hl["loss"]
    for a, b in zip(quiet.state_dict().values(), loud.state_dict().values()):
        assert torch.equal(a, b)
    assert all(x != x for x in hq["test_acc"])  # nothing evaluated
    assert all(0 <= x <= 1 for x in hl["test_acc"][:-1]) and len(hl["test_per_class"][0]) == 10
    assert hl["test_per_class"][-1] == []  # the last epoch is the run's final evaluation (train_stage1)


def test_runs_record_test_accuracy_at_every_epoch(tmp_store):
    run = get_or_train(RunConfig(preset="smoke"), progress=False)
    h = run.metrics["history"]
    assert len(h["test_acc"]) == PRESETS["smoke"].epochs and all(0 <= a <= 1 for a in h["test_acc"])
    assert h["test_acc"][-1] == run.metrics["accuracy"] and h["test_per_class"][-1] == run.metrics["per_class"]
    assert run.metrics["threads"] == torch.get_num_threads()
    crt = get_or_train(RunConfig(preset="smoke", stage2="crt"), progress=False).metrics
    assert len(crt["history"]["test_acc"]) == PRESETS["smoke"].stage2_epochs
    assert crt["history"]["test_acc"][-1] == pytest.approx(crt["accuracy"])


def test_a_stage2_run_on_a_parent_that_is_only_recorded_trains_the_parent_into_the_store(tmp_path, monkeypatch, capsys):
    """A recording has no features or network: the stage-2 run's parent is trained into the run store (and says
    so), never read from the recording and never a FileNotFoundError (MARR at imb 200 stopped so)."""
    from ltnb import record

    parent = RunConfig(preset="smoke", seed=3)
    monkeypatch.setenv("LTNB_RECORDED", str(tmp_path / "recorded"))
    monkeypatch.setenv("LTNB_RUNS", str(tmp_path / "elsewhere"))
    record.export(get_or_train(parent, progress=False))
    monkeypatch.setenv("LTNB_RUNS", str(tmp_path / "store"))
    assert runs.load(parent).recorded
    child = dataclasses.replace(parent, stage2="crt")
    run = get_or_train(child)
    assert not run.recorded and (tmp_path / "store" / parent.key / "features.npz").is_file()
    assert "recorded without its network and features" in capsys.readouterr().out
    assert runs.load(parent).recorded is False  # the store's full run now wins over the recording


def test_derived_arrays_a_recording_lacks_train_the_run_into_the_store_unless_only_read(tmp_path, monkeypatch):
    """The claims read (derived.read: never trains); a chapter's plan fetches the runs it reads arrays of, and a
    recording without them comes back as the run trained into the store, whose files give them."""
    from ltnb import record
    from ltnb.chapters.door import OpenPlan
    from ltnb.runs import derived

    cfg = RunConfig(preset="smoke", seed=4)
    monkeypatch.setenv("LTNB_RECORDED", str(tmp_path / "recorded"))
    monkeypatch.setenv("LTNB_RUNS", str(tmp_path / "elsewhere"))
    record.export(get_or_train(cfg, progress=False))  # recorded without the angular arrays
    monkeypatch.setenv("LTNB_RUNS", str(tmp_path / "store"))
    run = runs.load(cfg)
    with pytest.raises(derived.NotRecorded, match=f"run {cfg.key} has no angular"):
        derived.read(run, "angular")  # the claims' path: never trains
    assert not (tmp_path / "store" / cfg.key).exists()
    plan = OpenPlan(device="cpu")
    plan.add("g", {"row": [cfg]}, derived={"row": ("angular",)})
    got = derived.read(plan.fetch("g")["row"][0], "angular")
    assert got["test_angular_logits"].shape[1] == 10 and (tmp_path / "store" / cfg.key / "features.npz").is_file()


def test_test_labels_of_a_recording_without_test_arrays_come_from_the_run_trained_for_them(tmp_path, monkeypatch):
    """LGLA's K = 2 run is recorded for Fig. 7 without test arrays; '-p experts 2' read its test labels straight
    off the recording and stopped (KeyError). A chapter that reads its features fetches the run trained for them."""
    from ltnb import record
    from ltnb.chapters.door import OpenPlan
    from ltnb.runs import derived

    cfg = RunConfig(preset="smoke", seed=5)
    monkeypatch.setenv("LTNB_RECORDED", str(tmp_path / "recorded"))
    monkeypatch.setenv("LTNB_RUNS", str(tmp_path / "elsewhere"))
    full = get_or_train(cfg, progress=False)
    record.export(full)  # no derived kinds: the recording keeps no test labels
    monkeypatch.setenv("LTNB_RUNS", str(tmp_path / "store"))
    run = runs.load(cfg)
    assert run.recorded and "test_labels" not in run.arrays
    with pytest.raises((derived.NotRecorded, FileNotFoundError, KeyError)):
        derived.test_labels(run)  # reading never trains
    plan = OpenPlan(device="cpu")
    plan.add("g", {"row": [cfg]}, derived={"row": ("features",)})
    fetched = plan.row("g", "row")[0]
    assert np.array_equal(derived.test_labels(fetched), full.arrays["test_labels"])
    assert (tmp_path / "store" / cfg.key / "features.npz").is_file()
    assert np.array_equal(derived.test_labels(full), full.arrays["test_labels"])  # a fresh run: its own


def test_a_chapter_announces_the_recorded_runs_it_trains_again(tmp_path, monkeypatch):
    """MARR at a factor whose CE backbone is only recorded: the box counts the backbone among what trains."""
    from ltnb import chapters, record

    monkeypatch.setenv("LTNB_RECORDED", str(tmp_path / "recorded"))
    monkeypatch.setenv("LTNB_RUNS", str(tmp_path / "elsewhere"))
    plan = chapters.plan_for("marr", "smoke", dataset="fmnist", imb=200)
    backbone = plan.groups["Table 2"].rows["Softmax (CE)"][0]
    record.export(get_or_train(backbone, progress=False))
    monkeypatch.setenv("LTNB_RUNS", str(tmp_path / "store"))
    assert backbone.key in [c.key for c in chapters.recorded_to_retrain(plan)]
    monkeypatch.setenv("LTNB_RUNS", str(tmp_path / "elsewhere"))  # the full run in the store: not trained again
    assert backbone.key not in [c.key for c in chapters.recorded_to_retrain(plan)]


def test_compile_policy(monkeypatch):
    """The CPU step compiles for runs long enough to repay compiling; asked-for modes and $LTNB_COMPILE win."""
    monkeypatch.delenv("LTNB_COMPILE", raising=False)
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert common.compile_mode(None, cpu, common.COMPILE_MIN_EPOCHS) == "default"
    assert common.compile_mode(None, cpu, common.COMPILE_MIN_EPOCHS - 1) == "off"
    assert common.compile_mode(None, cuda, 200) == "off"  # CUDA graphs instead
    assert common.compile_mode("off", cpu, 80) == "off"
    monkeypatch.setenv("LTNB_COMPILE", "off")
    assert common.compile_mode(None, cpu, 80) == "off"
    monkeypatch.setenv("LTNB_COMPILE", "fast")
    with pytest.raises(ValueError, match="LTNB_COMPILE='fast'"):
        common.compile_mode(None, cpu, 80)
    assert PRESETS["long"].epochs >= common.COMPILE_MIN_EPOCHS > PRESETS["cpu"].epochs


def test_compiled_step_matches_the_eager_step():
    """torch.compile's step against the eager one, fp32, within the bf16/fp32 test's tolerance: the same
    loss trajectory (inductor reorders float sums, so not bit for bit), and the same state-dict names, so a
    compiled run's checkpoint and network load into an eager one."""
    import dataclasses as dc

    lt = common.dataset("fmnist", 100)
    cfg = RunConfig(preset="smoke")
    p = dc.replace(PRESETS["smoke"], epochs=3, max_steps=4, eval_every=0, lr=0.02)
    me, he = stage1.fit(cfg, lt, p, "cpu", progress=False, fast=False, compile="off")
    mc, hc = stage1.fit(cfg, lt, p, "cpu", progress=False, fast=False, compile="default")
    assert (he["compile"], hc["compile"]) == ("off", "default")
    assert np.allclose(he["loss"], hc["loss"], rtol=0.05), (he["loss"], hc["loss"])
    assert list(mc.state_dict()) == list(me.state_dict())
