"""MIRNet: paper configuration, the small preset, any-size contract, residual, gradients."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lowlight.api import build
from lowlight.errors import ConfigError
from lowlight.models.mirnet import (
    DEFAULT_PARAMETERS,
    SMALL_CONFIG,
    SMALL_PARAMETERS,
    UNTIED_PARAMETERS,
    MIRNet,
    mirnet_small,
)
from lowlight.registry import MODELS

TINY = {"channels": 4, "num_rrg": 1, "num_mrb": 1}


def _n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_paper_configuration_has_31_8_million_parameters():
    with torch.device("meta"):
        model = MIRNet()
    assert _n_params(model) == DEFAULT_PARAMETERS
    assert round(DEFAULT_PARAMETERS / 1e6, 1) == 31.8
    assert model.pad_multiple == 4
    assert len(model.groups) == 3
    assert all(len(group.body) == 3 for group in model.groups)  # 2 MRBs + conv
    block = model.groups[0].body[0]
    assert block.widths == [64, 128, 256]
    assert block.columns == 2


def test_untied_and_small_counts():
    with torch.device("meta"):
        assert _n_params(MIRNet(tied=False)) == UNTIED_PARAMETERS
    small = mirnet_small()
    assert _n_params(small) == SMALL_PARAMETERS
    assert 0.3e6 <= SMALL_PARAMETERS <= 1.5e6
    assert small.groups[0].body[0].widths == [SMALL_CONFIG["channels"] * 2**i for i in range(3)]


def test_registered_with_metadata():
    for name in ("mirnet", "mirnet_small"):
        meta = MODELS.get(name).meta
        assert meta["kind"] == "supervised"
        assert "2003.06792" in meta["paper"]
    assert MODELS.get("mirnet").meta["default_weights"] is None  # trained on a GPU only
    assert MODELS.get("mirnet_small").meta["default_weights"] == "mirnet_small_mixed_fusion"
    assert isinstance(build("mirnet_small", channels=4), MIRNet)


def test_shipped_weights_load_and_brighten():
    """The shipped record loads (hash checked) and lifts a dark image toward mid-grey."""
    from lowlight import load

    model = load("mirnet_small")
    dark = torch.linspace(0.01, 0.08, 48 * 64).reshape(1, 1, 48, 64).expand(1, 3, 48, 64)
    with torch.inference_mode():
        out = model(dark.contiguous())
    assert out.shape == dark.shape
    assert out.mean() > 3 * dark.mean()


@pytest.mark.parametrize("size", [(37, 53), (16, 16), (5, 9), (1, 1)])
def test_any_size_keeps_shape_and_range(size):
    model = MIRNet(**TINY).eval()
    x = torch.rand(2, 3, *size) * 0.3
    with torch.inference_mode():
        y = model(x)
    assert y.shape == x.shape
    assert torch.isfinite(y).all() and y.min() >= 0 and y.max() <= 1


def test_small_preset_forward_backward_on_odd_size():
    model = mirnet_small().train()
    x = torch.rand(1, 3, 21, 30) * 0.2
    y, aux = model.forward_train(x)
    assert y.shape == x.shape and aux == {}
    y.mean().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_batch_equals_single():
    model = MIRNet(**TINY).eval()
    x = torch.rand(3, 3, 12, 20) * 0.4
    with torch.inference_mode():
        batched = model(x)
        single = torch.cat([model(x[i : i + 1]) for i in range(3)])
    assert torch.allclose(batched, single, atol=1e-5)


@pytest.mark.parametrize("tied", [True, False])
def test_gradients_reach_every_parameter(tied):
    model = MIRNet(channels=4, num_rrg=1, num_mrb=2, tied=tied).train()
    y, _ = model.forward_train(torch.rand(2, 3, 16, 16) * 0.4)
    y.square().mean().backward()
    missing = [
        n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()
    ]
    assert not missing


def test_global_residual():
    model = MIRNet(**TINY)
    nn.init.zeros_(model.conv_out.weight)
    x = torch.rand(1, 3, 10, 14) * 0.5
    with torch.inference_mode():
        assert torch.allclose(model(x), x)


def test_pad_multiple_follows_streams():
    assert MIRNet(**TINY, streams=2).pad_multiple == 2
    assert MIRNet(**TINY, streams=1).pad_multiple == 1


def test_state_dict_has_no_shared_storage():
    """safetensors refuses aliased tensors: tying is by reuse, never by duplicate entries."""
    state = MIRNet(**TINY).state_dict()
    pointers = [t.data_ptr() for t in state.values() if t.numel()]
    assert len(pointers) == len(set(pointers))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"channels": 0},
        {"num_rrg": 0},
        {"streams": 0},
        {"spatial_kernel": 4},
        {"channel_pool": "max"},
        {"growth": 1.5},
    ],
)
def test_bad_arguments(kwargs):
    with pytest.raises(ConfigError):
        MIRNet(**{**TINY, **kwargs})


def _lattice(y: torch.Tensor, period: int = 4, margin: int = 16) -> float:
    """Largest spread between the ``period x period`` phase means of the interior of ``y``."""
    y = y[..., margin:-margin, margin:-margin]
    h, w = y.shape[-2] - y.shape[-2] % period, y.shape[-1] - y.shape[-1] % period
    cells = y[..., :h, :w].reshape(*y.shape[:2], h // period, period, w // period, period)
    phases = cells.mean(dim=(0, 2, 4))
    return float((phases.amax(dim=(1, 2)) - phases.amin(dim=(1, 2))).max())


@pytest.mark.parametrize("smooth", [True, False])
def test_constant_image_gives_no_lattice_with_smooth_upsampling(smooth):
    """A constant image must come out constant away from the borders; the paper's plain
    transposed convolutions print a period-4 grid (benchmarks/lattice.py)."""
    torch.manual_seed(0)
    model = MIRNet(channels=8, num_rrg=1, num_mrb=1, smooth_upsample=smooth).eval()
    with torch.no_grad():
        y = model.enhance_tensor(torch.full((1, 3, 64, 64), 0.3))
    assert (_lattice(y) > 1e-4) != smooth, _lattice(y)


def test_shipped_weights_print_no_lattice_on_a_flat_image():
    from lowlight import load

    flat = torch.full((1, 3, 96, 96), 0.1)
    with torch.inference_mode():
        smooth = load("mirnet_small")(flat)
        plain = load("mirnet_small", smooth_upsample=False)(flat)
    assert _lattice(plain) > 2 / 255  # the lattice the shipped weights print unsmoothed
    assert _lattice(smooth) < 0.1 / 255
