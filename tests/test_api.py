"""The public API: load() and enhance() on every input kind."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import lowlight
from lowlight.errors import RegistryError, WeightsError
from lowlight.weights import WeightRecord, save_weights


def test_list_models_and_kinds():
    names = lowlight.list_models()
    assert "lime" in names
    assert set(lowlight.list_models(kind="classical")) >= {"identity", "gamma", "clahe", "lime"}


def test_unknown_model_error():
    with pytest.raises(RegistryError, match="unknown model 'nope'"):
        lowlight.load("nope")


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_enhance_numpy_keeps_dtype_and_shape(dark_image, dtype):
    model = lowlight.load("gamma", device="cpu")
    scale = {np.uint8: 255, np.uint16: 65535, np.float32: 1}[dtype]
    arr = (dark_image * scale).round().astype(dtype) if dtype != np.float32 else dark_image
    out = model.enhance(arr)
    assert out.dtype == arr.dtype and out.shape == arr.shape
    assert out.astype(np.float64).mean() > arr.astype(np.float64).mean()


def test_enhance_tensor_and_pil_and_path(dark_image, tmp_path):
    model = lowlight.load("gamma", device="cpu")
    t = torch.from_numpy(dark_image).permute(2, 0, 1)[None]
    out_t = model.enhance(t)
    assert out_t.shape == t.shape and out_t.dtype == t.dtype
    pil = Image.fromarray((dark_image * 255).round().astype(np.uint8))
    out_pil = model.enhance(pil)
    assert isinstance(out_pil, Image.Image) and out_pil.size == pil.size and out_pil.mode == "RGB"
    path = tmp_path / "dark.png"
    pil.save(path)
    out_path = model.enhance(path)
    assert isinstance(out_path, Image.Image)
    assert np.array_equal(np.asarray(out_path), np.asarray(out_pil))


def test_enhance_rgba_numpy_keeps_alpha(dark_image):
    alpha = np.linspace(0, 255, dark_image.shape[1], dtype=np.uint8)[None, :].repeat(
        dark_image.shape[0], 0
    )
    rgba = np.dstack([(dark_image * 255).round().astype(np.uint8), alpha])
    out = lowlight.load("gamma", device="cpu").enhance(rgba)
    assert out.shape == rgba.shape
    assert np.array_equal(out[..., 3], alpha)


@pytest.fixture
def tiny_conv_registered():
    from lowlight.models.base import EnhancementModel
    from lowlight.registry import MODELS

    class TinyConv(EnhancementModel):
        def __init__(self, width: int = 4):
            super().__init__()
            self.body = torch.nn.Sequential(
                torch.nn.Conv2d(3, width, 3, padding=1),
                torch.nn.ReLU(),
                torch.nn.Conv2d(width, 3, 3, padding=1),
            )

        def enhance_tensor(self, x, context=None):
            return x + self.body(x)

    MODELS.add("tiny_conv", TinyConv, kind="supervised", summary="test model")
    yield TinyConv
    MODELS.remove("tiny_conv")


def test_load_weights_with_record_and_hash_check(tmp_path, tiny_conv_registered):
    model = tiny_conv_registered()
    path = tmp_path / "w.safetensors"
    save_weights(
        model.state_dict(),
        path,
        WeightRecord(
            name="w",
            model="tiny_conv",
            file="",
            sha256="",
            license="Apache-2.0",
            training_data="none",
            command="test",
        ),
    )
    loaded = lowlight.load("tiny_conv", weights=path, device="cpu")
    for (k, a), b in zip(model.state_dict().items(), loaded.state_dict().values(), strict=True):
        assert torch.equal(a, b), k
    record = WeightRecord.from_json(path.with_suffix(".json"))
    assert record.sha256 and record.file == "w.safetensors"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="sha256 mismatch"):
        lowlight.load("tiny_conv", weights=path, device="cpu")


def test_load_refuses_weights_of_another_shape(tmp_path, tiny_conv_registered):
    path = tmp_path / "other.safetensors"
    save_weights(tiny_conv_registered(width=8).state_dict(), path)
    with pytest.raises(WeightsError, match="do not fit"):
        lowlight.load("tiny_conv", weights=path, device="cpu")


def test_learned_model_without_shipped_weights_refuses_default(tiny_conv_registered):
    with pytest.raises(WeightsError, match="ships no trained weights"):
        lowlight.load("tiny_conv", device="cpu")
    model = lowlight.load("tiny_conv", weights=None, device="cpu")
    assert model.weight_record is None
