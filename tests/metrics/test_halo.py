"""The halo measure on images built to have, or not have, a dark ring."""

from __future__ import annotations

import numpy as np
import pytest

from lowlight.metrics import halo_darkening
from lowlight.metrics.halo import ring_masks


def _scene(size: int = 200) -> np.ndarray:
    """A mid-grey textured frame with a bright square lamp in the middle."""
    rng = np.random.default_rng(0)
    ref = 0.4 + 0.1 * rng.random((size, size, 1)).repeat(3, axis=2)
    ref[90:110, 90:110] = 0.95
    return ref


def test_scaled_output_has_no_halo():
    ref = _scene()
    assert abs(halo_darkening(ref * 0.7, ref)) < 1.0
    assert abs(halo_darkening(ref, ref)) < 1e-9


def test_dark_ring_is_measured_as_a_positive_percentage():
    ref = _scene()
    out = ref.copy()
    ring, _ = ring_masks(ref[..., 0] >= 0.85, 2, 10)
    out[ring] *= 0.8
    assert halo_darkening(out, ref) == pytest.approx(20.0, abs=1.5)
    brighter = ref.copy()
    brighter[ring] = np.minimum(brighter[ring] * 1.2, 1.0)
    assert halo_darkening(brighter, ref) < -15.0


def test_no_bright_region_gives_none():
    ref = np.full((64, 64, 3), 0.5)
    assert halo_darkening(ref, ref) is None


def test_ring_masks_partition_the_frame_outside_the_core():
    mask = np.zeros((50, 50), dtype=bool)
    mask[25, 25] = True
    ring, background = ring_masks(mask, 2, 5)
    assert ring.sum() == 11 * 11 - 5 * 5
    assert background.sum() == 50 * 50 - 11 * 11
    with pytest.raises(ValueError):
        ring_masks(mask, 5, 5)


def test_a_global_tone_curve_has_no_halo():
    """Any function of the reference brightness reads about 0, however it bends."""
    ref = _scene()
    ref[60:140, 60:140] *= np.linspace(0.5, 1.0, 80)[None, :, None]  # mid-tones near the lamp
    ref[90:110, 90:110] = 0.95
    assert abs(halo_darkening(ref**0.5, ref)) < 1.5
