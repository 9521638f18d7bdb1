"""Conversions between integer/float pixel arrays and lowlight's float32 RGB convention.

Convention: colour is ``(H, W, 3)`` float32 in ``[0, 1]``; alpha, when present, is a
separate ``(H, W)`` float32 in ``[0, 1]``. Integer arrays are scaled by their full
range (255 for ``uint8``, 65535 for ``uint16``); the way back rounds to nearest after
clipping: ``np.round(np.clip(x, 0, 1) * 255)``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import DTypeLike

BT601_LUMA = (0.299, 0.587, 0.114)
"""ITU-R BT.601 luma weights used to turn RGB into grey."""

_INT_MAX = {np.dtype(np.uint8): 255, np.dtype(np.uint16): 65535}


def array_to_float(array: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Split an image array into float RGB and an optional float alpha.

    Args:
        array: ``(H, W)`` or ``(H, W, 1)`` grey, ``(H, W, 2)`` grey + alpha, ``(H, W, 3)``
            RGB or ``(H, W, 4)`` RGBA, of dtype ``uint8``, ``uint16`` or float (float
            values are taken to be in ``[0, 1]`` and clipped to it).

    Returns:
        ``(rgb, alpha)``: ``rgb`` is ``(H, W, 3)`` float32 in ``[0, 1]`` (grey repeated
        in the three channels); ``alpha`` is ``(H, W)`` float32 or ``None``.

    Raises:
        ValueError: another shape or dtype, an empty image, or non-finite float values.
    """
    array = np.asarray(array)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in (1, 2, 3, 4):
        raise ValueError(
            f"expected an image array of shape (H, W), (H, W, 1), (H, W, 2), (H, W, 3) or "
            f"(H, W, 4), got {array.shape}"
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"empty image array of shape {array.shape}")
    values = _to_unit_float(array)
    channels = values.shape[2]
    alpha = values[:, :, -1].copy() if channels in (2, 4) else None
    colour = values[:, :, :3] if channels >= 3 else np.repeat(values[:, :, :1], 3, axis=2)
    return np.ascontiguousarray(colour, dtype=np.float32), alpha


def float_to_array(
    rgb: np.ndarray,
    dtype: DTypeLike,
    alpha: np.ndarray | None = None,
    channels: int = 3,
) -> np.ndarray:
    """Inverse of :func:`array_to_float`: quantise float RGB (and alpha) to ``dtype``.

    Args:
        rgb: ``(H, W, 3)`` float in ``[0, 1]`` (values outside are clipped).
        dtype: ``uint8``, ``uint16`` (rounded to nearest after clipping) or a float dtype.
        alpha: ``(H, W)`` float in ``[0, 1]``; used for ``channels`` 2 and 4 (opaque
            when ``None``), an error for ``channels`` 1 and 3.
        channels: 1 -> ``(H, W)`` grey (ITU-R BT.601 luma), 2 -> ``(H, W, 2)`` grey +
            alpha, 3 -> ``(H, W, 3)`` RGB, 4 -> ``(H, W, 4)`` RGBA.

    Returns:
        the array in ``dtype``.
    """
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected RGB of shape (H, W, 3), got {rgb.shape}")
    if not np.issubdtype(rgb.dtype, np.floating):
        raise ValueError(f"expected a float RGB array in [0, 1], got dtype {rgb.dtype}")
    if channels not in (1, 2, 3, 4):
        raise ValueError(f"channels must be 1, 2, 3 or 4, got {channels}")
    if alpha is not None:
        if channels in (1, 3):
            raise ValueError(f"alpha was given but channels={channels} has no alpha channel")
        alpha = np.asarray(alpha)
        if alpha.shape != rgb.shape[:2]:
            raise ValueError(f"alpha shape {alpha.shape} does not match RGB {rgb.shape[:2]}")
    target = np.dtype(dtype)
    if target not in _INT_MAX and not np.issubdtype(target, np.floating):
        raise ValueError(f"dtype must be uint8, uint16 or a float dtype, got {target}")

    if alpha is not None and not np.isfinite(alpha).all():
        raise ValueError("image array contains NaN or infinite values")
    if channels == 3 and target in _INT_MAX:
        return _rgb_to_int(rgb, target)
    if not np.isfinite(rgb).all():
        raise ValueError("image array contains NaN or infinite values")
    colour = np.clip(rgb.astype(np.float32, copy=False), 0.0, 1.0)
    if channels in (1, 2):
        colour = luma(colour)[:, :, None]
    if channels in (2, 4):
        a = np.ones(rgb.shape[:2], np.float32) if alpha is None else alpha
        a = np.clip(np.asarray(a, dtype=np.float32), 0.0, 1.0)
        colour = np.concatenate([colour, a[:, :, None]], axis=2)
    out = _from_unit_float(colour, target)
    return out[:, :, 0] if channels == 1 else out


ROWS_PER_BLOCK = 256
"""Rows converted at a time by :func:`_rgb_to_int` (bounds its float temporaries)."""


def _rgb_to_int(rgb: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``(H, W, 3)`` float -> ``dtype`` by blocks of rows: the same values as clipping,
    scaling and rounding the whole image, with float temporaries of one block only (a
    48 MP photo would otherwise need two more full-size float copies).

    Raises:
        ValueError: non-finite values.
    """
    out = np.empty(rgb.shape, dtype)
    for y0 in range(0, rgb.shape[0], ROWS_PER_BLOCK):
        block = rgb[y0 : y0 + ROWS_PER_BLOCK].astype(np.float32, copy=False)
        if not np.isfinite(block).all():
            raise ValueError("image array contains NaN or infinite values")
        values = np.clip(block, 0.0, 1.0)
        out[y0 : y0 + ROWS_PER_BLOCK] = _from_unit_float(values, dtype)
    return out


def luma(rgb: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma ``0.299 R + 0.587 G + 0.114 B`` of ``(H, W, 3)`` -> ``(H, W)`` float32."""
    r, g, b = BT601_LUMA
    out = rgb[:, :, 0] * np.float32(r) + rgb[:, :, 1] * np.float32(g)
    out += rgb[:, :, 2] * np.float32(b)
    return out.astype(np.float32, copy=False)


def _to_unit_float(array: np.ndarray) -> np.ndarray:
    """Integer or float array -> float32 in ``[0, 1]`` (same shape)."""
    maximum = _INT_MAX.get(array.dtype)
    if maximum is not None:
        values = array.astype(np.float32)
        values *= np.float32(1.0 / maximum)  # in place: one float copy of a photo, not two
        return values
    if np.issubdtype(array.dtype, np.floating):
        values = array.astype(np.float32)
        if not np.isfinite(values).all():
            raise ValueError("image array contains NaN or infinite values")
        return np.clip(values, 0.0, 1.0)
    raise ValueError(f"expected dtype uint8, uint16 or float, got {array.dtype}")


def _from_unit_float(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """float in ``[0, 1]`` (already clipped) -> ``dtype``, rounding to nearest for integers.

    ``values`` is overwritten (it is always a fresh array made by :func:`float_to_array`)."""
    maximum = _INT_MAX.get(dtype)
    if maximum is None:
        return values.astype(dtype)
    values *= np.float32(maximum)  # in place: ``values`` is the caller's own temporary
    return np.round(values, out=values).astype(dtype)
