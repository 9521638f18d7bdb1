"""Enhance many image files: mirror the input tree, never touch inputs, keep going past bad files."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from lowlight.errors import LowlightError
from lowlight.inference.fast_path import DEFAULT_FAST, FastPathConfig, enhance_at_speed
from lowlight.inference.tiling import DEFAULT_OVERLAP, DEFAULT_TILE

if TYPE_CHECKING:
    from lowlight.models.base import EnhancementModel


@dataclass
class FileResult:
    """Outcome for one input file: ``status`` is ``written``, ``skipped`` or ``failed``."""

    source: Path
    output: Path
    status: str
    message: str = ""

    def describe(self) -> str:
        """``source: message``, without repeating the path when the message already names it."""
        return (
            self.message if str(self.source) in self.message else f"{self.source}: {self.message}"
        )


@dataclass
class RunSummary:
    """Counts and per-file results of a batch run."""

    results: list[FileResult] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)

    @property
    def failed(self) -> list[FileResult]:
        return [r for r in self.results if r.status == "failed"]

    def line(self) -> str:
        """One-line summary for the end of a run."""
        return (
            f"{self.count('written')} written, {self.count('skipped')} skipped (output exists), "
            f"{self.count('failed')} failed, in {self.seconds:.1f} s"
        )


def plan_outputs(
    items: Sequence[tuple[Path, Path]], out_dir: Path, fmt: str | None
) -> list[tuple[Path, Path]]:
    """Pair each ``(source, relative_path)`` with its output path under ``out_dir``.

    The output mirrors the relative path; ``fmt`` (e.g. ``png``) replaces the extension of
    images (videos keep their container). Raises :class:`LowlightError` if an output would be
    an input file or two inputs map to the same output (e.g. ``a.png`` and ``a.jpg`` with
    ``--format png``).
    """
    from lowlight.io import FORMAT_EXTENSIONS
    from lowlight.io.formats import is_video_path

    inputs = {src.resolve() for src, _ in items}
    planned: dict[Path, Path] = {}
    pairs = []
    for src, rel in items:
        out = out_dir / rel
        if fmt is not None and not is_video_path(src):
            key = fmt.lower()
            if key not in FORMAT_EXTENSIONS:
                raise LowlightError(
                    f"unknown format '{fmt}'; choose one of {', '.join(sorted(FORMAT_EXTENSIONS))}"
                )
            out = out.with_suffix(FORMAT_EXTENSIONS[key])
        resolved = out.resolve()
        if resolved in inputs:
            raise LowlightError(
                f"output {out} would overwrite the input {src}; choose another output folder"
            )
        if resolved in planned:
            raise LowlightError(
                f"inputs {planned[resolved]} and {src} would both be written to {out}; "
                "rename one or keep each input's format"
            )
        planned[resolved] = src
        pairs.append((src, out))
    return pairs


def _dropped_alpha(data: object, dst: Path, fmt: str | None) -> str:
    """A note when the source's transparency cannot be kept in the output format."""
    from lowlight.io.formats import format_from_name, format_from_path

    if getattr(data, "alpha", None) is None:
        return ""
    out_format = format_from_name(fmt) if fmt else format_from_path(dst)
    if out_format in ("JPEG", "BMP"):
        return (
            f"alpha dropped: {out_format} has no transparency "
            "(use --format png, tiff or webp to keep it)"
        )
    return ""


def enhance_files(
    model: EnhancementModel,
    pairs: Sequence[tuple[Path, Path]],
    *,
    fmt: str | None = None,
    bit_depth: int | None = None,
    overwrite: bool = False,
    batch_size: int = 1,
    tile: int = DEFAULT_TILE,
    overlap: int = DEFAULT_OVERLAP,
    max_pixels: int | None = None,
    quality: int = 95,
    speed: str | None = None,
    strength: float = 1.0,
    fast: FastPathConfig = DEFAULT_FAST,
    on_result: Callable[[FileResult], None] | None = None,
) -> RunSummary:
    """Enhance ``(source, output)`` pairs; images of equal size are batched up to ``batch_size``.

    Each file is read, enhanced (tiled when large) and written atomically in the source's
    mode and bit depth (or ``fmt``/``bit_depth``). An existing output is skipped unless
    ``overwrite``. A file that cannot be read or written is recorded as failed and the run
    continues. ``on_result`` is called once per file (progress reporting). ``speed``,
    ``strength`` and ``fast``: see :func:`~lowlight.inference.fast_path.enhance_at_speed`.

    Memory: the decoded float image is viewed as ``(1, 3, H, W)`` without a copy (channels
    last) and the fast path writes its result into it, so a photo costs about one float
    copy plus the encoder's buffers.
    """
    from lowlight.io import read_image, write_image

    summary = RunSummary()
    start = time.perf_counter()

    def record(result: FileResult) -> None:
        summary.results.append(result)
        if on_result is not None:
            on_result(result)

    pending: list[tuple[Path, Path, object]] = []

    def flush() -> None:
        if not pending:
            return
        batch = _as_batch([d.rgb for _, _, d in pending], model.device)
        try:
            out = enhance_at_speed(
                model,
                batch,
                speed=speed,
                strength=strength,
                tile=tile,
                overlap=overlap,
                config=fast,
                in_place=True,
            )
        except Exception as exc:  # noqa: BLE001 - one bad batch must not end the run
            for src, dst, _ in pending:
                record(FileResult(src, dst, "failed", f"enhancement failed: {exc}"))
            pending.clear()
            return
        del batch
        rgb = out.permute(0, 2, 3, 1).float().cpu().numpy()
        for (src, dst, data), image in zip(pending, rgb, strict=True):
            data.rgb = np.empty((0, 0, 3), np.float32)  # the pixels live on in ``rgb`` only
            try:
                write_image(
                    dst,
                    image,
                    like=data,
                    format=fmt,
                    bit_depth=bit_depth,
                    overwrite=overwrite,
                    quality=quality,
                )
                record(FileResult(src, dst, "written", _dropped_alpha(data, dst, fmt)))
            except Exception as exc:  # noqa: BLE001
                record(FileResult(src, dst, "failed", str(exc)))
        pending.clear()

    from lowlight.io.atomic import remove_stale_temporaries

    for folder in sorted({dst.parent for _, dst in pairs}):
        remove_stale_temporaries(folder)  # left by a run killed mid-write
    for src, dst in pairs:
        if dst.exists() and not overwrite:
            record(FileResult(src, dst, "skipped", "output exists (use --overwrite)"))
            continue
        try:
            data = read_image(src, max_pixels=max_pixels)
        except LowlightError as exc:
            record(FileResult(src, dst, "failed", str(exc)))
            continue
        except Exception as exc:  # noqa: BLE001 - one malformed file must not end the run
            record(FileResult(src, dst, "failed", f"cannot read: {type(exc).__name__}: {exc}"))
            continue
        if pending and (pending[0][2].size != data.size or len(pending) >= batch_size):
            flush()
        pending.append((src, dst, data))
        if len(pending) >= batch_size:
            flush()
    flush()
    summary.seconds = time.perf_counter() - start
    return summary


def _as_batch(images: Sequence[np.ndarray], device: torch.device) -> torch.Tensor:
    """``N`` arrays ``(H, W, 3)`` float32 -> ``(N, 3, H, W)`` on ``device``; one image on the
    CPU is a channels-last view of its array (no copy)."""
    stacked = images[0][None] if len(images) == 1 else np.stack(images)
    return torch.from_numpy(stacked).permute(0, 3, 1, 2).to(device)
