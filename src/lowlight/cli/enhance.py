"""``lowlight enhance``: enhance files, folders (recursive) and globs into a mirrored tree."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from lowlight.api import DEFAULT_MODEL
from lowlight.cli._common import load_model_from_options, model_options
from lowlight.inference.tiling import DEFAULT_OVERLAP, DEFAULT_TILE


@click.command("enhance")
@click.argument("inputs", nargs=-1, required=True)
@click.option(
    "--output",
    "-o",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder; the input tree is mirrored inside it.",
)
@model_options(DEFAULT_MODEL)
@click.option(
    "--batch",
    "batch_size",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Images of equal size enhanced together.",
)
@click.option(
    "--format",
    "fmt",
    default=None,
    help="Output format (png, jpg, tiff, webp, bmp); default: the input's.",
)
@click.option(
    "--bit-depth",
    type=click.Choice(["8", "16"]),
    default=None,
    help="Output bit depth; default: the input's (16 only for PNG/TIFF).",
)
@click.option(
    "--quality",
    default=95,
    show_default=True,
    type=click.IntRange(1, 100),
    help="JPEG/WebP quality.",
)
@click.option(
    "--overwrite", is_flag=True, help="Replace existing outputs (inputs are never overwritten)."
)
@click.option(
    "--tile",
    default=DEFAULT_TILE,
    show_default=True,
    type=click.IntRange(min=64),
    help="Images larger than this (pixels per side) are enhanced in overlapping tiles.",
)
@click.option("--overlap", default=DEFAULT_OVERLAP, show_default=True, type=click.IntRange(min=0))
@click.option(
    "--max-pixels",
    default=None,
    type=click.IntRange(min=1),
    help="Refuse images with more pixels (decompression-bomb guard); default 200 MP or $LOWLIGHT_MAX_PIXELS.",
)
@click.option("--no-recursive", is_flag=True, help="Do not descend into sub-folders.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def command(
    inputs: tuple[str, ...],
    out_dir: Path,
    model_name: str,
    weights: str,
    device: str,
    model_args: tuple[str, ...],
    batch_size: int,
    fmt: str | None,
    bit_depth: str | None,
    quality: int,
    overwrite: bool,
    tile: int,
    overlap: int,
    max_pixels: int | None,
    no_recursive: bool,
    quiet: bool,
) -> None:
    """Enhance INPUTS (files, folders, globs) into OUTPUT, mirroring the input tree.

    Outputs keep each input's format, mode (grey, alpha) and bit depth unless --format or
    --bit-depth say otherwise. A file that cannot be read is reported and the others are
    still written; the exit code is 1 if any file failed.
    """
    from tqdm import tqdm

    from lowlight.errors import LowlightError
    from lowlight.inference.files import enhance_files, plan_outputs
    from lowlight.io import list_images

    items = list_images(list(inputs), recursive=not no_recursive)
    if not items:
        raise LowlightError(f"no images found in {', '.join(inputs)}")
    pairs = plan_outputs(items, out_dir, fmt)
    model = load_model_from_options(model_name, weights, device, model_args)
    bar = tqdm(total=len(pairs), unit="img", disable=quiet, file=sys.stderr, dynamic_ncols=True)

    def on_result(result) -> None:  # noqa: ANN001
        bar.update(1)
        if result.status == "failed" and not quiet:
            bar.write(f"failed: {result.describe()}", file=sys.stderr)

    try:
        summary = enhance_files(
            model,
            pairs,
            fmt=fmt,
            bit_depth=int(bit_depth) if bit_depth else None,
            overwrite=overwrite,
            batch_size=batch_size,
            tile=tile,
            overlap=overlap,
            max_pixels=max_pixels,
            quality=quality,
            on_result=on_result,
        )
    finally:
        bar.close()
    click.echo(f"{model_name} on {model.device}: {summary.line()} -> {out_dir}")
    if summary.failed:
        click.echo("failed files:", err=True)
        for result in summary.failed:
            click.echo(f"  {result.describe()}", err=True)
        sys.exit(1)
