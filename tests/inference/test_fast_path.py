"""The fast path: guided-filter math, speed modes and strength, on every registered model."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lowlight.api import build, list_models
from lowlight.errors import ConfigError
from lowlight.inference.fast_path import (
    FastPathConfig,
    apply_transform,
    enhance_at_speed,
    estimate_noise_sigma,
    estimate_transform,
    resolve_speed,
    working_size,
)
from lowlight.inference.guided_filter import (
    apply_affine,
    box_mean,
    fit_affine,
    self_guided_smooth,
    upsample_rows,
)
from lowlight.models.base import EnhancementModel
from lowlight.models.identity import Identity
from lowlight.registry import MODELS

MODEL_NAMES = list_models()
SMALL = FastPathConfig(working_pixels=300, strip_rows=7)
"""A working size below the test images' 40x56 = 2240 pixels, and strips that do not divide H."""


def _build(name: str) -> EnhancementModel:
    return build(name, **MODELS.get(name).meta.get("test_kwargs", {})).eval()


def _image(batch: int = 1, height: int = 40, width: int = 56) -> torch.Tensor:
    yy, xx = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    base = 0.15 + 0.1 * torch.sin(xx / 5.0) * torch.cos(yy / 7.0)
    img = base.expand(batch, 3, height, width).clone()
    img[:, 1] *= 0.8
    img[..., 10:25, 20:40] *= 0.3  # an edge
    return (img + 0.01 * torch.rand(batch, 3, height, width)).clamp(0, 1)


class FakeFastIdentity(Identity):
    """The identity model with the fast path allowed (Identity opts out)."""

    fast_path = True


class Brighten(EnhancementModel):
    """A brightening curve ``x ** 0.5``: smooth, so the fast path should follow it closely."""

    def enhance_tensor(self, x, context=None):
        return x.clamp_min(0).sqrt()


class TestGuidedFilter:
    def test_box_mean_of_constant_is_constant(self):
        x = torch.full((1, 2, 9, 7), 0.3)
        assert torch.allclose(box_mean(x, 2), x)

    def test_box_mean_matches_hand_value(self):
        x = torch.arange(9.0).view(1, 1, 3, 3)
        # centre window covers all nine values; corner window covers 0, 1, 3, 4
        out = box_mean(x, 1)
        assert out[0, 0, 1, 1] == pytest.approx(4.0)
        assert out[0, 0, 0, 0] == pytest.approx(2.0)

    def test_fit_of_identity_is_exactly_identity(self):
        guide = torch.rand(2, 3, 11, 13)
        a, b = fit_affine(guide, guide, radius=2, eps=1e-6)
        assert torch.equal(a, torch.ones_like(a))
        assert torch.equal(b, torch.zeros_like(b))

    def test_fit_of_a_global_affine_map_recovers_it(self):
        guide = torch.rand(1, 3, 16, 16)
        a, b = fit_affine(guide, 2.0 * guide + 0.1, radius=2, eps=1e-8)
        assert torch.allclose(a, torch.full_like(a, 2.0), atol=1e-3)
        assert torch.allclose(b, torch.full_like(b, 0.1), atol=1e-3)

    def test_flat_guide_gives_the_local_gain(self):
        guide = torch.full((1, 3, 8, 8), 0.1)
        a, b = fit_affine(guide, 3.0 * guide, radius=1, eps=1e-3)
        gain = (0.3 + 1 / 255) / (0.1 + 1 / 255)
        assert torch.allclose(a, torch.full_like(a, gain), atol=1e-4)

    @pytest.mark.parametrize("rows", [(0, 5), (3, 17), (30, 31), (0, 31)])
    def test_upsample_rows_equals_interpolate(self, rows):
        maps = torch.rand(2, 6, 5, 7)
        full = F.interpolate(maps, size=(31, 45), mode="bilinear", align_corners=False)
        assert torch.allclose(upsample_rows(maps, rows, (31, 45)), full[:, :, rows[0] : rows[1]])

    def test_apply_affine_in_strips_equals_one_shot_and_in_place(self):
        guide = torch.rand(1, 3, 29, 33)
        a, b = torch.rand(1, 3, 6, 7) * 2, torch.rand(1, 3, 6, 7) * 0.1
        whole = (
            F.interpolate(a, size=(29, 33), mode="bilinear", align_corners=False) * guide
            + F.interpolate(b, size=(29, 33), mode="bilinear", align_corners=False)
        ).clamp(0, 1)
        assert torch.allclose(apply_affine(guide, a, b, strip_rows=4), whole, atol=1e-6)
        copy = guide.clone()
        out = apply_affine(copy, a, b, strip_rows=5, out=copy)
        assert out is copy and torch.allclose(copy, whole, atol=1e-6)

    def test_self_guided_smooth_strips_agree_and_reduce_noise(self):
        x = 0.3 + 0.02 * torch.randn(1, 3, 40, 30)
        one = self_guided_smooth(x, 2, 1e-3, strip_rows=1000)
        strips = self_guided_smooth(x, 2, 1e-3, strip_rows=6)
        assert torch.allclose(one, strips, atol=1e-6)
        assert one.std() < 0.5 * x.std()


class TestSpeedAndStrength:
    def test_working_size_keeps_aspect_and_pixels(self):
        assert working_size(3000, 4000, 1_000_000) == (866, 1155)
        assert working_size(400, 600, 20_000) == (115, 173)
        assert working_size(10, 10, 1000) == (10, 10)

    def test_working_copy_within_tile_area_runs_whole(self):
        seen = []

        class Recorder(Brighten):
            def enhance_tensor(self, x, context=None):
                seen.append(tuple(x.shape[-2:]))
                return super().enhance_tensor(x, context)

        x = _image(height=20, width=90)  # working copy 10x45 for 450 pixels
        estimate_transform(Recorder(), x, working_pixels=450, tile=24, overlap=4)
        assert seen == [(10, 45)]  # 450 <= 24 ** 2: one pass, although 45 > 24

    def test_resolve_speed(self):
        assert resolve_speed(Brighten(), None) == "full"
        assert resolve_speed(Brighten(), "fast") == "fast"
        assert resolve_speed(Identity(), "fast") == "full"  # opted out
        with pytest.raises(ConfigError, match="unknown speed"):
            resolve_speed(Brighten(), "turbo")

    def test_fast_path_identity_model_returns_the_input(self):
        x = _image()
        y = enhance_at_speed(FakeFastIdentity(), x, speed="fast", config=SMALL)
        assert torch.allclose(y, x, atol=1e-6)

    def test_fast_follows_a_smooth_curve(self):
        x = _image()
        full = enhance_at_speed(Brighten(), x, speed="full")
        fast = enhance_at_speed(Brighten(), x, speed="fast", config=SMALL)
        assert (fast - full).abs().mean() < 0.01
        assert (x - full).abs().mean() > 0.1  # the curve really brightens

    def test_below_the_working_size_fast_is_full(self):
        x = _image()
        fast = enhance_at_speed(Brighten(), x, speed="fast", config=FastPathConfig())
        assert torch.equal(fast, enhance_at_speed(Brighten(), x, speed="full"))

    @pytest.mark.parametrize("speed", ["fast", "full"])
    def test_strength_zero_is_the_input_and_blends_linearly(self, speed):
        x = _image()
        model = Brighten()
        assert torch.equal(enhance_at_speed(model, x, speed=speed, strength=0.0, config=SMALL), x)
        one = enhance_at_speed(model, x, speed=speed, config=SMALL)
        half = enhance_at_speed(model, x, speed=speed, strength=0.5, config=SMALL)
        assert torch.allclose(half, (x + one) / 2, atol=1e-5)
        more = enhance_at_speed(model, x, speed=speed, strength=1.5, config=SMALL)
        assert more.mean() > one.mean() and more.max() <= 1

    def test_strength_must_be_non_negative(self):
        with pytest.raises(ConfigError, match="strength"):
            enhance_at_speed(Brighten(), _image(), strength=-0.5)

    def test_denoise_reduces_noise_of_the_fast_output(self):
        x = (0.1 + 0.02 * torch.randn(1, 3, 60, 60)).clamp(0, 1)
        plain = enhance_at_speed(Brighten(), x, speed="fast", config=SMALL)
        config = FastPathConfig(working_pixels=300, denoise="auto")
        smooth = enhance_at_speed(Brighten(), x, speed="fast", config=config)
        assert smooth.std() < 0.7 * plain.std()
        # independent noise in R, G, B: the luma's std is 0.02 * |(0.299, 0.587, 0.114)|
        luma_sigma = 0.02 * 255 * (0.299**2 + 0.587**2 + 0.114**2) ** 0.5
        assert estimate_noise_sigma(x) == pytest.approx(luma_sigma, rel=0.1)


@pytest.mark.parametrize("name", MODEL_NAMES)
class TestEveryModel:
    def test_fast_output_shape_range_finite(self, name):
        model = _build(name)
        x = _image(height=37, width=53)
        with torch.inference_mode():
            y = enhance_at_speed(model, x, speed="fast", config=SMALL)
        assert y.shape == x.shape
        assert torch.isfinite(y).all() and y.min() >= 0 and y.max() <= 1

    def test_strength_zero_and_one(self, name):
        model = _build(name)
        x = _image()
        with torch.inference_mode():
            assert torch.equal(
                enhance_at_speed(model, x, speed="fast", strength=0.0, config=SMALL), x
            )
            y = enhance_at_speed(model, x, speed="fast", config=SMALL)
            if model.fast_path:
                transform = estimate_transform(model, x, working_pixels=300, config=SMALL)
                assert torch.allclose(apply_transform(x, transform, config=SMALL), y)

    def test_batch_equals_single_and_tiling_agrees(self, name):
        model = _build(name)
        x = _image(batch=2)
        with torch.inference_mode():
            both = enhance_at_speed(model, x, speed="fast", config=SMALL)
            first = enhance_at_speed(model, x[:1], speed="fast", config=SMALL)
            tiled = enhance_at_speed(model, x, speed="fast", config=SMALL, tile=16, overlap=4)
        assert torch.allclose(both[:1], first, atol=1e-4)
        if model.fast_path:  # the 20x15 working copy runs in 16-pixel tiles
            assert (tiled - both).abs().mean() < 0.05

    def test_opt_out_models_ignore_the_fast_path(self, name):
        model = _build(name)
        if model.fast_path:
            pytest.skip("uses the fast path")
        x = _image()
        with torch.inference_mode():
            fast = enhance_at_speed(model, x, speed="fast", config=SMALL)
            full = enhance_at_speed(model, x, speed="full")
        assert torch.equal(fast, full)

    def test_channels_last_view_input(self, name):
        model = _build(name)
        x = _image()
        view = x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)  # as enhance_files makes
        with torch.inference_mode():
            a = enhance_at_speed(model, x, speed="full")
            b = enhance_at_speed(model, view, speed="full")
        assert torch.allclose(a, b, atol=1e-5)


class TestEnhanceMethod:
    def test_keywords_reach_the_fast_path(self):
        model = FakeFastIdentity()
        image = (np.random.default_rng(0).random((40, 56, 3)) * 255).astype(np.uint8)
        out = model.enhance(image, speed="fast", working_pixels=300)
        assert out.dtype == np.uint8 and out.shape == image.shape
        assert np.abs(out.astype(int) - image.astype(int)).max() <= 1
        assert np.array_equal(Brighten().enhance(image, strength=0.0), image)

    def test_tensor_input_is_never_overwritten(self):
        x = _image()
        keep = x.clone()
        Brighten().enhance(x, speed="fast", working_pixels=300)
        assert torch.equal(x, keep)

    def test_enhance_defaults_match_the_inference_defaults(self):
        import inspect

        from lowlight.inference import DEFAULT_CONTEXT_SIDE, DEFAULT_OVERLAP, DEFAULT_TILE

        params = inspect.signature(EnhancementModel.enhance).parameters
        assert params["tile"].default == DEFAULT_TILE
        assert params["overlap"].default == DEFAULT_OVERLAP
        assert params["context_side"].default == DEFAULT_CONTEXT_SIDE
        with pytest.raises(TypeError):
            Brighten().enhance(_image(), tile_size=64)  # no **options swallowing typos


class TestVideo:
    def test_transform_is_smoothed_over_frames(self):
        from lowlight.inference.video import FrameEnhancer

        frames = _image(batch=4)
        frames[2] = (frames[2] * 1.3).clamp(0, 1)  # one brighter frame, not a scene cut
        model = Brighten()
        steady = FrameEnhancer(model, speed="fast", fast=SMALL, temporal_smoothing=0.8)
        plain = FrameEnhancer(model, speed="fast", fast=SMALL, temporal_smoothing=0.0)
        smoothed, independent = steady.enhance(frames), plain.enhance(frames)
        assert smoothed.shape == frames.shape
        assert torch.allclose(
            independent, enhance_at_speed(model, frames, speed="fast", config=SMALL)
        )
        # the first frame has no history; later ones differ from the per-frame transform
        assert torch.allclose(smoothed[0], independent[0], atol=1e-6)
        assert not torch.allclose(smoothed[3], independent[3], atol=1e-3)

    def test_strength_zero_returns_the_frames(self):
        from lowlight.inference.video import FrameEnhancer

        frames = _image(batch=2)
        enhancer = FrameEnhancer(Brighten(), speed="fast", fast=SMALL, strength=0.0)
        assert torch.equal(enhancer.enhance(frames), frames)


class TestCommandLine:
    def _write(self, path, array):
        from PIL import Image

        Image.fromarray(array).save(path)

    def test_speed_and_strength_options(self, tmp_path):
        from click.testing import CliRunner
        from PIL import Image

        from lowlight.cli.main import cli

        rng = np.random.default_rng(0)
        image = (rng.random((120, 160, 3)) * 60).astype(np.uint8)
        self._write(tmp_path / "a.png", image)
        base = ["enhance", str(tmp_path / "a.png"), "-m", "lime", "-q", "--working-mp", "0.01"]
        out = tmp_path / "zero"
        result = CliRunner().invoke(
            cli, [*base, "-o", str(out), "--speed", "fast", "--strength", "0"]
        )
        assert result.exit_code == 0, result.output
        assert "lime (fast)" in result.output
        assert np.array_equal(np.asarray(Image.open(out / "a.png")), image)
        out = tmp_path / "fast"
        result = CliRunner().invoke(
            cli, [*base, "-o", str(out), "--speed", "fast", "--denoise", "auto"]
        )
        assert result.exit_code == 0, result.output
        assert np.asarray(Image.open(out / "a.png")).mean() > image.mean() + 10
        result = CliRunner().invoke(cli, [*base, "-o", str(tmp_path / "x"), "--denoise", "-1"])
        assert result.exit_code != 0

    def test_models_lists_the_default_speed(self):
        from click.testing import CliRunner

        from lowlight.cli.main import cli

        result = CliRunner().invoke(cli, ["models"])
        assert result.exit_code == 0, result.output
        rows = {  # the default model's row carries a "*" after its name
            line.split()[0]: [word for word in line.split() if word != "*"]
            for line in result.output.splitlines()
            if line
        }
        assert rows["lucent"][2] == "fast"
        assert rows["identity"][2:4] == ["full", "only"]
        assert rows["mirnet_small"][2] == "fast"
