"""Make a dataset available: ``python -m ltnb.prepare fmnist`` (or cifar10, cifar100).

Fashion-MNIST is found in Debian's ``dataset-fashion-mnist`` files when installed; anything
missing is downloaded by torchvision into the data root when a network allows.
"""
from __future__ import annotations

import argparse
import sys

from ltnb import data


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ltnb.prepare", description=__doc__.splitlines()[0])
    ap.add_argument("datasets", nargs="+", choices=sorted(data.DATASETS))
    ap.add_argument("--root", default=None, help="data root (default: $LTNB_DATA or data/)")
    args = ap.parse_args(argv)
    for name in args.datasets:
        try:
            train = data.load(name, True, args.root)
            test = data.load(name, False, args.root)
        except data.DatasetNotFound as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        print(f"{name}: {len(train):,} training and {len(test):,} test images ready")
    return 0


if __name__ == "__main__":
    sys.exit(main())
