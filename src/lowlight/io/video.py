"""Video reading and writing with PyAV (FFmpeg): frames in as float RGB, frames out encoded.

PyAV is optional (``pip install 'lowlight[video]'``) and imported on first use.
:func:`transcode_video` decodes a video, hands batches of frames to a function and encodes
what it returns into the same kind of container; it knows nothing about models (see
:mod:`lowlight.inference.video` for that). What it keeps and what it chooses:

* **container**: the output's, from its extension (:data:`CONTAINER_FORMATS`);
* **video codec**: H.264 (``libx264``) for mp4/m4v/mov/mkv, falling back to MPEG-4 Part 2
  (``mpeg4``) where PyAV's FFmpeg has no libx264; ``mpeg4`` first for avi (what AVI
  players expect; AVI has no timestamps for H.264's reordered B-frames); VP9 (then VP8) for
  webm. Pixel format ``yuv420p``; ``yuv444p`` when a side is odd (4:2:0 cannot hold odd
  sizes; libx264 and VP9 only);
* **quality**: one number, ``crf`` (x264's constant rate factor, 0-51, default 18, about
  visually lossless). VP9 gets the same number on its 0-63 scale; mpeg4, which has no CRF,
  a fixed quantiser ``crf / 6`` clamped to 2..31 (18 -> 3);
* **timing**: each frame keeps its presentation time, in the source's time base where the
  container and codec allow it (AVI and mpeg4 with a denominator > 65535 get ``1 / fps``),
  so frame count, frame rate (also variable) and sync with the audio are kept;
* **colour**: decoded to RGB with the source's YUV matrix and range (BT.601 when untagged,
  as FFmpeg does), encoded back in limited range with the same matrix and tagged like the
  source by encoders whose bitstream carries the tags (H.264, VP9); others get untagged
  BT.601. 10/12-bit sources are decoded at 16 bits per channel; the output is 8-bit.
  HDR transfer curves (PQ, HLG) are not tone-mapped;
* **audio**: every audio stream is copied packet for packet when the output container can
  hold its codec, otherwise dropped (the result says which). Subtitle, data and
  attachment streams are dropped. Display rotation (phone videos) is copied where PyAV
  can set it (PyAV >= 15); pixels are never rotated.

Writing is atomic (:func:`lowlight.io.atomic.write_atomic`): the container is written to a
hidden temporary file beside the output and moved into place when complete.

Nothing is shortened silently: when fewer frames decode than the container declares (or,
without a declared count, when the frames end before the declared duration, less one
frame and 2 %), the file is truncated or damaged and :func:`transcode_video` refuses it
(nothing is written). ``max_pixels`` bounds the pixels held at once, width x height x
``batch_size``, checked from the stream header before decoding and again on each frame.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from lowlight._optional import require
from lowlight.errors import LowlightError
from lowlight.io.atomic import write_atomic

__all__ = [
    "CONTAINER_FORMATS",
    "DEFAULT_CRF",
    "TranscodeResult",
    "VideoEncoding",
    "VideoInfo",
    "VideoReadError",
    "VideoWriteError",
    "choose_codec",
    "import_av",
    "probe_video",
    "read_video_frames",
    "transcode_video",
    "write_video",
]

CONTAINER_FORMATS: dict[str, str] = {
    ".mp4": "mp4",
    ".m4v": "mp4",
    ".mov": "mov",
    ".mkv": "matroska",
    ".avi": "avi",
    ".webm": "webm",
}
"""Video extension (lower case) -> FFmpeg muxer written for it."""

_CODEC_PREFERENCE: dict[str, tuple[str, ...]] = {
    "mp4": ("libx264", "mpeg4"),
    "mov": ("libx264", "mpeg4"),
    "matroska": ("libx264", "mpeg4"),
    "avi": ("mpeg4", "libx264"),
    "webm": ("libvpx-vp9", "libvpx"),
}

DEFAULT_CRF = 18
"""Default constant rate factor (x264 scale; lower is better quality and larger files)."""

_MPEG4_MAX_TIME_BASE_DEN = 65535
_COLOURSPACES = {1: "itu709", 4: "fcc", 5: "itu601", 6: "smpte170m", 7: "smpte240m", 9: "bt2020"}
"""AVColorSpace values swscale converts with, by PyAV's name (others are converted as 601)."""
_CODECS_WITH_COLOUR_TAGS = frozenset({"libx264", "libx264rgb", "libvpx-vp9"})
"""Encoders whose bitstream carries the YUV matrix; others are written as untagged BT.601,
which is how FFmpeg reads untagged video."""
_FULL_RANGE = 2  # AVCOL_RANGE_JPEG
_LIMITED_RANGE = 1  # AVCOL_RANGE_MPEG

ProcessBatch = Callable[[np.ndarray], np.ndarray]
"""``(N, H, W, 3)`` float32 frames in ``[0, 1]`` -> the same shape (values clipped to ``[0, 1]``)."""
Progress = Callable[[int, "int | None"], None]
"""Called as ``progress(frames_done, frames_total)``; the total is ``None`` when unknown."""


class VideoReadError(LowlightError):
    """A file that cannot be read as a video (missing, corrupt, no video stream). The message
    names the file."""


class VideoWriteError(LowlightError):
    """A video that cannot be written (output exists, unknown container, encoder failure).
    The message names the file."""


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe_video` reads from a video's header.

    ``frames`` is the count the container declares (``None`` when it declares none, as
    Matroska/WebM do); ``fps`` the average frame rate; ``duration`` is in seconds.
    """

    width: int
    height: int
    fps: Fraction
    time_base: Fraction
    frames: int | None
    duration: float | None
    codec: str
    pixel_format: str
    audio_codecs: tuple[str, ...]

    @property
    def frames_estimate(self) -> int | None:
        """``frames`` if declared, else ``duration * fps`` rounded, else ``None``."""
        if self.frames:
            return self.frames
        if self.duration and self.fps:
            return max(1, round(self.duration * float(self.fps)))
        return None


@dataclass(frozen=True)
class VideoEncoding:
    """How :func:`transcode_video` and :func:`write_video` encode.

    Args:
        codec: an FFmpeg encoder name (``"libx264"``, ``"mpeg4"``, ``"libvpx-vp9"``...) or
            ``None`` to choose by container (see the module docstring).
        crf: constant rate factor, x264 scale 0-51 (default 18).
        preset: x264 speed/size trade-off (``"ultrafast"`` ... ``"veryslow"``).
        copy_audio: copy the source's audio streams where the container can hold them.
    """

    codec: str | None = None
    crf: int = DEFAULT_CRF
    preset: str = "medium"
    copy_audio: bool = True

    def __post_init__(self) -> None:
        if not 0 <= self.crf <= 63:
            raise ValueError(f"crf must be in [0, 63], got {self.crf}")


@dataclass(frozen=True)
class TranscodeResult:
    """What :func:`transcode_video` wrote: frame count, frame rate (frames per second of the
    video), the video codec and pixel format used, and what happened to the audio
    (``"none"``, ``"copied (aac)"``, or ``"dropped: ..."``)."""

    frames: int
    fps: float
    codec: str
    pixel_format: str
    audio: str


def import_av() -> Any:
    """The ``av`` module, or :class:`~lowlight.errors.MissingDependencyError` naming the extra."""
    return require("av", extra="video", feature="video enhancement")


def container_format(path: Path) -> str:
    """FFmpeg muxer for ``path``'s extension (any case); :class:`VideoWriteError` if unknown."""
    fmt = CONTAINER_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise VideoWriteError(
            f"{path}: unknown video container '{path.suffix}'; "
            f"use one of {', '.join(sorted(CONTAINER_FORMATS))}"
        )
    return fmt


def choose_codec(fmt: str, requested: str | None = None) -> str:
    """The video encoder for muxer ``fmt``: ``requested`` if given (checked to exist), else
    the first of the container's preferences that PyAV's FFmpeg provides."""
    av = import_av()
    available = av.codecs_available
    if requested is not None:
        if requested not in available:
            raise VideoWriteError(f"video encoder '{requested}' is not in PyAV's FFmpeg build")
        return requested
    for name in _CODEC_PREFERENCE.get(fmt, ("libx264", "mpeg4")):
        if name in available:
            return name
    raise VideoWriteError(f"PyAV's FFmpeg has no encoder for {fmt} video")


def probe_video(path: str | Path) -> VideoInfo:
    """Read a video's header: size, frame rate, time base, declared frames, codecs."""
    av = import_av()
    path = Path(path)
    with _open_input(av, path) as container:
        stream = _video_stream(container, path)
        ctx = stream.codec_context
        duration = None
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / 1_000_000
        return VideoInfo(
            width=ctx.width,
            height=ctx.height,
            fps=_frame_rate(stream),
            time_base=Fraction(stream.time_base),
            frames=stream.frames or None,
            duration=duration,
            codec=ctx.name,
            pixel_format=ctx.pix_fmt or "",
            audio_codecs=tuple(s.codec_context.name for s in container.streams.audio),
        )


def read_video_frames(path: str | Path) -> Iterator[np.ndarray]:
    """Decode every frame of the first video stream as ``(H, W, 3)`` float32 RGB in ``[0, 1]``."""
    av = import_av()
    path = Path(path)
    with _open_input(av, path) as container:
        stream = _video_stream(container, path)
        stream.thread_type = "AUTO"
        packets = container.demux(stream)
        while True:
            packet = _next_packet(av, packets, path)
            if packet is None:
                return
            for frame in _decode(av, packet, path):
                yield _frame_to_float(frame)


def write_video(
    path: str | Path,
    frames: Iterable[np.ndarray],
    fps: float | Fraction,
    *,
    encoding: VideoEncoding | None = None,
    overwrite: bool = False,
) -> int:
    """Encode ``(H, W, 3)`` RGB frames (float in ``[0, 1]`` or ``uint8``) at ``fps`` into
    ``path`` (container from the extension), atomically. Returns the number of frames."""
    av = import_av()
    path = Path(path)
    fmt = container_format(path)
    encoding = encoding or VideoEncoding()
    rate = Fraction(fps).limit_denominator(1001 * 1000)
    if rate <= 0:
        raise ValueError(f"fps must be > 0, got {fps}")
    count = 0

    def write(handle: BinaryIO) -> None:
        nonlocal count
        output = _open_output(av, handle, fmt, path)
        encoder: _VideoEncoder | None = None
        try:
            for index, frame in enumerate(frames):
                rgb = _to_uint8(frame)
                if encoder is None:
                    codec = choose_codec(fmt, encoding.codec)
                    height, width = rgb.shape[:2]
                    encoder = _VideoEncoder(
                        av, output, path, codec, width, height, rate, 1 / rate, encoding
                    )
                encoder.encode(rgb, Fraction(index) / rate)
                count += 1
            if encoder is None:
                raise VideoWriteError(f"{path}: no frames to write")
            encoder.finish()
        finally:
            output.close()

    _write_atomic(path, write, overwrite)
    return count


def transcode_video(
    src: str | Path,
    dst: str | Path,
    process: ProcessBatch,
    *,
    batch_size: int = 4,
    encoding: VideoEncoding | None = None,
    overwrite: bool = False,
    progress: Progress | None = None,
    max_pixels: int | None = None,
) -> TranscodeResult:
    """Decode ``src``, pass its frames to ``process`` in order, in batches of up to
    ``batch_size``, and encode the results into ``dst`` (written atomically).

    Audio streams are copied where ``dst``'s container can hold them. ``progress`` is called
    once per frame written. ``max_pixels`` (default: :func:`lowlight.io.resolve_max_pixels`)
    limits width x height x ``batch_size``.

    Raises:
        VideoReadError: ``src`` cannot be opened or decoded, has no video stream, holds
            fewer frames than it declares (truncated), or its frames exceed ``max_pixels``.
        VideoWriteError: ``dst`` is ``src``, exists (without ``overwrite``), has an unknown
            extension, or cannot be encoded.
        Exception: whatever ``process`` raises (``dst`` is then left untouched).
    """
    av = import_av()
    src, dst = Path(src), Path(dst)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if dst.resolve() == src.resolve():
        raise VideoWriteError(f"{dst}: would overwrite the input video; choose another output")
    fmt = container_format(dst)
    encoding = encoding or VideoEncoding()
    codec = choose_codec(fmt, encoding.codec)
    if dst.exists() and not overwrite:
        raise VideoWriteError(f"{dst}: already exists (use overwrite)")
    with _open_input(av, src) as source:
        job = _Transcoder(av, source, src, dst, fmt, codec, encoding)
        job.limit = _frame_limit(max_pixels, batch_size)
        job.check_size(job.video_in.codec_context.width, job.video_in.codec_context.height)
        _write_atomic(dst, lambda handle: job.run(handle, process, batch_size, progress), overwrite)
    assert job.encoder is not None
    return TranscodeResult(
        frames=job.done,
        fps=float(job.rate),
        codec=codec,
        pixel_format=job.encoder.pixel_format,
        audio="; ".join(job.audio_notes) if job.audio_notes else "none",
    )


def _frame_limit(max_pixels: int | None, batch_size: int) -> tuple[int, int]:
    from lowlight.io.image import resolve_max_pixels

    return resolve_max_pixels(max_pixels), batch_size


def probe_total(stream: Any, container: Any) -> int | None:
    """Declared frame count of ``stream``, else duration times frame rate, else ``None``."""
    if stream.frames:
        return int(stream.frames)
    rate = _frame_rate(stream)
    if stream.duration is not None and stream.time_base is not None:
        return max(1, round(float(stream.duration * stream.time_base * rate)))
    if container.duration is not None:
        return max(1, round(container.duration / 1_000_000 * float(rate)))
    return None


# --- internals ------------------------------------------------------------------------


class _Transcoder:
    """The decode -> process -> encode loop of one file; audio packets are muxed as they
    come. The output streams are set up at the first decoded frame (its size, colour tags
    and rotation are the ones to keep); audio read before that waits."""

    def __init__(
        self,
        av: Any,
        source: Any,
        src: Path,
        dst: Path,
        fmt: str,
        codec: str,
        encoding: VideoEncoding,
    ) -> None:
        self.av, self.source, self.src, self.dst = av, source, src, dst
        self.fmt, self.codec, self.encoding = fmt, codec, encoding
        self.video_in = _video_stream(source, src)
        self.video_in.thread_type = "AUTO"
        self.audio_in = list(source.streams.audio)
        self.rate = _frame_rate(self.video_in)
        self.total = probe_total(self.video_in, source)
        self.encoder: _VideoEncoder | None = None
        self.audio_out: dict[int, Any] = {}
        self.audio_notes: list[str] = []
        self.done = 0
        self.limit: tuple[int, int] | None = None
        self.last_time: Fraction | None = None

    def check_size(self, width: int, height: int) -> None:
        """Refuse frames whose batch would exceed the pixel limit (before decoding)."""
        if self.limit is None or not width or not height:
            return
        limit, batch = self.limit
        if width * height * batch > limit:
            raise VideoReadError(
                f"{self.src}: frames of {width}x{height} in batches of {batch} hold "
                f"{width * height * batch / 1e6:.1f} megapixels at once, above the limit of "
                f"{limit / 1e6:.1f} megapixels (--max-pixels or $LOWLIGHT_MAX_PIXELS; a "
                "smaller --batch also helps)"
            )

    def check_complete(self) -> None:
        """Refuse a stream that ended before the frames or duration its container declares."""
        declared = int(self.video_in.frames or 0)
        if declared and self.done < declared:
            raise VideoReadError(
                f"{self.src}: only {self.done} of the {declared} frames the container declares "
                "could be decoded; the file is truncated or damaged, refusing to write a "
                "shorter video"
            )
        if declared:
            return
        base = Fraction(self.video_in.time_base or 0)
        if self.video_in.duration is not None and base:
            length = Fraction(self.video_in.duration) * base
        elif self.source.duration is not None and not self.audio_in:  # audio may run longer
            length = Fraction(self.source.duration, 1_000_000)
        else:
            return
        start = Fraction(self.video_in.start_time or 0) * base
        reached = (self.last_time or Fraction(0)) - start + 1 / self.rate
        if reached < length * Fraction(98, 100) - 1 / self.rate:
            raise VideoReadError(
                f"{self.src}: the frames end at {float(reached):.2f} s of the "
                f"{float(length):.2f} s the container declares; the file is truncated or "
                "damaged, refusing to write a shorter video"
            )

    def run(
        self, handle: BinaryIO, process: ProcessBatch, batch_size: int, progress: Progress | None
    ) -> None:
        self.output = _open_output(self.av, handle, self.fmt, self.dst)
        try:
            self._loop(process, batch_size, progress)
        finally:
            self.output.close()

    def _loop(self, process: ProcessBatch, batch_size: int, progress: Progress | None) -> None:
        av, video_index = self.av, self.video_in.index
        waiting_audio: list[Any] = []
        batch: list[np.ndarray] = []
        times: list[Fraction | None] = []
        packets = self.source.demux(self.video_in, *self.audio_in)
        while (packet := _next_packet(av, packets, self.src)) is not None:
            index = packet.stream.index
            if index != video_index:
                if packet.dts is None or (self.encoder is not None and index not in self.audio_out):
                    continue  # a demuxer flush packet, or a stream that is not copied
                if self.encoder is None:
                    waiting_audio.append(packet)
                else:
                    self._mux_audio(packet)
                continue
            for frame in _decode(av, packet, self.src):
                if self.encoder is None:
                    self.check_size(frame.width, frame.height)
                    self._start(frame)
                    for waiting in waiting_audio:
                        if waiting.stream.index in self.audio_out:
                            self._mux_audio(waiting)
                    waiting_audio.clear()
                batch.append(_frame_to_float(frame))
                times.append(None if frame.pts is None else frame.pts * Fraction(frame.time_base))
                if times[-1] is not None:
                    self.last_time = max(times[-1], self.last_time or times[-1])
                if len(batch) >= batch_size:
                    self._flush(batch, times, process, progress)
        if self.encoder is None:
            raise VideoReadError(f"{self.src}: no video frame could be decoded")
        self._flush(batch, times, process, progress)
        self.check_complete()
        self.encoder.finish()

    def _start(self, frame: Any) -> None:
        self.encoder = _VideoEncoder(
            self.av,
            self.output,
            self.dst,
            self.codec,
            frame.width,
            frame.height,
            self.rate,
            _codec_time_base(self.codec, self.fmt, Fraction(self.video_in.time_base), self.rate),
            self.encoding,
            colourspace=_colourspace_of(frame),
            rotation=int(getattr(frame, "rotation", 0) or 0),
        )
        for stream in self.audio_in:
            name = stream.codec_context.name
            if not self.encoding.copy_audio:
                self.audio_notes.append(f"dropped: {name} (audio copy off)")
                continue
            try:
                self.audio_out[stream.index] = _add_stream_from_template(self.output, stream)
                self.audio_notes.append(f"copied ({name})")
            except (ValueError, self.av.FFmpegError) as exc:
                self.audio_notes.append(f"dropped: {name} ({exc})")

    def _flush(
        self,
        batch: list[np.ndarray],
        times: list[Fraction | None],
        process: ProcessBatch,
        progress: Progress | None,
    ) -> None:
        if not batch:
            return
        stacked = np.stack(batch)
        enhanced = np.asarray(process(stacked))
        if enhanced.shape != stacked.shape:
            raise ValueError(
                f"frame processing returned shape {enhanced.shape}, expected {stacked.shape}"
            )
        assert self.encoder is not None
        for frame, time in zip(enhanced, times, strict=True):
            self.encoder.encode(_to_uint8(frame), time)
            self.done += 1
            if progress is not None:
                progress(self.done, self.total)
        batch.clear()
        times.clear()

    def _mux_audio(self, packet: Any) -> None:
        packet.stream = self.audio_out[packet.stream.index]
        try:
            self.output.mux(packet)
        except (ValueError, self.av.FFmpegError) as exc:
            raise VideoWriteError(f"{self.dst}: cannot copy an audio packet: {exc}") from exc


class _VideoEncoder:
    """One output video stream: RGB uint8 frames in, packets muxed into ``output``."""

    def __init__(
        self,
        av: Any,
        output: Any,
        path: Path,
        codec: str,
        width: int,
        height: int,
        rate: Fraction,
        time_base: Fraction,
        encoding: VideoEncoding,
        *,
        colourspace: tuple[int, int, int] | None = None,
        rotation: int = 0,
    ) -> None:
        self.av, self.output, self.path = av, output, path
        odd = width % 2 or height % 2
        self.pixel_format = "yuv444p" if odd else "yuv420p"
        supported = {f.name for f in (av.Codec(codec, "w").video_formats or ())}
        if supported and self.pixel_format not in supported:
            raise VideoWriteError(
                f"{path}: {codec} cannot encode {width}x{height} (odd sides need 4:4:4, which "
                f"it lacks); choose libx264 or libvpx-vp9"
            )
        try:
            stream = output.add_stream(codec, rate=rate)
            stream.width, stream.height, stream.pix_fmt = width, height, self.pixel_format
            ctx = stream.codec_context
            ctx.time_base = time_base
            self.matrix = "itu601"
            if colourspace is not None and codec in _CODECS_WITH_COLOUR_TAGS:
                self.matrix = _COLOURSPACES.get(colourspace[0], "itu601")
                _tag_colour(ctx, colourspace)
            options = _quality_options(codec, encoding, ctx)
            if options:
                stream.options = options
            if rotation and hasattr(stream, "set_display_rotation"):
                stream.set_display_rotation(rotation)
        except (ValueError, TypeError, av.FFmpegError) as exc:
            raise VideoWriteError(f"{path}: cannot set up the {codec} encoder: {exc}") from exc
        self.stream = stream
        self.time_base = time_base
        self.step = max(1, round(1 / (rate * time_base)))  # one frame, in time-base units
        self.last_pts: int | None = None

    def encode(self, rgb: np.ndarray, time: Fraction | None) -> None:
        """Encode one ``(H, W, 3)`` uint8 frame shown at ``time`` seconds (``None``: next)."""
        pts = self._next_pts(time)
        frame = self.av.VideoFrame.from_ndarray(rgb, format="rgb24")
        frame = _reformat(frame, self.pixel_format, self.matrix)
        frame.pts, frame.time_base = pts, self.time_base
        self._mux(frame)

    def finish(self) -> None:
        """Flush the encoder's delayed packets."""
        self._mux(None)

    def _next_pts(self, time: Fraction | None) -> int:
        if time is None:
            pts = 0 if self.last_pts is None else self.last_pts + self.step
        else:
            pts = round(time / self.time_base)
        if self.last_pts is not None and pts <= self.last_pts:
            pts = self.last_pts + 1  # timestamps must increase (rounding, broken sources)
        self.last_pts = pts
        return pts

    def _mux(self, frame: Any) -> None:
        try:
            for packet in self.stream.encode(frame):
                self.output.mux(packet)
        except (ValueError, self.av.FFmpegError) as exc:
            raise VideoWriteError(f"{self.path}: encoding failed: {exc}") from exc


def _quality_options(codec: str, encoding: VideoEncoding, ctx: Any) -> dict[str, str]:
    """Encoder options for constant quality ``encoding.crf`` (see the module docstring)."""
    crf = encoding.crf
    if codec in ("libx264", "libx264rgb"):
        return {"crf": str(min(crf, 51)), "preset": encoding.preset}
    if codec in ("libvpx-vp9", "libvpx"):
        return {"crf": str(max(4, crf) if codec == "libvpx" else crf), "b": "0"}
    if codec in ("mpeg4", "mpeg2video", "mpeg1video", "msmpeg4", "msmpeg4v2"):
        # a constant quantiser: the rate control may only pick this one (FFmpeg's qscale
        # flag would need the quantiser on every frame, which PyAV does not set)
        quantiser = min(31, max(2, round(crf / 6)))
        ctx.qmin = ctx.qmax = quantiser
        return {}
    return {}


def _codec_time_base(codec: str, fmt: str, source: Fraction, rate: Fraction) -> Fraction:
    """The source's time base, unless the codec or container cannot take it: ``1 / fps`` for
    AVI (one tick per frame; finer ticks become padding frames) and for mpeg4 when the
    denominator exceeds 65535."""
    if fmt == "avi" or (codec == "mpeg4" and source.denominator > _MPEG4_MAX_TIME_BASE_DEN):
        return 1 / rate
    return source


def _frame_rate(stream: Any) -> Fraction:
    """Average frame rate, else the guessed/base rate, else 25 (FFmpeg's default)."""
    for rate in (stream.average_rate, getattr(stream, "guessed_rate", None), stream.base_rate):
        if rate:
            return Fraction(rate)
    return Fraction(25)


def _colourspace_of(frame: Any) -> tuple[int, int, int]:
    """``(matrix, primaries, transfer)`` tags of a decoded frame (0 = unspecified)."""
    return (
        int(getattr(frame, "colorspace", 2) or 2),
        int(getattr(frame, "color_primaries", 2) or 2),
        int(getattr(frame, "color_trc", 2) or 2),
    )


def _tag_colour(ctx: Any, colourspace: tuple[int, int, int]) -> None:
    """Tag the output like the source, in limited range. Unspecified tags stay unspecified;
    a matrix swscale cannot convert with was converted as BT.601 and is left untagged."""
    matrix, primaries, transfer = colourspace
    if matrix in _COLOURSPACES:
        _set_if_possible(ctx, "colorspace", matrix)
    if primaries != 2:
        _set_if_possible(ctx, "color_primaries", primaries)
    if transfer != 2:
        _set_if_possible(ctx, "color_trc", transfer)
    _set_if_possible(ctx, "color_range", _LIMITED_RANGE)


def _set_if_possible(obj: Any, name: str, value: int) -> None:
    with contextlib.suppress(AttributeError, TypeError, ValueError):  # older PyAV: no attribute
        setattr(obj, name, value)


def _reformat(frame: Any, pixel_format: str, matrix: str) -> Any:
    """RGB frame -> ``pixel_format`` with YUV matrix ``matrix`` in limited range."""
    try:
        return frame.reformat(
            format=pixel_format,
            dst_colorspace=matrix,
            dst_color_range=_LIMITED_RANGE,
        )
    except TypeError:  # PyAV without colour-range arguments: limited range is its default
        return frame.reformat(format=pixel_format, dst_colorspace=matrix)


def _frame_to_float(frame: Any) -> np.ndarray:
    """A decoded frame -> ``(H, W, 3)`` float32 RGB in ``[0, 1]`` (16-bit path above 8 bits)."""
    deep = any(c.bits > 8 for c in frame.format.components)
    rgb_format = "rgb48le" if deep else "rgb24"
    matrix = _COLOURSPACES.get(_colourspace_of(frame)[0], "itu601")
    full = int(getattr(frame, "color_range", 0) or 0) == _FULL_RANGE
    try:
        array = frame.to_ndarray(
            format=rgb_format,
            src_colorspace=matrix,
            src_color_range=_FULL_RANGE if full else _LIMITED_RANGE,
        )
    except TypeError:  # PyAV without colour-range arguments
        array = frame.to_ndarray(format=rgb_format, src_colorspace=matrix)
    scale = 65535.0 if deep else 255.0
    return array.astype(np.float32) / np.float32(scale)


def _to_uint8(frame: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` float in ``[0, 1]`` (clipped, rounded) or uint8 -> contiguous uint8."""
    frame = np.asarray(frame)
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"expected a frame of shape (H, W, 3), got {frame.shape}")
    if frame.dtype == np.uint8:
        return np.ascontiguousarray(frame)
    if not np.issubdtype(frame.dtype, np.floating):
        raise ValueError(f"expected float frames in [0, 1] or uint8, got {frame.dtype}")
    return np.ascontiguousarray(np.round(np.clip(frame, 0.0, 1.0) * 255.0).astype(np.uint8))


def _open_input(av: Any, path: Path) -> Any:
    if not path.is_file():
        raise VideoReadError(f"{path}: no such file")
    try:
        return av.open(str(path), "r")
    except (OSError, ValueError, av.FFmpegError) as exc:
        raise VideoReadError(f"{path}: cannot read as a video: {exc}") from exc


def _open_output(av: Any, handle: BinaryIO, fmt: str, path: Path) -> Any:
    try:
        return av.open(handle, "w", format=fmt)
    except (OSError, ValueError, av.FFmpegError) as exc:
        raise VideoWriteError(f"{path}: cannot open a {fmt} writer: {exc}") from exc


def _video_stream(container: Any, path: Path) -> Any:
    if not container.streams.video:
        raise VideoReadError(f"{path}: has no video stream")
    stream = container.streams.video[0]
    if not stream.codec_context.width or not stream.codec_context.height:
        raise VideoReadError(f"{path}: video stream has no frame size")
    return stream


def _next_packet(av: Any, packets: Iterator[Any], path: Path) -> Any | None:
    try:
        return next(packets)
    except StopIteration:
        return None
    except (OSError, ValueError, av.FFmpegError) as exc:
        raise VideoReadError(f"{path}: cannot read a packet: {exc}") from exc


def _decode(av: Any, packet: Any, path: Path) -> list[Any]:
    try:
        return list(packet.decode())
    except (OSError, ValueError, av.FFmpegError) as exc:
        raise VideoReadError(f"{path}: cannot decode a frame: {exc}") from exc


def _add_stream_from_template(output: Any, stream: Any) -> Any:
    """Copy ``stream``'s codec parameters into a new output stream (PyAV >= 14, or older)."""
    if hasattr(output, "add_stream_from_template"):
        return output.add_stream_from_template(stream)
    return output.add_stream(template=stream)


def _write_atomic(path: Path, write: Callable[[BinaryIO], None], overwrite: bool) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, write, overwrite=overwrite)
    except FileExistsError:
        raise VideoWriteError(f"{path}: already exists (use overwrite)") from None
    except IsADirectoryError:
        raise VideoWriteError(f"{path}: is a folder") from None
    except OSError as exc:
        raise VideoWriteError(f"{path}: cannot write: {exc}") from exc
