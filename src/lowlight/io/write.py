"""Write float RGB images atomically, in the mode, bit depth and metadata of a source.

:func:`write_image` is atomic (:mod:`lowlight.io.atomic`) and refuses to replace an
existing file unless ``overwrite=True``. What each format keeps:

======  ==========  =====  ===========  ====  ====
format  bit depth   alpha  grey         ICC   EXIF
======  ==========  =====  ===========  ====  ====
PNG     8, 16       yes    yes          yes   yes
TIFF    8, 16       yes    yes          yes   no
JPEG    8           no     yes          yes   yes
WebP    8           yes    as RGB       yes   yes
BMP     8           no     yes          no    no
======  ==========  =====  ===========  ====  ====

BMP alpha is dropped: 32-bit BMPs keep it in a field most readers, Pillow included,
ignore. 16-bit PNG and TIFF are encoded by :mod:`lowlight.io.png` and
:mod:`lowlight.io.tiff` (Pillow cannot write 16-bit colour); everything else by Pillow.

A bit depth of 16 *inherited* from the source falls back to 8 for JPEG, WebP and BMP; a
16 asked for explicitly with those formats is an error. An ICC profile is written only
where its colour space (``RGB``/``GRAY``) matches the output's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from lowlight.io.atomic import write_atomic
from lowlight.io.convert import array_to_float, float_to_array, luma
from lowlight.io.errors import ImageWriteError
from lowlight.io.exif import reset_orientation
from lowlight.io.formats import HIGH_BIT_DEPTH_FORMATS, format_from_name, format_from_path
from lowlight.io.image import ImageData, icc_colour_space
from lowlight.io.png import encode_png
from lowlight.io.tiff import encode_tiff16


def to_pil(rgb: np.ndarray, like: ImageData | None = None) -> Image.Image:
    """A Pillow image of ``rgb`` in ``like``'s mode where Pillow can hold it.

    Grey sources give ``L`` (``I;16`` when 16-bit without alpha), alpha is re-attached
    (``LA``/``RGBA``, 8-bit), everything else is 8-bit ``RGB`` (palette and CMYK sources
    included). ``like``'s ICC profile and EXIF are put in ``image.info``.

    Args:
        rgb: ``(H, W, 3)`` float in ``[0, 1]``.
    """
    rgb = _check_rgb(rgb)
    gray = bool(like and like.gray)
    alpha = _matching_alpha(like, rgb.shape[:2])
    if gray and alpha is None and like is not None and like.bit_depth == 16:
        image = Image.fromarray(float_to_array(rgb, np.uint16, channels=1))
    else:
        channels = (2 if alpha is not None else 1) if gray else (4 if alpha is not None else 3)
        image = Image.fromarray(float_to_array(rgb, np.uint8, alpha, channels))
    if like is not None:
        if like.icc_profile and icc_colour_space(like.icc_profile) == ("GRAY" if gray else "RGB"):
            image.info["icc_profile"] = like.icc_profile
        if like.exif:
            image.info["exif"] = like.exif
    return image


def write_image(
    path: str | Path,
    rgb: np.ndarray,
    *,
    like: ImageData | None = None,
    format: str | None = None,  # noqa: A002 - the documented keyword
    bit_depth: int | None = None,
    overwrite: bool = False,
    quality: int = 95,
) -> Path:
    """Write ``rgb`` atomically, in ``like``'s mode, bit depth and metadata where possible.

    Args:
        path: output file; missing parent folders are created.
        rgb: ``(H, W, 3)`` float in ``[0, 1]`` (other layouts accepted by
            :func:`array_to_float` work too; an alpha channel in them is written).
        like: the source :class:`ImageData`: its grey/alpha/bit depth/ICC/EXIF are kept.
            Its alpha is resized (bilinear) if ``rgb`` has another size.
        format: ``png``, ``jpg``/``jpeg``, ``bmp``, ``tif``/``tiff``, ``webp``; default:
            from ``path``'s extension.
        bit_depth: 8 or 16; default ``like.bit_depth`` (8 without ``like``). 16 is for
            PNG/TIFF: asked for explicitly with another format it is an error, inherited
            from ``like`` it falls back to 8.
        overwrite: replace an existing file (otherwise :class:`ImageWriteError`).
        quality: JPEG/WebP quality 1-100 (WebP at 100 is lossless).

    Returns:
        the path written.
    """
    path = Path(path)
    fmt = _output_format(path, format)
    colour, own_alpha = _split_input(rgb)
    alpha = own_alpha if own_alpha is not None else _matching_alpha(like, colour.shape[:2])
    depth = _output_depth(path, fmt, bit_depth, like)
    if not 1 <= int(quality) <= 100:
        raise ValueError(f"quality must be between 1 and 100, got {quality}")
    gray = bool(like and like.gray)
    if fmt in ("JPEG", "BMP"):
        alpha = None
    if fmt == "WEBP" and gray:  # WebP has no grey mode: grey written as equal R, G, B
        colour = np.repeat(luma(np.clip(colour, 0.0, 1.0))[:, :, None], 3, axis=2)
        gray = False
    channels = (2 if alpha is not None else 1) if gray else (4 if alpha is not None else 3)
    pixels = float_to_array(colour, np.uint16 if depth == 16 else np.uint8, alpha, channels)
    icc = like.icc_profile if like else None
    if icc and icc_colour_space(icc) != ("GRAY" if gray else "RGB"):
        icc = None
    exif = reset_orientation(like.exif) if like and fmt in ("PNG", "JPEG", "WEBP") else None
    try:
        encode = _encoder(fmt, pixels, icc, exif, int(quality))
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, encode, overwrite=overwrite)
    except FileExistsError:
        raise ImageWriteError(
            f"{path}: already exists (use overwrite=True to replace it)"
        ) from None
    except IsADirectoryError:
        raise ImageWriteError(f"{path}: is a folder") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:  # PngError, TiffError too
        raise ImageWriteError(f"{path}: cannot write {fmt}: {exc}") from exc
    return path


def _output_format(path: Path, format: str | None) -> str:  # noqa: A002
    if format is not None:
        try:
            return format_from_name(format)
        except ValueError as exc:
            raise ImageWriteError(f"{path}: {exc}") from None
    fmt = format_from_path(path)
    if fmt is None:
        raise ImageWriteError(
            f"{path}: cannot tell the format from the extension {path.suffix!r}; "
            "use .png, .jpg, .jpeg, .bmp, .tif, .tiff or .webp, or pass format="
        )
    return fmt


def _output_depth(path: Path, fmt: str, bit_depth: int | None, like: ImageData | None) -> int:
    if bit_depth is None:
        inherited = like.bit_depth if like else 8
        return inherited if fmt in HIGH_BIT_DEPTH_FORMATS else 8
    if bit_depth not in (8, 16):
        raise ImageWriteError(f"{path}: bit depth must be 8 or 16, got {bit_depth}")
    if bit_depth == 16 and fmt not in HIGH_BIT_DEPTH_FORMATS:
        raise ImageWriteError(
            f"{path}: {fmt} stores 8 bits per channel only; use PNG or TIFF for 16"
        )
    return bit_depth


def _split_input(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    array = np.asarray(rgb)
    if np.issubdtype(array.dtype, np.floating) and array.ndim == 3 and array.shape[2] == 3:
        return _check_rgb(array), None
    return array_to_float(array)


def _check_rgb(rgb: np.ndarray) -> np.ndarray:
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise ValueError(f"expected an RGB image of shape (H, W, 3), got {rgb.shape}")
    if not np.issubdtype(rgb.dtype, np.floating):
        raise ValueError(f"expected float RGB in [0, 1], got dtype {rgb.dtype}")
    return rgb


def _matching_alpha(like: ImageData | None, size: tuple[int, int]) -> np.ndarray | None:
    """``like``'s alpha at ``size`` (bilinear resize if the image was resized)."""
    if like is None or like.alpha is None:
        return None
    if like.alpha.shape == size:
        return like.alpha
    resized = Image.fromarray(like.alpha.astype(np.float32)).resize(
        (size[1], size[0]), Image.Resampling.BILINEAR
    )
    return np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)


def _encoder(fmt: str, pixels: np.ndarray, icc: bytes | None, exif: bytes | None, quality: int):  # noqa: ANN202
    """A function writing ``pixels`` (uint8/uint16, 1-4 channels) to a binary file."""
    if pixels.dtype == np.uint16:
        if fmt == "PNG":
            data = encode_png(pixels, icc_profile=icc, exif=exif)
        else:
            data = encode_tiff16(pixels, icc_profile=icc)
        return lambda handle: handle.write(data)

    image = Image.fromarray(pixels)
    options: dict[str, Any] = {}
    if icc and fmt != "BMP":
        options["icc_profile"] = icc
    if exif:
        options["exif"] = exif
    if fmt == "JPEG":
        options["quality"] = quality
    elif fmt == "WEBP":
        options.update(quality=quality, lossless=quality >= 100, method=4)
    elif fmt == "TIFF":
        from PIL import features

        options["compression"] = "tiff_deflate" if features.check("libtiff") else None
    return lambda handle: image.save(handle, format=fmt, **options)
