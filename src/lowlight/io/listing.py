"""Expand files, folders and glob patterns into image (or video) files with mirrorable
relative paths."""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from lowlight.errors import LowlightError
from lowlight.io.formats import is_image_path, is_media_path

_MAGIC = frozenset("*?[")

Accept = Callable[[Path], bool]


def list_images(
    inputs: Sequence[str | Path] | str | Path, recursive: bool = True
) -> list[tuple[Path, Path]]:
    """Image files named by ``inputs``, each with the path to mirror it under an output folder.

    * a file: ``(file, Path(file.name))``, whatever its extension: a file named on purpose
      is never skipped without a word (reading it then fails with a message naming the
      file and why, e.g. an unsupported HEIC or GIF); a broken symbolic link likewise;
    * a folder: every image inside (in sub-folders too when ``recursive``), relative to
      the folder; hidden files and folders (names starting with ``.``) are skipped;
    * a glob pattern (``*``, ``?``, ``[...]``; ``**`` spans folders): every matching
      image, and the images inside matching folders, relative to the pattern's leading
      folders without wildcards (``photos/*/x.png`` -> relative to ``photos``).

    Only :data:`~lowlight.io.IMAGE_EXTENSIONS` count (any case). The result is sorted by
    file path, and a file reached twice is listed once (with its first relative path).

    Raises:
        LowlightError: an input that does not exist, or a pattern that matches nothing.
    """
    return _list_files(inputs, recursive, is_image_path)


def list_media(
    inputs: Sequence[str | Path] | str | Path, recursive: bool = True
) -> list[tuple[Path, Path]]:
    """Like :func:`list_images`, but videos (:data:`~lowlight.io.formats.VIDEO_EXTENSIONS`,
    any case) count too."""
    return _list_files(inputs, recursive, is_media_path)


def _list_files(
    inputs: Sequence[str | Path] | str | Path, recursive: bool, accept: Accept
) -> list[tuple[Path, Path]]:
    if isinstance(inputs, (str, Path)):
        inputs = [inputs]
    found: dict[Path, tuple[Path, Path]] = {}
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            pairs = _scan_folder(path, recursive, accept)
        elif path.is_file() or path.is_symlink():
            pairs = [(path, Path(path.name))]
        elif _MAGIC.intersection(str(item)):
            pairs = _expand_glob(str(item), recursive, accept)
        else:
            raise LowlightError(f"input not found: {item}")
        for file, relative in pairs:
            found.setdefault(file.resolve(), (file, relative))
    return sorted(found.values(), key=lambda pair: str(pair[0]))


def _scan_folder(folder: Path, recursive: bool, accept: Accept) -> list[tuple[Path, Path]]:
    pairs = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")) if recursive else []
        base = Path(root)
        for name in sorted(files):
            file = base / name
            if not name.startswith(".") and accept(file) and (file.is_file() or file.is_symlink()):
                pairs.append((file, file.relative_to(folder)))
    return pairs


def _expand_glob(pattern: str, recursive: bool, accept: Accept) -> list[tuple[Path, Path]]:
    matches = sorted(glob.glob(pattern, recursive=True))
    if not matches:
        raise LowlightError(f"no files match the pattern {pattern}")
    prefix = _literal_prefix(pattern)
    pairs = []
    for match in matches:
        path = Path(match)
        relative_root = Path(os.path.relpath(path, prefix))
        if path.is_dir():
            pairs += [(f, relative_root / rel) for f, rel in _scan_folder(path, recursive, accept)]
        elif (path.is_file() or path.is_symlink()) and accept(path):
            pairs.append((path, relative_root))
    return pairs


def _literal_prefix(pattern: str) -> Path:
    """The leading path components of ``pattern`` that contain no wildcard."""
    parts = Path(pattern).parts
    literal = []
    for part in parts[:-1]:
        if _MAGIC.intersection(part):
            break
        literal.append(part)
    return Path(*literal) if literal else Path(".")
