"""Fixtures for the evaluation tests: a tiny LOL-style paired dataset written with PIL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

STEMS = ("1", "2", "10")


def _write_rgb(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array).astype(np.uint8), "RGB").save(path)


@pytest.fixture
def write_rgb() -> Callable[[Path, np.ndarray], None]:
    """Write an ``(H, W, 3)`` array as an 8-bit RGB PNG (parents created)."""
    return _write_rgb


@pytest.fixture
def lol_like(tmp_path: Path) -> Path:
    """``root/low`` and ``root/high`` with three 32x24 (W x H) pairs: dark inputs, bright targets."""
    rng = np.random.default_rng(7)
    root = tmp_path / "tinylol"
    for i, stem in enumerate(STEMS):
        high = rng.integers(60, 250, size=(24, 32, 3))
        low = (high * (0.1 + 0.05 * i)).round()
        _write_rgb(root / "high" / f"{stem}.png", high)
        _write_rgb(root / "low" / f"{stem}.png", low)
    return root
