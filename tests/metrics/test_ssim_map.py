"""The torch SSIM map shared with the SSIM loss: window, shapes, separability, gradients."""

from __future__ import annotations

import math

import pytest
import torch

from lowlight.metrics.convert import MetricInputError
from lowlight.metrics.ssim_core import gaussian_window, gaussian_window_1d, ssim_map


class TestWindow:
    def test_matches_fspecial(self):
        w = gaussian_window(11, 1.5, dtype=torch.float64)
        assert w.shape == (11, 11)
        assert float(w.sum()) == pytest.approx(1.0, abs=1e-15)
        # fspecial: exp(-(x^2 + y^2) / (2 sigma^2)) normalised; ratio centre / corner.
        assert float(w[5, 5] / w[0, 0]) == pytest.approx(math.exp(50 / 4.5), rel=1e-12)
        assert torch.equal(w, w.T)

    def test_dtype_device(self):
        assert gaussian_window(dtype=torch.float16).dtype == torch.float16
        assert gaussian_window_1d(7, 1.0).shape == (7,)

    def test_invalid(self):
        with pytest.raises(ValueError):
            gaussian_window(0, 1.5)


class TestSSIMMap:
    def test_shape_valid_filtering(self):
        x, y = torch.rand(2, 3, 37, 53), torch.rand(2, 3, 37, 53)
        assert ssim_map(x, y).shape == (2, 3, 27, 43)

    def test_identical_is_one(self):
        x = torch.rand(1, 3, 20, 24, dtype=torch.float64)
        assert torch.allclose(ssim_map(x, x), torch.ones(1, 3, 10, 14, dtype=torch.float64))

    @pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
    def test_separable_equals_2d(self, dtype):
        x, y = torch.rand(1, 3, 30, 31, dtype=dtype), torch.rand(1, 3, 30, 31, dtype=dtype)
        full = ssim_map(x, y, window=gaussian_window(dtype=dtype))
        sep = ssim_map(x, y)
        assert torch.allclose(full, sep, atol=1e-5 if dtype == torch.float32 else 1e-12)

    def test_float32_matches_float64(self):
        x, y = (
            torch.rand(1, 3, 30, 31, dtype=torch.float64),
            torch.rand(1, 3, 30, 31, dtype=torch.float64),
        )
        assert torch.allclose(ssim_map(x.float(), y.float()).double(), ssim_map(x, y), atol=1e-5)

    def test_constant_images_hand_computed(self):
        # Flat images: sigma terms vanish, SSIM = (2 a b + C1) / (a^2 + b^2 + C1).
        a, b = 0.2, 0.6
        x = torch.full((1, 1, 12, 12), a, dtype=torch.float64)
        y = torch.full((1, 1, 12, 12), b, dtype=torch.float64)
        c1 = 0.01**2
        expected = (2 * a * b + c1) / (a * a + b * b + c1)
        assert torch.allclose(
            ssim_map(x, y), torch.full((1, 1, 2, 2), expected, dtype=torch.float64)
        )

    def test_gradcheck(self):
        x = torch.rand(1, 2, 13, 14, dtype=torch.float64, requires_grad=True)
        y = torch.rand(1, 2, 13, 14, dtype=torch.float64)
        assert torch.autograd.gradcheck(lambda a: ssim_map(a, y), (x,))

    def test_errors(self):
        with pytest.raises(MetricInputError):
            ssim_map(torch.rand(1, 3, 12, 12), torch.rand(1, 3, 12, 13))
        with pytest.raises(MetricInputError):
            ssim_map(torch.rand(1, 3, 10, 12), torch.rand(1, 3, 10, 12))
