"""The encode/decode split (lowlight.models.features) of mirnet and nalsuper: it changes no
state-dict key and no output, and the shipped weights still load and give the original
network's output."""

from __future__ import annotations

import pytest
import torch

from lowlight.api import build, load
from lowlight.models.features import Encoded, has_feature_split
from lowlight.registry import MODELS
from lowlight.weights import load_state_dict, shipped_record

SPLIT_MODELS = ("mirnet", "mirnet_small", "nalsuper", "nalsuper_small")


def _mirnet_original(model, x):  # noqa: ANN001, ANN202
    """MIRNet's forward as written before the split."""
    return x + model.conv_out(model.groups(model.conv_in(x)))


def _nalsuper_original(model, x):  # noqa: ANN001, ANN202
    """NaLSuper's forward as written before the split."""
    tokens = mask = None
    if model.prompt_embedding is not None:
        tokens, mask = model.prompt_embedding.context(x.shape[0], x.dtype)
    shallow = model.stem(x)
    feats, f = [], shallow
    for block in model.blocks:
        f = block(f, tokens, mask)
        feats.append(f)
    stacked = model.layer_attention(torch.stack(feats, dim=1))
    fused = model.body_out(model.fuse(stacked.flatten(1, 2))) + shallow
    return x + model.to_rgb(fused)


ORIGINAL = {"mirnet": _mirnet_original, "nalsuper": _nalsuper_original}


@pytest.mark.parametrize("name", SPLIT_MODELS)
def test_split_shapes_and_identity(name: str) -> None:
    torch.manual_seed(0)
    model = build(name, **MODELS.get(name).meta["test_kwargs"]).eval()
    assert has_feature_split(model)
    x = torch.rand(2, 3, 16, 24) * 0.4
    with torch.no_grad():
        encoded = model.encode(x)
        assert isinstance(encoded, Encoded)
        s = model.feature_stride
        assert encoded.features.shape == (2, model.feature_channels, 16 // s, 24 // s)
        y = model.decode(encoded, encoded.features)
        assert torch.equal(y, model.enhance_tensor(x))
        # equal up to rounding: nalsuper fuses its layers without stacking them at inference
        torch.testing.assert_close(y, ORIGINAL[name.split("_")[0]](model, x), rtol=0, atol=1e-5)
        # decode really uses the features it is given
        assert not torch.equal(model.decode(encoded, encoded.features + 0.5), y)


@pytest.mark.parametrize("name", ["mirnet_small", "nalsuper_small"])
def test_shipped_weights_keys_and_output_unchanged(name: str) -> None:
    record, path = shipped_record(MODELS.get(name).meta["default_weights"])
    state = load_state_dict(path, expected_sha256=record.sha256)
    model = load(name, device="cpu")  # strict: any key difference raises
    assert set(model.state_dict()) == set(state)
    x = torch.rand(1, 3, 28, 36, generator=torch.Generator().manual_seed(1)) * 0.3
    with torch.no_grad():
        original = ORIGINAL[name.split("_")[0]](model, x).clamp(0, 1)
        torch.testing.assert_close(model(x), original, rtol=0, atol=1e-5)


def test_models_without_the_split_say_so() -> None:
    assert not has_feature_split(build("lucent"))
