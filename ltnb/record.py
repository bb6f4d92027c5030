"""``python -m ltnb.record``: record every run the book needs, so a fresh clone renders it without training.

It asks the chapters' own plans (:mod:`ltnb.chapters`, the calls in ``RECORDED_CALLS``) which runs
they show, orders them by tier (each chapter's main tables, then the leaderboard's seeds and
subsets, then ablations and sweeps), trains what is missing into the run store and writes each
recording as its run finishes: ``results/runs/<preset>/<key>/`` holds the run's config, metrics
and per-epoch history, and a compressed ``arrays.npz`` of its small arrays in float16 with the
derived arrays its chapters read (:mod:`ltnb.runs.derived`), never the network or the features.

    python -m ltnb.record --plan                 what is recorded, what is missing, the estimated time
    python -m ltnb.record --minutes 60           train in priority order, stop before 60 minutes
    python -m ltnb.record --minutes 9 --partial  also start what does not fit: checkpointed at the end, resumed next
    python -m ltnb.record --workers 2            two local processes (one thread each on 2 cores)
    python -m ltnb.record --executor slurm       a Slurm cluster through submitit
    python -m ltnb.record --check                every recording loads and matches its config
    python -m ltnb.record --export               rewrite the recordings from the run store (no training)
    python -m ltnb.record --retrain KEY          move a broken stored run aside and train it again
    python -m ltnb.record --show KEY             a run's config and its per-epoch log
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from tqdm import tqdm

from ltnb import chapters, store
from ltnb.claims import replicates
from ltnb.claims.replicates import HEADLINE, SEED_TIERS, Item, with_dependencies  # noqa: F401 (the API)
from ltnb.config import RunConfig
from ltnb.presets import PRESETS, auto_presets, resolve_device
from ltnb.runs import derived
from ltnb.runs.budget import estimates, measured_pool, speed_words, stack_seconds
from ltnb.runs.parallel import Requeueable, default_stack, interrupted, quiet_worker, train_stack, waves
from ltnb.runs.recordings import check, export, size_of  # noqa: F401 (python -m ltnb.record's API)
from ltnb.runs.train import get_or_train
from ltnb.training import checkpoint
from ltnb.training.stacked import groups


def book_items(preset: str, dataset: str = "auto", calls=None) -> list[Item]:
    """Every run the book's recorded calls show under ``preset``, dependencies first, in priority order."""
    items: dict[str, Item] = {}
    for name, values in calls or chapters.recorded_calls(preset):
        plan = chapters.plan_for(name, preset, dataset=dataset, **values)
        label = name + "".join(f" {k}={v}" for k, v in values.items())
        for gname, group in plan.groups.items():
            # record-only groups (other factors, sweeps, budgets): not at smoke, whose numbers mean nothing
            if group.optional and not (group.record and preset != "smoke"):
                continue
            for row, cfgs in group.rows.items():
                kinds = set(group.derived.get(row, ())) | set(group.for_claims.get(row, ()))
                for cfg in cfgs:
                    for c in with_dependencies(cfg):
                        it = items.setdefault(c.key, Item(c, group.tier, f"{label}: {gname}"))
                        it.tier = min(it.tier, group.tier)
                    items[cfg.key].kinds |= kinds
    order = {k: i for i, k in enumerate(items)}
    return sorted(items.values(), key=lambda it: (it.tier, order[it.key]))


def seed_items(preset: str, dataset: str = "auto", shown: list[Item] | None = None) -> list[Item]:
    """The seed groups at ``preset`` (tiers 4 to 6, :func:`ltnb.claims.replicates.seed_items`) beside the book's items."""
    return replicates.seed_items(preset, book_items(preset, dataset) if shown is None else shown,
                                 lambda: book_items(HEADLINE[0], dataset))


def planned_items(preset: str, dataset: str = "auto", calls=None, tiers=(1, 2, 3, *SEED_TIERS)) -> list[Item]:
    """The book's runs and (for the book's own calls) its seed groups at ``preset``, in ``tiers``, in priority order."""
    items = [it for it in book_items(preset, dataset, calls) if it.tier in tiers]
    if calls is None and any(t in tiers for t in SEED_TIERS):
        have = {it.key: it for it in items}
        for it in seed_items(preset, dataset):
            if it.key in have:  # a book run whose recording must keep more arrays: missing in the seed tier
                old = have[it.key]
                old.kinds |= it.kinds
                old.tier = old.tier if recorded(old) else it.tier
            elif it.tier in tiers:
                items.append(it)
        items.sort(key=lambda it: it.tier)  # stable: priority order within a tier
    return items


def optional_items(preset: str, dataset: str = "auto", calls=None) -> list[Item]:
    """Runs the chapters show only when they exist (optional groups): recorded from the store, never trained."""
    required = {it.key for it in book_items(preset, dataset, calls)}
    out: dict[str, Item] = {}
    for name, values in calls or chapters.recorded_calls(preset):
        plan = chapters.plan_for(name, preset, dataset=dataset, **values)
        for gname, group in plan.groups.items():
            if group.optional and not (group.record and preset != "smoke"):
                for row, cfgs in group.rows.items():
                    for c in cfgs:
                        if c.key not in required:
                            out.setdefault(c.key, Item(c, 3, f"{name}: {gname} (optional)", set(group.derived.get(row, ()))))
    return list(out.values())


# ------------------------------------------------------------------ recordings

def recorded(item: Item) -> bool:
    """Whether the item's recording exists and holds every derived kind its chapters read."""
    path = store.recorded_path(item.config)
    if not path.is_dir() or not item.kinds:
        return path.is_dir()
    run = store.read_at(item.config, path, recorded=True)
    return all(derived.stored(run, k) is not None for k in item.kinds)


# ------------------------------------------------------------------ training

def _train_one(cfg: RunConfig, kinds, device: str, threads: int) -> str:
    """Train ``cfg`` (and what it starts from) into the store, then write its recording; returns its key."""
    import torch


    torch.set_num_threads(threads)
    run = get_or_train(cfg, device=device, progress=False, full=bool(kinds) or bool(cfg.stage2))
    export(run, kinds)
    return cfg.key


def _executor(kind: str, workers: int, folder: Path):
    """Local processes (spawned: a clean torch each; Ctrl-C stops them here), or submitit's Slurm or local one."""
    if kind == "local":
        import concurrent.futures
        import multiprocessing as mp


        return concurrent.futures.ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"),
                                                      initializer=quiet_worker)
    try:
        import submitit
    except ImportError:
        raise SystemExit("--executor slurm needs submitit: pip install submitit (or pip install -e .[cluster])") from None
    ex = submitit.AutoExecutor(folder=folder, cluster="local" if kind == "submitit-local" else "slurm")
    ex.update_parameters(timeout_min=600, cpus_per_task=1 if kind == "submitit-local" else 4)
    return ex


def _in_flight(submit, items, workers: int, fits):
    """Submit ``items`` keeping at most ``workers`` jobs running; yield (item, finished) as each job ends
    (finished False: it stopped at its deadline with a checkpoint). ``fits(item)`` says whether the item still
    fits the time budget (else it is not submitted)."""
    pending, running = list(items), []
    while pending or running:
        while pending and len(running) < workers:
            it = pending.pop(0)
            if fits(it):
                running.append((it, submit(it)))
        for pair in [p for p in running if p[1].done()]:
            running.remove(pair)
            try:
                pair[1].result()  # a failed run raises here, with its traceback
                yield pair[0], True
            except checkpoint.Stopped as err:
                print(err, file=sys.stderr)
                yield pair[0], False
        if running:
            time.sleep(0.2)


def record(preset: str, minutes: float | None = None, workers: int = 1, executor: str = "local",
           device: str = "auto", dataset: str = "auto", tiers=(1, 2, 3, *SEED_TIERS), progress: bool = True, calls=None,
           stack: int | None = None, partial: bool = False) -> dict:
    """Train the missing runs in priority order and record each as it finishes; resume where a last call stopped.

    Starts no run (or stack) whose estimated time would pass ``minutes``; a cheaper one later in the order may
    still fit (a run with a checkpoint counts only its epochs left). ``partial`` (with ``minutes``; local
    processes): runs still training when the budget ends keep their last epoch and stop, and the time left after
    the runs that fit goes to those that do not, in priority order, so a next call resumes them (the GPU slices).
    ``stack`` compatible stage-1 runs train as one network (default: 16 on CUDA, none on the CPU).
    Returns counts of what happened.
    """
    dev = str(resolve_device(device))
    items = planned_items(preset, dataset, calls, tiers)
    for it in items + optional_items(preset, dataset, calls):  # trained earlier (by a chapter, a stopped call)
        if store.source(it.config) == "store" and not recorded(it):
            export(store.load(it.config), it.kinds)
    todo = [it for it in items if not recorded(it)]
    before = len(items) - len(todo)
    est = estimates(items, dev.split(":")[0], todo=[it.key for it in todo])
    budget = None if minutes is None else 60.0 * minutes
    start = time.time()
    done, stopped = 0, 0
    threads = max(1, (os.cpu_count() or 1) // max(1, workers))
    bar = tqdm(total=round(sum(est[it.key] for it in todo)), unit="s", desc=f"recording {len(todo)} {preset} runs",
               disable=not progress or os.environ.get("LTNB_PROGRESS") == "0", file=sys.stderr)

    def fits(it, relaxed: bool = False) -> bool:  # its own time left, and that of the runs it starts from if they train
        deps = sum(est.get(d.key, est[it.key]) for d in it.config.dependencies() if not store.exists(d))
        need = est[it.key] * (1 - checkpoint.progress([it.config])) + deps
        left = math.inf if budget is None else budget - (time.time() - start)
        epoch = est[it.key] / max(1, PRESETS[it.config.preset].epochs)  # partial: room for a few epochs at least
        return not checkpoint.STOP["signal"] and (need <= left or (relaxed and left >= 30 + 3 * epoch))


    # partial: every trainer, here or in a worker, stops at its last epoch boundary before the budget's end
    with checkpoint.deadline(start + budget if partial and budget is not None else None):
        stack = default_stack(dev) if stack is None else int(stack)
        if stack > 1:  # stage-1 runs in stacks first (a stack's time: its runs' estimates over the measured speed-up);
            # within a tier the fullest stacks go first, so a short GPU slice records the most runs it can
            tier = {it.key: it.tier for it in todo}
            stacks = groups([it.config for it in todo if not it.config.dependencies()], stack)
            for g in sorted(stacks, key=lambda g: (min(tier[c.key] for c in g), -len(g))):
                its = [next(it for it in todo if it.key == c.key) for c in g]
                secs = stack_seconds([est[it.key] for it in its], [it.config for it in its], dev.split(":")[0])
                if budget is not None and time.time() - start + secs * (1 - checkpoint.progress(g)) > budget:
                    continue
                try:
                    train_stack(g, dev, progress=False)
                except checkpoint.Stopped as err:
                    print(err, file=sys.stderr)
                    stopped += 1
                    break  # the budget is spent
                for it in its:
                    export(store.load(it.config), it.kinds)
                    done += 1
                    bar.update(round(est[it.key]))
            todo = [it for it in todo if not recorded(it)]

        for relaxed in (False, True) if partial and budget is not None and not stopped else (False,):
            if workers <= 1 and executor == "local":
                for it in todo:  # in priority order; one that no longer fits is left, a cheaper one after it may fit
                    if stopped or recorded(it) or not fits(it, relaxed):
                        continue
                    try:
                        _train_one(it.config, it.kinds, dev, threads)
                    except checkpoint.Stopped as err:
                        print(err, file=sys.stderr)
                        stopped += 1
                        continue
                    done += 1
                    bar.update(round(est[it.key]))
                continue
            logs = Path(tempfile.mkdtemp(prefix="ltnb-submitit-")) if executor != "local" else None
            ex = _executor(executor, workers, logs)
            ok = False
            try:
                for wave in waves(todo):
                    job = Requeueable(_train_one)  # submitit: requeued when pre-empted or timed out
                    submit = lambda it: ex.submit(job, it.config, it.kinds, dev, threads)  # noqa: E731
                    wave = [it for it in wave if not recorded(it)]
                    for it, finished in _in_flight(submit, wave, workers, lambda it: not stopped and fits(it, relaxed)):
                        done, stopped = done + finished, stopped + (not finished)
                        bar.update(round(est[it.key]) if finished else 0)
                ok = True
            except KeyboardInterrupt:  # the workers ignore Ctrl-C: stop them (their runs keep their checkpoints)
                for proc in list((getattr(ex, "_processes", None) or {}).values()):
                    proc.terminate()
                raise
            finally:
                if hasattr(ex, "shutdown"):
                    ex.shutdown(cancel_futures=True)
                if logs is not None and ok and executor == "submitit-local":
                    shutil.rmtree(logs, ignore_errors=True)  # its jobs' logs, kept only when a job failed
                elif logs is not None:
                    print(f"submitit's job logs: {logs}", file=sys.stderr)
    bar.close()
    return {"planned": len(items), "recorded before": before, "trained now": done, "checkpointed": stopped,
            "left": sum(not recorded(it) for it in items), "seconds": time.time() - start}


# ------------------------------------------------------------------ the command line


def print_plan(preset: str, dataset: str = "auto", device: str = "auto", tiers=(1, 2, 3, *SEED_TIERS),
               workers: int = 1) -> dict:
    """The runs of the book at ``preset``, what is recorded and what is missing, and how long the missing ones would
    take here with ``workers`` local processes at a time (each run's time, and the total over the processes)."""
    items = planned_items(preset, dataset, None, tiers)
    dev = str(resolve_device(device)).split(":")[0]
    workers = max(1, workers)
    done = {it.key for it in items if recorded(it)}
    pool = measured_pool(preset)
    est = estimates(items, dev, pool=pool, todo=[it.key for it in items if it.key not in done])
    counts = {}
    print(f"{len(items)} runs for the book at preset {preset} ({PRESETS[preset].epochs} epochs), highest priority "
          f"first, {workers} run{'s' if workers > 1 else ''} at a time; {speed_words(items, dev, pool)}")
    for tier, title in chapters.TIERS.items():
        its = [it for it in items if it.tier == tier]
        if tier not in tiers or (tier in SEED_TIERS and not its):  # a seed group this preset has none of
            continue
        rec = [it for it in its if it.key in done]
        missing = [it for it in its if it not in rec]
        secs = sum(est[it.key] for it in missing) / workers
        counts[tier] = {"runs": len(its), "recorded": len(rec), "missing": len(missing), "seconds": secs}
        print(f"\ntier {tier}, {title}: {len(its)} runs, {len(rec)} recorded, {len(missing)} missing "
              f"(about {secs / 3600:.1f} h here)")
        for it in missing:
            print(f"  missing  {it.key}  {it.config.label:<28} imb {it.config.imb:<5g} seed {it.config.seed}  "
                  f"{est[it.key] / 60:6.1f} min  {it.where}")
    total = sum(c["seconds"] for c in counts.values())
    n, size = size_of(preset)
    print(f"\nmissing in all: {sum(c['missing'] for c in counts.values())} runs, about {total / 3600:.1f} h on {dev}; "
          f"recorded: {n} runs, {size / 2 ** 20:.1f} MB in {store.recorded_root() / preset}")
    return counts


def config_of_key(key: str) -> RunConfig:
    """The config of ``key``: from a stored or recorded config.json, else from the book's plans."""
    for cfg_file in [store.store_root() / key / "config.json", *store.recorded_root().glob(f"*/{key}/config.json")]:
        try:
            d = json.loads(cfg_file.read_text())
            cfg = RunConfig.from_dict(d)
            if cfg.key == key:
                return cfg
        except (OSError, ValueError, KeyError, TypeError):
            continue
    for preset in PRESETS:
        for it in book_items(preset):
            if it.key == key:
                return it.config
    raise SystemExit(f"no config with key {key} in the run store, the recordings or the book's plans: a run of "
                     f"other parameters trains again when the chapter that asked for it runs again")


def retrain(key: str, device: str = "auto") -> Path:
    """Move the stored run of ``key`` aside (nothing is deleted) and train it into the run store, recorded or not."""
    cfg = config_of_key(key)
    path = store.store_root() / key
    if path.exists():
        aside = path.with_name(f"{key}.bad-{time.strftime('%Y%m%d-%H%M%S')}")
        os.rename(path, aside)
        print(f"moved {path} to {aside}")
    return get_or_train(cfg, device=device, full=True).path  # full: a recording lacks the network and features


def show(key: str) -> str:
    """A run's config, its summary and its per-epoch log, as text."""
    cfg = config_of_key(key)
    run = store.load(cfg)
    lines = [f"run {key}: {cfg.label}, {cfg.dataset} imb {cfg.imb:g}, seed {cfg.seed}, preset {cfg.preset}",
             json.dumps(json.loads(json.dumps(cfg.describe(), default=str)), indent=1)]
    if run is None:
        return "\n".join(lines + ["not trained or recorded here"])
    m = run.metrics
    lines.append(f"{'recorded' if run.recorded else 'stored'} at {run.path}; last-epoch accuracy {100 * m['accuracy']:.2f}%, "
                 f"trained on {store.trained_on([cfg]) or '?'} in {m.get('train_seconds', 0):.0f} s")
    h = m.get("history", {})
    if h.get("epoch"):
        lines.append("epoch   loss   train acc  test acc")
        for i, ep in enumerate(h["epoch"]):
            tr = h.get("train_acc", [math.nan] * len(h["epoch"]))[i]
            lines.append(f"{ep:5d} {h['loss'][i]:7.4f}   {100 * tr:7.2f}  {100 * h['test_acc'][i]:7.2f}")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ltnb.record", description=__doc__.split("\n\n")[0])
    ap.add_argument("--preset", default=None, choices=sorted(PRESETS), help="default: paper on CUDA, else cpu")
    ap.add_argument("--dataset", default="auto")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--plan", action="store_true", help="print the runs, what is recorded and missing, and the time")
    ap.add_argument("--minutes", type=float, default=None, help="start no run whose estimated time would pass this many minutes")
    ap.add_argument("--tiers", default="1,2,3,4,5,6", help="plan or record only these tiers, e.g. 1 or 1,2 "
                    "(4 to 6: the seed groups, more seeds of the runs the verdicts read)")
    ap.add_argument("--workers", type=int, default=1, help="runs at once (local processes or cluster jobs)")
    ap.add_argument("--executor", default="local", choices=("local", "slurm", "submitit-local"))
    ap.add_argument("--partial", action="store_true", help="with --minutes: start runs that do not fit too; at the "
                    "budget's end every run keeps its last epoch and stops, and the same command resumes it")
    ap.add_argument("--stack", type=int, default=None, help="train this many compatible runs as one network "
                                                            "(default: 16 on CUDA, 1 on the CPU)")
    ap.add_argument("--check", action="store_true", help="check that every recording loads and matches its key")
    ap.add_argument("--retrain", metavar="KEY", help="train KEY into the run store (a stored run moved aside)")
    ap.add_argument("--show", metavar="KEY", help="print the run's config and its per-epoch log")
    ap.add_argument("--export", action="store_true", help="rewrite the recordings of every run in the store, train nothing")
    a = ap.parse_args(argv)
    if a.show or a.retrain:
        try:
            print(show(a.show) if a.show else retrain(a.retrain, a.device))
        except store.CorruptRun as err:  # its message says what to do; a traceback would bury it
            print(err, file=sys.stderr)
            return 1
        return 0
    if a.check:
        problems = check(a.preset)
        n, size = size_of(a.preset)
        print("\n".join(problems) or f"{n} recordings, {size / 2 ** 20:.1f} MB: every one loads and matches its key")
        return 1 if problems else 0
    preset = a.preset or auto_presets("auto", resolve_device(a.device))[0][-1]  # the chapters' rule: what trains
    if a.export:
        n = 0
        for it in book_items(preset, a.dataset) + optional_items(preset, a.dataset):
            if store.source(it.config) == "store":
                export(store.load(it.config), it.kinds)
                n += 1
        print(f"{n} {preset} recordings rewritten from the run store")
        return 0
    tiers = tuple(int(t) for t in a.tiers.split(","))
    if a.plan:
        print_plan(preset, a.dataset, a.device, tiers, a.workers)
        return 0
    try:
        with checkpoint.stop_on_sigterm():  # SIGTERM: the run in training here stops at its next epoch boundary
            out = record(preset, a.minutes, a.workers, a.executor, a.device, a.dataset, tiers, stack=a.stack,
                         partial=a.partial)
    except KeyboardInterrupt as err:
        interrupted(err)  # one line: what was kept, and that the same command resumes it
        return 130
    n, size = size_of(preset)
    print(f"{out['trained now']} runs trained and recorded, {out['checkpointed']} checkpointed to resume, "
          f"{out['left']} left (of {out['planned']}); {n} {preset} recordings, {size / 2 ** 20:.1f} MB; "
          f"{out['seconds'] / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
