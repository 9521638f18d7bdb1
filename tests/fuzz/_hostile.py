"""Builders of hostile inputs shared by the reliability tests and the fuzz suite: valid
images in every format lowlight reads, and the damaged variants of issue 16."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from lowlight.io.tiff import encode_tiff16


def rgb8(height: int = 24, width: int = 32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random((height, width, 3)) * 80).astype(np.uint8)


def encode(kind: str, pixels: np.ndarray | None = None) -> bytes:
    """A small valid file: ``png``, ``png16``, ``jpeg``, ``webp``, ``tiff``, ``tiff16``, ``bmp``."""
    pixels = rgb8() if pixels is None else pixels
    if kind == "png16":
        from lowlight.io.png import encode_png

        return encode_png(pixels.astype(np.uint16) * 257)
    if kind == "tiff16":
        return encode_tiff16(pixels.astype(np.uint16) * 257)
    buf = io.BytesIO()
    fmt = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP", "tiff": "TIFF", "bmp": "BMP"}[kind]
    Image.fromarray(pixels).save(buf, format=fmt)
    return buf.getvalue()


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_with_rows(width: int, height: int, rows: int) -> bytes:
    """An 8-bit RGB PNG whose header claims ``height`` rows but whose (complete, valid)
    deflate stream holds only ``rows``: Pillow would fill the rest with black."""
    raw = b"".join(b"\x00" + bytes(width * 3) for _ in range(rows))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(raw))
        + png_chunk(b"IEND", b"")
    )


def animated(kind: str, frames: int = 3) -> bytes:
    """An animated PNG/WebP or a multi-page TIFF."""
    images = [Image.fromarray(rgb8(seed=i)) for i in range(frames)]
    buf = io.BytesIO()
    fmt = {"png": "PNG", "webp": "WEBP", "tiff": "TIFF"}[kind]
    images[0].save(buf, format=fmt, save_all=True, append_images=images[1:], duration=100)
    return buf.getvalue()


def tiff16_zero_rows_per_strip() -> bytes:
    """A 16-bit RGB TIFF whose RowsPerStrip tag is 0 (the hand-written reader divided by it)."""
    data = bytearray(encode("tiff16"))
    ifd = struct.unpack_from("<I", data, 4)[0]
    count = struct.unpack_from("<H", data, ifd)[0]
    for i in range(count):
        at = ifd + 2 + 12 * i
        if struct.unpack_from("<H", data, at)[0] == 278:
            struct.pack_into("<I", data, at + 8, 0)
    return bytes(data)


def video(path: Path, frames: int = 12, size: tuple[int, int] = (64, 48)) -> Path:
    """A small MPEG-4 video with its index at the front (so a truncated copy still opens)."""
    import av

    width, height = size
    options = {"movflags": "faststart"} if path.suffix in (".mp4", ".mov") else {}
    with av.open(str(path), "w", options=options) as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        rng = np.random.default_rng(0)
        for _ in range(frames):
            array = rng.integers(0, 90, (height, width, 3), dtype=np.uint8)  # noise: big frames
            for packet in stream.encode(av.VideoFrame.from_ndarray(array, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path
