"""MIRNet: multi-scale residual network with dual attention and selective kernel fusion.

Paper: S. W. Zamir, A. Arora, S. Khan, M. Hayat, F. S. Khan, M.-H. Yang, L. Shao,
"Learning Enriched Features for Real Image Restoration and Enhancement", ECCV 2020,
arXiv 2003.06792. Blocks in :mod:`lowlight.layers.mirnet_blocks` and
:mod:`lowlight.layers.mirnet_resample`.

Followed exactly (the paper's enhancement network, with the reference code's details):
a 3x3 convolution to ``C = 64`` features; 3 recursive residual groups (RRG), each of 2
multi-scale residual blocks (MRB) and a 3x3 convolution with a group-level residual; every
MRB has 3 streams at full, 1/2 and 1/4 resolution with widths 64, 128, 256, 2 dual
attention units (DAU) per stream, SKFF information exchange between the two columns and
SKFF aggregation of the up-sampled streams, a 3x3 convolution and a block-level residual;
anti-aliased residual down-sampling and residual up-sampling between streams; channel
attention by global average pooling with reduction 8, spatial attention from channel-wise
average and max with a 5x5 convolution; a 3x3 convolution back to RGB and a global
residual (``output = input + network(input)``); no biases; weights tied as in the reference
code (``tied=True``, see :mod:`lowlight.layers.mirnet_blocks`).

With these defaults ``MIRNet()`` has :data:`DEFAULT_PARAMETERS` = 31,787,454 parameters
(the published 31.8 M); ``tied=False`` (every unit, SKFF and resampler with its own
weights, as the paper's figure draws it) has :data:`UNTIED_PARAMETERS` = 43,971,972.

Chosen here:

* any ``H, W``: the input is reflect-padded to a multiple of ``2**(streams - 1)`` (4) and
  the output cropped back (:attr:`~lowlight.models.base.EnhancementModel.pad_multiple`);
  the base class clamps the output to ``[0, 1]`` at inference, not in ``forward_train``;
* ``smooth_upsample=True`` (default): every up-sampler's stride-2 transposed convolution is
  followed by a fixed 3x3 binomial blur (no parameters; state-dict keys unchanged). The
  plain transposed convolution (``smooth_upsample=False``, the paper's) gives its four
  output phases different gains; through the 1/4 stream this printed a period-4 lattice
  over flat areas (``benchmarks/lattice.py``, :mod:`lowlight.layers.mirnet_resample`);
* every PReLU has its own slope and the spatial attention convolution has a bias (see
  :mod:`lowlight.layers.mirnet_blocks`): 35 parameters more than the reference code's
  structure (18 unit slopes and 18 attention biases, less its one shared slope);
* :func:`mirnet_small`: the same architecture (3 streams, growth 2, 2 units per stream,
  tied weights) narrowed for CPU training: ``C = 16`` (stream widths 16, 32, 64), 2 groups
  of 1 block (:data:`SMALL_CONFIG`): :data:`SMALL_PARAMETERS` = 665,930 parameters.

Cost (torch's ``FlopCounterMode``: convolutions and transposed convolutions; element-wise
work not counted), one 256x256 image: ``MIRNet()`` 479.9 GMACs, ``mirnet_small()``
10.25 GMACs (37.5 GMACs at 600x400). One training step of ``mirnet_small`` (batch 4,
128x128 crops, Charbonnier, Adam) took 1.9 s on one thread of a shared 2-core AMD EPYC.

Feature split (:mod:`lowlight.models.features`, where training-time plug-ins such as LFPV
attach): ``encode`` = stem + first recursive residual group, ``decode`` = the other groups,
the RGB convolution and the global residual; full-resolution ``C``-channel features.

Tiling: channel attention and SKFF pool over the whole (tile) frame, so tiles of a large
image see slightly different statistics than the whole frame; tiled inference remains
allowed (overlaps are blended).
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from lowlight.errors import ConfigError
from lowlight.layers.mirnet_blocks import CHANNEL_POOLS, ChannelPool, RecursiveResidualGroup
from lowlight.models.base import Context, EnhancementModel
from lowlight.models.features import Encoded
from lowlight.registry import MODELS

__all__ = [
    "DEFAULT_PARAMETERS",
    "SMALL_CONFIG",
    "SMALL_PARAMETERS",
    "UNTIED_PARAMETERS",
    "MIRNet",
    "mirnet_small",
]

DEFAULT_PARAMETERS = 31_787_454
"""Parameter count of ``MIRNet()`` (checked by the tests)."""

UNTIED_PARAMETERS = 43_971_972
"""Parameter count of ``MIRNet(tied=False)`` (checked by the tests)."""

SMALL_CONFIG: dict[str, Any] = {"channels": 16, "num_rrg": 2, "num_mrb": 1}
"""Constructor arguments of :func:`mirnet_small`."""

SMALL_PARAMETERS = 665_930
"""Parameter count of ``mirnet_small()`` (checked by the tests)."""

_SUMMARY = (
    "MIRNet: recursive residual groups of multi-scale residual blocks (full, 1/2, 1/4 "
    "streams) with dual attention units and selective kernel feature fusion; supervised."
)
_PAPER = "Zamir et al., ECCV 2020, arXiv 2003.06792"


@MODELS.register(
    "mirnet",
    kind="supervised",
    paper=_PAPER,
    summary=_SUMMARY,
    default_weights=None,
    test_kwargs={"channels": 4, "num_rrg": 1, "num_mrb": 1},
)
class MIRNet(EnhancementModel):
    """MIRNet (see the module docstring).

    Args:
        channels: width ``C`` of the full-resolution features (64).
        num_rrg: recursive residual groups (3).
        num_mrb: multi-scale residual blocks per group (2).
        streams: parallel resolutions per block (3: 1, 1/2, 1/4).
        growth: width factor between consecutive streams (2).
        columns: dual attention units per stream (2).
        reduction: channel attention and SKFF reduction (8).
        spatial_kernel: spatial attention kernel (5).
        channel_pool: channel attention pooling, ``"avg"`` (paper) or ``"avgmax"``.
        tied: share weights as the reference code does (True).
        bias: biases in the convolutions (False).
        smooth_upsample: blur after every up-sampler's transposed convolution (True: no
            lattice over flat areas; see :mod:`lowlight.layers.mirnet_resample`); False is
            the paper's plain transposed convolution.

    Shape:
        - Input: ``(B, 3, H, W)`` in ``[0, 1]``, any ``H`` and ``W``.
        - Output: ``(B, 3, H, W)`` in ``[0, 1]``.
    """

    default_speed = "fast"
    """Photos: the network on a ~1 MP copy, its effect applied at full resolution; its
    denoising does not carry over (``--speed full`` or ``--denoise auto``)."""

    def __init__(
        self,
        channels: int = 64,
        num_rrg: int = 3,
        num_mrb: int = 2,
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
        for name, value in (
            ("channels", channels),
            ("num_rrg", num_rrg),
            ("num_mrb", num_mrb),
            ("streams", streams),
            ("growth", growth),
            ("columns", columns),
            ("reduction", reduction),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"MIRNet {name} must be an integer >= 1, got {value!r}")
        if spatial_kernel < 1 or spatial_kernel % 2 == 0:
            raise ConfigError(f"spatial_kernel must be odd and >= 1, got {spatial_kernel}")
        if channel_pool not in CHANNEL_POOLS:
            raise ConfigError(f"channel_pool must be one of {CHANNEL_POOLS}, got {channel_pool!r}")
        self.pad_multiple = 2 ** (streams - 1)
        self.conv_in = nn.Conv2d(3, channels, 3, padding=1, bias=bias)
        self.groups = nn.Sequential(
            *(
                RecursiveResidualGroup(
                    channels,
                    num_mrb,
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
                for _ in range(num_rrg)
            )
        )
        self.conv_out = nn.Conv2d(channels, 3, 3, padding=1, bias=bias)

    # Feature split (lowlight.models.features): encode = stem + first group, decode = the
    # remaining groups + the RGB convolution + the global residual.
    feature_stride = 1
    clamps_in_training = True  # the base class forward_train clamps

    @property
    def feature_channels(self) -> int:
        """Width ``C`` of :meth:`encode`'s features."""
        return self.conv_in.out_channels

    def encode(self, x: Tensor) -> Encoded:
        """Stem and first recursive residual group: features ``(B, C, H, W)`` of a padded batch."""
        return Encoded(self.groups[0](self.conv_in(x)), {"input": x})

    def decode(self, encoded: Encoded, features: Tensor) -> Tensor:
        """Remaining groups, RGB convolution and global residual: ``(B, 3, H, W)``, unclamped."""
        x = encoded.skips["input"]
        assert isinstance(x, Tensor)
        return x + self.conv_out(self.groups[1:](features))

    def residual(self, x: Tensor) -> Tensor:
        """The network's correction ``(B, 3, H, W)`` of a padded batch (output minus input)."""
        return self.conv_out(self.groups(self.conv_in(x)))

    def enhance_tensor(self, x: Tensor, context: Context | None = None) -> Tensor:
        encoded = self.encode(x)
        return self.decode(encoded, encoded.features)


@MODELS.register(
    "mirnet_small",
    kind="supervised",
    paper=_PAPER,
    summary="MIRNet narrowed for CPU training (C=16, 2 groups of 1 block, 0.67 M parameters); "
    + _SUMMARY,
    default_weights="mirnet_small_mixed_fusion",
    test_kwargs={"channels": 4, "num_rrg": 1, "num_mrb": 1},
)
def mirnet_small(**overrides: Any) -> MIRNet:
    """MIRNet with :data:`SMALL_CONFIG`; keyword arguments override single settings."""
    return MIRNet(**{**SMALL_CONFIG, **overrides})
