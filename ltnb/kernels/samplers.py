"""Index samplers: which training images each batch holds.

A class-weighted sampler draws image ``i`` with probability proportional to
``w[y_i] / n[y_i]``, so the classes appear in proportion to ``w``. Instance sampling is
``w = n`` (without replacement); class-balanced is ``w = 1``; square-root is ``w = sqrt(n)``.
"""
from __future__ import annotations

import numpy as np
import torch

# CBEN's (a, b) of Eq. 14: as GCL's Sec. 4.2 prints them, and as the official sampler (CBEffectNumSampler) sets them
CBEN_AB = {"paper": (0.999, 0.0009), "code": (0.9999, 1e-5)}


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


# ------------------------------------------------------------------- B3RS and BET
# Zhang, "You only need end-to-end training for long-tailed recognition", Sec. 3.4 and Algorithm 1.
# Table 6 of the paper: (G, r_min, alpha, T) for CIFAR-10-LT and CIFAR-100-LT; T2 is printed only
# for ImageNet-LT (Table 9: 500 with T = 60), so the book's default T2 is its own choice.
B3RS_TABLE6 = {10: dict(blocks=1, r0=0.05, alpha=2.0, interval=60),
               100: dict(blocks=10, r0=0.01, alpha=2.0, interval=30)}
BET_ITERATIONS = 10  # T2: B3RS iterations embedded after every T-th iteration of the instance sampler


def b3rs_defaults(num_classes: int) -> dict:
    """Table 6's B3RS / BET settings for this many classes (CIFAR-10's for 10, CIFAR-100's for 100)."""
    if num_classes not in B3RS_TABLE6:
        raise ValueError(f"Table 6 gives B3RS settings for 10 and 100 classes only, not {num_classes}; "
                         "pass blocks, r_min, alpha and the interval T explicitly")
    return dict(B3RS_TABLE6[num_classes], iterations=BET_ITERATIONS)


def check_b3rs(num_classes: int, blocks: int, r0: float, alpha: float, interval: int = 1, iterations: int = 0):
    """Raise a ValueError naming the bad B3RS / BET setting, before any training starts."""
    if int(blocks) != blocks or blocks < 1 or num_classes % int(blocks):
        raise ValueError(f"the block number G must be a positive divisor of the {num_classes} classes "
                         f"(each block holds F = N / G classes), got {blocks}")
    if not 0 < r0 <= 1:
        raise ValueError(f"the basic sampling ratio r_min must be in (0, 1], got {r0}")
    if not alpha > 0:
        raise ValueError(f"alpha (tail images are seen once every alpha epochs) must be > 0, got {alpha}")
    if int(interval) != interval or interval < 1:
        raise ValueError(f"the BET interval T must be a positive number of iterations, got {interval}")
    if int(iterations) != iterations or iterations < 0:
        raise ValueError(f"the B3RS iterations T2 must be a whole number >= 0, got {iterations}")


def b3rs_blocks(counts, blocks: int) -> list[np.ndarray]:
    """Classes sorted by count (largest first), dealt into ``G`` blocks with stride G: block i holds
    the sorted classes i, i + G, i + 2G, ... (Sec. 3.4, step 2), so every block spans head to tail."""
    n = np.asarray(counts)
    check_b3rs(len(n), blocks, 1.0, 1.0)
    order = np.argsort(-n, kind="stable")
    return [order[i::int(blocks)] for i in range(int(blocks))]


def b3rs_min_ratio(counts, blocks: int, r0: float, alpha: float, batch_size: int) -> float:
    """Eq. 14: ``r_min = r0`` if S < 1, ``S r0`` if 1 <= S < 10, ``1/F`` if S >= 10, with
    ``S = (Q_N / alpha) / (B / F)``, ``Q_N`` the smallest class count and ``F = N / G``.

    Never above ``1/F`` (a balanced batch): Eq. 14's middle case can exceed it (S r0 > 1/F).
    """
    n = np.asarray(counts)
    check_b3rs(len(n), blocks, r0, alpha)
    F = len(n) // int(blocks)
    S = (n.min() / alpha) / (batch_size / F)
    r = r0 if S < 1 else (S * r0 if S < 10 else 1.0 / F)
    return float(min(r, 1.0 / F))


def b3rs_ratios(block_counts, r_min: float) -> np.ndarray:
    """Eq. 15: each class's share of a B3RS batch of its block.

    Classes whose share ``r_f = Q_f / sum Q`` of the block is at most ``r_min`` get ``r_min``;
    the rest share ``1 - F' r_min`` in proportion to their counts. Repeated until no class of the
    rest falls below ``r_min``, so ``r' = max(r_min, c r)`` with ``sum r' = 1``.
    """
    q = np.asarray(block_counts, dtype=np.float64)
    if r_min * len(q) > 1 + 1e-9:
        raise ValueError(f"r_min = {r_min} is more than 1/F for a block of {len(q)} classes")
    r = q / q.sum()
    low = r <= r_min
    while True:
        rest = r[~low].sum()
        c = (1 - low.sum() * r_min) / rest if rest > 0 else 0.0
        new = ~low & (c * r <= r_min)
        if not new.any():
            break
        low |= new
    return np.where(low, r_min, c * r)


def batch_composition(ratios, batch_size: int) -> np.ndarray:
    """Images per class in one batch: ``B r'`` rounded by largest remainder, every class at least one."""
    r = np.asarray(ratios, dtype=np.float64)
    if batch_size < len(r):
        raise ValueError(f"a B3RS batch of {batch_size} images cannot hold all {len(r)} classes of a block")
    exact = batch_size * r / r.sum()
    k = np.floor(exact).astype(int)
    for i in np.argsort(-(exact - k), kind="stable")[:batch_size - k.sum()]:
        k[i] += 1
    while (k == 0).any():  # the minimum ratio means at least one image of every class
        k[np.argmax(k)] -= 1
        k[np.argmin(k)] += 1
    return k


def b3rs_plan(counts, batch_size: int, blocks: int, r0: float, alpha: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per block, its classes and how many images of each a B3RS batch holds (fixed: the same batch imbalance)."""
    r_min = b3rs_min_ratio(counts, blocks, r0, alpha, batch_size)
    n = np.asarray(counts)
    return [(cls, batch_composition(b3rs_ratios(n[cls], r_min), batch_size)) for cls in b3rs_blocks(n, blocks)]


def b3rs_batches(labels, counts, batch_size: int, generator: torch.Generator, num_batches: int,
                 blocks: int = 1, r0: float = 0.05, alpha: float = 2.0, start: int = 0) -> list[torch.Tensor]:
    """``num_batches`` B3RS batches (Sec. 3.4): batch ``t`` comes from block ``(start + t) mod G`` only,
    its classes drawn with replacement in the block's fixed composition, then shuffled."""
    labels = torch.as_tensor(labels, dtype=torch.long)
    plan = b3rs_plan(counts, batch_size, blocks, r0, alpha)
    members = {int(c): torch.nonzero(labels == int(c)).flatten() for cls, _ in plan for c in cls}
    empty = [c for c, m in members.items() if len(m) == 0]
    if empty:
        raise ValueError(f"B3RS needs at least one training image of every class; classes {empty} have none")
    out = []
    for t in range(num_batches):
        cls, k = plan[(start + t) % len(plan)]
        parts = [members[int(c)][torch.randint(len(members[int(c)]), (int(m),), generator=generator)]
                 for c, m in zip(cls, k)]
        idx = torch.cat(parts)
        out.append(idx[torch.randperm(len(idx), generator=generator)])
    return out


def bet_length(num_images: int, batch_size: int, interval: int, iterations: int) -> int:
    """Iterations of one BET epoch: the instance sampler's ``T1`` plus ``T2`` after every ``T``-th of them."""
    t1 = -(-num_images // batch_size)
    return t1 + iterations * (t1 // interval)


def bet_batches(labels, counts, batch_size: int, generator: torch.Generator, epoch: int = 0,
                blocks: int = 1, r0: float = 0.05, alpha: float = 2.0, interval: int = 60,
                iterations: int = BET_ITERATIONS) -> list[torch.Tensor]:
    """One epoch of Batch Embedded Training (Algorithm 1): the instance sampler's batches, and after
    every ``T``-th of them (``t1 mod T = 0``) ``T2`` B3RS batches.

    The block cycle of B3RS runs on across epochs (``epoch`` says where it stands).
    """
    check_b3rs(len(counts), blocks, r0, alpha, interval, iterations)
    random = epoch_batches(labels, counts, "instance", batch_size, generator)
    inserts = len(random) // interval
    per_epoch = inserts * iterations
    embedded = b3rs_batches(labels, counts, batch_size, generator, per_epoch, blocks, r0, alpha,
                            start=(epoch * per_epoch) % int(blocks))
    out = []
    for t1, idx in enumerate(random, start=1):
        out.append(idx)
        if t1 % interval == 0:
            k = (t1 // interval - 1) * iterations
            out.extend(embedded[k:k + iterations])
    return out
