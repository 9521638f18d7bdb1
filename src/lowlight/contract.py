"""The image-batch contract shared by models and inference (no dependency on either).

Every model takes ``(B, 3, H, W)`` float sRGB in ``[0, 1]`` of any ``H`` and ``W`` and
returns the same shape and range. :func:`check_image_batch` checks this at the boundary:
type, shape, dtype, emptiness and finiteness (one reduction over the values; NaN or Inf
would otherwise come back as an all-NaN image from some models, or fail deep inside
``torch.linalg`` in others). :data:`Context` is the whole-image information that tiled
inference passes to each tile.

This module sits below both :mod:`lowlight.models` and :mod:`lowlight.inference`, so
neither imports the other at module level (no import cycle).
"""

from __future__ import annotations

import torch
from torch import Tensor

Context = dict[str, Tensor]
"""Whole-image information for tiled inference. 4-D values ``(B, C, h, w)`` with ``h * w > 1``
are spatial maps over the *whole* image and are resampled to each tile; other values
(scalars, ``(B, C, 1, 1)`` gains) are global and pass through unchanged."""


def is_spatial_map(value: Tensor) -> bool:
    """Whether a context value is a spatial map (4-D and larger than 1x1)."""
    return value.ndim == 4 and value.shape[-1] * value.shape[-2] > 1


def check_image_batch(x: Tensor, name: str = "input") -> None:
    """Raise unless ``x`` is a finite float ``(B, 3, H, W)`` tensor.

    Raises:
        TypeError: ``x`` is not a tensor.
        ValueError: wrong shape, non-float dtype, an empty dimension, or NaN/Inf values
            (the message names ``name`` and counts the bad values).
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(x).__name__}")
    if x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(
            f"{name}: expected an image batch of shape (B, 3, H, W), got {tuple(x.shape)}"
        )
    if not x.is_floating_point():
        raise ValueError(f"{name}: expected a float tensor in [0, 1], got dtype {x.dtype}")
    if x.shape[-1] == 0 or x.shape[-2] == 0 or x.shape[0] == 0:
        raise ValueError(f"{name}: empty image batch {tuple(x.shape)}")
    if not bool(torch.isfinite(x).all()):
        bad = int((~torch.isfinite(x)).sum())
        raise ValueError(
            f"{name}: {bad} value(s) are NaN or infinite; images must be finite floats in [0, 1]"
        )


__all__ = ["Context", "check_image_batch", "is_spatial_map"]
