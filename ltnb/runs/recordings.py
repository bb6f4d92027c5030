"""Recordings: the small part of a stored run that the chapters read, kept with the repository.

A recording (``results/runs/<preset>/<key>/``) holds the run's config, its metrics with the per-epoch
history (floats to six significant digits), and a compressed ``arrays.npz`` of its small arrays in
float16 with the derived arrays its chapters read (:mod:`ltnb.runs.derived`); never the network or the
features. :mod:`ltnb.store` reads it like a stored run, checked against its key.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from ltnb import store
from ltnb.config import RunConfig
from ltnb.runs import derived

# the arrays a recording keeps of a run (float ones in float16); everything else is dropped or derived
KEPT = ("confusion", "weight", "bias", "scales", "omega", "beta", "v", "final_factor", "train_mean_logits",
        "train_el2n", "train_avh")


def _round(x, digits: int = 6):
    """Floats to ``digits`` significant digits (metrics.json of a recording stays small and readable)."""
    if isinstance(x, float):
        return float(f"{x:.{digits}g}") if x == x else x
    if isinstance(x, dict):
        return {k: _round(v, digits) for k, v in x.items()}
    if isinstance(x, list):
        return [_round(v, digits) for v in x]
    return x


def _compact(a: np.ndarray) -> np.ndarray:
    """Float arrays in float16 where their range allows (else float32), small integers in uint8 or int32."""
    if a.dtype.kind == "f":
        big = a.size and np.nanmax(np.abs(a[np.isfinite(a)])) >= 6e4 if np.isfinite(a).any() else False
        return a.astype(np.float32 if big else np.float16)
    if a.dtype.kind in "iu" and a.size and a.min() >= 0 and a.max() < 256:
        return a.astype(np.uint8)
    if a.dtype.kind in "iu" and a.size and abs(a).max() < 2 ** 31:
        return a.astype(np.int32)
    return a


def export(run: store.Run, kinds=(), root=None) -> Path:
    """Write the recording of a stored run (atomically): config, rounded metrics, small and derived arrays."""
    cfg = run.config
    final = store.recorded_path(cfg, root)
    final.parent.mkdir(parents=True, exist_ok=True)
    arrays = {k: v for k, v in run.arrays.items() if k in KEPT}
    for kind in sorted(kinds):
        arrays.update(derived.compute(run, kind))
    if (final / "arrays.npz").is_file() and (final / "config.json").is_file():  # a recording written before, for
        with np.load(final / "arrays.npz") as old:  # other chapters' kinds: keep what it has that this one does not
            arrays.update({k: old[k] for k in old.files if k not in arrays})
    if any(k.startswith("test_") and k != "test_labels" for k in arrays) or "feature_idx" in arrays:
        arrays["test_labels"] = run.arrays["test_labels"]
    _warn_if_children_differ(cfg, final, run.metrics)
    parents = _parents(cfg)
    metrics = {**run.metrics, **({"parents": parents} if parents else {})}
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{cfg.key}-", dir=final.parent))
    try:
        shutil.copy(run.path / "config.json", tmp / "config.json")
        (tmp / "metrics.json").write_text(json.dumps(_round(metrics), separators=(",", ":")))
        np.savez_compressed(tmp / "arrays.npz", **{k: _compact(np.asarray(v)) for k, v in arrays.items()})
        if final.exists():
            shutil.rmtree(final)
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def _parents(cfg: RunConfig) -> dict:
    """The accuracy of each run ``cfg`` starts from, as the network it was fit on gave it (the stored run, which the
    trainer read): a fingerprint by which :func:`check` tells a recording fit on another network of its parent than
    the one recorded."""
    out = {}
    for d in cfg.dependencies():
        run = store.load(d)
        if run is not None:
            out[d.key] = float(run.metrics["accuracy"])
    return out


def children(cfg: RunConfig, root=None) -> list[RunConfig]:
    """The recorded runs that start from ``cfg`` (a stage 2 on it, a pruned run scored by it)."""
    out = []
    for cfg_file in sorted(store.recorded_path(cfg, root).parent.glob("*/config.json")):
        try:
            child = RunConfig.from_dict(json.loads(cfg_file.read_text()))
        except (KeyError, TypeError, ValueError, OSError):
            continue
        if any(d.key == cfg.key for d in child.dependencies()):
            out.append(child)
    return out


def _warn_if_children_differ(cfg: RunConfig, final: Path, metrics: dict) -> None:
    """A run trained again (a parent retrained for its network, which a recording does not keep) can end elsewhere
    than its recording did (another CPU kind rounds otherwise): its recorded stage-2 runs were fit on the network
    recorded before, so a paired comparison would pair runs of two networks. Say which to record again."""
    try:
        before = json.loads((final / "metrics.json").read_text())["accuracy"]
    except (OSError, ValueError, KeyError):
        return
    if _round(float(metrics["accuracy"])) == before:
        return
    kids = children(cfg, final.parent.parent)
    if kids:
        print(f"warning: {cfg.label} ({cfg.imb:g}, seed {cfg.seed}, {cfg.key}) trained again ends at "
              f"{metrics['accuracy']:.4f}, its recording at {before:.4f}; its recorded runs "
              f"{', '.join(k.key for k in kids)} were fit on the network recorded before: record them again "
              "(python -m ltnb.record --retrain KEY each, then --export)", flush=True)


def size_of(preset: str | None = None) -> tuple[int, int]:
    """(recordings, bytes) under ``results/runs`` (one preset, or all)."""
    root = store.recorded_root() / preset if preset else store.recorded_root()
    runs = [p for p in root.rglob("config.json")] if root.exists() else []
    return len(runs), sum(f.stat().st_size for f in root.rglob("*") if f.is_file()) if root.exists() else 0


def check(preset: str | None = None) -> list[str]:
    """Every recording: it loads, its config matches its key, its arrays open. Returns the problems."""
    problems = []
    root = store.recorded_root()
    for cfg_file in sorted(root.glob(f"{preset or '*'}/*/config.json")):
        path = cfg_file.parent
        restore = f"Restore it: git checkout -- {path}"
        try:
            d = json.loads(cfg_file.read_text())
            cfg = RunConfig.from_dict(d)
        except (KeyError, TypeError, ValueError, OSError) as err:
            problems.append(f"the recorded run {path} cannot be used (its config.json cannot be read: {err!r}). {restore}")
            continue
        if cfg.key != path.name:
            problems.append(f"the recorded run {path} cannot be used (its config.json is of key {cfg.key}). {restore}")
            continue
        try:
            run = store.read_at(cfg, path, recorded=True)
            run.arrays  # noqa: B018 - reading checks the archive
        except store.CorruptRun as err:  # its message names the run and what to do
            problems.append(str(err))
            continue
        for key, acc in run.metrics.get("parents", {}).items():  # recorded since 7 December: fit on which network
            parent = path.parent / key / "metrics.json"
            if parent.is_file() and _round(json.loads(parent.read_text())["accuracy"]) != _round(acc):
                problems.append(f"the recorded run {path} was fit on a network of {key} that gave {acc:.4f}, but that "
                                f"run's recording gives {json.loads(parent.read_text())['accuracy']:.4f} (trained again "
                                f"elsewhere): record it again from the recorded network (python -m ltnb.record "
                                f"--retrain {key}, then --retrain {cfg.key} and --export)")
    return problems
