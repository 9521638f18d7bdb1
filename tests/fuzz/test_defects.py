"""One regression test per defect of issue 16 (classes 3-7; classes 1, 2 and the tensor
part of 6 are in tests/test_weights_verification.py, tests/train/test_checkpoint_integrity.py
and tests/test_contract.py). Each failed before its fix."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import numpy as np
import pytest
from _hostile import animated, encode, png_with_rows, rgb8, tiff16_zero_rows_per_strip, video
from PIL import Image

from lowlight.cli.main import main
from lowlight.errors import LowlightError
from lowlight.io import ImageReadError, read_image, write_image


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``lowlight ARGS`` in this process: exit code, stdout, stderr."""
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def digests(root: Path) -> dict[Path, str]:
    return {
        p: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# ----------------------------------------------------------------- 3: never shortened silently


@pytest.mark.parametrize(("kind", "name"), [("png", "PNG"), ("webp", "WEBP"), ("tiff", "TIFF")])
def test_multi_frame_images_refused(tmp_path: Path, kind: str, name: str) -> None:
    path = tmp_path / f"anim.{kind}"
    path.write_bytes(animated(kind))
    with pytest.raises(ImageReadError, match=rf"anim.{kind}: .*{name} with 3 frames"):
        read_image(path)


def test_tiff_thumbnail_page_does_not_count(tmp_path: Path) -> None:
    """A reduced-resolution page (NewSubfileType 1) is not a second image."""
    import tifffile

    path = tmp_path / "thumb.tif"
    with tifffile.TiffWriter(path) as tif:
        tif.write(rgb8(), photometric="rgb")
        tif.write(rgb8(6, 8), photometric="rgb", subfiletype=1)
    assert read_image(path).size == (24, 32)


def test_short_8bit_png_refused(tmp_path: Path) -> None:
    path = tmp_path / "short.png"
    path.write_bytes(png_with_rows(40, 30, rows=12))
    with pytest.raises(ImageReadError, match="short.png: .*truncated"):
        read_image(path)


def test_truncated_video_refused_nothing_written(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    pytest.importorskip("av")
    src = video(tmp_path / "clip.mp4", frames=20)
    data = src.read_bytes()
    src.write_bytes(data[: int(len(data) * 0.6)])
    out = tmp_path / "out"
    code, _, err = run(["enhance", str(src), "-o", str(out), "-m", "gamma", "-q"], capsys)
    assert code == 1
    assert "clip.mp4" in err and "truncated" in err
    assert not list(out.rglob("*.mp4")) and not list(out.rglob(".*.tmp"))


# ----------------------------------------------------------------- 4: limits apply everywhere


def test_max_pixels_applies_to_video(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    pytest.importorskip("av")
    src = video(tmp_path / "clip.mp4", frames=4, size=(64, 48))
    out = tmp_path / "out"
    args = ["enhance", str(src), "-o", str(out), "-m", "gamma", "-q", "--batch", "2"]
    code, _, err = run([*args, "--max-pixels", str(64 * 48 * 2 - 1)], capsys)
    assert code == 1 and "clip.mp4" in err and "megapixels" in err
    code, _, err = run([*args, "--max-pixels", str(64 * 48 * 2)], capsys)
    assert code == 0, err
    assert (out / "clip.mp4").is_file()


def test_tiny_png_claiming_a_huge_size_refused_before_decoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PIL import PngImagePlugin

    path = tmp_path / "claim.png"
    path.write_bytes(png_with_rows(5000, 5000, rows=1))
    assert path.stat().st_size < 200

    def no_decoding(*args, **kwargs):  # noqa: ANN002, ANN003
        raise AssertionError("the decoder was reached")

    monkeypatch.setattr(PngImagePlugin.PngImageFile, "load", no_decoding)
    with pytest.raises(ImageReadError, match="claim.png: .*too few to encode them"):
        read_image(path)


# ----------------------------------------------------------------- 5: the batch goes on


def test_malformed_tiff_is_one_named_failure(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    root = tmp_path / "in"
    root.mkdir()
    (root / "a_bad.tif").write_bytes(tiff16_zero_rows_per_strip())
    (root / "b_good.png").write_bytes(encode("png"))
    (root / "c_good.tif").write_bytes(encode("tiff16"))
    out = tmp_path / "out"
    code, stdout, err = run(["enhance", str(root), "-o", str(out), "-m", "gamma", "-q"], capsys)
    assert code == 1
    assert "a_bad.tif" in err and "Traceback" not in err
    assert "2 written" in stdout and "1 failed" in stdout
    assert (out / "b_good.png").is_file() and (out / "c_good.tif").is_file()


def test_unexpected_exception_in_reader_is_recorded(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    import lowlight
    from lowlight.inference import files
    from lowlight.io import image

    def boom(*args, **kwargs):  # noqa: ANN002, ANN003
        raise ZeroDivisionError("integer division or modulo by zero")

    monkeypatch.setattr(image, "_read_native16", boom)
    (tmp_path / "a.png").write_bytes(encode("png"))
    summary = files.enhance_files(
        lowlight.load("gamma"), [(tmp_path / "a.png", tmp_path / "o.png")]
    )
    assert summary.failed and "ZeroDivisionError" in summary.failed[0].message


# ----------------------------------------------------------------- 6: misuse, one line each


def test_unknown_model_arg_is_one_line(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    (tmp_path / "a.png").write_bytes(encode("png"))
    code, _, err = run(
        [
            "enhance",
            str(tmp_path / "a.png"),
            "-o",
            str(tmp_path / "o"),
            "-m",
            "gamma",
            "--model-arg",
            "nonsense=1",
        ],
        capsys,
    )
    assert code == 2 and "Traceback" not in err
    assert "takes no argument 'nonsense'" in err and "valid arguments" in err


def test_absurd_bench_size_is_one_line(capsys) -> None:  # noqa: ANN001
    code, _, err = run(["bench", "-m", "gamma", "--size", "100000x100000", "--runs", "1"], capsys)
    assert code == 2 and "exceeds the limit" in err and "Traceback" not in err


def test_full_disk_is_one_line(monkeypatch, capsys) -> None:  # noqa: ANN001
    import errno

    from lowlight.cli import main as cli_main

    def full(*args, **kwargs):  # noqa: ANN002, ANN003
        raise OSError(errno.ENOSPC, "No space left on device", "log.csv")

    monkeypatch.setattr(cli_main.cli, "main", full)
    code, _, err = run(["train", "x.yaml"], capsys)
    assert code == 2 and err.strip() == "error: [Errno 28] No space left on device: 'log.csv'"


def test_long_output_name_is_written(tmp_path: Path) -> None:
    """The temporary file's name is no longer than the output's (255-byte names work)."""
    name = "x" * 251 + ".png"
    path = write_image(tmp_path / name, rgb8().astype(np.float32) / 255)
    assert path.name == name and path.is_file()
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_temp_name_never_longer_than_a_long_output_name() -> None:
    from lowlight.io.atomic import temp_name

    for length in (64, 100, 200, 255):
        name = "é" * (length // 2 - 2) + ".png"
        assert len(temp_name(name, "0123abcd").encode()) <= len(name.encode())
        assert temp_name(name, "0123abcd").endswith(".0123abcd.tmp")


def test_single_output_file(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    src = tmp_path / "a.jpg"
    src.write_bytes(encode("jpeg"))
    out = tmp_path / "res" / "out.png"
    code, _, err = run(["enhance", str(src), "-o", str(out), "-m", "gamma", "-q"], capsys)
    assert code == 0, err
    assert out.is_file() and Image.open(out).format == "PNG"
    code, _, err = run(["enhance", str(src), str(out), "-o", str(tmp_path / "b.png")], capsys)
    assert code == 2 and "names a file" in err


# ----------------------------------------------------------------- 7: smaller


def test_broken_link_and_unsupported_named_explicitly(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    (tmp_path / "link.png").symlink_to(tmp_path / "gone.png")
    (tmp_path / "anim.gif").write_bytes(b"GIF89a" + bytes(30))
    (tmp_path / "photo.heic").write_bytes(b"\x00\x00\x00\x18ftypheic" + bytes(20))
    (tmp_path / "ok.png").write_bytes(encode("png"))
    names = ["link.png", "anim.gif", "photo.heic", "ok.png"]
    code, stdout, err = run(
        [
            "enhance",
            *[str(tmp_path / n) for n in names],
            "-o",
            str(tmp_path / "o"),
            "-m",
            "gamma",
            "-q",
        ],
        capsys,
    )
    assert code == 1 and "1 written" in stdout and "3 failed" in stdout
    assert "link.png: broken symbolic link" in err
    assert "anim.gif: not a PNG" in err and "a GIF" in err
    assert "photo.heic" in err and "HEIC" in err


def test_alpha_dropped_into_jpeg_is_said(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    rgba = np.dstack([rgb8(), np.full((24, 32), 128, np.uint8)])
    buf = tmp_path / "alpha.jpg"
    Image.fromarray(rgba, "RGBA").save(buf, format="PNG")  # PNG content named .jpg
    code, _, err = run(["enhance", str(buf), "-o", str(tmp_path / "o"), "-m", "gamma"], capsys)
    assert code == 0 and "alpha dropped" in err and "alpha.jpg" in err


def test_stale_temporaries_of_killed_runs_are_cleaned(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.png").write_bytes(encode("png"))
    out = tmp_path / "o"
    out.mkdir()
    stale = out / ".a.png.0123abcd.tmp"
    fresh = out / ".b.png.89abcdef.tmp"  # maybe another run's, in progress: kept
    stale.write_bytes(b"")
    fresh.write_bytes(b"")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    code, _, _ = run(["enhance", str(tmp_path / "in"), "-o", str(out), "-m", "gamma", "-q"], capsys)
    assert code == 0 and not stale.exists() and fresh.exists()


def test_second_run_into_output_inside_input(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    root = tmp_path / "photos"
    root.mkdir()
    (root / "a.png").write_bytes(encode("png"))
    out = root / "bright"
    args = ["enhance", str(root), "-o", str(out), "-m", "gamma", "-q"]
    assert run(args, capsys)[0] == 0
    before = digests(root)
    code, stdout, err = run(args, capsys)
    assert code == 0, err
    assert "1 skipped" in stdout and not (out / "bright").exists()
    assert digests(root) == before


def test_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(LowlightError, match="nothing.png"):
        read_image(tmp_path / "nothing.png")
