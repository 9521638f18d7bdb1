"""Fixtures for the metric tests: synthetic images and the patched scikit-video NIQE reference."""

from __future__ import annotations

import importlib
import importlib.util
import warnings
from collections.abc import Callable

import numpy as np
import pytest


def textured_image(h: int, w: int, seed: int) -> np.ndarray:
    """A real-ish ``(h, w, 3)`` float image in [0, 1]: smooth gradient, texture, edges, noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    img = 0.25 + 0.45 * (xx / w)[..., None] * np.array([1.0, 0.8, 0.6])
    img = img + 0.12 * np.sin(yy / 5.0 + xx / 9.0)[..., None]
    img = img + 0.06 * np.sign(np.sin(xx / 3.0) * np.sin(yy / 4.0))[..., None]
    img[h // 4 : h // 2, w // 3 : 2 * w // 3] *= 0.5
    img = img + rng.normal(0.0, 0.03, img.shape)
    return np.clip(img, 0.0, 1.0)


@pytest.fixture
def make_image() -> Callable[[int, int, int], np.ndarray]:
    return textured_image


def _old_scipy_imresize(arr, size, interp="bilinear", mode=None):
    """``scipy.misc.imresize`` as SciPy <= 1.2 had it, for the call NIQE makes.

    ``toimage(arr, mode='F')`` made a 32-bit float PIL image; a float ``size`` scaled
    ``im.size`` and truncated with ``astype(int)``; ``fromimage`` returned float32.
    """
    from PIL import Image

    if mode != "F" or interp not in ("bicubic", "cubic"):
        raise NotImplementedError(
            "only the (mode='F', interp='bicubic') call of NIQE is reproduced"
        )
    im = Image.fromarray(np.asarray(arr, dtype=np.float32))
    assert im.mode == "F"
    new_size = tuple((np.array(im.size) * size).astype(int))
    return np.array(im.resize(new_size, resample=Image.BICUBIC))


@pytest.fixture
def skvideo_niqe(monkeypatch: pytest.MonkeyPatch) -> Callable[[np.ndarray], float]:
    """scikit-video's NIQE with the shims modern SciPy/NumPy need; scores a (H, W) luminance."""
    if importlib.util.find_spec("skvideo") is None:
        pytest.skip("scikit-video is not installed")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        scipy_misc = importlib.import_module("scipy.misc")
    monkeypatch.setattr(scipy_misc, "imresize", _old_scipy_imresize, raising=False)
    monkeypatch.setattr(np, "int", int, raising=False)
    monkeypatch.setattr(np, "float", float, raising=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        measure = importlib.import_module("skvideo.measure")

    def score(gray: np.ndarray) -> float:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return float(measure.niqe(gray)[0])

    return score
