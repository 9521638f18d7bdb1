"""16-bit TIFF compressions lowlight's own reader does not decode (LZW, PackBits, ZStandard,
JPEG, ...), read through ``tifffile`` with ``imagecodecs`` (``pip install 'lowlight[tiff]'``).

OpenCV writes 16-bit TIFFs with LZW, so these are common. Only the pixels of the first
page are taken from ``tifffile``; which samples are colour and which alpha, the ICC
profile and the orientation come from the tags that :mod:`lowlight.io.tiff` already
parsed, so both readers agree on everything but the decompression.
"""

from __future__ import annotations

import importlib.util
from typing import IO

import numpy as np

EXTRA = "tiff"
"""The optional extra that installs ``tifffile`` and ``imagecodecs``."""


def available() -> bool:
    """Whether ``tifffile`` and ``imagecodecs`` are importable (nothing is imported)."""
    return all(importlib.util.find_spec(m) is not None for m in ("tifffile", "imagecodecs"))


def read_first_page(fp: IO[bytes]) -> np.ndarray:
    """The first page's samples as ``(H, W, S)`` uint16 (planar files are made chunky).

    Raises:
        ValueError: ``tifffile`` cannot decode the page (the message says why).
    """
    import tifffile

    fp.seek(0)
    try:
        with tifffile.TiffFile(fp) as tif:
            page = tif.pages.first
            pixels = page.asarray()
            planar = page.planarconfig == tifffile.PLANARCONFIG.SEPARATE
    except Exception as exc:  # noqa: BLE001 - tifffile/imagecodecs raise many kinds
        raise ValueError(f"tifffile cannot decode it ({type(exc).__name__}: {exc})") from exc
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    elif planar and pixels.ndim == 3:
        pixels = np.moveaxis(pixels, 0, -1)
    if pixels.ndim != 3 or pixels.dtype != np.uint16:
        raise ValueError(f"unexpected decoded layout {pixels.dtype} {pixels.shape}")
    return np.ascontiguousarray(pixels)


__all__ = ["EXTRA", "available", "read_first_page"]
