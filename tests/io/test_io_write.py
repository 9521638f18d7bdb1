"""write_image / to_pil: formats, kept modes and bit depths, metadata, atomicity, overwrite."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from lowlight.io import (
    ImageData,
    ImageWriteError,
    from_pil,
    read_image,
    to_pil,
    write_image,
)
from lowlight.io.exif import exif_orientation
from lowlight.io.png import encode_png

RNG = np.random.default_rng(0)
RGB = RNG.random((12, 17, 3)).astype(np.float32)
ALPHA = RNG.random((12, 17)).astype(np.float32)


def _opened(path: Path) -> Image.Image:
    """Open, decode and close (no file handle left open)."""
    with Image.open(path) as image:
        image.load()
        return image


def _q8(x: np.ndarray) -> np.ndarray:
    return np.round(np.clip(x, 0, 1) * 255).astype(np.uint8)


def _q16(x: np.ndarray) -> np.ndarray:
    return np.round(np.clip(x, 0, 1) * 65535).astype(np.uint16)


def _srgb_icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _like(**kwargs: object) -> ImageData:
    return ImageData(rgb=RGB, **kwargs)  # type: ignore[arg-type]


class TestRoundTrip:
    @pytest.mark.parametrize("ext", [".png", ".bmp", ".tif", ".tiff"])
    def test_lossless_8bit(self, tmp_path: Path, ext: str) -> None:
        path = write_image(tmp_path / f"x{ext}", RGB)
        assert path == tmp_path / f"x{ext}"
        assert np.array_equal(np.asarray(_opened(path)), _q8(RGB))
        data = read_image(path)
        assert data.bit_depth == 8 and not data.gray and data.alpha is None

    @pytest.mark.parametrize("ext", [".jpg", ".jpeg", ".webp"])
    def test_lossy_8bit(self, tmp_path: Path, ext: str) -> None:
        smooth = np.broadcast_to(
            np.linspace(0.1, 0.9, 17, dtype=np.float32)[None, :, None], (12, 17, 3)
        )
        path = write_image(tmp_path / f"x{ext}", np.ascontiguousarray(smooth))
        assert np.abs(read_image(path).rgb - smooth).max() < 0.05

    def test_webp_quality_100_is_lossless(self, tmp_path: Path) -> None:
        path = write_image(tmp_path / "x.webp", RGB, quality=100)
        assert np.array_equal(np.asarray(_opened(path)), _q8(RGB))

    @pytest.mark.parametrize("ext", [".png", ".tif"])
    def test_16bit_rgb_keeps_all_bits(self, tmp_path: Path, ext: str) -> None:
        rgb = RGB.copy()
        rgb[0, 0] = (1000 / 65535, 12345 / 65535, 300 / 65535)  # > 255, not multiples of 257
        path = write_image(tmp_path / f"x{ext}", rgb, bit_depth=16)
        data = read_image(path)
        assert data.bit_depth == 16 and data.mode == "RGB"
        assert np.array_equal(_q16(data.rgb), _q16(rgb))
        assert _q16(data.rgb)[0, 0].tolist() == [1000, 12345, 300]
        assert (_q16(data.rgb) % 257 != 0).any()

    @pytest.mark.parametrize("ext", [".png", ".tif"])
    def test_16bit_grey_and_alpha(self, tmp_path: Path, ext: str) -> None:
        like = _like(gray=True, alpha=ALPHA, bit_depth=16)
        path = write_image(tmp_path / f"x{ext}", RGB, like=like)
        data = read_image(path)
        assert data.gray and data.bit_depth == 16 and data.mode == "LA"
        grey = _q16(RGB @ np.array([0.299, 0.587, 0.114], np.float32))
        assert np.abs(_q16(data.rgb[..., 0]).astype(int) - grey).max() <= 1
        assert np.array_equal(_q16(data.alpha), _q16(ALPHA))

    def test_16bit_grey_png_is_pillow_i16(self, tmp_path: Path) -> None:
        path = write_image(tmp_path / "g.png", RGB, like=_like(gray=True, bit_depth=16))
        opened = _opened(path)
        assert opened.mode == "I;16"
        values = np.asarray(opened)
        assert values.max() > 255 and (values % 257 != 0).any()


class TestKeepsTheSource:
    def test_rgba_keeps_alpha_exactly(self, tmp_path: Path) -> None:
        src = tmp_path / "src.png"
        Image.fromarray(np.dstack([_q8(RGB), _q8(ALPHA)])).save(src)
        data = read_image(src)
        out = write_image(tmp_path / "out.png", data.rgb, like=data)
        written = np.asarray(_opened(out))
        assert _opened(out).mode == "RGBA"
        assert np.array_equal(written[..., 3], _q8(ALPHA))
        assert np.array_equal(written[..., :3], _q8(RGB))

    def test_grey_jpeg_stays_grey(self, tmp_path: Path) -> None:
        src = tmp_path / "g.jpg"
        Image.fromarray(_q8(RGB[..., 0])).save(src, quality=95)
        data = read_image(src)
        assert data.gray
        out = write_image(tmp_path / "out.jpg", data.rgb, like=data)
        assert _opened(out).mode == "L"

    @pytest.mark.parametrize(
        ("mode", "written"), [("L", "L"), ("LA", "LA"), ("P", "RGB"), ("CMYK", "RGB"), ("1", "L")]
    )
    def test_modes(self, tmp_path: Path, mode: str, written: str) -> None:
        source = np.dstack([_q8(RGB), _q8(ALPHA)]) if mode == "LA" else _q8(RGB)
        image = Image.fromarray(source).convert(mode)
        src = tmp_path / ("src.tif" if mode == "CMYK" else "src.png")
        image.save(src)
        data = read_image(src)
        out = write_image(tmp_path / "out.png", data.rgb, like=data)
        assert _opened(out).mode == written

    @pytest.mark.parametrize(
        ("ext", "mode"),
        [(".png", "LA"), (".tif", "LA"), (".webp", "RGBA"), (".jpg", "L"), (".bmp", "L")],
    )
    def test_grey_with_alpha_in_every_format(self, tmp_path: Path, ext: str, mode: str) -> None:
        out = write_image(tmp_path / f"x{ext}", RGB, like=_like(gray=True, alpha=ALPHA))
        assert _opened(out).mode == mode
        data = read_image(out)
        assert (data.alpha is not None) == ("A" in mode)
        assert np.abs(data.rgb[..., 0] - data.rgb[..., 1]).max() < 0.02  # lossy WebP chroma

    def test_16bit_png_source_written_back_at_16(self, tmp_path: Path) -> None:
        pixels = RNG.integers(0, 65536, (6, 7, 4)).astype(np.uint16)
        src = tmp_path / "src.png"
        src.write_bytes(encode_png(pixels))
        data = read_image(src)
        out = write_image(tmp_path / "out.png", data.rgb, like=data)
        again = read_image(out)
        assert again.bit_depth == 16 and again.alpha is not None
        assert np.array_equal(_q16(again.rgb), pixels[..., :3])
        assert np.array_equal(_q16(again.alpha), pixels[..., 3])

    def test_inherited_16bit_falls_back_to_8_for_jpeg(self, tmp_path: Path) -> None:
        out = write_image(tmp_path / "x.jpg", RGB, like=_like(bit_depth=16))
        assert _opened(out).mode == "RGB"

    @pytest.mark.parametrize("ext", [".jpg", ".webp", ".bmp"])
    def test_explicit_16bit_with_8bit_format_is_an_error(self, tmp_path: Path, ext: str) -> None:
        with pytest.raises(ImageWriteError, match="8 bits per channel"):
            write_image(tmp_path / f"x{ext}", RGB, bit_depth=16)
        assert not list(tmp_path.iterdir())

    def test_explicit_8bit_from_16bit_source(self, tmp_path: Path) -> None:
        out = write_image(tmp_path / "x.png", RGB, like=_like(bit_depth=16), bit_depth=8)
        assert _opened(out).mode == "RGB" and read_image(out).bit_depth == 8

    def test_format_argument(self, tmp_path: Path) -> None:
        out = write_image(tmp_path / "x.out", RGB, format="jpg")
        assert _opened(out).format == "JPEG"
        out = write_image(tmp_path / "y.png", RGB, format="TIFF")
        assert _opened(out).format == "TIFF"

    def test_alpha_dropped_for_jpeg_and_bmp(self, tmp_path: Path) -> None:
        like = _like(alpha=ALPHA)
        assert _opened(write_image(tmp_path / "x.jpg", RGB, like=like)).mode == "RGB"
        assert _opened(write_image(tmp_path / "x.bmp", RGB, like=like)).mode == "RGB"
        assert _opened(write_image(tmp_path / "x.webp", RGB, like=like)).mode == "RGBA"

    def test_grey_webp_is_written_as_rgb(self, tmp_path: Path) -> None:
        out = write_image(tmp_path / "g.webp", RGB, like=_like(gray=True), quality=100)
        pixels = np.asarray(_opened(out))
        assert pixels.ndim == 3 and np.array_equal(pixels[..., 0], pixels[..., 1])

    def test_alpha_is_resized_with_the_image(self, tmp_path: Path) -> None:
        bigger = np.zeros((24, 34, 3), np.float32)
        out = write_image(
            tmp_path / "x.png", bigger, like=_like(alpha=np.ones((12, 17), np.float32))
        )
        written = np.asarray(_opened(out))
        assert written.shape == (24, 34, 4) and (written[..., 3] == 255).all()

    def test_integer_rgba_array(self, tmp_path: Path) -> None:
        pixels = np.dstack([_q8(RGB), _q8(ALPHA)])
        out = write_image(tmp_path / "x.png", pixels)
        assert np.array_equal(np.asarray(_opened(out)), pixels)


class TestMetadata:
    def _exif(self) -> bytes:
        exif = Image.Exif()
        exif[0x0112] = 6
        exif[0x010F] = "TestCam"
        return exif.tobytes()

    @pytest.mark.parametrize("ext", [".jpg", ".png", ".webp"])
    def test_exif_kept_with_orientation_1(self, tmp_path: Path, ext: str) -> None:
        src = tmp_path / f"src{ext}"
        Image.fromarray(_q8(RGB)).save(src, exif=self._exif())
        data = read_image(src)
        assert data.size == (17, 12)
        out = write_image(tmp_path / f"out{ext}", data.rgb, like=data)
        written = _opened(out)
        assert written.size == (12, 17)  # PIL: (W, H); pixels already upright
        exif = written.getexif()
        assert exif.get(0x0112) == 1 and exif.get(0x010F) == "TestCam"
        assert read_image(out).size == (17, 12)

    def test_16bit_png_exif(self, tmp_path: Path) -> None:
        like = _like(bit_depth=16, exif=b"Exif\x00\x00" + Image.Exif().tobytes()[6:])
        out = write_image(tmp_path / "x.png", RGB, like=like)
        assert exif_orientation(read_image(out).exif) == 1

    @pytest.mark.parametrize(
        ("ext", "bit_depth"),
        [(".png", 8), (".jpg", 8), (".webp", 8), (".tif", 8), (".png", 16), (".tif", 16)],
    )
    def test_icc_survives(self, tmp_path: Path, ext: str, bit_depth: int) -> None:
        icc = _srgb_icc()
        src = tmp_path / "src.png"
        Image.fromarray(_q8(RGB)).save(src, icc_profile=icc)
        data = read_image(src)
        out = write_image(tmp_path / f"out{ext}", data.rgb, like=data, bit_depth=bit_depth)
        assert read_image(out).icc_profile == icc

    def test_rgb_profile_not_put_on_grey_output(self, tmp_path: Path) -> None:
        out = write_image(tmp_path / "g.png", RGB, like=_like(gray=True, icc_profile=_srgb_icc()))
        assert _opened(out).info.get("icc_profile") is None

    def test_tiff_and_bmp_do_not_get_exif(self, tmp_path: Path) -> None:
        like = _like(exif=self._exif())
        for ext in (".tif", ".bmp"):
            out = write_image(tmp_path / f"x{ext}", RGB, like=like)
            assert _opened(out).getexif().get(0x010F) is None


class TestFileHandling:
    def test_overwrite_refused_by_default(self, tmp_path: Path) -> None:
        path = tmp_path / "x.png"
        path.write_bytes(b"keep me")
        with pytest.raises(ImageWriteError, match="already exists"):
            write_image(path, RGB)
        assert path.read_bytes() == b"keep me"
        write_image(path, RGB, overwrite=True)
        assert np.array_equal(np.asarray(_opened(path)), _q8(RGB))
        assert sorted(p.name for p in tmp_path.iterdir()) == ["x.png"]

    def test_failure_leaves_nothing_behind(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        def broken_save(self: Image.Image, fp, *args, **kwargs) -> None:  # noqa: ANN001
            fp.write(b"partial data")
            raise OSError("disk full")

        monkeypatch.setattr(Image.Image, "save", broken_save)
        with pytest.raises(ImageWriteError, match="disk full") as info:
            write_image(tmp_path / "x.png", RGB)
        assert "x.png" in str(info.value)
        assert list(tmp_path.iterdir()) == []

        old = tmp_path / "old.png"
        old.write_bytes(b"previous")
        with pytest.raises(ImageWriteError):
            write_image(old, RGB, overwrite=True)
        assert old.read_bytes() == b"previous"
        assert [p.name for p in tmp_path.iterdir()] == ["old.png"]

    def test_16bit_failure_leaves_nothing(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        import lowlight.io.atomic as atomic

        def failing_fsync(fd: int) -> None:
            raise OSError("I/O error")

        monkeypatch.setattr(atomic.os, "fsync", failing_fsync)
        with pytest.raises(ImageWriteError, match="I/O error"):
            write_image(tmp_path / "x.png", RGB, bit_depth=16)
        assert list(tmp_path.iterdir()) == []

    def test_parents_are_created_and_mode_follows_umask(self, tmp_path: Path) -> None:
        out = write_image(tmp_path / "a" / "b" / "x.png", RGB)
        assert out.is_file()
        umask = os.umask(0)
        os.umask(umask)
        assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask

    def test_bad_arguments(self, tmp_path: Path) -> None:
        with pytest.raises(ImageWriteError, match="extension"):
            write_image(tmp_path / "x.gif", RGB)
        with pytest.raises(ImageWriteError, match="unknown image format"):
            write_image(tmp_path / "x.png", RGB, format="gif")
        with pytest.raises(ImageWriteError, match="bit depth"):
            write_image(tmp_path / "x.png", RGB, bit_depth=12)
        with pytest.raises(ValueError, match="quality"):
            write_image(tmp_path / "x.jpg", RGB, quality=0)
        with pytest.raises(ValueError, match="shape"):
            write_image(tmp_path / "x.png", np.zeros((4, 4, 5), np.float32))
        with pytest.raises(ValueError, match="NaN"):
            write_image(tmp_path / "x.png", np.full((4, 4, 3), np.nan, np.float32))
        (tmp_path / "dir.png").mkdir()
        with pytest.raises(ImageWriteError, match="folder"):
            write_image(tmp_path / "dir.png", RGB, overwrite=True)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["dir.png"]


class TestToPil:
    @pytest.mark.parametrize(
        ("like", "mode"),
        [
            (None, "RGB"),
            (_like(), "RGB"),
            (_like(gray=True), "L"),
            (_like(gray=True, bit_depth=16), "I;16"),
            (_like(gray=True, bit_depth=16, alpha=ALPHA), "LA"),
            (_like(alpha=ALPHA), "RGBA"),
            (_like(bit_depth=16), "RGB"),
            (_like(mode="P"), "RGB"),
            (_like(mode="CMYK"), "RGB"),
        ],
    )
    def test_modes(self, like: ImageData | None, mode: str) -> None:
        image = to_pil(RGB, like)
        assert image.mode == mode and image.size == (17, 12)

    def test_values_and_metadata(self) -> None:
        icc = _srgb_icc()
        image = to_pil(RGB, _like(alpha=ALPHA, icc_profile=icc, exif=b"Exif\x00\x00xx"))
        assert np.array_equal(np.asarray(image), np.dstack([_q8(RGB), _q8(ALPHA)]))
        assert image.info["icc_profile"] == icc and image.info["exif"].startswith(b"Exif")

    def test_round_trip_through_from_pil(self) -> None:
        data = from_pil(to_pil(RGB, _like(gray=True, bit_depth=16)))
        assert data.gray and data.bit_depth == 16

    def test_bad_input(self) -> None:
        with pytest.raises(ValueError):
            to_pil(np.zeros((3, 3), np.float32))
