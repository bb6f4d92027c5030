"""Index samplers: which training images each batch holds.

A class-weighted sampler draws image ``i`` with probability proportional to
``w[y_i] / n[y_i]``, so the classes appear in proportion to ``w``. Instance sampling is
``w = n`` (without replacement); class-balanced is ``w = 1``; square-root is ``w = sqrt(n)``.
"""
from __future__ import annotations

import numpy as np
import torch


def cben_beta(counts, a: float = 0.999, b: float = 0.0009) -> np.ndarray:
    """CBEN's ``beta_j = b * (delta_j - delta_min) / (delta_max - delta_min) + a`` from log cloud sizes (GCL Eq. 14)."""
    n = np.asarray(counts, dtype=np.float64)
    d = np.log(n.max()) - np.log(n)
    span = d.max() - d.min()
    return a + b * ((d - d.min()) / span if span > 0 else np.zeros_like(d))


def class_weights(counts, kind: str, beta: float = 0.9999, a: float = 0.999, b: float = 0.0009) -> np.ndarray:
    """Target class frequencies (normalised) of a sampler ``kind`` given training counts."""
    n = np.asarray(counts, dtype=np.float64)
    if kind == "instance":
        w = n
    elif kind == "class_balanced":
        w = np.ones_like(n)
    elif kind == "square_root":
        w = np.sqrt(n)
    elif kind == "effective_number":
        # Cui et al. 2019: weight each class by the inverse effective number (1 - beta) / (1 - beta^n).
        w = n * (1 - beta) / (1 - beta ** n)
    elif kind == "cben":
        # GCL Eq. 13: each image of class j is drawn with rho_j = (1 - beta_j) / (1 - beta_j^n_j).
        bj = cben_beta(n, a, b)
        w = n * (1 - bj) / (1 - bj ** n)
    else:
        raise ValueError(f"unknown sampler {kind!r}; choose one of {SAMPLERS}")
    return w / w.sum()


SAMPLERS = ("instance", "class_balanced", "square_root", "effective_number", "cben")


def sample_probabilities(labels, counts, class_freq) -> torch.Tensor:
    """Per-image probabilities ``class_freq[y] / n[y]`` (sum to one)."""
    labels = torch.as_tensor(labels, dtype=torch.long)
    per_image = torch.as_tensor(np.asarray(class_freq) / np.maximum(np.asarray(counts), 1),
                                dtype=torch.float64)[labels]
    return per_image / per_image.sum()


def epoch_batches(labels, counts, kind: str, batch_size: int, generator: torch.Generator,
                  drop_last: bool = False, class_freq=None):
    """The index batches of one epoch (``len(labels)`` draws).

    ``instance`` is a random permutation; every other kind draws with replacement from
    :func:`sample_probabilities` (or from ``class_freq`` when given).
    """
    n = len(labels)
    if kind == "instance" and class_freq is None:
        order = torch.randperm(n, generator=generator)
    else:
        freq = class_weights(counts, kind) if class_freq is None else class_freq
        p = sample_probabilities(labels, counts, freq)
        order = torch.multinomial(p, n, replacement=True, generator=generator)
    stop = n - n % batch_size if (drop_last and n >= batch_size) else n
    return [order[i:i + batch_size] for i in range(0, stop, batch_size)]
