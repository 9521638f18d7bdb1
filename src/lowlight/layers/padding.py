"""Pad images to a multiple of a network's down-sampling factor and crop back."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def pad_to_multiple(
    x: Tensor, multiple: int, mode: str = "reflect"
) -> tuple[Tensor, tuple[int, int]]:
    """Pad the bottom and right of ``x`` so H and W are multiples of ``multiple``.

    Reflect padding needs the pad to be smaller than the side; where it is not
    (tiny images), replicate padding is used instead.

    Args:
        x: ``(B, C, H, W)``.
        multiple: the factor, >= 1.
        mode: ``reflect`` or ``replicate``.

    Returns:
        the padded tensor ``(B, C, H', W')`` and the original ``(H, W)`` for :func:`crop_to`.
    """
    h, w = x.shape[-2:]
    pad_h = (-h) % multiple
    pad_w = (-w) % multiple
    if pad_h == 0 and pad_w == 0:
        return x, (h, w)
    if mode == "reflect" and (pad_h >= h or pad_w >= w):
        mode = "replicate"
    return F.pad(x, (0, pad_w, 0, pad_h), mode=mode), (h, w)


def crop_to(x: Tensor, size: tuple[int, int]) -> Tensor:
    """Crop ``(B, C, H', W')`` back to the top-left ``size = (H, W)``."""
    h, w = size
    return x[..., :h, :w]


def downscale_to_max_side(x: Tensor, max_side: int) -> Tensor:
    """Area-downscale ``(B, C, H, W)`` so its longer side is at most ``max_side`` (no-op if smaller)."""
    h, w = x.shape[-2:]
    scale = max_side / max(h, w)
    if scale >= 1.0:
        return x
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    return F.interpolate(x, size=size, mode="area")


def as_float_image(x: Tensor) -> Tensor:
    """Cast to float32 if ``x`` is an integer or half tensor (no copy when already float32)."""
    return x if x.dtype == torch.float32 else x.float()
