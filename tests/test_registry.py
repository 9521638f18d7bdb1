"""The registry: lazy discovery, duplicates raise, unknown names list the known ones."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lowlight.errors import RegistryError
from lowlight.registry import MODELS, Registry


def test_duplicate_name_raises():
    reg: Registry[object] = Registry("thing")
    reg.add("a", object())
    with pytest.raises(RegistryError, match="already registered"):
        reg.add("a", object())


def test_unknown_name_lists_known():
    reg: Registry[object] = Registry("thing")
    reg.add("alpha", object())
    with pytest.raises(RegistryError, match="Known: alpha"):
        reg.get("beta")


def test_models_discovered_lazily():
    assert "identity" in MODELS.names()
    assert {"gamma", "clahe", "lime"} <= set(MODELS.names())


def test_import_has_no_side_effects():
    code = (
        "import sys, lowlight; "
        "heavy = [m for m in ('torch', 'numpy', 'PIL', 'scipy', 'lowlight.models.lime') if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
