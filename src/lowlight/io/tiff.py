"""16-bit multi-channel TIFF (RGB, RGBA, grey + alpha) that Pillow would cut to 8 bits.

Pillow (checked with 13.0) decodes 48- and 64-bit TIFFs to 8-bit ``RGB``/``RGBA`` and
cannot write them. lowlight reads such files itself, using Pillow only to parse the tags:

* compression none or Deflate (8 / 32946), horizontal predictor (2) or none, strips or
  tiles, chunky or planar samples, little- or big-endian; unassociated alpha is kept,
  associated (premultiplied) alpha is reported so the caller can divide it out;
* any other compression (LZW as OpenCV writes it, PackBits, ...) is decompressed by
  ``tifffile`` + ``imagecodecs`` (:mod:`lowlight.io.tiff_codecs`, the ``tiff`` extra) when
  installed, else :class:`TiffError` names the extra to install.

Writing (:func:`encode_tiff16`) produces a little-endian baseline TIFF with Deflate
compression and the horizontal predictor, ~256 KiB strips, ``ExtraSamples`` =
unassociated alpha and the ICC profile (tag 34675); libtiff, Pillow and tifffile read it.
"""

from __future__ import annotations

import struct
import warnings
import zlib
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

_DEFLATE = (8, 32946)
_PHOTOMETRIC_NAMES = {3: "palette", 5: "CMYK (separated)", 6: "YCbCr", 8: "CIELab"}
_ICC_TAG = 34675


class TiffError(ValueError):
    """A 16-bit TIFF this reader cannot decode, or corrupt/truncated TIFF data."""


@dataclass
class DecodedTiff:
    """``pixels``: ``(H, W, C)`` uint16 with C = 1 (grey), 2 (grey + alpha), 3 (RGB) or
    4 (RGBA); ``associated_alpha``: colour is premultiplied by alpha."""

    pixels: np.ndarray
    associated_alpha: bool
    icc_profile: bytes | None
    orientation: int


def needs_tiff16(tags: Any) -> bool:
    """Whether a TIFF with these tags (Pillow's ``tag_v2``) holds 16-bit samples in more
    than one channel, which Pillow would reduce to 8 bits."""
    bits = _as_tuple(tags.get(258, (1,)))
    samples = int(tags.get(277, 1))
    return samples >= 2 and 16 in bits


def read_tiff_tags(fp: IO[bytes]) -> Any:
    """Parse the first image file directory with Pillow's public
    :class:`~PIL.TiffImagePlugin.ImageFileDirectory_v2` (works for files Pillow cannot
    open as images, such as 16-bit grey + alpha)."""
    from PIL import TiffImagePlugin

    fp.seek(0)
    head = fp.read(16)
    bigtiff = head[:4] in (b"II+\x00", b"MM\x00+")
    try:
        ifd = TiffImagePlugin.ImageFileDirectory_v2(head if bigtiff else head[:8])
        fp.seek(ifd.next)
        with warnings.catch_warnings():  # damaged tags: judged by what is missing below
            warnings.simplefilter("ignore")
            ifd.load(fp)
    except (SyntaxError, ValueError, OSError, struct.error, KeyError) as exc:
        raise TiffError(f"unreadable TIFF directory ({exc})") from exc
    if 256 not in ifd or 257 not in ifd:
        raise TiffError("TIFF directory lacks the image size")
    return ifd


def tiff_size(tags: Any) -> tuple[int, int]:
    """``(width, height)`` from parsed tags."""
    return int(tags[256]), int(tags[257])


def decode_tiff16(tags: Any, fp: IO[bytes]) -> DecodedTiff:
    """Decode the first image of a TIFF from its parsed tags (see :func:`read_tiff_tags`).

    Args:
        tags: the directory's tags (``tag_v2``-style mapping).
        fp: the open file, positioned anywhere.
    """
    width, height = tiff_size(tags)
    if width <= 0 or height <= 0:
        raise TiffError(f"invalid image size {width}x{height}")
    samples = int(tags.get(277, 1))
    bits = _as_tuple(tags.get(258, (1,)))
    if any(b != 16 for b in bits) or len(bits) not in (1, samples):
        raise TiffError(f"mixed bits per sample {bits} are not supported")
    if any(f != 1 for f in _as_tuple(tags.get(339, (1,)))):
        raise TiffError("only unsigned-integer 16-bit samples are supported")
    photometric = int(tags.get(262, 1 if samples < 3 else 2))
    if photometric not in (0, 1, 2):
        name = _PHOTOMETRIC_NAMES.get(photometric, str(photometric))
        raise TiffError(f"16-bit {name} TIFFs are not supported")
    base = 3 if photometric == 2 else 1
    if samples < base:
        raise TiffError(f"RGB TIFF with only {samples} samples per pixel")
    compression = int(tags.get(259, 1))
    if compression != 1 and compression not in _DEFLATE:
        pixels = _decode_elsewhere(fp, compression, width, height, samples)
    else:
        predictor = int(tags.get(317, 1))
        if predictor not in (1, 2):
            raise TiffError(f"TIFF predictor {predictor} is not supported for integer samples")
        fp.seek(0)
        endian = fp.read(2)
        dtype = np.dtype("<u2" if endian == b"II" else ">u2")
        planar = int(tags.get(284, 1)) == 2
        decoder = _Blocks(fp, compression, predictor, dtype)
        if 322 in tags and 324 in tags:
            pixels = _read_tiles(tags, decoder, width, height, samples, planar)
        else:
            pixels = _read_strips(tags, decoder, width, height, samples, planar)
    if photometric == 0:
        pixels[:, :, 0] = 65535 - pixels[:, :, 0]

    extras = _as_tuple(tags.get(338, ()))
    alpha_kind = extras[0] if samples > base and extras else 0
    keep = base + 1 if alpha_kind in (1, 2) else base
    icc = tags.get(_ICC_TAG)
    return DecodedTiff(
        pixels=np.ascontiguousarray(pixels[:, :, :keep]),
        associated_alpha=alpha_kind == 1,
        icc_profile=bytes(icc) if icc else None,
        orientation=_as_tuple(tags.get(274, 1))[0],
    )


def encode_tiff16(pixels: np.ndarray, *, icc_profile: bytes | None = None) -> bytes:
    """Encode ``(H, W)`` or ``(H, W, C)`` uint16 (C = 1-4, alpha last for 2 and 4) as TIFF."""
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    if pixels.ndim != 3 or pixels.shape[2] not in (1, 2, 3, 4) or pixels.dtype != np.uint16:
        raise TiffError(
            f"cannot encode {pixels.dtype} array of shape {pixels.shape} as 16-bit TIFF"
        )
    height, width, channels = pixels.shape
    row_bytes = width * channels * 2
    rows_per_strip = max(1, (1 << 18) // row_bytes)
    strips = []
    for start in range(0, height, rows_per_strip):
        block = pixels[start : start + rows_per_strip].astype(np.int32)
        residual = block.copy()
        residual[:, 1:] -= block[:, :-1]
        strips.append(zlib.compress((residual & 0xFFFF).astype("<u2").tobytes(), 6))

    alpha = channels in (2, 4)
    entries: list[tuple[int, int, list[int] | bytes]] = [
        (256, 4, [width]),
        (257, 4, [height]),
        (258, 3, [16] * channels),
        (259, 3, [8]),
        (262, 3, [2 if channels >= 3 else 1]),
        (273, 4, [0] * len(strips)),  # offsets, filled in below
        (277, 3, [channels]),
        (278, 4, [rows_per_strip]),
        (279, 4, [len(s) for s in strips]),
        (284, 3, [1]),
        (317, 3, [2]),
    ]
    if alpha:
        entries.append((338, 3, [2]))
    if icc_profile:
        entries.append((_ICC_TAG, 7, icc_profile))

    data_start = 8
    offsets, pos = [], data_start
    for strip in strips:
        offsets.append(pos)
        pos += len(strip) + (len(strip) & 1)
    entries[5] = (273, 4, offsets)
    # out-of-line values follow the strips, then the IFD
    payloads = [_pack_value(typ, values) for _, typ, values in entries]
    value_offsets = []
    for payload in payloads:
        if len(payload) > 4:
            value_offsets.append(pos)
            pos += len(payload) + (len(payload) & 1)
        else:
            value_offsets.append(None)
    ifd_offset = pos
    if ifd_offset + 2 + 12 * len(entries) + 4 >= 1 << 32:
        raise TiffError("image too large for a classic (32-bit offset) TIFF")

    out = bytearray(b"II*\x00" + struct.pack("<I", ifd_offset))
    for strip in strips:
        out += strip + b"\x00" * (len(strip) & 1)
    for payload, where in zip(payloads, value_offsets, strict=True):
        if where is not None:
            out += payload + b"\x00" * (len(payload) & 1)
    out += struct.pack("<H", len(entries))
    for (tag, typ, values), payload, where in zip(entries, payloads, value_offsets, strict=True):
        count = len(values)
        field = payload.ljust(4, b"\x00") if where is None else struct.pack("<I", where)
        out += struct.pack("<HHI", tag, typ, count) + field
    out += struct.pack("<I", 0)
    return bytes(out)


# ----------------------------------------------------------------------------- reading


class _Blocks:
    """Reads, decompresses and un-predicts strips or tiles."""

    def __init__(self, fp: IO[bytes], compression: int, predictor: int, dtype: np.dtype) -> None:
        self.fp, self.compression, self.predictor, self.dtype = fp, compression, predictor, dtype

    def read(self, offset: int, count: int, shape: tuple[int, int, int]) -> np.ndarray:
        """One block as ``shape`` = ``(rows, columns, samples)`` native uint16."""
        expected = shape[0] * shape[1] * shape[2] * 2
        self.fp.seek(offset)
        raw = self.fp.read(count)
        if len(raw) < count:
            raise TiffError("file is truncated (image data ends early)")
        if self.compression in _DEFLATE:
            try:
                raw = zlib.decompressobj().decompress(raw, expected)
            except zlib.error as exc:
                raise TiffError(f"corrupt Deflate image data ({exc})") from exc
        if len(raw) < expected:
            raise TiffError(f"image data is truncated ({len(raw)} of {expected} bytes)")
        block = np.frombuffer(raw[:expected], self.dtype).reshape(shape).astype(np.uint16)
        if self.predictor == 2:
            block = np.cumsum(block, axis=1, dtype=np.uint16)
        return block


def _read_strips(
    tags: Any, blocks: _Blocks, width: int, height: int, samples: int, planar: bool
) -> np.ndarray:
    offsets = _as_tuple(tags.get(273, ()))
    counts = _as_tuple(tags.get(279, ()))
    rows = min(int(tags.get(278, height)), height)
    if rows <= 0:
        raise TiffError(f"invalid RowsPerStrip {rows} (corrupt TIFF directory)")
    per_plane = -(-height // rows)
    planes = samples if planar else 1
    if len(offsets) < per_plane * planes or len(counts) < len(offsets):
        raise TiffError("strip offsets/byte counts are missing or inconsistent")
    spp = 1 if planar else samples
    out = np.empty((height, width, samples), np.uint16)
    for plane in range(planes):
        for i in range(per_plane):
            n = min(rows, height - i * rows)
            k = plane * per_plane + i
            block = blocks.read(offsets[k], counts[k], (n, width, spp))
            if planar:
                out[i * rows : i * rows + n, :, plane] = block[:, :, 0]
            else:
                out[i * rows : i * rows + n] = block
    return out


def _read_tiles(
    tags: Any, blocks: _Blocks, width: int, height: int, samples: int, planar: bool
) -> np.ndarray:
    tw, th = int(tags[322]), int(tags[323])
    if tw <= 0 or th <= 0:
        raise TiffError(f"invalid tile size {tw}x{th} (corrupt TIFF directory)")
    offsets = _as_tuple(tags[324])
    counts = _as_tuple(tags.get(325, ()))
    across, down = -(-width // tw), -(-height // th)
    planes = samples if planar else 1
    if len(offsets) < across * down * planes or len(counts) < len(offsets):
        raise TiffError("tile offsets/byte counts are missing or inconsistent")
    spp = 1 if planar else samples
    out = np.empty((down * th, across * tw, samples), np.uint16)
    k = 0
    for plane in range(planes):
        for ty in range(down):
            for tx in range(across):
                block = blocks.read(offsets[k], counts[k], (th, tw, spp))
                region = out[ty * th : (ty + 1) * th, tx * tw : (tx + 1) * tw]
                if planar:
                    region[:, :, plane] = block[:, :, 0]
                else:
                    region[...] = block
                k += 1
    return out[:height, :width]


def _decode_elsewhere(
    fp: IO[bytes], compression: int, width: int, height: int, samples: int
) -> np.ndarray:
    """Compressions this module does not decode: through ``tifffile`` + ``imagecodecs``
    (:mod:`lowlight.io.tiff_codecs`) when installed, else a clear refusal."""
    from lowlight.io import tiff_codecs

    if not tiff_codecs.available():
        raise TiffError(
            f"16-bit multi-channel TIFF with compression {compression} (e.g. LZW, as OpenCV "
            "writes) needs pip install 'lowlight[tiff]' (tifffile + imagecodecs); lowlight "
            "itself decodes only uncompressed and Deflate TIFFs (Pillow would cut 16 bits to 8)"
        )
    try:
        pixels = tiff_codecs.read_first_page(fp)
    except ValueError as exc:
        raise TiffError(str(exc)) from exc
    if pixels.shape != (height, width, samples):
        raise TiffError(f"decoded {pixels.shape}, but the tags describe {(height, width, samples)}")
    return pixels


def _as_tuple(value: Any) -> tuple[int, ...]:
    if isinstance(value, (tuple, list)):
        return tuple(int(v) for v in value)
    return (int(value),)


def _pack_value(typ: int, values: list[int] | bytes) -> bytes:
    if typ == 7:
        return bytes(values)
    return struct.pack("<" + ("H" if typ == 3 else "I") * len(values), *values)
