"""Cost of a model: parameters, MACs, latency and peak memory (``lowlight bench``).

What each figure is:

* **parameters**: unique ``nn.Parameter`` elements (shared ones once), total and trainable;
* **MACs**: multiply-accumulates of one forward on one image, counted by
  :class:`torch.utils.flop_counter.FlopCounterMode` as FLOPs / 2. It counts the matrix
  products and convolutions torch dispatches (:data:`COUNTED_OPS`: ``mm``, ``addmm``,
  ``bmm``, ``baddbmm``, ``convolution`` incl. transposed and grouped, scaled-dot-product
  attention); ``nn.Linear``, ``matmul`` and ``einsum`` reach these. Biases, element-wise
  ops, normalisation, pooling, FFTs and anything computed outside torch (numpy) are not
  counted, so classical operators report 0;
* **latency**: wall time of ``model(x)`` under ``torch.inference_mode()`` over ``runs``
  calls after ``warmup`` calls, with ``torch.cuda.synchronize()`` around each on CUDA;
  median and 90th percentile;
* **peak memory**: on CUDA ``torch.cuda.max_memory_allocated`` over one forward (weights
  and input included); on CPU the peak of tensor memory torch allocated during one
  forward, from ``torch.profiler`` memory events, above what was allocated before it
  (numpy or other native allocations are invisible to it), with the process's maximum
  resident set size reported beside it as an upper bound of everything.
"""

from __future__ import annotations

import contextlib
import os
import platform
import re
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from lowlight.errors import LowlightError

COUNTED_OPS = (
    "aten.mm, aten.addmm, aten.bmm, aten.baddbmm, aten.convolution (incl. transposed, grouped), "
    "scaled-dot-product / flash / efficient / flex attention, aten._scaled_mm"
)
"""The operations whose MACs are counted (via ``FlopCounterMode``), in words; the exact list
for the installed torch is :func:`counted_ops`. Everything else counts 0."""

MAC_METHOD = (
    f"torch.utils.flop_counter.FlopCounterMode, MACs = FLOPs / 2; counted ops: {COUNTED_OPS}"
)


CPU_MEMORY_KIND = (
    "peak torch CPU tensor memory allocated during one forward above the level before it "
    "(torch.profiler memory events; numpy/native allocations not seen)"
)
CUDA_MEMORY_KIND = "torch.cuda.max_memory_allocated during one forward (includes weights and input)"


def counted_ops() -> list[str]:
    """The forward operators the installed torch's ``FlopCounterMode`` counts."""
    from torch.utils.flop_counter import flop_registry

    return sorted({str(op) for op in flop_registry if "backward" not in str(op)})


@dataclass(frozen=True)
class ParamCount:
    """Number of parameter elements."""

    total: int
    trainable: int


@dataclass(frozen=True)
class MacCount:
    """MACs of one forward and their split by operator (``"aten.convolution"`` -> MACs)."""

    macs: int
    by_op: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class LatencyStats:
    """Latency of one forward in milliseconds over ``runs`` timed calls."""

    median_ms: float
    p90_ms: float
    mean_ms: float
    min_ms: float
    max_ms: float
    runs: int
    warmup: int


@dataclass(frozen=True)
class PeakMemory:
    """Peak memory of one forward; ``kind`` says exactly what ``peak_bytes`` measures.

    ``process_max_rss_bytes`` is the high-water mark of the whole process's resident
    memory since it started (Python, torch, the model, everything); ``None`` where the
    platform has no :mod:`resource` module.
    """

    peak_bytes: int | None
    kind: str
    process_max_rss_bytes: int | None = None


@dataclass(frozen=True)
class SizeResult:
    """Cost of a model on inputs ``(batch, 3, height, width)``. MACs are per image."""

    width: int
    height: int
    batch: int
    macs: int
    macs_by_op: dict[str, int]
    latency: LatencyStats
    memory: PeakMemory


@dataclass
class BenchReport:
    """Everything ``lowlight bench`` measured, with the conditions it measured under."""

    model: str
    weights: str
    device: str
    device_name: str
    threads: int
    torch_version: str
    lowlight_version: str
    params: ParamCount
    mac_method: str
    results: list[SizeResult]
    counted_ops: list[str] = field(default_factory=counted_ops)
    model_args: dict[str, Any] = field(default_factory=dict)
    python_version: str = field(default_factory=platform.python_version)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict."""
        return asdict(self)


def count_parameters(model: nn.Module) -> ParamCount:
    """Total and trainable parameter elements of ``model`` (shared parameters counted once)."""
    params = list(model.parameters())
    return ParamCount(
        total=sum(p.numel() for p in params),
        trainable=sum(p.numel() for p in params if p.requires_grad),
    )


def count_macs(model: Callable[[Tensor], Any], x: Tensor) -> MacCount:
    """MACs of ``model(x)`` for the whole batch ``x`` ``(B, 3, H, W)`` (see :data:`COUNTED_OPS`)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        model(x)
    by_op = {
        str(op): int(flops) // 2
        for op, flops in counter.get_flop_counts().get("Global", {}).items()
    }
    return MacCount(macs=int(counter.get_total_flops()) // 2, by_op=by_op)


def measure_latency(
    model: Callable[[Tensor], Any], x: Tensor, *, runs: int = 20, warmup: int = 3
) -> LatencyStats:
    """Time ``model(x)`` ``runs`` times after ``warmup`` untimed calls (inference mode;
    CUDA synchronised before and after each call)."""
    if runs < 1:
        raise LowlightError(f"runs must be >= 1, got {runs}")
    if warmup < 0:
        raise LowlightError(f"warmup must be >= 0, got {warmup}")
    sync = _synchronizer(x.device)
    times: list[float] = []
    with torch.inference_mode():
        for _ in range(warmup):
            model(x)
        sync()
        for _ in range(runs):
            start = time.perf_counter()
            model(x)
            sync()
            times.append((time.perf_counter() - start) * 1000.0)
    return LatencyStats(
        median_ms=statistics.median(times),
        p90_ms=percentile(times, 90.0),
        mean_ms=statistics.fmean(times),
        min_ms=min(times),
        max_ms=max(times),
        runs=runs,
        warmup=warmup,
    )


def measure_peak_memory(model: Callable[[Tensor], Any], x: Tensor) -> PeakMemory:
    """Peak memory of one ``model(x)``; see :class:`PeakMemory` and the module docstring."""
    if x.device.type == "cuda":
        torch.cuda.synchronize(x.device)
        torch.cuda.reset_peak_memory_stats(x.device)
        with torch.inference_mode():
            model(x)
        torch.cuda.synchronize(x.device)
        peak = int(torch.cuda.max_memory_allocated(x.device))
        return PeakMemory(peak, CUDA_MEMORY_KIND, process_max_rss_bytes())
    if x.device.type == "cpu":
        peak = _cpu_tensor_peak(model, x)
        return PeakMemory(peak, CPU_MEMORY_KIND, process_max_rss_bytes())
    return PeakMemory(None, f"not measured on {x.device.type}", process_max_rss_bytes())


def process_max_rss_bytes() -> int | None:
    """High-water mark of this process's resident memory in bytes (``None`` without :mod:`resource`)."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(rss) if sys.platform == "darwin" else int(rss) * 1024  # macOS: bytes, Linux: KiB


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile of ``values`` with linear interpolation (numpy's default)."""
    if not values:
        raise ValueError("percentile of an empty sequence")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def parse_size(text: str) -> tuple[int, int]:
    """``"600x400"`` -> ``(width, height)`` = ``(600, 400)``."""
    match = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", text)
    if not match or int(match[1]) < 1 or int(match[2]) < 1:
        raise LowlightError(f"size must look like WIDTHxHEIGHT (e.g. 600x400), got '{text}'")
    return int(match[1]), int(match[2])


def device_name(device: torch.device) -> str:
    """Human-readable name of the GPU or CPU behind ``device``."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "cpu":
        return _cpu_name()
    return device.type


def example_input(
    width: int, height: int, batch: int = 1, device: torch.device | str = "cpu"
) -> Tensor:
    """A reproducible dark test batch ``(batch, 3, height, width)`` with values in ``[0, 0.3]``."""
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(batch, 3, height, width, generator=generator) * 0.3
    return x.to(device)


def profile_sizes(
    model: nn.Module,
    sizes: Sequence[tuple[int, int]],
    *,
    batch: int = 1,
    runs: int = 20,
    warmup: int = 3,
    device: torch.device | None = None,
) -> list[SizeResult]:
    """MACs, latency and peak memory of ``model`` at each ``(width, height)`` in ``sizes``.

    MACs are counted on one image; latency and memory use ``batch`` images.
    """
    if batch < 1:
        raise LowlightError(f"batch must be >= 1, got {batch}")
    if device is None:
        first = next(iter(model.parameters()), None)
        device = first.device if first is not None else torch.device("cpu")
    results = []
    for width, height in sizes:
        single = example_input(width, height, 1, device)
        macs = count_macs(model, single)
        x = single if batch == 1 else example_input(width, height, batch, device)
        memory = measure_peak_memory(model, x)
        latency = measure_latency(model, x, runs=runs, warmup=warmup)
        results.append(SizeResult(width, height, batch, macs.macs, macs.by_op, latency, memory))
    return results


def _synchronizer(device: torch.device) -> Callable[[], None]:
    if device.type == "cuda":
        return lambda: torch.cuda.synchronize(device)
    return lambda: None


def _cpu_tensor_peak(model: Callable[[Tensor], Any], x: Tensor) -> int | None:
    """Peak of the running sum of torch CPU allocation events during one forward."""
    from torch.profiler import ProfilerActivity, profile

    with (
        _quiet_native_stderr(),
        torch.inference_mode(),
        profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof,
    ):
        model(x)
    try:
        events = prof.profiler.kineto_results.events()
        sizes = [
            (e.start_ns(), e.nbytes())
            for e in events
            if e.name() == "[memory]" and e.device_type() == torch.autograd.DeviceType.CPU
        ]
    except AttributeError:  # the profiler's result API moved; report nothing rather than guess
        return None
    sizes.sort(key=lambda t: t[0])
    level = peak = 0
    for _, nbytes in sizes:
        level += nbytes
        peak = max(peak, level)
    return peak


@contextlib.contextmanager
def _quiet_native_stderr() -> Iterator[None]:
    """Silence the native profiler's start/stop lines written to file descriptor 2."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        sys.stderr.flush()
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "cpu"


__all__ = [
    "COUNTED_OPS",
    "MAC_METHOD",
    "BenchReport",
    "LatencyStats",
    "MacCount",
    "ParamCount",
    "PeakMemory",
    "SizeResult",
    "count_macs",
    "counted_ops",
    "count_parameters",
    "device_name",
    "example_input",
    "measure_latency",
    "measure_peak_memory",
    "parse_size",
    "percentile",
    "process_max_rss_bytes",
    "profile_sizes",
]
