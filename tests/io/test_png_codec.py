"""The numpy PNG codec, checked against Pillow where Pillow is exact (8-bit, 16-bit grey)
and against the source array for 16-bit colour."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from lowlight.io.png import (
    _ADAM7,
    PngError,
    _chunk,
    _filter_rows,
    decode_png,
    encode_png,
    read_png_header,
)

FILTERS = [None, 0, 1, 2, 3, 4]


def _photo(h: int, w: int, c: int, dtype: type, seed: int = 0) -> np.ndarray:
    """Smooth gradients plus noise: every filter type gets exercised by the heuristic."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    maximum = np.iinfo(dtype).max
    planes = [(np.sin(xx / 5 + k) * 0.4 + 0.5) * (yy / max(h - 1, 1) * 0.5 + 0.5) for k in range(c)]
    base = np.stack(planes, axis=2) + rng.normal(0, 0.02, (h, w, c))
    return np.round(np.clip(base, 0, 1) * maximum).astype(dtype)


def _pil(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


def _interlaced_png(pixels: np.ndarray) -> bytes:
    """An Adam7-interlaced PNG built by hand (each pass filtered with the heuristic)."""
    h, w, c = pixels.shape
    depth = 16 if pixels.dtype == np.uint16 else 8
    bpp = c * depth // 8
    big = pixels.astype(">u2") if depth == 16 else pixels
    raw = b""
    for x0, y0, dx, dy in _ADAM7:
        sub = big[y0::dy, x0::dx]
        if sub.size == 0:
            continue
        rows = np.ascontiguousarray(sub).view(np.uint8).reshape(sub.shape[0], -1)
        raw += _filter_rows(rows, np.zeros(rows.shape[1], np.uint8), bpp, None)
    colour = {1: 0, 2: 4, 3: 2, 4: 6}[c]
    ihdr = struct.pack(">IIBBBBB", w, h, depth, colour, 0, 0, 1)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(raw))
        + _chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("filter_type", FILTERS)
@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_8bit_matches_pillow(filter_type: int | None, channels: int) -> None:
    pixels = _photo(23, 31, channels, np.uint8)
    data = encode_png(pixels, filter_type=filter_type)
    decoded = decode_png(data).pixels
    assert np.array_equal(decoded, pixels)
    assert np.array_equal(_pil(data).reshape(pixels.shape), pixels)


@pytest.mark.parametrize("filter_type", FILTERS)
@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_16bit_round_trip(filter_type: int | None, channels: int) -> None:
    pixels = _photo(19, 27, channels, np.uint16, seed=channels)
    pixels[0, 0, 0] = 257 * 3 + 1  # > 255 and not a multiple of 257
    data = encode_png(pixels, filter_type=filter_type)
    out = decode_png(data)
    assert out.pixels.dtype == np.uint16
    assert np.array_equal(out.pixels, pixels)
    assert out.header.bit_depth == 16
    if channels == 1:  # Pillow is exact for 16-bit grey
        assert np.array_equal(_pil(data), pixels[:, :, 0])
    elif channels in (3, 4):  # Pillow keeps the high byte of 16-bit colour
        assert np.array_equal(_pil(data), (pixels >> 8).astype(np.uint8))


def test_pillow_encoded_file_decodes() -> None:
    pixels = _photo(40, 50, 3, np.uint8, seed=3)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG", optimize=True)
    assert np.array_equal(decode_png(buf.getvalue()).pixels, pixels)


def test_band_boundaries_and_tall_images() -> None:
    # more rows than one wavefront band (512) with every filter mixed in
    pixels = _photo(1100, 9, 3, np.uint16, seed=5)
    rng = np.random.default_rng(0)
    rows = np.ascontiguousarray(pixels.astype(">u2")).view(np.uint8).reshape(1100, -1)
    chunks, prev = [], np.zeros(rows.shape[1], np.uint8)
    for i, kind in enumerate(rng.integers(0, 5, 1100)):
        chunks.append(_filter_rows(rows[i : i + 1], prev, 6, int(kind)))
        prev = rows[i]
    ihdr = struct.pack(">IIBBBBB", 9, 1100, 16, 2, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr)
    data += _chunk(b"IDAT", zlib.compress(b"".join(chunks))) + _chunk(b"IEND", b"")
    assert np.array_equal(decode_png(data).pixels, pixels)


@pytest.mark.parametrize("shape", [(1, 1), (3, 2), (9, 17), (16, 16)])
def test_interlaced(shape: tuple[int, int]) -> None:
    pixels8 = _photo(*shape, 3, np.uint8, seed=7)
    data8 = _interlaced_png(pixels8)
    assert read_png_header(data8).interlace == 1
    assert np.array_equal(decode_png(data8).pixels, pixels8)
    assert np.array_equal(_pil(data8), pixels8)
    pixels16 = _photo(*shape, 4, np.uint16, seed=8)
    assert np.array_equal(decode_png(_interlaced_png(pixels16)).pixels, pixels16)


def test_colour_key_transparency_becomes_alpha() -> None:
    pixels = np.zeros((2, 3, 3), np.uint16)
    pixels[0, 0] = (1000, 2000, 3000)
    data = encode_png(pixels)
    trns = _chunk(b"tRNS", struct.pack(">3H", 0, 0, 0))
    data = data[:33] + trns + data[33:]
    out = decode_png(data).pixels
    assert out.shape == (2, 3, 4)
    assert out[0, 0, 3] == 65535 and (out.reshape(-1, 4)[1:, 3] == 0).all()


def test_metadata_round_trip() -> None:
    icc = b"fake profile " * 20
    exif = b"Exif\x00\x00II*\x00\x08\x00\x00\x00\x00\x00"
    out = decode_png(encode_png(np.zeros((2, 2, 3), np.uint16), icc_profile=icc, exif=exif))
    assert out.icc_profile == icc
    assert out.exif == exif[6:]


class TestCorruption:
    def _data(self) -> bytes:
        return encode_png(_photo(30, 30, 3, np.uint16), filter_type=4)

    def test_truncated(self) -> None:
        data = self._data()
        for cut in (20, 40, len(data) // 2, len(data) - 13):
            with pytest.raises(PngError, match="truncated"):
                decode_png(data[:cut])

    def test_bad_crc(self) -> None:
        data = bytearray(self._data())
        data[60] ^= 0xFF  # inside the first IDAT
        with pytest.raises(PngError, match="CRC"):
            decode_png(bytes(data))

    def test_bad_filter_type(self) -> None:
        raw = b"\x07" + b"\x00" * 6
        ihdr = struct.pack(">IIBBBBB", 1, 1, 16, 2, 0, 0, 0)
        data = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(raw))
        with pytest.raises(PngError, match="filter type"):
            decode_png(data + _chunk(b"IEND", b""))

    def test_corrupt_stream(self) -> None:
        ihdr = struct.pack(">IIBBBBB", 4, 4, 16, 2, 0, 0, 0)
        data = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", b"not zlib at all")
        with pytest.raises(PngError, match="corrupt"):
            decode_png(data + _chunk(b"IEND", b""))

    def test_not_png_and_unsupported(self) -> None:
        with pytest.raises(PngError, match="signature"):
            read_png_header(b"GIF89a" + b"\x00" * 40)
        palette = io.BytesIO()
        Image.new("P", (2, 2)).save(palette, format="PNG")
        with pytest.raises(PngError, match="colour type 3"):
            decode_png(palette.getvalue())

    def test_encoder_rejects(self) -> None:
        with pytest.raises(PngError):
            encode_png(np.zeros((2, 2, 5), np.uint8))
        with pytest.raises(PngError):
            encode_png(np.zeros((2, 2, 3), np.float32))
        with pytest.raises(PngError):
            encode_png(np.zeros((2, 2, 3), np.uint8), filter_type=7)
