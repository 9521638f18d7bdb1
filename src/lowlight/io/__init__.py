"""Image input/output: read any common image as float RGB and write results back like it.

Reading is in :mod:`lowlight.io.image`; :mod:`lowlight.io.write` lists what each format
keeps (alpha, grey, 16 bits, ICC, EXIF).
"""

from __future__ import annotations

from lowlight.io.convert import array_to_float, float_to_array
from lowlight.io.errors import ImageReadError, ImageWriteError
from lowlight.io.formats import FORMAT_EXTENSIONS, IMAGE_EXTENSIONS
from lowlight.io.image import (
    DEFAULT_MAX_PIXELS,
    MAX_PIXELS_ENV,
    ImageData,
    ImageTooLargeError,
    from_pil,
    read_image,
    resolve_max_pixels,
)
from lowlight.io.listing import list_images
from lowlight.io.write import to_pil, write_image

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "FORMAT_EXTENSIONS",
    "IMAGE_EXTENSIONS",
    "MAX_PIXELS_ENV",
    "ImageData",
    "ImageReadError",
    "ImageTooLargeError",
    "ImageWriteError",
    "array_to_float",
    "float_to_array",
    "from_pil",
    "list_images",
    "read_image",
    "resolve_max_pixels",
    "to_pil",
    "write_image",
]
