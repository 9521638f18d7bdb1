"""Hypothesis strategies that damage files: truncation, bit flips, overwritten header
bytes, boundary values written into length/offset fields (PNG chunk lengths, TIFF IFD
entries, container box sizes), and spliced copies."""

from __future__ import annotations

import struct

from hypothesis import strategies as st

OPS = ("truncate", "flip", "header", "field", "splice")
BOUNDARY = (0, 1, 2, 7, 255, 256, 65535, 65536, 2**31 - 1, 2**31, 2**32 - 1)


def png_chunk_starts(data: bytes) -> list[int]:
    """Offsets of the length fields of a PNG's chunks."""
    starts, pos = [], 8
    while pos + 8 <= len(data):
        starts.append(pos)
        (length,) = struct.unpack_from(">I", data, pos)
        pos += 12 + length
    return starts


@st.composite
def mutation(draw: st.DrawFn, data: bytes, header: int = 64) -> tuple[str, bytes]:
    """``(description, damaged bytes)``, never equal to ``data``."""
    buf = bytearray(data)
    op = draw(st.sampled_from(OPS))
    if op == "truncate":
        cut = draw(st.integers(0, len(buf) - 1))
        del buf[cut:]
        what = f"truncated to {cut} of {len(data)} bytes"
    elif op == "flip":
        flips = draw(
            st.lists(
                st.tuples(st.integers(0, len(buf) - 1), st.integers(0, 7)), min_size=1, max_size=6
            )
        )
        for index, bit in flips:
            buf[index] ^= 1 << bit
        what = f"bits flipped at {flips}"
    elif op == "header":
        at = draw(st.integers(0, min(header, len(buf)) - 1))
        new = draw(st.binary(min_size=1, max_size=8))
        buf[at : at + len(new)] = new
        what = f"header bytes {at}.. set to {new.hex()}"
    elif op == "field":
        starts = png_chunk_starts(data) if data.startswith(b"\x89PNG") else []
        at = (
            draw(st.sampled_from(starts))
            if starts and draw(st.booleans())
            else draw(st.integers(0, max(0, len(buf) - 4)))
        )
        value = draw(st.sampled_from(BOUNDARY) | st.integers(0, 2**32 - 1))
        order = draw(st.sampled_from([">", "<"]))
        buf[at : at + 4] = struct.pack(order + "I", value)[: max(0, len(buf) - at)]
        what = f"4-byte field at {at} set to {value} ({order})"
    else:
        start = draw(st.integers(0, len(buf) - 1))
        length = draw(st.integers(1, 64))
        at = draw(st.integers(0, len(buf)))
        buf[at:at] = buf[start : start + length]
        what = f"{length} bytes from {start} copied into {at}"
    if bytes(buf) == data:
        buf = buf[:-1]
        what += " (then the last byte dropped)"
    return what, bytes(buf)
