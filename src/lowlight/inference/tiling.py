"""Tiled inference for images too large to enhance in one pass.

The image is split into overlapping tiles; each tile is enhanced and blended back with
weights that ramp linearly across the overlap, so seams vanish. Models whose output
depends on whole-image statistics provide a *context* (see
:meth:`~lowlight.models.base.EnhancementModel.estimate_context`), estimated once on a
downscaled copy of the whole image; spatial context maps are resampled to each tile with
the same bilinear sampling that upsampling the whole map would use, so tiles agree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor

from lowlight.contract import Context, check_image_batch, is_spatial_map
from lowlight.layers.padding import downscale_to_max_side

if TYPE_CHECKING:
    from lowlight.models.base import EnhancementModel

DEFAULT_TILE = 1024
DEFAULT_OVERLAP = 64
DEFAULT_CONTEXT_SIDE = 512


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles of size ``tile`` covering ``[0, length)`` with at least ``overlap``
    pixels shared between neighbours; the last tile ends exactly at ``length``."""
    if length <= tile:
        return [0]
    stride = tile - overlap
    if stride <= 0:
        raise ValueError(f"overlap ({overlap}) must be smaller than the tile ({tile})")
    starts = list(range(0, length - tile, stride))
    starts.append(length - tile)
    return starts


def blend_ramp(
    length: int, overlap: int, at_start: bool, at_end: bool, device: torch.device
) -> Tensor:
    """1-D blending weights ``(length,)``: a linear ramp over ``overlap`` pixels on each side
    that has a neighbour, 1 elsewhere; strictly positive so every pixel is covered."""
    w = torch.ones(length, device=device)
    ramp = (
        (torch.arange(overlap, device=device, dtype=torch.float32) + 0.5) / overlap
        if overlap > 0
        else None
    )
    if ramp is not None and length > 2 * overlap:
        if not at_start:
            w[:overlap] = ramp
        if not at_end:
            w[-overlap:] = ramp.flip(0)
    return w


def crop_context(
    context: Context, box: tuple[int, int, int, int], full: tuple[int, int]
) -> Context:
    """Resample the spatial maps of ``context`` (covering the whole ``full = (H, W)`` image) to
    the tile ``box = (y0, x0, y1, x1)`` at tile resolution; global values pass through.

    Equivalent to bilinearly upsampling each map to ``(H, W)`` (``align_corners=False``)
    and cropping the box, without materialising the full-size map.
    """
    y0, x0, y1, x1 = box
    height, width = full
    out: Context = {}
    for key, value in context.items():
        if not is_spatial_map(value):
            out[key] = value
            continue
        value = value if value.is_floating_point() else value.float()
        ys = (torch.arange(y0, y1, device=value.device, dtype=value.dtype) + 0.5) / height * 2 - 1
        xs = (torch.arange(x0, x1, device=value.device, dtype=value.dtype) + 0.5) / width * 2 - 1
        grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
        grid = torch.stack((grid_x, grid_y), dim=-1).expand(value.shape[0], -1, -1, -1)
        out[key] = F.grid_sample(
            value, grid, mode="bilinear", padding_mode="border", align_corners=False
        )
    return out


@torch.inference_mode()
def enhance_tensor_tiled(
    model: EnhancementModel,
    x: Tensor,
    *,
    tile: int = DEFAULT_TILE,
    overlap: int = DEFAULT_OVERLAP,
    context_side: int = DEFAULT_CONTEXT_SIDE,
    context: Context | None = None,
) -> Tensor:
    """Enhance ``x`` whole if it fits in one tile (or the model is not tileable), else in tiles.

    Args:
        model: an enhancement model in eval mode.
        x: ``(B, 3, H, W)`` in ``[0, 1]`` on the model's device.
        tile: tile side in pixels; images whose sides are both ``<= tile`` run in one pass.
        overlap: pixels shared by neighbouring tiles (blended linearly).
        context_side: longer side of the downscaled copy used to estimate the whole-image context.
        context: a precomputed whole-image context for ``x`` (from
            :meth:`~lowlight.models.base.EnhancementModel.estimate_context`, e.g. smoothed
            across video frames), used for the whole image and for every tile. ``None``:
            the model estimates it (on the downscaled copy when tiling).

    Returns:
        ``(B, 3, H, W)`` in ``[0, 1]``.
    """
    check_image_batch(x)
    height, width = x.shape[-2:]
    if not model.tileable or (height <= tile and width <= tile):
        return model(x) if context is None else model(x, context=context)
    overlap = min(overlap, tile // 4)
    if context is None:
        context = model.estimate_context(downscale_to_max_side(x, context_side))
    out = torch.zeros_like(x)
    weight = torch.zeros((1, 1, height, width), device=x.device, dtype=x.dtype)
    ys, xs = tile_starts(height, tile, overlap), tile_starts(width, tile, overlap)
    for y0 in ys:
        y1 = min(y0 + tile, height)
        wy = blend_ramp(y1 - y0, overlap, y0 == 0, y1 == height, x.device)
        for x0 in xs:
            x1 = min(x0 + tile, width)
            wx = blend_ramp(x1 - x0, overlap, x0 == 0, x1 == width, x.device)
            tile_context = (
                crop_context(context, (y0, x0, y1, x1), (height, width)) if context else None
            )
            y = model(x[..., y0:y1, x0:x1], context=tile_context)
            w = (wy[:, None] * wx[None, :]).to(x.dtype)
            out[..., y0:y1, x0:x1] += y * w
            weight[..., y0:y1, x0:x1] += w
    return (out / weight).clamp_(0.0, 1.0)
