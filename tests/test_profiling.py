"""Parameter and MAC counting, latency and memory measurement (lowlight.profiling)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lowlight import profiling
from lowlight.errors import LowlightError


class TinyNet(nn.Module):
    """conv 3->4 (3x3, bias), then a frozen conv 4->3 (1x1, no bias)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 3, 1, bias=False)
        self.conv2.weight.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.conv2(torch.relu(self.conv1(x))))


class TestParams:
    def test_known_model(self) -> None:
        count = profiling.count_parameters(TinyNet())
        assert count.total == (3 * 4 * 9 + 4) + 4 * 3
        assert count.trainable == 3 * 4 * 9 + 4

    def test_shared_parameters_counted_once(self) -> None:
        lin = nn.Linear(5, 5)
        assert profiling.count_parameters(nn.Sequential(lin, lin)).total == 30


class TestMacs:
    def test_single_conv2d_hand_computed(self) -> None:
        conv = nn.Conv2d(3, 8, kernel_size=3, padding=1)
        macs = profiling.count_macs(conv, torch.rand(1, 3, 10, 12))
        # every output element: C_in * k * k multiply-adds (bias not counted)
        assert macs.macs == 8 * 10 * 12 * 3 * 3 * 3
        assert macs.by_op == {"aten.convolution": macs.macs}

    def test_strided_grouped_transposed_and_linear(self) -> None:
        grouped = nn.Conv2d(4, 8, 3, stride=2, padding=1, groups=2)
        assert profiling.count_macs(grouped, torch.rand(1, 4, 8, 8)).macs == 8 * 4 * 4 * 2 * 9
        up = nn.ConvTranspose2d(3, 2, 2, stride=2)
        assert profiling.count_macs(up, torch.rand(1, 3, 5, 5)).macs == 3 * 5 * 5 * 2 * 2 * 2
        lin = nn.Linear(6, 7)
        assert profiling.count_macs(lin, torch.rand(2, 6)).macs == 2 * 6 * 7

    def test_counted_ops_include_conv_and_matmul(self) -> None:
        ops = profiling.counted_ops()
        assert {"aten.convolution", "aten.mm", "aten.bmm"} <= set(ops)
        assert not any("backward" in op for op in ops)

    def test_elementwise_ops_are_not_counted(self) -> None:
        assert (
            profiling.count_macs(lambda x: (x * 2).clamp(0, 1) ** 0.5, torch.rand(1, 3, 8, 8)).macs
            == 0
        )


class TestTiming:
    def test_latency_stats(self) -> None:
        stats = profiling.measure_latency(TinyNet(), torch.rand(1, 3, 16, 16), runs=5, warmup=1)
        assert stats.runs == 5 and stats.warmup == 1
        assert 0 < stats.min_ms <= stats.median_ms <= stats.p90_ms <= stats.max_ms

    def test_bad_counts(self) -> None:
        with pytest.raises(LowlightError):
            profiling.measure_latency(TinyNet(), torch.rand(1, 3, 8, 8), runs=0)

    def test_percentile_matches_numpy_linear(self) -> None:
        values = [5.0, 1.0, 3.0, 2.0, 4.0]
        assert profiling.percentile(values, 90) == pytest.approx(4.6)
        assert profiling.percentile(values, 50) == 3.0
        assert profiling.percentile([7.0], 90) == 7.0


class TestMemory:
    def test_cpu_peak_covers_the_activations(self) -> None:
        model = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 3, 3, padding=1)
        )
        memory = profiling.measure_peak_memory(model, torch.rand(1, 3, 32, 32))
        activation = 16 * 32 * 32 * 4
        assert memory.peak_bytes is not None and memory.peak_bytes >= activation
        assert "torch.profiler" in memory.kind
        assert memory.process_max_rss_bytes is None or memory.process_max_rss_bytes > 0


class TestProfileSizes:
    def test_cpu_small_sizes(self) -> None:
        results = profiling.profile_sizes(TinyNet(), [(20, 12), (8, 8)], batch=2, runs=2, warmup=1)
        assert [(r.width, r.height, r.batch) for r in results] == [(20, 12, 2), (8, 8, 2)]
        assert results[0].macs == 20 * 12 * (4 * 3 * 9 + 3 * 4)  # per image, not per batch
        assert results[0].latency.runs == 2

    def test_example_input_shape_and_range(self) -> None:
        x = profiling.example_input(30, 20, batch=3)
        assert x.shape == (3, 3, 20, 30)
        assert float(x.min()) >= 0 and float(x.max()) <= 0.3


@pytest.mark.parametrize(("text", "size"), [("600x400", (600, 400)), (" 32X24 ", (32, 24))])
def test_parse_size(text: str, size: tuple[int, int]) -> None:
    assert profiling.parse_size(text) == size


@pytest.mark.parametrize("text", ["600", "0x4", "axb", "600x400x3"])
def test_parse_size_rejects(text: str) -> None:
    with pytest.raises(LowlightError, match="WIDTHxHEIGHT"):
        profiling.parse_size(text)


def test_device_name_cpu() -> None:
    assert profiling.device_name(torch.device("cpu"))
