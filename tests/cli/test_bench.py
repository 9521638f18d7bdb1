"""``lowlight bench`` through click's test runner."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from torch import Tensor, nn

from lowlight.cli.main import cli
from lowlight.errors import LowlightError
from lowlight.models.base import Context, EnhancementModel
from lowlight.registry import MODELS

TEST_MODEL = "benchtest-conv"


class _TinyConv(EnhancementModel):
    """One 3x3 conv 3 -> ``channels`` and a 1x1 conv back to 3."""

    def __init__(self, channels: int = 4) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, 3, 1)

    def enhance_tensor(self, x: Tensor, context: Context | None = None) -> Tensor:
        return torch.sigmoid(self.conv2(torch.relu(self.conv1(x))))


@pytest.fixture
def tiny_model() -> Iterator[str]:
    threads = torch.get_num_threads()
    MODELS.add(TEST_MODEL, _TinyConv, kind="supervised", default_weights=None)
    yield TEST_MODEL
    MODELS.remove(TEST_MODEL)
    torch.set_num_threads(threads)


def _params(c: int) -> int:
    return (3 * c * 9 + c) + (c * 3 + 3)


def test_bench_cpu_small(tiny_model: str, tmp_path: Path) -> None:
    path = tmp_path / "bench.json"
    result = CliRunner().invoke(
        cli,
        [
            "bench",
            "--model",
            tiny_model,
            "--random-init",
            "--size",
            "32x24",
            "--size",
            "16x16",
            "--runs",
            "3",
            "--warmup",
            "1",
            "--device",
            "cpu",
            "--threads",
            "1",
            "--json",
            str(path),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(path.read_text())
    assert data["params"] == {"total": _params(4), "trainable": _params(4)}
    assert (
        data["threads"] == 1
        and data["device"] == "cpu"
        and data["torch_version"] == torch.__version__
    )
    first = data["results"][0]
    assert (first["width"], first["height"], first["batch"]) == (32, 24, 1)
    assert first["macs"] == 32 * 24 * (4 * 3 * 9 + 3 * 4)
    assert first["latency"]["runs"] == 3 and first["latency"]["median_ms"] > 0
    assert first["memory"]["peak_bytes"] > 0
    assert "FlopCounterMode" in data["mac_method"]
    assert "32x24" in result.output and "16x16" in result.output and "median ms" in result.output


def test_model_arg_overrides_constructor(tiny_model: str) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "bench",
            "-m",
            tiny_model,
            "--model-arg",
            "channels=8",
            "--size",
            "8x8",
            "--runs",
            "1",
            "--warmup",
            "0",
            "--device",
            "cpu",
        ],
    )
    assert result.exit_code == 0, result.output
    assert f"{_params(8):,} total" in result.output and "{'channels': 8}" in result.output


def test_batch(tiny_model: str, tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    result = CliRunner().invoke(
        cli,
        [
            "bench",
            "-m",
            tiny_model,
            "--batch",
            "2",
            "--size",
            "8x8",
            "--runs",
            "1",
            "--warmup",
            "0",
            "--device",
            "cpu",
            "--json",
            str(path),
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(path.read_text())["results"][0]["batch"] == 2


def test_bad_size_and_conflicting_weights(tiny_model: str) -> None:
    result = CliRunner().invoke(
        cli, ["bench", "-m", tiny_model, "--size", "big", "--device", "cpu"]
    )
    assert isinstance(result.exception, LowlightError) and "WIDTHxHEIGHT" in str(result.exception)
    result = CliRunner().invoke(
        cli, ["bench", "-m", tiny_model, "--random-init", "--weights", "x.pt"]
    )
    assert result.exit_code == 2 and "exclude" in result.output


def test_bench_reports_the_photo_cost(tiny_model: str, tmp_path: Path) -> None:
    path = tmp_path / "bench.json"
    args = ["bench", "--model", tiny_model, "--random-init", "--size", "64x48", "--runs", "1"]
    args += ["--warmup", "0", "--device", "cpu", "--photo-runs", "1", "--json", str(path)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "decode ms" in result.output and "forward ms" in result.output
    photo = json.loads(path.read_text())["photo"]
    assert len(photo) == 1 and photo[0]["width"] == 64 and photo[0]["speed"] == "full"
    assert photo[0]["total_ms"] >= photo[0]["enhance_ms"] > 0
