"""Colour helpers: hand-computed values, round trips and scikit-image's Lab."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lowlight.color import (
    LUMA_WEIGHTS,
    hsv_value,
    lab_to_rgb,
    linear_to_srgb,
    luma,
    rgb_to_lab,
    rgb_to_ycbcr,
    srgb_to_linear,
    ycbcr_to_rgb,
)
from lowlight.errors import ConfigError, LowlightError


def _rand(*shape: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    return torch.rand(*shape, dtype=dtype)


class TestLuma:
    def test_hand_values(self):
        x = torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1, 1)
        assert luma(x).item() == pytest.approx(0.2126)
        assert luma(x, "bt601").item() == pytest.approx(0.299)
        grey = torch.full((2, 3, 4, 5), 0.37)
        assert torch.allclose(luma(grey), torch.full((2, 1, 4, 5), 0.37))

    def test_weights_sum_to_one(self):
        for weights in LUMA_WEIGHTS.values():
            assert sum(weights) == pytest.approx(1.0)

    def test_shape_dtype(self):
        x = _rand(2, 3, 7, 9, dtype=torch.float32)
        y = luma(x)
        assert y.shape == (2, 1, 7, 9) and y.dtype == torch.float32

    def test_errors(self):
        with pytest.raises(ConfigError, match="bt709"):
            luma(_rand(1, 3, 2, 2), "rec2020")
        with pytest.raises(ValueError, match="3 channels"):
            luma(_rand(1, 4, 2, 2))
        assert issubclass(ConfigError, LowlightError)


def test_hsv_value_is_channel_max():
    x = _rand(2, 3, 5, 6)
    assert torch.equal(hsv_value(x), x.max(dim=1, keepdim=True).values)


class TestYCbCr:
    def test_round_trip(self):
        x = _rand(2, 3, 5, 7)
        for standard in LUMA_WEIGHTS:
            back = ycbcr_to_rgb(rgb_to_ycbcr(x, standard), standard)
            assert torch.allclose(back, x, atol=1e-12)

    def test_jpeg_values(self):
        # Full-range BT.601 (JPEG): pure red -> Y 0.299, Cb 0.5 - 0.168736, Cr 1.0.
        red = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64).view(1, 3, 1, 1)
        y, cb, cr = rgb_to_ycbcr(red).flatten().tolist()
        assert y == pytest.approx(0.299)
        assert cb == pytest.approx(0.5 - 0.168736, abs=1e-6)
        assert cr == pytest.approx(1.0)
        grey = torch.full((1, 3, 1, 1), 0.3, dtype=torch.float64)
        assert rgb_to_ycbcr(grey).flatten().tolist() == pytest.approx([0.3, 0.5, 0.5])


class TestTransfer:
    def test_known_values(self):
        x = torch.tensor([0.0, 0.04045, 0.5, 1.0], dtype=torch.float64)
        expected = [0.0, 0.04045 / 12.92, 0.21404114, 1.0]
        assert srgb_to_linear(x).tolist() == pytest.approx(expected, abs=1e-7)

    def test_round_trip_and_negative(self):
        x = torch.linspace(0, 1, 1001, dtype=torch.float64)
        assert torch.allclose(linear_to_srgb(srgb_to_linear(x)), x, atol=1e-12)
        assert linear_to_srgb(torch.tensor([-0.5])).item() == 0.0


class TestLab:
    def test_matches_skimage(self):
        skcolor = pytest.importorskip("skimage.color")
        x = _rand(1, 3, 16, 16)
        ours = rgb_to_lab(x)[0].permute(1, 2, 0).numpy()
        ref = skcolor.rgb2lab(x[0].permute(1, 2, 0).numpy())
        # scikit-image derives its matrix from the primaries (5th-decimal differences).
        np.testing.assert_allclose(ours, ref, atol=1e-2)

    def test_white_black_grey(self):
        ends = torch.tensor([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]], dtype=torch.float64)
        lab = rgb_to_lab(ends.T.reshape(1, 3, 1, 2))[0, :, 0].T
        assert lab[0].tolist() == pytest.approx([0.0, 0.0, 0.0], abs=1e-6)
        assert lab[1].tolist() == pytest.approx([100.0, 0.0, 0.0], abs=1e-3)

    def test_round_trip(self):
        x = _rand(2, 3, 9, 11)
        assert torch.allclose(lab_to_rgb(rgb_to_lab(x)), x, atol=1e-8)
        x32 = x.float()
        back = lab_to_rgb(rgb_to_lab(x32))
        assert back.dtype == torch.float32
        assert torch.allclose(back, x32, atol=1e-4)

    def test_dark_values_round_trip(self):
        # The linear segment of f(t) below (6/29)^3 matters for dark images.
        x = torch.linspace(0, 0.02, 50, dtype=torch.float64).view(1, 1, 1, 50).expand(1, 3, 1, 50)
        x = x * torch.tensor([1.0, 0.5, 0.2], dtype=torch.float64).view(1, 3, 1, 1)
        assert torch.allclose(lab_to_rgb(rgb_to_lab(x)), x, atol=1e-9)
