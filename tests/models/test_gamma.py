"""Automatic global gamma: the statistic lands on the target, hue is kept, tiles agree."""

from __future__ import annotations

import math

import pytest
import torch

from lowlight.api import build
from lowlight.color import luma
from lowlight.errors import ConfigError
from lowlight.models.gamma import GammaCorrection, apply_gamma, auto_gamma
from lowlight.registry import MODELS


def _grey(values: torch.Tensor) -> torch.Tensor:
    """``(B, N)`` grey levels -> ``(B, 3, 1, N)``."""
    return values[:, None, None, :].expand(-1, 3, 1, -1).contiguous()


class TestAutoGamma:
    def test_median_maps_to_target(self):
        levels = torch.linspace(0.01, 0.2, 101, dtype=torch.float64).view(1, 1, 1, -1)
        g = auto_gamma(levels, target=0.45)
        assert g.shape == (1, 1, 1, 1)
        median = levels.flatten().median()
        assert median ** (1 / g.item()) == pytest.approx(0.45)
        assert g.item() == pytest.approx(math.log(median.item()) / math.log(0.45))

    def test_statistics_differ_and_mean_maps(self):
        y = torch.tensor([0.01, 0.02, 0.03, 0.5], dtype=torch.float64).view(1, 1, 1, 4)
        g_mean = auto_gamma(y, statistic="mean").item()
        assert y.mean().item() ** (1 / g_mean) == pytest.approx(0.45)
        g_log = auto_gamma(y, statistic="logmean").item()
        g_median = auto_gamma(y, statistic="median").item()
        assert (
            g_median > g_log > g_mean
        )  # median 0.02 is darkest, the bright outlier lifts the mean

    def test_clamped_and_extremes(self):
        black = torch.zeros(1, 1, 4, 4)
        white = torch.ones(1, 1, 4, 4)
        assert auto_gamma(black, gamma_range=(0.2, 5.0)).item() == pytest.approx(5.0)
        assert auto_gamma(white, gamma_range=(0.2, 5.0)).item() == pytest.approx(0.2)

    def test_unknown_statistic(self):
        with pytest.raises(ConfigError, match="median"):
            auto_gamma(torch.rand(1, 1, 2, 2), statistic="mode")


class TestApplyGamma:
    def test_grey_is_plain_power(self):
        levels = torch.linspace(0, 1, 64, dtype=torch.float64).view(1, -1)
        x = _grey(levels)
        for mode in ("luminance", "channel"):
            y = apply_gamma(x, 2.2, mode=mode)
            assert torch.allclose(y, x ** (1 / 2.2), atol=1e-9)

    def test_luminance_mode_keeps_channel_ratios(self):
        x = torch.rand(2, 3, 8, 8, dtype=torch.float64) * 0.2 + 0.01
        y = apply_gamma(x, 2.0)
        ratio = y / x
        # One gain per pixel: all channels scaled alike (hue and saturation kept).
        assert torch.allclose(ratio, ratio[:, :1].expand_as(ratio), rtol=1e-9)
        assert (luma(y) > luma(x)).all()

    def test_gain_capped_not_clipped(self):
        blue = torch.tensor([0.02, 0.02, 0.6], dtype=torch.float64).view(1, 3, 1, 1)
        y = apply_gamma(blue, 5.0)
        assert y.max().item() == pytest.approx(1.0)
        assert torch.allclose(y / y.max(), blue / blue.max())

    def test_tensor_gamma_per_image(self):
        x = _grey(torch.full((2, 4), 0.25, dtype=torch.float64))
        g = torch.tensor([1.0, 2.0], dtype=torch.float64).view(2, 1, 1, 1)
        y = apply_gamma(x, g)
        assert y[0].allclose(torch.tensor(0.25, dtype=torch.float64))
        assert y[1].allclose(torch.tensor(0.5, dtype=torch.float64))

    def test_unknown_mode(self):
        with pytest.raises(ConfigError, match="luminance"):
            apply_gamma(torch.rand(1, 3, 2, 2), 2.0, mode="hsv")


class TestModel:
    def test_auto_brightens_dark_image_to_target(self, dark_image):
        x = torch.from_numpy(dark_image).permute(2, 0, 1)[None].double()
        y = GammaCorrection()(x)
        assert y.shape == x.shape and y.dtype == torch.float64
        # Output median luma is the target unless the saturation cap bites.
        assert luma(y).median().item() == pytest.approx(0.45, abs=0.02)

    def test_fixed_gamma(self):
        x = _grey(torch.rand(1, 32))
        model = GammaCorrection(gamma=2.2)
        assert torch.allclose(model(x), x ** (1 / 2.2), atol=1e-6)
        assert model.estimate_context(x) is None

    def test_context_is_used_and_tiles_agree(self):
        x = torch.rand(2, 3, 40, 60) * torch.tensor([0.1, 0.4]).view(2, 1, 1, 1)
        model = GammaCorrection()
        context = model.estimate_context(x)
        assert set(context) == {"gamma"} and context["gamma"].shape == (2, 1, 1, 1)
        full = model(x)
        tile = model(x[..., 10:30, 5:35], context)
        assert torch.allclose(tile, full[..., 10:30, 5:35], atol=1e-6)
        # Alone, the tile would pick its own gamma.
        forced = model(x, {"gamma": torch.full((2, 1, 1, 1), 3.0)})
        assert torch.allclose(forced, apply_gamma(x, 3.0), atol=1e-6)

    def test_batch_equals_single_and_odd_sizes(self):
        model = GammaCorrection()
        for size in [(1, 1), (37, 53), (2, 700)]:
            x = torch.rand(3, 3, *size) * torch.tensor([0.05, 0.3, 0.9]).view(3, 1, 1, 1)
            y = model(x)
            assert y.shape == x.shape and torch.isfinite(y).all()
            assert y.min() >= 0 and y.max() <= 1
            single = torch.cat([model(x[i : i + 1]) for i in range(3)])
            assert torch.allclose(y, single)

    def test_black_and_white(self):
        model = GammaCorrection()
        assert torch.equal(model(torch.zeros(1, 3, 5, 5)), torch.zeros(1, 3, 5, 5))
        assert torch.allclose(model(torch.ones(1, 3, 5, 5)), torch.ones(1, 3, 5, 5))

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"gamma": 0.0},
            {"target": 1.0},
            {"statistic": "max"},
            {"gamma_range": (2.0, 1.0)},
            {"mode": "hsv"},
            {"luma_standard": "srgb"},
            {"eps": 0.5},
        ],
    )
    def test_bad_config(self, kwargs):
        with pytest.raises(ConfigError):
            GammaCorrection(**kwargs)

    def test_registered(self):
        assert MODELS.get("gamma").meta["kind"] == "classical"
        model = build("gamma", statistic="mean", mode="channel")
        assert isinstance(model, GammaCorrection) and model.statistic == "mean"
        assert "auto" in repr(model)
