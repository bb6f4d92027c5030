import os

import numpy as np
import pytest

from ltnb import data as D


@pytest.fixture
def tmp_store(tmp_path, monkeypatch):
    """An empty run store for the test."""
    root = tmp_path / "runs"
    monkeypatch.setenv("LTNB_RUNS", str(root))
    return root


@pytest.fixture
def synthetic_cifar(tmp_path):
    """A data root holding tiny CIFAR-10 and CIFAR-100 files in the python pickle format."""
    rng = np.random.default_rng(0)
    for name, C, per in (("cifar10", 10, 30), ("cifar100", 100, 3)):
        for train in (True, False):
            labels = np.repeat(np.arange(C), per if train else 2)
            rng.shuffle(labels)
            images = rng.integers(0, 256, (len(labels), 32, 32, 3), dtype=np.uint8)
            D.save_cifar_python(tmp_path, name, images, labels, train)
    return tmp_path


os.environ.setdefault("LTNB_PROGRESS", "0")
