"""Full-reference metrics on the 8-bit image: PSNR, SSIM, MAE and the GT-mean correction.

Protocol (the LLIE field's, e.g. LOL evaluation): both images are quantised to 8 bits
(:func:`quantize_uint8`), RGB, whole frame, no border crop.

* PSNR: ``10 log10(255^2 / MSE)``, MSE over all pixels and the three channels.
  Identical images give ``math.inf`` (reported as is, never capped).
* SSIM: MATLAB ``ssim_index`` (see :mod:`lowlight.metrics.ssim_core`) on each of R, G, B
  as float64 in 0-255 with ``L = 255``, the mean of the three channel means.
* MAE: mean absolute error of the quantised images scaled to [0, 1].
* GT-mean: the output is multiplied by ``mean(gray(target)) / mean(gray(output))``
  (gray = BT.601 luma on [0, 1] floats), clipped to [0, 1] and re-quantised; the metrics
  are then recomputed on it. It removes the global-brightness ambiguity of LLIE and is
  always reported beside the plain metric, never instead of it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lowlight.metrics.convert import (
    luma_bt601,
    quantize_pair,
    quantize_uint8,
    uint8_to_tensor,
)
from lowlight.metrics.ssim_core import gaussian_window_1d, ssim_map

__all__ = ["gt_mean_align", "mae", "psnr", "quantize_uint8", "ssim"]


def psnr(pred: Any, target: Any, data_range: float = 255.0) -> float:
    """PSNR in dB of the 8-bit images (RGB, whole frame).

    Args:
        pred, target: ``(H, W, 3)`` float in [0, 1] or ``uint8`` (or torch ``(3, H, W)``).
        data_range: peak value of the quantised images (255 in the protocol).

    Returns:
        ``10 log10(data_range^2 / MSE)``; ``math.inf`` when the quantised images are identical.
    """
    p, t = quantize_pair(pred, target)
    mse = float(np.mean((p.astype(np.float64) - t.astype(np.float64)) ** 2))
    if mse == 0.0:
        return math.inf
    return 10.0 * math.log10(data_range**2 / mse)


def ssim(pred: Any, target: Any, data_range: float = 255.0) -> float:
    """SSIM as MATLAB ``ssim_index`` per R, G, B channel on the 8-bit images, averaged.

    Images must be at least 11x11 ('valid' filtering leaves an ``(H - 10, W - 10)`` map).
    """
    p, t = quantize_pair(pred, target)
    x, y = uint8_to_tensor(p), uint8_to_tensor(t)
    window = gaussian_window_1d(11, 1.5, dtype=x.dtype)
    return float(ssim_map(x, y, data_range=data_range, window=window).mean())


def mae(pred: Any, target: Any) -> float:
    """Mean absolute error of the 8-bit images scaled to [0, 1], over all pixels and channels."""
    p, t = quantize_pair(pred, target)
    return float(np.mean(np.abs(p.astype(np.float64) - t.astype(np.float64)))) / 255.0


def gt_mean_align(pred: Any, target: Any) -> np.ndarray:
    """The GT-mean corrected output: brightness-matched to the target, then re-quantised.

    ``out = clip(p * mean(gray(t)) / mean(gray(p)), 0, 1)`` with ``p``, ``t`` the quantised
    images in [0, 1] and gray the BT.601 luma. An all-black output has no brightness to
    scale and is returned unchanged.

    Returns:
        ``(H, W, 3)`` ``uint8``.
    """
    p, t = quantize_pair(pred, target)
    p01 = p.astype(np.float64) / 255.0
    mean_pred = float(luma_bt601(p01).mean())
    if mean_pred == 0.0:
        return p
    mean_target = float(luma_bt601(t.astype(np.float64) / 255.0).mean())
    return quantize_uint8(np.clip(p01 * (mean_target / mean_pred), 0.0, 1.0))
