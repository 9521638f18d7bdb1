"""Source selection, the on-the-fly synthetic pair dataset and the synthesizer's config API."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lowlight.data.synthesis import DarkeningParams, LowLightSynthesizer
from lowlight.data.synthetic_pairs import (
    ExposureStats,
    SourceSelection,
    SyntheticPairs,
    exposure_stats,
    list_sources,
    quantize,
    resize_long_side,
    select_sources,
    source_name,
)
from lowlight.data.transforms import SampleKey
from lowlight.data.unpaired import DatasetError
from lowlight.errors import ConfigError


def _textured(level: float, shape: tuple[int, int] = (40, 56), seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    base = level + 0.08 * np.sin(xx / 5.0)[..., None] * np.array([1.0, 0.7, 0.4])
    base = base + 0.04 * np.cos(yy / 4.0)[..., None]
    return np.clip(base + rng.normal(0, 0.01, (*shape, 3)), 0, 1)


def _save(path: Path, rgb: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray((np.clip(rgb, 0, 1) * 255).round().astype(np.uint8)).save(path)
    return path


@pytest.fixture
def photo_dir(tmp_path: Path) -> Path:
    """Two well-exposed photos (one in a sub-folder), one dark, one bright, one half crushed."""
    root = tmp_path / "photos"
    _save(root / "good.png", _textured(0.45))
    _save(root / "sub" / "good2.png", _textured(0.5, seed=1))
    _save(root / "dark.png", _textured(0.08))
    _save(root / "bright.png", _textured(0.9))
    crushed = _textured(0.55)
    crushed[:, :20] = 0.0
    _save(root / "crushed.png", crushed)
    return root


class TestExposureStats:
    def test_hand_computed(self):
        rgb = np.zeros((2, 2, 3), dtype=np.float32)
        rgb[0, 0] = 1.0  # blown
        rgb[0, 1] = [0.5, 0.5, 0.5]
        rgb[1, 0] = [0.01, 0.0, 0.015]  # crushed (brightest channel <= 0.02)
        rgb[1, 1] = [0.0, 0.0, 0.5]
        stats = exposure_stats(rgb)
        luma = (1.0 + 0.5 + (0.299 * 0.01 + 0.114 * 0.015) + 0.114 * 0.5) / 4
        assert stats.mean_luma == pytest.approx(luma, abs=1e-6)
        assert stats.dark_clipped == pytest.approx(0.25)
        assert stats.bright_clipped == pytest.approx(0.25)

    def test_rejects_non_rgb(self):
        with pytest.raises(ValueError):
            exposure_stats(np.zeros((4, 4)))


class TestSourceSelection:
    @pytest.mark.parametrize(
        "stats,reason",
        [
            (ExposureStats(0.45, 0.0, 0.0), None),
            (ExposureStats(0.1, 0.0, 0.0), "too_dark"),
            (ExposureStats(0.8, 0.0, 0.0), "too_bright"),
            (ExposureStats(0.45, 0.1, 0.0), "clipped_dark"),
            (ExposureStats(0.45, 0.0, 0.03), "clipped_bright"),
        ],
    )
    def test_reasons(self, stats, reason):
        assert SourceSelection().reject_reason(stats) == reason

    @pytest.mark.parametrize(
        "kwargs",
        [{"min_mean": 0.8, "max_mean": 0.2}, {"max_clipped": 1.5}, {"dark_level": 0.99}],
    )
    def test_invalid(self, kwargs):
        with pytest.raises(ConfigError):
            SourceSelection(**kwargs)

    def test_from_dict_lists_valid_keys(self):
        assert SourceSelection.from_dict({"min_mean": 0.2}).min_mean == 0.2
        with pytest.raises(ConfigError, match="valid options"):
            SourceSelection.from_dict({"mean": 0.2})

    def test_select_sources_in_order(self, photo_dir):
        listed = list_sources(photo_dir)
        assert [name for _, name in listed] == ["bright", "crushed", "dark", "good", "sub__good2"]
        report = select_sources(listed, SourceSelection())
        assert [v.name for v in report.selected] == ["good", "sub__good2"]
        counts = report.counts()
        assert counts["examined"] == 5 and counts["selected"] == 2
        assert counts["rejected_by"]["too_dark"] == 1
        assert counts["rejected_by"]["too_bright"] == 1
        assert counts["rejected_by"]["clipped_dark"] == 1
        assert len(select_sources(listed, SourceSelection(), max_selected=1).selected) == 1
        assert len(select_sources(listed, None).selected) == 5

    def test_name_clash(self, tmp_path):
        _save(tmp_path / "a.png", _textured(0.4))
        Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "a.jpg")
        with pytest.raises(DatasetError, match="clash"):
            list_sources(tmp_path)

    def test_source_name(self):
        assert source_name(Path("a/b/img.jpg")) == "a__b__img"
        assert source_name(Path("img.jpg")) == "img"


class TestHelpers:
    def test_resize_long_side(self):
        rgb = np.random.default_rng(0).random((30, 60, 3)).astype(np.float32)
        out = resize_long_side(rgb, 20)
        assert out.shape == (10, 20, 3)
        assert out.min() >= 0 and out.max() <= 1
        assert resize_long_side(rgb, 60) is rgb

    def test_quantize(self):
        x = np.array([0.0, 0.1, 0.5, 1.0], dtype=np.float32)
        q = quantize(x, 8)
        assert np.allclose(q * 255, np.round(q * 255))
        assert np.abs(q - x).max() <= 0.5 / 255 + 1e-7
        assert quantize(x, 0) is x


class TestSynthesizerConfig:
    def test_from_dict_round_trip(self):
        synth = LowLightSynthesizer.from_dict({"exposure_range": [0.05, 0.1], "adc_bits": 12})
        assert synth.exposure_range == (0.05, 0.1)
        assert LowLightSynthesizer.from_dict(synth.to_dict()) == synth

    @pytest.mark.parametrize(
        "options",
        [
            {"exposure": [0.1, 0.2]},
            {"exposure_range": [0.3, 0.1]},
            {"exposure_range": [0.0, 0.1]},
            {"shot_range": [0.0, 0.01]},
            {"adc_bits": 20},
            {"colour_gain_range": [1.0]},
        ],
    )
    def test_invalid(self, options):
        with pytest.raises(ConfigError):
            LowLightSynthesizer.from_dict(options)

    def test_without_noise(self):
        synth = LowLightSynthesizer().without_noise()
        assert not synth.noisy and synth.shot_range == (0.0, 0.0)
        params = synth.sample(np.random.default_rng(0))
        assert params.shot == 0.0 and params.read == 0.0
        flat = np.full((16, 16, 3), 0.5, dtype=np.float32)
        dark = synth.apply(flat, params, np.random.default_rng(1))
        assert np.ptp(dark.reshape(-1, 3), axis=0).max() == 0.0  # each channel flat: no noise
        assert set(params.to_dict()) == {f for f in DarkeningParams.__dataclass_fields__}


class TestSyntheticPairs:
    def test_items(self, photo_dir):
        ds = SyntheticPairs(photo_dir, crop=24)
        assert len(ds) == 2 and ds.stems == ["good", "sub__good2"]
        item = ds[SampleKey(0, 7)]
        assert item["input"].shape == item["target"].shape == (3, 24, 24)
        assert item["stem"] == "good"
        assert item["input"].mean() < item["target"].mean()
        levels = item["input"] * 255
        assert np.allclose(levels, levels.round(), atol=1e-4)  # 8-bit like a saved PNG
        assert "2 of 5 sources" in ds.describe()

    def test_seeded_per_sample(self, photo_dir):
        ds = SyntheticPairs(photo_dir, crop=24)
        a, b, c = ds[SampleKey(1, 3)], ds[SampleKey(1, 3)], ds[SampleKey(1, 4)]
        assert np.array_equal(a["input"], b["input"]) and np.array_equal(a["target"], b["target"])
        assert not np.array_equal(a["input"], c["input"])

    def test_noise_switch(self, tmp_path):
        _save(tmp_path / "flat.png", np.full((32, 32, 3), 0.5))
        quiet = SyntheticPairs(tmp_path, crop=16, noise=False, output_bits=0)
        noisy = SyntheticPairs(tmp_path, crop=16, output_bits=0)
        flat = quiet[SampleKey(0, 0)]["input"].flatten(1)
        assert (flat.amax(dim=1) == flat.amin(dim=1)).all()
        assert (noisy[SampleKey(0, 0)]["input"].std(dim=(1, 2)) > 0).all()

    def test_from_args(self, photo_dir):
        ds = SyntheticPairs.from_args(
            photo_dir,
            {"noise": False, "exposure_range": [0.1, 0.1], "min_mean": 0.05, "max_clipped": 0.5},
            crop=16,
            max_images=3,
        )
        assert len(ds) == 3
        assert not ds.synthesizer.noisy and ds.synthesizer.exposure_range == (0.1, 0.1)
        with pytest.raises(ConfigError, match="valid options"):
            SyntheticPairs.from_args(photo_dir, {"nois": False})
        with pytest.raises(ConfigError):
            SyntheticPairs.from_args(photo_dir, {"noise": "no"})

    def test_select_false_uses_everything(self, photo_dir):
        assert len(SyntheticPairs(photo_dir, crop=16, select=False)) == 5

    def test_errors(self, tmp_path, photo_dir):
        with pytest.raises(DatasetError, match="not found"):
            SyntheticPairs(tmp_path / "missing")
        dark_only = tmp_path / "dark"
        _save(dark_only / "d.png", _textured(0.05))
        with pytest.raises(DatasetError, match="no well-exposed"):
            SyntheticPairs(dark_only)
        (photo_dir / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
        with pytest.raises(DatasetError, match="unreadable"):
            SyntheticPairs(photo_dir)

    def test_recipe_kind_synthetic(self, photo_dir):
        from lowlight.train.config import DatasetConfig, parse_config
        from lowlight.train.data import build_train_dataset

        cfg = DatasetConfig(
            kind="synthetic", root=str(photo_dir), crop=16, args={"noise": False}, batch_size=2
        )
        ds = build_train_dataset(cfg)
        assert isinstance(ds, SyntheticPairs) and not ds.synthesizer.noisy
        recipe = {
            "name": "x",
            "model": {"name": "identity"},
            "objective": {"name": "supervised"},
            "data": {"train": {"kind": "synthetic", "root": "r", "args": {"noise": False}}},
        }
        assert parse_config(recipe).data.train.args == {"noise": False}
        recipe["data"]["train"] = {"kind": "paired", "root": "r", "args": {"noise": False}}
        with pytest.raises(ConfigError, match="synthetic"):
            parse_config(recipe)
        recipe["data"]["train"] = {"kind": "synthetic", "input_dir": "a", "target_dir": "b"}
        with pytest.raises(ConfigError):
            parse_config(recipe)


@pytest.mark.data
def test_sice_selection(shared_data):
    ds = SyntheticPairs(shared_data / "sice_part1", crop=64, max_images=3)
    assert len(ds) == 3
    item = ds[SampleKey(0, 0)]
    assert item["input"].shape == (3, 64, 64)
    assert 0.3 <= ds.report.verdicts[-1].stats.mean_luma <= 0.7
