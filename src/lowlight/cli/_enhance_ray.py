"""``lowlight enhance --engine ray``: hand the planned images to :mod:`lowlight.inference.ray_engine`
and report as the local engine does (summary line, failed files named, exit code 1)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from lowlight.errors import LowlightError


def run_ray(
    pairs: Sequence[tuple[Path, Path]],
    out_dir: Path,
    *,
    model_name: str,
    weights: str,
    device: str,
    model_args: dict[str, Any],
    prompt: str | None,
    actors: int,
    quiet: bool,
    **options: Any,
) -> None:
    """Enhance image ``pairs`` on Ray with ``actors`` model actors; exits 1 if any file failed."""
    from tqdm import tqdm

    from lowlight.api import load
    from lowlight.device import resolve_device
    from lowlight.inference.ray_engine import ModelSpec, WriteOptions, enhance_files_ray
    from lowlight.io.formats import is_video_path

    if any(is_video_path(src) for src, _ in pairs):
        raise LowlightError("--engine ray enhances images; run videos with the local engine")
    chosen = None if weights.lower() == "none" else weights
    resolved = str(resolve_device(device))
    from lowlight.inference.fast_path import resolve_speed

    # fail fast, before Ray starts; and name the speed mode the actors will run
    probe = load(model_name, weights=chosen, device="cpu", **model_args)
    speed = resolve_speed(probe, options.pop("speed", None))
    spec = ModelSpec(model_name, chosen, resolved, dict(model_args), prompt)
    with tqdm(total=len(pairs), unit="img", disable=quiet, file=sys.stderr) as bar:

        def on_result(result: Any) -> None:
            bar.update(1)
            if result.status == "failed" and not quiet:
                bar.write(f"failed: {result.describe()}", file=sys.stderr)

        summary = enhance_files_ray(
            spec,
            pairs,
            WriteOptions(speed=speed, **options),
            actors=actors,
            on_result=on_result,
        )
    click.echo(
        f"{model_name} ({speed}) on Ray ({actors} actors, {resolved}): {summary.line()} -> {out_dir}"
    )
    if summary.failed:
        click.echo("failed files:", err=True)
        for result in summary.failed:
            click.echo(f"  {result.describe()}", err=True)
        sys.exit(1)
