"""Scene grouping, alignment, references, the split and the cache (lowlight.data.sequences)."""

from __future__ import annotations

import numpy as np
import pytest
from _sequences import scene_radiance, write_collection  # tests/data on sys.path

from lowlight.data import sequences
from lowlight.data.sequences import (
    FrameInfo,
    GroupingOptions,
    Scene,
    choose_reference,
    frame_similarity,
    load_scenes,
    phase_shift,
    rank_equalise,
    scene_split,
)
from lowlight.errors import ConfigError

SMALL = GroupingOptions(thumb=16, val_every=2)


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("LOWLIGHT_CACHE_DIR", str(tmp_path / "cache"))


class TestSimilarity:
    def test_invariant_to_a_tone_curve(self) -> None:
        a = scene_radiance(1)[..., 1]
        assert frame_similarity(a, a**0.5 * 0.9) == pytest.approx(1.0, abs=1e-6)

    def test_low_for_unrelated_frames(self) -> None:
        a, b = scene_radiance(1)[..., 1], scene_radiance(2)[..., 1]
        assert frame_similarity(a, b) < 0.5

    def test_nan_when_saturated(self) -> None:
        assert np.isnan(frame_similarity(np.ones((8, 8)), np.ones((8, 8))))


class TestPhaseShift:
    def test_recovers_an_integer_shift_across_exposures(self) -> None:
        a = scene_radiance(3)[..., 0]
        b = np.roll(np.roll(a, -2, axis=0), 3, axis=1) ** 0.4  # another exposure, shifted
        dy, dx, peak = phase_shift(rank_equalise(a), rank_equalise(b))
        assert (dy, dx) == pytest.approx((2.0, -3.0), abs=0.2)
        assert peak > 0.3

    def test_unrelated_images_have_a_weak_peak(self) -> None:
        rng = np.random.default_rng(0)
        _, _, peak = phase_shift(rng.random((64, 64)), rng.random((64, 64)))
        assert peak < 0.1

    def test_shapes_must_match(self) -> None:
        with pytest.raises(ValueError, match="one size"):
            phase_shift(np.zeros((8, 8)), np.zeros((8, 9)))


def test_reference_is_the_best_exposed_frame() -> None:
    frames = [
        FrameInfo("a", 0.1, 0.2, 0.0),
        FrameInfo("b", 0.45, 0.0, 0.01),
        FrameInfo("c", 0.8, 0, 0.3),
    ]
    assert choose_reference(frames).name == "b"


def test_split_takes_every_nth_scene() -> None:
    scenes = [Scene(i, [f"{i}.png"], f"{i}.png") for i in range(10)]
    assert [s.index for s in scene_split(scenes, "val", 5)] == [4, 9]
    assert len(scene_split(scenes, "train", 5)) == 8
    assert len(scene_split(scenes, "all", 5)) == 10
    with pytest.raises(ConfigError, match="split"):
        scene_split(scenes, "test", 5)


def test_options_are_checked() -> None:
    with pytest.raises(ConfigError):
        GroupingOptions(val_every=1)


class TestLoadScenes:
    def test_groups_aligns_and_splits(self, tmp_path) -> None:  # noqa: ANN001
        scene_set = load_scenes(write_collection(tmp_path / "seq"), SMALL)
        assert [s.frames for s in scene_set.scenes] == [
            ["1.png", "2.png", "3.png", "4.png", "5.png"],
            ["6.png", "7.png", "8.png", "9.png"],
        ]
        assert scene_set.singletons == ["10.png"]
        first = scene_set.scenes[0]
        assert first.reference == "4.png"  # gain 0.7: mean luma nearest mid-grey
        assert set(first.dropped) == {"3.png"} and "shifted" in first.dropped["3.png"]
        assert first.aligned == ["1.png", "2.png", "4.png", "5.png"]
        assert [s.index for s in scene_set.split("val")] == [1]
        assert scene_set.frames_of("val") == {"6.png", "7.png", "8.png", "9.png"}

    def test_result_is_cached_and_reused(self, tmp_path, monkeypatch) -> None:  # noqa: ANN001
        root = write_collection(tmp_path / "seq")
        first = load_scenes(root, SMALL)
        assert list((tmp_path / "cache").glob("sequences-*.json"))

        def fail(*_: object) -> None:
            raise AssertionError("the cache was not used")

        monkeypatch.setattr(sequences, "_build_scene_set", fail)
        assert load_scenes(root, SMALL).to_dict() == first.to_dict()

    def test_a_changed_folder_invalidates_the_cache(self, tmp_path) -> None:  # noqa: ANN001
        root = write_collection(tmp_path / "seq")
        load_scenes(root, SMALL)
        (root / "10.png").unlink()
        assert load_scenes(root, SMALL).singletons == []

    def test_empty_or_missing_folder_is_an_error(self, tmp_path) -> None:  # noqa: ANN001
        with pytest.raises(ConfigError, match="not found"):
            load_scenes(tmp_path / "missing")
        (tmp_path / "empty").mkdir()
        with pytest.raises(ConfigError, match="no images"):
            load_scenes(tmp_path / "empty")
