"""The run store keeps every run usable or says exactly what to do: corrupt files, stale temporary folders,
stores that cannot be written, two processes asking for one run, and the recordings."""
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from ltnb import record, store
from ltnb.runs.train import CorruptRun, RunConfig, get_or_train
from ltnb.store import StoreNotWritable

ROOT = Path(__file__).resolve().parents[1]
CFG = RunConfig(preset="smoke", seed=3)
STAGE2 = RunConfig(preset="smoke", seed=3, stage2="crt")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A stage-1 and a stage-2 smoke run, trained once; each test works on a copy."""
    root = tmp_path_factory.mktemp("trained")
    get_or_train(STAGE2, progress=False, root=root)
    return root


@pytest.fixture
def copy(trained, tmp_store):
    shutil.copytree(trained, tmp_store)
    return tmp_store


def truncate(path: Path, keep: float = 0.5):
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])


def test_interrupted_save_leaves_nothing(tmp_store, monkeypatch):
    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(store.np, "savez_compressed", boom)
    with pytest.raises(KeyboardInterrupt):
        store.save(CFG, {"accuracy": 0.5}, {"confusion": np.eye(2)})
    assert not (tmp_store / CFG.key).exists()
    assert [p.name for p in tmp_store.iterdir() if not p.name.startswith(".lock")] == []


@pytest.mark.parametrize("name", ["arrays.npz", "features.npz", "model.pt"])
def test_a_truncated_file_is_a_corrupt_run_with_the_command_to_retrain(copy, name):
    path = copy / CFG.key / name
    truncate(path)
    before = path.read_bytes()
    with pytest.raises(CorruptRun) as err:
        store.load(CFG)
    msg = str(err.value)
    assert str(copy / CFG.key) in msg and f"python -m ltnb.record --retrain {CFG.key}" in msg
    assert path.read_bytes() == before  # left untouched
    with pytest.raises(CorruptRun):  # get_or_train never hands back the broken run
        get_or_train(CFG, progress=False)


@pytest.mark.parametrize("name", ["features.npz", "model.pt", "metrics.json"])
def test_a_deleted_file_of_a_stored_run_is_named(copy, name):
    (copy / CFG.key / name).unlink()
    with pytest.raises(CorruptRun, match=f"missing {name}") as err:
        store.load(CFG)
    assert "recorded" not in str(err.value).split("(")[0]  # the user's store, not advice about recordings


@pytest.mark.parametrize("metrics, problem", [({}, "accuracy"), ({"accuracy": "high"}, "accuracy"), ([], "dictionary")])
def test_metrics_with_missing_keys_or_wrong_types_are_corrupt(copy, metrics, problem):
    (copy / CFG.key / "metrics.json").write_text(json.dumps(metrics))
    with pytest.raises(CorruptRun, match=problem):
        store.load(CFG)


def test_truncated_json_and_a_config_that_does_not_match_are_corrupt(copy):
    (copy / CFG.key / "metrics.json").write_text("{ truncated")
    with pytest.raises(CorruptRun, match="left untouched"):
        store.load(CFG)
    stored = json.loads((copy / STAGE2.key / "config.json").read_text())
    stored["kernel_version"] = -1
    (copy / STAGE2.key / "config.json").write_text(json.dumps(stored))
    with pytest.raises(CorruptRun, match="does not match"):
        store.load(STAGE2)


def test_retrain_moves_the_broken_run_aside_and_trains_it_again(copy):
    truncate(copy / CFG.key / "arrays.npz")
    r = subprocess.run([sys.executable, "-m", "ltnb.record", "--retrain", CFG.key], cwd=ROOT, capture_output=True,
                       text=True, env={**os.environ, "LTNB_RUNS": str(copy), "LTNB_PROGRESS": "0"})
    assert r.returncode == 0, r.stderr[-2000:]
    assert store.load(CFG) is not None
    aside = [p for p in copy.iterdir() if p.name.startswith(f"{CFG.key}.bad-")]
    assert len(aside) == 1 and (aside[0] / "arrays.npz").is_file()  # nothing stored is lost


def test_stale_temporary_folders_of_dead_processes_are_removed(tmp_store):
    tmp_store.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_store / f".tmp-{CFG.key}-{int(dead.stdout)}-abc"
    live = tmp_store / f".tmp-{CFG.key}-{os.getpid()}-abc"
    stale.mkdir()
    live.mkdir()
    assert store.clean_stale(tmp_store) == [stale]
    assert live.exists() and not stale.exists()


def test_a_store_that_cannot_take_a_run_fails_before_training(tmp_path, monkeypatch):
    a_file = tmp_path / "runs"
    a_file.write_text("not a folder")
    monkeypatch.setenv("LTNB_RUNS", str(a_file))
    with pytest.raises(StoreNotWritable, match="is a file"):
        get_or_train(RunConfig(preset="smoke", seed=9), progress=False)
    monkeypatch.setenv("LTNB_RUNS", str(tmp_path / "full"))
    monkeypatch.setattr(store.shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(10, 10, 1024))
    with pytest.raises(StoreNotWritable, match="MB free"):
        get_or_train(RunConfig(preset="smoke", seed=9), progress=False)

    def denied(*a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.undo()
    monkeypatch.setenv("LTNB_RUNS", str(tmp_path / "ro"))
    monkeypatch.setattr(store.tempfile, "NamedTemporaryFile", denied)
    with pytest.raises(StoreNotWritable, match="cannot be written"):
        get_or_train(RunConfig(preset="smoke", seed=9), progress=False)


SCRIPT = """
import sys, ltnb.runs.train as R
real = R.train
def counted(*a, **k):
    open(sys.argv[1], "a").write("trained\\n")
    return real(*a, **k)
R.train = counted
R.get_or_train(R.RunConfig(preset="smoke", seed=11), progress=False)
"""


def test_two_processes_asking_for_one_run_train_it_once(tmp_store, tmp_path):
    log = tmp_path / "log"
    env = {**os.environ, "LTNB_RUNS": str(tmp_store), "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen([sys.executable, "-c", SCRIPT, str(log)], cwd=ROOT, env=env) for _ in range(2)]
    assert [p.wait(timeout=300) for p in procs] == [0, 0]
    assert log.read_text().count("trained") == 1
    assert store.load(RunConfig(preset="smoke", seed=11)) is not None


def test_a_recording_is_small_loads_as_float32_and_is_checked(trained, tmp_path, monkeypatch):
    monkeypatch.setenv("LTNB_RUNS", str(trained))
    monkeypatch.setenv("LTNB_RECORDED", str(tmp_path / "rec"))
    run = store.load(CFG)
    path = record.export(run, kinds=("angular",))
    assert path == tmp_path / "rec" / "smoke" / CFG.key
    assert not (path / "model.pt").exists() and not (path / "features.npz").exists()
    monkeypatch.setenv("LTNB_RUNS", str(tmp_path / "empty"))  # now only the recording exists
    rec = store.load(CFG)
    assert rec.recorded and rec.metrics["accuracy"] == pytest.approx(run.metrics["accuracy"])
    assert rec.arrays["weight"].dtype == np.float32
    assert np.allclose(rec.arrays["weight"], run.arrays["weight"], atol=1e-2)
    with zipfile.ZipFile(path / "arrays.npz") as z:
        assert "test_logits.npy" not in z.namelist()
    with pytest.raises(FileNotFoundError, match="--retrain"):
        rec.features()
    assert record.check("smoke") == []
    truncate(path / "arrays.npz")
    with pytest.raises(CorruptRun, match="git checkout"):
        store.load(CFG)
    assert record.check("smoke") and str(path) in record.check("smoke")[0]


def test_a_recording_keeps_a_subset_of_training_features_when_a_figure_reads_them(trained, tmp_path, monkeypatch):
    """GCL's Figs. 1 and 3 draw training features beside test ones: the recording keeps the first 50 of each class."""
    from ltnb.runs import derived

    monkeypatch.setenv("LTNB_RUNS", str(trained))
    monkeypatch.setenv("LTNB_RECORDED", str(tmp_path / "rec"))
    run = store.load(CFG)
    full = run.features()
    path = record.export(run, kinds=("train_features",))
    monkeypatch.setenv("LTNB_RUNS", str(tmp_path / "empty"))
    rec = store.load(CFG)
    got = derived.read(rec, "train_features")
    idx, labels = got["train_feature_idx"], got["train_feature_labels"]
    assert np.array_equal(labels, full["train_labels"][idx])
    assert np.bincount(labels).max() <= 50 and set(labels) == set(full["train_labels"])
    assert np.allclose(got["train_features"], full["train"][idx], atol=2e-2 * np.abs(full["train"]).max())
    assert (path / "arrays.npz").stat().st_size < 200_000


def test_recording_a_run_again_for_one_chapter_keeps_the_arrays_another_chapter_reads(trained, tmp_path, monkeypatch):
    """Re-exporting a run with one call's kinds once dropped the derived arrays other chapters read (a book then
    trained the run again for them): a recording keeps what it had."""
    from ltnb.runs import derived

    monkeypatch.setenv("LTNB_RUNS", str(trained))
    monkeypatch.setenv("LTNB_RECORDED", str(tmp_path / "rec"))
    run = store.load(CFG)
    record.export(run, kinds=("angular",))
    record.export(run, kinds=("train_features",))
    monkeypatch.setenv("LTNB_RUNS", str(tmp_path / "empty"))
    rec = store.load(CFG)
    assert derived.stored(rec, "angular") is not None and derived.stored(rec, "train_features") is not None
