"""PSNR, SSIM, MAE and GT-mean: calibration against scikit-image and hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lowlight.metrics.convert import MetricInputError, quantize_uint8
from lowlight.metrics.full_reference import gt_mean_align, mae, psnr, ssim

skm = pytest.importorskip("skimage.metrics")


def _sk_ssim(a: np.ndarray, b: np.ndarray) -> float:
    return skm.structural_similarity(
        a,
        b,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=255,
        channel_axis=2,
    )


def _pairs(make_image):
    rng = np.random.default_rng(3)
    rand = (
        rng.integers(0, 256, (40, 48, 3), dtype=np.uint8),
        rng.integers(0, 256, (40, 48, 3), dtype=np.uint8),
    )
    clean = make_image(37, 53, 1)
    degraded = np.clip(0.6 * clean + rng.normal(0, 0.05, clean.shape), 0, 1)
    big = make_image(64, 96, 2)
    return [
        rand,
        (quantize_uint8(degraded), quantize_uint8(clean)),
        (quantize_uint8(big**1.5), quantize_uint8(big)),
    ]


class TestQuantize:
    def test_float_rounds_and_clips(self):
        img = np.array([[[0.0, 0.5, 1.0], [-0.2, 1.3, 0.998]]], dtype=np.float64)
        assert quantize_uint8(img).tolist() == [[[0, 128, 255], [0, 255, 254]]]

    def test_uint8_passthrough_and_torch_layouts_agree(self, make_image):
        img = make_image(20, 30, 0).astype(np.float32)
        q = quantize_uint8(img)
        assert q.dtype == np.uint8 and q.shape == (20, 30, 3)
        assert np.array_equal(quantize_uint8(q), q)
        t = torch.from_numpy(img).permute(2, 0, 1)
        assert np.array_equal(quantize_uint8(t), q)
        assert np.array_equal(quantize_uint8(t[None]), q)

    @pytest.mark.parametrize(
        "bad",
        [
            np.zeros((8, 8)),
            np.zeros((8, 8, 4)),
            np.zeros((8, 8, 3), dtype=np.uint16),
            np.full((8, 8, 3), np.nan),
            torch.zeros(2, 3, 8, 8),
            [[0.0]],
        ],
    )
    def test_rejects(self, bad):
        with pytest.raises(MetricInputError):
            quantize_uint8(bad)

    def test_size_mismatch(self):
        with pytest.raises(MetricInputError, match="differ in size"):
            psnr(np.zeros((8, 8, 3)), np.zeros((8, 9, 3)))


class TestPSNR:
    def test_matches_skimage(self, make_image):
        for a, b in _pairs(make_image):
            assert psnr(a, b) == pytest.approx(
                skm.peak_signal_noise_ratio(b, a, data_range=255), abs=1e-10
            )

    def test_identical_is_inf(self, make_image):
        img = make_image(16, 16, 0)
        assert psnr(img, img) == math.inf

    @pytest.mark.parametrize("k", [1, 5, 40])
    def test_constant_offset(self, k):
        target = np.full((10, 12, 3), 100, dtype=np.uint8)
        assert psnr(target + np.uint8(k), target) == pytest.approx(
            20 * math.log10(255 / k), abs=1e-12
        )

    def test_scores_the_quantised_image(self):
        target = np.full((4, 4, 3), 0.5)
        # 0.5 -> 128 and 0.501 -> 128: identical once quantised.
        assert psnr(np.full((4, 4, 3), 0.501), target) == math.inf


class TestSSIM:
    def test_matches_skimage(self, make_image):
        for a, b in _pairs(make_image):
            assert ssim(a, b) == pytest.approx(_sk_ssim(a, b), abs=1e-4)

    def test_identical_is_one(self, make_image):
        img = make_image(37, 53, 4)
        assert ssim(img, img) == pytest.approx(1.0, abs=1e-12)

    def test_symmetric(self, make_image):
        a, b = _pairs(make_image)[1]
        assert ssim(a, b) == pytest.approx(ssim(b, a), abs=1e-12)

    def test_too_small(self):
        with pytest.raises(MetricInputError, match="11x11"):
            ssim(np.zeros((10, 20, 3)), np.zeros((10, 20, 3)))


class TestMAE:
    def test_hand_computed(self):
        target = np.zeros((2, 2, 3), dtype=np.uint8)
        pred = target.copy()
        pred[0, 0, 0] = 51  # one value of twelve differs by 0.2
        assert mae(pred, target) == pytest.approx(0.2 / 12, abs=1e-15)

    def test_symmetric_and_zero(self, make_image):
        a, b = _pairs(make_image)[1]
        assert mae(a, b) == pytest.approx(mae(b, a))
        assert mae(a, a) == 0.0


class TestGTMean:
    def test_hand_computed(self):
        # pred gray mean 0.2 (uniform 51), target gray mean 0.4 (uniform 102): factor 2.
        pred = np.full((3, 3, 3), 51, dtype=np.uint8)
        pred[0, 0] = (51, 0, 102)  # luma 0.299*51 + 0.114*102 = 26.877 -> scaled by the mean ratio
        target = np.full((3, 3, 3), 102, dtype=np.uint8)
        p01 = pred / 255.0
        gray = p01 @ np.array([0.299, 0.587, 0.114])
        factor = 0.4 / gray.mean()
        expected = np.round(np.clip(p01 * factor, 0, 1) * 255).astype(np.uint8)
        out = gt_mean_align(pred, target)
        assert out.dtype == np.uint8 and np.array_equal(out, expected)
        assert out[1, 1].tolist() == [round(51 * factor)] * 3

    def test_clips_at_white(self):
        pred = np.array([[[200, 200, 200], [20, 20, 20]]], dtype=np.uint8)
        target = np.full((1, 2, 3), 220, dtype=np.uint8)  # factor 2: 400 -> 255
        assert gt_mean_align(pred, target)[0, 0].tolist() == [255, 255, 255]
        assert gt_mean_align(pred, target)[0, 1].tolist() == [40, 40, 40]

    def test_black_output_is_unchanged(self):
        pred = np.zeros((4, 4, 3), dtype=np.uint8)
        assert np.array_equal(gt_mean_align(pred, np.full((4, 4, 3), 9, np.uint8)), pred)

    def test_recovers_a_darkened_copy(self, make_image):
        target = make_image(48, 64, 5)
        dark = target * 0.35
        plain = psnr(dark, target)
        aligned = psnr(gt_mean_align(dark, target), target)
        assert plain < 15 and aligned > 35
