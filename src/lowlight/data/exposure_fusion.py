"""Exposure fusion of a multi-exposure stack (Mertens, Kautz and Van Reeth, PG 2007).

Followed exactly: the three quality measures per pixel and exposure — contrast (absolute
response of a 3x3 Laplacian on grey), saturation (standard deviation over R, G, B) and
well-exposedness (``exp(-(v - 0.5)^2 / (2 sigma^2))`` per channel, multiplied over the
channels, ``sigma = 0.2``) — multiplied with exponents 1, normalised over the stack, and
blended in a Laplacian pyramid whose weights come from a Gaussian pyramid (5-tap binomial
filter, ``floor(log2(min(H, W)))`` levels). Chosen: a small ``eps`` (1e-12) keeps the
normalisation finite where every weight vanishes, and the result is clipped to [0, 1].
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["fusion_weights", "mertens_fusion"]

_BINOMIAL = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0
_LAPLACIAN = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


def fusion_weights(stack: Tensor, sigma: float = 0.2, eps: float = 1e-12) -> Tensor:
    """Normalised Mertens weights of a stack ``(N, 3, H, W)`` in [0, 1] -> ``(N, 1, H, W)``."""
    grey = stack.mean(dim=1, keepdim=True)
    lap = F.conv2d(
        F.pad(grey, (1, 1, 1, 1), mode="replicate"), _LAPLACIAN.to(grey).view(1, 1, 3, 3)
    )
    contrast = lap.abs()
    saturation = stack.std(dim=1, unbiased=False, keepdim=True)
    exposedness = torch.exp(-((stack - 0.5) ** 2) / (2 * sigma**2)).prod(dim=1, keepdim=True)
    weights = contrast * saturation * exposedness + eps
    return weights / weights.sum(dim=0, keepdim=True)


def _blur(x: Tensor) -> Tensor:
    c = x.shape[1]
    k = _BINOMIAL.to(x)
    x = F.conv2d(
        F.pad(x, (2, 2, 0, 0), mode="replicate"), k.view(1, 1, 1, 5).expand(c, 1, 1, 5), groups=c
    )
    return F.conv2d(
        F.pad(x, (0, 0, 2, 2), mode="replicate"), k.view(1, 1, 5, 1).expand(c, 1, 5, 1), groups=c
    )


def _down(x: Tensor) -> Tensor:
    return _blur(x)[..., ::2, ::2]


def _up(x: Tensor, size: tuple[int, int]) -> Tensor:
    up = torch.zeros(*x.shape[:2], size[0], size[1], dtype=x.dtype)
    up[..., ::2, ::2] = x[..., : (size[0] + 1) // 2, : (size[1] + 1) // 2]
    return _blur(up) * 4.0


def mertens_fusion(frames: Sequence[np.ndarray], sigma: float = 0.2) -> np.ndarray:
    """Fuse aligned exposures ``[(H, W, 3)]`` float in [0, 1] into one ``(H, W, 3)`` image.

    Raises:
        ValueError: no frames, or frames of different shapes.
    """
    if not frames:
        raise ValueError("exposure fusion needs at least one frame")
    shapes = {f.shape for f in frames}
    if len(shapes) != 1 or frames[0].ndim != 3 or frames[0].shape[2] != 3:
        raise ValueError(f"frames must all be (H, W, 3) of one size, got {sorted(shapes)}")
    stack = torch.from_numpy(np.stack(frames).astype(np.float32)).permute(0, 3, 1, 2)
    weights = fusion_weights(stack, sigma)
    levels = max(1, int(math.floor(math.log2(min(stack.shape[-2:])))))
    gauss_w, lap_i = [weights], []
    current = stack
    for _ in range(levels - 1):
        smaller = _down(current)
        lap_i.append(current - _up(smaller, current.shape[-2:]))
        current = smaller
        gauss_w.append(_down(gauss_w[-1]))
    lap_i.append(current)
    fused = (gauss_w[-1] * lap_i[-1]).sum(dim=0, keepdim=True)
    for w, lap in zip(reversed(gauss_w[:-1]), reversed(lap_i[:-1]), strict=True):
        fused = _up(fused, lap.shape[-2:]) + (w * lap).sum(dim=0, keepdim=True)
    out = fused[0].permute(1, 2, 0).clamp(0.0, 1.0)
    return out.float().numpy()
