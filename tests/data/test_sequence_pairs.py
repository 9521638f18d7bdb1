"""Real sequence pairs, exposure fusion, the mixture dataset and the synthetic hold-out."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lowlight.data.exposure_fusion import fusion_weights, mertens_fusion
from lowlight.data.mixture import MixtureDataset
from lowlight.data.sequence_pairs import PairOptions, SequencePairs
from lowlight.data.sequences import GroupingOptions
from lowlight.data.synthetic_pairs import SyntheticPairs
from lowlight.data.transforms import SampleKey
from lowlight.errors import ConfigError

SMALL = GroupingOptions(thumb=16, val_every=2)


class TestSequencePairs:
    def test_pairs_darker_aligned_frames_with_the_reference(self, sequence_collection) -> None:  # noqa: ANN001
        ds = SequencePairs(sequence_collection, PairOptions(split="train"), SMALL, crop=None)
        # scene A: reference 4.png (gain 0.7); 3.png is misaligned; 5.png is brighter
        assert [(p.frame, p.scene.reference) for p in ds.pairs] == [
            ("1.png", "4.png"),
            ("2.png", "4.png"),
        ]
        item = ds[0]
        assert item["stem"] == "scene1_1"
        assert item["input"].shape == item["target"].shape == (3, 96, 96)
        assert float(item["input"].mean()) < 0.6 * float(item["target"].mean())

    def test_brighter_and_identity_items(self, sequence_collection) -> None:  # noqa: ANN001
        options = PairOptions(split="train", max_ratio=0.8, brighter=True, identity=0.5)
        ds = SequencePairs(sequence_collection, options, SMALL, crop=None)
        assert [p.frame for p in ds.pairs] == ["1.png", "2.png", "5.png", None, None]
        identity = ds[4]
        torch.testing.assert_close(identity["input"], identity["target"])
        assert "identity" in ds.describe()

    def test_validation_split_holds_the_other_scene(self, sequence_collection) -> None:  # noqa: ANN001
        ds = SequencePairs(sequence_collection, PairOptions(split="val"), SMALL, crop=None)
        assert {p.scene.reference for p in ds.pairs} == {"8.png"}
        assert [p.frame for p in ds.pairs] == ["6.png", "7.png"]

    def test_crops_are_aligned_and_reproducible(self, sequence_collection) -> None:  # noqa: ANN001
        ds = SequencePairs(sequence_collection, PairOptions(), SMALL, crop=32, rot90=True)
        a, b = ds[SampleKey(0, 11)], ds[SampleKey(0, 11)]
        torch.testing.assert_close(a["input"], b["input"])
        inp, tgt = a["input"].flatten().numpy(), a["target"].flatten().numpy()
        assert np.corrcoef(inp, tgt)[0, 1] > 0.8  # the same content, another exposure

    def test_fusion_reference_is_cached(self, sequence_collection, tmp_path) -> None:  # noqa: ANN001
        ds = SequencePairs(sequence_collection, PairOptions(reference="fusion"), SMALL, crop=None)
        assert list((tmp_path / "cache" / "sequence-fusion").rglob("*.png"))
        target = ds[0]["target"]
        assert 0.2 < float(target.mean()) < 0.8

    def test_from_args_rejects_unknown_keys(self, sequence_collection) -> None:  # noqa: ANN001
        with pytest.raises(ConfigError, match="valid options"):
            SequencePairs.from_args(sequence_collection, {"ratio": 0.5})
        with pytest.raises(ConfigError, match="reference"):
            SequencePairs.from_args(sequence_collection, {"reference": "hdr"})

    def test_no_pair_is_an_error(self, sequence_collection) -> None:  # noqa: ANN001
        with pytest.raises(ConfigError, match="no sequence pair"):
            SequencePairs(sequence_collection, PairOptions(max_ratio=0.01), SMALL)


def test_synthetic_pairs_can_hold_out_validation_scenes(sequence_collection, monkeypatch) -> None:  # noqa: ANN001
    from lowlight.data import sequences

    real_load = sequences.load_scenes
    monkeypatch.setattr(sequences, "load_scenes", lambda root: real_load(root, SMALL))
    args = {"min_mean": 0.0, "max_mean": 1.0, "max_clipped": 1.0}
    every = SyntheticPairs.from_args(sequence_collection, args, crop=16)
    held = SyntheticPairs.from_args(
        sequence_collection, {**args, "holdout_sequences": True}, crop=16
    )
    assert len(every) == 10
    assert sorted(p.name for p in held.paths) == sorted(
        f"{i}.png" for i in (1, 2, 3, 4, 5, 10)
    )  # scene B (6-9) is the validation scene with val_every=2
    assert "4 held-out files excluded" in held.describe()
    with pytest.raises(ConfigError, match="holdout_sequences"):
        SyntheticPairs.from_args(sequence_collection, {"holdout_sequences": "yes"})


class TestExposureFusion:
    def test_weights_are_normalised(self) -> None:
        stack = torch.rand(3, 3, 16, 16)
        torch.testing.assert_close(fusion_weights(stack).sum(0), torch.ones(1, 16, 16))

    def test_fusing_one_exposure_returns_it(self) -> None:
        frame = np.random.default_rng(0).random((20, 28, 3)).astype(np.float32)
        np.testing.assert_allclose(mertens_fusion([frame, frame]), frame, atol=1e-4)

    def test_prefers_the_well_exposed_frame(self) -> None:
        rng = np.random.default_rng(1)
        good = np.clip(0.5 + 0.2 * rng.standard_normal((32, 32, 3)), 0, 1).astype(np.float32)
        dark = (good * 0.05).astype(np.float32)
        fused = mertens_fusion([dark, good])
        assert np.abs(fused - good).mean() < 0.25 * np.abs(dark - good).mean()

    def test_rejects_mismatched_frames(self) -> None:
        with pytest.raises(ValueError, match="one size"):
            mertens_fusion([np.zeros((4, 4, 3)), np.zeros((4, 5, 3))])


class _Numbers(torch.utils.data.Dataset):
    def __init__(self, name: str, n: int) -> None:
        self.name, self.n = name, n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, key):  # noqa: ANN001, ANN204
        index, seed = key if isinstance(key, tuple) else (key, None)
        return {"part": self.name, "index": index, "seed": seed}


class TestMixture:
    def test_shares_follow_the_weights(self) -> None:
        mix = MixtureDataset([_Numbers("a", 3), _Numbers("b", 100)], [1.0, 1.0])
        parts = [mix[i]["part"] for i in range(len(mix))]
        assert len(mix) == 103 and abs(parts.count("a") - parts.count("b")) <= 1
        assert {mix[i]["index"] for i in range(len(mix)) if mix[i]["part"] == "a"} == {0, 1, 2}

    def test_keys_keep_their_seed(self) -> None:
        mix = MixtureDataset([_Numbers("a", 2), _Numbers("b", 2)], [1.0, 3.0], length=8)
        assert mix[SampleKey(7, 42)] == {"part": "b", "index": 1, "seed": 42}
        assert mix.locate(0) == (0, 0) and mix.locate(2) == (1, 0)
        with pytest.raises(IndexError):
            mix.locate(8)

    def test_bad_weights(self) -> None:
        with pytest.raises(ConfigError):
            MixtureDataset([_Numbers("a", 2)], [0.0])
        with pytest.raises(ConfigError):
            MixtureDataset([_Numbers("a", 2)], [1.0, 1.0])


def test_unpaired_folder_can_hold_out_validation_scenes(sequence_collection, monkeypatch) -> None:  # noqa: ANN001
    from lowlight.data import sequences
    from lowlight.data.unpaired import UnpairedImageFolder

    real_load = sequences.load_scenes
    monkeypatch.setattr(sequences, "load_scenes", lambda root: real_load(root, SMALL))
    every = UnpairedImageFolder.from_args(sequence_collection, {}, crop=16)
    held = UnpairedImageFolder.from_args(sequence_collection, {"holdout_sequences": True}, crop=16)
    assert len(every) == 10
    assert sorted(p.name for p in held.paths) == sorted(f"{i}.png" for i in (1, 2, 3, 4, 5, 10))
    assert "SICE-seq val scenes held out" in held.describe()
    with pytest.raises(ValueError, match="holdout_sequences"):
        UnpairedImageFolder.from_args(sequence_collection, {"holdout_sequences": "yes"})
