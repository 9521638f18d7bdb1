"""IRLE: contract, variants, blind spot (no leak through the gain prior), context/tiling."""

from __future__ import annotations

import pytest
import torch

from lowlight.errors import ConfigError
from lowlight.inference.tiling import enhance_tensor_tiled
from lowlight.models import irle
from lowlight.models._irle_blocks import (
    BlindSpotDenoiser,
    CentreMaskedConv2d,
    gain_prior,
    pd_merge,
    pd_split,
)
from lowlight.models.irle import (
    DEFAULT_PARAMETERS,
    IRLE,
    SMALL_PARAMETERS,
    enhance_with_illumination,
    irle_small,
)
from lowlight.registry import MODELS

TINY = {"illum_width": 4, "denoiser_width": 4, "denoiser_blocks": 1}


def _smooth(h: int = 48, w: int = 64) -> torch.Tensor:
    yy, xx = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    return torch.stack([0.05 + 0.1 * xx, 0.08 + 0.05 * yy, 0.06 + 0.04 * xx * yy]).unsqueeze(0)


def test_registered_as_self_supervised():
    for name in ("irle", "irle_small"):
        entry = MODELS.get(name)
        assert entry.meta["kind"] == "self-supervised"
        assert "2605.28605" in entry.meta["paper"]
    assert MODELS.get("irle").obj is IRLE


def test_parameter_counts_match_docstrings():
    full = sum(p.numel() for p in IRLE().parameters())
    small = sum(p.numel() for p in irle_small().parameters())
    assert (full, small) == (DEFAULT_PARAMETERS, SMALL_PARAMETERS)
    assert f"{full:,}" in irle.__doc__ and f"{small:,}" in irle.__doc__
    assert f"{full:,}" in IRLE.__doc__


@pytest.mark.parametrize("size", [(37, 53), (1, 1), (2, 3), (5, 9)])
@pytest.mark.parametrize(
    "kwargs", [{}, {"denoiser": False}, {"enhancement": "curve"}, {"pd_ensemble": True}]
)
def test_any_size_shape_range_finite(size, kwargs):
    model = IRLE(**TINY, **kwargs).eval()
    x = torch.rand(2, 3, *size) * 0.3
    with torch.inference_mode():
        y = model(x)
    assert y.shape == x.shape
    assert torch.isfinite(y).all()
    assert y.min() >= 0 and y.max() <= 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"gain_prior": False},
        {"denoiser": False},
        {"illum_channels": 1},
        {"enhancement": "curve", "pd_factor_train": 3},
        {"detach": False, "illum_max_side": 8},
    ],
)
def test_gradients_reach_every_parameter(kwargs):
    model = IRLE(**TINY, **kwargs).train()
    out, aux = model.forward_train(torch.rand(2, 3, 24, 20) * 0.4)
    loss = out.square().mean() + aux["enhanced"].square().mean()
    loss.backward()
    bad = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not bad, bad


def test_forward_train_aux():
    model = IRLE(**TINY).train()
    x = torch.rand(2, 3, 16, 18) * 0.3
    out, aux = model.forward_train(x)
    assert set(aux) == {"illumination", "enhanced", "denoised"}
    assert torch.equal(out, aux["denoised"])
    assert aux["illumination"].shape == (2, 3, 16, 18)
    assert torch.allclose(aux["enhanced"], x / aux["illumination"])
    _, aux = IRLE(**TINY, denoiser=False).forward_train(x)
    assert "denoised" not in aux


def test_untrained_illumination_is_the_max_rgb_estimate():
    model = IRLE(**TINY, illum_base="maxrgb").eval()
    x = torch.full((1, 3, 16, 16), 0.2)
    x[:, 0] = 0.4
    with torch.no_grad():
        light = model.estimate_illumination(x)
    assert torch.allclose(light, torch.full_like(light, 0.4), atol=0.01)


def test_untrained_model_follows_the_simulated_exposure():
    from lowlight.color import luma
    from lowlight.losses.irle_pseudo_gt import exposure_pseudo_gt, lowpass

    model = IRLE(**TINY, denoiser=False).eval()
    yy, xx = torch.meshgrid(torch.linspace(0, 1, 64), torch.linspace(0, 1, 64), indexing="ij")
    x = (0.02 + 0.08 * xx * yy).expand(1, 3, 64, 64).clone()
    with torch.no_grad():
        y = model(x)
    want = exposure_pseudo_gt(x, color_correction=0.0)
    got, ref = luma(lowpass(y, 8)), luma(lowpass(want, 8))
    assert (got - ref).abs().mean() < 0.08
    assert y.mean() > 3 * x.mean()


def test_enhancements():
    x = torch.tensor([0.0, 0.1, 0.5, 1.0]).view(1, 1, 1, 4).expand(1, 3, 1, 4)
    light = torch.full((1, 1, 1, 4), 0.5)
    assert torch.allclose(enhance_with_illumination(x, light, "divide"), 2 * x)
    curve = enhance_with_illumination(x, light, "curve")  # 1 - (1 - x)^2
    assert torch.allclose(curve, 1 - (1 - x) ** 2)
    with pytest.raises(ConfigError):
        enhance_with_illumination(x, light, "gamma")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"illum_channels": 2},
        {"enhancement": "x"},
        {"l_min": 0},
        {"pd_factor": 0},
        {"illum_depth": 1},
        {"denoise_mix": -0.1},
        {"denoise_mix": 1.5},
        {"denoise_mix": float("nan")},
        {"denoise_mix": "half"},
    ],
)
def test_bad_arguments(kwargs):
    with pytest.raises(ConfigError):
        IRLE(**kwargs)


def test_denoise_mix_blends_the_enhanced_and_the_denoised_image():
    """``m = 1`` is the paper's output, ``m = 0`` the enhanced image without running the
    denoiser, and ``m`` in between their linear blend; training ignores ``m``."""
    torch.manual_seed(3)
    full = IRLE(**TINY).double().eval()
    x = torch.rand(1, 3, 20, 24, dtype=torch.float64) * 0.3
    with torch.no_grad():
        parts = full._run(x, None)
        enhanced, denoised = parts["enhanced"], parts["output"]
        assert not torch.allclose(enhanced, denoised)
        outputs = {}
        for mix in (0.0, 0.3, 1.0):
            model = IRLE(**TINY, denoise_mix=mix).double().eval()
            model.load_state_dict(full.state_dict())
            outputs[mix] = model.enhance_tensor(x)
            train_out, _ = model.train().forward_train(x)
            assert torch.allclose(train_out, denoised)
    assert torch.allclose(outputs[1.0], denoised)
    assert torch.allclose(outputs[0.0], enhanced)
    assert torch.allclose(outputs[0.3], 0.7 * enhanced + 0.3 * denoised)


def test_denoise_mix_zero_does_not_run_the_denoiser():
    model = IRLE(**TINY, denoise_mix=0.0).eval()
    calls = []
    model.denoiser.register_forward_hook(lambda *args: calls.append(1))
    with torch.no_grad():
        model.enhance_tensor(torch.rand(1, 3, 16, 16))
    assert calls == []


class TestBlindSpot:
    """The denoiser's output at a pixel is independent of the image at that pixel, with the
    GAFM prior on; and the prior itself is a smooth function of the input."""

    @pytest.mark.parametrize("pd", [1, 2, 3])
    @pytest.mark.parametrize("train", [False, True])
    @pytest.mark.parametrize("ensemble", [False, True])
    def test_denoiser_output_ignores_its_centre_pixel(self, pd, train, ensemble):
        torch.manual_seed(0)
        net = BlindSpotDenoiser(
            width=8, blocks=2, pd_factor=pd, prior_channels=3, pd_ensemble=ensemble
        ).train(train)
        for p in net.gafm.out.parameters():  # a trained, non-trivial modulation
            torch.nn.init.normal_(p, std=0.5)
        y = torch.rand(1, 3, 22, 25, dtype=torch.float64)
        prior = torch.rand(1, 3, 22, 25, dtype=torch.float64)
        net = net.double()
        base = net(y, prior)
        for i, j in [(0, 0), (10, 11), (21, 24), (7, 3)]:
            bumped = y.clone()
            bumped[..., i, j] += 5.0
            out = net(bumped, prior)
            assert torch.allclose(out[..., i, j], base[..., i, j], atol=1e-10), (i, j)
            assert not torch.allclose(out, base)  # the neighbours do see it

    def test_whole_model_blind_given_a_fixed_illumination(self):
        torch.manual_seed(1)
        model = IRLE(**TINY).double().eval()
        x = torch.rand(1, 3, 20, 24, dtype=torch.float64) * 0.3
        with torch.no_grad():
            context = model.estimate_context(x)
            base = model.enhance_tensor(x, context)
            bumped = x.clone()
            bumped[..., 9, 13] += 0.5
            out = model.enhance_tensor(bumped, context)
        assert torch.allclose(out[..., 9, 13], base[..., 9, 13], atol=1e-10)
        assert not torch.allclose(out, base)

    def test_gain_prior_is_a_smooth_function_of_the_input(self):
        torch.manual_seed(2)
        model = IRLE(**TINY, illum_scale=4).double().eval()
        x = torch.rand(1, 3, 32, 32, dtype=torch.float64) * 0.3
        with torch.no_grad():
            before = model.gain_prior(model._full_illumination(x, None))
            bumped = x.clone()
            bumped[..., 16, 16] += 0.5
            after = model.gain_prior(model._full_illumination(bumped, None))
        change = (after - before).abs().amax(dim=1)[0]
        # one pixel enters L only through a 4x4 area mean: no spike at the pixel itself
        centre = change[16, 16]
        ring = change[14:19, 14:19].clone()
        ring[2, 2] = 0
        assert centre <= 1.5 * ring.max() + 1e-12
        assert change.max() < 0.5 * 0.5  # far less than the bump itself

    def test_masked_conv_centre_is_zero(self):
        conv = CentreMaskedConv2d(2, 2, 5)
        x = torch.zeros(1, 2, 5, 5)
        x[..., 2, 2] = 1.0
        assert torch.allclose(conv(x)[..., 2, 2], conv.bias)

    def test_gafm_requires_a_prior(self):
        with pytest.raises(ValueError):
            BlindSpotDenoiser(width=4, blocks=1)(torch.rand(1, 3, 8, 8))


def test_pd_round_trip():
    x = torch.rand(2, 3, 12, 18)
    for f in (1, 2, 3):
        sub = pd_split(x, f)
        assert sub.shape == (2 * f * f, 3, 12 // f, 18 // f)
        assert torch.equal(pd_merge(sub, f), x)
    assert torch.equal(pd_split(x, 2)[1], x[0, :, 0::2, 1::2])


def test_gain_prior_values():
    light = torch.tensor([1.0, 0.02, 0.1]).view(1, 1, 1, 3)
    prior = gain_prior(light, 0.02)
    assert torch.allclose(prior.flatten(), torch.tensor([0.0, 1.0, 0.5886]), atol=1e-3)


def test_tiles_agree_with_the_whole_image():
    model = IRLE(**TINY, denoiser=False).eval()
    x = _smooth(96, 128)
    with torch.inference_mode():
        whole = model(x, model.estimate_context(x))
        tiled = enhance_tensor_tiled(model, x, tile=64, overlap=16)
    assert (whole - tiled).abs().max() < 0.02


def test_batch_equals_single():
    model = IRLE(**TINY).eval()
    x = torch.rand(3, 3, 20, 28) * torch.tensor([0.1, 0.3, 0.6]).view(3, 1, 1, 1)
    with torch.inference_mode():
        batched = model(x)
        single = torch.cat([model(x[i : i + 1]) for i in range(3)])
    assert torch.allclose(batched, single, atol=1e-5)
