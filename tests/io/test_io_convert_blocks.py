"""``float_to_array`` converts RGB to integers by blocks of rows: same values, same errors."""

from __future__ import annotations

import numpy as np
import pytest

from lowlight.io.convert import ROWS_PER_BLOCK, float_to_array


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_blocks_equal_whole_image_rounding(dtype):
    rng = np.random.default_rng(0)
    rgb = rng.uniform(-0.1, 1.1, (ROWS_PER_BLOCK * 2 + 7, 5, 3)).astype(np.float32)
    expected = np.round(np.clip(rgb, 0, 1) * np.iinfo(dtype).max).astype(dtype)
    assert np.array_equal(float_to_array(rgb, dtype), expected)
    assert np.array_equal(float_to_array(rgb.astype(np.float64), dtype), expected)


def test_non_finite_value_in_a_later_block_is_refused():
    rgb = np.zeros((ROWS_PER_BLOCK + 3, 4, 3), np.float32)
    rgb[-1, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        float_to_array(rgb, np.uint8)
