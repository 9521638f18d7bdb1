"""L_NR and its scorers: the NSS naturalness scorer (differentiable NIQE family) and MUSIQ."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lowlight.errors import ConfigError, MissingDependencyError
from lowlight.losses.naturalness import (
    MusiqScorer,
    NSSNaturalnessScorer,
    QualityScorer,
    aggd_features,
    nr_loss,
    nss_features,
)
from lowlight.metrics.niqe_core import niqe


def natural_like(size: int = 128, seed: int = 0) -> torch.Tensor:
    """``(1, 3, size, size)``: a blurred dead-leaves image (occluding discs with power-law radii,
    the classic model of natural-image statistics) modulated by a fine 1/f^0.25 texture."""
    rng = np.random.default_rng(seed)
    img = np.full((3, size, size), 0.5)
    yy, xx = np.mgrid[0:size, 0:size]
    radii = (2.0**-2 + rng.uniform(size=400) * (48.0**-2 - 2.0**-2)) ** -0.5  # p(r) ~ r^-3
    for r in radii:
        cy, cx = rng.uniform(-r, size + r, size=2)
        colour = rng.uniform(0.1, 0.9) * rng.uniform(0.8, 1.2, size=3)
        img[:, (yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = colour[:, None]
    x = torch.from_numpy(np.clip(img, 0, 1)).float()[None]
    k = torch.tensor([1.0, 2.0, 1.0])
    k = (k[:, None] * k[None]) / 16
    x = F.conv2d(
        F.pad(x, (1, 1, 1, 1), mode="replicate"), k.expand(3, 1, 3, 3).contiguous(), groups=3
    )
    fy, fx = np.fft.fftfreq(size)[:, None], np.fft.rfftfreq(size)[None, :]
    f = np.sqrt(fx**2 + fy**2)
    f[0, 0] = 1
    spectrum = (rng.normal(size=f.shape) + 1j * rng.normal(size=f.shape)) / f**0.25
    texture = np.fft.irfft2(spectrum, s=(size, size))
    texture = torch.from_numpy((texture - texture.mean()) / texture.std()).float()
    return (x * (1 + 0.08 * texture)).clamp(0, 1)


@pytest.fixture(scope="module")
def scorer() -> NSSNaturalnessScorer:
    return NSSNaturalnessScorer()


def test_nr_loss():
    assert nr_loss(torch.tensor([100.0, 50.0])).item() == 25.0
    assert nr_loss(torch.tensor([100.0])).item() == 0.0


def test_scorers_follow_the_protocol(scorer):
    assert isinstance(scorer, QualityScorer)


class TestAggd:
    @pytest.mark.parametrize(("name", "alpha"), [("normal", 2.0), ("laplace", 1.0)])
    def test_known_distributions(self, name, alpha):
        g = torch.Generator().manual_seed(0)
        if name == "normal":
            v = torch.randn(1, 200_000, generator=g, dtype=torch.float64) * 3.0
        else:
            u = torch.rand(1, 200_000, generator=g, dtype=torch.float64) - 0.5
            v = -3.0 * u.sign() * torch.log1p(-2 * u.abs())
        a, eta, bl, br = aggd_features(v)
        assert a.item() == pytest.approx(alpha, abs=0.05)
        assert eta.abs().item() < 0.05
        assert bl.item() == pytest.approx(br.item(), rel=0.02)

    def test_gradcheck(self):
        v = torch.randn(3, 40, dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(lambda t: torch.stack(aggd_features(t)), (v,))

    def test_degenerate_input_is_finite(self):
        v = torch.zeros(2, 16, requires_grad=True)
        out = torch.stack(aggd_features(v))
        out.sum().backward()
        assert torch.isfinite(out).all() and torch.isfinite(v.grad).all()


def test_features_shape():
    feats = nss_features(torch.rand(2, 3, 70, 100), patch_size=32)
    assert feats.shape == (2, 2 * 3, 36)


def test_distance_matches_the_niqe_metric_at_patch_96():
    image = (natural_like(192, seed=1)[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    wide = np.concatenate([image, image[:, ::-1]], axis=1)  # 192x384: 8 patches
    x = torch.from_numpy(wide.astype(np.float64) / 255).permute(2, 0, 1)[None]
    nss = NSSNaturalnessScorer(patch_size=96)
    assert nss.distance(x).item() == pytest.approx(niqe(wide), rel=0.01)


@pytest.mark.parametrize("size", [128, 32])  # 16 patches (pooled covariance), 1 (pristine only)
def test_gradients_flow_and_are_finite(scorer, size):
    x = (natural_like(size) * 0.5).requires_grad_()
    s = scorer(x)
    assert s.shape == (1,)
    assert 0 < s.item() <= 100
    nr_loss(s).backward()
    assert torch.isfinite(x.grad).all()
    assert x.grad.abs().sum() > 0


def test_flat_and_black_images_are_finite(scorer):
    x = torch.cat([torch.zeros(1, 3, 64, 64), torch.full((1, 3, 64, 64), 0.5)]).requires_grad_()
    s = scorer(x)
    s.sum().backward()
    assert torch.isfinite(s).all() and torch.isfinite(x.grad).all()


@pytest.mark.parametrize("seed", [0, 2])
def test_clean_beats_noisy_and_crushed(scorer, seed):
    x = natural_like(128, seed)
    g = torch.Generator().manual_seed(seed)
    noisy = (x + 0.1 * torch.randn(x.shape, generator=g)).clamp(0, 1)
    scores = scorer(torch.cat([x, noisy, x * 0.05]))
    assert scores[0] > scores[1] + 3
    assert scores[0] > scores[2] + 3


def test_deterministic_and_batch_independent(scorer):
    x = torch.cat([natural_like(96, 3), natural_like(96, 4)])
    a, b = scorer(x), scorer(x)
    assert torch.equal(a, b)
    assert torch.allclose(scorer(x[1:]), a[1:], atol=1e-4)


@pytest.mark.data
def test_real_photo_beats_its_degradations(scorer, shared_data):
    from PIL import Image

    path = shared_data / "lol_v1" / "eval15" / "high" / "1.png"
    rgb = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255
    x = torch.from_numpy(rgb).permute(2, 0, 1)[None, :, 72:328, 172:428]
    g = torch.Generator().manual_seed(0)
    noisy = (x + 0.15 * torch.randn(x.shape, generator=g)).clamp(0, 1)
    scores = scorer(torch.cat([x, noisy, x * 0.05, torch.zeros_like(x)]))
    assert scores[0] > scores[1:].max() + 5


def test_bad_arguments(scorer):
    with pytest.raises(ConfigError):
        NSSNaturalnessScorer(patch_size=31)
    with pytest.raises(ConfigError):
        NSSNaturalnessScorer(tau=0)
    with pytest.raises(ValueError):
        scorer(torch.rand(1, 3, 16, 16))


def test_musiq_without_pyiqa_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyiqa", None)  # makes ``import pyiqa`` fail
    with pytest.raises(MissingDependencyError, match=r"lowlight\[musiq\]"):
        MusiqScorer()
