"""SSIM map in torch, as MATLAB ``ssim_index`` (Wang et al. 2004), shared by the metric and the loss.

Z. Wang, A. C. Bovik, H. R. Sheikh, E. P. Simoncelli, "Image quality assessment: from
error visibility to structural similarity", IEEE TIP 13(4), 2004. The authors'
``ssim_index.m`` is the protocol: an 11x11 Gaussian window with sigma 1.5 normalised
to sum 1, ``C1 = (0.01 L)^2``, ``C2 = (0.03 L)^2``, biased (population) local variances,
and ``filter2(..., 'valid')``: no padding, so the map is ``(H - 10, W - 10)``.

The Gaussian window is separable, so the default path filters with the 1-D window
along H and then W (same result as the 2-D window, to rounding). MATLAB's newer
``ssim`` function downsamples large images automatically; that is *not* part of this
protocol and is not done here.
"""

from __future__ import annotations

import torch
from torch import Tensor

from lowlight.metrics.convert import MetricInputError
from lowlight.metrics.filtering import filter_valid

K1 = 0.01
K2 = 0.03


def gaussian_window_1d(
    size: int = 11, sigma: float = 1.5, *, dtype: torch.dtype = torch.float32, device=None
) -> Tensor:
    """``(size,)`` normalised Gaussian taps centred on the middle tap."""
    if size < 1 or sigma <= 0:
        raise ValueError(f"need size >= 1 and sigma > 0, got size={size}, sigma={sigma}")
    x = torch.arange(size, dtype=torch.float64, device=device) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    return (g / g.sum()).to(dtype)


def gaussian_window(
    size: int = 11, sigma: float = 1.5, *, dtype: torch.dtype = torch.float32, device=None
) -> Tensor:
    """``(size, size)`` Gaussian window summing to 1, as MATLAB ``fspecial('gaussian', size, sigma)``."""
    g = gaussian_window_1d(size, sigma, dtype=torch.float64, device=device)
    return torch.outer(g, g).to(dtype)


def ssim_map(
    x: Tensor,
    y: Tensor,
    data_range: float = 1.0,
    window: Tensor | None = None,
    *,
    k1: float = K1,
    k2: float = K2,
) -> Tensor:
    """Per-channel SSIM map with 'valid' filtering; differentiable.

    Args:
        x, y: ``(B, C, H, W)`` images of the same shape, values in ``[0, data_range]``.
        data_range: ``L`` in the stability constants (1.0 for [0, 1] images, 255 for 8-bit).
        window: ``None`` for the 11x11, sigma 1.5 Gaussian applied separably; a 1-D
            ``(k,)`` window is applied separably, a 2-D ``(kh, kw)`` window directly.
            It should sum to 1; it is cast to ``x``'s dtype and device.
        k1, k2: the stability constants' factors (0.01, 0.03 in the protocol).

    Returns:
        ``(B, C, H - kh + 1, W - kw + 1)``, i.e. ``(B, C, H - 10, W - 10)`` by default.
    """
    if x.shape != y.shape or x.dim() != 4:
        raise MetricInputError(
            f"ssim_map needs two (B, C, H, W) tensors of one shape, got {tuple(x.shape)} and {tuple(y.shape)}"
        )
    if window is None:
        window = gaussian_window_1d(11, 1.5, dtype=x.dtype, device=x.device)
    else:
        window = window.to(dtype=x.dtype, device=x.device)
    kh, kw = (window.numel(),) * 2 if window.dim() == 1 else tuple(window.shape)
    if x.shape[-2] < kh or x.shape[-1] < kw:
        raise MetricInputError(
            f"SSIM needs images of at least {kh}x{kw}, got {tuple(x.shape[-2:])}"
        )
    c = x.shape[1]
    stats = filter_valid(torch.cat([x, y, x * x, y * y, x * y], dim=1), window)
    mu_x, mu_y, e_xx, e_yy, e_xy = stats.split(c, dim=1)
    mu_xx, mu_yy, mu_xy = mu_x * mu_x, mu_y * mu_y, mu_x * mu_y
    sigma_xx, sigma_yy, sigma_xy = e_xx - mu_xx, e_yy - mu_yy, e_xy - mu_xy
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    num = (2 * mu_xy + c1) * (2 * sigma_xy + c2)
    den = (mu_xx + mu_yy + c1) * (sigma_xx + sigma_yy + c2)
    return num / den
