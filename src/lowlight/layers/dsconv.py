"""Depthwise-separable convolution blocks (MobileNet, Howard et al. 2017, arXiv 1704.04861).

A depthwise ``k x k`` convolution (one filter per input channel) followed by a pointwise
``1 x 1`` convolution that mixes channels, then an activation. This is the block of
SGZ (Zheng & Gupta, WACV 2022, arXiv 2110.00970) and LucentVisionNet (arXiv 2506.18323):
no activation or normalisation between the two convolutions, biases on both, one
activation after the pointwise convolution (configurable, ``"none"`` for a linear block).
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor, nn

from lowlight.errors import ConfigError

__all__ = ["ACTIVATIONS", "DSConv", "make_activation"]

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": lambda: nn.ReLU(inplace=False),
    "leaky_relu": lambda: nn.LeakyReLU(0.2, inplace=False),
    "relu6": lambda: nn.ReLU6(inplace=False),
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "none": nn.Identity,
}
"""Activation factories by name (``leaky_relu`` uses slope 0.2)."""


def make_activation(name: str) -> nn.Module:
    """A fresh activation module by name (see :data:`ACTIVATIONS`)."""
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        raise ConfigError(
            f"unknown activation '{name}'; choose one of {sorted(ACTIVATIONS)}"
        ) from None


class DSConv(nn.Module):
    """Depthwise ``k x k`` conv -> pointwise ``1 x 1`` conv -> activation.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        kernel_size: odd spatial size of the depthwise filter (default 3); zero padding
            keeps ``H`` and ``W``.
        activation: name from :data:`ACTIVATIONS` (default ``"relu"``; ``"none"`` for linear).
        bias: biases on both convolutions (default ``True``).

    Shape:
        - Input: ``(B, in_channels, H, W)``.
        - Output: ``(B, out_channels, H, W)``.

    Parameters: ``in * k * k + in`` (depthwise) ``+ in * out + out`` (pointwise), with bias.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        activation: str = "relu",
        bias: bool = True,
    ) -> None:
        super().__init__()
        if in_channels < 1 or out_channels < 1:
            raise ConfigError(f"channels must be >= 1, got {in_channels} -> {out_channels}")
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ConfigError(f"kernel_size must be odd and >= 1, got {kernel_size}")
        self.depthwise = nn.Conv2d(
            in_channels,
            in_channels,
            kernel_size,
            padding=kernel_size // 2,
            groups=in_channels,
            bias=bias,
        )
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=bias)
        self.act = make_activation(activation)

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.pointwise(self.depthwise(x)))
