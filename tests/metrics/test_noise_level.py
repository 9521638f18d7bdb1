"""The blind noise-level estimate recovers known noise and ignores smooth content."""

from __future__ import annotations

import numpy as np
import pytest

from lowlight.metrics.noise_level import flat_blocks, luma, noise_sigma


def _ramp(h: int = 128, w: int = 160) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    base = 0.3 + 0.2 * x / w + 0.1 * y / h
    return np.repeat(base[..., None], 3, axis=2)


@pytest.mark.parametrize("sigma_levels", [1.0, 3.0, 8.0])
def test_white_noise_on_a_ramp_is_recovered(sigma_levels: float) -> None:
    rng = np.random.default_rng(0)
    noise = rng.normal(0.0, sigma_levels / 255.0, size=(128, 160, 1))
    image = _ramp() + noise  # the same noise in R, G, B, so the luma carries sigma exactly
    estimate, flat_luma = noise_sigma(image)
    assert estimate == pytest.approx(sigma_levels, rel=0.1)
    assert 0.3 <= flat_luma <= 0.6


def test_clean_smooth_image_reads_about_zero() -> None:
    estimate, _ = noise_sigma(np.round(_ramp() * 255) / 255)
    assert estimate < 0.3


def test_flat_blocks_pick_the_smooth_half() -> None:
    image = _ramp()
    rng = np.random.default_rng(1)
    image[:, 80:] += rng.normal(0.0, 0.1, size=(128, 80, 3))  # busy right half
    mask = flat_blocks(luma(image), block=16, fraction=0.2)
    assert mask.shape == (8, 10)
    assert mask[:, :5].sum() == mask.sum() > 0


def test_too_small_image_is_refused() -> None:
    with pytest.raises(ValueError, match="smaller than one"):
        noise_sigma(np.zeros((8, 8, 3)))
