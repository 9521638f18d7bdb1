"""Shared fixtures: deterministic torch, paths to the shared data, small synthetic images."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("LOWLIGHT_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(autouse=True)
def _deterministic() -> None:
    torch.manual_seed(0)
    torch.set_flush_denormal(True)


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data``; tests using it are skipped when it is absent."""
    if not (SHARED_DATA / "lol_v1" / "eval15").is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def dark_image() -> np.ndarray:
    """A 48x64 dark RGB image with smooth gradients, edges and mild noise, float32 in [0, 0.25]."""
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:48, 0:64].astype(np.float32)
    base = 0.5 + 0.3 * np.sin(xx / 7.0)[..., None] * np.array([1.0, 0.8, 0.6], dtype=np.float32)
    base[16:32, 20:44] *= 0.4
    img = 0.25 * base * (yy / 47.0 * 0.5 + 0.5)[..., None]
    img += rng.normal(0, 0.005, img.shape).astype(np.float32)
    return np.clip(img, 0, 1).astype(np.float32)


@pytest.fixture
def sequence_collection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A tiny multi-exposure folder (``tests/data/_sequences.py``) with a private cache dir."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "_sequences", Path(__file__).parent / "data" / "_sequences.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setenv("LOWLIGHT_CACHE_DIR", str(tmp_path / "cache"))
    return module.write_collection(tmp_path / "seq")
