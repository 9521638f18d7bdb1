"""``lowlight eval`` through click's test runner."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image
from torch import Tensor, nn

from lowlight.cli.main import cli
from lowlight.errors import LowlightError
from lowlight.models.base import Context, EnhancementModel
from lowlight.registry import MODELS

TEST_MODEL = "evaltest-double"


class _Double(EnhancementModel):
    """Doubles the input (a stand-in for a brightening model)."""

    tileable = False

    def enhance_tensor(self, x: Tensor, context: Context | None = None) -> Tensor:
        return x * 2


@pytest.fixture
def double_model() -> Iterator[str]:
    MODELS.add(TEST_MODEL, _Double, kind="classical", default_weights=None)
    yield TEST_MODEL
    MODELS.remove(TEST_MODEL)


class _Scale(EnhancementModel):
    """A learned global gain (initialised to 1) with no shipped weights."""

    def __init__(self) -> None:
        super().__init__()
        self.gain = nn.Parameter(torch.ones(1))

    def enhance_tensor(self, x: Tensor, context: Context | None = None) -> Tensor:
        return x * self.gain


@pytest.fixture
def learned_model() -> Iterator[str]:
    MODELS.add("evaltest-scale", _Scale, kind="supervised", default_weights=None)
    yield "evaltest-scale"
    MODELS.remove("evaltest-scale")


def _write(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array.astype(np.uint8), "RGB").save(path)


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """A LOL-style ``low/ high/`` folder with three 32x24 pairs."""
    rng = np.random.default_rng(3)
    root = tmp_path / "tiny"
    for stem in ("1", "2", "10"):
        high = rng.integers(40, 250, size=(24, 32, 3))
        _write(root / "high" / f"{stem}.png", high)
        _write(root / "low" / f"{stem}.png", (high * 0.2).round())
    return root


def _invoke(*args: str) -> object:
    return CliRunner().invoke(cli, ["eval", *args])


def _direct_psnr(a: Path, b: Path) -> float:
    x = np.asarray(Image.open(a), dtype=np.float64)
    y = np.asarray(Image.open(b), dtype=np.float64)
    return 10 * math.log10(255.0**2 / np.mean((x - y) ** 2))


def test_model_on_lol_layout(dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = _invoke(str(dataset), "--model", "identity", "--out", str(out), "--device", "cpu")
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    run = summary["runs"][0]
    expected = np.mean(
        [
            _direct_psnr(dataset / "low" / f"{s}.png", dataset / "high" / f"{s}.png")
            for s in ("1", "2", "10")
        ]
    )
    assert run["means"]["psnr"] == pytest.approx(expected, abs=1e-9)
    assert run["count"] == 3 and run["model"] == "identity" and run["dataset"] == "tiny"
    header = next(line for line in result.output.splitlines() if line.startswith("model"))
    assert header.split()[3:6] == ["PSNR", "PSNR", "gt-mean"]  # GT-mean beside the plain column
    assert f"{expected:.2f}" in result.output
    with open(out / "per_image.csv", newline="") as fh:
        assert [r["stem"] for r in csv.DictReader(fh)] == ["1", "2", "10"]
    assert (out / "summary.md").read_text().startswith("# Evaluation: tiny")


def test_default_out_dir(dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = _invoke(str(dataset), "-m", "identity", "--metrics", "mae", "-q")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "outputs" / "eval" / "tiny-identity" / "summary.json").is_file()


def test_several_models_one_table(dataset: Path, tmp_path: Path, double_model: str) -> None:
    out = tmp_path / "cmp"
    result = _invoke(
        str(dataset),
        "--model",
        f"identity,{double_model}",
        "--metrics",
        "psnr",
        "--out",
        str(out),
        "--save-dir",
        str(tmp_path / "saved"),
        "-q",
    )
    assert result.exit_code == 0, result.output
    labels = [r["label"] for r in json.loads((out / "summary.json").read_text())["runs"]]
    assert labels == ["identity", double_model]
    rows = [line.split()[0] for line in result.output.splitlines()]
    assert "identity" in rows and double_model in rows
    saved = np.asarray(Image.open(tmp_path / "saved" / double_model / "2.png"), dtype=np.int64)
    low = np.asarray(Image.open(dataset / "low" / "2.png"), dtype=np.int64)
    np.testing.assert_array_equal(saved, np.minimum(low * 2, 255))


def test_input_and_target_dirs(dataset: Path, tmp_path: Path) -> None:
    result = _invoke(
        "--input-dir",
        str(dataset / "low"),
        "--target-dir",
        str(dataset / "high"),
        "--model",
        "identity",
        "--metrics",
        "ssim",
        "--out",
        str(tmp_path / "o"),
    )
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "o" / "summary.json").read_text())["runs"][0]["count"] == 3


def test_pred_vs_gt(dataset: Path, tmp_path: Path) -> None:
    result = _invoke(
        "--pred", str(dataset / "low"), "--gt", str(dataset / "high"), "--out", str(tmp_path / "p")
    )
    assert result.exit_code == 0, result.output
    run = json.loads((tmp_path / "p" / "summary.json").read_text())["runs"][0]
    assert run["mode"] == "predictions" and run["count"] == 3
    assert run["means"]["psnr"] == pytest.approx(
        np.mean(
            [
                _direct_psnr(dataset / "low" / f"{s}.png", dataset / "high" / f"{s}.png")
                for s in ("1", "2", "10")
            ]
        )
    )


def test_corrupt_image_reported_rest_scored_nonzero_exit(dataset: Path, tmp_path: Path) -> None:
    (dataset / "low" / "2.png").write_bytes(b"\x89PNG broken")
    out = tmp_path / "r"
    result = _invoke(str(dataset), "--model", "identity", "--metrics", "psnr", "--out", str(out))
    assert result.exit_code == 1
    run = json.loads((out / "summary.json").read_text())["runs"][0]
    assert run["count"] == 2 and run["failed"] == 1 and run["failures"][0]["stem"] == "2"
    assert "failed: identity / 2" in result.output


def test_missing_partner_fails_before_work(dataset: Path, tmp_path: Path) -> None:
    (dataset / "high" / "10.png").unlink()
    result = _invoke(str(dataset), "--model", "identity", "--out", str(tmp_path / "x"))
    assert isinstance(result.exception, LowlightError) and "10" in str(result.exception)
    assert not (tmp_path / "x").exists()


def test_lpips_without_weights_fails_before_work(
    dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOWLIGHT_LPIPS_ALEXNET", str(tmp_path / "absent_alexnet.pth"))
    result = _invoke(
        str(dataset), "--model", "identity", "--metrics", "psnr,lpips", "--out", str(tmp_path / "x")
    )
    assert isinstance(result.exception, LowlightError) and "LPIPS" in str(result.exception)
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--pred", "a"], "--pred and --gt go together"),
        (["somewhere"], "--model is required"),
        ([], "give DATASET_DIR"),
        (["--pred", "a", "--gt", "b", "--model", "identity"], "take no"),
        (["d", "--input-dir", "a", "--target-dir", "b", "-m", "identity"], "not both"),
        (["--pred", "a", "--gt", "b", "--weights", "w.pt"], "need --model"),
        (["d", "-m", "identity,gamma", "--weights", "w.pt"], "one model"),
    ],
)
def test_usage_errors(args: list[str], message: str) -> None:
    result = _invoke(*args)
    assert result.exit_code == 2 and message in result.output


def test_unknown_metric_and_model(dataset: Path) -> None:
    result = _invoke(str(dataset), "--model", "identity", "--metrics", "psnr,bogus")
    assert isinstance(result.exception, LowlightError) and "bogus" in str(result.exception)
    result = _invoke(str(dataset), "--model", "no-such-model")
    assert isinstance(result.exception, LowlightError) and "no-such-model" in str(result.exception)


def test_no_reference_folder(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    _write(tmp_path / "imgs" / "a.png", rng.integers(0, 255, size=(200, 200, 3)))
    result = _invoke(
        str(tmp_path / "imgs"),
        "--no-reference",
        "--model",
        "identity",
        "--out",
        str(tmp_path / "n"),
    )
    assert result.exit_code == 0, result.output
    run = json.loads((tmp_path / "n" / "summary.json").read_text())["runs"][0]
    assert run["mode"] == "no-reference" and math.isfinite(run["means"]["niqe"])
    result = _invoke(str(tmp_path / "imgs"), "--no-reference", "--metrics", "psnr")
    assert isinstance(result.exception, LowlightError) and "reference" in str(result.exception)


def test_learned_model_without_weights_warns(
    dataset: Path, tmp_path: Path, learned_model: str
) -> None:
    out = tmp_path / "w"
    result = _invoke(str(dataset), "-m", learned_model, "--metrics", "mae", "--out", str(out), "-q")
    assert result.exit_code == 0, result.output
    assert "ships no default weights" in result.output
    run = json.loads((out / "summary.json").read_text())["runs"][0]
    assert run["weights"] == "none shipped (random init)"


@pytest.mark.data
@pytest.mark.slow  # ~30 s on 2 busy cores: SSIM of 15 600x400 pairs, twice (plain and GT-mean)
def test_lol_eval15_identity_psnr(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "lol"
    result = _invoke(
        str(shared_data / "lol_v1" / "eval15"), "--model", "identity", "--out", str(out), "-q"
    )
    assert result.exit_code == 0, result.output
    run = json.loads((out / "summary.json").read_text())["runs"][0]
    assert run["count"] == 15
    assert run["means"]["psnr"] == pytest.approx(7.77, abs=0.01)
