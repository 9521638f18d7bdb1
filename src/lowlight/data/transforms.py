"""Functional augmentations for training crops, shared by the unpaired and paired datasets.

Images are numpy ``(H, W, C)`` float32 arrays in ``[0, 1]`` (as :func:`lowlight.io.read_image`
returns them); :func:`augment_tensor` applies the same geometric transforms to torch
tensors ``(..., H, W)``. Randomness is drawn from an explicit ``numpy.random.Generator``
first (:func:`sample_crop`, :func:`sample_augment`) and then applied, so a pair is
transformed identically by applying the *same* parameters to both partners.

Choice where images are smaller than the crop: they are resized up (bilinear, aspect ratio
kept) until the shorter side equals the crop, never padded — padding would put artificial
mirrored or constant borders into the training signal, resizing keeps natural content.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor


@dataclass(frozen=True)
class Augment:
    """A geometric augmentation: flips, then a counter-clockwise rotation by ``rot90 * 90`` degrees."""

    hflip: bool = False
    vflip: bool = False
    rot90: int = 0

    @property
    def identity(self) -> bool:
        return not self.hflip and not self.vflip and self.rot90 % 4 == 0


def sample_augment(rng: np.random.Generator, flips: bool = True, rot90: bool = False) -> Augment:
    """Draw independent horizontal/vertical flips (p = 0.5 each) and a rotation in {0, 90, 180, 270}."""
    draws = rng.integers(0, 2, size=2) if flips else (0, 0)
    k = int(rng.integers(0, 4)) if rot90 else 0
    return Augment(hflip=bool(draws[0]), vflip=bool(draws[1]), rot90=k)


def apply_augment(image: np.ndarray, aug: Augment) -> np.ndarray:
    """Apply ``aug`` to ``(H, W, C)``; returns a view where possible (see :func:`to_tensor`)."""
    if aug.hflip:
        image = image[:, ::-1]
    if aug.vflip:
        image = image[::-1]
    if aug.rot90 % 4:
        image = np.rot90(image, k=aug.rot90, axes=(0, 1))
    return image


def augment_tensor(x: Tensor, aug: Augment) -> Tensor:
    """Apply ``aug`` to a tensor ``(..., H, W)`` exactly as :func:`apply_augment` does to ``(H, W, C)``."""
    if aug.hflip:
        x = x.flip(-1)
    if aug.vflip:
        x = x.flip(-2)
    if aug.rot90 % 4:
        x = torch.rot90(x, k=aug.rot90, dims=(-2, -1))
    return x


def resize_to_cover(image: np.ndarray, size: int) -> np.ndarray:
    """Resize ``(H, W, C)`` up (bilinear, aspect kept) so that ``min(H, W) >= size``; no-op if it already is."""
    h, w = image.shape[:2]
    if min(h, w) >= size:
        return image
    scale = size / min(h, w)
    new_h = max(size, math.ceil(h * scale - 1e-6))
    new_w = max(size, math.ceil(w * scale - 1e-6))
    t = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)).permute(2, 0, 1)[None]
    t = F.interpolate(t, size=(new_h, new_w), mode="bilinear", align_corners=False)
    return t[0].permute(1, 2, 0).clamp_(0.0, 1.0).numpy()


def sample_crop(rng: np.random.Generator, height: int, width: int, size: int) -> tuple[int, int]:
    """Uniform top-left corner ``(top, left)`` of a ``size x size`` window inside ``height x width``."""
    if height < size or width < size:
        raise ValueError(f"cannot crop {size}x{size} from {height}x{width}; resize first")
    top = int(rng.integers(0, height - size + 1))
    left = int(rng.integers(0, width - size + 1))
    return top, left


def crop(image: np.ndarray, top: int, left: int, size: int) -> np.ndarray:
    """The ``size x size`` window of ``(H, W, C)`` at ``(top, left)`` (a view)."""
    return image[top : top + size, left : left + size]


def random_crop_augment(
    image: np.ndarray,
    size: int | None,
    rng: np.random.Generator,
    flips: bool = True,
    rot90: bool = False,
) -> np.ndarray:
    """Unpaired training view: resize up if needed, random ``size`` crop (``None`` = whole image), augment."""
    if size is not None:
        image = resize_to_cover(image, size)
        top, left = sample_crop(rng, image.shape[0], image.shape[1], size)
        image = crop(image, top, left, size)
    return apply_augment(image, sample_augment(rng, flips, rot90))


def paired_random_crop_augment(
    inp: np.ndarray,
    target: np.ndarray,
    size: int | None,
    rng: np.random.Generator,
    flips: bool = True,
    rot90: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Paired training view: the same resize, crop window, flips and rotation on both partners.

    Both must have the same ``(H, W)``.
    """
    if inp.shape[:2] != target.shape[:2]:
        raise ValueError(f"pair sizes differ: {inp.shape[:2]} vs {target.shape[:2]}")
    if size is not None:
        inp = resize_to_cover(inp, size)
        target = resize_to_cover(target, size)
        top, left = sample_crop(rng, inp.shape[0], inp.shape[1], size)
        inp = crop(inp, top, left, size)
        target = crop(target, top, left, size)
    aug = sample_augment(rng, flips, rot90)
    return apply_augment(inp, aug), apply_augment(target, aug)


class SampleKey(NamedTuple):
    """A dataset index with the seed of that sample's random augmentation.

    The training sampler hands these to the datasets so that each sample's crop and
    flips are a pure function of ``(run seed, position in the sample stream)``: the same
    with any number of loader workers, and the same after resuming from a checkpoint.
    """

    index: int
    seed: int


class _ProcessRNG:
    """One generator per process for plain integer keys, created on first use."""

    pid: int | None = None
    rng: np.random.Generator | None = None

    @classmethod
    def get(cls) -> np.random.Generator:
        if cls.rng is None or cls.pid != os.getpid():
            cls.pid = os.getpid()
            cls.rng = np.random.default_rng(torch.initial_seed())
        return cls.rng


def sample_rng(key: int | SampleKey | tuple[int, int]) -> tuple[int, np.random.Generator]:
    """``(index, generator)`` for a dataset key.

    A :class:`SampleKey` (or an ``(index, seed)`` tuple) gives a generator seeded with its
    ``seed``. A plain ``int`` (a dataset used on its own) draws from one generator per
    process, seeded from ``torch.initial_seed()`` at first use — distinct in each
    DataLoader worker, reproducible after ``torch.manual_seed`` in a fresh process.
    """
    if isinstance(key, tuple):
        index, seed = key
        return int(index), np.random.default_rng(int(seed))
    return int(key), _ProcessRNG.get()


def to_tensor(image: np.ndarray) -> Tensor:
    """``(H, W, 3)`` float array (any strides) -> contiguous ``(3, H, W)`` float32 tensor."""
    chw = np.ascontiguousarray(np.transpose(image, (2, 0, 1)), dtype=np.float32)
    return torch.from_numpy(chw)


__all__ = [
    "Augment",
    "SampleKey",
    "apply_augment",
    "augment_tensor",
    "crop",
    "paired_random_crop_augment",
    "random_crop_augment",
    "resize_to_cover",
    "sample_augment",
    "sample_crop",
    "sample_rng",
    "to_tensor",
]
