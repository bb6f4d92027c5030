"""Runs resume from their last complete epoch.

A run stopped after epoch k (alone, stacked, or a stage-2 run) and asked for again ends with the numbers of a run
never stopped, bit for bit: every tensor of its state dict, every array and the metrics with their per-epoch
history, timings aside. A checkpoint that does not match its key is refused. Ctrl-C, a deadline, SIGTERM and
submitit's pre-emption keep the last epoch; two GPU slices dry-run on the CPU pass a run from one to the next.
"""
import dataclasses
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from ltnb import presets, record, store
from ltnb.runs import train as runs
from ltnb.runs.train import RunConfig, get_or_train
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
    from ltnb.runs.parallel import train_many

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
    from ltnb.runs.parallel import train_many

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
    capfd.readouterr()
    monkeypatch.setattr(stage1, "train_step", ctrl_c_in_epoch_3)  # record's command line: one line, exit 130
    steps.clear()
    monkeypatch.setattr(record, "record", lambda *a, **k: get_or_train(few(seed=9), "cpu", False))
    assert record.main(["--preset", "smoke"]) == 130
    assert len([line for line in capfd.readouterr().err.splitlines() if "Interrupted" in line]) == 1


def _sigint_as_in_a_terminal():
    """A terminal's foreground job gets Ctrl-C; a shell's background job (``make test &``) starts with SIGINT ignored,
    which Python and the recorder honour, so the test sets the foreground disposition itself."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_during_make_record_with_workers_stops_them_and_says_how_to_resume(tmp_path):
    """A real SIGINT to the recorder's process group, as a terminal sends it, while a worker sits after epoch 1."""
    marker = tmp_path / "paused"
    env = {**os.environ, "LTNB_RUNS": str(tmp_path / "runs"), "LTNB_RECORDED": str(tmp_path / "rec"),
           "LTNB_PAUSE_AFTER_EPOCH": "1", "LTNB_PAUSE_MARKER": str(marker), "LTNB_PROGRESS": "0"}
    proc = subprocess.Popen([sys.executable, "-m", "ltnb.record", "--preset", "smoke", "--tiers", "1", "--workers", "2",
                             "--stack", "1"], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=_sigint_as_in_a_terminal)
    try:
        end = time.time() + 240
        while not marker.exists() and proc.poll() is None and time.time() < end:
            time.sleep(0.1)
        assert marker.exists(), proc.stderr.read() if proc.poll() is not None else "no worker reached epoch 1"
        os.killpg(proc.pid, signal.SIGINT)
        err = proc.communicate(timeout=120)[1]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err[-3000:]
    assert "Traceback" not in err and len([line for line in err.splitlines() if "Interrupted" in line]) == 1, err
    kept = checkpoint.pending(tmp_path / "runs")
    assert kept and all(meta["epoch"] >= 1 for meta in kept.values())


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


def test_a_submitit_job_preempted_mid_run_is_requeued_and_resumes_from_its_checkpoint(tmp_path, monkeypatch):
    """submitit's local executor: the job is sent the pre-emption signal (USR2, as its controller does at a timeout)
    after epoch 1; submitit asks it for its checkpoint, requeues it, and the requeued job finishes from epoch 1."""
    submitit = pytest.importorskip("submitit")
    from ltnb.runs.parallel import Requeueable

    marker = tmp_path / "paused"
    for k, v in {"LTNB_RUNS": tmp_path / "runs", "LTNB_RECORDED": tmp_path / "rec", "LTNB_PAUSE_AFTER_EPOCH": 1,
                 "LTNB_PAUSE_MARKER": marker}.items():
        monkeypatch.setenv(k, str(v))
    cfg = few(seed=11)
    ex = submitit.AutoExecutor(folder=tmp_path / "jobs", cluster="local")
    ex.update_parameters(timeout_min=10)
    job = ex.submit(Requeueable(record._train_one), cfg, (), "cpu", 1)
    end = time.time() + 240
    while not marker.exists() and not job.done() and time.time() < end:
        time.sleep(0.1)
    assert marker.exists(), job.stderr()
    os.kill(int(marker.read_text()), signal.SIGUSR2)  # the job's own process, at its pause after epoch 1
    assert job.result() == cfg.key
    assert "Requeued job" in job.stderr() or "Requeued job" in job.stdout()
    run = runs.load(cfg)
    assert run.metrics["resumed_at"] == [1] and run.metrics["history"]["epoch"] == [1, 2]
    assert checkpoint.pending() == {} and store.recorded_path(cfg).is_dir()


def test_two_gpu_slices_dry_run_on_the_cpu_the_first_stops_mid_run_and_the_second_finishes_it(tmp_path, monkeypatch):
    """tools/gpu_record.sh at the smoke preset stops its first run after epoch 1 (as its deadline would) and returns
    its checkpoint in an archive; a fresh machine unpacks it, and the next slice's recorder resumes the run."""
    out = tmp_path / "out"
    env = {**os.environ, "PRESET": "smoke", "OUT": str(out), "LTNB_RUNS": str(tmp_path / "gpu1"), "WORKERS": "1",
           "LTNB_RECORDED": str(tmp_path / "rec"), "LTNB_STOP_AFTER_EPOCH": "1", "CHECKPOINTS_IN": str(tmp_path),
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    r = subprocess.run(["bash", "tools/gpu_record.sh", "5", "1", "1"], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    assert "0 runs trained and recorded, 1 checkpointed to resume" in (out / "record.log").read_text()
    archive = out / "checkpoints-smoke.tar.gz"
    assert archive.is_file() and archive.stat().st_size < 16 * 2 ** 20 and "at epoch 1 of 2" in r.stdout
    # the next call: a fresh machine with the recordings and the archive (here: its Python parts, on one run)
    monkeypatch.setenv("LTNB_RUNS", str(tmp_path / "gpu2"))
    monkeypatch.setenv("LTNB_RECORDED", str(tmp_path / "rec"))
    (name,) = checkpoint.unpack([archive])
    cfg = RunConfig.from_dict(checkpoint.pending()[name]["configs"][0])
    item = next(it for it in record.book_items("smoke") if it.key == cfg.key)
    monkeypatch.setattr(record, "book_items", lambda *a, **k: [item])
    monkeypatch.setattr(record, "optional_items", lambda *a, **k: [])
    assert record.main(["--preset", "smoke", "--tiers", "1", "--minutes", "5", "--partial", "--stack", "1"]) == 0
    run = store.load(cfg)
    assert run.recorded is False and run.metrics["resumed_at"] == [1] and record.recorded(item)
    assert checkpoint.pending() == {}
    torch.set_num_threads(max(1, os.cpu_count() or 1))  # the recorder's threads in both slices (one worker)
    assert_same(get_or_train(cfg, "cpu", False, tmp_path / "whole", full=bool(item.kinds)), run)  # never stopped
