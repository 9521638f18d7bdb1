"""The 16-bit multi-channel TIFF reader/writer."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from PIL import Image

from lowlight.io.tiff import (
    TiffError,
    decode_tiff16,
    encode_tiff16,
    needs_tiff16,
    read_tiff_tags,
)


def _decode(data: bytes):  # noqa: ANN202
    fp = io.BytesIO(data)
    tags = read_tiff_tags(fp)
    assert needs_tiff16(tags)
    return decode_tiff16(tags, fp)


def _pixels(channels: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = rng.integers(0, 65536, (21, 34, channels)).astype(np.uint16)
    out[0, 0, 0] = 1000  # > 255 and not a multiple of 257
    return out


def _patch_tag(data: bytes, tag: int, value: int) -> bytes:
    """Set a SHORT tag's inline value in our own (little-endian) TIFF."""
    ifd = struct.unpack_from("<I", data, 4)[0]
    (count,) = struct.unpack_from("<H", data, ifd)
    out = bytearray(data)
    for i in range(count):
        entry = ifd + 2 + 12 * i
        if struct.unpack_from("<H", data, entry)[0] == tag:
            struct.pack_into("<H", out, entry + 8, value)
            return bytes(out)
    raise AssertionError(f"tag {tag} not found")


@pytest.mark.parametrize("channels", [2, 3, 4])
def test_own_round_trip_and_other_readers(channels: int) -> None:
    pixels = _pixels(channels)
    icc = b"profile" * 30
    data = encode_tiff16(pixels, icc_profile=icc)
    out = _decode(data)
    assert np.array_equal(out.pixels, pixels)
    assert out.icc_profile == icc and out.orientation == 1 and not out.associated_alpha
    if channels >= 3:  # Pillow opens it (keeping only the high byte)
        assert np.array_equal(
            np.asarray(Image.open(io.BytesIO(data))), (pixels >> 8).astype(np.uint8)
        )
    tifffile = pytest.importorskip("tifffile")
    assert np.array_equal(tifffile.imread(io.BytesIO(data)).reshape(pixels.shape), pixels)


def test_grey_16bit_is_read_by_pillow() -> None:
    pixels = _pixels(1)
    data = encode_tiff16(pixels)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(data))), pixels[:, :, 0])


VARIANTS = {
    "uncompressed": {},
    "deflate": {"compression": "zlib"},
    "deflate+predictor": {"compression": "zlib", "predictor": True},
    "tiles": {"tile": (16, 16), "compression": "zlib", "predictor": True},
    "planar": {"planarconfig": "separate"},
    "planar tiles": {"planarconfig": "separate", "tile": (16, 16)},
    "big-endian": {"byteorder": ">", "compression": "zlib", "predictor": True},
    "small strips": {"rowsperstrip": 5},
    "bigtiff": {"bigtiff": True},
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("channels", [2, 3, 4])
def test_files_written_by_tifffile(variant: str, channels: int) -> None:
    tifffile = pytest.importorskip("tifffile")
    pixels = _pixels(channels, seed=channels)
    kwargs = VARIANTS[variant]
    array = pixels.transpose(2, 0, 1) if "planarconfig" in kwargs else pixels
    buf = io.BytesIO()
    tifffile.imwrite(
        buf,
        array,
        photometric="rgb" if channels >= 3 else "minisblack",
        extrasamples=["unassalpha"] if channels in (2, 4) else None,
        **kwargs,
    )
    assert np.array_equal(_decode(buf.getvalue()).pixels, pixels)


def test_associated_alpha_is_reported() -> None:
    tifffile = pytest.importorskip("tifffile")
    buf = io.BytesIO()
    tifffile.imwrite(buf, _pixels(4), photometric="rgb", extrasamples=["assocalpha"])
    assert _decode(buf.getvalue()).associated_alpha


def test_unsupported_compression_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from lowlight.io import tiff_codecs

    monkeypatch.setattr(tiff_codecs, "available", lambda: False)
    data = _patch_tag(encode_tiff16(_pixels(3)), 259, 5)  # claim LZW
    with pytest.raises(TiffError, match=r"compression 5.*lowlight\[tiff\]"):
        _decode(data)


def test_lzw_read_through_tifffile() -> None:
    """16-bit LZW (what OpenCV writes) decodes exactly with the tiff extra installed."""
    tifffile = pytest.importorskip("tifffile")
    pytest.importorskip("imagecodecs")
    for channels in (3, 4):
        pixels = _pixels(channels)
        buf = io.BytesIO()
        extra = {"extrasamples": ["unassalpha"]} if channels == 4 else {}
        tifffile.imwrite(buf, pixels, photometric="rgb", compression="lzw", **extra)
        np.testing.assert_array_equal(_decode(buf.getvalue()).pixels, pixels)
    data = _patch_tag(encode_tiff16(_pixels(3)), 259, 5)  # Deflate data claiming LZW
    with pytest.raises(TiffError):
        _decode(data)


def test_unsupported_photometric() -> None:
    data = _patch_tag(encode_tiff16(_pixels(4)), 262, 5)  # claim CMYK
    with pytest.raises(TiffError, match="CMYK"):
        _decode(data)


def test_truncated_and_corrupt_data() -> None:
    data = encode_tiff16(_pixels(3))
    ifd = struct.unpack_from("<I", data, 4)[0]
    # keep the directory, damage the strip data
    broken = bytearray(data)
    broken[8:40] = b"\x00" * 32
    with pytest.raises(TiffError, match="corrupt"):
        _decode(bytes(broken))
    with pytest.raises(TiffError):
        read_tiff_tags(io.BytesIO(data[: ifd - 10]))


def test_8bit_and_grey_16bit_are_left_to_pillow() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (3, 2)).save(buf, format="TIFF")
    assert not needs_tiff16(read_tiff_tags(io.BytesIO(buf.getvalue())))
    assert not needs_tiff16(read_tiff_tags(io.BytesIO(encode_tiff16(_pixels(1)))))


def test_encoder_rejects_other_dtypes() -> None:
    with pytest.raises(TiffError):
        encode_tiff16(np.zeros((2, 2, 3), np.uint8))
