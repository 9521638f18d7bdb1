"""LFPV (lowlight.plugins.lfpv): wrapping and stripping every model that offers the feature
split, the parameters it adds at inference, the query, the updaters and the objective."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lowlight.api import build, list_models, load
from lowlight.errors import ConfigError
from lowlight.models.features import has_feature_split
from lowlight.plugins import inference_model, strip, wrap_model
from lowlight.plugins._lfpv_parts import LFPVTables, QueryGrid, patch_readout, vector_readout
from lowlight.plugins.lfpv import LFPV, LFPVModel, LFPVObjective, LFPVOptions, inference_parameters
from lowlight.registry import MODELS, PLUGINS
from lowlight.train.config import parse_config
from lowlight.weights import WeightRecord, save_weights

TABLE_KEYS = {
    "lfpv.vectors",
    "lfpv.patches",
    *(f"lfpv.norm_{a}_{b}.{p}" for a in ("query", "key") for b in "vp" for p in ("weight", "bias")),
}


def _split_models() -> list[str]:
    names = []
    for name in list_models():
        meta = MODELS.get(name).meta
        if meta.get("kind") == "classical":
            continue
        if has_feature_split(build(name, **meta.get("test_kwargs", {}))):
            names.append(name)
    return names


SPLIT = _split_models()


def _backbone(name: str) -> nn.Module:
    return build(name, **MODELS.get(name).meta.get("test_kwargs", {}))


def test_the_four_backbones_offer_the_split() -> None:
    assert {"mirnet", "mirnet_small", "nalsuper", "nalsuper_small"} <= set(SPLIT)
    assert "lfpv" in PLUGINS


@pytest.mark.parametrize("name", SPLIT)
def test_wrap_strip_keys_and_parameters(name: str) -> None:
    backbone = _backbone(name)
    backbone_keys = set(backbone.state_dict())
    backbone_params = sum(p.numel() for p in backbone.parameters())
    wrapper = wrap_model(backbone, [{"name": "lfpv", "args": {}}]).train()
    x = torch.rand(2, 3, 21, 27) * 0.4
    out, aux = wrapper.forward_train(x)
    assert out.shape == x.shape and aux["lfpv_plain"].shape == x.shape
    assert torch.isfinite(out).all()

    stripped = strip(wrapper).eval()
    assert isinstance(stripped, LFPVModel)
    keys = set(stripped.state_dict())
    assert keys == {f"backbone.{k}" for k in backbone_keys} | TABLE_KEYS
    training_only = set(wrapper.state_dict()) - keys
    assert training_only and all(k.startswith("updater.") for k in training_only)

    c = backbone.feature_channels
    added = sum(p.numel() for p in stripped.parameters()) - backbone_params
    assert added == 16 * c * (1 + 4**2) + 4 * c * (1 + 4**2) == inference_parameters(c)
    with torch.inference_mode():
        y = stripped(x)
    assert y.shape == x.shape and y.min() >= 0 and y.max() <= 1


@pytest.mark.parametrize("name", SPLIT)
def test_gradients_reach_every_trainable_parameter(name: str) -> None:
    wrapper = LFPV(_backbone(name)).train()
    out, aux = wrapper.forward_train(torch.rand(2, 3, 32, 32) * 0.4)
    (out.square().mean() + aux["lfpv_plain"].square().mean()).backward()
    missing = [n for n, p in wrapper.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, missing
    assert not wrapper.lfpv.vectors.requires_grad and not wrapper.lfpv.patches.requires_grad


@pytest.mark.parametrize("name", ["mirnet_small", "nalsuper_small"])
def test_zeroed_tables_leave_features_and_output_unchanged(name: str) -> None:
    backbone = _backbone(name).eval()
    model = LFPV.inference(backbone, LFPVOptions()).eval()
    assert model.lfpv.vectors.abs().sum() == 0 and model.lfpv.patches.abs().sum() == 0
    f = torch.randn(2, backbone.feature_channels, 13, 18)
    fused = f + model.grid.up(model.lfpv(model.grid.down(f)), (13, 18))
    assert torch.equal(fused, f)
    x = torch.rand(1, 3, 23, 30) * 0.3
    with torch.no_grad():
        assert torch.equal(model(x), backbone(x))


def test_zero_gate_starts_as_the_backbone_and_then_learns() -> None:
    """``readout_gate``: the output with the readout equals the plain one at the start (even
    though the first update fills the tables), the gate gets a gradient, and the gate's
    ``c`` parameters are counted at inference."""
    torch.manual_seed(3)
    backbone = _backbone("nalsuper_small")
    wrapper = LFPV(backbone, LFPVOptions(readout_gate=True)).train()
    x = torch.rand(2, 3, 24, 24) * 0.4
    out, aux = wrapper.forward_train(x)
    assert wrapper.lfpv.vectors.abs().sum() > 0
    assert torch.equal(out, aux["lfpv_plain"])
    out.square().mean().backward()
    assert wrapper.lfpv.gate.grad is not None and wrapper.lfpv.gate.grad.abs().sum() > 0
    c = backbone.feature_channels
    stripped = strip(wrapper)
    added = sum(p.numel() for p in stripped.parameters()) - sum(
        p.numel() for p in backbone.parameters()
    )
    assert (
        added
        == inference_parameters(c, LFPVOptions(readout_gate=True))
        == (inference_parameters(c) + c)
    )
    assert "lfpv.gate" in stripped.state_dict() and "lfpv.gate" not in TABLE_KEYS
    with torch.no_grad():
        wrapper.lfpv.gate.fill_(1.0)
        ungated = LFPVTables(c, 16, 4)
        ungated.load_state_dict({k: v for k, v in wrapper.lfpv.state_dict().items() if k != "gate"})
        f = torch.randn(1, c, 8, 8)
        assert torch.allclose(wrapper.lfpv(f), ungated(f))


def test_one_node_readout_is_the_node() -> None:
    """Softmax over a single node is 1: the readout is that node at every position/patch."""
    c, k = 3, 2
    f = torch.randn(2, c, 4, 6)
    vector = torch.randn(1, c)
    out = vector_readout(f, vector, nn.LayerNorm(c), nn.LayerNorm(c))
    assert torch.allclose(out, vector.view(1, c, 1, 1).expand_as(out))
    patch = torch.randn(1, c, k, k)
    out = patch_readout(f, patch, nn.LayerNorm(c * k * k), nn.LayerNorm(c * k * k), k)
    assert torch.allclose(out, patch.repeat(1, 1, 2, 3).expand_as(out))


def test_readout_attends_to_the_matching_node() -> None:
    """A feature equal to one of two (normalised) nodes weights that node most."""
    tables = LFPVTables(4, nodes=2, patch=1)
    with torch.no_grad():
        tables.vectors.copy_(torch.tensor([[5.0, -5.0, 5.0, -5.0], [-5.0, 5.0, -5.0, 5.0]]))
        tables.patches.zero_()
    f = torch.tensor([1.0, -1.0, 1.0, -1.0]).view(1, 4, 1, 1)
    out = tables(f)
    assert out[0, 0, 0, 0] > 4.9 and out[0, 1, 0, 0] < -4.9


def test_query_grid_pools_to_a_quarter_and_back() -> None:
    grid = QueryGrid(factor=4, patch=4)
    f = torch.randn(1, 2, 37, 50)
    down = grid.down(f)
    assert down.shape == (1, 2, 12, 16)  # 37 -> 48 -> 12, 50 -> 64 -> 16
    assert grid.up(down, (37, 50)).shape == f.shape


def test_training_replaces_the_tables_and_eval_keeps_them() -> None:
    wrapper = LFPV(_backbone("mirnet_small")).train()
    x = torch.rand(2, 3, 16, 16) * 0.4
    wrapper.forward_train(x)
    first = wrapper.lfpv.vectors.clone()
    assert first.abs().sum() > 0
    # replace mode: each stored node is LayerNorm'd (zero mean, unit variance, affine at init)
    assert torch.allclose(first.mean(dim=1), torch.zeros(16), atol=1e-5)
    wrapper.forward_train(x)
    assert not torch.equal(wrapper.lfpv.vectors, first)
    second = wrapper.lfpv.vectors.clone()
    wrapper.eval()
    with torch.no_grad():
        wrapper.forward_train(x)
        strip(wrapper)(x)
    assert torch.equal(wrapper.lfpv.vectors, second)


def test_residual_update_adds_to_the_stored_tables() -> None:
    wrapper = LFPV(_backbone("mirnet_small"), LFPVOptions(update="residual")).train()
    assert not any("norm_su" in k or "norm_mu" in k for k in wrapper.state_dict())
    x = torch.rand(2, 3, 16, 16) * 0.4
    wrapper.forward_train(x)
    assert wrapper.lfpv.vectors.abs().sum() > 0
    assert not torch.allclose(wrapper.lfpv.vectors.mean(dim=1), torch.zeros(16), atol=1e-3)


def test_objective_sums_both_outputs_with_lambda() -> None:
    torch.manual_seed(1)
    wrapper = LFPV(_backbone("mirnet_small"), LFPVOptions(weight=0.5)).eval()

    def rho(model, batch):  # noqa: ANN001, ANN202
        y, _ = model.forward_train(batch["input"])
        value = (y - batch["target"]).abs().mean()
        return value, {"l1": value.detach()}

    batch = {"input": torch.rand(1, 3, 16, 16) * 0.3, "target": torch.rand(1, 3, 16, 16)}
    objective = wrapper.wrap_objective(rho)
    assert isinstance(objective, LFPVObjective)
    torch.manual_seed(5)  # the updaters draw their sample positions and partners
    loss, logs = objective(wrapper, batch)
    torch.manual_seed(5)
    out, aux = wrapper.forward_train(batch["input"])
    plain = (aux["lfpv_plain"] - batch["target"]).abs().mean()
    with_readout = (out - batch["target"]).abs().mean()
    assert torch.allclose(loss, plain + 0.5 * with_readout)
    assert torch.allclose(logs["plain_loss"], plain) and torch.allclose(logs["l1"], with_readout)


def test_models_without_the_split_are_refused() -> None:
    with pytest.raises(ConfigError, match="encode/decode split"):
        LFPV(build("lucent"))


def _recipe(**plugin: object) -> dict:
    return {
        "name": "x",
        "model": {"name": "mirnet_small"},
        "objective": {"name": "supervised"},
        "data": {"train": {"kind": "unpaired", "root": "images"}},
        "plugins": [plugin],
    }


def test_recipe_plugins_section_is_typed() -> None:
    config = parse_config(_recipe(name="lfpv", args={"nodes": 8}))
    assert config.plugins[0].name == "lfpv" and config.plugins[0].args == {"nodes": 8}
    assert config.to_dict()["plugins"] == [{"name": "lfpv", "args": {"nodes": 8}}]
    with pytest.raises(ConfigError, match="valid keys: nodes, patch"):
        parse_config(_recipe(name="lfpv", args={"node": 8}))
    with pytest.raises(ConfigError, match="must be an integer"):
        parse_config(_recipe(name="lfpv", args={"nodes": "many"}))
    with pytest.raises(ConfigError, match="unknown plugin 'nope'"):
        parse_config(_recipe(name="nope"))
    with pytest.raises(ConfigError, match="valid keys: name, args"):
        parse_config(_recipe(name="lfpv", options={}))
    assert parse_config({k: v for k, v in _recipe().items() if k != "plugins"}).plugins == []


def test_exported_weights_load_with_the_record(tmp_path) -> None:  # noqa: ANN001
    torch.manual_seed(2)
    wrapper = LFPV(_backbone("mirnet_small")).train()
    wrapper.forward_train(torch.rand(2, 3, 16, 16) * 0.4)  # non-zero tables
    stripped = strip(wrapper).eval()
    kwargs = MODELS.get("mirnet_small").meta["test_kwargs"]
    record = WeightRecord(
        name="m",
        model="mirnet_small",
        file="",
        sha256="",
        license="test",
        training_data="none",
        command="none",
        config=kwargs,
        plugins=[{"name": "lfpv", "args": {}}],
    )
    path = tmp_path / "m.safetensors"
    save_weights(stripped.state_dict(), path, record)
    assert not any(k.startswith("updater.") for k in stripped.state_dict())
    loaded = load("mirnet_small", weights=path, device="cpu")
    assert isinstance(loaded, LFPVModel)
    x = torch.rand(1, 3, 19, 22) * 0.3
    with torch.no_grad():
        assert torch.equal(loaded(x), stripped(x))
    # inference_model builds the same form from the plug-in list
    rebuilt = inference_model(build("mirnet_small", **kwargs), record.plugins)
    assert set(rebuilt.state_dict()) == set(stripped.state_dict())


def test_training_under_autocast_keeps_float32_tables() -> None:
    wrapper = LFPV(_backbone("mirnet_small")).train()
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
        out, aux = wrapper.forward_train(torch.rand(2, 3, 16, 16) * 0.4)
    assert torch.isfinite(out.float()).all() and torch.isfinite(aux["lfpv_plain"].float()).all()
    assert wrapper.lfpv.vectors.dtype == torch.float32
    assert wrapper.lfpv.vectors.abs().sum() > 0


def test_plugin_registry_is_lazy_and_refuses_duplicates() -> None:
    import subprocess
    import sys

    from lowlight.errors import RegistryError

    code = (
        "import sys, lowlight, lowlight.train.config, lowlight.plugins; "
        "assert 'lowlight.plugins.lfpv' not in sys.modules, 'imported at import time'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    with pytest.raises(RegistryError, match="already registered"):
        PLUGINS.add("lfpv", LFPV)
