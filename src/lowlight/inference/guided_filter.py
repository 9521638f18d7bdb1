"""Guided-filter math for the fast path: fit a local affine transform at low resolution,
upsample it and apply it at full resolution.

Papers: K. He, J. Sun, X. Tang, "Guided Image Filtering", TPAMI 2013 (the local linear
model ``q = a * I + b`` fitted in every ``(2r + 1)^2`` window, coefficients averaged over
the windows covering a pixel); K. He, J. Sun, "Fast Guided Filter", arXiv 1505.00996, and
H. Wu et al., "Fast End-to-End Trainable Guided Filter", CVPR 2018 (fit ``a, b`` on a
low-resolution pair, upsample them bilinearly, apply them with the full-resolution guide).

Followed exactly: box means over ``(2r + 1)^2`` windows, ``a = cov(I, p) / (var(I) + eps)``
shape of the solution, ``b = mean(p) - a * mean(I)``, averaging of ``a, b`` over windows,
bilinear upsampling (``align_corners=False``) of the averaged coefficients.

Chosen here:

* **per channel**: channel ``c`` of the target is fitted against channel ``c`` of the guide
  (six maps, not HDRNet's twelve): the input's own detail in every channel is carried to the
  output, and a colour cast or white-balance change of the model is a per-channel gain;
* **regularised toward the local gain, not toward zero**: He's ridge term ``eps * a^2``
  pulls ``a`` to 0 where the guide is flat, so detail finer than the low-resolution grid
  (flat at low resolution, textured at full resolution) would be replaced by the local
  mean. Here the term is ``eps * (a - g)^2`` with the local gain
  ``g = (mean(p) + delta) / (mean(I) + delta)``, which gives
  ``a = (cov(I, p) + eps * g) / (var(I) + eps)``: where the guide is flat the transform
  is the gain map ``p ~= g * I`` (fine texture is brightened, not erased); across edges it
  is the least-squares affine fit. When the target equals the guide (an identity model),
  ``g = 1``, ``a = 1`` and ``b = 0`` exactly;
* box means with ``count_include_pad=False`` at the borders (windows shrink, as in He's
  reference code's ``N`` normalisation);
* :func:`apply_affine` upsamples separably by index/weight gathers and works in row strips,
  so a 48 MP image never holds full-size coefficient maps.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["apply_affine", "box_mean", "fit_affine", "self_guided_smooth", "upsample_rows"]

GAIN_DELTA = 1.0 / 255.0
"""``delta`` of the local gain ``(mean(p) + delta) / (mean(I) + delta)``: one 8-bit level,
so the gain of a black region is bounded (at most 256)."""


def box_mean(x: Tensor, radius: int) -> Tensor:
    """Mean over ``(2r + 1)^2`` windows (shrunk at the borders) of ``(B, C, H, W)``; same shape."""
    if radius <= 0:
        return x
    k = 2 * radius + 1
    return F.avg_pool2d(x, k, stride=1, padding=radius, count_include_pad=False)


def fit_affine(guide: Tensor, target: Tensor, radius: int, eps: float) -> tuple[Tensor, Tensor]:
    """Per-channel local affine coefficients with ``target ~= a * guide + b``.

    Args:
        guide: ``(B, C, h, w)`` the model's input (low resolution).
        target: ``(B, C, h, w)`` the model's output for it.
        radius: window radius ``r`` in pixels of ``guide``.
        eps: ridge weight pulling ``a`` to the local gain (module docstring); larger is smoother.

    Returns:
        ``(a, b)``, each ``(B, C, h, w)``, already averaged over windows (ready to upsample).
    """
    mean_i = box_mean(guide, radius)
    mean_p = box_mean(target, radius)
    var_i = box_mean(guide * guide, radius) - mean_i * mean_i
    cov_ip = box_mean(guide * target, radius) - mean_i * mean_p
    gain = (mean_p + GAIN_DELTA) / (mean_i + GAIN_DELTA)
    a = (cov_ip + eps * gain) / (var_i.clamp_min(0.0) + eps)
    b = mean_p - a * mean_i
    return box_mean(a, radius), box_mean(b, radius)


def _axis_weights(
    start: int, stop: int, size_in: int, size_out: int, device: torch.device
) -> tuple[Tensor, Tensor, Tensor]:
    """Indices ``i0, i1`` and weights ``w`` of bilinear resampling (``align_corners=False``)
    of output positions ``start..stop-1`` on an axis of ``size_out`` from one of ``size_in``."""
    pos = (torch.arange(start, stop, device=device, dtype=torch.float64) + 0.5) * (
        size_in / size_out
    ) - 0.5
    pos = pos.clamp(min=0.0)
    i0 = pos.floor().long().clamp(max=size_in - 1)
    i1 = (i0 + 1).clamp(max=size_in - 1)
    return i0, i1, (pos - i0).float()


def upsample_rows(maps: Tensor, rows: tuple[int, int], size: tuple[int, int]) -> Tensor:
    """Rows ``rows = (y0, y1)`` of ``maps`` ``(B, C, h, w)`` bilinearly upsampled to
    ``size = (H, W)``; returns ``(B, C, y1 - y0, W)``, equal to the same rows of
    ``F.interpolate(maps, size, mode="bilinear", align_corners=False)``."""
    height, width = size
    h, w = maps.shape[-2:]
    r0, r1, wy = _axis_weights(rows[0], rows[1], h, height, maps.device)
    lo = maps.index_select(2, r0)
    strip = torch.lerp(lo, maps.index_select(2, r1), wy.to(maps.dtype)[:, None])
    c0, c1, wx = _axis_weights(0, width, w, width, maps.device)
    left = strip.index_select(3, c0)
    return torch.lerp(left, strip.index_select(3, c1), wx.to(maps.dtype))


def apply_affine(
    guide: Tensor,
    a: Tensor,
    b: Tensor,
    *,
    strip_rows: int = 256,
    out: Tensor | None = None,
    source: Tensor | None = None,
) -> Tensor:
    """``a_up * source + b_up``, clamped to ``[0, 1]``, computed in row strips.

    Args:
        guide: ``(B, C, H, W)`` full-resolution input (the guide; only its size and, when
            ``source`` is ``None``, its values are used).
        a, b: ``(B, C, h, w)`` coefficients from :func:`fit_affine`.
        strip_rows: rows per strip (bounds the temporaries to ``~4 * C * strip_rows * W`` floats).
        out: where to write the result (may be ``guide`` itself: each strip is read before it
            is written); a new tensor when ``None``.
        source: the pixels the transform is applied to (e.g. a denoised guide); ``guide``
            when ``None``.

    Returns:
        ``(B, C, H, W)`` in ``[0, 1]``.
    """
    height, width = guide.shape[-2:]
    source = guide if source is None else source
    out = torch.empty_like(guide) if out is None else out
    for y0 in range(0, height, strip_rows):
        y1 = min(y0 + strip_rows, height)
        gain = upsample_rows(a, (y0, y1), (height, width)).to(guide.dtype)
        offset = upsample_rows(b, (y0, y1), (height, width)).to(guide.dtype)
        strip = torch.addcmul(offset, gain, source[..., y0:y1, :])
        out[..., y0:y1, :] = strip.clamp_(0.0, 1.0)
    return out


def self_guided_smooth(x: Tensor, radius: int, eps: float, strip_rows: int = 256) -> Tensor:
    """Edge-preserving smoothing: He's guided filter of each channel with itself as guide.

    Variations of variance well below ``eps`` (noise) are averaged away; edges well above
    it are kept. Computed in row strips with a halo of ``2 * radius`` rows.

    Args:
        x: ``(B, C, H, W)``.
        radius: window radius in pixels.
        eps: variance threshold (``(sigma / 255) ** 2`` for 8-bit noise of std ``sigma``).

    Returns:
        ``(B, C, H, W)``.
    """
    height = x.shape[-2]
    out = torch.empty_like(x)
    halo = 2 * radius
    for y0 in range(0, height, strip_rows):
        y1 = min(y0 + strip_rows, height)
        lo, hi = max(0, y0 - halo), min(height, y1 + halo)
        strip = x[..., lo:hi, :]
        mean = box_mean(strip, radius)
        var = box_mean(strip * strip, radius) - mean * mean
        a = var.clamp_min(0.0) / (var.clamp_min(0.0) + eps)
        b = mean - a * mean
        smoothed = box_mean(a, radius) * strip + box_mean(b, radius)
        out[..., y0:y1, :] = smoothed[..., y0 - lo : y1 - lo, :]
    return out
