"""File formats lowlight reads and writes: extensions, names and header sniffing."""

from __future__ import annotations

from pathlib import Path

IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
)
"""Extensions (lower case, with the dot) treated as images when folders are scanned."""

VIDEO_EXTENSIONS: frozenset[str] = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".avi", ".webm"})
"""Extensions (lower case, with the dot) treated as videos (see :mod:`lowlight.io.video`)."""

FORMAT_EXTENSIONS: dict[str, str] = {
    "png": ".png",
    "jpeg": ".jpg",
    "jpg": ".jpg",
    "bmp": ".bmp",
    "tiff": ".tiff",
    "tif": ".tif",
    "webp": ".webp",
}
"""Format names a user may choose (``--format``) -> the extension written."""

_EXTENSION_FORMAT = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".bmp": "BMP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".webp": "WEBP",
}
_NAME_FORMAT = {name: _EXTENSION_FORMAT[ext] for name, ext in FORMAT_EXTENSIONS.items()}

HIGH_BIT_DEPTH_FORMATS = frozenset({"PNG", "TIFF"})
"""Formats that store 16 bits per channel."""


def format_from_name(name: str) -> str:
    """``"png"``, ``".JPG"``, ``"tif"``, ``"WEBP"``... -> Pillow's format name (``"PNG"``)."""
    key = name.strip().lower().lstrip(".")
    if key not in _NAME_FORMAT:
        raise ValueError(
            f"unknown image format '{name}'; choose one of {', '.join(sorted(_NAME_FORMAT))}"
        )
    return _NAME_FORMAT[key]


def format_from_path(path: Path) -> str | None:
    """Pillow's format name for ``path``'s extension (any case), or ``None``."""
    return _EXTENSION_FORMAT.get(path.suffix.lower())


def is_image_path(path: Path) -> bool:
    """Whether ``path`` has one of :data:`IMAGE_EXTENSIONS` (case-insensitive)."""
    return path.suffix.lower() in IMAGE_EXTENSIONS


def is_video_path(path: Path) -> bool:
    """Whether ``path`` has one of :data:`VIDEO_EXTENSIONS` (case-insensitive)."""
    return path.suffix.lower() in VIDEO_EXTENSIONS


def is_media_path(path: Path) -> bool:
    """Whether ``path`` is an image or a video by its extension (case-insensitive)."""
    return is_image_path(path) or is_video_path(path)


def sniff_format(head: bytes) -> str | None:
    """Pillow's format name from a file's first 16 bytes, or ``None`` if unsupported."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"BM"):
        return "BMP"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return None
