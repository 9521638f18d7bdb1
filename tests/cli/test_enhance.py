"""`lowlight enhance` on a folder of awkward files: bad ones named, the rest written right,
no input changed."""

from __future__ import annotations

import hashlib
import io as _io
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from lowlight.cli.main import cli


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def awkward_folder(tmp_path, dark_image) -> Path:
    root = tmp_path / "in"
    (root / "nested").mkdir(parents=True)
    rgb8 = (dark_image * 255).round().astype(np.uint8)
    (root / "zero.png").write_bytes(b"")
    (root / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a jpeg" * 4)
    buf = _io.BytesIO()
    Image.fromarray(rgb8).save(buf, format="PNG")
    (root / "truncated.png").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    gray16 = (dark_image.mean(2) * 65535).round().astype(np.uint16)
    Image.fromarray(gray16).save(root / "gray16.png")
    Image.fromarray(rgb8.mean(2).astype(np.uint8), mode="L").save(
        root / "nested" / "gray.jpg", quality=95
    )
    alpha = np.linspace(0, 255, rgb8.shape[1], dtype=np.uint8)[None].repeat(rgb8.shape[0], 0)
    Image.fromarray(np.dstack([rgb8, alpha]), mode="RGBA").save(root / "rgba.png")
    rotated = Image.fromarray(rgb8)  # 64 wide x 48 high; orientation 6 means "rotate 90 CW to view"
    exif = Image.Exif()
    exif[0x0112] = 6
    rotated.save(root / "nested" / "exif_rot.jpg", exif=exif.tobytes(), quality=95)
    return root


def test_enhance_awkward_folder(awkward_folder, tmp_path):
    before = {p: _digest(p) for p in awkward_folder.rglob("*") if p.is_file()}
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli, ["enhance", str(awkward_folder), "-o", str(out), "--model", "gamma", "-q"]
    )
    assert result.exit_code == 1, result.output
    for bad in ("zero.png", "corrupt.jpg", "truncated.png"):
        assert bad in result.output
    assert "3 failed" in result.output and "4 written" in result.output
    assert {p: _digest(p) for p in before} == before  # no input changed

    gray16 = Image.open(out / "gray16.png")
    assert gray16.mode in {"I;16", "I"} and gray16.size == (64, 48)
    assert np.asarray(gray16).max() > 255  # still 16-bit
    gray = Image.open(out / "nested" / "gray.jpg")
    assert gray.mode == "L" and gray.format == "JPEG"
    rgba = Image.open(out / "rgba.png")
    assert rgba.mode == "RGBA"
    src_alpha = np.asarray(Image.open(awkward_folder / "rgba.png"))[..., 3]
    assert np.array_equal(np.asarray(rgba)[..., 3], src_alpha)
    rot = Image.open(out / "nested" / "exif_rot.jpg")
    assert rot.size == (48, 64)  # rotated upright
    assert rot.getexif().get(0x0112, 1) == 1
    assert not any(p.name.startswith(".") for p in out.rglob("*"))  # no temp files left


def test_existing_outputs_skipped_unless_overwrite(tmp_path, dark_image):
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray((dark_image * 255).round().astype(np.uint8)).save(src / "a.png")
    out = tmp_path / "out"
    runner = CliRunner()
    assert (
        runner.invoke(cli, ["enhance", str(src), "-o", str(out), "-m", "gamma", "-q"]).exit_code
        == 0
    )
    first = _digest(out / "a.png")
    result = runner.invoke(cli, ["enhance", str(src), "-o", str(out), "-m", "gamma", "-q"])
    assert result.exit_code == 0 and "1 skipped" in result.output
    result = runner.invoke(
        cli, ["enhance", str(src), "-o", str(out), "-m", "clahe", "--overwrite", "-q"]
    )
    assert result.exit_code == 0 and "1 written" in result.output
    assert _digest(out / "a.png") != first


def test_output_onto_input_refused(tmp_path, dark_image):
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray((dark_image * 255).round().astype(np.uint8)).save(src / "a.png")
    digest = _digest(src / "a.png")
    result = CliRunner().invoke(
        cli, ["enhance", str(src), "-o", str(src), "-m", "gamma", "--overwrite", "-q"]
    )
    assert result.exit_code != 0
    assert _digest(src / "a.png") == digest


def test_format_and_glob(tmp_path, dark_image):
    src = tmp_path / "in"
    src.mkdir()
    for name in ("a.png", "b.jpg", "c.bmp"):
        Image.fromarray((dark_image * 255).round().astype(np.uint8)).save(src / name)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli,
        ["enhance", str(src / "*.[pj]*g"), "-o", str(out), "-m", "gamma", "--format", "webp", "-q"],
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["a.webp", "b.webp"]


def test_large_image_tiled(tmp_path):
    rng = np.random.default_rng(0)
    big = (rng.random((300, 420, 3)) * 60).astype(np.uint8)
    src = tmp_path / "big.png"
    Image.fromarray(big).save(src)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli,
        [
            "enhance",
            str(src),
            "-o",
            str(out),
            "-m",
            "lime",
            "--tile",
            "128",
            "--overlap",
            "16",
            "-q",
        ],
    )
    assert result.exit_code == 0, result.output
    assert Image.open(out / "big.png").size == (420, 300)


def test_decompression_bomb_refused(tmp_path, dark_image):
    src = tmp_path / "in.png"
    Image.fromarray((dark_image * 255).round().astype(np.uint8)).save(src)
    result = CliRunner().invoke(
        cli,
        [
            "enhance",
            str(src),
            "-o",
            str(tmp_path / "o"),
            "-m",
            "gamma",
            "--max-pixels",
            "1000",
            "-q",
        ],
    )
    assert result.exit_code == 1
    assert "pixels" in result.output.lower()


def test_prints_the_licence_of_the_weights_in_use(tmp_path) -> None:  # noqa: ANN001
    import numpy as np
    from click.testing import CliRunner
    from PIL import Image

    from lowlight.cli.main import cli

    Image.fromarray(np.full((24, 32, 3), 20, np.uint8)).save(tmp_path / "dark.png")
    result = CliRunner().invoke(
        cli, ["enhance", str(tmp_path / "dark.png"), "-o", str(tmp_path / "out"), "-m", "lucent"]
    )
    assert result.exit_code == 0, result.output
    assert "lucent: weights lucent_sice_whole, licence: CC BY-NC 4.0" in result.output
