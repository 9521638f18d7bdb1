"""DSConv: shapes, parameter count, activation choice, and that it is depthwise then pointwise."""

from __future__ import annotations

import pytest
import torch

from lowlight.errors import ConfigError
from lowlight.layers.dsconv import ACTIVATIONS, DSConv, make_activation


@pytest.mark.parametrize("size", [(1, 1), (7, 5), (16, 24)])
def test_shape_is_kept(size):
    block = DSConv(3, 8)
    assert block(torch.rand(2, 3, *size)).shape == (2, 8, *size)


def test_parameter_count():
    block = DSConv(32, 16, kernel_size=3)
    assert sum(p.numel() for p in block.parameters()) == 32 * 9 + 32 + 32 * 16 + 16


def test_equals_depthwise_then_pointwise():
    block = DSConv(4, 6, activation="none")
    x = torch.randn(1, 4, 9, 9)
    dw = torch.nn.functional.conv2d(
        x, block.depthwise.weight, block.depthwise.bias, padding=1, groups=4
    )
    expected = torch.nn.functional.conv2d(dw, block.pointwise.weight, block.pointwise.bias)
    assert torch.allclose(block(x), expected, atol=1e-6)


def test_relu_by_default_gives_nonnegative_output():
    assert (DSConv(3, 5)(torch.randn(2, 3, 8, 8)) >= 0).all()


def test_tanh_output_bounded():
    y = DSConv(3, 5, activation="tanh")(100 * torch.randn(1, 3, 8, 8))
    assert y.abs().max() <= 1


def test_every_named_activation_builds():
    for name in ACTIVATIONS:
        assert isinstance(make_activation(name), torch.nn.Module)


@pytest.mark.parametrize(
    "kwargs", [{"activation": "swishy"}, {"kernel_size": 2}, {"kernel_size": 0}, {"in_channels": 0}]
)
def test_bad_arguments_raise_config_error(kwargs):
    args = {"in_channels": 3, "out_channels": 4, **kwargs}
    with pytest.raises(ConfigError):
        DSConv(**args)
