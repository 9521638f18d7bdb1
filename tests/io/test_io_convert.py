"""array_to_float / float_to_array: shapes, dtypes, quantisation, round-trips."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from lowlight.io import array_to_float, float_to_array
from lowlight.io.convert import luma


class TestArrayToFloat:
    def test_uint8_rgb(self) -> None:
        a = np.array([[[0, 128, 255]]], np.uint8)
        rgb, alpha = array_to_float(a)
        assert rgb.dtype == np.float32 and rgb.shape == (1, 1, 3)
        np.testing.assert_allclose(rgb[0, 0], [0, 128 / 255, 1], atol=1e-7)
        assert alpha is None

    def test_uint16_rgba(self) -> None:
        a = np.array([[[0, 300, 65535, 1000]]], np.uint16)
        rgb, alpha = array_to_float(a)
        np.testing.assert_allclose(rgb[0, 0], [0, 300 / 65535, 1], rtol=1e-6)
        assert alpha is not None and alpha.shape == (1, 1)
        np.testing.assert_allclose(alpha, [[1000 / 65535]], rtol=1e-6)

    @pytest.mark.parametrize("shape", [(4, 5), (4, 5, 1)])
    def test_grey_is_repeated(self, shape: tuple[int, ...]) -> None:
        a = np.arange(20, dtype=np.uint8).reshape(shape)
        rgb, alpha = array_to_float(a)
        assert rgb.shape == (4, 5, 3) and alpha is None
        assert (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()

    def test_grey_alpha(self) -> None:
        a = np.stack([np.full((2, 3), 10), np.full((2, 3), 200)], axis=2).astype(np.uint8)
        rgb, alpha = array_to_float(a)
        assert rgb.shape == (2, 3, 3) and alpha is not None
        np.testing.assert_allclose(alpha, 200 / 255)

    def test_float_is_clipped(self) -> None:
        rgb, _ = array_to_float(np.array([[[-0.5, 0.5, 2.0]]], np.float64))
        np.testing.assert_allclose(rgb[0, 0], [0, 0.5, 1])
        assert rgb.dtype == np.float32

    @pytest.mark.parametrize(
        "array",
        [
            np.zeros((2, 3, 5), np.uint8),
            np.zeros((2,), np.uint8),
            np.zeros((2, 3, 3, 1), np.uint8),
            np.zeros((0, 3, 3), np.uint8),
            np.zeros((2, 3, 3), np.int32),
            np.zeros((2, 3, 3), bool),
        ],
    )
    def test_bad_inputs(self, array: np.ndarray) -> None:
        with pytest.raises(ValueError):
            array_to_float(array)

    def test_nan_refused(self) -> None:
        with pytest.raises(ValueError, match="NaN"):
            array_to_float(np.full((2, 2, 3), np.nan, np.float32))


class TestFloatToArray:
    def test_quantisation_convention(self) -> None:
        x = np.array([[[0.0, 0.5, 1.0], [-1.0, 1 / 510, 2.0]]], np.float32)
        out = float_to_array(x, np.uint8)
        expected = np.round(np.clip(x, 0, 1) * 255).astype(np.uint8)
        assert (out == expected).all()
        out16 = float_to_array(x, np.uint16)
        assert (out16 == np.round(np.clip(x, 0, 1) * 65535).astype(np.uint16)).all()

    def test_grey_is_bt601_luma(self) -> None:
        x = np.array([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]], np.float32)
        out = float_to_array(x, np.float32, channels=1)
        assert out.shape == (1, 3)
        np.testing.assert_allclose(out[0], [0.299, 0.587, 0.114], rtol=1e-6)
        np.testing.assert_allclose(luma(np.ones((1, 1, 3), np.float32)), 1.0, rtol=1e-6)

    def test_alpha_channels(self) -> None:
        x = np.full((2, 2, 3), 0.5, np.float32)
        a = np.full((2, 2), 0.25, np.float32)
        rgba = float_to_array(x, np.uint8, a, channels=4)
        assert rgba.shape == (2, 2, 4) and (rgba[..., 3] == 64).all()
        la = float_to_array(x, np.uint16, a, channels=2)
        assert la.shape == (2, 2, 2) and (la[..., 1] == round(0.25 * 65535)).all()
        opaque = float_to_array(x, np.uint8, None, channels=4)
        assert (opaque[..., 3] == 255).all()

    def test_errors(self) -> None:
        x = np.zeros((2, 2, 3), np.float32)
        with pytest.raises(ValueError, match="no alpha"):
            float_to_array(x, np.uint8, np.zeros((2, 2)), channels=3)
        with pytest.raises(ValueError, match="channels"):
            float_to_array(x, np.uint8, channels=5)
        with pytest.raises(ValueError, match="dtype"):
            float_to_array(x, np.int32)
        with pytest.raises(ValueError, match="float"):
            float_to_array(x.astype(np.uint8), np.uint8)
        with pytest.raises(ValueError, match="shape"):
            float_to_array(x, np.uint8, np.zeros((3, 2)), channels=4)
        with pytest.raises(ValueError, match="NaN"):
            float_to_array(np.full((1, 1, 3), np.inf, np.float32), np.uint8)


_shapes = st.tuples(st.integers(1, 6), st.integers(1, 6), st.sampled_from([1, 2, 3, 4]))


@settings(max_examples=60, deadline=None)
@given(st.sampled_from([np.uint8, np.uint16]).flatmap(lambda t: arrays(t, _shapes)))
def test_integer_round_trip_is_exact(array: np.ndarray) -> None:
    rgb, alpha = array_to_float(array)
    channels = array.shape[2]
    back = float_to_array(rgb, array.dtype, alpha, channels=channels)
    # grey goes through the luma of three equal channels, which must give it back exactly
    assert np.array_equal(back.reshape(array.shape), array)


@settings(max_examples=40, deadline=None)
@given(
    arrays(
        np.float32,
        st.tuples(st.integers(1, 5), st.integers(1, 5), st.just(3)),
        elements=st.floats(0, 1, width=32, allow_subnormal=False),
    )
)
def test_float_round_trip_within_half_step(rgb: np.ndarray) -> None:
    for dtype, maximum in ((np.uint8, 255), (np.uint16, 65535)):
        back, _ = array_to_float(float_to_array(rgb, dtype))
        assert np.abs(back - rgb).max() <= 0.5 / maximum + 1e-6
