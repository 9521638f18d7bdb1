"""Boundary conversions for metrics: every input becomes one 8-bit RGB image first.

The evaluation protocol of the field scores the 8-bit image a method would save, so
all metrics quantise first (``np.round(np.clip(x, 0, 1) * 255)`` as ``uint8``) and
then work on that one representation: ``(H, W, 3)`` ``uint8`` numpy, or its
``(1, 3, H, W)`` float64 tensor for the torch metrics.

Accepted inputs: numpy ``(H, W, 3)`` float in [0, 1] or ``uint8``; torch ``(3, H, W)``
or ``(1, 3, H, W)`` float in [0, 1] or ``uint8``. Floats are clipped and rounded in
their own precision (float32 stays float32, as a saved PNG of a float32 output would).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from lowlight.errors import LowlightError

# ITU-R BT.601 luma, as OpenCV's COLOR_RGB2GRAY (used by the GT-mean correction).
BT601_LUMA = (0.299, 0.587, 0.114)


class MetricInputError(LowlightError, ValueError):
    """An image a metric cannot score (wrong shape or dtype, mismatched sizes, NaN)."""


def _to_numpy_hwc(image: Any) -> np.ndarray:
    if isinstance(image, Tensor):
        t = image.detach()
        if t.dim() == 4:
            if t.shape[0] != 1:
                raise MetricInputError(
                    f"a metric scores one image at a time; got a batch of {t.shape[0]} "
                    f"(shape {tuple(t.shape)}); pass (3, H, W) or (1, 3, H, W)"
                )
            t = t[0]
        if t.dim() != 3 or t.shape[0] != 3:
            raise MetricInputError(
                f"expected a tensor of shape (3, H, W) or (1, 3, H, W), got {tuple(image.shape)}"
            )
        return t.permute(1, 2, 0).cpu().numpy()
    if isinstance(image, np.ndarray):
        return image
    raise MetricInputError(
        f"expected a numpy array (H, W, 3) or a torch tensor (3, H, W), got {type(image).__name__}"
    )


def quantize_uint8(image: Any) -> np.ndarray:
    """The 8-bit image the protocol scores.

    Args:
        image: numpy ``(H, W, 3)`` float in [0, 1] or ``uint8``, or torch ``(3, H, W)`` /
            ``(1, 3, H, W)`` float in [0, 1] or ``uint8``.

    Returns:
        ``(H, W, 3)`` ``uint8``: ``np.round(np.clip(x, 0, 1) * 255)`` for floats, the
        same pixels for ``uint8`` input.

    Raises:
        MetricInputError: another shape or dtype, or non-finite values.
    """
    arr = _to_numpy_hwc(image)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise MetricInputError(f"expected an RGB image of shape (H, W, 3), got {arr.shape}")
    if arr.dtype == np.uint8:
        return np.ascontiguousarray(arr)
    if not np.issubdtype(arr.dtype, np.floating):
        raise MetricInputError(
            f"expected float in [0, 1] or uint8 pixels, got dtype {arr.dtype}; "
            "convert other bit depths to float in [0, 1] first"
        )
    if not np.isfinite(arr).all():
        raise MetricInputError("image holds NaN or infinite values")
    return np.round(np.clip(arr, 0, 1) * 255).astype(np.uint8)


def quantize_pair(pred: Any, target: Any) -> tuple[np.ndarray, np.ndarray]:
    """Both images quantised with :func:`quantize_uint8`; their shapes must agree."""
    p, t = quantize_uint8(pred), quantize_uint8(target)
    if p.shape != t.shape:
        raise MetricInputError(f"prediction {p.shape} and target {t.shape} differ in size")
    return p, t


def uint8_to_tensor(image: np.ndarray, dtype: torch.dtype = torch.float64) -> Tensor:
    """``(H, W, 3)`` ``uint8`` -> ``(1, 3, H, W)`` tensor in 0-255 (not rescaled)."""
    return torch.tensor(image, dtype=dtype).permute(2, 0, 1)[None]


def luma_bt601(image: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` float RGB -> ``(H, W)`` float64 luma ``0.299 R + 0.587 G + 0.114 B``."""
    r, g, b = BT601_LUMA
    img = image.astype(np.float64)
    return r * img[..., 0] + g * img[..., 1] + b * img[..., 2]
