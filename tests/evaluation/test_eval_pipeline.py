"""The evaluation pipeline on a tiny synthetic dataset: model, predictions and no-reference modes."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from lowlight.api import load
from lowlight.data.pairs import find_pairs
from lowlight.evaluation import (
    EvaluationError,
    enhance_batch,
    evaluate_model,
    evaluate_no_reference,
    evaluate_predictions,
    split_metrics,
)
from lowlight.models.base import Context, EnhancementModel

STEMS = ("1", "2", "10")  # the fixture's stems, in natural order


def _psnr_direct(a: Path, b: Path) -> float:
    x = np.asarray(Image.open(a), dtype=np.float64)
    y = np.asarray(Image.open(b), dtype=np.float64)
    return 10 * math.log10(255.0**2 / np.mean((x - y) ** 2))


@pytest.fixture
def identity():
    return load("identity", device="cpu")


class TestEvaluateModel:
    def test_identity_psnr_equals_direct_computation(self, lol_like: Path, identity) -> None:
        pairs = find_pairs(lol_like / "low", lol_like / "high")
        run = evaluate_model(identity, pairs, model_name="identity", dataset="tinylol")
        assert [r.stem for r in run.results] == list(STEMS)
        assert not run.failures
        for r in run.results:
            assert r.values["psnr"] == pytest.approx(
                _psnr_direct(Path(r.input), Path(r.target)), abs=1e-9
            )
            assert set(r.values) == {
                "psnr",
                "psnr_gtmean",
                "ssim",
                "ssim_gtmean",
                "mae",
                "mae_gtmean",
            }
            assert r.seconds is not None and r.seconds >= 0
        expected = np.mean(
            [
                _psnr_direct(lol_like / "low" / f"{s}.png", lol_like / "high" / f"{s}.png")
                for s in STEMS
            ]
        )
        assert run.means()["psnr"] == pytest.approx(expected, abs=1e-9)
        assert run.columns == ["psnr", "psnr_gtmean", "ssim", "ssim_gtmean", "mae", "mae_gtmean"]
        # GT-mean brightens the dark input towards the target, so it scores higher
        assert run.means()["psnr_gtmean"] > run.means()["psnr"]

    def test_summary_records_the_setting(self, lol_like: Path, identity) -> None:
        run = evaluate_model(
            identity,
            find_pairs(lol_like / "low", lol_like / "high"),
            metrics=["psnr"],
            model_name="identity",
            weights="default",
            dataset="tinylol",
        )
        summary = run.summary()
        assert summary["count"] == 3 and summary["failed"] == 0
        assert (
            summary["model"] == "identity"
            and summary["device"] == "cpu"
            and summary["dataset"] == "tinylol"
        )
        assert "psnr" in summary["protocol"] and "whole image" in summary["protocol"]["inference"]
        assert summary["lowlight_version"] and summary["created"]

    def test_bad_image_is_reported_and_the_rest_scored(self, lol_like: Path, identity) -> None:
        (lol_like / "low" / "2.png").write_bytes(b"this is not a png")
        run = evaluate_model(
            identity, find_pairs(lol_like / "low", lol_like / "high"), metrics=["psnr"]
        )
        assert [r.stem for r in run.failures] == ["2"]
        assert run.failures[0].error and run.failures[0].values == {}
        assert len(run.scored) == 2 and math.isfinite(run.means()["psnr"])

    def test_size_mismatch_is_a_per_image_error(self, lol_like: Path, identity, write_rgb) -> None:
        write_rgb(lol_like / "high" / "10.png", np.zeros((20, 30, 3)))
        run = evaluate_model(
            identity, find_pairs(lol_like / "low", lol_like / "high"), metrics=["mae"]
        )
        assert [r.stem for r in run.failures] == ["10"]
        assert "32x24" in run.failures[0].error and "30x20" in run.failures[0].error

    def test_saves_8bit_outputs(self, lol_like: Path, identity, tmp_path: Path) -> None:
        evaluate_model(
            identity,
            find_pairs(lol_like / "low", lol_like / "high"),
            metrics=["psnr"],
            save_dir=tmp_path / "saved",
        )
        for stem in STEMS:
            saved = np.asarray(Image.open(tmp_path / "saved" / f"{stem}.png"))
            assert saved.dtype == np.uint8
            np.testing.assert_array_equal(
                saved, np.asarray(Image.open(lol_like / "low" / f"{stem}.png"))
            )

    def test_runs_in_eval_mode_and_restores_training(self, lol_like: Path) -> None:
        class Probe(EnhancementModel):
            modes: list[bool] = []

            def enhance_tensor(
                self, x: torch.Tensor, context: Context | None = None
            ) -> torch.Tensor:
                self.modes.append(self.training)
                return x

        model = Probe().train()
        evaluate_model(model, find_pairs(lol_like / "low", lol_like / "high"), metrics=["mae"])
        assert model.modes == [False, False, False] and model.training

    def test_progress_callback(self, lol_like: Path, identity) -> None:
        seen = []
        evaluate_model(
            identity,
            find_pairs(lol_like / "low", lol_like / "high"),
            metrics=["mae"],
            progress=seen.append,
        )
        assert [r.stem for r in seen] == list(STEMS)


def test_tiled_enhancement_matches_whole_for_a_pointwise_model() -> None:
    class Gain(EnhancementModel):
        def enhance_tensor(self, x: torch.Tensor, context: Context | None = None) -> torch.Tensor:
            return x * 1.5

    x = torch.rand(1, 3, 40, 70)
    whole = enhance_batch(Gain(), x)
    assert torch.allclose(enhance_batch(Gain(), x, tile=32), whole, atol=1e-6)


class TestEvaluatePredictions:
    def test_pred_vs_gt(self, lol_like: Path) -> None:
        run = evaluate_predictions(lol_like / "low", lol_like / "high", metrics=["psnr", "ssim"])
        assert run.settings["mode"] == "predictions"
        for r in run.results:
            assert r.seconds is None
            assert r.values["psnr"] == pytest.approx(
                _psnr_direct(Path(r.input), Path(r.target)), abs=1e-9
            )

    def test_identical_images_give_infinite_psnr(self, lol_like: Path) -> None:
        run = evaluate_predictions(lol_like / "high", lol_like / "high", metrics=["psnr", "ssim"])
        assert math.isinf(run.means()["psnr"]) and run.means()["ssim"] == pytest.approx(1.0)

    def test_size_mismatch_names_the_image(self, lol_like: Path, write_rgb) -> None:
        write_rgb(lol_like / "low" / "1.png", np.zeros((24, 31, 3)))
        run = evaluate_predictions(lol_like / "low", lol_like / "high", metrics=["psnr"])
        assert [r.stem for r in run.failures] == ["1"]
        assert "size mismatch" in run.failures[0].error and "1.png" in run.failures[0].error


class TestNoReference:
    def test_scores_folder_recursively(self, tmp_path: Path, write_rgb) -> None:
        rng = np.random.default_rng(0)
        for rel in ("a.png", "sub/b.png"):
            write_rgb(tmp_path / "imgs" / rel, rng.integers(0, 255, size=(200, 200, 3)))
        run = evaluate_no_reference(tmp_path / "imgs", metrics=["niqe"])
        assert [r.stem for r in run.results] == ["a", "sub/b"]
        assert all(math.isfinite(r.values["niqe"]) for r in run.results)
        assert run.columns == ["niqe"]

    def test_with_model_saves_outputs(self, tmp_path: Path, identity, write_rgb) -> None:
        write_rgb(tmp_path / "imgs" / "sub" / "b.png", np.full((200, 200, 3), 40))
        evaluate_no_reference(
            tmp_path / "imgs", model=identity, metrics=["niqe"], save_dir=tmp_path / "out"
        )
        assert (tmp_path / "out" / "sub" / "b.png").is_file()


class TestMetricNames:
    def test_split(self) -> None:
        assert split_metrics(["psnr", "niqe", " SSIM "], reference=True) == (
            ["psnr", "ssim"],
            ["niqe"],
        )

    @pytest.mark.parametrize(
        ("metrics", "reference", "match"),
        [
            (["psnr", "nope"], True, "unknown metric"),
            (["psnr", "psnr"], True, "twice"),
            ([], True, "no metrics"),
            (["psnr"], False, "need"),
        ],
    )
    def test_rejects(self, metrics: list[str], reference: bool, match: str) -> None:
        with pytest.raises(EvaluationError, match=match):
            split_metrics(metrics, reference=reference)
