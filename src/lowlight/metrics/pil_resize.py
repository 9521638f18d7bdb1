"""Pillow's bicubic resampling as two matrix products in torch (differentiable).

NIQE's reference implementation (scikit-video, after ``scipy.misc.imresize(img, 0.5,
interp='bicubic', mode='F')``) makes its second scale with Pillow's ``Image.resize(...,
BICUBIC)`` on a 32-bit float image. Pillow's resampling is separable: each output pixel
is a normalised sum of input pixels weighted by the Keys cubic (``a = -0.5``), whose
support is stretched by the scale factor when shrinking (so it low-pass filters, as
MATLAB's ``imresize`` does, but normalises the kernel at the borders where MATLAB
mirrors the image). This module builds the same weight matrices as Pillow's
``precompute_coeffs`` and applies them with ``W_h @ x @ W_w^T``; it matches Pillow to
float32 rounding (Pillow keeps its intermediate pass in float32).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch
from torch import Tensor

_BICUBIC_A = -0.5
_BICUBIC_SUPPORT = 2.0


def _bicubic(x: np.ndarray) -> np.ndarray:
    x = np.abs(x)
    a = _BICUBIC_A
    near = ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
    far = (((x - 5.0) * x + 8.0) * x - 4.0) * a
    return np.where(x < 1.0, near, np.where(x < 2.0, far, 0.0))


@lru_cache(maxsize=32)
def _weights(in_size: int, out_size: int) -> np.ndarray:
    """``(out_size, in_size)`` float64 resampling matrix, as Pillow's ``precompute_coeffs``."""
    scale = in_size / out_size
    filterscale = max(scale, 1.0)
    support = _BICUBIC_SUPPORT * filterscale
    matrix = np.zeros((out_size, in_size), dtype=np.float64)
    for xx in range(out_size):  # one row per output sample; sizes are small
        center = (xx + 0.5) * scale
        xmin = max(math.trunc(center - support + 0.5), 0)
        xmax = min(math.trunc(center + support + 0.5), in_size)
        taps = np.arange(xmin, xmax, dtype=np.float64)
        w = _bicubic((taps - center + 0.5) / filterscale)
        total = w.sum()
        if total != 0.0:
            w = w / total
        matrix[xx, xmin:xmax] = w
    return matrix


def pil_bicubic_resize(x: Tensor, size: tuple[int, int]) -> Tensor:
    """Resize like Pillow's ``Image.resize((w, h), Image.BICUBIC)`` on a float image.

    Args:
        x: ``(..., H, W)`` float tensor.
        size: output ``(height, width)``.

    Returns:
        ``(..., height, width)`` in ``x``'s dtype; differentiable in ``x``.
    """
    out_h, out_w = size
    if out_h < 1 or out_w < 1:
        raise ValueError(f"output size must be positive, got {size}")
    in_h, in_w = x.shape[-2:]
    wh = torch.from_numpy(_weights(in_h, out_h)).to(dtype=x.dtype, device=x.device)
    ww = torch.from_numpy(_weights(in_w, out_w)).to(dtype=x.dtype, device=x.device)
    return wh @ x @ ww.T
