"""MIRNet's resampling modules: anti-aliased residual down-sampling and residual up-sampling.

Paper: S. W. Zamir et al., "Learning Enriched Features for Real Image Restoration and
Enhancement", ECCV 2020, arXiv 2003.06792, Fig. 4 (and the authors' reference code for
the details the figure leaves open).

* **Down-sampling by 2** (:class:`ResidualDownsample`): a main branch ``1x1 conv -> PReLU ->
  3x3 conv -> PReLU -> anti-aliased down-sampling -> 1x1 conv`` plus a skip branch
  ``anti-aliased down-sampling -> 1x1 conv``, summed. The 1x1 convolutions change the width
  (MIRNet doubles it).
* **Anti-aliased down-sampling** (:func:`antialias_downsample`): blur with the 3x3 binomial
  filter ``[1, 2, 1]^T [1, 2, 1] / 16`` and keep every second pixel, as in Zhang, "Making
  Convolutional Networks Shift-Invariant Again" (ICML 2019, arXiv 1904.11486), which MIRNet
  cites; reflect padding of one pixel (replicate where a side is a single pixel).
* **Up-sampling by 2** (:class:`ResidualUpsample`): a main branch ``1x1 conv -> PReLU ->
  3x3 transposed conv (stride 2) -> PReLU -> 1x1 conv`` plus a skip branch ``bilinear x2
  (align_corners=False) -> 1x1 conv``, summed.

Chosen here (``smooth=True``, the default): the transposed convolution is followed by the
same fixed binomial blur (:class:`SmoothConvTranspose2d`; no parameters, state-dict keys
unchanged). A 3x3 stride-2 transposed convolution gives its four output phases different
kernels (even rows and columns see one tap, odd ones two or four), so even a constant input
comes out as a period-2 grid; chained over MIRNet's 1/4 stream it printed a period-4
lattice over flat areas (``benchmarks/lattice.py``; Odena et al., "Deconvolution and
Checkerboard Artifacts", Distill 2016). The binomial filter is zero at the Nyquist
frequency, so every phase gets the same gain: a constant input stays constant.
``smooth=False`` is the paper's and reference code's plain transposed convolution.
* Larger factors chain these modules, one per factor of 2 (:func:`make_resampler`); each
  step moves to the next stream's width.

Every module exactly halves or doubles even sizes; :class:`~lowlight.models.mirnet.MIRNet`
pads its input so that every stream's size is even where it is resampled.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "BlurDownsample",
    "ResidualDownsample",
    "ResidualUpsample",
    "SmoothConvTranspose2d",
    "antialias_downsample",
    "binomial_blur",
    "make_resampler",
]

_BINOMIAL_3 = torch.tensor([1.0, 2.0, 1.0])


def binomial_blur(x: Tensor, stride: int = 1) -> Tensor:
    """Blur every channel with the normalised 3x3 binomial filter ``[1, 2, 1]^T [1, 2, 1] / 16``.

    Reflect padding of one pixel (replicate where a side is a single pixel), then every
    ``stride``-th pixel is kept.

    Args:
        x: ``(B, C, H, W)``.
        stride: 1 (same size) or 2 (:func:`antialias_downsample`).

    Returns:
        ``(B, C, ceil(H / stride), ceil(W / stride))``. A constant image stays constant, and
        a period-2 pattern (any mix of the four phases) becomes constant.
    """
    channels = x.shape[1]
    taps = _BINOMIAL_3.to(device=x.device, dtype=x.dtype)
    kernel = torch.outer(taps, taps) / 16.0
    kernel = kernel.expand(channels, 1, 3, 3)
    mode = "reflect" if min(x.shape[-2:]) > 1 else "replicate"
    padded = F.pad(x, (1, 1, 1, 1), mode=mode)
    return F.conv2d(padded, kernel, stride=stride, groups=channels)


def antialias_downsample(x: Tensor) -> Tensor:
    """Blur with the normalised 3x3 binomial filter, then take every second pixel.

    Args:
        x: ``(B, C, H, W)``.

    Returns:
        ``(B, C, ceil(H / 2), ceil(W / 2))``. A constant image stays constant.
    """
    return binomial_blur(x, stride=2)


class SmoothConvTranspose2d(nn.ConvTranspose2d):
    """A transposed convolution followed by :func:`binomial_blur` (see the module docstring).

    The same parameters (and state-dict keys) as :class:`torch.nn.ConvTranspose2d`; with
    stride 2 the blur equalises the four output phases, so no checkerboard is printed.

    Shape:
        - Input: ``(B, in_channels, H, W)``.
        - Output: that of :class:`torch.nn.ConvTranspose2d`.
    """

    def forward(self, x: Tensor, output_size: list[int] | None = None) -> Tensor:
        return binomial_blur(super().forward(x, output_size))


class BlurDownsample(nn.Module):
    """:func:`antialias_downsample` as a module (no parameters).

    Shape:
        - Input: ``(B, C, H, W)``.
        - Output: ``(B, C, ceil(H / 2), ceil(W / 2))``.
    """

    def forward(self, x: Tensor) -> Tensor:
        return antialias_downsample(x)


class ResidualDownsample(nn.Module):
    """Halve the resolution and change the width, with a learned and a direct branch.

    Args:
        in_channels: input width.
        out_channels: output width (MIRNet: ``2 * in_channels``).
        bias: biases in the convolutions (MIRNet: none).

    Shape:
        - Input: ``(B, in_channels, H, W)``, ``H`` and ``W`` even.
        - Output: ``(B, out_channels, H / 2, W / 2)``.
    """

    def __init__(self, in_channels: int, out_channels: int, bias: bool = False) -> None:
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(in_channels, in_channels, 1, bias=bias),
            nn.PReLU(),
            nn.Conv2d(in_channels, in_channels, 3, padding=1, bias=bias),
            nn.PReLU(),
            BlurDownsample(),
            nn.Conv2d(in_channels, out_channels, 1, bias=bias),
        )
        self.skip = nn.Sequential(
            BlurDownsample(), nn.Conv2d(in_channels, out_channels, 1, bias=bias)
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.main(x) + self.skip(x)


class ResidualUpsample(nn.Module):
    """Double the resolution and change the width, with a learned and a bilinear branch.

    Args:
        in_channels: input width.
        out_channels: output width (MIRNet: ``in_channels // 2``).
        bias: biases in the convolutions (MIRNet: none).
        smooth: blur after the transposed convolution (:class:`SmoothConvTranspose2d`, no
            checkerboard; the default) or not (the paper's).

    Shape:
        - Input: ``(B, in_channels, H, W)``.
        - Output: ``(B, out_channels, 2 H, 2 W)``.
    """

    def __init__(
        self, in_channels: int, out_channels: int, bias: bool = False, smooth: bool = True
    ) -> None:
        super().__init__()
        transposed = SmoothConvTranspose2d if smooth else nn.ConvTranspose2d
        self.main = nn.Sequential(
            nn.Conv2d(in_channels, in_channels, 1, bias=bias),
            nn.PReLU(),
            transposed(
                in_channels, in_channels, 3, stride=2, padding=1, output_padding=1, bias=bias
            ),
            nn.PReLU(),
            nn.Conv2d(in_channels, out_channels, 1, bias=bias),
        )
        self.skip = nn.Conv2d(in_channels, out_channels, 1, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        up = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
        return self.main(x) + self.skip(up)


def make_resampler(
    widths: Sequence[int], source: int, target: int, bias: bool = False, smooth: bool = True
) -> nn.Sequential:
    """Modules taking stream ``source`` to the resolution and width of stream ``target``.

    Stream ``i`` has width ``widths[i]`` at ``1 / 2**i`` of the full resolution; the result
    chains ``|target - source|`` :class:`ResidualDownsample` (``target > source``) or
    :class:`ResidualUpsample` (``target < source``, with ``smooth``) steps, one stream at
    a time.

    Raises:
        ValueError: ``source == target`` or an index outside ``widths``.
    """
    streams = len(widths)
    if source == target or not (0 <= source < streams and 0 <= target < streams):
        raise ValueError(f"need two different streams in [0, {streams}), got {source} -> {target}")
    steps: list[nn.Module] = []
    if target > source:
        for i in range(source, target):
            steps.append(ResidualDownsample(widths[i], widths[i + 1], bias=bias))
    else:
        for i in range(source, target, -1):
            steps.append(ResidualUpsample(widths[i], widths[i - 1], bias=bias, smooth=smooth))
    return nn.Sequential(*steps)
