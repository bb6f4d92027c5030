"""Several independent runs at once: seeds and sweeps are many small runs that one GPU can hold together."""
from __future__ import annotations

import multiprocessing as mp
import os

import torch
from tqdm import tqdm

from ltnb import runs


def _train_one(args):
    cfg, device, threads = args
    torch.set_num_threads(threads)
    runs.get_or_train(cfg, device=device, progress=False)
    return cfg.key


def train_many(configs, workers: int = 1, device="auto", progress: bool = True) -> list[runs.Run]:
    """Every run of ``configs``, training the missing ones ``workers`` processes at a time.

    Stage-1 parents are trained first, then the stage-2 runs that need them. Each process
    stores its run atomically, so concurrent workers never see a half-written run.
    """
    configs = list(configs)
    missing = [c for c in dict.fromkeys(configs) if runs.load(c) is None]
    waves = [list(dict.fromkeys([c.parent for c in missing if c.stage2] + [c for c in missing if not c.stage2])),
             [c for c in missing if c.stage2]]
    if workers <= 1:
        for c in missing:
            runs.get_or_train(c, device=device, progress=progress)
    else:
        threads = max(1, (os.cpu_count() or 1) // workers)
        with mp.get_context("spawn").Pool(workers) as pool:
            for wave in waves:
                todo = [(c, str(device), threads) for c in wave if runs.load(c) is None]
                bar = tqdm(total=len(todo), desc=f"{len(todo)} runs, {workers} at a time",
                           disable=not progress or os.environ.get("LTNB_PROGRESS") == "0")
                for _ in pool.imap_unordered(_train_one, todo):
                    bar.update(1)
                bar.close()
    return [runs.get_or_train(c, device=device, progress=progress) for c in configs]
