"""`lowlight enhance` on videos: a clip, a mixed folder with a corrupt video, skipping and
overwriting, options, and the message when PyAV is missing."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from lowlight.cli.main import cli


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _frames(count: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    x = np.linspace(0.03, 0.15, 64, dtype=np.float32)[None, :, None]
    base = np.repeat(np.repeat(x, 48, 0), 3, 2) * np.array([1.0, 0.9, 0.8], np.float32)
    return [np.clip(base + rng.normal(0, 0.005, base.shape), 0, 1) for _ in range(count)]


@pytest.fixture
def clip(tmp_path) -> Path:
    pytest.importorskip("av")
    from lowlight.io.video import write_video

    path = tmp_path / "in" / "clip.mp4"
    write_video(path, _frames(24), fps=24)
    return path


def _mean(path: Path) -> float:
    from lowlight.io.video import read_video_frames

    return float(np.mean([f.mean() for f in read_video_frames(path)]))


def test_enhance_one_clip(clip, tmp_path):
    from lowlight.io.video import probe_video

    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli, ["enhance", str(clip), "-o", str(out), "-m", "gamma", "--batch", "4", "-q"]
    )
    assert result.exit_code == 0, result.output
    assert "1 written" in result.output
    info = probe_video(out / "clip.mp4")
    assert (info.width, info.height, info.frames, info.fps) == (64, 48, 24, 24)
    assert _mean(out / "clip.mp4") > 3 * _mean(clip)
    assert [p.name for p in out.iterdir()] == ["clip.mp4"]  # no temporary file left


def test_mixed_folder_with_corrupt_video(clip, tmp_path, dark_image):
    from lowlight.io.video import write_video

    root = clip.parent
    (root / "nested").mkdir()
    write_video(root / "nested" / "night.MOV", _frames(6), fps=30)
    (root / "broken.mkv").write_bytes(b"\x1a\x45\xdf\xa3 not a matroska file" * 10)
    Image.fromarray((dark_image * 255).round().astype(np.uint8)).save(root / "photo.png")
    before = {p: _digest(p) for p in root.rglob("*") if p.is_file()}
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli,
        [
            "enhance",
            str(root),
            "-o",
            str(out),
            "-m",
            "lime",
            "--format",
            "jpg",
            "--video-crf",
            "23",
        ],
    )
    assert result.exit_code == 1, result.output
    assert "broken.mkv" in result.output
    assert "3 written" in result.output and "1 failed" in result.output
    assert {p: _digest(p) for p in before} == before  # inputs untouched
    assert (out / "photo.jpg").is_file()  # --format applies to images only
    assert (out / "clip.mp4").is_file() and (out / "nested" / "night.MOV").is_file()
    assert not (out / "broken.mkv").exists()
    assert not any(p.name.startswith(".") for p in out.rglob("*"))


def test_existing_output_skipped_unless_overwrite(clip, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "clip.mp4").write_bytes(b"old")
    args = ["enhance", str(clip), "-o", str(out), "-m", "gamma", "-q"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0 and "1 skipped" in result.output
    assert (out / "clip.mp4").read_bytes() == b"old"
    result = CliRunner().invoke(cli, [*args, "--overwrite", "--temporal-smoothing", "0"])
    assert result.exit_code == 0 and "1 written" in result.output
    assert _mean(out / "clip.mp4") > 3 * _mean(clip)


def test_bad_smoothing_rejected(clip, tmp_path):
    result = CliRunner().invoke(
        cli, ["enhance", str(clip), "-o", str(tmp_path / "o"), "--temporal-smoothing", "1"]
    )
    assert result.exit_code == 2 and "temporal-smoothing" in result.output


def test_missing_pyav_reported_per_video(tmp_path, dark_image, monkeypatch):
    root = tmp_path / "in"
    root.mkdir()
    (root / "clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypisom")
    Image.fromarray((dark_image * 255).round().astype(np.uint8)).save(root / "photo.png")
    monkeypatch.setitem(sys.modules, "av", None)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["enhance", str(root), "-o", str(out), "-m", "gamma", "-q"])
    assert result.exit_code == 1
    assert "pip install 'lowlight[video]'" in result.output and "clip.mp4" in result.output
    assert (out / "photo.png").is_file()
