"""EXIF orientation: read it from a raw EXIF block, reset it to 1, apply it to pixels.

The EXIF block is handled as bytes and patched in place (only the value of the
Orientation entry of IFD0 changes), so maker notes, GPS and every other tag survive
byte for byte. Blocks are stored with the ``b"Exif\\0\\0"`` header that JPEG APP1
uses and Pillow's savers accept.
"""

from __future__ import annotations

import struct

import numpy as np

EXIF_HEADER = b"Exif\x00\x00"
ORIENTATION_TAG = 0x0112
_SHORT, _LONG = 3, 4


def normalize_exif(blob: bytes | None) -> bytes | None:
    """``blob`` with the ``Exif\\0\\0`` header (added when missing); ``None`` when empty."""
    if not blob:
        return None
    return blob if blob.startswith(EXIF_HEADER) else EXIF_HEADER + blob


def strip_exif_header(blob: bytes) -> bytes:
    """The TIFF structure inside an EXIF block (what PNG ``eXIf`` chunks hold)."""
    return blob[len(EXIF_HEADER) :] if blob.startswith(EXIF_HEADER) else blob


def exif_orientation(blob: bytes | None) -> int:
    """The Orientation (1-8) stored in IFD0 of ``blob``; 1 when absent, invalid or unreadable."""
    found = _find_orientation(blob) if blob else None
    if found is None:
        return 1
    tiff, fmt, offset, _ = found
    value = struct.unpack_from(fmt, tiff, offset)[0]
    return value if 1 <= value <= 8 else 1


def reset_orientation(blob: bytes | None) -> bytes | None:
    """``blob`` (normalised, see :func:`normalize_exif`) with its Orientation set to 1.

    Everything else is kept byte for byte. A block whose IFD0 cannot be parsed is
    returned unchanged apart from the header: it carries no orientation to reset.
    """
    blob = normalize_exif(blob)
    if blob is None:
        return None
    found = _find_orientation(blob)
    if found is None:
        return blob
    tiff, fmt, offset, _ = found
    patched = bytearray(tiff)
    struct.pack_into(fmt, patched, offset, 1)
    return EXIF_HEADER + bytes(patched)


def apply_orientation(array: np.ndarray, orientation: int) -> np.ndarray:
    """Transpose ``array`` (``(H, W)`` or ``(H, W, C)``) the way EXIF ``orientation`` asks
    for display, as :func:`PIL.ImageOps.exif_transpose` does; returns a contiguous array.

    Orientations 5-8 swap ``H`` and ``W``; values outside 1-8 are treated as 1.
    """
    if orientation == 2:
        out = array[:, ::-1]
    elif orientation == 3:
        out = array[::-1, ::-1]
    elif orientation == 4:
        out = array[::-1]
    elif orientation == 5:
        out = array.swapaxes(0, 1)
    elif orientation == 6:
        out = np.rot90(array, k=-1)
    elif orientation == 7:
        out = array[::-1, ::-1].swapaxes(0, 1)
    elif orientation == 8:
        out = np.rot90(array, k=1)
    else:
        return array
    return np.ascontiguousarray(out)


def _find_orientation(blob: bytes) -> tuple[bytes, str, int, int] | None:
    """Locate IFD0's Orientation value: ``(tiff_bytes, struct_format, value_offset, type)``."""
    tiff = strip_exif_header(blob)
    if len(tiff) < 8 or tiff[:2] not in (b"II", b"MM"):
        return None
    endian = "<" if tiff[:2] == b"II" else ">"
    try:
        magic, ifd = struct.unpack_from(endian + "HI", tiff, 2)
        if magic != 42:
            return None
        (count,) = struct.unpack_from(endian + "H", tiff, ifd)
        for i in range(count):
            entry = ifd + 2 + 12 * i
            tag, typ, n = struct.unpack_from(endian + "HHI", tiff, entry)
            if tag != ORIENTATION_TAG:
                continue
            if n != 1 or typ not in (_SHORT, _LONG):
                return None
            fmt = endian + ("H" if typ == _SHORT else "I")
            struct.unpack_from(fmt, tiff, entry + 8)  # bounds check
            return tiff, fmt, entry + 8, typ
    except struct.error:
        return None
    return None
