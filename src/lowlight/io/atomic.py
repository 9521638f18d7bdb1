"""Atomic file writes: a temporary file in the destination folder, then a rename.

Readers never see a half-written output: the data goes to ``.<name>.<random>.tmp``
beside the destination, is flushed and fsynced, and is then moved into place. With
``overwrite=False`` the move is a hard link, which fails if the destination appeared
in the meantime (no check-then-replace race); file systems without hard links fall
back to a check followed by :func:`os.replace`. On any failure the temporary file is
removed and the destination is untouched.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def write_atomic(path: Path, write: Callable[[BinaryIO], None], *, overwrite: bool) -> None:
    """Call ``write(file)`` on a temporary file beside ``path`` and move it into place.

    The temporary file is created with mode ``0o666`` minus the umask, like an ordinary
    new file.

    Raises:
        FileExistsError: ``path`` exists and ``overwrite`` is false.
        IsADirectoryError: ``path`` is a directory.
        Exception: whatever ``write`` raises (after removing the temporary file).
    """
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a directory")
    if not overwrite and os.path.lexists(path):
        raise FileExistsError(f"{path} already exists")
    tmp, fd = _create_temp(path)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        _move_into_place(tmp, path, overwrite)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _create_temp(path: Path) -> tuple[Path, int]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            return tmp, os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temporary file beside {path}")


def _move_into_place(tmp: Path, path: Path, overwrite: bool) -> None:
    if overwrite:
        os.replace(tmp, path)
        return
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise FileExistsError(f"{path} already exists") from None
    except OSError:  # no hard links here (some network/FAT file systems)
        if os.path.lexists(path):
            raise FileExistsError(f"{path} already exists") from None
        os.replace(tmp, path)
        return
    os.unlink(tmp)
