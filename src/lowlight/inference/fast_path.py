"""Resolution-independent enhancement: run the network small, apply what it did at full size.

The peers built for photos (Zero-DCE++'s reduced-scale curves, Zeng et al.'s image-adaptive
3D LUTs, HDRNet's bilateral grids, Wu et al.'s fast guided filter, CVPR 2018) run their
network once at low resolution and apply a cheap per-pixel operator at full resolution.
This module does that for *any* :class:`~lowlight.models.base.EnhancementModel`:

1. the input ``(B, 3, H, W)`` is downscaled (bilinear with antialiasing) to about
   ``working_pixels`` pixels;
2. the model enhances that copy (tiled, with its whole-image context, like any image);
3. what it did is expressed as a per-channel local affine transform
   ``y = a * x + b`` fitted at low resolution with a gain-regularised guided filter
   (:func:`~lowlight.inference.guided_filter.fit_affine`): a gain map where the image is
   flat, an edge-aware affine fit across edges;
4. ``a`` and ``b`` are upsampled bilinearly and applied to the full-resolution input, in
   row strips (:func:`~lowlight.inference.guided_filter.apply_affine`).

Why a guided-filter affine transform rather than a plain gain map or a bilateral grid: a
gain map ``y / x`` upsampled bilinearly halos at every edge that the low-resolution grid
cuts through (the gain of a dark pixel is applied to its bright neighbour); the local
affine fit puts the edge into ``x`` itself, which is at full resolution. A bilateral grid
(HDRNet) needs a third, intensity, axis and a learned slicing; the guided filter needs
neither, is a handful of box filters, and is exact for an identity model.

What does **not** transfer: anything the model does below the working resolution.
Denoising is the main case: a supervised model (``mirnet``, ``nalsuper``) removes noise
from its low-resolution input, but the transform is applied to the *noisy* full-resolution
input, and its gain amplifies that noise. ``denoise`` offers a cheap full-resolution
remedy: an edge-preserving self-guided filter on the input before the transform, with a
variance threshold from the noise level (``"auto"``: Immerkaer's estimate on the luma of a
central crop). For the model's own denoising, use ``speed="full"`` (tiled).

Strength (``0`` = the input, ``1`` = the model) is applied to the transform:
``a_s = 1 + s (a - 1)``, ``b_s = s b``, so ``y_s = x + s (y - x)`` per pixel; the full
path blends its output the same way, so a strength means the same in every speed mode.
Strength 0 returns the input unchanged (bit for bit).

Images with at most ``working_pixels`` pixels are enhanced by the network at full
resolution: the fast path changes nothing below its working size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor

from lowlight.errors import ConfigError
from lowlight.inference.guided_filter import apply_affine, fit_affine, self_guided_smooth
from lowlight.inference.tiling import (
    DEFAULT_CONTEXT_SIDE,
    DEFAULT_OVERLAP,
    DEFAULT_TILE,
    enhance_tensor_tiled,
)

if TYPE_CHECKING:
    from lowlight.models.base import EnhancementModel
from lowlight.contract import Context, check_image_batch

__all__ = [
    "DEFAULT_FAST",
    "SPEEDS",
    "SPEED_WORKING_PIXELS",
    "FastPathConfig",
    "apply_transform",
    "enhance_at_speed",
    "estimate_noise_sigma",
    "estimate_transform",
    "resolve_speed",
    "working_size",
]

SPEEDS = ("fast", "balanced", "full")
"""Speed modes, fastest first: ``full`` runs the network at full resolution (tiled)."""

SPEED_WORKING_PIXELS = {"fast": 1_000_000, "balanced": 4_000_000}
"""Default working size (pixels) of the network in each fast-path mode."""

DENOISE_RADIUS = 2
"""Window radius (full-resolution pixels) of the optional self-guided denoise."""
DENOISE_SCALE = 2.0
"""The denoise variance threshold is ``(DENOISE_SCALE * sigma / 255) ** 2``."""
NOISE_CROP = 512
"""Side of the central crop the ``"auto"`` noise level is estimated on."""


@dataclass(frozen=True)
class FastPathConfig:
    """How the fast path fits and applies its transform.

    Args:
        working_pixels: pixels of the copy the network sees (``None``: the speed mode's,
            :data:`SPEED_WORKING_PIXELS`).
        radius: guided-filter window radius, in working-resolution pixels.
        eps: guided-filter ridge weight toward the local gain (larger: closer to a pure
            gain map; smaller: follows the model's local contrast more closely). Chosen on
            LOL-v1 eval15 with ``lucent`` (``benchmarks/fast_path_fidelity.py``, 12 MP
            ratio): SSIM of the fast output 0.458 at ``eps = 1e-2``, 0.469 at ``1e-3``,
            0.491 at ``1e-4``, 0.522 at ``1e-5``, 0.551 at ``1e-6`` (full: 0.536), with
            radius 2 (radius 1, 3 and 4 within 0.03 either way). A gain map amplifies
            detail by ``y / x``; a brightening curve by its slope, which is smaller: the
            least-squares fit finds that slope wherever the working copy has contrast.
        denoise: ``0`` off; a noise std in 8-bit levels of the input; or ``"auto"``.
        strip_rows: rows per strip at full resolution (memory: ``~12 * strip_rows * W``
            floats of temporaries).
    """

    working_pixels: int | None = None
    radius: int = 2
    eps: float = 1e-6
    denoise: float | str = 0.0
    strip_rows: int = 256


DEFAULT_FAST = FastPathConfig()
"""The default fast-path settings."""


def resolve_speed(model: EnhancementModel, speed: str | None) -> str:
    """The speed mode to run: ``speed``, or the model's :attr:`default_speed`; ``full``
    for models that opt out of the fast path (``fast_path = False``)."""
    chosen = getattr(model, "default_speed", "full") if speed is None else speed
    if chosen not in SPEEDS:
        raise ConfigError(f"unknown speed '{chosen}'; choose one of {', '.join(SPEEDS)}")
    if not getattr(model, "fast_path", True):
        return "full"
    return chosen


def working_size(height: int, width: int, working_pixels: int) -> tuple[int, int]:
    """``(h, w)`` with ``h * w ~= working_pixels`` and the aspect ratio of ``(height, width)``;
    the input size itself when it is no larger."""
    if height * width <= working_pixels:
        return height, width
    scale = math.sqrt(working_pixels / (height * width))
    return max(1, round(height * scale)), max(1, round(width * scale))


def estimate_transform(
    model: EnhancementModel,
    x: Tensor,
    *,
    working_pixels: int,
    config: FastPathConfig = DEFAULT_FAST,
    tile: int = DEFAULT_TILE,
    overlap: int = DEFAULT_OVERLAP,
    context_side: int = DEFAULT_CONTEXT_SIDE,
) -> Context:
    """Run ``model`` on ``x`` downscaled to ``working_pixels`` and fit the transform.

    Args:
        x: ``(B, 3, H, W)`` in ``[0, 1]``.

    Returns:
        ``{"a": (B, 3, h, w), "b": (B, 3, h, w)}`` at the working resolution; a context
        (per-frame values), so video can smooth it like any other.
    """
    size = working_size(*x.shape[-2:], working_pixels)
    small = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)
    small = small.clamp_(0.0, 1.0).contiguous()  # a channels-last input gives a channels-last copy
    # the tile bounds memory; a working copy of at most tile**2 pixels (1 MP fits 1024**2)
    # runs whole even when one side exceeds it: two overlapping tiles of a 1155x866 copy
    # would cost 1.7x the network's work
    if size[0] * size[1] <= tile * tile:
        tile = max(tile, *size)
    enhanced = enhance_tensor_tiled(
        model, small, tile=tile, overlap=overlap, context_side=context_side
    )
    a, b = fit_affine(small, enhanced, config.radius, config.eps)
    return {"a": a, "b": b}


def apply_transform(
    x: Tensor,
    transform: Context,
    *,
    strength: float = 1.0,
    config: FastPathConfig = DEFAULT_FAST,
    out: Tensor | None = None,
) -> Tensor:
    """Apply ``transform`` (from :func:`estimate_transform`) to ``x`` ``(B, 3, H, W)`` at
    full resolution with ``strength``; returns ``(B, 3, H, W)`` in ``[0, 1]``.

    ``out`` may be ``x`` itself (in place, to save a full-size copy) unless ``denoise`` is on.
    """
    _check_strength(strength)
    if strength == 0.0:
        return x if out is x else (x.clone() if out is None else out.copy_(x))
    a, b = transform["a"], transform["b"]
    if strength != 1.0:
        a, b = torch.lerp(torch.ones_like(a), a, strength), b * strength
    sigma = _denoise_sigma(x, config.denoise)
    source = None
    if sigma > 0.0:
        eps = (DENOISE_SCALE * sigma / 255.0) ** 2
        source = self_guided_smooth(x, DENOISE_RADIUS, eps, config.strip_rows)
    return apply_affine(x, a, b, strip_rows=config.strip_rows, out=out, source=source)


def enhance_at_speed(
    model: EnhancementModel,
    x: Tensor,
    *,
    speed: str | None = None,
    strength: float = 1.0,
    tile: int = DEFAULT_TILE,
    overlap: int = DEFAULT_OVERLAP,
    context_side: int = DEFAULT_CONTEXT_SIDE,
    config: FastPathConfig = DEFAULT_FAST,
    transform: Context | None = None,
    context: Context | None = None,
    in_place: bool = False,
) -> Tensor:
    """Enhance ``x`` ``(B, 3, H, W)`` in ``[0, 1]`` in speed mode ``speed`` with ``strength``.

    ``full`` (or an image no larger than the working size) runs
    :func:`~lowlight.inference.tiling.enhance_tensor_tiled` (with ``context`` if given) and
    blends ``x + s (y - x)``; ``fast`` and ``balanced`` run the fast path (with
    ``transform`` if given, e.g. smoothed across video frames). ``in_place`` lets the fast
    path overwrite ``x`` with the result (the caller no longer needs the input).

    Returns:
        ``(B, 3, H, W)`` in ``[0, 1]``.
    """
    check_image_batch(x)
    _check_strength(strength)
    mode = resolve_speed(model, speed)
    if strength == 0.0:
        return x if in_place else x.clone()
    pixels = fast_working_pixels(mode, config)
    height, width = x.shape[-2:]
    if transform is None and (pixels is None or height * width <= pixels):
        if any(True for _ in model.parameters()):
            # networks run 1.5x slower on a channels-last view (as enhance_files passes)
            x = x.contiguous()
        y = enhance_tensor_tiled(
            model, x, tile=tile, overlap=overlap, context_side=context_side, context=context
        )
        return y if strength == 1.0 else torch.lerp(x, y, strength).clamp_(0.0, 1.0)
    if transform is None:
        transform = estimate_transform(
            model,
            x,
            working_pixels=pixels,  # type: ignore[arg-type]
            config=config,
            tile=tile,
            overlap=overlap,
            context_side=context_side,
        )
    use_in_place = in_place and not _denoise_on(config.denoise)
    return apply_transform(
        x, transform, strength=strength, config=config, out=x if use_in_place else None
    )


def fast_working_pixels(mode: str, config: FastPathConfig) -> int | None:
    """Working size of speed ``mode`` (``None`` for ``full``); ``config.working_pixels``
    overrides the mode's default."""
    if mode == "full":
        return None
    pixels = config.working_pixels or SPEED_WORKING_PIXELS[mode]
    if pixels < 1:
        raise ConfigError(f"working_pixels must be positive, got {pixels}")
    return int(pixels)


def with_options(config: FastPathConfig, **changes: object) -> FastPathConfig:
    """``config`` with the given fields replaced (``None`` values ignored)."""
    return replace(config, **{k: v for k, v in changes.items() if v is not None})


def estimate_noise_sigma(x: Tensor, crop: int = NOISE_CROP) -> float:
    """Noise std in 8-bit levels of ``x`` ``(B, 3, H, W)``: Immerkaer's estimate
    (J. Immerkaer, CVIU 1996: ``sqrt(pi / 2) * mean |L * N|`` with the Laplacian-difference
    mask ``N / 6``) on the BT.601 luma of a central ``crop x crop`` window of the first image.
    Edges inflate it a little; it is meant to set a denoise threshold, not to measure."""
    height, width = x.shape[-2:]
    y0, x0 = max(0, (height - crop) // 2), max(0, (width - crop) // 2)
    window = x[:1, :, y0 : y0 + crop, x0 : x0 + crop].float()
    if min(window.shape[-2:]) < 3:
        return 0.0
    weights = torch.tensor([0.299, 0.587, 0.114], device=x.device).view(1, 3, 1, 1)
    luma = (window * weights).sum(dim=1, keepdim=True)
    mask = torch.tensor(
        [[1.0, -2.0, 1.0], [-2.0, 4.0, -2.0], [1.0, -2.0, 1.0]], device=x.device
    ).view(1, 1, 3, 3)
    residual = F.conv2d(luma, mask / 6.0)
    return float(math.sqrt(math.pi / 2.0) * residual.abs().mean() * 255.0)


def _denoise_on(denoise: float | str) -> bool:
    return denoise == "auto" or (not isinstance(denoise, str) and float(denoise) > 0.0)


def _denoise_sigma(x: Tensor, denoise: float | str) -> float:
    if isinstance(denoise, str):
        if denoise != "auto":
            raise ConfigError(
                f"denoise must be a number of 8-bit levels or 'auto', got {denoise!r}"
            )
        return estimate_noise_sigma(x)
    if denoise < 0:
        raise ConfigError(f"denoise must be >= 0, got {denoise}")
    return float(denoise)


def _check_strength(strength: float) -> None:
    if not (math.isfinite(strength) and strength >= 0.0):
        raise ConfigError(f"strength must be a finite number >= 0, got {strength}")
