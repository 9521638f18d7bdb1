"""A tiny multi-exposure collection on disk: two scenes, one misaligned frame, one singleton."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

EXPOSURES = (0.08, 0.18, 0.35, 0.7, 1.4)
"""Linear gains of scene A's five frames (frame 3, gain 0.35, is shifted by 3 px)."""


def scene_radiance(seed: int, size: int = 96) -> np.ndarray:
    """A textured scene (blobs, edges, colour), linear values around 0.4."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    img = np.zeros((size, size, 3), np.float32) + 0.15
    for _ in range(25):
        cy, cx, r = rng.uniform(0, size), rng.uniform(0, size), rng.uniform(4, 16)
        img += (((yy - cy) ** 2 + (xx - cx) ** 2) < r * r)[..., None] * rng.uniform(0.05, 0.3, 3)
    return np.clip(img, 0, 1)


def expose(radiance: np.ndarray, gain: float) -> np.ndarray:
    """An 8-bit sRGB-like frame: gain, gamma 1/2.2, clip, quantise."""
    return np.round(np.clip(radiance * gain, 0, 1) ** (1 / 2.2) * 255).astype(np.uint8)


def write_collection(root: Path) -> Path:
    """Files 1-5: scene A (frame 3 shifted), 6-9: scene B, 10: an unrelated singleton."""
    root.mkdir(parents=True, exist_ok=True)
    a, b = scene_radiance(1), scene_radiance(2)
    for i, gain in enumerate(EXPOSURES, start=1):
        frame = expose(a, gain)
        if i == 3:
            frame = np.roll(frame, 3, axis=1)
        Image.fromarray(frame).save(root / f"{i}.png")
    for i, gain in enumerate((0.1, 0.3, 0.8, 2.0), start=6):
        Image.fromarray(expose(b, gain)).save(root / f"{i}.png")
    rng = np.random.default_rng(7)
    Image.fromarray(rng.integers(0, 255, (96, 96, 3), dtype=np.uint8)).save(root / "10.png")
    return root
