"""Errors raised by image reading and writing."""

from __future__ import annotations

from lowlight.errors import LowlightError


class ImageReadError(LowlightError):
    """A file that cannot be read as an image: missing, empty, corrupt, truncated,
    of an unsupported kind, or larger than the pixel limit. The message names the file."""


class ImageWriteError(LowlightError):
    """An image that cannot be written: output exists, unknown or unsuitable format,
    or an encoder/file-system failure. The message names the file."""
