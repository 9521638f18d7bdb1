"""Tiled inference: coverage, blending and whole-image context."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from lowlight.inference.tiling import blend_ramp, crop_context, enhance_tensor_tiled, tile_starts
from lowlight.models.base import EnhancementModel


class PixelGain(EnhancementModel):
    """Pointwise model: tiles must reproduce the whole-image result exactly."""

    def enhance_tensor(self, x, context=None):
        return x.sqrt()


class GlobalGain(EnhancementModel):
    """Output depends on the whole image's mean: only agrees across tiles through the context."""

    def estimate_context(self, x):
        return {"mean": x.mean(dim=(1, 2, 3), keepdim=True)}

    def enhance_tensor(self, x, context=None):
        mean = context["mean"] if context is not None else x.mean(dim=(1, 2, 3), keepdim=True)
        return x * (0.5 / mean.clamp_min(1e-3))


class MapGain(EnhancementModel):
    """Uses a spatial map of the whole image (a blurred illumination)."""

    pad_multiple = 4

    def estimate_context(self, x):
        return {"light": F.avg_pool2d(x.mean(1, keepdim=True), 4)}

    def enhance_tensor(self, x, context=None):
        light = (
            context["light"]
            if context is not None
            else F.interpolate(
                F.avg_pool2d(x.mean(1, keepdim=True), 4),
                size=x.shape[-2:],
                mode="bilinear",
                align_corners=False,
            )
        )
        return x / light.clamp_min(0.05) * 0.4


@pytest.mark.parametrize(
    "length,tile,overlap", [(10, 16, 4), (100, 32, 8), (97, 32, 8), (64, 32, 0)]
)
def test_tile_starts_cover_everything(length, tile, overlap):
    starts = tile_starts(length, tile, overlap)
    covered = torch.zeros(length, dtype=torch.bool)
    for s in starts:
        covered[s : s + tile] = True
    assert covered.all()
    assert starts[-1] + min(tile, length) == length
    for a, b in zip(starts, starts[1:], strict=False):
        assert a + tile - b >= overlap


def test_blend_ramp_positive_and_ramped():
    w = blend_ramp(32, 8, at_start=False, at_end=False, device=torch.device("cpu"))
    assert (w > 0).all() and w[8:-8].eq(1).all()
    assert torch.all(w[:8][1:] > w[:8][:-1])


def test_pointwise_model_tiles_exactly():
    x = torch.rand(2, 3, 70, 93)
    model = PixelGain().eval()
    tiled = enhance_tensor_tiled(model, x, tile=32, overlap=8)
    assert torch.allclose(tiled, model(x), atol=1e-6)


def test_global_context_makes_tiles_agree():
    torch.manual_seed(0)
    x = torch.rand(1, 3, 64, 96) * torch.linspace(
        0.05, 0.6, 96
    )  # brightness varies across the frame
    model = GlobalGain().eval()
    whole = model(x)
    tiled = enhance_tensor_tiled(model, x, tile=32, overlap=8, context_side=96)
    assert torch.allclose(tiled, whole, atol=1e-5)


def test_spatial_context_matches_whole_image_upsampling():
    x = torch.rand(1, 3, 61, 87) * 0.3 + 0.05
    model = MapGain().eval()
    context = model.estimate_context(x)
    full_map = F.interpolate(context["light"], size=(61, 87), mode="bilinear", align_corners=False)
    cropped = crop_context(context, (10, 20, 40, 60), (61, 87))["light"]
    assert torch.allclose(cropped, full_map[..., 10:40, 20:60], atol=1e-5)
    tiled = enhance_tensor_tiled(model, x, tile=32, overlap=8, context_side=87)
    reference = (x / full_map.clamp_min(0.05) * 0.4).clamp(0, 1)
    assert torch.allclose(tiled, reference, atol=1e-4)


def test_non_tileable_model_sees_whole_image():
    calls = []

    class Whole(PixelGain):
        tileable = False

        def enhance_tensor(self, x, context=None):
            calls.append(tuple(x.shape[-2:]))
            return x

    enhance_tensor_tiled(Whole().eval(), torch.rand(1, 3, 80, 80), tile=32, overlap=8)
    assert calls == [(80, 80)]
