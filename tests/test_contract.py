"""The contract module: checks at the model boundary, and no import cycle between
``models/base.py`` and ``inference/``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

import lowlight
from lowlight.contract import check_image_batch

SRC = str(Path(__file__).resolve().parents[1] / "src")


@pytest.mark.parametrize(
    "order",
    [
        ("lowlight.models.base", "lowlight.inference"),
        ("lowlight.inference", "lowlight.models.base"),
        ("lowlight.inference.tiling", "lowlight.models.base"),
        ("lowlight.inference.files",),
        ("lowlight.inference.video",),
    ],
)
def test_import_in_any_order_without_cycle(order: tuple[str, ...]) -> None:
    """Each module imports first in a fresh interpreter, and inference never pulls in
    models.base at import (it only needs the contract)."""
    lines = ["import sys", f"import {order[0]}"]
    if order[0].startswith("lowlight.inference"):
        lines.append("assert 'lowlight.models.base' not in sys.modules, 'inference imports models'")
    lines += [f"import {m}" for m in order[1:]]
    code = "\n".join(lines)
    env = {"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr


def test_base_reexports_the_contract() -> None:
    from lowlight import contract
    from lowlight.models import base

    assert base.Context is contract.Context
    assert base.check_image_batch is contract.check_image_batch
    assert base.is_spatial_map is contract.is_spatial_map


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_tensor_refused_by_name(bad: float) -> None:
    x = torch.full((1, 3, 8, 8), 0.2)
    x[0, 1, 3, 4] = bad
    with pytest.raises(ValueError, match=r"input: 1 value\(s\) are NaN or infinite"):
        check_image_batch(x)


@pytest.mark.parametrize("name", ["lime", "gamma", "clahe", "lucent", "identity"])
def test_models_refuse_non_finite_at_the_boundary(name: str) -> None:
    model = lowlight.load(name, weights=None) if name == "lucent" else lowlight.load(name)
    x = torch.full((1, 3, 16, 16), 0.2)
    x[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN or infinite"):
        model(x)
    with pytest.raises(ValueError, match="NaN or infinite"):
        model.enhance(x)
