"""RandAugment (Cubuk et al. 2020) on a batch of uint8 images on the device, one op draw per image.

torchvision's ``RandAugment`` draws one op for a whole tensor. Here every image draws its own
``num_ops`` ops (and signs); the images that drew the same op are transformed together with
torchvision's functional ops, which accept ``(N, C, H, W)`` uint8 tensors on CPU and CUDA.
The op list and the magnitude scale are torchvision's (31 bins, magnitude 9 by default).
Re-exported by :mod:`ltnb.data`.
"""
from __future__ import annotations

import math

import torch

OPS = ("Identity", "ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate", "Brightness", "Color",
       "Contrast", "Sharpness", "Posterize", "Solarize", "AutoContrast", "Equalize")
SIGNED = {"ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate", "Brightness", "Color", "Contrast", "Sharpness"}


def op_magnitude(op: str, magnitude: int, height: int, width: int, bins: int = 31) -> float:
    """The strength of ``op`` at level ``magnitude`` of ``bins`` (torchvision's RandAugment scale)."""
    if not 0 <= magnitude < bins:
        raise ValueError(f"magnitude must be in [0, {bins}), got {magnitude}")
    f = magnitude / (bins - 1)
    if op in ("ShearX", "ShearY"):
        return 0.3 * f
    if op == "TranslateX":
        return 150.0 / 331.0 * width * f
    if op == "TranslateY":
        return 150.0 / 331.0 * height * f
    if op == "Rotate":
        return 30.0 * f
    if op in ("Brightness", "Color", "Contrast", "Sharpness"):
        return 0.9 * f
    if op == "Posterize":
        return float(8 - round(magnitude / ((bins - 1) / 4)))  # bits kept
    if op == "Solarize":
        return 1.0 - f  # threshold as a fraction of 255
    if op in ("Identity", "AutoContrast", "Equalize"):
        return 0.0
    raise ValueError(f"unknown RandAugment op {op!r}; choose one of {OPS}")


def apply_op(x: torch.Tensor, op: str, m: float) -> torch.Tensor:
    """One RandAugment op of signed strength ``m`` on uint8 images ``(N, C, H, W)``; fill 0, nearest pixels."""
    from torchvision.transforms import InterpolationMode  # imported here: ltnb.data stays light to import
    from torchvision.transforms.v2 import functional as TF

    nearest = InterpolationMode.NEAREST
    if op == "Identity":
        return x
    if op in ("ShearX", "ShearY"):
        shear = [math.degrees(math.atan(m)), 0.0] if op == "ShearX" else [0.0, math.degrees(math.atan(m))]
        return TF.affine(x, angle=0.0, translate=[0, 0], scale=1.0, shear=shear, interpolation=nearest,
                         fill=0, center=[0, 0])
    if op in ("TranslateX", "TranslateY"):
        t = [int(m), 0] if op == "TranslateX" else [0, int(m)]
        return TF.affine(x, angle=0.0, translate=t, scale=1.0, shear=[0.0, 0.0], interpolation=nearest, fill=0)
    if op == "Rotate":
        return TF.rotate(x, angle=m, interpolation=nearest, fill=0)
    if op == "Brightness":
        return TF.adjust_brightness(x, 1.0 + m)
    if op == "Color":
        return TF.adjust_saturation(x, 1.0 + m)  # a no-op on one-channel images, as in torchvision
    if op == "Contrast":
        return TF.adjust_contrast(x, 1.0 + m)
    if op == "Sharpness":
        return TF.adjust_sharpness(x, 1.0 + m)
    if op == "Posterize":
        return TF.posterize(x, int(m))
    if op == "Solarize":
        return TF.solarize(x, 255.0 * m)
    if op == "AutoContrast":
        return TF.autocontrast(x)
    if op == "Equalize":
        return TF.equalize(x)
    raise ValueError(f"unknown RandAugment op {op!r}; choose one of {OPS}")


def rand_augment_draws(n: int, generator: torch.Generator | None = None, num_ops: int = 2, num_choices: int = len(OPS)):
    """The random numbers of :func:`rand_augment` for ``n`` images, on the CPU: op indices and negative signs, ``(num_ops, n)``."""
    choice = torch.randint(0, num_choices, (num_ops, n), generator=generator, device="cpu")
    negative = torch.rand(num_ops, n, generator=generator, device="cpu") < 0.5
    return choice, negative


def rand_augment(x: torch.Tensor, generator: torch.Generator | None = None, num_ops: int = 2,
                 magnitude: int = 9, ops=OPS, draws=None) -> torch.Tensor:
    """RandAugment on uint8 images ``(N, C, H, W)``: each image applies ``num_ops`` ops drawn uniformly
    from ``ops`` in turn, signed ops with a random sign; the draws come from ``generator`` (on the CPU)
    or are given as ``draws`` (:func:`rand_augment_draws`)."""
    if x.dtype != torch.uint8 or x.ndim != 4:
        raise ValueError(f"rand_augment takes uint8 images (N, C, H, W), got {x.dtype} {tuple(x.shape)}")
    n, _, h, w = x.shape
    choice, negative = draws if draws is not None else rand_augment_draws(n, generator, num_ops, len(ops))
    choice, negative = choice.cpu(), negative.cpu()
    if choice.shape != (num_ops, n) or int(choice.max()) >= len(ops):
        raise ValueError(f"RandAugment draws of shape {tuple(choice.shape)} do not fit {num_ops} ops on {n} images")
    x = x.clone()
    for r in range(num_ops):
        for i, op in enumerate(ops):
            picked = choice[r] == i
            if op == "Identity" or not picked.any():
                continue
            m = op_magnitude(op, magnitude, h, w)
            for sign in ((1.0, -1.0) if op in SIGNED else (1.0,)):
                sel = picked & (negative[r] == (sign < 0)) if op in SIGNED else picked
                if sel.any():
                    idx = sel.nonzero().squeeze(1).to(x.device)
                    x[idx] = apply_op(x[idx], op, sign * m)
    return x
