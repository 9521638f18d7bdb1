"""PairedImageFolder: aligned crops, identical augmentation, size mismatches, full frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from lowlight.data.paired import PairedImageFolder
from lowlight.data.pairs import PairingError
from lowlight.data.transforms import SampleKey
from lowlight.data.unpaired import DatasetError


def make_pairs(root: Path, n: int = 3, size: tuple[int, int] = (20, 28)) -> Path:
    """LOL layout; ``low = high // 4`` pixelwise (exact in 8 bits)."""
    rng = np.random.default_rng(0)
    for side in ("low", "high"):
        (root / side).mkdir(parents=True, exist_ok=True)
    for i in range(n):
        high = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
        Image.fromarray(high).save(root / "high" / f"{i}.png")
        Image.fromarray(high // 4).save(root / "low" / f"{i}.png")
    return root


def test_relation_survives_crops_flips_and_rotations(tmp_path: Path) -> None:
    ds = PairedImageFolder.from_root(make_pairs(tmp_path), crop=12, flips=True, rot90=True)
    assert len(ds) == 3
    for index in range(3):
        for seed in range(12):
            item = ds[SampleKey(index, seed)]
            low = (item["input"] * 255).round()
            high = (item["target"] * 255).round()
            assert low.shape == high.shape == (3, 12, 12)
            assert torch.equal(low, torch.div(high, 4, rounding_mode="floor"))
            assert item["stem"] == str(index)


def test_resized_small_pairs_stay_aligned(tmp_path: Path) -> None:
    ds = PairedImageFolder.from_root(make_pairs(tmp_path, 1, size=(9, 11)), crop=16)
    item = ds[SampleKey(0, 3)]
    assert item["input"].shape == (3, 16, 16)
    # bilinear resizing is linear: low ~= high / 4 up to the floor (< 1/255 * 3/4)
    diff = item["input"] - item["target"] / 4
    assert float(diff.max()) <= 1e-6 and float(diff.min()) >= -0.75 / 255 - 1e-6


def test_full_frame_is_the_untouched_image(tmp_path: Path) -> None:
    root = make_pairs(tmp_path)
    ds = PairedImageFolder.full_frame(root / "low", root / "high", max_images=2)
    assert len(ds) == 2
    item = ds[1]
    expected = np.asarray(Image.open(root / "high" / "1.png"), dtype=np.float32) / 255
    torch.testing.assert_close(
        item["target"], torch.from_numpy(expected).permute(2, 0, 1), rtol=0, atol=1e-6
    )
    assert item["input"].shape == (3, 20, 28)


def test_size_mismatch_names_the_stem(tmp_path: Path) -> None:
    root = make_pairs(tmp_path)
    Image.fromarray(np.zeros((20, 30, 3), dtype=np.uint8)).save(root / "high" / "2.png")
    with pytest.raises(
        DatasetError,
        match=r"1 pair\(s\) whose input and target sizes differ: 2 \(input 28x20, target 30x20\)",
    ):
        PairedImageFolder.from_root(root)
    ds = PairedImageFolder.from_root(root, check_files=False)
    with pytest.raises(DatasetError, match="pair '2'"):
        ds[2]


def test_missing_partner_is_a_pairing_error(tmp_path: Path) -> None:
    root = make_pairs(tmp_path)
    (root / "high" / "0.png").unlink()
    with pytest.raises(PairingError, match="0"):
        PairedImageFolder.from_root(root)


def test_unreadable_partner_fails_at_start(tmp_path: Path) -> None:
    root = make_pairs(tmp_path)
    (root / "low" / "1.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    with pytest.raises(DatasetError, match="1.png"):
        PairedImageFolder(root / "low", root / "high")
