"""LucentVisionNet: multi-scale spatial-attention curve estimation, trained zero-reference.

Paper: M. A. Aslam, H. Khalid, N. Ahmed, "A Multi-Scale Spatial Attention-Based Zero-Shot
Learning Framework for Low-Light Image Enhancement", arXiv 2506.18323 (2025). It builds on
Zero-DCE (Guo et al., CVPR 2020), Zero-DCE++ (Li et al., TPAMI 2021) and SGZ (Zheng &
Gupta, WACV 2022), whose code it follows where the paper is silent.

Followed exactly: the input at three scales (1, 1/2, 1/4), each through a stream of
depthwise-separable convolutions; coarse streams upsampled bilinearly, concatenated and
fused by a depthwise-separable convolution; one spatial attention map on the fused
features; a depthwise-separable convolution and ``tanh`` giving per-pixel curve maps
``D`` in ``[-1, 1]``; the recurrent quadratic update ``X_t = X_{t-1} + D_t (X_{t-1}^2 -
X_{t-1})`` (Zero-DCE's light-enhancement curve) for ``iterations`` steps (8).

Chosen here (each is a constructor argument; see :class:`LucentVisionNet`):

* **width 32** (Zero-DCE's), **3 blocks per scale stream**, 1 fusion block, 1 hidden head
  block; ReLU after every block (SGZ's DSConv block, :class:`~lowlight.layers.dsconv.DSConv`);
  separate weights per scale stream; PyTorch's default initialisation (SGZ's; Zero-DCE's
  ``N(0, 0.02)`` starves depthwise filters with 9 inputs of signal).
* the scales are made by **area averaging**, exact because the curve estimator pads its
  input (reflect) to a multiple of the largest scale and crops the maps back; so any
  ``H, W`` works and the base class need not pad (``pad_multiple = 1``). The coarse
  features are upsampled bilinearly (``align_corners=False``).
* **attention**: CBAM's spatial branch (channel mean + max -> 7x7 conv -> sigmoid,
  multiplied onto the fused features); ``attention="project"`` uses a learned ``1 x 1``
  projection instead (:class:`~lowlight.layers.attention.SpatialAttention`).
* **shared curves** by default (``shared_curves=True``): one 3-channel ``D`` used at all
  iterations, as the paper's update writes ``D`` without an index and as SGZ and
  Zero-DCE++ do; ``False`` gives Zero-DCE's ``3 * iterations`` maps.
* the update is computed as ``X_t = X_{t-1} * (1 - D + D * X_{t-1})`` (the same polynomial,
  two passes per iteration instead of four); it maps ``[0, 1]`` into ``[0, 1]`` for
  ``|D| <= 1``.
* **curve downscaling** (Zero-DCE++'s ``scale_factor``): ``curve_scale_factor`` (divide
  each side) and/or ``curve_max_side`` (cap the longer side) estimate ``D`` on an
  area-downscaled copy and upsample it bilinearly to full resolution before the update.
  Off by default (the paper's network runs at full resolution); the fast preset is
  :data:`FAST_CURVE_MAX_SIDE` (128). The default weights ``lucent_sice_whole`` were trained
  with curves at 128 px on whole 512x512 frames and store ``curve_max_side=128`` in their
  record, so ``lowlight.load("lucent")`` estimates at 128 px (``curve_max_side=None`` for
  full resolution: 0.42 dB lower on SICE-seq val). Measured on CPU (AMD EPYC, 2 threads,
  ``torch.set_flush_denormal(True)``, ``inference_mode``, batch 1, best of 4 rounds of the
  median of 10 calls): full resolution 600x400 293 ms, 1200x900 1631 ms;
  ``curve_max_side=128`` 600x400 9.7 ms, 1200x900 30.1 ms (96: 8.3 / 28.1 ms; 256: 21.8 /
  44.2 ms; Zero-DCE++'s ``curve_scale_factor=12``: 6.2 / 28.2 ms). The curve estimator
  runs in channels-last layout (oneDNN's depthwise convolutions are about twice as fast).
* **tiling**: :meth:`LucentVisionNet.estimate_context` returns the curve maps of the whole
  (downscaled) image, ``{"curves": (B, C, h, w)}`` with ``C = 3`` (shared) or
  ``3 * iterations``; :meth:`~LucentVisionNet.enhance_tensor` uses a given context's
  curves instead of estimating them, so the tiles of a large image share one curve map.

With the defaults the network has 14,688 parameters (:data:`DEFAULT_PARAMETERS`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lowlight.errors import ConfigError
from lowlight.layers.attention import ATTENTION_MODES, SpatialAttention
from lowlight.layers.dsconv import ACTIVATIONS, DSConv
from lowlight.layers.padding import crop_to, pad_to_multiple
from lowlight.models.base import Context, EnhancementModel, check_image_batch
from lowlight.registry import MODELS

__all__ = [
    "DEFAULT_PARAMETERS",
    "FAST_CURVE_MAX_SIDE",
    "LucentVisionNet",
    "apply_curves",
    "curve_estimation_size",
]

DEFAULT_PARAMETERS = 14_688
"""Parameter count of ``LucentVisionNet()`` (checked by the tests)."""

FAST_CURVE_MAX_SIDE = 128
"""``curve_max_side`` of the fast mode: 600x400 in 9.7 ms on 2 CPU threads (target <= 20 ms)."""


def apply_curves(x: Tensor, curves: Tensor, iterations: int) -> Tensor:
    """The recurrent light-enhancement curve ``X_t = X_{t-1} + D_t (X_{t-1}^2 - X_{t-1})``.

    Args:
        x: ``(B, 3, H, W)`` image in ``[0, 1]``.
        curves: ``(B, 3, H, W)`` (one map for every iteration) or
            ``(B, 3 * iterations, H, W)`` (map ``t`` is channels ``3t .. 3t + 2``), in ``[-1, 1]``.
        iterations: number of steps ``n >= 1``.

    Returns:
        ``(B, 3, H, W)``, in ``[0, 1]`` when ``x`` is and ``|D| <= 1``.
    """
    channels = curves.shape[1]
    if channels not in (3, 3 * iterations):
        raise ValueError(
            f"curves must have 3 or 3 * iterations = {3 * iterations} channels, got {channels}"
        )
    if curves.shape[-2:] != x.shape[-2:]:
        raise ValueError(f"curves {tuple(curves.shape)} and image {tuple(x.shape)} differ in size")
    shared = channels == 3
    inplace = not (torch.is_grad_enabled() and (x.requires_grad or curves.requires_grad))
    one_minus = 1.0 - curves
    if inplace:
        x = x.clone()
        factor = torch.empty_like(x)
    for t in range(iterations):
        d = curves if shared else curves[:, 3 * t : 3 * t + 3]
        keep = one_minus if shared else one_minus[:, 3 * t : 3 * t + 3]
        # X_{t-1} + D (X_{t-1}^2 - X_{t-1})  ==  X_{t-1} * (1 - D + D * X_{t-1})
        if inplace:
            x.mul_(torch.addcmul(keep, d, x, out=factor))
        else:
            x = x * torch.addcmul(keep, d, x)
    return x


def curve_estimation_size(
    height: int, width: int, scale_factor: float = 1.0, max_side: int | None = None
) -> tuple[int, int]:
    """Size at which curves are estimated: each side divided by ``scale_factor``, then the
    longer side capped at ``max_side``; at least 1 pixel each."""
    scale = 1.0 / scale_factor
    if max_side is not None and max(height, width) * scale > max_side:
        scale = max_side / max(height, width)
    if scale >= 1.0:
        return height, width
    return max(1, round(height * scale)), max(1, round(width * scale))


def _stream(width: int, depth: int, activation: str) -> nn.Sequential:
    blocks = [DSConv(3, width, activation=activation)]
    blocks += [DSConv(width, width, activation=activation) for _ in range(depth - 1)]
    return nn.Sequential(*blocks)


@MODELS.register(
    "lucent",
    kind="zero-reference",
    paper="arXiv 2506.18323",
    summary=(
        "LucentVisionNet: multi-scale (1, 1/2, 1/4) depthwise-separable streams, spatial "
        "attention and recurrent quadratic curves, trained with zero-reference losses."
    ),
    default_weights="lucent_sice_whole",
    test_kwargs={"width": 8},
)
class LucentVisionNet(EnhancementModel):
    """LucentVisionNet curve estimator and recurrent enhancer (see the module docstring).

    Args:
        width: feature channels of every block (default 32).
        scales: downscaling factors of the input streams (default ``(1, 2, 4)``; ``(1,)``
            is the single-scale ablation). Each is a positive integer; one must be 1.
        stream_depth: depthwise-separable blocks per scale stream (default 3).
        fusion_depth: blocks fusing the concatenated streams (default 1).
        head_depth: hidden blocks between attention and the curve layer (default 1).
        iterations: curve iterations ``n`` (default 8).
        shared_curves: one 3-channel curve map for all iterations (default ``True``) or
            one per iteration (``3 * n`` channels).
        activation: block activation (default ``"relu"``; see :data:`~lowlight.layers.dsconv.ACTIVATIONS`).
        attention: ``"pool"`` (CBAM, default) or ``"project"``.
        attention_kernel: kernel of the ``"pool"`` attention convolution (default 7).
        curve_scale_factor: estimate curves on a copy with sides divided by this (default 1).
        curve_max_side: cap on the longer side of that copy (default ``None``: no cap;
            :data:`FAST_CURVE_MAX_SIDE` is the fast preset).

    Shape:
        - Input: ``(B, 3, H, W)`` in ``[0, 1]``, any ``H, W``.
        - Output: ``(B, 3, H, W)`` in ``[0, 1]``.

    With the defaults: 14,688 parameters.
    """

    tileable = True
    default_speed = "fast"
    """Photos: curves fitted on a ~1 MP copy (LOL-v1 eval15 at the 12 MP ratio: no PSNR loss,
    see ``benchmarks/results/fast_path_fidelity``)."""
    pad_multiple = 1
    """No padding by the base class: :meth:`curve_maps` pads whatever it is given (the image
    or its downscaled copy) to a multiple of the largest scale and crops the maps back, and
    the curve update is per pixel. So the plain path and the context path coincide."""

    def __init__(
        self,
        width: int = 32,
        scales: Sequence[int] = (1, 2, 4),
        stream_depth: int = 3,
        fusion_depth: int = 1,
        head_depth: int = 1,
        iterations: int = 8,
        shared_curves: bool = True,
        activation: str = "relu",
        attention: str = "pool",
        attention_kernel: int = 7,
        curve_scale_factor: float = 1.0,
        curve_max_side: int | None = None,
    ) -> None:
        super().__init__()
        scales = tuple(int(s) for s in scales)
        if not scales or any(s < 1 for s in scales) or 1 not in scales:
            raise ConfigError(f"scales must be positive integers including 1, got {scales}")
        if len(set(scales)) != len(scales):
            raise ConfigError(f"scales must be distinct, got {scales}")
        for name, value, low in (
            ("width", width, 1),
            ("stream_depth", stream_depth, 1),
            ("fusion_depth", fusion_depth, 1),
            ("head_depth", head_depth, 0),
            ("iterations", iterations, 1),
        ):
            if int(value) != value or value < low:
                raise ConfigError(f"{name} must be an integer >= {low}, got {value}")
        if activation not in ACTIVATIONS:
            raise ConfigError(
                f"unknown activation '{activation}'; choose one of {sorted(ACTIVATIONS)}"
            )
        if attention not in ATTENTION_MODES:
            raise ConfigError(
                f"unknown attention '{attention}'; choose one of {list(ATTENTION_MODES)}"
            )
        if not curve_scale_factor >= 1.0:
            raise ConfigError(f"curve_scale_factor must be >= 1, got {curve_scale_factor}")
        if curve_max_side is not None and curve_max_side < 1:
            raise ConfigError(f"curve_max_side must be >= 1 or None, got {curve_max_side}")

        self.scales = scales
        self.iterations = int(iterations)
        self.shared_curves = bool(shared_curves)
        self.curve_channels = 3 if self.shared_curves else 3 * self.iterations
        self.curve_scale_factor = float(curve_scale_factor)
        self.curve_max_side = None if curve_max_side is None else int(curve_max_side)
        self._multiple = max(scales)

        self.streams = nn.ModuleList(_stream(width, stream_depth, activation) for _ in scales)
        fusion = [DSConv(width * len(scales), width, activation=activation)]
        fusion += [DSConv(width, width, activation=activation) for _ in range(fusion_depth - 1)]
        self.fusion = nn.Sequential(*fusion)
        self.attention = SpatialAttention(width, mode=attention, kernel_size=attention_kernel)
        head: list[nn.Module] = [
            DSConv(width, width, activation=activation) for _ in range(head_depth)
        ]
        head.append(DSConv(width, self.curve_channels, activation="tanh"))
        self.head = nn.Sequential(*head)

    # --- curve estimation ---------------------------------------------------------------
    def curve_maps(self, x: Tensor) -> Tensor:
        """Curve maps estimated at the resolution of ``x`` (no downscaling).

        Args:
            x: ``(B, 3, h, w)`` in ``[0, 1]``, any size (padded inside to a multiple of
                the largest scale, cropped back).

        Returns:
            ``(B, C, h, w)`` in ``[-1, 1]``, ``C`` = 3 (shared) or ``3 * iterations``.
        """
        padded, size = pad_to_multiple(x, self._multiple)
        # NHWC: oneDNN's depthwise convolutions run about twice as fast on CPU in this layout
        padded = padded.contiguous(memory_format=torch.channels_last)
        full = padded.shape[-2:]
        features = []
        for scale, stream in zip(self.scales, self.streams, strict=True):
            inp = padded if scale == 1 else F.avg_pool2d(padded, scale)
            feat = stream(inp)
            if scale != 1:
                feat = F.interpolate(feat, size=full, mode="bilinear", align_corners=False)
            features.append(feat)
        fused = self.fusion(torch.cat(features, dim=1) if len(features) > 1 else features[0])
        return crop_to(self.head(self.attention(fused)), size).contiguous()

    def estimate_curves(self, x: Tensor) -> Tensor:
        """Curve maps at the estimation resolution: on an area-downscaled copy of ``x`` when
        ``curve_scale_factor`` / ``curve_max_side`` ask for it, else at full resolution.

        Args:
            x: ``(B, 3, H, W)`` in ``[0, 1]``.

        Returns:
            ``(B, C, h, w)`` with ``(h, w)`` = :func:`curve_estimation_size` of ``(H, W)``.
        """
        height, width = x.shape[-2:]
        size = curve_estimation_size(height, width, self.curve_scale_factor, self.curve_max_side)
        if size != (height, width):
            x = F.interpolate(x, size=size, mode="area")
        return self.curve_maps(x)

    def _full_curves(self, x: Tensor, context: Context | None) -> Tensor:
        if context is not None and "curves" in context:
            curves = context["curves"].to(dtype=x.dtype)
            if curves.shape[1] != self.curve_channels:
                raise ValueError(
                    f"context curves have {curves.shape[1]} channels, model expects {self.curve_channels}"
                )
        else:
            curves = self.estimate_curves(x)
        if curves.shape[-2:] != x.shape[-2:]:
            curves = F.interpolate(curves, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return curves

    # --- EnhancementModel contract ------------------------------------------------------
    def estimate_context(self, x: Tensor) -> Context | None:
        """``{"curves": (B, C, h, w)}`` of the whole (downscaled) image ``x``, at the
        estimation resolution; tiles resample it to their own pixels."""
        return {"curves": self.estimate_curves(x)}

    def enhance_tensor(self, x: Tensor, context: Context | None = None) -> Tensor:
        return apply_curves(x, self._full_curves(x, context), self.iterations)

    def forward_train(self, x: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """Enhanced batch (not clamped) and ``{"curves": (B, C, h, w), "iterations": n}``.

        ``curves`` are the maps as the network estimates them, at the estimation resolution
        ``(h, w)`` (:func:`curve_estimation_size`; ``(H, W)`` unless ``curve_scale_factor`` /
        ``curve_max_side`` downscale), before the bilinear upsampling that applies them.
        ``L_tvA`` is taken on these: on the upsampled maps a ``k``-fold upsampling would
        shrink it about ``k**2``-fold (16-fold for 512x512 frames with curves at 128 px) and
        let the estimated maps grow rough. ``iterations`` is a 0-d integer tensor.
        """
        check_image_batch(x)
        curves = self.estimate_curves(x)
        full = curves
        if full.shape[-2:] != x.shape[-2:]:
            full = F.interpolate(curves, size=x.shape[-2:], mode="bilinear", align_corners=False)
        y = apply_curves(x, full, self.iterations)
        return y, {"curves": curves, "iterations": torch.tensor(self.iterations, device=x.device)}

    def extra_repr(self) -> str:
        return (
            f"scales={self.scales}, iterations={self.iterations}, shared_curves={self.shared_curves}, "
            f"curve_scale_factor={self.curve_scale_factor}, curve_max_side={self.curve_max_side}"
        )
