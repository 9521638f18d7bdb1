"""read_image / from_pil: formats, modes, 16 bits, EXIF orientation, ICC, errors, pixel limit."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageFile, ImageOps

from lowlight.errors import ConfigError, LowlightError
from lowlight.io import (
    DEFAULT_MAX_PIXELS,
    ImageData,
    ImageReadError,
    ImageTooLargeError,
    from_pil,
    read_image,
)
from lowlight.io.exif import apply_orientation, exif_orientation
from lowlight.io.png import _chunk, encode_png
from lowlight.io.tiff import encode_tiff16

RNG = np.random.default_rng(0)
RGB8 = RNG.integers(0, 256, (12, 17, 3)).astype(np.uint8)
ALPHA8 = RNG.integers(0, 256, (12, 17)).astype(np.uint8)


def _opened(path: Path) -> Image.Image:
    """Open, decode and close (no file handle left open)."""
    with Image.open(path) as image:
        image.load()
        return image


def _srgb_icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _pil_image(mode: str) -> Image.Image:
    rgba = Image.fromarray(np.dstack([RGB8, ALPHA8]))
    if mode == "1":
        return Image.fromarray(RGB8[:, :, 0] > 127)
    if mode in ("RGBA", "LA", "PA"):
        return rgba.convert(mode)
    if mode == "P":
        return Image.fromarray(RGB8).convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
    if mode == "I;16":
        return Image.fromarray(RGB8[:, :, 0].astype(np.uint16) * 250 + 7)
    return Image.fromarray(RGB8).convert(mode)


CASES = [
    # (format, extension, mode, gray, has_alpha, lossless)
    ("PNG", ".png", "1", True, False, True),
    ("PNG", ".png", "L", True, False, True),
    ("PNG", ".png", "LA", True, True, True),
    ("PNG", ".png", "RGB", False, False, True),
    ("PNG", ".png", "RGBA", False, True, True),
    ("PNG", ".png", "P", False, False, True),
    ("PNG", ".png", "I;16", True, False, True),
    ("JPEG", ".jpg", "L", True, False, False),
    ("JPEG", ".jpeg", "RGB", False, False, False),
    ("JPEG", ".jpg", "CMYK", False, False, False),
    ("BMP", ".bmp", "1", True, False, True),
    ("BMP", ".bmp", "L", True, False, True),
    ("BMP", ".bmp", "P", False, False, True),
    ("BMP", ".bmp", "RGB", False, False, True),
    ("BMP", ".bmp", "RGBA", False, False, True),  # Pillow ignores 32-bit BMP alpha
    ("TIFF", ".tif", "1", True, False, True),
    ("TIFF", ".tiff", "L", True, False, True),
    ("TIFF", ".tif", "LA", True, True, True),
    ("TIFF", ".tif", "RGB", False, False, True),
    ("TIFF", ".tif", "RGBA", False, True, True),
    ("TIFF", ".tif", "CMYK", False, False, True),
    ("TIFF", ".tif", "P", False, False, True),
    ("TIFF", ".tif", "I;16", True, False, True),
    ("WEBP", ".webp", "RGB", False, False, True),
    ("WEBP", ".webp", "RGBA", False, True, True),
]


@pytest.mark.parametrize(("fmt", "ext", "mode", "gray", "has_alpha", "lossless"), CASES)
def test_formats_and_modes(
    tmp_path: Path, fmt: str, ext: str, mode: str, gray: bool, has_alpha: bool, lossless: bool
) -> None:
    image = _pil_image(mode)
    path = tmp_path / f"x{ext}"
    image.save(path, format=fmt, **({"lossless": True} if fmt == "WEBP" else {}))
    data = read_image(path)
    opened = _opened(path)
    assert data.format == fmt and data.mode == opened.mode and data.path == path
    assert data.rgb.shape == (12, 17, 3) and data.rgb.dtype == np.float32
    assert data.size == (12, 17)
    assert data.gray == gray
    assert (data.alpha is not None) == has_alpha
    assert data.bit_depth == (16 if mode == "I;16" else 8)
    if mode == "I;16":
        expected = np.asarray(opened).astype(np.float64)[:, :, None] / 65535
    else:
        expected = np.asarray(opened.convert("RGB")).astype(np.float64) / 255
    tolerance = 1e-6 if lossless else 2 / 255
    assert np.abs(data.rgb - expected).max() <= tolerance
    if has_alpha:
        assert np.abs(data.alpha - np.asarray(opened.getchannel("A")) / 255).max() < 1e-6
    if gray:
        assert np.array_equal(data.rgb[..., 0], data.rgb[..., 2])


def test_content_decides_the_format_not_the_extension(tmp_path: Path) -> None:
    path = tmp_path / "really_a_png.jpg"
    Image.fromarray(RGB8).save(path, format="PNG")
    data = read_image(path)
    assert data.format == "PNG" and np.array_equal(np.round(data.rgb * 255), RGB8)


def _assert_16bit(data: ImageData, pixels: np.ndarray) -> None:
    """``data`` holds exactly ``pixels`` (``(H, W, C)`` uint16, C = 2, 3 or 4)."""
    channels = pixels.shape[2]
    colour = np.round(data.rgb * 65535).astype(np.uint16)
    if channels <= 2:
        assert np.array_equal(colour, np.repeat(pixels[..., :1], 3, axis=2))
    else:
        assert np.array_equal(colour, pixels[..., :3])
    if channels in (2, 4):
        assert data.alpha is not None
        assert np.array_equal(np.round(data.alpha * 65535).astype(np.uint16), pixels[..., -1])
    else:
        assert data.alpha is None


class TestSixteenBit:
    @pytest.mark.parametrize(("channels", "mode"), [(2, "LA"), (3, "RGB"), (4, "RGBA")])
    def test_png_colour_keeps_16_bits(self, tmp_path: Path, channels: int, mode: str) -> None:
        pixels = RNG.integers(0, 65536, (9, 11, channels)).astype(np.uint16)
        pixels[0, 0] = 1000  # > 255, not a multiple of 257
        path = tmp_path / "x.png"
        path.write_bytes(encode_png(pixels, filter_type=None))
        data = read_image(path)
        assert data.bit_depth == 16 and data.mode == mode and data.format == "PNG"
        assert data.gray == (channels == 2)
        _assert_16bit(data, pixels)

    def test_png_grey_keeps_16_bits(self, tmp_path: Path) -> None:
        pixels = (np.arange(99, dtype=np.uint16).reshape(9, 11) * 613 + 1000).astype(np.uint16)
        path = tmp_path / "g.png"
        Image.fromarray(pixels).save(path)
        data = read_image(path)
        assert data.bit_depth == 16 and data.gray and data.alpha is None
        assert np.array_equal(np.round(data.rgb[..., 0] * 65535).astype(np.uint16), pixels)

    @pytest.mark.parametrize("channels", [2, 3, 4])
    def test_tiff_keeps_16_bits(self, tmp_path: Path, channels: int) -> None:
        pixels = RNG.integers(0, 65536, (9, 11, channels)).astype(np.uint16)
        path = tmp_path / "x.tif"
        path.write_bytes(encode_tiff16(pixels))
        data = read_image(path)
        assert data.bit_depth == 16 and data.format == "TIFF"
        _assert_16bit(data, pixels)

    def test_tiff_associated_alpha_is_divided_out(self, tmp_path: Path) -> None:
        tifffile = pytest.importorskip("tifffile")
        colour = np.full((4, 4, 3), 0.5)
        alpha = np.full((4, 4, 1), 0.5)
        premultiplied = np.round(np.concatenate([colour * alpha, alpha], axis=2) * 65535)
        path = tmp_path / "p.tif"
        tifffile.imwrite(
            path, premultiplied.astype(np.uint16), photometric="rgb", extrasamples=["assocalpha"]
        )
        data = read_image(path)
        np.testing.assert_allclose(data.rgb, 0.5, atol=1e-4)


def _exif_with(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "TestCam"  # Make
    return exif.tobytes()


class TestOrientation:
    @pytest.mark.parametrize(
        ("orientation", "corner"),
        [(3, (-1, -1)), (6, (0, -1)), (8, (-1, 0))],
    )
    def test_rotated_jpeg(self, tmp_path: Path, orientation: int, corner: tuple[int, int]) -> None:
        stored = np.full((32, 48, 3), 30, np.uint8)
        stored[:8, :8] = (250, 20, 20)  # red mark at the stored top-left
        path = tmp_path / f"o{orientation}.jpg"
        Image.fromarray(stored).save(path, exif=_exif_with(orientation), quality=95)
        data = read_image(path)
        expected_size = (32, 48) if orientation == 3 else (48, 32)
        assert data.size == expected_size
        y = slice(0, 8) if corner[0] == 0 else slice(-8, None)
        x = slice(0, 8) if corner[1] == 0 else slice(-8, None)
        patch = data.rgb[y, x].reshape(-1, 3).mean(axis=0)
        assert patch[0] > 0.85 and patch[1] < 0.2
        assert exif_orientation(data.exif) == 1
        assert b"TestCam" in data.exif
        reference = np.asarray(ImageOps.exif_transpose(_opened(path)))
        assert np.abs(data.rgb * 255 - reference).max() < 1e-3

    @pytest.mark.parametrize("orientation", range(1, 9))
    def test_all_orientations_match_pillow(self, tmp_path: Path, orientation: int) -> None:
        path = tmp_path / "o.png"
        Image.fromarray(RGB8).save(path, exif=_exif_with(orientation))
        data = read_image(path)
        reference = np.asarray(ImageOps.exif_transpose(_opened(path)))
        assert np.array_equal(np.round(data.rgb * 255).astype(np.uint8), reference)
        assert np.array_equal(apply_orientation(RGB8, orientation), reference)

    def test_16bit_png_with_orientation(self, tmp_path: Path) -> None:
        pixels = RNG.integers(0, 65536, (5, 7, 3)).astype(np.uint16)
        path = tmp_path / "o.png"
        path.write_bytes(encode_png(pixels, exif=_exif_with(6)))
        data = read_image(path)
        assert data.size == (7, 5)
        got = np.round(data.rgb * 65535).astype(np.uint16)
        assert np.array_equal(got, np.rot90(pixels, -1))
        assert exif_orientation(data.exif) == 1

    @pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
    def test_exif_chunk_after_image_data(self, tmp_path: Path, dtype: type) -> None:
        data = encode_png(np.zeros((4, 6, 3), dtype))
        iend = data.rindex(b"IEND") - 4
        path = tmp_path / "late.png"
        path.write_bytes(data[:iend] + _chunk(b"eXIf", _exif_with(6)[6:]) + data[iend:])
        assert read_image(path).size == (6, 4)

    def test_tiff_orientation_tag(self, tmp_path: Path) -> None:
        path = tmp_path / "o.tif"
        Image.fromarray(RGB8).save(path, tiffinfo={274: 8})
        data = read_image(path)
        assert data.size == (17, 12)
        assert np.array_equal(np.round(data.rgb * 255).astype(np.uint8), np.rot90(RGB8, 1))


class TestTransparencyAndMetadata:
    def test_palette_with_transparency_gets_alpha(self, tmp_path: Path) -> None:
        image = Image.fromarray(RGB8).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
        index = int(np.asarray(image)[0, 0])
        path = tmp_path / "p.png"
        image.save(path, transparency=index)
        data = read_image(path)
        assert data.alpha is not None and data.alpha[0, 0] == 0 and not data.gray
        assert data.alpha.max() == 1

    def test_grey_colour_key_gets_alpha(self, tmp_path: Path) -> None:
        grey = np.full((4, 5), 100, np.uint8)
        grey[0, 0] = 7
        path = tmp_path / "g.png"
        Image.fromarray(grey).save(path, transparency=7)
        data = read_image(path)
        assert data.gray and data.alpha is not None
        assert data.alpha[0, 0] == 0 and data.alpha.sum() == grey.size - 1

    @pytest.mark.parametrize(
        ("fmt", "ext"), [("PNG", ".png"), ("JPEG", ".jpg"), ("WEBP", ".webp"), ("TIFF", ".tif")]
    )
    def test_icc_profile_is_read(self, tmp_path: Path, fmt: str, ext: str) -> None:
        icc = _srgb_icc()
        path = tmp_path / f"icc{ext}"
        Image.fromarray(RGB8).save(path, format=fmt, icc_profile=icc)
        assert read_image(path).icc_profile == icc

    def test_cmyk_profile_is_dropped(self, tmp_path: Path) -> None:
        path = tmp_path / "c.jpg"
        fake_cmyk = b"\x00" * 16 + b"CMYK" + b"\x00" * 108
        Image.fromarray(RGB8).convert("CMYK").save(path, icc_profile=fake_cmyk)
        data = read_image(path)
        assert data.icc_profile is None and data.mode == "CMYK"

    def test_tiff_has_no_exif_block(self, tmp_path: Path) -> None:
        path = tmp_path / "t.tif"
        Image.fromarray(RGB8).save(path)
        assert read_image(path).exif is None


class TestFromPil:
    def test_in_memory(self) -> None:
        data = from_pil(Image.fromarray(np.dstack([RGB8, ALPHA8])))
        assert data.format == "" and data.mode == "RGBA" and data.path is None
        assert np.array_equal(np.round(data.alpha * 255).astype(np.uint8), ALPHA8)

    def test_opened_image_gets_orientation(self, tmp_path: Path) -> None:
        path = tmp_path / "o.png"
        Image.fromarray(RGB8).save(path, exif=_exif_with(6))
        data = from_pil(_opened(path))
        assert data.size == (17, 12) and data.format == "PNG"

    def test_float_and_int32_modes(self) -> None:
        f = from_pil(Image.fromarray(np.full((3, 4), 0.25, np.float32)))
        assert f.gray and f.bit_depth == 16 and np.allclose(f.rgb, 0.25)
        i = from_pil(Image.fromarray(np.full((3, 4), 70000, np.int32)))
        assert i.gray and np.allclose(i.rgb, 1.0)

    def test_unsupported_mode(self) -> None:
        with pytest.raises(ValueError, match="LAB"):
            from_pil(Image.new("LAB", (2, 2)))


class TestErrors:
    def test_missing_and_folder(self, tmp_path: Path) -> None:
        with pytest.raises(ImageReadError, match="no such file"):
            read_image(tmp_path / "nope.png")
        with pytest.raises(ImageReadError, match="folder"):
            read_image(tmp_path)

    @pytest.mark.parametrize("ext", [".png", ".jpg", ".tif", ".webp", ".bmp"])
    def test_zero_bytes(self, tmp_path: Path, ext: str) -> None:
        path = tmp_path / f"empty{ext}"
        path.write_bytes(b"")
        with pytest.raises(ImageReadError, match="empty") as info:
            read_image(path)
        assert str(path) in str(info.value)
        assert isinstance(info.value, LowlightError)

    @pytest.mark.parametrize(
        "prefix",
        [
            b"",
            b"\x89PNG\r\n\x1a\n",
            b"\xff\xd8\xff",
            b"BM",
            b"II*\x00",
            b"RIFF\x00\x00\x00\x00WEBP",
        ],
    )
    def test_random_bytes(self, tmp_path: Path, prefix: bytes) -> None:
        path = tmp_path / "random.png"
        path.write_bytes(prefix + np.random.default_rng(1).bytes(2000))
        with pytest.raises(ImageReadError) as info:
            read_image(path)
        assert str(path) in str(info.value)
        assert "Traceback" not in str(info.value)

    def _truncate(self, path: Path, keep: float) -> None:
        data = path.read_bytes()
        path.write_bytes(data[: int(len(data) * keep)])

    @pytest.mark.parametrize(
        ("fmt", "ext"),
        [("PNG", ".png"), ("JPEG", ".jpg"), ("BMP", ".bmp"), ("TIFF", ".tif"), ("WEBP", ".webp")],
    )
    @pytest.mark.parametrize("keep", [0.3, 0.6, 0.9])
    def test_truncated_8bit(self, tmp_path: Path, fmt: str, ext: str, keep: float) -> None:
        noise = np.random.default_rng(2).integers(0, 256, (64, 64, 3)).astype(np.uint8)
        path = tmp_path / f"t{ext}"
        Image.fromarray(noise).save(path, format=fmt)
        self._truncate(path, keep)
        with pytest.raises(ImageReadError, match="t" + ext.replace(".", r"\.")):
            read_image(path)
        assert ImageFile.LOAD_TRUNCATED_IMAGES is False

    @pytest.mark.parametrize("keep", [0.3, 0.9])
    def test_truncated_16bit(self, tmp_path: Path, keep: float) -> None:
        pixels = np.random.default_rng(3).integers(0, 65536, (40, 40, 3)).astype(np.uint16)
        for name, data in (("t.png", encode_png(pixels)), ("t.tif", encode_tiff16(pixels))):
            path = tmp_path / name
            path.write_bytes(data)
            self._truncate(path, keep)
            with pytest.raises(ImageReadError, match=name.replace(".", r"\.")):
                read_image(path)


class TestPixelLimit:
    def _png(self, tmp_path: Path, shape: tuple[int, int] = (10, 20)) -> Path:
        path = tmp_path / "x.png"
        Image.fromarray(np.zeros(shape, np.uint8)).save(path)
        return path

    def test_argument(self, tmp_path: Path) -> None:
        path = self._png(tmp_path)
        assert read_image(path, max_pixels=200).size == (10, 20)
        with pytest.raises(
            ImageTooLargeError, match=r"20x10 .*exceeds the limit.*decompression-bomb"
        ):
            read_image(path, max_pixels=199)

    def test_environment(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        path = self._png(tmp_path)
        monkeypatch.setenv("LOWLIGHT_MAX_PIXELS", "150")
        with pytest.raises(ImageTooLargeError, match="LOWLIGHT_MAX_PIXELS"):
            read_image(path)
        assert read_image(path, max_pixels=1000).size == (10, 20)  # the argument wins
        monkeypatch.setenv("LOWLIGHT_MAX_PIXELS", "lots")
        with pytest.raises(ConfigError, match="LOWLIGHT_MAX_PIXELS"):
            read_image(path)

    def test_default(self) -> None:
        assert (
            DEFAULT_MAX_PIXELS == 48_000_000
        )  # 4 GiB at ~85 MiB per megapixel (benchmarks/peak_memory.py)
        with pytest.raises(ConfigError):
            read_image("whatever.png", max_pixels=0)

    def test_checked_before_decoding(self, tmp_path: Path) -> None:
        # a header claiming 100000 x 100000 pixels and no data: refused for size, not truncation
        for depth, colour in ((8, 2), (16, 2)):
            ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, depth, colour, 0, 0, 0)
            data = (
                b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(b""))
            )
            path = tmp_path / f"bomb{depth}.png"
            path.write_bytes(data)
            with pytest.raises(ImageTooLargeError, match="10000.0 megapixels"):
                read_image(path)

    @pytest.mark.parametrize(("fmt", "ext"), [("PNG", ".png"), ("JPEG", ".jpg"), ("BMP", ".bmp")])
    def test_pillow_global_limit_is_neither_used_nor_changed(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str, ext: str
    ) -> None:
        monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 50)
        path = tmp_path / f"x{ext}"
        Image.fromarray(RGB8).save(path, format=fmt)
        assert read_image(path).size == (12, 17)
        assert Image.MAX_IMAGE_PIXELS == 50

    @pytest.mark.parametrize(("fmt", "ext"), [("WEBP", ".webp"), ("TIFF", ".tif")])
    def test_pillow_global_limit_in_webp_and_tiff_is_reported(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str, ext: str
    ) -> None:
        path = tmp_path / f"x{ext}"
        Image.fromarray(RGB8).save(path, format=fmt)
        monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 50)
        with pytest.raises(ImageTooLargeError, match="MAX_IMAGE_PIXELS"):
            read_image(path)
