"""MIRNet blocks: anti-aliased resampling, channel attention, DAU, SKFF, MRB and RRG."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lowlight.errors import ConfigError
from lowlight.layers.mirnet_blocks import (
    ChannelAttention,
    DualAttentionUnit,
    MultiScaleResidualBlock,
    RecursiveResidualGroup,
    SelectiveKernelFeatureFusion,
    StreamExchange,
    stream_widths,
)
from lowlight.layers.mirnet_resample import (
    ResidualDownsample,
    ResidualUpsample,
    SmoothConvTranspose2d,
    antialias_downsample,
    binomial_blur,
    make_resampler,
)


def _n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


class TestAntialiasDownsample:
    def test_shape_even_and_odd(self):
        assert antialias_downsample(torch.rand(2, 3, 8, 12)).shape == (2, 3, 4, 6)
        assert antialias_downsample(torch.rand(1, 2, 7, 5)).shape == (1, 2, 4, 3)
        assert antialias_downsample(torch.rand(1, 2, 1, 6)).shape == (1, 2, 1, 3)

    def test_constant_stays_constant(self):
        x = torch.full((1, 4, 6, 10), 0.37)
        assert torch.allclose(antialias_downsample(x), torch.full((1, 4, 3, 5), 0.37))

    def test_removes_the_nyquist_checkerboard(self):
        yy, xx = torch.meshgrid(torch.arange(8), torch.arange(8), indexing="ij")
        checker = 0.5 + 0.25 * (-1.0) ** (yy + xx)
        out = antialias_downsample(checker.view(1, 1, 8, 8).float())
        assert torch.allclose(out, torch.full_like(out, 0.5), atol=1e-6)

    def test_hand_computed_value(self):
        x = torch.zeros(1, 1, 4, 4)
        x[0, 0, 2, 2] = 16.0  # an impulse on a kept pixel: centre weight 4/16
        out = antialias_downsample(x)
        assert out[0, 0, 1, 1].item() == pytest.approx(4.0)
        assert out.sum().item() == pytest.approx(4.0)

    def test_float64_gradcheck(self):
        x = torch.rand(1, 2, 4, 6, dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(antialias_downsample, (x,))


class TestResamplers:
    def test_down_and_up_shapes(self):
        x = torch.rand(2, 4, 8, 6)
        assert ResidualDownsample(4, 8)(x).shape == (2, 8, 4, 3)
        assert ResidualUpsample(4, 2)(x).shape == (2, 2, 16, 12)

    def test_chain_moves_between_streams(self):
        widths = [4, 8, 16]
        x0 = torch.rand(1, 4, 16, 16)
        x2 = torch.rand(1, 16, 4, 4)
        down = make_resampler(widths, 0, 2)
        up = make_resampler(widths, 2, 0)
        assert len(down) == 2 and all(isinstance(m, ResidualDownsample) for m in down)
        assert len(up) == 2 and all(isinstance(m, ResidualUpsample) for m in up)
        assert down(x0).shape == (1, 16, 4, 4)
        assert up(x2).shape == (1, 4, 16, 16)

    @pytest.mark.parametrize("source,target", [(0, 0), (0, 3), (-1, 0)])
    def test_bad_streams(self, source, target):
        with pytest.raises(ValueError):
            make_resampler([4, 8, 16], source, target)

    def test_no_biases_by_default(self):
        for module in (ResidualDownsample(4, 8), ResidualUpsample(8, 4)):
            assert not any(name.endswith("bias") for name, _ in module.named_parameters())


def _phase_spread(y: torch.Tensor, period: int = 2, margin: int = 2) -> float:
    """Largest difference between the ``period x period`` phase means of the interior."""
    y = y[..., margin:-margin, margin:-margin]
    h, w = y.shape[-2] - y.shape[-2] % period, y.shape[-1] - y.shape[-1] % period
    cells = y[..., :h, :w].reshape(*y.shape[:2], h // period, period, w // period, period)
    phases = cells.mean(dim=(0, 2, 4))
    return float((phases.amax(dim=(1, 2)) - phases.amin(dim=(1, 2))).max().detach())


class TestSmoothUpsampling:
    """The up-samplers' transposed convolution is followed by a binomial blur, so a constant
    input gives a constant output (no checkerboard) and the state-dict keys do not change."""

    def test_blur_flattens_any_period_two_pattern(self):
        phases = torch.tensor([[0.2, 0.9], [0.5, 0.1]])
        pattern = phases.repeat(5, 6).view(1, 1, 10, 12)
        out = binomial_blur(pattern)
        assert out.shape == pattern.shape
        assert torch.allclose(out, torch.full_like(out, phases.mean()), atol=1e-6)

    def test_plain_transposed_conv_prints_a_checkerboard(self):
        torch.manual_seed(0)
        plain = nn.ConvTranspose2d(3, 3, 3, stride=2, padding=1, output_padding=1, bias=False)
        assert _phase_spread(plain(torch.full((1, 3, 8, 8), 0.5))) > 0.01

    def test_smooth_transposed_conv_keeps_a_constant_constant(self):
        torch.manual_seed(0)
        conv = SmoothConvTranspose2d(3, 5, 3, stride=2, padding=1, output_padding=1, bias=False)
        y = conv(torch.full((2, 3, 8, 8), 0.5))
        assert y.shape == (2, 5, 16, 16)
        interior = y[..., 2:-2, 2:-2]  # the last row and column see the zero border
        assert torch.allclose(interior, interior[..., :1, :1].expand_as(interior), atol=1e-6)

    @pytest.mark.parametrize("smooth,lattice", [(True, False), (False, True)])
    def test_residual_upsample_constant_response(self, smooth, lattice):
        torch.manual_seed(0)
        up = ResidualUpsample(8, 4, smooth=smooth)
        spread = _phase_spread(up(torch.rand(1, 8, 1, 1).expand(1, 8, 8, 8)))
        assert (spread > 1e-3) == lattice, spread

    def test_state_dict_keys_do_not_change(self):
        smooth, plain = ResidualUpsample(8, 4), ResidualUpsample(8, 4, smooth=False)
        assert list(smooth.state_dict()) == list(plain.state_dict())
        smooth.load_state_dict(plain.state_dict())

    def test_gradcheck(self):
        conv = SmoothConvTranspose2d(2, 2, 3, stride=2, padding=1, output_padding=1).double()
        x = torch.rand(1, 2, 3, 4, dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(conv, (x,))


class TestChannelAttention:
    @pytest.mark.parametrize("pool", ["avg", "avgmax"])
    def test_gates(self, pool):
        att = ChannelAttention(16, reduction=8, pool=pool)
        x = torch.rand(2, 16, 5, 7)
        gates = att.weights(x)
        assert gates.shape == (2, 16, 1, 1)
        assert (gates > 0).all() and (gates < 1).all()
        assert torch.allclose(att(x), x * gates)

    def test_avg_pool_ignores_arrangement(self):
        att = ChannelAttention(8, pool="avg")
        x = torch.rand(1, 8, 6, 6)
        shuffled = x.flatten(2)[..., torch.randperm(36)].view_as(x)
        assert torch.allclose(att.weights(x), att.weights(shuffled), atol=1e-6)

    def test_avgmax_uses_the_maximum(self):
        att = ChannelAttention(8, pool="avgmax")
        nn.init.ones_(att.excite[0].weight)
        nn.init.ones_(att.excite[2].weight)
        x = torch.zeros(1, 8, 4, 4)
        y = x.clone()
        y[0, :, 0, 0] = 1.0
        y[0, :, 0, 1] = -1.0  # same mean, different max
        assert not torch.allclose(att.weights(x), att.weights(y))

    def test_hidden_width_and_errors(self):
        assert ChannelAttention(64, reduction=8).excite[0].out_channels == 8
        assert ChannelAttention(4, reduction=8).excite[0].out_channels == 1
        with pytest.raises(ConfigError):
            ChannelAttention(8, pool="median")  # type: ignore[arg-type]
        with pytest.raises(ConfigError):
            ChannelAttention(8, reduction=0)


class TestDualAttentionUnit:
    def test_shape_and_residual(self):
        dau = DualAttentionUnit(8)
        x = torch.rand(2, 8, 9, 11)
        assert dau(x).shape == x.shape
        nn.init.zeros_(dau.fuse.weight)
        assert torch.allclose(dau(x), x)

    def test_parameter_count(self):
        # body 2 * 9 C^2 + PReLU 1; spatial 2 * 25 + 1 bias; channel 2 * C * C/8; fuse 2 C^2
        c = 16
        expected = 2 * 9 * c * c + 1 + 51 + 2 * c * (c // 8) + 2 * c * c
        assert _n_params(DualAttentionUnit(c)) == expected


class TestSKFF:
    def test_weights_sum_to_one_over_streams(self):
        skff = SelectiveKernelFeatureFusion(16, streams=3)
        feats = [torch.rand(2, 16, 6, 6) for _ in range(3)]
        weights = skff.attention(feats)
        assert weights.shape == (2, 3, 16, 1, 1)
        assert torch.allclose(weights.sum(dim=1), torch.ones(2, 16, 1, 1))
        expected = sum(weights[:, i] * f for i, f in enumerate(feats))
        assert torch.allclose(skff(feats), expected, atol=1e-6)

    def test_identical_streams_pass_through(self):
        skff = SelectiveKernelFeatureFusion(8, streams=2)
        x = torch.rand(1, 8, 5, 5)
        assert torch.allclose(skff([x, x]), x, atol=1e-6)

    def test_zero_selection_averages(self):
        skff = SelectiveKernelFeatureFusion(8, streams=3)
        for conv in skff.select:
            nn.init.zeros_(conv.weight)
        feats = [torch.rand(1, 8, 4, 4) for _ in range(3)]
        assert torch.allclose(skff(feats), sum(feats) / 3, atol=1e-6)

    def test_hidden_width_floor_and_stream_count(self):
        assert SelectiveKernelFeatureFusion(16).squeeze[0].out_channels == 4
        assert SelectiveKernelFeatureFusion(64).squeeze[0].out_channels == 8
        with pytest.raises(ValueError, match="expected 3 streams"):
            SelectiveKernelFeatureFusion(8)([torch.rand(1, 8, 2, 2)] * 2)


class TestStreamExchange:
    def test_shapes_are_kept(self):
        widths = stream_widths(4, 3, 2)
        assert widths == [4, 8, 16]
        exchange = StreamExchange(widths)
        feats = [torch.rand(1, w, 16 // 2**i, 12 // 2**i) for i, w in enumerate(widths)]
        out = exchange(feats)
        assert [o.shape for o in out] == [f.shape for f in feats]
        assert len(exchange.resample) == 6


class TestMultiScaleResidualBlock:
    def test_shape(self):
        block = MultiScaleResidualBlock(4)
        x = torch.rand(2, 4, 16, 12)
        assert block(x).shape == x.shape

    def test_tied_shares_units_and_fusion(self):
        tied = MultiScaleResidualBlock(4, tied=True)
        untied = MultiScaleResidualBlock(4, tied=False)
        assert [len(u) for u in tied.units] == [1, 1, 1]
        assert [len(u) for u in untied.units] == [2, 2, 2]
        assert tied.entry is None and tied.final is None
        assert untied.entry is not None and untied.final is not None
        assert _n_params(untied) > _n_params(tied)
        # with two columns both variants compute the same graph: copying weights agrees
        x = torch.rand(1, 4, 8, 8)
        exchange = tied.exchanges[0]
        with torch.no_grad():
            for j in range(3):
                for col in range(2):
                    untied.units[j][col].load_state_dict(tied.units[j][0].state_dict())
            untied.exchanges[0].load_state_dict(exchange.state_dict())
            untied.entry[0].load_state_dict(exchange.resampler(0, 1).state_dict())
            untied.entry[1].load_state_dict(exchange.resampler(1, 2).state_dict())
            untied.final.load_state_dict(exchange.fuse[0].state_dict())
            untied.exits.load_state_dict(tied.exits.state_dict())
            untied.out_conv.load_state_dict(tied.out_conv.state_dict())
        assert torch.allclose(tied(x), untied(x), atol=1e-6)

    @pytest.mark.parametrize(
        "kwargs", [{"columns": 1}, {"columns": 3}, {"streams": 1}, {"streams": 2, "growth": 1}]
    )
    def test_variants_run_and_train(self, kwargs):
        block = MultiScaleResidualBlock(4, **kwargs)
        x = torch.rand(2, 4, 8, 8)
        y = block(x)
        assert y.shape == x.shape
        y.square().mean().backward()
        missing = [n for n, p in block.named_parameters() if p.grad is None]
        assert not missing

    def test_zero_output_conv_is_identity(self):
        block = MultiScaleResidualBlock(4)
        nn.init.zeros_(block.out_conv.weight)
        x = torch.rand(1, 4, 8, 8)
        assert torch.allclose(block(x), x)

    def test_bad_arguments(self):
        with pytest.raises(ConfigError):
            MultiScaleResidualBlock(4, columns=0)
        with pytest.raises(ConfigError):
            MultiScaleResidualBlock(4, growth=0)


class TestRecursiveResidualGroup:
    def test_shape_and_group_residual(self):
        group = RecursiveResidualGroup(4, blocks=2)
        assert len(group.body) == 3
        x = torch.rand(1, 4, 8, 8)
        assert group(x).shape == x.shape
        nn.init.zeros_(group.body[-1].weight)
        assert torch.allclose(group(x), x)

    def test_bad_block_count(self):
        with pytest.raises(ConfigError):
            RecursiveResidualGroup(4, blocks=0)
