"""Spatial attention: one ``(B, 1, H, W)`` map in ``(0, 1)`` that re-weights every channel.

Two ways to compute the map, both producing a *single* spatial map multiplied onto all
channels (no channel attention):

* ``"pool"`` (default) - CBAM's spatial branch (Woo et al., ECCV 2018, arXiv 1807.06521):
  average and maximum over channels, concatenated ``(B, 2, H, W)``, one ``k x k``
  convolution to one channel, sigmoid.
* ``"project"`` - a learned projection, as LucentVisionNet (arXiv 2506.18323) describes
  its attention block: ``1 x 1`` convolution to ``channels // reduction`` channels, ReLU,
  ``1 x 1`` convolution to one channel, sigmoid.

The map is local (receptive field ``k`` or 1 pixel), so tiles of an image get the same
map as the whole image away from tile borders.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from lowlight.errors import ConfigError

__all__ = ["ATTENTION_MODES", "SpatialAttention", "channel_pool"]

ATTENTION_MODES = ("pool", "project")


def channel_pool(x: Tensor) -> Tensor:
    """Channel-wise mean and maximum, ``(B, C, H, W) -> (B, 2, H, W)``."""
    return torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)


class SpatialAttention(nn.Module):
    """Multiply features by one learned spatial map ``sigmoid(f(x))``.

    Args:
        channels: channels of the features.
        mode: ``"pool"`` (CBAM spatial attention, default) or ``"project"`` (``1 x 1``
            projection); see the module docstring.
        kernel_size: odd kernel of the convolution on the pooled maps in ``"pool"`` mode
            (default 7, CBAM's).
        reduction: channel reduction of the hidden projection in ``"project"`` mode (default 4).

    Shape:
        - Input: ``(B, C, H, W)``.
        - Output: ``(B, C, H, W)``; :meth:`attention_map` gives the ``(B, 1, H, W)`` map.
    """

    def __init__(
        self, channels: int, mode: str = "pool", kernel_size: int = 7, reduction: int = 4
    ) -> None:
        super().__init__()
        if mode not in ATTENTION_MODES:
            raise ConfigError(
                f"unknown attention mode '{mode}'; choose one of {list(ATTENTION_MODES)}"
            )
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ConfigError(f"attention kernel_size must be odd and >= 1, got {kernel_size}")
        if channels < 1 or reduction < 1:
            raise ConfigError(f"channels and reduction must be >= 1, got {channels}, {reduction}")
        self.mode = mode
        if mode == "pool":
            self.score: nn.Module = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2)
        else:
            hidden = max(1, channels // reduction)
            self.score = nn.Sequential(
                nn.Conv2d(channels, hidden, 1), nn.ReLU(), nn.Conv2d(hidden, 1, 1)
            )

    def attention_map(self, x: Tensor) -> Tensor:
        """The ``(B, 1, H, W)`` map in ``(0, 1)``."""
        pooled = channel_pool(x) if self.mode == "pool" else x
        return torch.sigmoid(self.score(pooled))

    def forward(self, x: Tensor) -> Tensor:
        return x * self.attention_map(x)

    def extra_repr(self) -> str:
        return f"mode={self.mode}"
