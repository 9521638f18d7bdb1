"""Enhance videos frame by frame, with the whole-frame context smoothed over time.

Models whose output depends on whole-frame statistics (the gain of ``gamma``, the
illumination map of ``lime``, the curve maps of ``lucent``) can flicker when every frame is
estimated on its own: noise moves the statistic from frame to frame and the gain amplifies
it. :class:`FrameEnhancer` therefore estimates each frame's context as the image path would
(:meth:`~lowlight.models.base.EnhancementModel.estimate_context` on the whole frame, or on a
copy downscaled to ``context_side`` when the frame is tiled), blends it with an exponential
moving average over the preceding frames,

    ``s_t = m * s_{t-1} + (1 - m) * c_t``  (``m`` = ``temporal_smoothing``, ``s_0 = c_0``),

and enhances the frame with ``model(frame, context=s_t)`` (tiled when large; spatial maps
are resampled to each tile). Choices made here:

* the average is causal (one pass, no look-ahead) and per element: gains are averaged as
  numbers, spatial maps pixel by pixel at their estimation resolution. ``m = 0.8`` is a
  time constant of about five frames; a moving bright object leaves a faint trail in a
  smoothed illumination map for about as long;
* the average restarts at a **scene cut**, found as a relative change
  ``mean|a - b| / max(mean(a + b) / 2, 0.02)`` above ``scene_cut_threshold`` (default 0.5)
  between the luma of consecutive frames area-downscaled to 32 px on the longer side
  (averaging ~400 pixels of a 640 x 360 frame cancels noise, not a cut); without the
  restart, a cut from a dark to a bright scene would be over-brightened for a few frames;
* only context values with one entry per frame (first dimension = batch) are smoothed;
  other values pass through;
* ``temporal_smoothing=0`` turns all this off: each frame then goes through exactly the
  image path (:func:`~lowlight.inference.fast_path.enhance_at_speed`). Models without a
  context are enhanced per frame in either case;
* in the fast path (frames larger than the speed mode's working size, see
  :mod:`lowlight.inference.fast_path`) the *transform* is what is smoothed: the per-frame
  affine coefficient maps ``{"a", "b"}`` at the working resolution go through the same
  moving average and scene-cut restart, so the whole effect of the model, not only its
  context, is steadied.

What it does and does not do, measured on static synthetic clips (flicker = frame-to-frame
standard deviation of the mean output luma). It removes the part of the flicker that comes
from a *noisy estimate*: on 64 x 48 clips over six seeds, a per-frame median of an 8-bit
frame with stationary noise (``gamma``: 0.47-0.67x) and an illumination map that follows
a noise level changing between frames, as between I- and P-frames (``lime``: 0.29-0.55x).
It also removes the per-frame renormalisation: a model estimated on each frame partly
cancels that frame's own noise-driven brightness, so ``lime`` on stationary noise gets
1.03-1.36x and ``gamma`` on a changing noise level 0.99-1.30x. At 640 x 360 with H.264 in
and out, smoothing gave 0.68-0.92x for both models on both clips, and every figure, on or
off, was below one 8-bit level.

Decoding and encoding (codec, quality, audio, timing) are in :mod:`lowlight.io.video`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor

from lowlight.color import luma
from lowlight.contract import Context
from lowlight.errors import ConfigError, LowlightError
from lowlight.inference.fast_path import (
    DEFAULT_FAST,
    FastPathConfig,
    enhance_at_speed,
    estimate_transform,
    fast_working_pixels,
    resolve_speed,
)
from lowlight.inference.files import FileResult, RunSummary
from lowlight.inference.tiling import (
    DEFAULT_CONTEXT_SIDE,
    DEFAULT_OVERLAP,
    DEFAULT_TILE,
)
from lowlight.layers.padding import downscale_to_max_side

if TYPE_CHECKING:
    from lowlight.models.base import EnhancementModel

__all__ = [
    "DEFAULT_SCENE_CUT",
    "DEFAULT_TEMPORAL_SMOOTHING",
    "ContextSmoother",
    "FrameEnhancer",
    "VideoResult",
    "blend_context",
    "enhance_video",
    "enhance_video_files",
    "frame_change",
]

DEFAULT_TEMPORAL_SMOOTHING = 0.8
"""Weight of the running context against the current frame's (0 turns smoothing off)."""
DEFAULT_SCENE_CUT = 0.5
"""Relative thumbnail change above which the running context restarts."""
THUMBNAIL_SIDE = 32
"""Longer side of the luma thumbnails compared to find scene cuts."""
_CHANGE_FLOOR = 0.02

Progress = Callable[[int, "int | None"], None]


@dataclass(frozen=True)
class VideoResult:
    """What :func:`enhance_video` wrote: ``frames`` encoded, the video's frame rate ``fps``,
    wall-clock ``seconds`` for the whole file, the ``codec`` and what happened to the
    ``audio`` (``"none"``, ``"copied (aac)"``, ``"dropped: ..."``)."""

    source: Path
    output: Path
    frames: int
    fps: float
    seconds: float
    codec: str
    audio: str

    @property
    def seconds_per_frame(self) -> float:
        """Wall-clock time per frame (decode, enhance, encode)."""
        return self.seconds / max(self.frames, 1)


def blend_context(state: Context, current: Context, momentum: float) -> Context:
    """One step of the moving average: ``momentum * state + (1 - momentum) * current``.

    Float values present in both with equal shapes are blended; any other value of
    ``current`` (new key, other shape, integer) is taken as it is.
    """
    out: Context = {}
    for key, value in current.items():
        previous = state.get(key)
        if (
            previous is not None
            and previous.shape == value.shape
            and value.is_floating_point()
            and previous.is_floating_point()
        ):
            out[key] = torch.lerp(value, previous.to(value.dtype), momentum)
        else:
            out[key] = value
    return out


def frame_change(previous: Tensor, current: Tensor) -> Tensor:
    """Relative change between thumbnails: ``mean|a - b| / max(mean(a + b) / 2, 0.02)``.

    Args:
        previous, current: ``(B, 1, h, w)`` luma thumbnails in ``[0, 1]``.

    Returns:
        ``(B,)``.
    """
    diff = (current - previous).abs().flatten(1).mean(dim=1)
    level = ((current + previous) / 2).flatten(1).mean(dim=1).clamp(min=_CHANGE_FLOOR)
    return diff / level


def thumbnails(frames: Tensor, side: int = THUMBNAIL_SIDE) -> Tensor:
    """``(B, 3, H, W)`` -> ``(B, 1, h, w)`` BT.709 luma area-downscaled to ``side`` px."""
    return downscale_to_max_side(luma(frames.clamp(0.0, 1.0)), side)


class ContextSmoother:
    """Running average of the contexts of consecutive frames, restarted at scene cuts.

    Args:
        momentum: weight of the running average, in ``[0, 1)``; ``0`` passes contexts through.
        scene_cut_threshold: :func:`frame_change` above which the average restarts;
            ``None`` never restarts.
    """

    def __init__(
        self, momentum: float, scene_cut_threshold: float | None = DEFAULT_SCENE_CUT
    ) -> None:
        if not 0.0 <= momentum < 1.0:
            raise ConfigError(f"temporal smoothing must be in [0, 1), got {momentum}")
        if scene_cut_threshold is not None and not scene_cut_threshold > 0:
            raise ConfigError(f"scene_cut_threshold must be > 0, got {scene_cut_threshold}")
        self.momentum = float(momentum)
        self.scene_cut_threshold = scene_cut_threshold
        self.cuts = 0
        self.reset()

    def reset(self) -> None:
        """Forget the running average (a new video starts)."""
        self._state: Context | None = None
        self._last_thumbnail: Tensor | None = None

    def __call__(self, context: Context, frame_thumbnails: Tensor) -> Context:
        """Smooth the contexts of ``B`` consecutive frames.

        Args:
            context: from ``estimate_context`` on the ``B`` frames, in display order.
            frame_thumbnails: ``(B, 1, h, w)`` from :func:`thumbnails` of the same frames.

        Returns:
            the smoothed context, shaped like ``context``.
        """
        batch = frame_thumbnails.shape[0]
        per_frame = {k for k, v in context.items() if v.ndim >= 1 and v.shape[0] == batch}
        if self.momentum == 0.0 or not per_frame:
            return context
        cuts = self._find_cuts(frame_thumbnails)
        smoothed: list[Context] = []
        for i in range(batch):
            current = {k: context[k][i : i + 1] for k in per_frame}
            if self._state is None or bool(cuts[i]):
                self._state = current
            else:
                self._state = blend_context(self._state, current, self.momentum)
            smoothed.append(self._state)
        out = dict(context)
        for key in per_frame:
            out[key] = torch.cat([s[key] for s in smoothed], dim=0)
        return out

    def _find_cuts(self, frame_thumbnails: Tensor) -> Tensor:
        """``(B,)`` bool: whether frame ``i`` starts a new scene (never for the first frame)."""
        previous = frame_thumbnails[:-1]
        if (
            self._last_thumbnail is not None
            and self._last_thumbnail.shape[1:] == (frame_thumbnails.shape[1:])
        ):
            previous = torch.cat([self._last_thumbnail, previous])
        else:
            previous = torch.cat([frame_thumbnails[:1], previous])
        self._last_thumbnail = frame_thumbnails[-1:].clone()
        if self.scene_cut_threshold is None:
            return torch.zeros(frame_thumbnails.shape[0], dtype=torch.bool)
        cuts = frame_change(previous, frame_thumbnails).cpu() > self.scene_cut_threshold
        self.cuts += int(cuts.sum())
        return cuts


class FrameEnhancer:
    """Enhance the frames of one video in display order with a temporally smoothed context.

    Args:
        model: an enhancement model in eval mode.
        temporal_smoothing: momentum of the context average in ``[0, 1)``; ``0`` enhances
            each frame independently, exactly as an image.
        scene_cut_threshold: see :class:`ContextSmoother`.
        tile, overlap: tiled inference for frames larger than ``tile`` (see
            :func:`~lowlight.inference.tiling.enhance_tensor_tiled`).
        context_side: longer side of the downscaled copy the context is estimated on.
        speed, strength, fast: see :func:`~lowlight.inference.fast_path.enhance_at_speed`.
    """

    def __init__(
        self,
        model: EnhancementModel,
        *,
        temporal_smoothing: float = DEFAULT_TEMPORAL_SMOOTHING,
        scene_cut_threshold: float | None = DEFAULT_SCENE_CUT,
        tile: int = DEFAULT_TILE,
        overlap: int = DEFAULT_OVERLAP,
        context_side: int = DEFAULT_CONTEXT_SIDE,
        speed: str | None = None,
        strength: float = 1.0,
        fast: FastPathConfig = DEFAULT_FAST,
    ) -> None:
        self.model = model
        self.smoother = ContextSmoother(temporal_smoothing, scene_cut_threshold)
        self.tile, self.overlap, self.context_side = tile, overlap, context_side
        self.speed, self.strength, self.fast = resolve_speed(model, speed), strength, fast

    def reset(self) -> None:
        """Start a new video."""
        self.smoother.reset()

    @torch.inference_mode()
    def enhance(self, frames: Tensor) -> Tensor:
        """Enhance the next ``(N, 3, H, W)`` frames (in ``[0, 1]``, on the model's device);
        returns ``(N, 3, H, W)`` in ``[0, 1]``."""
        height, width = frames.shape[-2:]
        pixels = fast_working_pixels(self.speed, self.fast)
        options = {"tile": self.tile, "overlap": self.overlap, "context_side": self.context_side}
        if pixels is not None and height * width > pixels and self.strength != 0.0:
            transform = estimate_transform(
                self.model, frames, working_pixels=pixels, config=self.fast, **options
            )
            if self.smoother.momentum > 0.0:
                transform = self.smoother(transform, thumbnails(frames))
            return enhance_at_speed(
                self.model,
                frames,
                speed=self.speed,
                strength=self.strength,
                config=self.fast,
                transform=transform,
                **options,
            )
        context = None
        if self.smoother.momentum > 0.0:
            whole = not self.model.tileable or (height <= self.tile and width <= self.tile)
            # the context the image path uses: of the whole frame when it runs in one pass,
            # else of a copy downscaled to context_side (see enhance_tensor_tiled)
            source = frames if whole else downscale_to_max_side(frames, self.context_side)
            context = self.model.estimate_context(source)
            if context is not None:
                context = self.smoother(context, thumbnails(source))
        return enhance_at_speed(
            self.model,
            frames,
            speed="full",
            strength=self.strength,
            context=context,
            **options,
        )

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        """``(N, H, W, 3)`` float32 RGB in ``[0, 1]`` -> enhanced, same shape (for
        :func:`lowlight.io.video.transcode_video`)."""
        batch = torch.from_numpy(np.ascontiguousarray(frames.transpose(0, 3, 1, 2)))
        out = self.enhance(batch.to(self.model.device, torch.float32))
        return out.permute(0, 2, 3, 1).float().cpu().numpy()


def enhance_video(
    model: EnhancementModel,
    src: str | Path,
    dst: str | Path,
    *,
    batch_size: int = 4,
    temporal_smoothing: float = DEFAULT_TEMPORAL_SMOOTHING,
    scene_cut_threshold: float | None = DEFAULT_SCENE_CUT,
    tile: int = DEFAULT_TILE,
    overlap: int = DEFAULT_OVERLAP,
    context_side: int = DEFAULT_CONTEXT_SIDE,
    speed: str | None = None,
    strength: float = 1.0,
    fast: FastPathConfig = DEFAULT_FAST,
    crf: int | None = None,
    codec: str | None = None,
    copy_audio: bool = True,
    overwrite: bool = False,
    progress: Progress | None = None,
    max_pixels: int | None = None,
) -> VideoResult:
    """Enhance every frame of the video ``src`` into ``dst`` (same kind of container).

    Args:
        model: an enhancement model in eval mode.
        src: the input video (anything FFmpeg reads).
        dst: the output; its extension picks the container (mp4, m4v, mov, mkv, avi, webm).
        batch_size: consecutive frames enhanced together.
        temporal_smoothing, scene_cut_threshold: context smoothing (module docstring).
        tile, overlap, context_side: tiled inference for large frames.
        speed, strength, fast: speed mode, strength and fast-path settings (see
            :func:`~lowlight.inference.fast_path.enhance_at_speed`).
        crf: constant rate factor (x264 scale, default
            :data:`~lowlight.io.video.DEFAULT_CRF`); codec: encoder name or ``None`` for the
            container's default; copy_audio: copy audio streams where possible.
        overwrite: replace an existing ``dst`` (``src`` itself is never overwritten).
        progress: called as ``progress(frames_done, frames_total_or_None)`` per frame.
        max_pixels: limit on width x height x ``batch_size`` (default
            :func:`lowlight.io.resolve_max_pixels`), checked before decoding.

    Raises:
        MissingDependencyError: PyAV is not installed.
        VideoReadError, VideoWriteError: see :func:`lowlight.io.video.transcode_video`.
    """
    from lowlight.io.video import DEFAULT_CRF, VideoEncoding, transcode_video

    start = time.perf_counter()
    enhancer = FrameEnhancer(
        model,
        temporal_smoothing=temporal_smoothing,
        scene_cut_threshold=scene_cut_threshold,
        tile=tile,
        overlap=overlap,
        context_side=context_side,
        speed=speed,
        strength=strength,
        fast=fast,
    )
    encoding = VideoEncoding(
        codec=codec, crf=DEFAULT_CRF if crf is None else crf, copy_audio=copy_audio
    )
    result = transcode_video(
        src,
        dst,
        enhancer,
        batch_size=batch_size,
        encoding=encoding,
        overwrite=overwrite,
        progress=progress,
        max_pixels=max_pixels,
    )
    return VideoResult(
        source=Path(src),
        output=Path(dst),
        frames=result.frames,
        fps=result.fps,
        seconds=time.perf_counter() - start,
        codec=result.codec,
        audio=result.audio,
    )


def enhance_video_files(
    model: EnhancementModel,
    pairs: Sequence[tuple[Path, Path]],
    *,
    batch_size: int = 4,
    temporal_smoothing: float = DEFAULT_TEMPORAL_SMOOTHING,
    tile: int = DEFAULT_TILE,
    overlap: int = DEFAULT_OVERLAP,
    speed: str | None = None,
    strength: float = 1.0,
    fast: FastPathConfig = DEFAULT_FAST,
    crf: int | None = None,
    codec: str | None = None,
    overwrite: bool = False,
    on_result: Callable[[FileResult], None] | None = None,
    progress: Callable[[Path, int, int | None], None] | None = None,
    max_pixels: int | None = None,
) -> RunSummary:
    """Enhance ``(source, output)`` video pairs like :func:`~lowlight.inference.files.enhance_files`
    does images: an existing output is skipped unless ``overwrite``; a video that cannot be
    read, enhanced or written is recorded as failed and the run goes on.

    A written result's message gives frames, codec and audio. ``progress`` is called as
    ``progress(source, frames_done, frames_total_or_None)``.
    """
    from lowlight.io.atomic import remove_stale_temporaries

    summary = RunSummary()
    start = time.perf_counter()
    for folder in sorted({dst.parent for _, dst in pairs}):
        remove_stale_temporaries(folder)  # left by a run killed mid-write
    for src, dst in pairs:
        if dst.exists() and not overwrite:
            result = FileResult(src, dst, "skipped", "output exists (use --overwrite)")
        else:
            options = {
                "batch_size": batch_size,
                "temporal_smoothing": temporal_smoothing,
                "tile": tile,
                "overlap": overlap,
                "speed": speed,
                "strength": strength,
                "fast": fast,
                "crf": crf,
                "codec": codec,
                "overwrite": overwrite,
                "max_pixels": max_pixels,
            }
            result = _enhance_one(model, src, dst, options, progress)
        summary.results.append(result)
        if on_result is not None:
            on_result(result)
    summary.seconds = time.perf_counter() - start
    return summary


def _enhance_one(
    model: EnhancementModel,
    src: Path,
    dst: Path,
    options: dict[str, Any],
    progress: Callable[[Path, int, int | None], None] | None,
) -> FileResult:
    def report(done: int, total: int | None) -> None:
        if progress is not None:
            progress(src, done, total)

    try:
        video = enhance_video(model, src, dst, progress=report, **options)
    except LowlightError as exc:
        return FileResult(src, dst, "failed", str(exc))
    except Exception as exc:  # noqa: BLE001 - one bad video must not end the run
        return FileResult(src, dst, "failed", f"enhancement failed: {exc}")
    return FileResult(
        src,
        dst,
        "written",
        f"{video.frames} frames at {video.fps:.4g} fps, {video.codec}, audio {video.audio}, "
        f"{video.seconds:.1f} s",
    )
