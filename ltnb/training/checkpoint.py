"""Checkpoints: a run, or a stack of runs, saved at an epoch boundary in the run store and resumed bit for bit.

A trainer given a :class:`Checkpoint` writes, at the end of an epoch (every epoch, unless writing would take more
than :data:`SHARE` of the training time), everything the next epoch reads: the network, the optimiser, the schedule
position, every random generator it draws from (torch's, numpy's and python's global ones, its own
``torch.Generator`` s, CUDA's where it runs) and the per-epoch history and statistics. The file
is ``$LTNB_RUNS/.checkpoints/<key>.pt`` (``stack-<hash>.pt`` for a stack), with a small ``.json`` beside it
saying which runs and epoch it holds; both are replaced in one rename. A run asked for again loads it and
continues from the next epoch; on the same machine and thread count its numbers equal an uninterrupted run's.
``ltnb.runs.train.get_or_train`` removes the checkpoint once the run is stored. Ctrl-C leaves the last one and says so
(:func:`reporting`).

A trainer stops at an epoch boundary, its checkpoint written, and raises :class:`Stopped` when
``$LTNB_DEADLINE`` (unix seconds) would pass during the next epoch, on SIGTERM (:func:`stop_on_sigterm`), or
after epoch ``$LTNB_STOP_AFTER_EPOCH`` (a test hook). ``python -m ltnb.training.checkpoint pack|unpack`` moves
checkpoints between machines (the GPU slices).
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import random
import signal
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from ltnb.config import KERNEL_VERSION, RunConfig
from ltnb.store import CorruptRun, source, store_root

FORMAT = 1
FOLDER = ".checkpoints"
PART_BYTES = 15 * 2 ** 20  # an archive part: under the 16 MiB a GPU call returns per file
# At most this share of the training time goes to writing checkpoints: an epoch boundary is skipped when the last
# write was less than 1 / SHARE times its own duration ago (on the CPU every epoch is written; a 0.5 s GPU epoch
# about every other). Stopping (a deadline, SIGTERM) always writes.
SHARE = 0.02
STOP: dict = {"signal": None}  # set by stop_on_sigterm's handler


class CheckpointMismatch(CorruptRun):
    """A checkpoint that does not belong to the runs asked for (config, kernel version) or cannot be read."""


class Stopped(RuntimeError):
    """A run that kept its checkpoint at an epoch boundary and stopped (a deadline, a signal): ask for it again."""


def folder(root=None) -> Path:
    return store_root(root) / FOLDER


def ident(cfgs) -> str:
    """A lone run's checkpoint is named by its key, a stack's by its members' keys in stack order."""
    keys = [c.key for c in cfgs]
    return keys[0] if len(keys) == 1 else "stack-" + hashlib.sha256(",".join(keys).encode()).hexdigest()[:16]


def _described(cfg: RunConfig):
    return json.loads(json.dumps(cfg.describe(), default=str))


def _cpu(obj):
    """``obj`` with every tensor on the CPU (lists, tuples and dicts walked)."""
    if torch.is_tensor(obj):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: _cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_cpu(v) for v in obj)
    return obj


class Checkpoint:
    """The checkpoint of ``cfgs`` (one run, or a stack in stack order) of trainer ``kind`` in the run store."""

    def __init__(self, cfgs, kind: str, root=None):
        self.cfgs, self.kind, self.root = list(cfgs), kind, root
        self.id = ident(self.cfgs)
        self.path = folder(root) / f"{self.id}.pt"
        self.meta_path = self.path.with_suffix(".json")
        self.epoch = 0  # the last epoch written or loaded
        self.epochs = None
        self.resumed_at: list[int] = []  # the epochs this run was resumed after (the metrics' ``resumed_at``)
        self.prior_seconds = 0.0
        self.written = (0.0, 0.0)  # when the last write ended, and how long it took

    @property
    def what(self) -> str:
        c = self.cfgs[0]
        runs = c.label if len(self.cfgs) == 1 else f"{len(self.cfgs)} stacked runs"
        return f"{runs} ({c.dataset} imb {c.imb:g}, seed {c.seed}, preset {c.preset})"

    def _refuse(self, why: str):
        return CheckpointMismatch(f"the checkpoint {self.path} cannot be used: {why}. It was left untouched: move "
                                  f"it aside (mv {self.path} {self.path}.bad) to train {self.what} from epoch 0.")

    def load(self) -> dict | None:
        """The saved state, checked against the runs asked for; None when there is no checkpoint."""
        if not self.path.is_file():
            return None
        try:
            state = torch.load(self.path, map_location="cpu", weights_only=True)
            meta = state["meta"]
        except Exception as err:  # truncated, damaged, not ours
            raise self._refuse(f"it cannot be read ({type(err).__name__}: {err})") from err
        if meta.get("format") != FORMAT or meta.get("kind") != self.kind:
            raise self._refuse(f"it holds a {meta.get('kind')!r} checkpoint (format {meta.get('format')}), "
                               f"not a {self.kind!r} one (format {FORMAT})")
        if meta.get("kernel_version") != KERNEL_VERSION:
            raise self._refuse(f"it was written by kernel version {meta.get('kernel_version')}, this code is "
                               f"version {KERNEL_VERSION}")
        if meta.get("keys") != [c.key for c in self.cfgs] or meta.get("configs") != [_described(c) for c in self.cfgs]:
            raise self._refuse("its config does not match the config of its key")
        self.epoch, self.epochs = int(meta["epoch"]), int(meta["epochs"])
        self.resumed_at = [int(e) for e in state.get("resumed_at", [])] + [self.epoch]
        self.prior_seconds = float(state.get("elapsed", 0.0))  # trained before this process
        return state

    def save(self, state: dict, epoch: int, epochs: int) -> None:
        """Write ``state`` after ``epoch`` of ``epochs`` in one rename (a half-written file is never seen)."""
        meta = {"format": FORMAT, "kind": self.kind, "keys": [c.key for c in self.cfgs], "epoch": int(epoch),
                "epochs": int(epochs), "configs": [_described(c) for c in self.cfgs],
                "kernel_version": KERNEL_VERSION, "labels": [c.label for c in self.cfgs]}
        t = time.time()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for stale in self.path.parent.glob(f".tmp-{self.id}-*"):  # a write killed half way (one trainer a key)
            with contextlib.suppress(OSError):
                stale.unlink()
        state = {**_cpu(state), "meta": meta, "resumed_at": self.resumed_at}
        for target, write in ((self.path, lambda f: torch.save(state, f)),
                              (self.meta_path, lambda f: f.write(json.dumps(meta, indent=1).encode()))):
            fd, tmp = tempfile.mkstemp(prefix=f".tmp-{self.id}-", dir=self.path.parent)
            try:
                with os.fdopen(fd, "wb") as f:
                    write(f)
                os.replace(tmp, target)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        self.epoch, self.epochs = int(epoch), int(epochs)
        self.written = (time.time(), time.time() - t)

    def due(self) -> bool:
        """Whether writing now keeps checkpoints within :data:`SHARE` of the training time."""
        end, took = self.written
        return time.time() - end >= took / SHARE

    def remove(self) -> None:
        for p in (self.path, self.meta_path):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()

    def kept(self) -> str:
        """What the store holds of these runs now, in words."""
        if not self.path.is_file():
            return f"{self.what} had no complete epoch yet: nothing kept"
        if self.epochs is None:  # not loaded yet in this process: its .json says
            with contextlib.suppress(OSError, ValueError, KeyError):
                meta = json.loads(self.meta_path.read_text())
                self.epoch, self.epochs = meta["epoch"], meta["epochs"]
        return f"{self.what} kept at epoch {self.epoch} of {self.epochs} in {self.path}"


# ------------------------------------------------------------------ random generators

def rng_state(gens=()) -> dict:
    """Every random generator a trainer may draw from: the global ones, CUDA's, and its own ``gens``."""
    name, keys, pos, gauss, cached = np.random.get_state()
    out = {"torch": torch.get_rng_state(), "numpy": [name, torch.from_numpy(keys.astype(np.int64)), pos, gauss, cached],
           "python": random.getstate(), "gens": [g.get_state() for g in gens]}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        out["cuda"] = torch.cuda.get_rng_state_all()
    return out


def set_rng_state(state: dict, gens=()) -> None:
    torch.set_rng_state(state["torch"])
    name, keys, pos, gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), int(pos), int(gauss), float(cached)))
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))
    for g, s in zip(gens, state["gens"]):
        g.set_state(s)
    if state.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def load_optimizer(opt: torch.optim.Optimizer, saved: dict) -> None:
    """``opt.load_state_dict`` that keeps a learning rate living on the device (fused SGD, CUDA graphs) and each
    momentum buffer in its parameter's memory layout (channels-last)."""
    lrs = [g["lr"] for g in opt.param_groups]
    opt.load_state_dict(saved)
    for g, lr in zip(opt.param_groups, lrs):
        if torch.is_tensor(lr):
            lr.fill_(float(g["lr"]))
            g["lr"] = lr
    for p, st in opt.state.items():
        buf = st.get("momentum_buffer")
        if torch.is_tensor(buf):
            st["momentum_buffer"] = torch.empty_like(p).copy_(buf)


# ------------------------------------------------------------------ when to write and when to stop

def stop_reason(epoch: int, epochs: int, epoch_seconds: float) -> str | None:
    """Why a run should stop after ``epoch`` (None: go on). The deadline leaves the next epoch half again its time."""
    if epoch >= epochs:
        return None
    if STOP["signal"]:
        return f"{STOP['signal']} received"
    deadline = os.environ.get("LTNB_DEADLINE")
    if deadline and time.time() + 1.5 * epoch_seconds + 5 > float(deadline):
        return "its deadline ($LTNB_DEADLINE) would pass during the next epoch"
    after = os.environ.get("LTNB_STOP_AFTER_EPOCH")
    if after and epoch >= int(after):
        return f"$LTNB_STOP_AFTER_EPOCH={after}"
    return None


HOOKS: list = []  # tests: called with (checkpoint, epoch) right after a boundary's checkpoint is written


def _pausing(epoch: int) -> bool:
    """Test hook ``$LTNB_PAUSE_AFTER_EPOCH``: whether this boundary pauses (once per ``$LTNB_PAUSE_MARKER`` file)."""
    marker = os.environ.get("LTNB_PAUSE_MARKER")
    return bool(marker) and os.environ.get("LTNB_PAUSE_AFTER_EPOCH") == str(epoch) and not Path(marker).exists()


def _pause() -> None:
    """Write this process's pid into ``$LTNB_PAUSE_MARKER`` and wait (at most 10 minutes) for a signal, so a test can
    pre-empt a run at a known epoch, its checkpoint written."""
    Path(os.environ["LTNB_PAUSE_MARKER"]).write_text(str(os.getpid()))
    end = time.time() + 600
    while time.time() < end:
        time.sleep(0.05)


def boundary(ck: Checkpoint | None, epoch: int, epochs: int, epoch_seconds: float, snapshot) -> None:
    """End of ``epoch``: write ``snapshot()`` into ``ck`` when due (never after the last epoch: the run is stored
    next), then stop if asked to (:func:`stop_reason`), raising :class:`Stopped`."""
    if ck is None or epoch >= epochs:
        return
    reason, pause = stop_reason(epoch, epochs, epoch_seconds), _pausing(epoch)
    if reason or pause or HOOKS or ck.due():
        ck.save(snapshot(), epoch, epochs)
    for hook in HOOKS:
        hook(ck, epoch)
    if pause:
        _pause()
    if reason:
        raise Stopped(f"stopped ({reason}): {ck.kept()}; ask for it again (the same command) to resume")


@contextlib.contextmanager
def reporting(ck: Checkpoint | None):
    """Ctrl-C inside a trainer: one line saying what was kept and how to resume, then the interrupt goes on
    (marked ``reported``, so a caller does not say it again)."""
    try:
        yield
    except KeyboardInterrupt as err:
        if ck is not None and not getattr(err, "reported", False):
            err.reported = True
            print(f"\nInterrupted: {ck.kept()}. Run the same command again to resume it.",
                  file=sys.__stderr__ or sys.stderr, flush=True)
        raise


@contextlib.contextmanager
def deadline(when: float | None):
    """While inside, ``$LTNB_DEADLINE`` is ``when`` (unix seconds; None: left as it is): every trainer started
    here or in a process spawned here stops at its last epoch boundary before it, with its checkpoint."""
    old = os.environ.get("LTNB_DEADLINE")
    if when is not None:
        os.environ["LTNB_DEADLINE"] = str(when)
    try:
        yield
    finally:
        if when is not None:
            os.environ.pop("LTNB_DEADLINE") if old is None else os.environ.update(LTNB_DEADLINE=old)


@contextlib.contextmanager
def stop_on_sigterm():
    """While inside, SIGTERM makes a trainer stop at its next epoch boundary with its checkpoint (main thread only)."""
    def request(signum, frame):
        STOP["signal"] = signal.Signals(signum).name

    old = signal.signal(signal.SIGTERM, request)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def progress(cfgs, root=None) -> float:
    """The fraction of ``cfgs``' epochs their checkpoint holds (0 without one): what a budget need not count."""
    try:
        meta = json.loads((folder(root) / f"{ident(cfgs)}.json").read_text())
        return min(1.0, meta["epoch"] / max(meta["epochs"], 1)) if meta["keys"] == [c.key for c in cfgs] else 0.0
    except (OSError, ValueError, KeyError, TypeError):
        return 0.0


def pending(root=None) -> dict[str, dict]:
    """Every checkpoint in the store, by its name: its ``.json`` (keys, epoch, epochs, labels)."""
    out = {}
    for meta_path in sorted(folder(root).glob("*.json")) if folder(root).is_dir() else []:
        with contextlib.suppress(OSError, ValueError):
            out[meta_path.stem] = json.loads(meta_path.read_text())
    return out


# ------------------------------------------------------------------ moving checkpoints between machines

def pack(out: Path, name: str, preset: str | None = None, root=None) -> list[Path]:
    """Every checkpoint of ``preset`` whose runs are not stored or recorded yet, as ``name.tar.gz`` in ``out``
    (cut into ``name.tar.gz.000``, ``.001``... when over :data:`PART_BYTES`); prints what each holds."""
    buf = io.BytesIO()
    n = 0
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for ident_, meta in pending(root).items():
            cfg_preset = meta["configs"][0]["preset"]
            pt = folder(root) / f"{ident_}.pt"
            if (preset and cfg_preset != preset) or not pt.is_file():
                continue
            done = all(source(RunConfig.from_dict(d), root) for d in meta["configs"])
            if done:
                continue
            for p in (pt, pt.with_suffix(".json")):
                tar.add(p, arcname=f"{FOLDER}/{p.name}")
            n += 1
            print(f"checkpoint {ident_}: {', '.join(meta['labels'])} at epoch {meta['epoch']} of {meta['epochs']}, "
                  f"{pt.stat().st_size / 2 ** 20:.1f} MiB")
    if not n:
        print("no checkpoints of unfinished runs to pack")
        return []
    data, out = buf.getvalue(), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    chunks = [data[i:i + PART_BYTES] for i in range(0, len(data), PART_BYTES)]
    paths = ([out / f"{name}.tar.gz"] if len(chunks) == 1 else
             [out / f"{name}.tar.gz.{i:03d}" for i in range(len(chunks))])
    for p, chunk in zip(paths, chunks):
        p.write_bytes(chunk)
    print(f"{n} checkpoints in {len(paths)} file(s), {len(data) / 2 ** 20:.1f} MiB: {' '.join(p.name for p in paths)}")
    return paths


def unpack(paths, root=None) -> list[str]:
    """Put the checkpoints of an archive from :func:`pack` (its parts in any order) into the run store."""
    parts = sorted(Path(p) for p in paths)
    if not parts:
        return []
    with tarfile.open(fileobj=io.BytesIO(b"".join(p.read_bytes() for p in parts)), mode="r:gz") as tar:
        members = [m for m in tar.getmembers() if m.isfile() and m.name.startswith(f"{FOLDER}/")
                   and "/" not in m.name[len(FOLDER) + 1:] and m.name.endswith((".pt", ".json"))]
        folder(root).mkdir(parents=True, exist_ok=True)
        for m in members:
            target = folder(root) / Path(m.name).name
            target.write_bytes(tar.extractfile(m).read())
    names = sorted({Path(m.name).stem for m in members})
    print(f"{len(names)} checkpoints unpacked into {folder(root)}")
    return names


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m ltnb.training.checkpoint", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pack", help="archive the store's checkpoints of unfinished runs")
    p.add_argument("out")
    p.add_argument("--name", default="checkpoints")
    p.add_argument("--preset", default=None)
    u = sub.add_parser("unpack", help="put an archive's checkpoints into the store")
    u.add_argument("files", nargs="*")
    a = ap.parse_args(argv)
    if a.cmd == "pack":
        pack(Path(a.out), a.name, a.preset)
    else:
        unpack(a.files)
    return 0


if __name__ == "__main__":
    sys.exit(main())
