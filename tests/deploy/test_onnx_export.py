"""ONNX export: the branch-free graph equals the eager model at any size, onnxruntime agrees
with PyTorch at sizes other than the traced one (odd ones, both orientations), the weights'
record travels as metadata, float16 stays finite, and what cannot be a graph is refused."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner

import lowlight
from lowlight.deploy.graph import _round_ratio, area_resize, export_graph
from lowlight.errors import ConfigError

SIZES = [(67, 101), (121, 83), (5, 130)]  # traced at 64x96: odd, portrait, a sliver


class TestGraphHelpers:
    def test_round_ratio_is_pythons_round(self) -> None:
        for p in range(0, 200):
            for q in range(1, 40):
                assert _round_ratio(p, q) == round(Fraction(p, q)), (p, q)

    @pytest.mark.parametrize("size", [(5, 7), (13, 9), (64, 96), (1, 1)])
    def test_area_resize_is_interpolate_area(self, size: tuple[int, int]) -> None:
        x = torch.rand(2, 3, 64, 96)
        ref = F.interpolate(x, size=size, mode="area")
        assert torch.allclose(area_resize(x, size), ref, atol=1e-6)

    def test_graph_equals_eager_at_odd_sizes(self) -> None:
        model = lowlight.load("lucent", device="cpu", curve_max_side=32)
        graph = export_graph(model)
        for h, w in [(67, 101), (121, 83), (31, 7), (3, 200)]:
            x = torch.rand(1, 3, h, w) * 0.3
            with torch.inference_mode():
                assert torch.allclose(graph(x), model(x), atol=1e-6), (h, w)

    def test_classical_solvers_are_refused_with_the_reason(self) -> None:
        with pytest.raises(ConfigError, match="conjugate gradients"):
            export_graph(lowlight.load("lime", device="cpu"))
        with pytest.raises(ConfigError, match="histograms"):
            export_graph(lowlight.load("clahe", device="cpu"))
        with pytest.raises(ConfigError, match="unknown dtype"):
            export_graph(lowlight.load("gamma", device="cpu"), "float64")

    def test_nalsuper_layer_attention_is_finite_in_float16(self) -> None:
        from lowlight.layers.nalsuper_blocks import LayerAttention

        stacked = torch.full((1, 3, 8, 300, 300), 2.0).half()  # 8*300*300*4 = 2.9 M > 65504
        weights = LayerAttention().half().weights(stacked)
        assert weights.dtype == torch.float16 and torch.isfinite(weights).all()
        assert torch.allclose(weights.float().sum(-1), torch.ones(1, 3), atol=1e-3)


onnx_export = pytest.importorskip("lowlight.deploy.onnx_export")
pytest.importorskip("onnxruntime", reason="needs the [onnx] extra")
pytest.importorskip("onnxscript", reason="needs the [onnx] extra")


def _check(path: Path, model: lowlight.models.base.EnhancementModel, atol: float) -> None:
    rows = onnx_export.verify_onnx(path, model, SIZES)
    for row in rows:
        assert row["finite"], row
        assert row["max_abs_diff"] < atol, row


def test_lucent_context_at_reduced_resolution_any_size(tmp_path: Path) -> None:
    """Shipped weights, curves estimated at 32 px: the traced size (64x96, landscape) picks
    the width as the longer side; portrait and odd sizes must still be right."""
    model = lowlight.load("lucent", device="cpu", curve_max_side=32)
    path = onnx_export.export_onnx(model, tmp_path / "lucent.onnx", name="lucent")
    _check(path, model, 1e-5)
    meta = onnx_export.read_metadata(path)
    assert meta["lowlight.model"] == "lucent" and meta["lowlight.dtype"] == "float32"
    record = json.loads(meta["lowlight.weights"])
    assert record["name"] == "lucent_sice_whole" and len(record["sha256"]) == 64
    batch = torch.rand(3, 3, 50, 70)  # the batch axis is dynamic too
    out = onnx_export.run_onnx(onnx_export.onnx_session(path), batch.numpy())
    with torch.inference_mode():
        assert torch.allclose(torch.from_numpy(out), model(batch), atol=1e-5)


def test_mirnet_pads_and_crops_inside_the_graph(tmp_path: Path) -> None:
    model = lowlight.load(
        "mirnet_small", weights=None, device="cpu", channels=4, num_rrg=1, num_mrb=1
    )
    assert model.pad_multiple > 1
    path = onnx_export.export_onnx(model, tmp_path / "m.onnx", name="mirnet_small")
    _check(path, model, 1e-5)
    assert json.loads(onnx_export.read_metadata(path)["lowlight.weights"]) is None


def test_nalsuper_float16_is_finite_and_close(tmp_path: Path) -> None:
    model = lowlight.load("nalsuper_small", weights=None, device="cpu", **_nalsuper_tiny())
    path = onnx_export.export_onnx(model, tmp_path / "n.onnx", name="nalsuper", dtype="float16")
    _check(path, model, 5e-3)  # the float16 rounding, against the float32 model
    assert onnx_export.read_metadata(path)["lowlight.dtype"] == "float16"


def _nalsuper_tiny() -> dict:
    from lowlight.models.nalsuper import TEST_KWARGS

    return dict(TEST_KWARGS)


def test_cli_exports_gamma_and_verifies(tmp_path: Path) -> None:
    from lowlight.cli.main import cli

    out = tmp_path / "g.onnx"
    result = CliRunner().invoke(cli, ["export", "gamma", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.is_file() and "257x191" in result.output and "(finite)" in result.output
    refused = CliRunner().invoke(cli, ["export", "lime", "-o", str(tmp_path / "l.onnx")])
    assert refused.exit_code != 0 and not (tmp_path / "l.onnx").exists()
