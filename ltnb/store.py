"""The run store: a run's files written atomically under its key, checked in full when read.

Two places hold runs: the user's store (``$LTNB_RUNS``, default ``.ltnb-runs/``: every file a run
makes, the network included) and the recordings kept with the repository (``$LTNB_RECORDED``,
default ``results/runs/<preset>/``: the small part the chapters read, see :mod:`ltnb.record`).
Both are checked against the config of their key before use; a run that fails a check raises
:class:`CorruptRun` with its path and the command that replaces it, and is never changed.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import json
import os
import shutil
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ltnb.config import RunConfig
from ltnb.paths import configured_dir


class CorruptRun(RuntimeError):
    """A stored run whose files cannot be used; it is left in place for the user to inspect."""


class StoreNotWritable(OSError):
    """The run store cannot take a new run: found before training, so no training is thrown away."""


def store_root(root=None) -> Path:
    """The run store: ``root``, else ``$LTNB_RUNS``, else ``.ltnb-runs/`` in the repository."""
    return configured_dir(root, "LTNB_RUNS", ".ltnb-runs")


def recorded_root(root=None) -> Path:
    """Recorded runs kept with the repository: ``root``, else ``$LTNB_RECORDED``, else ``results/runs``."""
    return configured_dir(root, "LTNB_RECORDED", "results/runs")


def recorded_path(cfg: RunConfig, root=None) -> Path:
    return recorded_root(root) / cfg.preset / cfg.key


def retrain_command(cfg: RunConfig) -> str:
    """The shell command that trains ``cfg`` again into the run store."""
    return f"python -m ltnb.record --retrain {cfg.key}"


@dataclass
class Run:
    config: RunConfig
    path: Path
    metrics: dict
    recorded: bool = False  # a recording: small files only, arrays in float16

    @functools.cached_property
    def arrays(self) -> dict[str, np.ndarray]:
        """The run's small arrays, read once (a stored run's files do not change)."""
        with np.load(self.path / "arrays.npz") as z:  # recordings keep float16: computed with as float32
            return {k: (z[k].astype(np.float32) if z[k].dtype == np.float16 else z[k]) for k in z.files}

    def _need(self, name: str) -> Path:
        path = self.path / name
        if not path.is_file():
            raise FileNotFoundError(
                f"the recorded run {self.path} has no {name}: recordings keep the small files the chapters read. "
                f"Train the config into your run store to get it: {retrain_command(self.config)}")
        return path

    def features(self) -> dict[str, np.ndarray]:
        with np.load(self._need("features.npz")) as z:
            return {k: (z[k].astype(np.float32) if z[k].dtype == np.float16 else z[k]) for k in z.files}

    def state_dict(self) -> dict:
        return torch.load(self._need("model.pt"), map_location="cpu", weights_only=True)


REQUIRED = ("config.json", "metrics.json", "arrays.npz")
METRIC_TYPES = {"accuracy": float, "per_class": list, "counts": list, "stage": int, "ece": float}
ARRAYS = ("confusion", "weight")  # every run has its confusion matrix and classifier weights


def _check_zip(path: Path) -> None:
    """An .npz or torch file is a zip archive: reading its directory finds a truncated or damaged file."""
    with zipfile.ZipFile(path) as z:
        bad = z.testzip() if path.stat().st_size < 2_000_000 else None  # CRCs of the small ones too
        if bad is not None:
            raise CorruptRun(f"{path.name}: member {bad} is damaged")


def _validate(cfg: RunConfig, path: Path, recorded: bool) -> dict:
    missing = [f for f in REQUIRED if not (path / f).is_file()]
    if not recorded and cfg.stage2 is None:
        missing += [f for f in ("features.npz", "model.pt") if not (path / f).is_file()]
    if missing:
        raise CorruptRun(f"missing {', '.join(missing)}")
    stored = json.loads((path / "config.json").read_text())
    if stored != json.loads(json.dumps(cfg.describe(), default=str)):
        raise CorruptRun("its config.json does not match the config of its key")
    metrics = json.loads((path / "metrics.json").read_text())
    if not isinstance(metrics, dict):
        raise CorruptRun("metrics.json does not hold a dictionary")
    wrong = [k for k, t in METRIC_TYPES.items()
             if not isinstance(metrics.get(k), t) and not (t is float and isinstance(metrics.get(k), int))]
    if cfg.stage2 is None and not isinstance(metrics.get("history"), dict):
        wrong.append("history")
    if wrong:
        raise CorruptRun(f"metrics.json lacks or has the wrong type for {wrong}")
    for name in ("arrays.npz", "features.npz", "model.pt"):
        if (path / name).is_file():
            _check_zip(path / name)
    with np.load(path / "arrays.npz") as z:
        absent = [k for k in ARRAYS if k not in z.files]
    if absent:
        raise CorruptRun(f"arrays.npz lacks {absent}")
    return metrics


def read_at(cfg: RunConfig, path: Path, recorded: bool = False) -> Run:
    """The run of ``cfg`` at ``path`` (the store's or the recordings' folder), checked in full: a bad file raises."""
    try:
        metrics = _validate(cfg, path, recorded)
    except (CorruptRun, ValueError, OSError, KeyError, EOFError, zipfile.BadZipFile) as err:
        if recorded:
            fix = (f"restore it (git checkout -- {path}) or hide the recordings and train it "
                   f"(LTNB_RECORDED=/nonexistent {retrain_command(cfg)})")
        else:
            fix = f"{retrain_command(cfg)} moves it aside to {path.name}.bad-<time> and trains it again"
        raise CorruptRun(f"the {'recorded' if recorded else 'stored'} run {path} cannot be used ({err}). It was "
                         f"left untouched: {fix}.") from err
    return Run(cfg, path, metrics, recorded)


def source(cfg: RunConfig, root=None) -> str | None:
    """Where ``cfg`` would be read from: ``"store"``, ``"recorded"``, or None (not there: it would train)."""
    if (store_root(root) / cfg.key).exists():
        return "store"
    if recorded_path(cfg).exists():
        return "recorded"
    return None


def exists(cfg: RunConfig, root=None) -> bool:
    return source(cfg, root) is not None


def load(cfg: RunConfig, root=None) -> Run | None:
    """The stored run of ``cfg``, else its recorded run (:func:`recorded_root`), else None.

    Both are checked against ``cfg`` in full (config, schedule, kernel version, every file they
    need): a run that fails raises :class:`CorruptRun`, and is never silently reused.
    """
    where = source(cfg, root)
    if where == "store":
        return read_at(cfg, store_root(root) / cfg.key)
    if where == "recorded":
        return read_at(cfg, recorded_path(cfg), recorded=True)
    return None


def trained_on(cfgs) -> str:
    """Where the runs of ``cfgs`` that exist were trained, e.g. ``cuda`` or ``cpu (1 thread)``."""
    seen = set()
    for cfg in cfgs:
        run = load(cfg)
        if run is not None:
            dev, threads = run.metrics.get("device", "?"), run.metrics.get("threads")
            seen.add(f"{dev} ({threads} thread{'s' if threads != 1 else ''})" if threads else str(dev))
    return ", ".join(sorted(seen))


def check_writable(root=None) -> Path:
    """Raise :class:`StoreNotWritable` unless a run can be written into the store (before anything trains)."""
    root = store_root(root)
    if root.exists() and not root.is_dir():
        raise StoreNotWritable(f"the run store {root} is a file, not a folder: point $LTNB_RUNS at a folder")
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=root, prefix=".probe-"):
            pass
    except OSError as err:
        raise StoreNotWritable(f"the run store {root} cannot be written ({err.strerror or err}): fix its "
                               f"permissions or point $LTNB_RUNS at a writable folder") from err
    free = shutil.disk_usage(root).free
    if free < 50 * 2 ** 20:
        raise StoreNotWritable(f"the run store {root} has {free / 2 ** 20:.0f} MB free; a run needs up to 50 MB: "
                               f"free some space or point $LTNB_RUNS elsewhere")
    return root


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(root=None, older_than: float = 3600.0) -> list[Path]:
    """Remove temporary folders of saves that never finished (their process is gone) and lock files no process
    holds (left by a process killed outright); returns them."""
    root = store_root(root)
    removed = []
    for path in root.glob(".lock-*") if root.is_dir() else []:
        f = _lock(path, blocking=False)  # held: in use, left alone
        if f is not None:
            _unlock(f, path)
            removed.append(path)
    for tmp in root.glob(".tmp-*") if root.is_dir() else []:
        parts = tmp.name.split("-")  # .tmp-<key>-<pid>-<random>
        pid = int(parts[2]) if len(parts) >= 4 and parts[2].isdigit() else None
        dead = (not _pid_alive(pid)) if pid is not None else time.time() - tmp.stat().st_mtime > older_than
        if dead and tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
            removed.append(tmp)
    return removed


def _lock(path: Path, blocking: bool = True, waiting=None):
    """The open file ``path``, locked; None if ``blocking`` is False and another process holds it.

    The holder unlinks the file before it lets go, so a process that waited on it may hold a file no longer on
    disk: it checks that the file it locked is the one at ``path`` (or locks the new one), so one process
    at a time holds the key's lock however the files come and go. ``waiting(pid)`` is called once before waiting.
    """
    while True:
        f = open(path, "a+")
        try:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if not blocking:
                    f.close()
                    return None
                if waiting is not None:
                    f.seek(0)
                    waiting(f.read().strip() or "?")
                    waiting = None
                fcntl.flock(f, fcntl.LOCK_EX)  # released when the holder ends, however it ends
            on_disk = os.stat(path)
        except FileNotFoundError:  # unlinked by the holder after this one opened it
            f.close()
            continue
        except BaseException:
            f.close()
            raise
        mine = os.fstat(f.fileno())
        if (mine.st_dev, mine.st_ino) == (on_disk.st_dev, on_disk.st_ino):
            return f
        f.close()  # the file locked was the last holder's, unlinked since: lock the one on disk


def _unlock(f, path: Path) -> None:
    """Remove the lock file while holding it (waiters on it then lock the next one), then let go."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    fcntl.flock(f, fcntl.LOCK_UN)
    f.close()


@contextlib.contextmanager
def training_lock(cfg: RunConfig, root=None):
    """Hold ``cfg``'s lock while it trains: a second process asking for the same key waits, then reads it.

    The lock file ``.lock-KEY`` holds the holder's process id, for the message a waiting process prints, and
    goes when the holder lets go (a process killed outright leaves it; the next one to lock it removes it)."""
    root = check_writable(root)
    path = root / f".lock-{cfg.key}"

    def waiting(pid):
        print(f"{cfg.label} ({cfg.key}) is being trained by process {pid}, which holds {path}: waiting for it to "
              f"finish, then reading its run. If that process is stuck, stop it (kill {pid}) and this one trains "
              f"the run.", file=sys.stderr, flush=True)

    f = _lock(path, waiting=waiting)
    try:
        f.seek(0)
        f.truncate()
        f.write(f"{os.getpid()}\n")
        f.flush()
        yield
    finally:
        _unlock(f, path)


def save(cfg: RunConfig, metrics: dict, arrays: dict, features: dict | None = None,
         state_dict: dict | None = None, root=None) -> Run:
    """Write every file into a temporary folder, then rename it into place in one step."""
    root = check_writable(root)
    clean_stale(root)
    final = root / cfg.key
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{cfg.key}-{os.getpid()}-", dir=root))
    try:
        (tmp / "config.json").write_text(json.dumps(cfg.describe(), indent=1, default=str))
        (tmp / "metrics.json").write_text(json.dumps(metrics, indent=1, default=float))
        np.savez_compressed(tmp / "arrays.npz", **arrays)
        if features is not None:
            np.savez_compressed(tmp / "features.npz", **features)
        if state_dict is not None:
            torch.save(state_dict, tmp / "model.pt")
        try:
            os.rename(tmp, final)
        except OSError as err:
            if err.errno not in (errno.EEXIST, errno.ENOTEMPTY) or not final.exists():
                raise
            shutil.rmtree(tmp)  # another process stored the same run first: keep theirs
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return read_at(cfg, final)
