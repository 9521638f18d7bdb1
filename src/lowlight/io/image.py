"""Read images as float RGB, keeping what the source had: alpha, grey, bit depth, ICC
profile and EXIF (:class:`ImageData`); :mod:`lowlight.io.write` writes results back.

Reading (:func:`read_image`) sniffs the format from the file's first bytes (PNG, JPEG,
BMP, TIFF, WebP), checks the pixel count against a limit *before* decoding, applies the
EXIF orientation and returns :class:`ImageData`: float32 RGB in ``[0, 1]`` plus alpha and
the facts needed to write the result back the same way. Pillow decodes everything except
16-bit multi-channel PNG and TIFF, which it would cut to 8 bits; those go through
:mod:`lowlight.io.png` and :mod:`lowlight.io.tiff`. Every failure is an
:class:`ImageReadError` naming the file and the reason; truncated files are refused, never
loaded partially (Pillow's global ``LOAD_TRUNCATED_IMAGES`` is left alone, and no other
global Pillow state is touched).

Pillow's own global pixel limit (``PIL.Image.MAX_IMAGE_PIXELS``, about 179 megapixels by
default) additionally applies to WebP and 8-bit TIFF files, whose Pillow plugins check it
themselves; the other formats are opened through their plugin classes, so only lowlight's
limit applies.
"""

from __future__ import annotations

import contextlib
import os
import struct
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO

import numpy as np
from PIL import Image

from lowlight.errors import ConfigError
from lowlight.io.convert import array_to_float
from lowlight.io.errors import ImageReadError
from lowlight.io.exif import apply_orientation, exif_orientation, normalize_exif, reset_orientation
from lowlight.io.formats import (
    sniff_format,
)
from lowlight.io.png import decode_png, read_png_header
from lowlight.io.tiff import decode_tiff16, needs_tiff16, read_tiff_tags

DEFAULT_MAX_PIXELS = 48_000_000
"""Default limit on width x height when reading (decompression-bomb and memory guard).

The rule: what ``lowlight enhance`` can hold in 4 GiB, half of an ordinary 8 GB laptop.
Peak memory grows by about 80-84 MiB per megapixel above a ~250 MiB baseline (8-bit RGB,
``lime`` and ``lucent``, 12 MP, one thread; ``python benchmarks/peak_memory.py``, report in
``benchmarks/results/peak_memory/``): 4 GiB / 85 MiB per MP = 48 MP, which admits 48 MP
(8000x6000) camera photos. Raise it with ``--max-pixels`` or ``$LOWLIGHT_MAX_PIXELS``."""
MAX_PIXELS_ENV = "LOWLIGHT_MAX_PIXELS"
"""Environment variable overriding :data:`DEFAULT_MAX_PIXELS`."""

_DECODE_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    struct.error,
    zlib.error,
    IndexError,
    KeyError,
    TypeError,
)
_PNG16_COLOUR_TYPES = (2, 4, 6)


class ImageTooLargeError(ImageReadError):
    """The image has more pixels than the configured limit (see :data:`DEFAULT_MAX_PIXELS`)."""


@dataclass
class ImageData:
    """A decoded image and what is needed to write a result back like it.

    Shape:
        - rgb: ``(H, W, 3)`` float32 in ``[0, 1]``, EXIF orientation applied.
        - alpha: ``(H, W)`` float32 in ``[0, 1]`` or ``None``.
    """

    rgb: np.ndarray
    alpha: np.ndarray | None = None
    bit_depth: int = 8
    """8 or 16 bits per channel in the source."""
    gray: bool = False
    """The source had no colour (modes 1, L, LA, I;16, I, F)."""
    format: str = ""
    """Pillow's format name of the source (``PNG``, ``JPEG``, ``BMP``, ``TIFF``, ``WEBP``),
    ``""`` for in-memory images."""
    mode: str = "RGB"
    """The source's Pillow mode as opened (16-bit colour PNG/TIFF: ``RGB``, ``RGBA``, ``LA``)."""
    icc_profile: bytes | None = None
    exif: bytes | None = None
    """The EXIF block with ``Exif\\0\\0`` header and Orientation reset to 1 (TIFF sources: None)."""
    path: Path | None = None

    @property
    def size(self) -> tuple[int, int]:
        """``(H, W)``."""
        return self.rgb.shape[0], self.rgb.shape[1]


# ----------------------------------------------------------------------------- reading


def resolve_max_pixels(max_pixels: int | None = None) -> int:
    """The pixel limit: ``max_pixels`` if given, else ``$LOWLIGHT_MAX_PIXELS``, else
    :data:`DEFAULT_MAX_PIXELS`."""
    if max_pixels is None:
        text = os.environ.get(MAX_PIXELS_ENV, "").strip()
        if not text:
            return DEFAULT_MAX_PIXELS
        try:
            max_pixels = int(float(text)) if "e" in text.lower() else int(text.replace("_", ""))
        except ValueError:
            raise ConfigError(
                f"{MAX_PIXELS_ENV}={text!r} is not a whole number of pixels"
            ) from None
        source = MAX_PIXELS_ENV
    else:
        source = "max_pixels"
    if int(max_pixels) <= 0:
        raise ConfigError(f"{source} must be a positive number of pixels, got {max_pixels}")
    return int(max_pixels)


def read_image(path: str | Path, *, max_pixels: int | None = None) -> ImageData:
    """Read a PNG, JPEG, BMP, TIFF or WebP file (8- or 16-bit, any common mode).

    Args:
        path: the file; its format is recognised from its content, not its extension.
        max_pixels: refuse images with more pixels (default ``$LOWLIGHT_MAX_PIXELS`` or
            :data:`DEFAULT_MAX_PIXELS`); checked from the header, before decoding.

    Raises:
        ImageReadError: missing, empty, unsupported, corrupt or truncated file
            (:class:`ImageTooLargeError` above the pixel limit).
    """
    path = Path(path)
    limit = resolve_max_pixels(max_pixels)
    if not path.exists():
        if path.is_symlink():
            raise ImageReadError(f"{path}: broken symbolic link (its target does not exist)")
        raise ImageReadError(f"{path}: no such file")
    if path.is_dir():
        raise ImageReadError(f"{path}: is a folder, not an image file")
    try:
        with open(path, "rb") as fp:
            head = fp.read(33)
            if not head:
                raise ImageReadError(f"{path}: empty file (0 bytes)")
            kind = sniff_format(head)
            if kind is None:
                raise ImageReadError(
                    f"{path}: not a PNG, JPEG, BMP, TIFF or WebP image ({_describe(head)}); "
                    "unsupported format"
                )
            _check_complete(fp, kind, head, path, limit)
            data = _read_native16(fp, kind, head, path, limit)
            if data is None:
                data = _read_with_pillow(fp, kind, path, limit)
    except ImageReadError:
        raise
    except _DECODE_ERRORS as exc:
        raise ImageReadError(f"{path}: cannot read image: {_reason(exc)}") from exc
    except MemoryError as exc:
        raise ImageReadError(f"{path}: not enough memory to decode the image") from exc
    except Exception as exc:  # noqa: BLE001 - a decoder bug on odd input is still one file's failure
        raise ImageReadError(
            f"{path}: cannot read image ({type(exc).__name__}: {_reason(exc)})"
        ) from exc
    data.path = path
    return data


def from_pil(image: Image.Image) -> ImageData:
    """Convert an in-memory Pillow image like :func:`read_image` does (modes, alpha,
    EXIF orientation); ``format`` is the image's own (``""`` if it has none)."""
    image.load()
    return _from_loaded(image)


def _check_complete(fp: BinaryIO, kind: str, head: bytes, path: Path, limit: int) -> None:
    """Refuse, before decoding, what would be decoded partly: PNG data that cannot or does
    not hold every row (:func:`~lowlight.io.guards.check_png_data`), and multi-page TIFF."""
    from lowlight.io.guards import check_png_data, tiff_page_count

    if kind == "PNG":
        header = read_png_header(head)
        _check_size(path, header.width, header.height, limit)
        fp.seek(0)
        check_png_data(fp.read())
    elif kind == "TIFF":
        pages = tiff_page_count(fp)
        if pages > 1:
            raise ImageReadError(_multi_frame_message(path, "TIFF", pages))
    fp.seek(0)


def _multi_frame_message(path: Path, kind: str, frames: int) -> str:
    what = "multi-page" if kind == "TIFF" else "animated"
    return (
        f"{path}: {what} {kind} with {frames} frames; lowlight enhances still images and "
        "refuses rather than keep only the first frame (split the frames into single "
        "images, or convert an animation to a video)"
    )


def _read_native16(
    fp: BinaryIO, kind: str, head: bytes, path: Path, limit: int
) -> ImageData | None:
    """Decode 16-bit colour PNG/TIFF that Pillow would truncate; ``None`` for anything else."""
    if kind == "PNG":
        header = read_png_header(head)
        if header.bit_depth != 16 or header.colour_type not in _PNG16_COLOUR_TYPES:
            return None
        _check_size(path, header.width, header.height, limit)
        fp.seek(0)
        png = decode_png(fp.read())
        exif = normalize_exif(png.exif)
        pixels = apply_orientation(png.pixels, exif_orientation(exif))
        mode = {2: "LA", 3: "RGB", 4: "RGBA"}.get(pixels.shape[2], "I;16")
        return _image_data(pixels, "PNG", mode, png.icc_profile, reset_orientation(exif), 16)
    if kind == "TIFF":
        tags = read_tiff_tags(fp)
        if not needs_tiff16(tags):
            return None
        _check_size(path, int(tags[256]), int(tags[257]), limit)
        tiff = decode_tiff16(tags, fp)
        pixels = apply_orientation(tiff.pixels, tiff.orientation)
        mode = {2: "LA", 3: "RGB", 4: "RGBA"}.get(pixels.shape[2], "I;16")
        data = _image_data(pixels, "TIFF", mode, tiff.icc_profile, None, 16)
        if tiff.associated_alpha and data.alpha is not None:
            data.rgb = _unpremultiply(data.rgb, data.alpha)
        return data
    return None


def _read_with_pillow(fp: BinaryIO, kind: str, path: Path, limit: int) -> ImageData:
    fp.seek(0)
    with contextlib.ExitStack() as stack:
        if kind == "TIFF":  # its plugin warns above Pillow's limit: lowlight's limit rules
            stack.enter_context(warnings.catch_warnings())
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = _open_plugin(kind, fp, str(path))
            _check_size(path, image.width, image.height, limit)
            frames = getattr(image, "n_frames", 1) if kind in ("PNG", "WEBP") else 1
            if frames > 1:
                raise ImageReadError(_multi_frame_message(path, kind, frames))
            image.load()
        except Image.DecompressionBombError as exc:
            # the WebP and TIFF plugins check Pillow's global limit themselves
            raise ImageTooLargeError(
                f"{path}: {exc} (for {kind} files Pillow's PIL.Image.MAX_IMAGE_PIXELS "
                "applies on top of lowlight's limit)"
            ) from exc
    return _from_loaded(image)


def _open_plugin(kind: str, fp: IO[bytes], filename: str) -> Image.Image:
    """Open with the format's plugin class directly: :func:`PIL.Image.open` would apply
    Pillow's global pixel limit, whereas lowlight applies its own."""
    if kind == "PNG":
        from PIL import PngImagePlugin

        return PngImagePlugin.PngImageFile(fp, filename)
    if kind == "JPEG":
        from PIL import JpegImagePlugin

        return JpegImagePlugin.JpegImageFile(fp, filename)
    if kind == "BMP":
        from PIL import BmpImagePlugin

        return BmpImagePlugin.BmpImageFile(fp, filename)
    if kind == "TIFF":
        from PIL import TiffImagePlugin

        return TiffImagePlugin.TiffImageFile(fp, filename)
    from PIL import WebPImagePlugin

    return WebPImagePlugin.WebPImageFile(fp, filename)


def _check_size(path: Path, width: int, height: int, limit: int) -> None:
    pixels = width * height
    if pixels > limit:
        raise ImageTooLargeError(
            f"{path}: {width}x{height} = {pixels / 1e6:.1f} megapixels exceeds the limit of "
            f"{limit / 1e6:.1f} megapixels (decompression-bomb guard); if you trust the file, "
            f"raise the limit with max_pixels= (--max-pixels) or ${MAX_PIXELS_ENV}"
        )


def _from_loaded(image: Image.Image) -> ImageData:
    """A loaded Pillow image -> :class:`ImageData` (orientation applied, metadata kept)."""
    mode = image.mode
    array, bit_depth, gray = _pixels_of(image)
    exif = normalize_exif(image.info.get("exif"))
    orientation = exif_orientation(exif) if exif else _tag_orientation(image)
    icc = image.info.get("icc_profile") or None
    if mode == "CMYK" or (icc and icc_colour_space(icc) not in ("RGB", "GRAY")):
        icc = None  # a CMYK/Lab profile does not describe the RGB we produce
    pixels = apply_orientation(array, orientation)
    data = _image_data(pixels, image.format or "", mode, icc, reset_orientation(exif), bit_depth)
    data.gray = gray
    return data


def _pixels_of(image: Image.Image) -> tuple[np.ndarray, int, bool]:
    """``(array, bit_depth, gray)``: the image as a uint8/uint16/float array with an alpha
    channel last where it has transparency."""
    mode = image.mode
    key = image.info.get("transparency")
    if mode == "P" or mode == "PA":
        has_alpha = (
            mode == "PA" or key is not None or (image.palette and image.palette.mode == "RGBA")
        )
        return np.asarray(image.convert("RGBA" if has_alpha else "RGB")), 8, False
    if mode in ("1", "L"):
        array = np.asarray(image.convert("L") if mode == "1" else image)
        return _with_key_alpha(array, key), 8, True
    if mode in ("LA", "La"):
        return np.asarray(image.convert("LA") if mode == "La" else image), 8, True
    if mode in ("RGB", "RGBA"):
        array = np.asarray(image)
        return (_with_key_alpha(array, key) if mode == "RGB" else array), 8, False
    if mode in ("RGBa", "RGBX", "CMYK", "YCbCr"):
        target = "RGBA" if mode == "RGBa" else "RGB"
        return np.asarray(image.convert(target)), 8, False
    if mode.startswith("I;16"):
        array = np.asarray(image).astype(np.uint16)
        return _with_key_alpha(array, key), 16, True
    if mode == "I":
        array = np.clip(np.asarray(image), 0, 65535).astype(np.uint16)
        return _with_key_alpha(array, key), 16, True
    if mode == "F":
        array = np.asarray(image, dtype=np.float32)
        if not np.isfinite(array).all():
            raise ValueError("floating-point image contains NaN or infinite values")
        return np.clip(array, 0.0, 1.0), 16, True
    raise ValueError(f"images in Pillow mode {mode!r} are not supported")


def _with_key_alpha(array: np.ndarray, key: Any) -> np.ndarray:
    """Append an alpha channel that is 0 where ``array`` equals the colour key ``key``."""
    if key is None or isinstance(key, bytes):
        return array
    colour = array if array.ndim == 3 else array[:, :, None]
    key_values = np.atleast_1d(np.asarray(key))
    if key_values.size != colour.shape[2]:
        return array
    maximum = np.iinfo(array.dtype).max if array.dtype.kind == "u" else 1
    alpha = np.where((colour == key_values.astype(array.dtype)).all(axis=2), 0, maximum)
    return np.concatenate([colour, alpha.astype(array.dtype)[:, :, None]], axis=2)


def _tag_orientation(image: Image.Image) -> int:
    """Orientation from Pillow's parsed EXIF/TIFF tags (sources without an EXIF block)."""
    try:
        value = image.getexif().get(0x0112, 1)
        value = int(value[0] if isinstance(value, tuple) else value)
    except Exception:  # noqa: BLE001 - unreadable metadata must not make the image unreadable
        return 1
    return value if 1 <= value <= 8 else 1


def _image_data(
    pixels: np.ndarray,
    fmt: str,
    mode: str,
    icc: bytes | None,
    exif: bytes | None,
    bit_depth: int,
) -> ImageData:
    rgb, alpha = array_to_float(pixels)
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    return ImageData(
        rgb=rgb,
        alpha=alpha,
        bit_depth=bit_depth,
        gray=channels in (1, 2),
        format=fmt,
        mode=mode,
        icc_profile=icc,
        exif=exif,
    )


def _unpremultiply(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    safe = np.where(alpha > 0, alpha, 1.0)[:, :, None]
    return np.clip(rgb / safe, 0.0, 1.0).astype(np.float32)


def icc_colour_space(icc: bytes) -> str:
    """The data colour space of an ICC profile (``"RGB"``, ``"GRAY"``, ``"CMYK"``...)."""
    return icc[16:20].decode("latin-1").strip() if len(icc) >= 20 else ""


def _describe(head: bytes) -> str:
    """What a file that lowlight cannot read seems to be, from its first bytes."""
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "a GIF"
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"hevc"):
        return "a HEIC/HEIF image"
    if head[4:8] == b"ftyp" and head[8:12] == b"avif":
        return "an AVIF image"
    return "unrecognised content"


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 300 else text[:300] + "..."
