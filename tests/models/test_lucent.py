"""LucentVisionNet: contract, variants, curve downscaling, context/tiling, gradients."""

from __future__ import annotations

import pytest
import torch

from lowlight.errors import ConfigError
from lowlight.inference.tiling import enhance_tensor_tiled
from lowlight.models import lucent
from lowlight.models.lucent import (
    DEFAULT_PARAMETERS,
    LucentVisionNet,
    apply_curves,
    curve_estimation_size,
)
from lowlight.registry import MODELS

SMALL = {"width": 8}


def _smooth(h: int = 64, w: int = 96, b: int = 1) -> torch.Tensor:
    yy, xx = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    img = torch.stack([0.1 + 0.1 * xx, 0.15 + 0.05 * yy, 0.12 + 0.06 * torch.sin(3 * xx + 2 * yy)])
    return img.expand(b, 3, h, w).clone()


def _pair(**fast):
    plain = LucentVisionNet(**SMALL).eval()
    other = LucentVisionNet(**SMALL, **fast).eval()
    other.load_state_dict(plain.state_dict())
    return plain, other


def test_registered_as_zero_reference():
    entry = MODELS.get("lucent")
    assert entry.obj is LucentVisionNet
    assert entry.meta["kind"] == "zero-reference"
    assert entry.meta["default_weights"] == "lucent_sice_whole"
    assert "2506.18323" in entry.meta["paper"]


def test_parameter_count_matches_docstrings():
    n = sum(p.numel() for p in LucentVisionNet().parameters())
    assert n == DEFAULT_PARAMETERS
    assert f"{n:,}" in LucentVisionNet.__doc__
    assert f"{n:,}" in lucent.__doc__


@pytest.mark.parametrize("size", [(37, 53), (1, 1), (2, 3), (5, 9)])
def test_any_size_shape_range_finite(size):
    model = LucentVisionNet(**SMALL).eval()
    x = torch.rand(2, 3, *size) * 0.3
    with torch.inference_mode():
        y = model(x)
    assert y.shape == x.shape
    assert torch.isfinite(y).all()
    assert y.min() >= 0 and y.max() <= 1


def test_batch_equals_single():
    model = LucentVisionNet(**SMALL).eval()
    x = torch.rand(3, 3, 20, 28) * torch.tensor([0.1, 0.3, 0.6]).view(3, 1, 1, 1)
    with torch.inference_mode():
        batched = model(x)
        single = torch.cat([model(x[i : i + 1]) for i in range(3)])
    assert torch.allclose(batched, single, atol=1e-6)


@pytest.mark.parametrize("iterations", [1, 8])
@pytest.mark.parametrize("shared", [True, False])
@pytest.mark.parametrize("scales", [(1,), (1, 2, 4)])
def test_variants(iterations, shared, scales):
    model = LucentVisionNet(**SMALL, iterations=iterations, shared_curves=shared, scales=scales)
    x = torch.rand(2, 3, 19, 26) * 0.4
    y, aux = model.forward_train(x)
    channels = 3 if shared else 3 * iterations
    assert y.shape == x.shape
    assert aux["curves"].shape == (2, channels, 19, 26)
    assert int(aux["iterations"]) == iterations
    assert aux["curves"].abs().max() <= 1
    assert torch.allclose(y, apply_curves(x, aux["curves"], iterations), atol=1e-6)


def test_single_scale_has_fewer_parameters():
    multi = sum(p.numel() for p in LucentVisionNet().parameters())
    single = sum(p.numel() for p in LucentVisionNet(scales=(1,)).parameters())
    assert single < multi


@pytest.mark.parametrize("shared", [True, False])
def test_gradients_reach_every_parameter(shared):
    model = LucentVisionNet(**SMALL, shared_curves=shared).train()
    y, aux = model.forward_train(torch.rand(2, 3, 24, 24) * 0.4)
    (y.square().mean() + aux["curves"].square().mean()).backward()
    missing = [
        n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()
    ]
    assert not missing
    assert all(p.grad.abs().sum() > 0 for p in model.parameters())


class TestApplyCurves:
    def test_zero_curves_are_identity(self):
        x = torch.rand(1, 3, 5, 5)
        assert torch.allclose(apply_curves(x, torch.zeros_like(x), 8), x)

    def test_one_step_known_value(self):
        x = torch.tensor([0.0, 0.25, 0.5, 1.0]).view(1, 1, 1, 4).expand(1, 3, 1, 4)
        y = apply_curves(x, -torch.ones_like(x), 1)  # x - (x^2 - x) = 2x - x^2
        assert torch.allclose(y[0, 0, 0], torch.tensor([0.0, 0.4375, 0.75, 1.0]))

    @pytest.mark.parametrize("shared", [True, False])
    def test_matches_the_paper_recursion(self, shared):
        n = 4
        x = torch.rand(2, 3, 6, 7, dtype=torch.float64)
        d = torch.rand(2, 3 if shared else 3 * n, 6, 7, dtype=torch.float64) * 2 - 1
        ref = x.clone()
        for t in range(n):
            dt = d if shared else d[:, 3 * t : 3 * t + 3]
            ref = ref + dt * (ref**2 - ref)
        with torch.no_grad():
            fast = apply_curves(x, d, n)
        slow = apply_curves(x.requires_grad_(), d, n)
        assert torch.allclose(fast, ref, atol=1e-12)
        assert torch.allclose(slow, ref, atol=1e-12)

    def test_inference_does_not_modify_input(self):
        x = torch.rand(1, 3, 4, 4)
        before = x.clone()
        with torch.inference_mode():
            apply_curves(x, torch.full_like(x, -0.5), 8)
        assert torch.equal(x, before)

    def test_stays_in_unit_range(self):
        x = torch.rand(4, 3, 8, 8)
        d = torch.rand(4, 3, 8, 8) * 2 - 1
        y = apply_curves(x, d, 8)
        assert y.min() >= 0 and y.max() <= 1 + 1e-6

    def test_bad_channels(self):
        with pytest.raises(ValueError):
            apply_curves(torch.rand(1, 3, 4, 4), torch.rand(1, 6, 4, 4), 8)


class TestCurveDownscaling:
    def test_estimation_size(self):
        assert curve_estimation_size(400, 600) == (400, 600)
        assert curve_estimation_size(400, 600, max_side=128) == (85, 128)
        assert curve_estimation_size(400, 600, scale_factor=4) == (100, 150)
        assert curve_estimation_size(400, 600, scale_factor=2, max_side=128) == (85, 128)
        assert curve_estimation_size(3, 1000, max_side=100) == (1, 100)
        assert curve_estimation_size(50, 60, max_side=128) == (50, 60)

    def test_curves_are_estimated_at_low_resolution(self):
        model = LucentVisionNet(**SMALL, curve_max_side=32)
        assert model.estimate_curves(torch.rand(1, 3, 64, 96)).shape == (1, 3, 21, 32)
        x = torch.rand(1, 3, 64, 96)
        y, aux = model.forward_train(x)
        # L_tvA sees the maps as estimated, not their (much smoother) bilinear upsampling
        assert aux["curves"].shape == (1, 3, 21, 32)
        full = torch.nn.functional.interpolate(aux["curves"], size=(64, 96), mode="bilinear")
        assert torch.allclose(y, apply_curves(x, full, model.iterations), atol=1e-6)

    @pytest.mark.parametrize("fast", [{"curve_max_side": 32}, {"curve_scale_factor": 2.0}])
    def test_agrees_with_full_resolution_on_smooth_input(self, fast):
        plain, other = _pair(**fast)
        x = _smooth()
        with torch.inference_mode():
            a, b = plain(x), other(x)
        diff = (a - b).abs()
        assert diff.mean() < 0.005
        assert diff[..., 8:-8, 8:-8].max() < 0.02
        assert (a - x).abs().mean() > 5 * diff.mean()  # the models do change the image


class TestContext:
    @pytest.mark.parametrize("fast", [{}, {"curve_max_side": 32}])
    def test_context_of_the_same_image_reproduces_the_plain_path(self, fast):
        model = LucentVisionNet(**SMALL, **fast).eval()
        x = torch.rand(1, 3, 37, 53) * 0.4
        with torch.inference_mode():
            context = model.estimate_context(x)
            assert set(context) == {"curves"}
            assert torch.allclose(model(x, context=context), model(x), atol=1e-6)

    def test_context_from_a_downscaled_copy_is_close_on_smooth_input(self):
        model = LucentVisionNet(**SMALL).eval()
        x = _smooth(64, 96)
        small = torch.nn.functional.interpolate(x, size=(32, 48), mode="area")
        with torch.inference_mode():
            diff = (model(x, context=model.estimate_context(small)) - model(x)).abs()
        assert diff.mean() < 0.005

    def test_tiles_agree_with_the_whole_image(self):
        model = LucentVisionNet(**SMALL, curve_max_side=32).eval()
        x = torch.rand(1, 3, 96, 160) * 0.4
        with torch.inference_mode():
            whole = model(x)
            tiled = enhance_tensor_tiled(model, x, tile=64, overlap=16, context_side=512)
        assert torch.allclose(tiled, whole, atol=1e-5)

    def test_wrong_context_channels_raise(self):
        model = LucentVisionNet(**SMALL, shared_curves=True)
        with pytest.raises(ValueError):
            model(torch.rand(1, 3, 8, 8), context={"curves": torch.zeros(1, 24, 8, 8)})


@pytest.mark.parametrize(
    "kwargs",
    [
        {"scales": (2, 4)},
        {"scales": (1, 1)},
        {"scales": ()},
        {"iterations": 0},
        {"width": 0},
        {"activation": "nope"},
        {"attention": "channel"},
        {"curve_scale_factor": 0.5},
        {"curve_max_side": 0},
    ],
)
def test_bad_configuration_raises(kwargs):
    with pytest.raises(ConfigError):
        LucentVisionNet(**kwargs)


def test_shipped_weights_load_with_their_record():
    import lowlight

    model = lowlight.load("lucent", device="cpu")
    assert model.weight_record.name == "lucent_sice_whole"
    assert model.curve_max_side == 128  # trained so; stored in the record's config
    assert lowlight.load("lucent", device="cpu", curve_max_side=None).curve_max_side is None
    assert model.weight_record.scores["lol_v1/eval15"]["psnr"] > 10
    with torch.inference_mode():
        dark = torch.rand(1, 3, 40, 60) * 0.1
        assert model(dark).mean() > dark.mean()
