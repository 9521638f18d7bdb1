"""Depthwise 'valid' correlation with a separable (1-D) or full 2-D window, for SSIM and MSCN."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def _shifted_sum(x: Tensor, taps: list[float], dim: int) -> Tensor:
    """'valid' correlation along ``dim`` as a weighted sum of shifted views."""
    n = x.shape[dim] - len(taps) + 1
    out = x.narrow(dim, 0, n) * taps[0]
    for i, w in enumerate(taps[1:], start=1):
        out = out.add(x.narrow(dim, i, n), alpha=w)
    return out


def filter_valid(stack: Tensor, window: Tensor) -> Tensor:
    """Correlate every channel of ``stack`` with ``window``, without padding.

    Args:
        stack: ``(B, N, H, W)``.
        window: ``(k,)`` applied along H then W (separable), or ``(kh, kw)`` applied directly;
            same dtype and device as ``stack``.

    Returns:
        ``(B, N, H - kh + 1, W - kw + 1)``.

    float64 on CPU with a 1-D window uses shifted sums (torch's float64 convolution is
    several times slower there); other cases use ``conv2d``. Both agree to rounding.
    """
    n = stack.shape[1]
    if window.dim() == 1:
        k = window.numel()
        if stack.dtype == torch.float64 and stack.device.type == "cpu":
            taps = window.tolist()
            return _shifted_sum(_shifted_sum(stack, taps, 2), taps, 3)
        out = F.conv2d(stack, window.view(1, 1, k, 1).expand(n, 1, k, 1), groups=n)
        return F.conv2d(out, window.view(1, 1, 1, k).expand(n, 1, 1, k), groups=n)
    kh, kw = window.shape
    return F.conv2d(stack, window.view(1, 1, kh, kw).expand(n, 1, kh, kw), groups=n)
