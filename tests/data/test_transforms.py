"""Functional augmentations: numpy and torch agree, crops stay in bounds, pairs stay aligned."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from lowlight.data.transforms import (
    Augment,
    SampleKey,
    apply_augment,
    augment_tensor,
    crop,
    paired_random_crop_augment,
    random_crop_augment,
    resize_to_cover,
    sample_augment,
    sample_crop,
    sample_rng,
    to_tensor,
)

ALL = [Augment(h, v, k) for h, v, k in itertools.product((False, True), (False, True), range(4))]


def image(h: int = 5, w: int = 7) -> np.ndarray:
    return np.arange(h * w * 3, dtype=np.float32).reshape(h, w, 3) / (h * w * 3)


@pytest.mark.parametrize("aug", ALL, ids=str)
def test_numpy_and_torch_agree(aug: Augment) -> None:
    img = image()
    expected = to_tensor(apply_augment(img, aug))
    got = augment_tensor(torch.from_numpy(img).permute(2, 0, 1), aug)
    assert torch.equal(got, expected)


def test_flips_and_rotations_by_hand() -> None:
    img = image(2, 3)
    np.testing.assert_array_equal(apply_augment(img, Augment(hflip=True)), img[:, ::-1])
    np.testing.assert_array_equal(apply_augment(img, Augment(vflip=True)), img[::-1])
    rotated = apply_augment(img, Augment(rot90=1))  # counter-clockwise
    assert rotated.shape == (3, 2, 3)
    np.testing.assert_array_equal(rotated[0, 0], img[0, 2])
    assert Augment().identity and not Augment(rot90=2).identity


def test_sampled_augmentations_cover_the_dihedral_group() -> None:
    rng = np.random.default_rng(0)
    seen = {sample_augment(rng, flips=True, rot90=True) for _ in range(400)}
    assert len(seen) == 16  # 2 x 2 x 4 parameter combinations (8 distinct transforms)
    assert {sample_augment(rng, flips=False, rot90=False) for _ in range(20)} == {Augment()}


def test_crop_windows_stay_inside() -> None:
    rng = np.random.default_rng(1)
    corners = {sample_crop(rng, 10, 12, 8) for _ in range(300)}
    assert {t for t, _ in corners} == {0, 1, 2} and {left for _, left in corners} == {0, 1, 2, 3, 4}
    with pytest.raises(ValueError, match="resize first"):
        sample_crop(rng, 4, 12, 8)
    np.testing.assert_array_equal(crop(image(), 1, 2, 3), image()[1:4, 2:5])


def test_resize_to_cover_keeps_aspect_and_range() -> None:
    img = image(6, 9)
    out = resize_to_cover(img, 12)
    assert out.shape == (12, 18, 3) and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 1
    assert resize_to_cover(img, 6) is img
    assert resize_to_cover(image(5, 7), 16).shape[:2] == (16, 23)  # ceil(7 * 16 / 5)


def test_random_crop_of_a_small_image() -> None:
    rng = np.random.default_rng(2)
    out = random_crop_augment(image(5, 7), 8, rng, flips=True, rot90=True)
    assert out.shape == (8, 8, 3)
    assert random_crop_augment(image(5, 7), None, rng, flips=False).shape == (5, 7, 3)


def test_paired_views_keep_a_pixelwise_relation() -> None:
    rng = np.random.default_rng(3)
    target = np.random.default_rng(4).random((20, 24, 3), dtype=np.float32)
    inp = 0.25 * target + 0.1
    for _ in range(30):
        a, b = paired_random_crop_augment(inp, target, 8, rng, flips=True, rot90=True)
        assert a.shape == b.shape == (8, 8, 3)
        np.testing.assert_allclose(a, 0.25 * b + 0.1, rtol=0, atol=1e-7)
    with pytest.raises(ValueError, match="pair sizes differ"):
        paired_random_crop_augment(inp, target[:10], 8, rng)


def test_to_tensor_is_contiguous_chw() -> None:
    view = apply_augment(image(), Augment(hflip=True, rot90=1))
    t = to_tensor(view)
    assert t.shape == (3, 7, 5) and t.is_contiguous() and t.dtype == torch.float32


def test_sample_keys_are_reproducible() -> None:
    i, rng = sample_rng(SampleKey(4, 99))
    j, rng2 = sample_rng((4, 99))
    assert i == j == 4 and rng.random() == rng2.random()
    k, _ = sample_rng(7)
    assert k == 7
