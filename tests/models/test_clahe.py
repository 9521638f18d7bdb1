"""CLAHE: exact agreement with a loop-per-tile reference of OpenCV's algorithm, scikit-image
correlation, and hand-checkable properties."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lowlight.api import build
from lowlight.color import rgb_to_lab
from lowlight.errors import ConfigError
from lowlight.models.clahe import CLAHE, clahe
from lowlight.registry import MODELS


def _reference_clahe(img: np.ndarray, clip: float, grid: tuple[int, int], nbins: int) -> np.ndarray:
    """OpenCV's CLAHE written out with loops over tiles and pixels, float LUTs (no 8-bit
    rounding) and minimal bottom/right reflect-101 padding, as lowlight documents."""
    h, w = img.shape
    rows, cols = grid
    levels = np.clip(np.round(img * (nbins - 1)), 0, nbins - 1).astype(np.int64)
    padded = np.pad(levels, ((0, (-h) % rows), (0, (-w) % cols)), mode="reflect")
    th, tw = padded.shape[0] // rows, padded.shape[1] // cols
    area = th * tw
    luts = np.zeros((rows, cols, nbins))
    for r in range(rows):
        for c in range(cols):
            hist = np.bincount(
                padded[r * th : (r + 1) * th, c * tw : (c + 1) * tw].ravel(), minlength=nbins
            )
            if clip > 0:
                limit = max(int(clip * area / nbins), 1)
                clipped = int(np.maximum(hist - limit, 0).sum())
                hist = np.minimum(hist, limit)
                batch, residual = divmod(clipped, nbins)
                hist += batch
                if residual:
                    step = max(nbins // residual, 1)
                    i = 0
                    while i < nbins and residual > 0:
                        hist[i] += 1
                        i += step
                        residual -= 1
            luts[r, c] = np.cumsum(hist) / area
    out = np.zeros((h, w))
    for y in range(h):
        tyf = y / th - 0.5
        ty1 = int(np.floor(tyf))
        ya = tyf - ty1
        ty1, ty2 = max(ty1, 0), min(ty1 + 1, rows - 1)
        for x in range(w):
            txf = x / tw - 0.5
            tx1 = int(np.floor(txf))
            xa = txf - tx1
            tx1, tx2 = max(tx1, 0), min(tx1 + 1, cols - 1)
            v = levels[y, x]
            top = luts[ty1, tx1, v] * (1 - xa) + luts[ty1, tx2, v] * xa
            bottom = luts[ty2, tx1, v] * (1 - xa) + luts[ty2, tx2, v] * xa
            out[y, x] = top * (1 - ya) + bottom * ya
    return out


def _texture(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    img = (
        0.2
        + 0.08 * np.sin(xx / 5.0) * np.cos(yy / 7.0)
        + 0.1 * (xx / w)
        + 0.03 * rng.random((h, w))
    )
    img[h // 3 : h // 2, w // 4 : w // 2] += 0.3
    return np.clip(img, 0, 1)


def _run(img: np.ndarray, **kwargs) -> np.ndarray:
    return clahe(torch.from_numpy(img)[None, None], **kwargs)[0, 0].numpy()


class TestFunctional:
    @pytest.mark.parametrize(
        "size, clip, grid, nbins",
        [
            ((32, 48), 2.0, (8, 8), 256),  # divisible
            ((37, 53), 2.0, (8, 8), 256),  # padded
            ((40, 30), 4.0, (3, 5), 64),  # heavy clipping, coarse bins
            ((24, 24), 0.0, (4, 4), 256),  # no clipping (AHE)
            ((64, 64), 40.0, (2, 2), 256),  # tiles big enough that the clip limit is > 1
        ],
    )
    def test_matches_opencv_reference(self, size, clip, grid, nbins):
        img = _texture(*size)
        ours = _run(img, clip_limit=clip, tile_grid=grid, nbins=nbins)
        ref = _reference_clahe(img, clip, grid, nbins)
        np.testing.assert_allclose(ours, ref, atol=1e-12)

    def test_correlates_with_skimage(self):
        exposure = pytest.importorskip("skimage.exposure")
        img = _texture(128, 160, seed=3)
        ours = _run(img)
        # skimage counts its clip limit per tile pixel: OpenCV's 2.0 is 2.0 / nbins there.
        ref = exposure.equalize_adapthist(
            img, kernel_size=(16, 20), clip_limit=2.0 / 256, nbins=256
        )
        assert np.corrcoef(ours.ravel(), ref.ravel())[0, 1] > 0.95

    def test_uniform_image_stays_uniform(self):
        img = np.full((64, 64), 0.3)
        out = _run(img)
        assert np.ptp(out) < 1e-12
        # The clip limit keeps a flat histogram from being stretched to white.
        assert abs(out[0, 0] - 0.3) < 0.05

    def test_single_tile_is_monotone(self):
        img = _texture(40, 56)
        out = _run(img, tile_grid=(1, 1))
        order = np.argsort(img.ravel(), kind="stable")
        assert np.all(np.diff(out.ravel()[order]) >= -1e-12)

    def test_single_tile_without_clip_is_global_equalisation(self):
        img = _texture(30, 40)
        out = _run(img, clip_limit=0.0, tile_grid=(1, 1), nbins=256)
        levels = np.round(img * 255).astype(int)
        cdf = np.cumsum(np.bincount(levels.ravel(), minlength=256)) / img.size
        np.testing.assert_allclose(out, cdf[levels], atol=1e-12)

    def test_contrast_increases_on_low_contrast_ramp(self):
        ramp = np.tile(np.linspace(0.40, 0.48, 64), (64, 1))
        out = _run(ramp)
        # Every tile's local range is stretched.
        for r in range(8):
            for c in range(8):
                block_in = ramp[r * 8 : (r + 1) * 8, c * 8 : (c + 1) * 8]
                block_out = out[r * 8 : (r + 1) * 8, c * 8 : (c + 1) * 8]
                assert np.ptp(block_out) > 1.5 * np.ptp(block_in)
        assert out.std() > ramp.std()

    def test_batch_and_dtype(self):
        x = torch.rand(3, 1, 20, 30)
        y = clahe(x)
        assert y.dtype == torch.float32 and y.shape == x.shape
        single = torch.cat([clahe(x[i : i + 1]) for i in range(3)])
        assert torch.allclose(y, single, atol=1e-6)

    def test_bad_shape(self):
        with pytest.raises(ValueError, match="B, 1, H, W"):
            clahe(torch.rand(1, 3, 8, 8))


class TestModel:
    def test_lab_lightness_equalised_and_chroma_kept(self, dark_image):
        x = torch.from_numpy(dark_image).permute(2, 0, 1)[None].double()
        y = CLAHE()(x)
        lab_x, lab_y = rgb_to_lab(x), rgb_to_lab(y)
        expected = clahe(lab_x[:, :1] / 100.0) * 100.0
        inside = (y > 1e-6).all(dim=1, keepdim=True) & (y < 1 - 1e-6).all(dim=1, keepdim=True)
        assert inside.float().mean() > 0.9
        assert torch.allclose(lab_y[:, :1][inside], expected[inside], atol=1e-6)
        assert torch.allclose(
            lab_y[:, 1:][inside.expand(-1, 2, -1, -1)],
            lab_x[:, 1:][inside.expand(-1, 2, -1, -1)],
            atol=1e-6,
        )
        assert lab_y[:, 0].std() > lab_x[:, 0].std()

    def test_hsv_space_correlates_with_skimage_colour(self, dark_image):
        exposure = pytest.importorskip("skimage.exposure")
        img = dark_image.astype(np.float64)
        y = (
            CLAHE(space="hsv")(torch.from_numpy(img).permute(2, 0, 1)[None])[0]
            .permute(1, 2, 0)
            .numpy()
        )
        ref = exposure.equalize_adapthist(img, kernel_size=(6, 8), clip_limit=2.0 / 256)
        assert np.corrcoef(y.ravel(), ref.ravel())[0, 1] > 0.9

    @pytest.mark.parametrize("space", ["lab", "ycbcr", "hsv"])
    @pytest.mark.parametrize("pre_gamma", [None, 2.2, "auto"])
    def test_spaces_and_sizes(self, space, pre_gamma):
        model = CLAHE(space=space, pre_gamma=pre_gamma)
        for size in [(1, 1), (37, 53), (2, 700)]:
            x = torch.rand(2, 3, *size) * 0.3
            y = model(x)
            assert y.shape == x.shape and torch.isfinite(y).all()
            assert y.min() >= 0 and y.max() <= 1
        x64 = torch.rand(1, 3, 16, 24, dtype=torch.float64) * 0.2
        assert model(x64).dtype == torch.float64

    def test_auto_pre_gamma_brightens_dark_images(self, dark_image):
        x = torch.from_numpy(dark_image).permute(2, 0, 1)[None]
        assert CLAHE(pre_gamma="auto")(x).mean() > CLAHE()(x).mean()

    def test_not_tileable(self):
        assert CLAHE.tileable is False
        assert CLAHE().estimate_context(torch.rand(1, 3, 8, 8)) is None

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"clip_limit": -1.0},
            {"tile_grid": (0, 8)},
            {"nbins": 1},
            {"space": "hls"},
            {"pre_gamma": 0.0},
            {"pre_gamma": "bright"},
        ],
    )
    def test_bad_config(self, kwargs):
        with pytest.raises(ConfigError):
            CLAHE(**kwargs)

    def test_registered(self):
        assert MODELS.get("clahe").meta["kind"] == "classical"
        model = build("clahe", clip_limit=3.0, tile_grid=(4, 6))
        assert isinstance(model, CLAHE) and model.tile_grid == (4, 6)
