"""End-to-end cost of one photo: decode a JPEG, enhance it, encode the result (``lowlight bench``).

The network's forward (:mod:`lowlight.profiling`) is only part of what a user waits for:
decoding a 12 MP JPEG to float, the fast path's full-resolution transform, and encoding
take seconds of their own. :func:`measure_photo_cost` times the three stages as
``lowlight enhance`` runs them (:func:`lowlight.io.read_image`, the channels-last view,
:func:`~lowlight.inference.fast_path.enhance_at_speed` in place,
:func:`lowlight.io.write_image` at JPEG quality 95) on a synthetic photo (smooth
gradients, edges and mild noise, so that JPEG sizes are photo-like, not noise-like),
in this process, after one untimed warm-up; each stage's figure is its median over ``runs``.
Process start-up (Python, torch) is not included: ``benchmarks/photo_speed.py`` times
whole processes.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from lowlight.models.base import EnhancementModel

__all__ = ["PhotoCost", "measure_photo_cost", "synthetic_photo"]


@dataclass(frozen=True)
class PhotoCost:
    """Median milliseconds per stage for one ``width x height`` JPEG at ``speed``."""

    width: int
    height: int
    speed: str
    decode_ms: float
    enhance_ms: float
    encode_ms: float
    total_ms: float
    runs: int


def synthetic_photo(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A dark photo-like ``(height, width, 3)`` uint8 image: gradients, a box edge, noise."""
    rng = np.random.default_rng(seed)
    yy = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    xx = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    grey = 0.08 + 0.12 * xx * (0.5 + 0.5 * yy)
    grey += 0.04 * np.sin(40.0 * xx) * np.cos(30.0 * yy)
    grey[height // 4 : height // 2, width // 4 : width // 2] *= 0.4
    rgb = grey[:, :, None] * np.array([1.0, 0.9, 0.75], dtype=np.float32)
    levels = rgb * 255.0 + rng.normal(0.0, 1.5, rgb.shape).astype(np.float32)
    return np.clip(levels.round(), 0, 255).astype(np.uint8)


def measure_photo_cost(
    model: EnhancementModel,
    width: int,
    height: int,
    *,
    speed: str | None = None,
    runs: int = 3,
    quality: int = 95,
) -> PhotoCost:
    """Time decode, enhance and encode of a ``width x height`` JPEG (module docstring)."""
    from PIL import Image

    from lowlight.inference.fast_path import enhance_at_speed, resolve_speed
    from lowlight.io import read_image, write_image

    chosen = resolve_speed(model, speed)
    stages: dict[str, list[float]] = {"decode": [], "enhance": [], "encode": [], "total": []}
    with tempfile.TemporaryDirectory(prefix="lowlight_bench_") as tmp:
        source, target = Path(tmp) / "photo.jpg", Path(tmp) / "out.jpg"
        Image.fromarray(synthetic_photo(width, height)).save(source, quality=quality)
        for index in range(runs + 1):  # the first run warms up, untimed
            start = time.perf_counter()
            data = read_image(source)
            decoded = time.perf_counter()
            batch = torch.from_numpy(data.rgb[None]).permute(0, 3, 1, 2).to(model.device)
            with torch.inference_mode():
                out = enhance_at_speed(model, batch, speed=chosen, in_place=True)
            rgb = out[0].permute(1, 2, 0).float().cpu().numpy()
            enhanced = time.perf_counter()
            write_image(target, rgb, like=data, quality=quality, overwrite=True)
            encoded = time.perf_counter()
            del data, batch, out, rgb
            if index == 0:
                continue
            stages["decode"].append((decoded - start) * 1000.0)
            stages["enhance"].append((enhanced - decoded) * 1000.0)
            stages["encode"].append((encoded - enhanced) * 1000.0)
            stages["total"].append((encoded - start) * 1000.0)
    median = {key: statistics.median(values) for key, values in stages.items()}
    return PhotoCost(
        width=width,
        height=height,
        speed=chosen,
        decode_ms=median["decode"],
        enhance_ms=median["enhance"],
        encode_ms=median["encode"],
        total_ms=median["total"],
        runs=runs,
    )
