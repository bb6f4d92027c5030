"""Runs: train a config once, store it, and reuse it whenever it is asked for again."""
from __future__ import annotations

from ltnb.config import COSINE_LOSSES, KERNEL_VERSION, STAGE2_METHODS, RunConfig, scoring_configs  # noqa: F401 (the API)
from ltnb.store import CorruptRun, Run, StoreNotWritable, load, recorded_root, save, store_root, training_lock  # noqa: F401
from ltnb.training import checkpoint, features, images, stage1

IMAGE_STAGE2 = ("mislas", "alas")  # stage 2 on images through the frozen backbone; the others on stored features


def checkpoint_of(cfg: RunConfig, root=None) -> checkpoint.Checkpoint:
    """Where ``cfg`` keeps its last complete epoch while it trains (in the run store)."""
    kind = "stage2-images" if cfg.stage2 in IMAGE_STAGE2 else "stage2-features" if cfg.stage2 else "stage1"
    return checkpoint.Checkpoint([cfg], kind, root)


def train(cfg: RunConfig, dependencies=(), device="auto", progress: bool = True, root=None):
    """Train ``cfg`` from its stored ``dependencies`` (:meth:`RunConfig.dependencies`, in that order), from its
    checkpoint in the run store ``root`` when it has one (written at every epoch boundary).

    Returns (metrics, arrays, features or None, state_dict or None): the files of a stored run.
    """
    ck = checkpoint_of(cfg, root)
    with checkpoint.reporting(ck):
        if cfg.stage2 in IMAGE_STAGE2:
            metrics, arrays, feats = images.stage2_on_images(cfg, dependencies[0], device, progress, ck)
            return metrics, arrays, feats, None
        if cfg.stage2:
            return (*features.train_stage2(cfg, dependencies[0], device, progress, ck), None, None)
        return stage1.train_stage1(cfg, dependencies, device, progress, ck)


def get_or_train(cfg: RunConfig, device="auto", progress: bool = True, root=None, full: bool = False) -> Run:
    """The stored run of ``cfg`` if there is one, else train it (after its dependencies: a stage-2 run's
    parent, a pruned run's scoring runs) and store it. An interrupted training continues from its checkpoint,
    which goes once the run is stored.

    ``full``: a recording does not do (it lacks the network and the features); train the config into the run
    store instead. A stage-2 run asks for its parent so, and says so when the parent is only recorded.
    """
    run = load(cfg, root)
    if run is not None and not (full and run.recorded):
        return run
    if run is not None and progress:
        print(f"{cfg.label} ({cfg.dataset} imb {cfg.imb:g}, seed {cfg.seed}) is recorded without its network and "
              f"features, which {'its stage-2 runs train on' if not cfg.stage2 else 'this run needs'}: training it "
              f"into the run store {store_root(root)}")
    deps = [get_or_train(d, device, progress, root, full=bool(cfg.stage2)) for d in cfg.dependencies()]
    with training_lock(cfg, root):  # a second process asking for this key waits here, then reads the run
        run = load(cfg, root)
        if run is not None and not (full and run.recorded):
            return run
        run = save(cfg, *train(cfg, deps, device=device, progress=progress, root=root), root=root)
        checkpoint_of(cfg, root).remove()
        return run
