"""Every command a message suggests does what the message says: each case that prints one (a recorded run without
its features, a corrupt stored run, a corrupt recording, a process waiting on a stuck lock), then the command it
printed, run as a user would; and record's --show, --check and --retrain report a corrupt run in one message."""
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ltnb import record, store
from ltnb.runs.train import CorruptRun, RunConfig, get_or_train

ROOT = Path(__file__).resolve().parents[1]
CFG = RunConfig(preset="smoke")  # CE at the smoke preset: a run of the book's plans (the baselines chapter)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("trained")
    get_or_train(CFG, progress=False, root=root)
    return root


@pytest.fixture
def dirs(trained, tmp_path, monkeypatch):
    """A run store holding CFG's run (a copy) and an empty recordings folder."""
    runs, rec = tmp_path / "runs", tmp_path / "rec"
    shutil.copytree(trained, runs)
    monkeypatch.setenv("LTNB_RUNS", str(runs))
    monkeypatch.setenv("LTNB_RECORDED", str(rec))
    monkeypatch.setenv("LTNB_PROGRESS", "0")
    return runs, rec


def suggested(message: str):
    """The ``python -m ltnb.record`` command a message suggests, as argv for this interpreter and its variables."""
    m = re.search(r"((?:[A-Z_]+=\S+ )*)python -m ltnb\.record (--\w+) (\w+)", message)
    assert m, f"no command in: {message}"
    return [sys.executable, "-m", "ltnb.record", m.group(2), m.group(3)], dict(v.split("=", 1) for v in m.group(1).split())


def run(argv, **env):
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, env={**os.environ, **env})


def cli(*args, **env):
    return run([sys.executable, "-m", "ltnb.record", *args], **env)


def truncate(path: Path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def test_a_recorded_run_without_its_features_is_trained_by_the_command_its_error_names(dirs):
    runs, rec = dirs
    record.export(store.load(CFG))
    shutil.rmtree(runs)  # only the recording is left, as in a fresh clone
    recording = store.load(CFG)
    assert recording.recorded
    with pytest.raises(FileNotFoundError) as err:
        recording.features()
    argv, env = suggested(str(err.value))
    assert argv[3:] == ["--retrain", CFG.key] and env == {}
    r = run(argv, **env)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "is recorded without its network and features" in r.stdout  # it says what it does
    assert r.stdout.strip().splitlines()[-1] == str(runs / CFG.key)
    stored = store.load(CFG)
    assert not stored.recorded and stored.path == runs / CFG.key and stored.features()  # what the error asked for
    assert (rec / "smoke" / CFG.key).is_dir()  # the recording is kept


def test_a_corrupt_stored_run_is_reported_in_one_message_and_its_command_replaces_it(dirs):
    runs, _ = dirs
    truncate(runs / CFG.key / "arrays.npz")
    with pytest.raises(CorruptRun) as err:
        store.load(CFG)
    message = str(err.value)
    r = cli("--show", CFG.key)
    assert (r.returncode, r.stdout, r.stderr) == (1, "", message + "\n")  # the message alone: no traceback
    argv, env = suggested(message)
    r = run(argv, **env)
    assert r.returncode == 0, r.stderr[-2000:]
    assert store.load(CFG).metrics["accuracy"] >= 0  # trained again, and it loads
    aside = [p for p in runs.iterdir() if p.name.startswith(f"{CFG.key}.bad-")]
    assert len(aside) == 1 and (aside[0] / "arrays.npz").is_file()  # the broken run kept, as the message said
    assert f"moved {runs / CFG.key} to {aside[0]}" in r.stdout


def test_a_corrupt_recording_is_reported_by_show_check_and_retrain_and_its_command_trains_it(dirs):
    runs, rec = dirs
    path = record.export(store.load(CFG))
    shutil.rmtree(runs)
    truncate(path / "arrays.npz")
    broken = (path / "arrays.npz").read_bytes()
    with pytest.raises(CorruptRun) as err:
        store.load(CFG)
    message = str(err.value)
    assert f"git checkout -- {path}" in message
    for args in (("--show", CFG.key), ("--retrain", CFG.key)):
        r = cli(*args)
        assert (r.returncode, r.stderr) == (1, message + "\n"), r.stderr[-2000:]
    r = cli("--check", "--preset", "smoke")
    assert r.returncode == 1 and r.stdout == message + "\n" and "Traceback" not in r.stderr
    argv, env = suggested(message)
    assert env == {"LTNB_RECORDED": "/nonexistent"}
    r = run(argv, **env)
    assert r.returncode == 0, r.stderr[-2000:]
    assert not store.load(CFG).recorded  # the store's run is read first from now on
    assert (path / "arrays.npz").read_bytes() == broken  # the recording is left for git to restore


def test_show_counts_threads_in_english(dirs):
    runs, _ = dirs
    metrics = json.loads((runs / CFG.key / "metrics.json").read_text())
    (runs / CFG.key / "metrics.json").write_text(json.dumps({**metrics, "threads": 1}))
    assert f"trained on {metrics['device']} (1 thread) in " in record.show(CFG.key)


HOLD = """
import sys, time
from ltnb import store
from ltnb.runs.train import RunConfig
with store.training_lock(RunConfig(preset="smoke", seed=13)):
    print("holding", flush=True)
    time.sleep(600)
"""
WAIT = "from ltnb.runs.train import RunConfig, get_or_train; get_or_train(RunConfig(preset='smoke', seed=13), progress=False)"


def test_a_process_waiting_on_a_stuck_lock_names_it_and_the_command_to_stop_it_works(tmp_store, tmp_path):
    cfg = RunConfig(preset="smoke", seed=13)
    env = {**os.environ, "LTNB_RUNS": str(tmp_store), "OMP_NUM_THREADS": "1"}
    holder = subprocess.Popen([sys.executable, "-c", HOLD], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        log = tmp_path / "waiter.log"
        with open(log, "w") as err:
            waiter = subprocess.Popen([sys.executable, "-c", WAIT], cwd=ROOT, env=env, stderr=err)
        deadline = time.monotonic() + 120
        while "waiting for it" not in log.read_text() and waiter.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        message = log.read_text()
        assert f"is being trained by process {holder.pid}, which holds {tmp_store / f'.lock-{cfg.key}'}" in message
        command = re.search(r"\(kill (\d+)\)", message)
        assert command and int(command.group(1)) == holder.pid
        subprocess.run(shlex.split(f"kill {command.group(1)}"), check=True)  # the command, as printed
        assert waiter.wait(timeout=300) == 0  # ...after which this one trains the run, as the message says
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.wait()
    assert store.load(cfg) is not None
    assert not list(tmp_store.glob(".lock-*"))  # the lock the killed holder left went with the run stored


def test_lock_files_go_once_a_run_is_stored_and_stale_ones_are_cleaned(tmp_store):
    cfg = RunConfig(preset="smoke", seed=14)
    get_or_train(cfg, progress=False)
    assert not list(tmp_store.glob(".lock-*"))
    stale = tmp_store / ".lock-0123456789abcdef"
    stale.write_text("4194304\n")  # left by a process killed outright: nobody holds it
    with store.training_lock(RunConfig(preset="smoke", seed=15)):  # held: in use, left alone
        held = tmp_store / f".lock-{RunConfig(preset='smoke', seed=15).key}"
        assert held.read_text() == f"{os.getpid()}\n"
        assert store.clean_stale(tmp_store) == [stale]
        assert held.exists() and not stale.exists()
    assert not held.exists()


def test_a_waiter_on_a_lock_file_unlinked_since_locks_the_one_on_disk(tmp_path):
    path = tmp_path / ".lock-k"
    first = store._lock(path)
    got = []
    waiter = threading.Thread(target=lambda: got.append(store._lock(path)))
    waiter.start()
    time.sleep(0.3)  # the waiter opened the first holder's file and waits on it
    store._unlock(first, path)  # unlinked while held, then let go: the waiter wakes on a file no longer on disk
    waiter.join(10)
    second = got[0]
    assert os.fstat(second.fileno()).st_ino == os.stat(path).st_ino  # it holds the file on disk, not the old one
    assert store._lock(path, blocking=False) is None  # and holds it alone
    store._unlock(second, path)
    assert not path.exists()
