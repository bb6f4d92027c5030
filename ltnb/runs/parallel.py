"""Several independent runs at once: seeds and sweeps are many small runs that one GPU can hold together."""
from __future__ import annotations

import json
import math
import multiprocessing as mp
import os
import signal
import sys
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ltnb.paths import repo_root
from ltnb.presets import resolve_device
from ltnb.runs import train as runs
from ltnb.training import checkpoint
from ltnb.training.checkpoint import Checkpoint
from ltnb.training.stacked import groups, train_stacked

try:  # optional (the cluster executors)
    from submitit.helpers import Checkpointable
except ImportError:
    Checkpointable = object


class Requeueable(Checkpointable):
    """``fn`` as a submitit job: pre-empted or timed out, submitit requeues it (``Checkpointable.checkpoint``: the
    same call again), and a run it was training resumes from its checkpoint in the run store."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, *args, **kwargs):
        return self.fn(*args, **kwargs)


def _train_one(args):
    cfg, device, threads = args
    torch.set_num_threads(threads)
    runs.get_or_train(cfg, device=device, progress=False)
    return cfg.key


def quiet_worker() -> None:
    """A worker process ignores Ctrl-C: its parent stops it (its run keeps its last checkpoint) and says so once."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def interrupted(err: KeyboardInterrupt) -> None:
    """One line after Ctrl-C (unless a trainer in this process said it): what was kept and how to resume."""
    if not getattr(err, "reported", False):
        err.reported = True
        kept = checkpoint.pending()
        print(f"\nInterrupted: {len(kept)} unfinished run(s) keep their last complete epoch in {checkpoint.folder()}; "
              f"run the same command again to resume.", file=sys.__stderr__ or sys.stderr, flush=True)


def default_stack(device) -> int:
    """How many compatible runs train as one network: 16 on CUDA (``make bench``), 1 (alone) on the CPU."""
    return 16 if resolve_device(device).type == "cuda" else 1


# Aggregate throughput of K stacked ResNet-32s over one run's, from a probe on an H200 (32.4k images/s alone;
# 91.7k, 123.3k and 135.6k for K = 4, 16, 64): used until `make bench` has recorded stacked rows for CUDA.
PROBE_STACK_SPEEDUP = {1: 1.0, 4: 91.7 / 32.4, 16: 123.3 / 32.4, 64: 135.6 / 32.4}


def stack_speedup(k: int, device: str = "cuda", bench_dir: Path | None = None) -> float:
    """How many times one run's images/s K stacked runs reach together, interpolated in log K: from `make bench`'s
    record for this kind of device (``results/bench/<device>.json``) when it has stacked rows, else the H200 probe
    on CUDA; 1 on a CPU without a record. Used to budget a stack's time."""
    if k <= 1:
        return 1.0
    path = (bench_dir or repo_root() / "results" / "bench") / f"{device}.json"
    table = PROBE_STACK_SPEEDUP if device == "cuda" else {1: 1.0, 2: 1.0}
    if path.is_file():
        rec = json.loads(path.read_text())
        rows = {s["runs"]: s["aggregate_images_per_second"] / rec["ltnb_images_per_second"] for s in rec.get("stacked") or []}
        if rows:
            table = {1: 1.0, **rows}
    ks = sorted(table)
    return float(np.interp(math.log(k), [math.log(x) for x in ks], [table[x] for x in ks]))


def train_stack(cfgs, device="auto", progress: bool = True) -> None:
    """Train compatible stage-1 runs as one stacked network and store each under its own key; an interrupted
    stack continues from its checkpoint (every member's), which goes once they are stored."""

    todo = [c for c in cfgs if runs.load(c) is None]
    if len(todo) == 1:
        runs.get_or_train(todo[0], device=device, progress=progress)
        return
    ck = Checkpoint(todo, "stacked")
    for cfg, files in zip(todo, train_stacked(todo, device, progress, ck)):
        if runs.load(cfg) is None:  # another process may have stored it meanwhile: keep theirs
            runs.save(cfg, *files)
    ck.remove()


def train_many(configs, workers: int = 1, device="auto", progress: bool = True, stack: int | None = None) -> list[runs.Run]:
    """Every run of ``configs``, training the missing ones ``workers`` processes at a time, or ``stack``
    compatible stage-1 runs at a time as one stacked network (default: 16 on CUDA, none on the CPU).

    Stage-1 runs are trained first, then the stage-2 runs on them. Each process stores its runs
    atomically, so concurrent workers never see a half-written run. Interrupted (Ctrl-C), every run keeps its
    last complete epoch: the same call resumes them.
    """
    try:
        return _train_many(configs, workers, device, progress, stack)
    except KeyboardInterrupt as err:
        interrupted(err)
        raise


def _train_many(configs, workers, device, progress, stack) -> list[runs.Run]:
    configs = list(configs)
    stack = default_stack(device) if stack is None else int(stack)
    missing = [c for c in dict.fromkeys(configs) if runs.load(c) is None]
    stage1 = list(dict.fromkeys([d for c in missing if c.stage2 for d in c.dependencies()] +
                                [c for c in missing if not c.stage2]))
    stage1 = [c for c in stage1 if runs.load(c) is None]
    if stack > 1:
        for g in groups([c for c in stage1 if not c.dependencies()], stack):
            train_stack(g, device, progress)
    waves = [stage1, [c for c in missing if c.stage2]]
    if workers <= 1:
        for c in waves[0] + waves[1]:
            runs.get_or_train(c, device=device, progress=progress)
    else:
        threads = max(1, (os.cpu_count() or 1) // workers)
        with mp.get_context("spawn").Pool(workers, initializer=quiet_worker) as pool:  # Ctrl-C: terminated
            for wave in waves:
                todo = [(c, str(device), threads) for c in wave if runs.load(c) is None]
                bar = tqdm(total=len(todo), desc=f"{len(todo)} runs, {workers} at a time",
                           disable=not progress or os.environ.get("LTNB_PROGRESS") == "0")
                for _ in pool.imap_unordered(_train_one, todo):
                    bar.update(1)
                bar.close()
    return [runs.get_or_train(c, device=device, progress=progress) for c in configs]


def waves(todo: list) -> tuple[list, list]:
    """What parallel workers train first, and what after it (each in priority order): stage-1 runs and a stage 2 whose
    parent is not planned (recorded already, it trains again for its network: one such stage 2 per parent, so that
    no two workers wait on the same parent), then the stage 2s on runs of the first wave (every worker stores
    atomically; a key trains once)."""
    planned = {it.key for it in todo}
    first, parents = [], set()
    for it in todo:
        parent = it.config.parent.key if it.config.stage2 else None
        if parent is None or (parent not in planned and parent not in parents):
            first.append(it)
            parents.add(parent)
    keys = {it.key for it in first}
    return first, [it for it in todo if it.key not in keys]
