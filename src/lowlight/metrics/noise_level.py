"""Blind noise-level estimate of an sRGB image, in 8-bit levels, from its flattest regions.

Used to check synthesised dark images against real ones and to measure how much noise an
enhancer leaves in its output (``benchmarks/synth_vs_lol.py``,
``benchmarks/mirnet_noise_ablation.py``).

Method: the BT.601 luma is filtered with Immerkaer's Laplacian-difference mask
``[[1, -2, 1], [-2, 4, -2], [1, -2, 1]] / 6`` (J. Immerkaer, "Fast noise variance
estimation", CVIU 1996; it cancels constant and linear ramps, and white noise of std ``s``
comes out with std ``s``); the luma is cut into ``block x block`` blocks and the ``fraction``
of blocks with the lowest mean gradient magnitude (Sobel on the luma smoothed with a
Gaussian of sigma 1) count as flat; sigma is the robust standard deviation
``1.4826 * MAD`` of the filtered values inside the flat blocks, times 255. On 8-bit images
without noise most flat residuals are exactly 0, so a clean image reads about 0.
"""

from __future__ import annotations

import numpy as np

from lowlight._optional import require
from lowlight.color import LUMA_WEIGHTS

__all__ = ["BLOCK", "FLAT_FRACTION", "flat_blocks", "luma", "noise_sigma"]

LAPLACE_DIFF = np.array([[1.0, -2.0, 1.0], [-2.0, 4.0, -2.0], [1.0, -2.0, 1.0]]) / 6.0
BLOCK = 16
FLAT_FRACTION = 0.2
_BT601 = np.array(LUMA_WEIGHTS["bt601"])


def luma(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma ``(H, W)`` float64 of ``(H, W, 3)`` sRGB values in [0, 1]."""
    return rgb[..., :3].astype(np.float64) @ _BT601


def flat_blocks(y: np.ndarray, block: int = BLOCK, fraction: float = FLAT_FRACTION) -> np.ndarray:
    """Boolean ``(H // block, W // block)`` mask of the lowest-gradient ``fraction`` of blocks
    of the luma ``y`` ``(H, W)`` (at least one block: ``H, W >= block``)."""
    ndimage = require("scipy.ndimage", extra="metrics", feature="the noise-level estimate")
    if min(y.shape) < block:
        raise ValueError(f"image {y.shape} is smaller than one {block}x{block} block")
    smooth = ndimage.gaussian_filter(y, 1.0)
    grad = np.hypot(ndimage.sobel(smooth, axis=0), ndimage.sobel(smooth, axis=1))
    hb, wb = y.shape[0] // block, y.shape[1] // block
    scores = grad[: hb * block, : wb * block].reshape(hb, block, wb, block).mean(axis=(1, 3))
    return scores <= np.quantile(scores, fraction)


def noise_sigma(
    rgb: np.ndarray, block: int = BLOCK, fraction: float = FLAT_FRACTION
) -> tuple[float, float]:
    """``(sigma in 8-bit levels, mean luma of the flat blocks)`` of ``(H, W, 3)`` sRGB in [0, 1]."""
    ndimage = require("scipy.ndimage", extra="metrics", feature="the noise-level estimate")
    y = luma(rgb)
    residual = ndimage.convolve(y, LAPLACE_DIFF, mode="reflect")
    mask = flat_blocks(y, block, fraction)
    hb, wb = mask.shape
    cut = (slice(0, hb * block), slice(0, wb * block))
    per_pixel = np.repeat(np.repeat(mask, block, axis=0), block, axis=1)
    values = residual[cut][per_pixel]
    mad = np.median(np.abs(values - np.median(values)))
    return float(1.4826 * mad * 255.0), float(y[cut][per_pixel].mean())
