"""The package stands alone: torch.hub entry points from a local clone, and the README's
Python snippet runs as written."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]


def test_torch_hub_loads_from_a_local_clone() -> None:
    lime = torch.hub.load(str(REPO), "lime", source="local")
    assert type(lime).__name__ == "LIME"
    model = torch.hub.load(str(REPO), "lucent", source="local")
    assert model.weight_record is not None and model.weight_record.name == "lucent_sice_whole"
    assert not model.training
    x = torch.rand(1, 3, 17, 23) * 0.3
    with torch.inference_mode():
        y = model(x)
    assert y.shape == x.shape and bool(y.mean() > x.mean())
    random = torch.hub.load(str(REPO), "lucent", source="local", pretrained=False, width=8)
    assert random.weight_record is None


def _readme_python_block() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### Python") :]
    match = re.search(r"```python\n(.*?)```", section, flags=re.S)
    assert match, "README has no ```python block under ### Python"
    return match.group(1)


def test_readme_python_snippet_runs_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("transformers", reason="the snippet re-encodes a prompt: needs [text]")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "readme"}
    exec(compile(_readme_python_block(), "README.md", "exec"), namespace)  # noqa: S102
    assert "model" in namespace and "out" in namespace
    assert "lowlight" in sys.modules
