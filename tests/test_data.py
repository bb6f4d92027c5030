import gzip
import pickle

import numpy as np
import pytest
import torch

from ltnb import data as D


def test_lt_counts_match_the_literature():
    assert sum(D.lt_counts(5000, 10, 100)) == 12406
    assert sum(D.lt_counts(500, 100, 100)) == 10847
    c = D.lt_counts(5000, 10, 100)
    assert c[0] == 5000 and c[-1] == 50 and c == sorted(c, reverse=True)
    assert D.lt_counts(100, 4, 1) == [100] * 4


@pytest.mark.parametrize("imb", [0.5, 0, -3])
def test_imbalance_below_one_is_refused(imb):
    with pytest.raises(ValueError, match="must be >= 1"):
        D.lt_counts(100, 10, imb)


def test_lt_indices_is_the_cao_procedure():
    labels = np.repeat(np.arange(5), 40)
    np.random.default_rng(1).shuffle(labels)
    idx = D.lt_indices(labels, 10)
    # the reference procedure written out: np.random.seed(0), shuffle each class's indices in order
    np.random.seed(0)
    expect = []
    for c, n in zip(range(5), D.lt_counts(40, 5, 10)):
        i = np.where(labels == c)[0]
        np.random.shuffle(i)
        expect.extend(i[:n])
    assert idx.tolist() == expect
    assert np.bincount(labels[idx]).tolist() == D.lt_counts(40, 5, 10)


def test_lt_subsets_are_nested_across_imbalance():
    labels = np.repeat(np.arange(10), 50)
    small, large = set(D.lt_indices(labels, 100)), set(D.lt_indices(labels, 10))
    assert small < large


def test_synthetic_cifar_files_load(synthetic_cifar):
    tr = D.load("cifar10", True, synthetic_cifar, download=False)
    te = D.load("cifar10", False, synthetic_cifar, download=False)
    assert tr.images.shape == (300, 3, 32, 32) and tr.images.dtype == torch.uint8
    assert len(te) == 20 and torch.bincount(tr.labels).tolist() == [30] * 10
    c100 = D.load("cifar100", True, synthetic_cifar, download=False)
    assert c100.images.shape == (300, 3, 32, 32) and int(c100.labels.max()) == 99


def test_cifar_pixels_keep_channel_order(tmp_path):
    img = np.zeros((2, 32, 32, 3), np.uint8)
    img[0, 1, 2] = (10, 20, 30)  # row 1, column 2: R, G, B
    D.save_cifar_python(tmp_path, "cifar10", img, np.array([0, 1]), train=False)
    te = D.load("cifar10", False, tmp_path, download=False)
    assert te.images[0, :, 1, 2].tolist() == [10, 20, 30]
    # and the raw file is what CIFAR's README describes: 3072 bytes, R plane, then G, then B
    with open(tmp_path / "cifar-10-batches-py" / "test_batch", "rb") as f:
        raw = pickle.load(f, encoding="latin1")
    assert raw["data"].shape == (2, 3072) and raw["data"][0, 32 + 2] == 10 and raw["data"][0, 1024 + 32 + 2] == 20


def test_long_tailed_cifar_from_synthetic_files(synthetic_cifar, monkeypatch):
    monkeypatch.setenv("LTNB_DATA", str(synthetic_cifar))
    lt = D.long_tailed("cifar10", 10)
    assert lt.counts.tolist() == D.lt_counts(30, 10, 10)
    assert len(lt.test) == 20  # test set stays balanced
    assert torch.bincount(lt.test.labels).tolist() == [2] * 10


def test_missing_cifar_is_a_clear_error(tmp_path, monkeypatch):
    with pytest.raises(D.DatasetNotFound, match="cifar-10-python.tar.gz"):
        D.load("cifar10", root=tmp_path, download=False)
    monkeypatch.setenv("LTNB_OFFLINE", "1")
    with pytest.raises(D.DatasetNotFound, match="LTNB_DATA"):
        D.load("cifar100", root=tmp_path)


def test_failed_download_becomes_dataset_not_found(tmp_path, monkeypatch):
    import torchvision

    def offline(*a, **k):
        raise OSError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", offline)
    with pytest.raises(D.DatasetNotFound, match="download failed"):
        D.load("cifar10", root=tmp_path, download=True)


def test_corrupt_cifar_batch_is_reported(synthetic_cifar):
    (synthetic_cifar / "cifar-10-batches-py" / "test_batch").write_bytes(b"not a pickle")
    with pytest.raises(D.DatasetNotFound, match="not a readable CIFAR"):
        D.load("cifar10", False, synthetic_cifar, download=False)


def test_unknown_dataset():
    with pytest.raises(ValueError, match="unknown dataset 'mnist'"):
        D.load("mnist")


def _write_idx(path, arr):
    header = bytes([0, 0, 8, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + arr.astype(np.uint8).tobytes())


@pytest.mark.parametrize("folder", ["fashion-mnist", "FashionMNIST/raw"])
def test_fmnist_idx_files_in_either_layout(tmp_path, folder, monkeypatch):
    monkeypatch.setattr(D, "DEBIAN_FMNIST", tmp_path / "nowhere")
    d = tmp_path / folder
    d.mkdir(parents=True)
    imgs = np.arange(3 * 28 * 28).reshape(3, 28, 28) % 256
    for prefix in ("train", "t10k"):
        _write_idx(d / f"{prefix}-images-idx3-ubyte.gz", imgs)
        _write_idx(d / f"{prefix}-labels-idx1-ubyte.gz", np.array([2, 0, 9]))
    s = D.load("fmnist", True, tmp_path, download=False)
    assert s.images.shape == (3, 1, 28, 28) and s.labels.tolist() == [2, 0, 9]
    assert s.images[1, 0, 0, 0] == (28 * 28) % 256


def test_missing_fmnist_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(D, "DEBIAN_FMNIST", tmp_path / "nowhere")
    with pytest.raises(D.DatasetNotFound, match="apt-get install dataset-fashion-mnist"):
        D.load("fmnist", root=tmp_path, download=False)


def test_embedded_fashion_mnist_is_installed():
    """`make` installs Debian's dataset-fashion-mnist (or downloads it): the real images load."""
    s = D.load("fmnist", True)
    assert len(s) == 60000 and torch.bincount(s.labels).tolist() == [6000] * 10
    assert len(D.load("fmnist", False)) == 10000


def test_many_medium_few_and_head_mid_tail():
    s = D.many_medium_few([500, 101, 100, 20, 19, 1])
    assert s["many"].tolist() == [0, 1] and s["medium"].tolist() == [2, 3] and s["few"].tolist() == [4, 5]
    h = D.head_mid_tail(100)
    assert (len(h["head"]), len(h["mid"]), len(h["tail"])) == (36, 35, 29)
    assert D.head_mid_tail(10)["mid"].tolist() == [3, 4, 5, 6]
    with pytest.raises(ValueError):
        D.head_mid_tail(7)


def _all_crops(x, pad):
    xp = torch.nn.functional.pad(x, (pad,) * 4)
    h, w = x.shape[-2:]
    out = []
    for i in range(2 * pad + 1):
        for j in range(2 * pad + 1):
            c = xp[..., i:i + h, j:j + w]
            out += [c, c.flip(-1)]
    return out


def test_pad_crop_flip_outputs_a_crop_of_each_input():
    x = torch.randint(1, 255, (16, 3, 6, 6), dtype=torch.uint8)
    y = D.pad_crop_flip(x, 2, torch.Generator().manual_seed(0))
    assert y.shape == x.shape and y.dtype == x.dtype
    for a, b in zip(x, y):
        assert any(torch.equal(b, c) for c in _all_crops(a, 2))
    flips = sum(torch.equal(b, c) for a, b in zip(x, y) for c in _all_crops(a, 2)[1::2])
    assert 0 < flips < 16  # some flipped, some not


def test_pad_zero_is_identity_or_flip():
    x = torch.arange(2 * 1 * 3 * 3, dtype=torch.uint8).view(2, 1, 3, 3)
    y = D.pad_crop_flip(x, 0, torch.Generator().manual_seed(3))
    for a, b in zip(x, y):
        assert torch.equal(a, b) or torch.equal(a.flip(-1), b)


def test_device_batch_normalises():
    info = D.DATASETS["fmnist"]
    s = D.ImageSet(torch.full((4, 1, 28, 28), 255, dtype=torch.uint8), torch.arange(4), info)
    x, y = D.DeviceImages(s).batch(torch.tensor([0, 2]), augment=False)
    assert torch.allclose(x, torch.full_like(x, (1 - info.mean[0]) / info.std[0]))
    assert y.tolist() == [0, 2]


def test_mixup_mixes_pairs_convexly():
    x = torch.arange(8.0).view(4, 2)
    y = torch.tensor([0, 1, 2, 3])
    xm, ya, yb, lam = D.mixup(x, y, 1.0, torch.Generator().manual_seed(0))
    assert 0 <= lam <= 1 and torch.equal(ya, y)
    perm = yb  # labels are the row indices, so yb is the permutation
    assert torch.allclose(xm, lam * x + (1 - lam) * x[perm])


def test_auto_falls_back_to_fmnist_and_says_why_when_the_cifar_folder_is_incomplete(tmp_path):
    from ltnb.presets import resolve_dataset

    (tmp_path / "cifar-10-batches-py").mkdir()
    name, why = resolve_dataset("auto", tmp_path)
    assert name == "fmnist" and "lacks data_batch_1" in why
    assert not D.available("cifar10", tmp_path)
