"""Checks made on an image file before and after decoding, so that nothing is silently cut
short and a tiny file cannot claim a huge allocation.

* :func:`check_png_data`: the PNG's compressed image data must be able to hold the size
  its header claims (deflate expands at most 1032:1, so fewer IDAT bytes than
  ``raw / 1032`` are refused *before* anything is allocated) and, decompressed (streamed,
  in 1 MiB pieces, nothing kept), must hold every row. Pillow fills rows that are
  missing from a stream that ends early with black, without a word.
* :func:`tiff_page_count`: full-resolution pages of a TIFF (reduced-resolution
  thumbnails, ``NewSubfileType`` bit 0, do not count), read from the IFD chain with a
  loop guard, so that multi-page TIFFs are refused rather than cut to their first page.
"""

from __future__ import annotations

import struct
import zlib
from typing import IO

from lowlight.io.png import PngError, _chunks, _pass_sizes, read_png_header

MAX_DEFLATE_RATIO = 1032
"""Largest expansion of a deflate stream (RFC 1951: 258 bytes from about 2 bits)."""
_MAX_PAGES = 4096


def png_raw_size(data: bytes) -> int:
    """Bytes of filtered scanlines the PNG header announces (all Adam7 passes)."""
    header = read_png_header(data)
    bits = header.channels * header.bit_depth
    return sum(h * (1 + (w * bits + 7) // 8) for *_, w, h in _pass_sizes(header))


def check_png_data(data: bytes) -> None:
    """Raise :class:`~lowlight.io.png.PngError` unless the PNG's image data can hold, and
    does hold, every row its header claims."""
    expected = png_raw_size(data)
    idat = [body for kind, body in _chunks(data) if kind == b"IDAT"]
    stored = sum(len(body) for body in idat)
    if stored * MAX_DEFLATE_RATIO < expected:
        header = read_png_header(data)
        raise PngError(
            f"the header claims {header.width}x{header.height} pixels but the file holds "
            f"only {stored} bytes of compressed image data, too few to encode them "
            "(truncated or forged header)"
        )
    inflater = zlib.decompressobj()
    produced = 0
    try:
        for body in idat:
            pending = body
            while pending and produced < expected:
                produced += len(inflater.decompress(pending, 1 << 20))
                pending = inflater.unconsumed_tail
            if produced >= expected or inflater.eof:
                break
    except zlib.error as exc:
        raise PngError(f"corrupt compressed image data ({exc})") from exc
    if produced < expected:
        raise PngError(
            f"image data is truncated ({produced} of {expected} bytes after decompression); "
            "refusing to fill the missing rows with black"
        )


def tiff_page_count(fp: IO[bytes]) -> int:
    """Full-resolution images in a TIFF (thumbnails excluded); at least 1.

    Raises:
        ValueError: a damaged directory chain (offset out of the file, a loop).
    """
    fp.seek(0)
    head = fp.read(16)
    order = "<" if head[:2] == b"II" else ">"
    big = head[2:4] in (b"+\x00", b"\x00+")
    fp.seek(0, 2)
    size = fp.tell()
    offset = struct.unpack(order + ("Q" if big else "I"), head[8:16] if big else head[4:8])[0]
    count_fmt, entry, next_fmt = ("Q", 20, "Q") if big else ("H", 12, "I")
    seen: set[int] = set()
    pages = 0
    while offset:
        if offset in seen or offset >= size or len(seen) >= _MAX_PAGES:
            raise ValueError("damaged TIFF directory chain (loop or offset past the end)")
        seen.add(offset)
        fp.seek(offset)
        raw = fp.read(struct.calcsize(count_fmt))
        (entries,) = struct.unpack(order + count_fmt, raw)
        table = fp.read(entries * entry)
        reduced = False
        for i in range(entries):
            tag, kind = struct.unpack_from(order + "HH", table, i * entry)
            if tag == 254:
                value_at = i * entry + (12 if big else 8)
                fmt = "I" if kind == 4 else "H"
                reduced = bool(struct.unpack_from(order + fmt, table, value_at)[0] & 1)
        pages += not reduced
        (offset,) = struct.unpack(order + next_fmt, fp.read(struct.calcsize(next_fmt)))
    return max(pages, 1)


__all__ = ["MAX_DEFLATE_RATIO", "check_png_data", "png_raw_size", "tiff_page_count"]
