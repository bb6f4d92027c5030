"""Long-tailed data pruning (angular Sec. 4.3, Fig. 6): the training set with a fraction of its images removed."""
from __future__ import annotations

import numpy as np
import torch

from ltnb import data as D
from ltnb.config import RunConfig
from ltnb.kernels import angular


def pruning_scores(method: str, scoring_runs) -> torch.Tensor:
    """``E[S(x)]`` over the scoring runs (EL2N Eq. 11, AVH Eq. 12), one per training image."""
    if not scoring_runs:
        raise ValueError(f"pruning by {method} needs its scoring runs (RunConfig.dependencies())")
    return torch.from_numpy(np.mean([r.arrays[f"train_{method}"] for r in scoring_runs], axis=0))


def pruned(cfg: RunConfig, lt: D.LongTailed, scoring_runs=()) -> D.LongTailed:
    """``lt`` with ``prune_fraction`` of its training images removed by the ``prune`` method."""
    method, fraction = cfg.knob("prune"), float(cfg.knob("prune_fraction"))
    scores = pruning_scores(method, scoring_runs) if method in ("el2n", "avh") else None
    keep = angular.keep_after_pruning(lt.train.labels, fraction, method, scores,
                                      torch.Generator().manual_seed(cfg.seed))
    train = lt.train.subset(keep.numpy())
    return D.LongTailed(train, lt.test, D.class_counts(train.labels.numpy(), lt.info.num_classes), lt.imb)
