"""lowlight.io.video: probing, decoding, transcoding (timing, audio, containers), atomic writes,
errors; video file listing. Clips are made here with PyAV; skipped when PyAV is missing."""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from lowlight.errors import MissingDependencyError
from lowlight.io.formats import VIDEO_EXTENSIONS, is_image_path, is_video_path
from lowlight.io.listing import list_images, list_media

W, H, N, FPS = 64, 48, 24, 24


@pytest.fixture
def av():
    return pytest.importorskip("av")


def dark_frame(i: int, width: int = W, height: int = H) -> np.ndarray:
    """A dark ``(H, W, 3)`` uint8 frame: horizontal gradient, a square that moves, mild noise."""
    rng = np.random.default_rng(i)
    x = np.linspace(8, 40, width, dtype=np.float32)[None, :, None]
    img = np.repeat(np.repeat(x, height, 0), 3, 2) * np.array([1.0, 0.9, 0.8], np.float32)
    img[10:20, 5 + i : 15 + i] = 55
    img += rng.normal(0, 1.5, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def make_clip(
    path: Path,
    *,
    frames: int = N,
    fps: int = FPS,
    size: tuple[int, int] = (W, H),
    codec: str = "libx264",
    audio: bool = False,
    pts: list[int] | None = None,
    time_base: Fraction | None = None,
) -> Path:
    """Write a clip with raw PyAV (independent of the code under test)."""
    import av

    width, height = size
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv444p" if width % 2 or height % 2 else "yuv420p"
        if time_base is not None:
            stream.codec_context.time_base = time_base
        sound = None
        if audio:
            sound = container.add_stream("aac", rate=16000)
            sound.layout = "mono"
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(dark_frame(i, width, height), format="rgb24")
            if pts is not None:
                frame.pts, frame.time_base = pts[i], time_base
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
        if sound is not None:
            t = np.arange(16000 * frames // fps, dtype=np.float32) / 16000
            samples = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None]
            for start in range(0, samples.shape[1], 1024):
                chunk = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(samples[:, start : start + 1024]),
                    format="flt",
                    layout="mono",
                )
                chunk.sample_rate = 16000
                for packet in sound.encode(chunk):
                    container.mux(packet)
            for packet in sound.encode():
                container.mux(packet)
    return path


def decoded(path: Path) -> tuple[list[np.ndarray], list[float], Fraction, list[str]]:
    """RGB frames, their times in seconds, the average rate and the audio codecs, by raw PyAV."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames, times = [], []
        for frame in container.decode(stream):
            frames.append(frame.to_ndarray(format="rgb24"))
            times.append(float(frame.pts * frame.time_base))
        audio = [s.codec_context.name for s in container.streams.audio]
        return frames, times, Fraction(stream.average_rate), audio


def brighten(frames: np.ndarray) -> np.ndarray:
    return np.clip(frames * 3.0, 0.0, 1.0)


class TestListing:
    def test_video_extensions(self):
        assert {".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v"} == VIDEO_EXTENSIONS
        assert is_video_path(Path("a.MP4")) and is_video_path(Path("b.WebM"))
        assert not is_video_path(Path("a.png")) and not is_image_path(Path("a.mkv"))

    def test_list_media_finds_videos_any_case(self, tmp_path):
        (tmp_path / "sub").mkdir()
        for name in ("a.png", "b.MOV", "sub/c.mkv", "sub/d.avi", "e.txt", ".hidden.mp4"):
            (tmp_path / name).write_bytes(b"x")
        media = [rel.as_posix() for _, rel in list_media([tmp_path])]
        assert media == ["a.png", "b.MOV", "sub/c.mkv", "sub/d.avi"]
        assert [rel.as_posix() for _, rel in list_images([tmp_path])] == ["a.png"]
        assert [rel.as_posix() for _, rel in list_media([str(tmp_path / "*.MOV")])] == ["b.MOV"]


class TestRead:
    def test_probe_and_frames(self, av, tmp_path):
        from lowlight.io.video import probe_video, read_video_frames

        clip = make_clip(tmp_path / "clip.mp4", audio=True)
        info = probe_video(clip)
        assert (info.width, info.height, info.fps, info.frames) == (W, H, FPS, N)
        assert info.codec == "h264" and info.audio_codecs == ("aac",)
        assert info.frames_estimate == N
        frames = list(read_video_frames(clip))
        assert len(frames) == N
        assert frames[0].shape == (H, W, 3) and frames[0].dtype == np.float32
        assert abs(frames[3].mean() * 255 - dark_frame(3).mean()) < 2.0

    def test_missing_corrupt_and_no_video(self, av, tmp_path):
        from lowlight.io.video import VideoReadError, probe_video, read_video_frames

        with pytest.raises(VideoReadError, match="no such file"):
            probe_video(tmp_path / "missing.mp4")
        corrupt = tmp_path / "corrupt.mp4"
        corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42 not really a video" * 8)
        with pytest.raises(VideoReadError, match="corrupt.mp4"):
            list(read_video_frames(corrupt))
        sound_only = tmp_path / "sound.mp4"
        with av.open(str(sound_only), "w") as container:
            stream = container.add_stream("aac", rate=16000)
            stream.layout = "mono"
            chunk = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), "flt", "mono")
            chunk.sample_rate = 16000
            for packet in [*stream.encode(chunk), *stream.encode()]:
                container.mux(packet)
        with pytest.raises(VideoReadError, match="no video stream"):
            probe_video(sound_only)

    def test_missing_pyav_names_the_extra(self, monkeypatch, tmp_path):
        from lowlight.io.video import probe_video

        monkeypatch.setitem(sys.modules, "av", None)
        with pytest.raises(MissingDependencyError, match=r"lowlight\[video\]"):
            probe_video(tmp_path / "clip.mp4")


class TestTranscode:
    @pytest.mark.parametrize(
        ("ext", "codec", "audio"),
        [
            ("mp4", "libx264", "copied (aac)"),
            ("MKV", "libx264", "copied (aac)"),
            ("mov", "libx264", "copied (aac)"),
            ("m4v", "libx264", "copied (aac)"),
            ("avi", "mpeg4", "copied (aac)"),
            ("webm", "libvpx-vp9", "dropped"),
        ],
    )
    def test_containers_keep_frames_size_rate(self, av, tmp_path, ext, codec, audio):
        from lowlight.io.video import transcode_video

        src = make_clip(tmp_path / "src.mp4", audio=True)
        dst = tmp_path / "out" / f"dst.{ext}"
        result = transcode_video(src, dst, brighten)
        assert result.frames == N and result.fps == FPS and result.codec == codec
        assert result.audio.startswith(audio)
        frames, times, rate, audio_codecs = decoded(dst)
        assert len(frames) == N and frames[0].shape == (H, W, 3) and rate == FPS
        assert times == pytest.approx([i / FPS for i in range(N)], abs=1e-3)
        assert audio_codecs == (["aac"] if audio.startswith("copied") else [])
        src_frames, _, _, _ = decoded(src)
        assert np.mean(frames) > 2.0 * np.mean(src_frames)  # brighter
        assert sorted(p.name for p in dst.parent.iterdir()) == [dst.name]  # no temp file left

    def test_identity_keeps_pixels_and_variable_timing(self, av, tmp_path):
        from lowlight.io.video import transcode_video

        tb = Fraction(1, 1000)
        pts = [0, 40, 120, 160, 240, 280, 400, 440]  # variable frame rate
        src = make_clip(tmp_path / "vfr.mkv", frames=len(pts), pts=pts, time_base=tb)
        dst = tmp_path / "out.mkv"
        transcode_video(src, dst, lambda x: x, batch_size=3)
        out, times, _, _ = decoded(dst)
        ref, ref_times, _, _ = decoded(src)
        assert times == pytest.approx(ref_times, abs=1e-6)
        diffs = [
            np.abs(a.astype(int) - b.astype(int)).mean() for a, b in zip(out, ref, strict=True)
        ]
        assert max(diffs) < 1.5  # mean abs difference in 8-bit levels (codec loss only)

    def test_odd_size_uses_444(self, av, tmp_path):
        from lowlight.io.video import VideoEncoding, VideoWriteError, transcode_video

        src = make_clip(tmp_path / "odd.mp4", frames=4, size=(63, 47))
        result = transcode_video(src, tmp_path / "out.mp4", brighten)
        assert result.pixel_format == "yuv444p"
        assert decoded(tmp_path / "out.mp4")[0][0].shape == (47, 63, 3)
        with pytest.raises(VideoWriteError, match="odd sides"):
            transcode_video(src, tmp_path / "o.mp4", brighten, encoding=VideoEncoding("mpeg4"))
        assert not (tmp_path / "o.mp4").exists()

    def test_progress_per_frame(self, av, tmp_path):
        from lowlight.io.video import transcode_video

        src = make_clip(tmp_path / "src.mp4", frames=10)
        calls = []
        transcode_video(
            src, tmp_path / "o.mp4", brighten, batch_size=4, progress=lambda *a: calls.append(a)
        )
        assert calls == [(i, 10) for i in range(1, 11)]

    @pytest.mark.parametrize("ext", ["mp4", "avi", "webm"])  # libx264, mpeg4, libvpx-vp9
    def test_quality_setting_changes_size(self, av, tmp_path, ext):
        from lowlight.io.video import VideoEncoding, transcode_video

        src = make_clip(tmp_path / "src.mp4", frames=6, size=(160, 120))
        grain = np.random.default_rng(0).normal(0, 0.05, (6, 120, 160, 3)).astype(np.float32)

        def grainy(frames: np.ndarray) -> np.ndarray:  # detail for the quantiser to keep or drop
            return np.clip(frames * 3 + grain[: len(frames)], 0, 1)

        for name, crf in (("hi", 6), ("lo", 40)):
            encoding = VideoEncoding(crf=crf)
            transcode_video(
                src, tmp_path / f"{name}.{ext}", grainy, batch_size=6, encoding=encoding
            )
        assert (tmp_path / f"hi.{ext}").stat().st_size > 2 * (tmp_path / f"lo.{ext}").stat().st_size


class TestSafety:
    def test_existing_output_and_input_never_overwritten(self, av, tmp_path):
        from lowlight.io.video import VideoWriteError, transcode_video

        src = make_clip(tmp_path / "src.mp4", frames=4)
        before = src.read_bytes()
        with pytest.raises(VideoWriteError, match="input"):
            transcode_video(src, src, brighten, overwrite=True)
        dst = tmp_path / "dst.mp4"
        dst.write_bytes(b"keep me")
        with pytest.raises(VideoWriteError, match="already exists"):
            transcode_video(src, dst, brighten)
        assert dst.read_bytes() == b"keep me"
        transcode_video(src, dst, brighten, overwrite=True)
        assert len(decoded(dst)[0]) == 4
        assert src.read_bytes() == before

    def test_failure_leaves_nothing(self, av, tmp_path):
        from lowlight.io.video import VideoWriteError, transcode_video

        src = make_clip(tmp_path / "src.mp4", frames=6)
        out = tmp_path / "out"

        def fail(frames: np.ndarray) -> np.ndarray:
            raise RuntimeError("model exploded")

        with pytest.raises(RuntimeError, match="model exploded"):
            transcode_video(src, out / "a.mp4", fail)
        with pytest.raises(ValueError, match="shape"):
            transcode_video(src, out / "a.mp4", lambda x: x[:, :10])
        with pytest.raises(VideoWriteError, match="unknown video container"):
            transcode_video(src, out / "a.gif", brighten)
        assert not out.exists() or list(out.iterdir()) == []

    def test_write_video_roundtrip(self, av, tmp_path):
        from lowlight.io.video import probe_video, read_video_frames, write_video

        frames = [dark_frame(i).astype(np.float32) / 255 for i in range(5)]
        assert write_video(tmp_path / "w.mov", frames, fps=Fraction(30000, 1001)) == 5
        info = probe_video(tmp_path / "w.mov")
        assert info.fps == Fraction(30000, 1001) and (info.width, info.height) == (W, H)
        back = list(read_video_frames(tmp_path / "w.mov"))
        assert len(back) == 5 and abs(back[2].mean() - frames[2].mean()) < 2 / 255
