"""MIRNet's building blocks: dual attention unit, selective kernel feature fusion, the
multi-scale residual block and the recursive residual group.

Paper: S. W. Zamir et al., "Learning Enriched Features for Real Image Restoration and
Enhancement", ECCV 2020, arXiv 2003.06792 (Sec. 3, Figs. 2-4).

* **Channel attention** (:class:`ChannelAttention`): squeeze by global average pooling,
  excite with ``1x1 conv (C -> C/r) -> ReLU -> 1x1 conv (C/r -> C) -> sigmoid``, rescale
  the channels. ``pool="avgmax"`` adds CBAM's global-max path (the same two convolutions
  on the max-pooled vector, summed before the sigmoid); the paper uses average pooling.
* **Spatial attention**: channel-wise average and maximum, a 5x5 convolution to one map,
  sigmoid, rescale every channel (:class:`lowlight.layers.attention.SpatialAttention` in
  ``pool`` mode with a 5x5 kernel, the reference code's size).
* **Dual attention unit** (:class:`DualAttentionUnit`): ``3x3 conv -> PReLU -> 3x3 conv``,
  both attentions on the result in parallel, concatenated, fused by a 1x1 convolution, plus
  the unit's input (residual).
* **Selective kernel feature fusion** (:class:`SelectiveKernelFeatureFusion`): sum the
  ``S`` streams (all at one resolution and width ``C``), global average pooling, a 1x1
  convolution down to ``max(C / r, 4)`` channels with PReLU, one 1x1 convolution back to
  ``C`` per stream, a softmax across the streams for every channel, and the sum of the
  streams weighted by it.
* **Multi-scale residual block** (:class:`MultiScaleResidualBlock`): ``S`` parallel streams
  at ``1, 1/2, 1/4, ...`` of the resolution with widths ``C, g C, g^2 C, ...`` (``g = 2``);
  stream ``j`` is made by down-sampling stream ``j - 1``'s first unit's output; each stream
  has ``columns`` dual attention units; between two columns every stream receives all
  streams resampled to its resolution and fused by SKFF (the information exchange); at the
  end the streams are up-sampled to full resolution, fused by SKFF, passed through a 3x3
  convolution and added to the block's input.
* **Recursive residual group** (:class:`RecursiveResidualGroup`): ``n`` blocks, a 3x3
  convolution, plus the group's input.

Weight tying (``tied=True``, the default) reproduces the authors' reference
implementation, from which the published parameter count (31.8 M) comes: there, the
``columns`` units of a stream are one module applied ``columns`` times; one SKFF per stream
serves every exchange, and stream 0's also does the final aggregation; the first column's
2x down-samplers are the exchange's. ``tied=False`` gives every unit, SKFF and resampler
its own weights, as the paper's figure draws them. With two columns the two variants have
the same computation graph and differ only in which weights are shared.

Chosen here: biases off in every convolution (the reference code's ``bias=False``) except
the spatial attention's (lowlight's shared :class:`SpatialAttention` has one: one extra
parameter per unit); every PReLU has its own single slope (the reference code shares one
PReLU across all units through a default argument).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import Tensor, nn

from lowlight.errors import ConfigError
from lowlight.layers.attention import SpatialAttention
from lowlight.layers.mirnet_resample import make_resampler

__all__ = [
    "CHANNEL_POOLS",
    "ChannelAttention",
    "DualAttentionUnit",
    "MultiScaleResidualBlock",
    "RecursiveResidualGroup",
    "SelectiveKernelFeatureFusion",
    "StreamExchange",
    "stream_widths",
]

ChannelPool = Literal["avg", "avgmax"]
CHANNEL_POOLS: tuple[str, ...] = ("avg", "avgmax")


def stream_widths(channels: int, streams: int, growth: int) -> list[int]:
    """Widths of the streams of a block: ``[channels * growth**i for i < streams]``."""
    if channels < 1 or streams < 1 or growth < 1:
        raise ConfigError(
            f"channels, streams and growth must be >= 1, got {channels}, {streams}, {growth}"
        )
    return [channels * growth**i for i in range(streams)]


class ChannelAttention(nn.Module):
    """Squeeze-and-excitation channel attention (see the module docstring).

    Args:
        channels: feature width ``C``.
        reduction: ``r``; the hidden width is ``max(1, C // r)``.
        pool: ``"avg"`` (the paper) or ``"avgmax"`` (average and max paths summed).
        bias: biases in the two convolutions.

    Shape:
        - Input: ``(B, C, H, W)``.
        - Output: ``(B, C, H, W)``; :meth:`weights` gives the ``(B, C, 1, 1)`` gates.
    """

    def __init__(
        self, channels: int, reduction: int = 8, pool: ChannelPool = "avg", bias: bool = False
    ) -> None:
        super().__init__()
        if pool not in CHANNEL_POOLS:
            raise ConfigError(f"unknown channel pool '{pool}'; choose one of {CHANNEL_POOLS}")
        if reduction < 1:
            raise ConfigError(f"reduction must be >= 1, got {reduction}")
        hidden = max(1, channels // reduction)
        self.pool = pool
        self.excite = nn.Sequential(
            nn.Conv2d(channels, hidden, 1, bias=bias),
            nn.ReLU(),
            nn.Conv2d(hidden, channels, 1, bias=bias),
        )

    def weights(self, x: Tensor) -> Tensor:
        """Per-channel gates in ``(0, 1)``, ``(B, C, 1, 1)``."""
        logits = self.excite(x.mean(dim=(2, 3), keepdim=True))
        if self.pool == "avgmax":
            logits = logits + self.excite(x.amax(dim=(2, 3), keepdim=True))
        return torch.sigmoid(logits)

    def forward(self, x: Tensor) -> Tensor:
        return x * self.weights(x)

    def extra_repr(self) -> str:
        return f"pool={self.pool}"


class DualAttentionUnit(nn.Module):
    """Convolutions, then spatial and channel attention in parallel, fused, plus the input.

    Args:
        channels: feature width ``C``.
        kernel_size: of the two body convolutions (3).
        reduction: channel attention reduction ``r`` (8).
        spatial_kernel: kernel of the spatial attention convolution (5).
        channel_pool: ``"avg"`` or ``"avgmax"`` (see :class:`ChannelAttention`).
        bias: biases in the body, channel attention and fusion convolutions.

    Shape:
        - Input: ``(B, C, H, W)``.
        - Output: ``(B, C, H, W)``.
    """

    def __init__(
        self,
        channels: int,
        kernel_size: int = 3,
        reduction: int = 8,
        spatial_kernel: int = 5,
        channel_pool: ChannelPool = "avg",
        bias: bool = False,
    ) -> None:
        super().__init__()
        pad = kernel_size // 2
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, kernel_size, padding=pad, bias=bias),
            nn.PReLU(),
            nn.Conv2d(channels, channels, kernel_size, padding=pad, bias=bias),
        )
        self.spatial = SpatialAttention(channels, mode="pool", kernel_size=spatial_kernel)
        self.channel = ChannelAttention(channels, reduction, channel_pool, bias=bias)
        self.fuse = nn.Conv2d(2 * channels, channels, 1, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        features = self.body(x)
        attended = torch.cat([self.spatial(features), self.channel(features)], dim=1)
        return x + self.fuse(attended)


class SelectiveKernelFeatureFusion(nn.Module):
    """Fuse ``S`` same-size streams with channel-wise softmax weights (see the module docstring).

    Args:
        channels: width ``C`` of every stream.
        streams: ``S``, how many inputs are fused.
        reduction: ``r``; the squeezed width is ``max(C // r, min_hidden)``.
        min_hidden: lower bound of the squeezed width (4, the reference code's).
        bias: biases in the convolutions.

    Shape:
        - Input: a sequence of ``S`` tensors ``(B, C, H, W)``.
        - Output: ``(B, C, H, W)``; :meth:`attention` gives the ``(B, S, C, 1, 1)`` weights,
          which sum to 1 over the streams.
    """

    def __init__(
        self,
        channels: int,
        streams: int = 3,
        reduction: int = 8,
        min_hidden: int = 4,
        bias: bool = False,
    ) -> None:
        super().__init__()
        if streams < 1 or reduction < 1:
            raise ConfigError(f"streams and reduction must be >= 1, got {streams}, {reduction}")
        hidden = max(channels // reduction, min_hidden)
        self.streams = streams
        self.squeeze = nn.Sequential(nn.Conv2d(channels, hidden, 1, bias=bias), nn.PReLU())
        self.select = nn.ModuleList(
            nn.Conv2d(hidden, channels, 1, bias=bias) for _ in range(streams)
        )

    def _stack(self, features: Sequence[Tensor]) -> Tensor:
        if len(features) != self.streams:
            raise ValueError(f"expected {self.streams} streams to fuse, got {len(features)}")
        return torch.stack(list(features), dim=1)

    def _weights(self, stacked: Tensor) -> Tensor:
        descriptor = self.squeeze(stacked.sum(dim=1).mean(dim=(2, 3), keepdim=True))
        logits = torch.stack([select(descriptor) for select in self.select], dim=1)
        return torch.softmax(logits, dim=1)

    def attention(self, features: Sequence[Tensor]) -> Tensor:
        """The selection weights ``(B, S, C, 1, 1)`` (softmax over ``S``)."""
        return self._weights(self._stack(features))

    def forward(self, features: Sequence[Tensor]) -> Tensor:
        stacked = self._stack(features)
        return (stacked * self._weights(stacked)).sum(dim=1)


class StreamExchange(nn.Module):
    """All-to-all information exchange: each stream gets every stream resampled to its own
    resolution and width, fused by its SKFF.

    Args:
        widths: the width of each stream (stream ``i`` is at ``1 / 2**i`` resolution).
        reduction: SKFF reduction.
        bias: biases in the convolutions.
        smooth_upsample: blur after the up-samplers' transposed convolutions (see
            :mod:`lowlight.layers.mirnet_resample`).

    Shape:
        - Input: ``S`` tensors, stream ``i`` ``(B, widths[i], H / 2**i, W / 2**i)``.
        - Output: the same shapes.
    """

    def __init__(
        self,
        widths: Sequence[int],
        reduction: int = 8,
        bias: bool = False,
        smooth_upsample: bool = True,
    ) -> None:
        super().__init__()
        streams = len(widths)
        self.resample = nn.ModuleDict(
            {
                _key(src, dst): make_resampler(widths, src, dst, bias=bias, smooth=smooth_upsample)
                for dst in range(streams)
                for src in range(streams)
                if src != dst
            }
        )
        self.fuse = nn.ModuleList(
            SelectiveKernelFeatureFusion(w, streams, reduction, bias=bias) for w in widths
        )

    def resampler(self, source: int, target: int) -> nn.Module:
        """The module taking stream ``source`` to stream ``target``'s resolution and width."""
        return self.resample[_key(source, target)]

    def forward(self, features: Sequence[Tensor]) -> list[Tensor]:
        streams = len(self.fuse)
        return [
            self.fuse[dst](
                [
                    features[src] if src == dst else self.resampler(src, dst)(features[src])
                    for src in range(streams)
                ]
            )
            for dst in range(streams)
        ]


def _key(source: int, target: int) -> str:
    return f"{source}to{target}"


class MultiScaleResidualBlock(nn.Module):
    """MIRNet's multi-scale residual block (MRB); see the module docstring.

    Args:
        channels: width ``C`` of the full-resolution stream (and of the block's input).
        streams: number of parallel resolutions ``S`` (3: 1, 1/2, 1/4).
        growth: width factor between consecutive streams (2: ``C, 2C, 4C``).
        columns: dual attention units per stream (2); an exchange sits between two columns.
        reduction: channel attention and SKFF reduction (8).
        spatial_kernel: spatial attention kernel (5).
        channel_pool: ``"avg"`` (paper) or ``"avgmax"``.
        tied: share weights as the reference code does (see the module docstring); only
            matters with ``columns >= 2``.
        bias: biases in the convolutions.
        smooth_upsample: blur after the up-samplers' transposed convolutions (True; see
            :mod:`lowlight.layers.mirnet_resample`); False is the paper's.

    Shape:
        - Input: ``(B, C, H, W)`` with ``H`` and ``W`` multiples of ``2**(S - 1)``.
        - Output: ``(B, C, H, W)``.
    """

    def __init__(
        self,
        channels: int,
        streams: int = 3,
        growth: int = 2,
        columns: int = 2,
        reduction: int = 8,
        spatial_kernel: int = 5,
        channel_pool: ChannelPool = "avg",
        tied: bool = True,
        bias: bool = False,
        smooth_upsample: bool = True,
    ) -> None:
        super().__init__()
        if columns < 1:
            raise ConfigError(f"columns must be >= 1, got {columns}")
        widths = stream_widths(channels, streams, growth)
        self.widths = widths
        self.columns = columns
        self.tied = tied and columns > 1
        unit_count = 1 if self.tied else columns
        self.units = nn.ModuleList(
            nn.ModuleList(
                DualAttentionUnit(
                    w,
                    reduction=reduction,
                    spatial_kernel=spatial_kernel,
                    channel_pool=channel_pool,
                    bias=bias,
                )
                for _ in range(unit_count)
            )
            for w in widths
        )
        exchange_count = 1 if self.tied else columns - 1
        self.exchanges = nn.ModuleList(
            StreamExchange(widths, reduction, bias=bias, smooth_upsample=smooth_upsample)
            for _ in range(exchange_count if streams > 1 else 0)
        )
        self.entry: nn.ModuleList | None = None
        self.final: SelectiveKernelFeatureFusion | None = None
        if not self.tied:
            self.entry = nn.ModuleList(
                make_resampler(widths, j - 1, j, bias=bias) for j in range(1, streams)
            )
            self.final = SelectiveKernelFeatureFusion(channels, streams, reduction, bias=bias)
        self.exits = nn.ModuleList(
            make_resampler(widths, k, 0, bias=bias, smooth=smooth_upsample)
            for k in range(1, streams)
        )
        self.out_conv = nn.Conv2d(channels, channels, 3, padding=1, bias=bias)

    def _unit(self, stream: int, column: int) -> nn.Module:
        return self.units[stream][0 if self.tied else column]

    def _entry(self, stream: int) -> nn.Module:
        """Down-sampler from stream ``stream - 1`` to ``stream`` for the first column."""
        if self.entry is not None:
            return self.entry[stream - 1]
        exchange = self.exchanges[0]
        assert isinstance(exchange, StreamExchange)
        return exchange.resampler(stream - 1, stream)

    def _final_fusion(self) -> nn.Module:
        if self.final is not None:
            return self.final
        exchange = self.exchanges[0]
        assert isinstance(exchange, StreamExchange)
        return exchange.fuse[0]

    def forward(self, x: Tensor) -> Tensor:
        streams = len(self.widths)
        features: list[Tensor] = []
        h = x
        for j in range(streams):
            if j > 0:
                h = self._entry(j)(h)
            h = self._unit(j, 0)(h)
            features.append(h)
        for column in range(1, self.columns):
            if streams > 1:
                exchange = self.exchanges[0 if self.tied else column - 1]
                features = exchange(features)
            features = [self._unit(j, column)(f) for j, f in enumerate(features)]
        if streams == 1:
            return x + self.out_conv(features[0])
        full = [features[0]] + [self.exits[k - 1](features[k]) for k in range(1, streams)]
        return x + self.out_conv(self._final_fusion()(full))

    def extra_repr(self) -> str:
        return f"widths={self.widths}, columns={self.columns}, tied={self.tied}"


class RecursiveResidualGroup(nn.Module):
    """``blocks`` multi-scale residual blocks and a 3x3 convolution, plus the group's input.

    Args:
        channels: feature width ``C``.
        blocks: number of :class:`MultiScaleResidualBlock` (2).
        streams, growth, columns, reduction, spatial_kernel, channel_pool, tied, bias,
            smooth_upsample: the :class:`MultiScaleResidualBlock` arguments.

    Shape:
        - Input: ``(B, C, H, W)``, ``H`` and ``W`` multiples of ``2**(streams - 1)``.
        - Output: ``(B, C, H, W)``.
    """

    def __init__(
        self,
        channels: int,
        blocks: int = 2,
        *,
        streams: int = 3,
        growth: int = 2,
        columns: int = 2,
        reduction: int = 8,
        spatial_kernel: int = 5,
        channel_pool: ChannelPool = "avg",
        tied: bool = True,
        bias: bool = False,
        smooth_upsample: bool = True,
    ) -> None:
        super().__init__()
        if blocks < 1:
            raise ConfigError(f"blocks must be >= 1, got {blocks}")
        layers: list[nn.Module] = [
            MultiScaleResidualBlock(
                channels,
                streams=streams,
                growth=growth,
                columns=columns,
                reduction=reduction,
                spatial_kernel=spatial_kernel,
                channel_pool=channel_pool,
                tied=tied,
                bias=bias,
                smooth_upsample=smooth_upsample,
            )
            for _ in range(blocks)
        ]
        layers.append(nn.Conv2d(channels, channels, 3, padding=1, bias=bias))
        self.body = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)
