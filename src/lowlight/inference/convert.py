"""Conversions between the kinds of image ``EnhancementModel.enhance`` accepts and a batch tensor."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor


@dataclass
class Converted:
    """An input turned into a ``(1, 3, H, W)`` float tensor, with what is needed to turn the
    result back into the input's kind."""

    batch: Tensor
    restore: Any


def to_batch(image: Any, device: torch.device) -> Converted:
    """Turn a path, PIL image, numpy array or tensor into a float ``(B, 3, H, W)`` batch."""
    from PIL import Image

    from lowlight import io

    if isinstance(image, (str, Path)):
        data = io.read_image(image)
        return Converted(_numpy_to_tensor(data.rgb, device), ("pil", data))
    if isinstance(image, Image.Image):
        data = io.from_pil(image)
        return Converted(_numpy_to_tensor(data.rgb, device), ("pil", data))
    if isinstance(image, np.ndarray):
        try:
            rgb, alpha = io.array_to_float(image)
        except ValueError as exc:
            raise ValueError(f"image: {exc}") from None
        channels = 1 if image.ndim == 2 else image.shape[2]
        return Converted(
            _numpy_to_tensor(rgb, device), ("numpy", image.dtype, alpha, channels, image.ndim)
        )
    if isinstance(image, Tensor):
        if not image.is_floating_point():
            raise ValueError(
                f"image: expected a float tensor in [0, 1], got dtype {image.dtype} (convert "
                "integer pixels first, e.g. x.float() / 255)"
            )
        squeeze = image.ndim == 3
        batch = image.unsqueeze(0) if squeeze else image
        return Converted(
            batch.to(device=device, dtype=torch.float32),
            ("tensor", image.device, image.dtype, squeeze),
        )
    raise TypeError(
        f"cannot enhance a {type(image).__name__}: pass a path, a PIL image, a numpy array (H, W, 3) "
        "or a tensor (B, 3, H, W) in [0, 1]"
    )


def from_batch(result: Tensor, restore: Any) -> Any:
    """Turn the enhanced batch back into the kind described by ``restore``."""
    from lowlight import io

    kind = restore[0]
    if kind == "tensor":
        _, device, dtype, squeeze = restore
        out = result.to(device=device, dtype=dtype if dtype.is_floating_point else torch.float32)
        return out.squeeze(0) if squeeze else out
    rgb = result[0].permute(1, 2, 0).float().cpu().numpy()
    if kind == "pil":
        return io.to_pil(rgb, like=restore[1])
    _, dtype, alpha, channels, ndim = restore
    out = io.float_to_array(rgb, dtype, alpha=alpha, channels=channels)
    return out[..., None] if ndim == 3 and channels == 1 and out.ndim == 2 else out


def _numpy_to_tensor(rgb: np.ndarray, device: torch.device) -> Tensor:
    """``(H, W, 3)`` float32 -> ``(1, 3, H, W)`` on ``device``."""
    return torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))[None].to(device)
