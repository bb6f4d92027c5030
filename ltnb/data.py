"""Datasets, long-tailed subsets, class splits and device-resident batches.

The long-tailed subsets follow Cao et al. (2019), which all five papers use:
class ``i`` keeps ``int(n_max * imb ** (-i / (C - 1)))`` images, chosen as the first
indices of that class after a numpy shuffle seeded with 0 (classes visited in order).
"""
from __future__ import annotations

import gzip
import os
import pickle
import socket
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ltnb.augment import rand_augment  # noqa: F401 - RandAugment on device batches, re-exported here
from ltnb.paths import configured_dir


class DatasetNotFound(FileNotFoundError):
    """Raised when a dataset's files are not on this machine and cannot be downloaded."""


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    num_classes: int
    shape: tuple[int, int, int]  # C, H, W
    mean: tuple[float, ...]
    std: tuple[float, ...]
    pad: int  # pad-and-crop padding used by the augmentation
    classes: tuple[str, ...]
    train_per_class: int  # training images of each class in the balanced set (n_max of a long-tailed subset)
    test_images: int = 10_000  # the balanced test set (all three data sets have 10,000)


_CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                    "dog", "frog", "horse", "ship", "truck")
_FMNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")

DATASETS: dict[str, DatasetInfo] = {
    "cifar10": DatasetInfo("cifar10", 10, (3, 32, 32), (0.4914, 0.4822, 0.4465),
                           (0.2023, 0.1994, 0.2010), 4, _CIFAR10_CLASSES, 5000),
    "cifar100": DatasetInfo("cifar100", 100, (3, 32, 32), (0.5071, 0.4865, 0.4409),
                            (0.2673, 0.2564, 0.2762), 4, tuple(str(i) for i in range(100)), 500),
    # 28x28 grey: pad 3 keeps the same ~12% shift range as CIFAR's pad 4 on 32 pixels.
    "fmnist": DatasetInfo("fmnist", 10, (1, 28, 28), (0.2860,), (0.3530,), 3, _FMNIST_CLASSES, 6000),
}

DEBIAN_FMNIST = Path("/usr/share/datasets/fashion-mnist")


def dataset_info(name: str) -> DatasetInfo:
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {sorted(DATASETS)}")
    return DATASETS[name]


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The data root: ``root``, else ``$LTNB_DATA``, else ``data/`` in the repository."""
    return configured_dir(root, "LTNB_DATA", "data")


@dataclass
class ImageSet:
    """Images as a uint8 tensor (N, C, H, W) with int64 labels."""
    images: torch.Tensor
    labels: torch.Tensor
    info: DatasetInfo

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, idx) -> "ImageSet":
        idx = torch.as_tensor(np.asarray(idx), dtype=torch.long)
        return ImageSet(self.images[idx], self.labels[idx], self.info)


# --------------------------------------------------------------------------- loaders
def _cifar_dir(name: str) -> str:
    return "cifar-10-batches-py" if name == "cifar10" else "cifar-100-python"


def _how_to_get(name: str, root: Path) -> str:
    if name == "fmnist":
        return (f"Fashion-MNIST was not found in {DEBIAN_FMNIST} nor under {root}. "
                "Install it offline with `sudo apt-get install dataset-fashion-mnist` "
                "(Debian/Ubuntu), or put the four *-ubyte.gz files in "
                f"{root / 'fashion-mnist'} (or torchvision's {root / 'FashionMNIST/raw'}).")
    url = ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz" if name == "cifar10"
           else "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz")
    return (f"{name} was not found under {root / _cifar_dir(name)} and could not be "
            f"downloaded. Download {url} on a machine with network, extract it into {root} "
            "(or point $LTNB_DATA at a folder holding it), or use dataset='fmnist'.")


def _download(fn, name: str, root: Path, timeout: float = 15.0):
    """Run a torchvision download with a short socket timeout; never hang offline."""
    if os.environ.get("LTNB_OFFLINE"):
        raise DatasetNotFound(_how_to_get(name, root))
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)
    try:
        return fn()
    except Exception as err:  # no network, DNS failure, refused, truncated archive
        raise DatasetNotFound(_how_to_get(name, root) + f" (download failed: {err})") from err
    finally:
        socket.setdefaulttimeout(old)


_CIFAR_FILES = {"cifar10": (tuple(f"data_batch_{i}" for i in range(1, 6)), ("test_batch",)),
                "cifar100": (("train",), ("test",))}


def _unpickle(path: Path) -> dict:
    with open(path, "rb") as f:
        d = pickle.load(f, encoding="latin1")  # the files are Python 2 pickles
    return {(k.decode() if isinstance(k, bytes) else k): v for k, v in d.items()}


def _load_cifar(name: str, train: bool, root: Path, download: bool) -> ImageSet:
    """Read the CIFAR python batches (torchvision's layout); download through torchvision if allowed."""
    folder = root / _cifar_dir(name)
    files = [folder / f for f in _CIFAR_FILES[name][0 if train else 1]]
    if not all(f.is_file() for f in files):
        if not download:
            raise DatasetNotFound(_how_to_get(name, root))
        import torchvision

        cls = torchvision.datasets.CIFAR10 if name == "cifar10" else torchvision.datasets.CIFAR100
        root.mkdir(parents=True, exist_ok=True)
        _download(lambda: cls(str(root), train=train, download=True), name, root)
    key = "labels" if name == "cifar10" else "fine_labels"
    data, labels = [], []
    for f in files:
        try:
            d = _unpickle(f)
            data.append(np.asarray(d["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
            labels.extend(d[key])
        except Exception as err:
            raise DatasetNotFound(f"{f} is not a readable CIFAR python batch ({err}); "
                                  + _how_to_get(name, root)) from err
    images = torch.from_numpy(np.concatenate(data))
    return ImageSet(images, torch.as_tensor(labels, dtype=torch.long), DATASETS[name])


def _read_idx(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def _fmnist_files(train: bool, root: Path) -> tuple[Path, Path] | None:
    prefix = "train" if train else "t10k"
    for folder in (root / "fashion-mnist", root / "FashionMNIST" / "raw", DEBIAN_FMNIST):
        for ext in (".gz", ""):
            img = folder / f"{prefix}-images-idx3-ubyte{ext}"
            lab = folder / f"{prefix}-labels-idx1-ubyte{ext}"
            if img.is_file() and lab.is_file():
                return img, lab
    return None


def _load_fmnist(train: bool, root: Path, download: bool) -> ImageSet:
    files = _fmnist_files(train, root)
    if files is None and download:
        import torchvision

        root.mkdir(parents=True, exist_ok=True)
        _download(lambda: torchvision.datasets.FashionMNIST(str(root), train=train, download=True),
                  "fmnist", root)
        files = _fmnist_files(train, root)
    if files is None:
        raise DatasetNotFound(_how_to_get("fmnist", root))
    images = torch.from_numpy(_read_idx(files[0]).copy()).unsqueeze(1)
    labels = torch.from_numpy(_read_idx(files[1]).astype(np.int64))
    if len(images) != len(labels):
        raise DatasetNotFound(f"corrupt Fashion-MNIST files: {files} disagree in length")
    return ImageSet(images, labels, DATASETS["fmnist"])


def load(name: str, train: bool = True, root=None, download: bool = True) -> ImageSet:
    """Load a whole (balanced) split of ``name`` as uint8 tensors."""
    info = dataset_info(name)
    root = data_root(root)
    if info.name == "fmnist":
        return _load_fmnist(train, root, download)
    return _load_cifar(name, train, root, download)


def available(name: str, root=None) -> bool:
    """Whether ``name`` is on this machine (no download attempted)."""
    root = data_root(root)
    if dataset_info(name).name == "fmnist":
        return _fmnist_files(True, root) is not None
    folder = root / _cifar_dir(name)
    return all((folder / f).is_file() for split in _CIFAR_FILES[name] for f in split)


def missing_files(name: str, root=None) -> list[str]:
    """The CIFAR batch files ``name`` needs that are not in its folder (empty: all there)."""
    folder = data_root(root) / _cifar_dir(name)
    return [f for split in _CIFAR_FILES[name] for f in split if not (folder / f).is_file()]


# --------------------------------------------------------------------- long tail
def lt_counts(n_max: int, num_classes: int, imb: float) -> list[int]:
    """Per-class counts of the exponential profile: ``int(n_max * imb ** (-i / (C - 1)))``."""
    if imb < 1:
        raise ValueError(f"imbalance factor must be >= 1 (n_max / n_min), got {imb}")
    if num_classes < 2:
        raise ValueError("a long-tailed profile needs at least two classes")
    return [int(n_max * imb ** (-i / (num_classes - 1))) for i in range(num_classes)]


def lt_indices(labels, imb: float, seed: int = 0) -> np.ndarray:
    """Indices of the Cao et al. subset: per class in order, shuffle with a numpy seed, keep the first ``n_i``.

    The shuffles happen in class order from one seeded generator, so for every class the kept
    indices at imbalance ``a`` contain those kept at any ``b > a`` (the subsets are nested).
    """
    labels = np.asarray(labels)
    classes = np.unique(labels)
    n_max = int((labels == classes[0]).sum())
    counts = lt_counts(n_max, len(classes), imb)
    rng = np.random.RandomState(seed)  # legacy generator: matches np.random.seed(0) + shuffle
    keep = []
    for c, n in zip(classes, counts):
        idx = np.where(labels == c)[0]
        rng.shuffle(idx)
        keep.append(idx[:n])
    return np.concatenate(keep)


def class_counts(labels, num_classes: int) -> np.ndarray:
    return np.bincount(np.asarray(labels), minlength=num_classes)


@dataclass
class LongTailed:
    """A long-tailed training set, its balanced test set, and the training class counts."""
    train: ImageSet
    test: ImageSet
    counts: np.ndarray
    imb: float

    @property
    def info(self) -> DatasetInfo:
        return self.train.info


def long_tailed(name: str, imb: float, root=None, download: bool = True, subset_seed: int = 0) -> LongTailed:
    """The long-tailed training set at ``imb`` (the subset drawn with ``subset_seed``) and the full test set."""
    if imb < 1:
        raise ValueError(f"imbalance factor must be >= 1 (n_max / n_min), got {imb}")
    info = dataset_info(name)
    full = load(name, True, root, download)
    test = load(name, False, root, download)
    train = full.subset(lt_indices(full.labels.numpy(), imb, int(subset_seed)))
    return LongTailed(train, test, class_counts(train.labels, info.num_classes), imb)


# ------------------------------------------------------------------------ splits
def many_medium_few(counts) -> dict[str, np.ndarray]:
    """Class indices by training count: many (>100), medium (20-100), few (<20)."""
    counts = np.asarray(counts)
    return {"many": np.where(counts > 100)[0],
            "medium": np.where((counts >= 20) & (counts <= 100))[0],
            "few": np.where(counts < 20)[0]}


_HMT = {10: (3, 7), 100: (36, 71)}


def head_mid_tail(num_classes: int) -> dict[str, np.ndarray]:
    """Index ranges of the angular paper: CIFAR-10 [0,3),[3,7),[7,10); CIFAR-100 [0,36),[36,71),[71,100)."""
    if num_classes not in _HMT:
        raise ValueError(f"head/mid/tail ranges are defined for 10 or 100 classes, not {num_classes}")
    a, b = _HMT[num_classes]
    return {"head": np.arange(0, a), "mid": np.arange(a, b), "tail": np.arange(b, num_classes)}


# ---------------------------------------------------------------- device batches
class DeviceImages:
    """A dataset held on the device as uint8; batches are normalised and augmented there.

    ``randaugment`` adds RandAugment (2 ops at magnitude 9) after the pad-crop-flip of an
    augmented batch, still on uint8 (LGLA, following PaCo and NCL).
    """

    def __init__(self, data: ImageSet, device="cpu", randaugment: bool = False):
        self.device = torch.device(device)
        self.randaugment = bool(randaugment)
        self.images = data.images.to(self.device)
        self.labels = data.labels.to(self.device)
        self.info = data.info
        shape = (1, -1, 1, 1)
        self.mean = torch.tensor(data.info.mean, device=self.device).view(shape) * 255
        self.std = torch.tensor(data.info.std, device=self.device).view(shape) * 255

    def __len__(self) -> int:
        return len(self.labels)

    def batch(self, idx: torch.Tensor, augment: bool, generator: torch.Generator | None = None,
              dtype=torch.float32, draws=None, ra_draws=None):
        """Normalised images ``idx`` (padded, cropped and flipped by ``draws``, else drawn from ``generator``;
        RandAugment, when on, by ``ra_draws`` from :func:`ltnb.augment.rand_augment_draws`)."""
        x = self.images[idx]
        if augment:
            x = pad_crop_flip(x, self.info.pad, generator, draws)
            if self.randaugment:
                x = rand_augment(x, generator, draws=ra_draws)
        x = (x.to(dtype) - self.mean.to(dtype)) / self.std.to(dtype)
        return x, self.labels[idx]


def crop_flip_draws(n: int, pad: int, generator: torch.Generator | None = None):
    """The random numbers of :func:`pad_crop_flip` for ``n`` images, drawn on the CPU: offsets (2, n), flips (n,)."""
    off = torch.randint(0, 2 * pad + 1, (2, n), generator=generator, device="cpu")
    flip = torch.rand(n, generator=generator, device="cpu") < 0.5
    return off, flip


def pad_crop_flip(x: torch.Tensor, pad: int, generator: torch.Generator | None = None, draws=None) -> torch.Tensor:
    """Zero-pad by ``pad``, crop back at a random offset per image, flip half the images.

    ``draws`` (from :func:`crop_flip_draws`, on any device) replaces drawing from ``generator``.
    """
    n, _, h, w = x.shape
    dev = x.device
    off, flip = draws if draws is not None else crop_flip_draws(n, pad, generator)
    off, flip = off.to(dev), flip.to(dev)
    xp = torch.nn.functional.pad(x, (pad, pad, pad, pad))
    rows = (off[0].view(n, 1) + torch.arange(h, device=dev).view(1, h))  # n, h
    cols = torch.arange(w, device=dev).view(1, w)
    cols = torch.where(flip.view(n, 1), w - 1 - cols, cols) + off[1].view(n, 1)  # n, w
    b = torch.arange(n, device=dev).view(n, 1, 1, 1)
    c = torch.arange(x.shape[1], device=dev).view(1, -1, 1, 1)
    return xp[b, c, rows.view(n, 1, h, 1), cols.view(n, 1, 1, w)]


def mixup_draws(n: int, alpha: float, generator: torch.Generator | None = None):
    """The random numbers of :func:`mixup` for a batch of ``n``: lambda ~ Beta(alpha, alpha) and a permutation."""
    lam = float(np.random.default_rng(
        int(torch.randint(0, 2**31 - 1, (1,), generator=generator))).beta(alpha, alpha))
    return lam, torch.randperm(n, generator=generator, device="cpu")


def mixup(x: torch.Tensor, y: torch.Tensor, alpha: float, generator: torch.Generator | None = None, draws=None):
    """Mixup (Zhang et al. 2018): returns mixed x, both targets and lambda ~ Beta(alpha, alpha).

    ``draws`` (from :func:`mixup_draws`) replaces drawing from ``generator``.
    """
    lam, perm = draws if draws is not None else mixup_draws(len(y), alpha, generator)
    perm = perm.to(x.device)
    return lam * x + (1 - lam) * x[perm], y, y[perm], lam


def save_cifar_python(folder: Path, name: str, images: np.ndarray, labels: np.ndarray, train: bool):
    """Write images (N, 32, 32, 3) uint8 in the CIFAR python pickle layout (for tests and tools).

    Keys are ``str``, as the original Python 2 files read under ``encoding="latin1"``.
    """
    folder = Path(folder) / _cifar_dir(name)
    folder.mkdir(parents=True, exist_ok=True)
    flat = images.transpose(0, 3, 1, 2).reshape(len(images), -1)
    key = "labels" if name == "cifar10" else "fine_labels"
    if name == "cifar10":
        files = ([f"data_batch_{i}" for i in range(1, 6)] if train else ["test_batch"])
        parts = np.array_split(np.arange(len(images)), len(files))
        for fname, part in zip(files, parts):
            with open(folder / fname, "wb") as f:
                pickle.dump({"batch_label": "synthetic", key: labels[part].tolist(),
                             "data": flat[part], "filenames": ["x.png"] * len(part)}, f)
        with open(folder / "batches.meta", "wb") as f:
            pickle.dump({"label_names": list(_CIFAR10_CLASSES),
                         "num_cases_per_batch": len(parts[0]), "num_vis": 3072}, f)
    else:
        with open(folder / ("train" if train else "test"), "wb") as f:
            pickle.dump({"filenames": ["x.png"] * len(images), key: labels.tolist(),
                         "coarse_labels": (labels // 5).tolist(), "data": flat}, f)
        with open(folder / "meta", "wb") as f:
            pickle.dump({"fine_label_names": [str(i) for i in range(100)],
                         "coarse_label_names": [str(i) for i in range(20)]}, f)
