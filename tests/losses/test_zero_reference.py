"""Zero-DCE's losses on hand-computable inputs, plus float64 gradchecks."""

from __future__ import annotations

import math

import pytest
import torch

from lowlight.errors import ConfigError
from lowlight.losses.zero_reference import (
    color_constancy_loss,
    exposure_control_loss,
    illumination_smoothness_loss,
    spatial_consistency_loss,
)


def _const(value, b=1, h=16, w=16, dtype=torch.float32):
    return torch.full((b, 3, h, w), float(value), dtype=dtype)


def _ramp(h=16, w=16, slope=0.01):
    """Intensity rising by ``slope`` per pixel along W, same in all channels."""
    row = torch.arange(w, dtype=torch.float64) * slope
    return row.view(1, 1, 1, w).expand(1, 3, h, w).clone()


class TestSpatialConsistency:
    def test_identity_is_zero(self):
        x = torch.rand(2, 3, 16, 20)
        assert spatial_consistency_loss(x, x) == 0

    def test_constant_images_zero_border_counts_the_border(self):
        # pooled 4x4 grid; zero padding makes each border direction (a - b)^2
        a, b = 0.2, 0.5
        loss = spatial_consistency_loss(_const(b), _const(a), pool=4, border="zeros")
        h = w = 4
        expected = (2 * h + 2 * w) * (a - b) ** 2 / (h * w)
        assert loss.item() == pytest.approx(expected, rel=1e-5)

    def test_constant_images_replicate_border_is_zero(self):
        loss = spatial_consistency_loss(_const(0.5), _const(0.2), border="replicate")
        assert loss.item() == pytest.approx(0.0, abs=1e-12)

    def test_doubled_ramp_known_value(self):
        # pooled ramp has slope 4 * s per cell; doubling it changes left/right
        # differences by 4s each, except at the replicated borders.
        s = 0.01
        original = _ramp(16, 16, s)
        loss = spatial_consistency_loss(2 * original, original, pool=4, border="replicate")
        d2 = (4 * s) ** 2
        per_row = 2 * d2 * 2 + 1 * d2 * 2  # 2 interior cells with 2 terms, 2 edge cells with 1
        assert loss.item() == pytest.approx(per_row / 4, rel=1e-9)

    def test_pool_remainder_is_dropped(self):
        x = torch.rand(1, 3, 18, 19)
        assert torch.isclose(
            spatial_consistency_loss(x * 0.5, x),
            spatial_consistency_loss(x[..., :16, :16] * 0.5, x[..., :16, :16]),
        )

    def test_errors(self):
        with pytest.raises(ValueError):
            spatial_consistency_loss(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 9))
        with pytest.raises(ValueError):
            spatial_consistency_loss(torch.rand(1, 3, 2, 2), torch.rand(1, 3, 2, 2))
        with pytest.raises(ConfigError):
            spatial_consistency_loss(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8), border="wrap")

    @pytest.mark.parametrize("border", ["zeros", "replicate"])
    def test_gradcheck(self, border):
        e = torch.rand(1, 3, 4, 8, dtype=torch.float64, requires_grad=True)
        o = torch.rand(1, 3, 4, 8, dtype=torch.float64)
        assert torch.autograd.gradcheck(lambda t: spatial_consistency_loss(t, o, 4, border), (e,))


class TestExposureControl:
    @pytest.mark.parametrize("value", [0.0, 0.3, 0.6, 1.0])
    def test_constant_image(self, value):
        assert exposure_control_loss(_const(value)).item() == pytest.approx(
            (value - 0.6) ** 2, abs=1e-7
        )

    def test_two_halves(self):
        x = _const(0.2, h=16, w=32)
        x[..., 16:] = 0.8
        loss = exposure_control_loss(x, patch_size=16, level=0.6)
        assert loss.item() == pytest.approx(((0.2 - 0.6) ** 2 + (0.8 - 0.6) ** 2) / 2, rel=1e-5)

    def test_level_is_configurable(self):
        assert exposure_control_loss(_const(0.5), level=0.5).item() == pytest.approx(0.0, abs=1e-12)

    def test_too_small_raises(self):
        with pytest.raises(ValueError):
            exposure_control_loss(torch.rand(1, 3, 8, 8), patch_size=16)

    def test_gradcheck(self):
        x = torch.rand(2, 3, 8, 8, dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(lambda t: exposure_control_loss(t, 4, 0.6), (x,))


class TestColorConstancy:
    def test_grey_image_is_zero_with_zero_gradient(self):
        x = _const(0.4).requires_grad_()
        loss = color_constancy_loss(x)
        loss.backward()
        assert loss.item() == 0
        assert torch.isfinite(x.grad).all() and (x.grad == 0).all()

    def test_known_channel_means(self):
        x = torch.stack([torch.full((8, 8), v) for v in (0.5, 0.3, 0.1)])[None]
        expected = math.sqrt(0.2**4 + 0.4**4 + 0.2**4)
        assert color_constancy_loss(x).item() == pytest.approx(expected, rel=1e-5)

    def test_batch_mean(self):
        grey = _const(0.5)
        tinted = torch.stack([torch.full((16, 16), v) for v in (0.5, 0.3, 0.1)])[None]
        both = color_constancy_loss(torch.cat([grey, tinted]))
        assert both.item() == pytest.approx(color_constancy_loss(tinted).item() / 2, rel=1e-6)

    def test_gradcheck(self):
        x = torch.rand(2, 3, 5, 5, dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(color_constancy_loss, (x,))


class TestIlluminationSmoothness:
    def test_constant_curves_are_zero(self):
        assert illumination_smoothness_loss(torch.full((2, 3, 8, 8), 0.3)).item() == 0

    def test_ramp_known_value(self):
        s, c = 0.05, 3
        ramp = (torch.arange(10, dtype=torch.float64) * s).view(1, 1, 1, 10).expand(2, c, 7, 10)
        # 2 * (0 + C H (W-1) s^2 * B / (H (W-1))) / B = 2 C s^2
        assert illumination_smoothness_loss(ramp).item() == pytest.approx(2 * c * s * s, rel=1e-12)

    def test_repeats_equal_expanded_maps(self):
        curves = torch.rand(2, 3, 6, 9)
        expanded = curves.repeat(1, 8, 1, 1)
        assert torch.isclose(
            illumination_smoothness_loss(curves, repeats=8), illumination_smoothness_loss(expanded)
        )

    def test_too_small_raises(self):
        with pytest.raises(ValueError):
            illumination_smoothness_loss(torch.rand(1, 3, 1, 5))

    def test_gradcheck(self):
        curves = torch.rand(2, 6, 5, 4, dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(illumination_smoothness_loss, (curves,))


def test_global_exposure_loss_matches_a_hand_computation():
    from lowlight.losses.zero_reference import global_exposure_loss

    gen = torch.Generator().manual_seed(0)
    y = torch.rand(3, 3, 20, 24, generator=gen)
    stat = y.mean(dim=1).flatten(1).mean(dim=1)
    assert torch.isclose(global_exposure_loss(y, 0.4), ((stat - 0.4) ** 2).mean())
    median = y.mean(dim=1).flatten(1).median(dim=1).values
    # torch.quantile interpolates; the lower median differs by at most one sample spacing
    assert torch.allclose(
        global_exposure_loss(y, 0.4, quantile=0.5), ((median - 0.4) ** 2).mean(), atol=1e-3
    )


def test_global_exposure_loss_ignores_where_the_light_is():
    """One statistic per frame: moving brightness around the frame leaves it unchanged,
    where the patch term L_exp would penalise the uneven frame."""
    from lowlight.losses.zero_reference import exposure_control_loss, global_exposure_loss

    flat = torch.full((1, 3, 32, 32), 0.5)
    uneven = torch.cat([torch.full((1, 3, 32, 16), 0.2), torch.full((1, 3, 32, 16), 0.8)], dim=3)
    assert torch.isclose(global_exposure_loss(flat, 0.5), global_exposure_loss(uneven, 0.5))
    assert global_exposure_loss(uneven, 0.5) < 1e-10
    assert exposure_control_loss(uneven, 16, 0.5) > 0.08
