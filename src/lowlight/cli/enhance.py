"""``lowlight enhance``: enhance image and video files, folders (recursive) and globs into a
mirrored tree."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from lowlight.api import DEFAULT_MODEL
from lowlight.cli._common import (
    apply_prompt,
    load_model_from_options,
    model_options,
    prompt_option,
)
from lowlight.inference.tiling import DEFAULT_OVERLAP, DEFAULT_TILE

DEFAULT_VIDEO_CRF = 18  # lowlight.io.video.DEFAULT_CRF; repeated so --help needs no PyAV
DEFAULT_TEMPORAL_SMOOTHING = 0.8  # lowlight.inference.video.DEFAULT_TEMPORAL_SMOOTHING


@click.command("enhance")
@click.argument("inputs", nargs=-1, required=True)
@click.option(
    "--output",
    "-o",
    "out_dir",
    required=True,
    type=click.Path(path_type=Path),
    help="Output folder; the input tree is mirrored inside it. For a single input, a name "
    "with an image or video extension (out.png) is the output file itself.",
)
@model_options(DEFAULT_MODEL)
@prompt_option
@click.option(
    "--batch",
    "batch_size",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Images of equal size, or consecutive video frames, enhanced together.",
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
    help="Refuse images with more pixels, and videos whose --batch of frames holds more "
    "(memory and decompression-bomb guard); default 48 MP (about 4 GiB) or $LOWLIGHT_MAX_PIXELS.",
)
@click.option(
    "--temporal-smoothing",
    default=DEFAULT_TEMPORAL_SMOOTHING,
    show_default=True,
    type=click.FloatRange(0.0, 1.0, max_open=True),
    help="Videos: weight of the running average of whole-frame context (exposure gain, "
    "illumination or curve maps) against each new frame, against flicker; 0 = off.",
)
@click.option(
    "--video-crf",
    default=DEFAULT_VIDEO_CRF,
    show_default=True,
    type=click.IntRange(0, 51),
    help="Videos: constant rate factor (x264 scale; lower = better quality, larger file).",
)
@click.option(
    "--video-codec",
    default=None,
    help="Videos: FFmpeg encoder (libx264, mpeg4, libvpx-vp9...); default: H.264 for "
    "mp4/m4v/mov/mkv, MPEG-4 for avi, VP9 for webm.",
)
@click.option(
    "--speed",
    type=click.Choice(["fast", "balanced", "full"]),
    default=None,
    help="fast / balanced: the network runs on a ~1 / ~4 MP copy and its effect is applied "
    "at full resolution (photos in seconds; the model's denoising does not carry over, see "
    "--denoise); full: the network at full resolution (tiled). Default: the model's own "
    "(see `lowlight models`).",
)
@click.option(
    "--strength",
    default=1.0,
    show_default=True,
    type=click.FloatRange(min=0.0),
    help="0 = the input, 1 = the model's result, above 1 = stronger (clipped).",
)
@click.option(
    "--working-mp",
    default=None,
    type=click.FloatRange(min=0.01),
    help="Fast path: megapixels the network sees (default: 1 for fast, 4 for balanced).",
)
@click.option(
    "--denoise",
    default="0",
    show_default=True,
    metavar="SIGMA|auto",
    help="Fast path: edge-preserving denoise of the full-resolution input before the "
    "model's effect is applied; noise std in 8-bit levels, 'auto' to estimate it, 0 = off.",
)
@click.option("--no-recursive", is_flag=True, help="Do not descend into sub-folders.")
@click.option(
    "--engine",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="ray: model actors on Ray Data (images; $RAY_ADDRESS for a cluster; needs "
    "'lowlight[ray]').",
)
@click.option(
    "--actors",
    default=2,
    show_default=True,
    type=click.IntRange(min=1),
    help="--engine ray: model actors (one CPU, or one GPU with --device cuda, each).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def command(
    inputs: tuple[str, ...],
    out_dir: Path,
    model_name: str,
    weights: str,
    device: str,
    model_args: tuple[str, ...],
    prompt: str | None,
    batch_size: int,
    fmt: str | None,
    bit_depth: str | None,
    quality: int,
    overwrite: bool,
    tile: int,
    overlap: int,
    max_pixels: int | None,
    temporal_smoothing: float,
    video_crf: int,
    video_codec: str | None,
    speed: str | None,
    strength: float,
    working_mp: float | None,
    denoise: str,
    no_recursive: bool,
    engine: str,
    actors: int,
    quiet: bool,
) -> None:
    """Enhance INPUTS (files, folders, globs) into OUTPUT, mirroring the input tree.

    Outputs keep each input's format, mode (grey, alpha) and bit depth unless --format or
    --bit-depth say otherwise. Videos (.mp4 .m4v .mov .mkv .avi .webm; needs
    'lowlight[video]') are re-encoded into the same container with their frame rate and
    timing, and their audio copied where the container allows. A file that cannot be read
    is reported and the others are still written; the exit code is 1 if any file failed.
    """
    from lowlight.errors import LowlightError
    from lowlight.inference.fast_path import FastPathConfig, resolve_speed
    from lowlight.inference.files import RunSummary, enhance_files, plan_outputs
    from lowlight.io.formats import is_video_path
    from lowlight.io.listing import list_media

    items = list_media(list(inputs), recursive=not no_recursive)
    items, inside = _outside_output(items, out_dir)
    if inside and not quiet:
        click.echo(f"note: {inside} file(s) inside the output folder {out_dir} not read", err=True)
    if not items:
        raise LowlightError(f"no images or videos found in {', '.join(inputs)}")
    pairs = _single_file_output(items, out_dir, fmt) or plan_outputs(items, out_dir, fmt)
    fast = FastPathConfig(
        working_pixels=None if working_mp is None else round(working_mp * 1e6),
        denoise=_parse_denoise(denoise),
    )
    if engine == "ray":
        from lowlight.cli._common import parse_key_values
        from lowlight.cli._enhance_ray import run_ray

        bits = int(bit_depth) if bit_depth else None
        return run_ray(
            pairs, out_dir, model_name=model_name, weights=weights, device=device,
            model_args=parse_key_values(model_args), prompt=prompt, actors=actors, quiet=quiet,
            fmt=fmt, bit_depth=bits, overwrite=overwrite, batch_size=batch_size, tile=tile,
            overlap=overlap, max_pixels=max_pixels, quality=quality, speed=speed,
            strength=strength, fast=fast,
        )  # fmt: skip
    videos = [pair for pair in pairs if is_video_path(pair[0])]
    images = [pair for pair in pairs if not is_video_path(pair[0])]
    model = load_model_from_options(model_name, weights, device, model_args)
    apply_prompt(model, model_name, prompt)
    record = getattr(model, "weight_record", None)
    if record is not None and not quiet:
        click.echo(f"{model_name}: weights {record.name}, licence: {record.license}", err=True)
    speed = resolve_speed(model, speed)
    speeds = {"speed": speed, "strength": strength, "fast": fast}
    summary = RunSummary()
    if images:
        with _Progress(len(images), "img", quiet) as progress:
            done = enhance_files(
                model,
                images,
                fmt=fmt,
                bit_depth=int(bit_depth) if bit_depth else None,
                overwrite=overwrite,
                batch_size=batch_size,
                tile=tile,
                overlap=overlap,
                max_pixels=max_pixels,
                quality=quality,
                on_result=progress.on_result,
                **speeds,
            )
        summary.results += done.results
        summary.seconds += done.seconds
    if videos:
        from lowlight.inference.video import enhance_video_files

        with _Progress(len(videos), "video", quiet) as progress:
            done = enhance_video_files(
                model,
                videos,
                batch_size=batch_size,
                temporal_smoothing=temporal_smoothing,
                tile=tile,
                overlap=overlap,
                crf=video_crf,
                codec=video_codec,
                overwrite=overwrite,
                on_result=progress.on_result,
                progress=progress.on_frame,
                max_pixels=max_pixels,
                **speeds,
            )
        summary.results += done.results
        summary.seconds += done.seconds
    click.echo(f"{model_name} ({speed}) on {model.device}: {summary.line()} -> {out_dir}")
    notes = [r for r in summary.results if r.status == "written" and "dropped" in r.message]
    if notes and quiet:  # without -q they were printed as they happened
        for result in notes:
            click.echo(f"note: {result.source}: {result.message}", err=True)
    if summary.failed:
        click.echo("failed files:", err=True)
        for result in summary.failed:
            click.echo(f"  {result.describe()}", err=True)
        sys.exit(1)


def _outside_output(
    items: list[tuple[Path, Path]], out_dir: Path
) -> tuple[list[tuple[Path, Path]], int]:
    """Drop files inside ``out_dir`` (an output folder placed inside an input folder: a
    second run must not read its own outputs as inputs); return the rest and how many."""
    root = out_dir.resolve()
    kept = [(src, rel) for src, rel in items if not src.resolve().is_relative_to(root)]
    return kept, len(items) - len(kept)


def _single_file_output(
    items: list[tuple[Path, Path]], out: Path, fmt: str | None
) -> list[tuple[Path, Path]] | None:
    """``-o out.png`` (a media extension, not an existing folder) names the output file of a
    single input; ``None`` when ``out`` is a folder."""
    from lowlight.errors import LowlightError
    from lowlight.io.formats import format_from_name, format_from_path, is_media_path

    if out.is_dir() or not is_media_path(out):
        return None
    if len(items) != 1:
        raise LowlightError(
            f"-o {out} names a file, but {len(items)} inputs were found; give a folder"
        )
    src = items[0][0]
    if out.resolve() == src.resolve():
        raise LowlightError(f"output {out} would overwrite the input {src}")
    if fmt is not None and format_from_path(out) != format_from_name(fmt):
        raise LowlightError(f"--format {fmt} contradicts the output file name {out}")
    return [(src, out)]


def _parse_denoise(text: str) -> float | str:
    """``--denoise``: ``auto`` or a non-negative number of 8-bit levels."""
    from lowlight.errors import ConfigError

    if text.strip().lower() == "auto":
        return "auto"
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(
            f"--denoise takes a noise std in 8-bit levels or 'auto', got {text!r}"
        ) from None
    if value < 0:
        raise ConfigError(f"--denoise must be >= 0, got {value}")
    return value


class _Progress:
    """A files bar; for videos also a frames bar per video. Failures (and dropped audio)
    are printed as they happen."""

    def __init__(self, total: int, unit: str, quiet: bool) -> None:
        from tqdm import tqdm

        self._tqdm = tqdm
        self.quiet = quiet
        self.bar = tqdm(total=total, unit=unit, disable=quiet, file=sys.stderr, dynamic_ncols=True)
        self.frames: Any = None

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self._close_frames()
        self.bar.close()

    def on_result(self, result) -> None:  # noqa: ANN001
        self._close_frames()
        self.bar.update(1)
        if self.quiet:
            return
        if result.status == "failed":
            self.bar.write(f"failed: {result.describe()}", file=sys.stderr)
        elif "dropped" in result.message:  # audio a container cannot hold, alpha in JPEG
            self.bar.write(f"note: {result.source}: {result.message}", file=sys.stderr)

    def on_frame(self, source: Path, done: int, total: int | None) -> None:
        if self.quiet:
            return
        if self.frames is None:
            self.frames = self._tqdm(
                total=total,
                unit="frame",
                desc=source.name,
                leave=False,
                file=sys.stderr,
                dynamic_ncols=True,
            )
        self.frames.update(done - self.frames.n)

    def _close_frames(self) -> None:
        if self.frames is not None:
            self.frames.close()
            self.frames = None
