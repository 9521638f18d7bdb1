"""SpatialAttention: one map in (0, 1) shared by every channel, both modes."""

from __future__ import annotations

import pytest
import torch

from lowlight.errors import ConfigError
from lowlight.layers.attention import SpatialAttention, channel_pool


def test_channel_pool_is_mean_and_max():
    x = torch.tensor([1.0, 3.0, 8.0]).view(1, 3, 1, 1).expand(1, 3, 2, 2)
    pooled = channel_pool(x)
    assert pooled.shape == (1, 2, 2, 2)
    assert torch.allclose(pooled[:, 0], torch.full((1, 2, 2), 4.0))
    assert torch.allclose(pooled[:, 1], torch.full((1, 2, 2), 8.0))


@pytest.mark.parametrize("mode", ["pool", "project"])
def test_one_map_multiplies_every_channel(mode):
    att = SpatialAttention(8, mode=mode)
    x = torch.rand(2, 8, 11, 13) + 0.1
    amap = att.attention_map(x)
    assert amap.shape == (2, 1, 11, 13)
    assert (amap > 0).all() and (amap < 1).all()
    assert torch.allclose(att(x), x * amap)
    ratio = att(x) / x
    assert torch.allclose(ratio, ratio[:, :1].expand_as(ratio), atol=1e-6)


def test_pool_mode_parameter_count_is_cbam():
    att = SpatialAttention(32, mode="pool", kernel_size=7)
    assert sum(p.numel() for p in att.parameters()) == 2 * 49 + 1


@pytest.mark.parametrize("mode", ["pool", "project"])
def test_gradients_reach_parameters_and_input(mode):
    att = SpatialAttention(4, mode=mode)
    x = torch.rand(1, 4, 6, 6, requires_grad=True)
    att(x).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    assert all(p.grad is not None for p in att.parameters())


def test_bad_arguments_raise_config_error():
    with pytest.raises(ConfigError):
        SpatialAttention(4, mode="channel")
    with pytest.raises(ConfigError):
        SpatialAttention(4, kernel_size=4)
