"""UnpairedImageFolder: recursive listing, crops, small images, bad files at start-up."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from lowlight.data.transforms import SampleKey
from lowlight.data.unpaired import DatasetError, UnpairedImageFolder, probe_size


def write(path: Path, h: int, w: int, seed: int = 0) -> np.ndarray:
    rgb = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb).save(path)
    return rgb


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    write(tmp_path / "a.png", 20, 24)
    write(tmp_path / "sub" / "deeper" / "b.png", 20, 24, 1)
    write(tmp_path / "sub" / "c.jpg", 30, 20, 2)
    (tmp_path / "notes.txt").write_text("not an image", encoding="utf-8")
    return tmp_path


def test_lists_recursively_in_sorted_order(folder: Path) -> None:
    ds = UnpairedImageFolder(folder, crop=16)
    assert [p.relative_to(folder).as_posix() for p in ds.paths] == [
        "a.png",
        "sub/c.jpg",
        "sub/deeper/b.png",
    ]
    assert ds.sizes == [(20, 24), (30, 20), (20, 24)]
    assert ds.describe() == f"unpaired: {folder} (3 images)"
    assert len(UnpairedImageFolder(folder, crop=16, max_images=2)) == 2


def test_items_are_float_crops(folder: Path) -> None:
    ds = UnpairedImageFolder(folder, crop=16)
    for i in range(len(ds)):
        item = ds[i]
        x = item["input"]
        assert x.shape == (3, 16, 16) and x.dtype == torch.float32
        assert float(x.min()) >= 0 and float(x.max()) <= 1


def test_crop_is_a_window_of_the_image(tmp_path: Path) -> None:
    rgb = write(tmp_path / "x.png", 20, 24)
    ds = UnpairedImageFolder(tmp_path, crop=8, flips=False)
    full = torch.from_numpy(rgb.astype(np.float32) / 255).permute(2, 0, 1)
    windows = {
        (t, left): full[:, t : t + 8, left : left + 8] for t in range(13) for left in range(17)
    }
    for seed in range(5):
        x = ds[SampleKey(0, seed)]["input"]
        assert any(torch.allclose(x, w, rtol=0, atol=1e-6) for w in windows.values())


def test_same_key_same_sample(folder: Path) -> None:
    ds = UnpairedImageFolder(folder, crop=8, rot90=True)
    assert torch.equal(ds[SampleKey(1, 5)]["input"], ds[SampleKey(1, 5)]["input"])
    different = [ds[SampleKey(1, s)]["input"] for s in range(6)]
    assert any(not torch.equal(different[0], d) for d in different[1:])


def test_small_images_are_resized_up(tmp_path: Path) -> None:
    write(tmp_path / "tiny.png", 6, 9)
    ds = UnpairedImageFolder(tmp_path, crop=16)
    assert ds[0]["input"].shape == (3, 16, 16)


def test_whole_images(folder: Path) -> None:
    ds = UnpairedImageFolder(folder, crop=None, flips=False)
    assert ds[1]["input"].shape == (3, 30, 20)


def test_corrupt_files_fail_at_start_naming_them(folder: Path) -> None:
    (folder / "empty.png").write_bytes(b"")
    (folder / "sub" / "junk.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (folder / "gif.png").write_bytes(b"GIF89a" + b"\x00" * 20)
    with pytest.raises(DatasetError) as info:
        UnpairedImageFolder(folder, crop=16)
    message = str(info.value)
    assert message.startswith("3 unreadable image(s)")
    for name in ("empty.png", "junk.jpg", "gif.png"):
        assert name in message
    assert len(UnpairedImageFolder(folder, crop=16, check_files=False)) == 6


def test_empty_or_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no images"):
        UnpairedImageFolder(tmp_path)
    with pytest.raises(DatasetError, match="not found"):
        UnpairedImageFolder(tmp_path / "nope")


def test_probe_size_follows_exif_orientation(tmp_path: Path) -> None:
    rgb = np.zeros((10, 16, 3), dtype=np.uint8)
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(rgb).save(tmp_path / "r.jpg", exif=exif.tobytes())
    assert probe_size(tmp_path / "r.jpg") == (16, 10)
    ds = UnpairedImageFolder(tmp_path, crop=None, flips=False)
    assert ds.sizes == [(16, 10)] and ds[0]["input"].shape == (3, 16, 10)


class TestSelection:
    """extra_roots, exclude and max_mean_luma (IRLE's dark-image set)."""

    @staticmethod
    def _flat(path: Path, level: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((16, 16, 3), level, dtype=np.uint8)).save(path)

    def test_luma_filter_exclude_and_extra_roots(self, tmp_path: Path) -> None:
        from lowlight.data.unpaired import mean_luma

        self._flat(tmp_path / "a" / "dark.png", 20)
        self._flat(tmp_path / "a" / "bright.png", 200)
        self._flat(tmp_path / "b" / "medium" / "00001.png", 10)
        self._flat(tmp_path / "b" / "medium" / "keep.png", 30)
        assert mean_luma(tmp_path / "a" / "dark.png") == pytest.approx(20 / 255, abs=1e-6)
        ds = UnpairedImageFolder(
            tmp_path / "a",
            crop=8,
            extra_roots=[tmp_path / "b"],
            exclude=["medium/00001.png"],
            max_mean_luma=0.25,
        )
        assert [p.name for p in ds.paths] == ["dark.png", "keep.png"]
        assert "mean luma < 0.25" in ds.describe() and "medium/00001.png" in ds.describe()

    def test_an_exclude_entry_that_matches_nothing_is_an_error(self, folder: Path) -> None:
        with pytest.raises(DatasetError, match="medium/typo.png"):
            UnpairedImageFolder(folder, exclude=["medium/typo.png"])

    def test_from_args_rejects_unknown_keys(self, folder: Path) -> None:
        with pytest.raises(ValueError, match="max_mean_luma"):
            UnpairedImageFolder.from_args(folder, {"luma": 0.2})
        ds = UnpairedImageFolder.from_args(folder, {"max_mean_luma": 1.0}, crop=8)
        assert len(ds) == 3
