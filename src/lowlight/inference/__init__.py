"""Inference helpers: tiled enhancement of large images and conversion between input kinds."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from lowlight.inference.tiling import (
    DEFAULT_CONTEXT_SIDE,
    DEFAULT_OVERLAP,
    DEFAULT_TILE,
    enhance_tensor_tiled,
)

if TYPE_CHECKING:
    from lowlight.models.base import EnhancementModel

__all__ = [
    "DEFAULT_CONTEXT_SIDE",
    "DEFAULT_OVERLAP",
    "DEFAULT_TILE",
    "enhance_any",
    "enhance_tensor_tiled",
]


def enhance_any(
    model: EnhancementModel,
    image: Any,
    *,
    tile: int = DEFAULT_TILE,
    overlap: int = DEFAULT_OVERLAP,
    context_side: int = DEFAULT_CONTEXT_SIDE,
    speed: str | None = None,
    strength: float = 1.0,
    working_pixels: int | None = None,
    denoise: float | str = 0.0,
) -> Any:
    """Enhance ``image`` (path, PIL image, numpy ``(H, W[, C])`` uint8/uint16/float, or tensor
    ``(B, 3, H, W)`` / ``(3, H, W)`` in ``[0, 1]``) and return the same kind.

    A path gives a PIL image (with the source's mode, alpha and bit depth restored). Numpy
    arrays come back with their dtype and channel count. Tensors keep device and dtype.
    ``speed``, ``strength``, ``working_pixels`` and ``denoise``: see
    :meth:`~lowlight.models.base.EnhancementModel.enhance` and
    :mod:`lowlight.inference.fast_path`.
    """
    from lowlight.inference.convert import from_batch, to_batch
    from lowlight.inference.fast_path import FastPathConfig, enhance_at_speed

    converted = to_batch(image, model.device)
    config = FastPathConfig(working_pixels=working_pixels, denoise=denoise)
    with torch.inference_mode():
        result = enhance_at_speed(
            model,
            converted.batch,
            speed=speed,
            strength=strength,
            tile=tile,
            overlap=overlap,
            context_side=context_side,
            config=config,
            in_place=converted.restore[0] != "tensor",  # paths, PIL, numpy: a fresh copy
        )
    return from_batch(result, converted.restore)
