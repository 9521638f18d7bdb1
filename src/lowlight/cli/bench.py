"""``lowlight bench``: parameters, MACs, latency and peak memory of a model, and the
end-to-end cost of a photo (decode, enhance at a speed mode, encode) beside the forward.

What each figure measures is spelled out in :mod:`lowlight.profiling`,
:mod:`lowlight.photo_cost` and in the printed table's notes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from lowlight.cli._common import model_options

DEFAULT_SIZES = ("600x400",)


@click.command("bench")
@model_options(default_model=None)
@click.option(
    "--random-init", is_flag=True, help="Benchmark the architecture with random parameters."
)
@click.option(
    "--size",
    "sizes",
    multiple=True,
    default=DEFAULT_SIZES,
    show_default=True,
    metavar="WxH",
    help="Input size, width x height (repeatable).",
)
@click.option(
    "--runs", type=click.IntRange(min=1), default=20, show_default=True, help="Timed runs per size."
)
@click.option(
    "--warmup", type=click.IntRange(min=0), default=3, show_default=True, help="Untimed runs first."
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=None,
    help="torch CPU threads [default: torch's].",
)
@click.option(
    "--batch", type=click.IntRange(min=1), default=1, show_default=True, help="Images per forward."
)
@click.option(
    "--photo-runs",
    type=click.IntRange(min=0),
    default=1,
    show_default=True,
    help="Timed end-to-end photo runs per size (JPEG decode, enhance, encode); 0 skips them.",
)
@click.option(
    "--speed",
    type=click.Choice(["fast", "balanced", "full"]),
    default=None,
    help="Speed mode of the photo runs [default: the model's].",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write JSON here.",
)
def command(
    model_name: str,
    weights: str,
    device: str,
    model_args: tuple[str, ...],
    random_init: bool,
    sizes: tuple[str, ...],
    runs: int,
    warmup: int,
    threads: int | None,
    batch: int,
    photo_runs: int,
    speed: str | None,
    json_path: Path | None,
) -> None:
    """Report a model's parameters, MACs, median/p90 latency and peak memory."""
    import json

    import torch

    import lowlight
    from lowlight import profiling
    from lowlight.cli._common import load_model_from_options
    from lowlight.device import prepare_runtime, resolve_device
    from lowlight.errors import WeightsError

    if random_init and weights != "default":
        raise click.UsageError("--random-init and --weights exclude each other")
    parsed_sizes = [profiling.parse_size(s) for s in sizes]
    _check_sizes(parsed_sizes, batch)
    dev = resolve_device(device)
    if threads is not None:
        torch.set_num_threads(threads)
    prepare_runtime(dev)
    weights_arg = "none" if random_init else weights
    try:
        model = load_model_from_options(
            model_name, weights_arg, str(dev), model_args, allow_random_default=True
        )
    except WeightsError as exc:
        raise WeightsError(
            f"{exc} (use --random-init to benchmark the architecture alone)"
        ) from exc

    try:
        results = profiling.profile_sizes(
            model, parsed_sizes, batch=batch, runs=runs, warmup=warmup, device=dev
        )
    except (MemoryError, torch.OutOfMemoryError) as exc:
        from lowlight.errors import LowlightError

        raise LowlightError(
            f"out of memory benchmarking {model_name} at batch {batch}: try smaller --size"
        ) from exc
    report = profiling.BenchReport(
        model=model_name,
        weights=_weights_text(model, weights_arg),
        device=str(dev),
        device_name=profiling.device_name(dev),
        threads=torch.get_num_threads(),
        torch_version=torch.__version__,
        lowlight_version=lowlight.__version__,
        params=profiling.count_parameters(model),
        mac_method=profiling.MAC_METHOD,
        results=results,
        model_args=_parsed_args(model_args),
    )
    photo = []
    if photo_runs:
        from lowlight.photo_cost import measure_photo_cost

        photo = [
            measure_photo_cost(model, w, h, speed=speed, runs=photo_runs) for w, h in parsed_sizes
        ]
    click.echo(format_report(report, photo))
    if json_path is not None:
        from dataclasses import asdict

        from lowlight.evaluation.reports import atomic_write_text

        data = {**report.to_dict(), "photo": [asdict(cost) for cost in photo]}
        atomic_write_text(json_path, json.dumps(data, indent=2, default=str) + "\n")
        click.echo(f"json: {json_path}")


def _check_sizes(sizes: list[tuple[int, int]], batch: int) -> None:
    """Refuse sizes whose batch holds more pixels than the image pixel limit
    (:func:`lowlight.io.resolve_max_pixels`, ``$LOWLIGHT_MAX_PIXELS``) before allocating."""
    from lowlight.errors import ConfigError
    from lowlight.io.image import MAX_PIXELS_ENV, resolve_max_pixels

    limit = resolve_max_pixels(None)
    for width, height in sizes:
        if width * height * batch > limit:
            raise ConfigError(
                f"--size {width}x{height} x --batch {batch} = {width * height * batch / 1e6:.1f} "
                f"megapixels exceeds the limit of {limit / 1e6:.1f} megapixels that enhance "
                f"applies to images (raise ${MAX_PIXELS_ENV} if the machine can hold it)"
            )


def format_report(report: Any, photo: Any = ()) -> str:
    """The bench report as plain text: a header, one table row per size, notes, and the
    end-to-end photo table (``photo``: :class:`~lowlight.photo_cost.PhotoCost` per size)."""
    params = report.params
    lines = [
        f"model: {report.model}  weights: {report.weights}",
        f"device: {report.device} ({report.device_name})  threads: {report.threads}  "
        f"torch {report.torch_version}  lowlight {report.lowlight_version}",
        f"params: {params.total:,} total, {params.trainable:,} trainable ({params.total / 1e6:.4f} M)",
    ]
    if report.model_args:
        lines.append(f"model args: {report.model_args}")
    header = ["size (WxH)", "batch", "GMACs/img", "median ms", "p90 ms", "peak MiB"]
    rows = [
        [
            f"{r.width}x{r.height}",
            str(r.batch),
            f"{r.macs / 1e9:.3f}",
            f"{r.latency.median_ms:.2f}",
            f"{r.latency.p90_ms:.2f}",
            "-" if r.memory.peak_bytes is None else f"{r.memory.peak_bytes / 2**20:.1f}",
        ]
        for r in report.results
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines.append("")
    lines.append("  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True)))
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    lines.append("")
    if report.results:
        first = report.results[0]
        lines.append(
            f"latency: median / p90 of {first.latency.runs} runs after {first.latency.warmup} warm-up"
        )
        lines.append(f"peak memory: {first.memory.kind}")
        rss = max((r.memory.process_max_rss_bytes or 0) for r in report.results)
        if rss:
            lines.append(f"process max RSS (whole process since start): {rss / 2**20:.1f} MiB")
        ops = sorted({op for r in report.results for op in r.macs_by_op})
        counted = ", ".join(ops) if ops else "none (no counted ops ran: 0 MACs)"
        lines.append(f"MACs: {report.mac_method}; ops seen: {counted}")
    if photo:
        lines += ["", *_photo_table(report, photo)]
    return "\n".join(lines)


def _photo_table(report: Any, photo: Any) -> list[str]:
    """End-to-end photo rows beside the forward's median latency of the same size."""
    forward = {(r.width, r.height): r.latency.median_ms for r in report.results}
    header = ["photo (WxH)", "speed", "decode ms", "enhance ms", "encode ms", "total ms"]
    header.append("forward ms")
    rows = [
        [
            f"{c.width}x{c.height}",
            c.speed,
            f"{c.decode_ms:.1f}",
            f"{c.enhance_ms:.1f}",
            f"{c.encode_ms:.1f}",
            f"{c.total_ms:.1f}",
            f"{forward.get((c.width, c.height), float('nan')):.1f}",
        ]
        for c in photo
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    lines.append(
        f"photo: JPEG q95 of a synthetic photo, read_image -> enhance (speed mode, in place) -> "
        f"write_image, median of {photo[0].runs} run(s) after a warm-up, in this process; "
        "forward ms = the network alone at full resolution (table above)"
    )
    return lines


def _weights_text(model: Any, weights: str) -> str:
    if weights.lower() == "none":
        return "none (random init)"
    record = getattr(model, "weight_record", None)
    if record is not None:
        return f"{weights} ({record.name})"
    if weights == "default":
        has_params = any(True for _ in model.parameters())
        return "default: none shipped (random init)" if has_params else "none (no parameters)"
    return weights


def _parsed_args(model_args: tuple[str, ...]) -> dict[str, Any]:
    from lowlight.cli._common import parse_key_values

    return parse_key_values(model_args)
