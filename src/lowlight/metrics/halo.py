"""Halo darkening: how much darker an enhancer leaves a ring around bright regions than the
rest of the picture, measured against the reference of a pair.

Curve estimators whose maps are smooth (or estimated at low resolution) lower the gain
around bright objects together with the objects themselves: a dark band follows every
lamp and window. With a reference the band shows as a dip of the output-to-reference
brightness ratio next to bright regions.

Definition (chosen here; no standard exists):

* luma is BT.601 of the 8-bit-quantised images; ``ratio = (out + 1/255) / (ref + 1/255)``;
* bright regions: reference luma ``>= bright`` (0.85); images with fewer than
  ``min_bright`` (0.2 %) such pixels have no value (``None``);
* the ring: pixels within ``outer`` of a bright pixel but not within ``inner`` (Chebyshev
  distance, i.e. square dilations), ``inner`` = 1 % and ``outer`` = 5 % of the shorter
  side (at least 1 and 3 px); the background: every pixel farther than ``outer``;
* the ring is compared with background pixels *of the same reference brightness*
  (``bins`` = 16 equal bins of reference luma), so that a global tone curve, which treats
  the mid-tones next to a lamp as it treats mid-tones anywhere, reads about 0: each ring
  pixel's log ratio minus the mean log ratio of the background pixels in its bin (ring
  pixels of a bin without background are left out);
* ``halo = 100 * (1 - exp(mean of those differences))``: the percentage by which the ring
  comes out darker, relative to its reference, than equally bright places elsewhere. 0 for
  an output that is any function of the reference's brightness; positive for a dark halo,
  negative for a bright one.
"""

from __future__ import annotations

import math

import numpy as np

from lowlight._optional import require
from lowlight.metrics.convert import quantize_uint8
from lowlight.metrics.noise_level import luma

__all__ = ["BRIGHT", "MIN_BRIGHT", "halo_darkening", "ring_masks"]

BRIGHT = 0.85
"""Reference luma at or above which a pixel belongs to a bright region."""

MIN_BRIGHT = 0.002
"""Least fraction of bright pixels for an image to be measured."""


def ring_masks(bright_mask: np.ndarray, inner: int, outer: int) -> tuple[np.ndarray, np.ndarray]:
    """``(ring, background)`` boolean masks ``(H, W)`` around ``bright_mask`` ``(H, W)``.

    ``ring``: within ``outer`` pixels (Chebyshev) of a bright pixel and farther than
    ``inner``; ``background``: farther than ``outer``.
    """
    ndimage = require("scipy.ndimage", extra="metrics", feature="the halo measure")
    if not 0 <= inner < outer:
        raise ValueError(f"need 0 <= inner < outer, got {inner}, {outer}")
    near = ndimage.maximum_filter(bright_mask, size=2 * inner + 1) if inner else bright_mask
    within = ndimage.maximum_filter(bright_mask, size=2 * outer + 1)
    return within & ~near, ~within


def halo_darkening(
    output: np.ndarray,
    reference: np.ndarray,
    bright: float = BRIGHT,
    min_bright: float = MIN_BRIGHT,
    bins: int = 16,
) -> float | None:
    """Halo darkening in percent of an ``output`` ``(H, W, 3)`` against its ``reference``
    ``(H, W, 3)``, both sRGB in [0, 1]; ``None`` when the reference has too few bright
    pixels or the ring or background is empty (see the module docstring).
    """
    if output.shape != reference.shape or output.ndim != 3:
        raise ValueError(f"shapes differ or are not (H, W, 3): {output.shape}, {reference.shape}")
    out_y = luma(quantize_uint8(output) / 255.0)
    ref_y = luma(quantize_uint8(reference) / 255.0)
    mask = ref_y >= bright
    if mask.mean() < min_bright:
        return None
    side = min(mask.shape)
    inner = max(1, round(0.01 * side))
    outer = max(inner + 2, round(0.05 * side))
    ring, background = ring_masks(mask, inner, outer)
    if not ring.any() or not background.any():
        return None
    log_ratio = np.log((out_y + 1 / 255) / (ref_y + 1 / 255))
    index = np.minimum((ref_y * bins).astype(np.int64), bins - 1)
    count = np.bincount(index[background], minlength=bins)
    total = np.bincount(index[background], weights=log_ratio[background], minlength=bins)
    level = np.divide(total, count, out=np.zeros(bins), where=count > 0)
    usable = ring & (count[index] > 0)
    if not usable.any():
        return None
    dip = float((log_ratio[usable] - level[index[usable]]).mean())
    return 100.0 * (1.0 - math.exp(dip))
