"""Atomic file writes: a temporary file in the destination folder, then a rename.

Readers never see a half-written output: the data goes to ``.<name>.<random>.tmp``
beside the destination, is flushed and fsynced, and is then moved into place. With
``overwrite=False`` the move is a hard link, which fails if the destination appeared
in the meantime (no check-then-replace race); file systems without hard links fall
back to a check followed by :func:`os.replace`. On any failure the temporary file is
removed and the destination is untouched.

The temporary name is never longer than the destination's once that passes 64 bytes
(the name is shortened to make room for the random part), so an output whose name is
near the file system's limit can still be written. A process killed with ``kill -9``
cannot remove its temporary file; :func:`remove_stale_temporaries` deletes such files
when they are older than a few minutes (a later run calls it for its output folders).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import time
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


SHORT_NAME = 64
"""Temporary names may exceed the destination's length only while both stay this short."""
STALE_SECONDS = 600.0
"""A temporary file untouched for this long is taken to be left by a killed process."""
_TEMP_NAME = re.compile(r"^\.(.+)\.[0-9a-f]{8}\.tmp$", re.DOTALL)


def temp_name(name: str, token: str) -> str:
    """``.<name>.<token>.tmp``, with ``name`` shortened (at a UTF-8 character boundary) so
    the result is no longer than ``name`` itself once ``name`` passes :data:`SHORT_NAME`
    bytes."""
    full = f".{name}.{token}.tmp"
    limit = max(len(name.encode()), SHORT_NAME)
    overflow = len(full.encode()) - limit
    if overflow > 0:
        kept = name.encode()[: len(name.encode()) - overflow].decode("utf-8", errors="ignore")
        full = f".{kept}.{token}.tmp"
    return full


def remove_stale_temporaries(folder: Path, older_than: float = STALE_SECONDS) -> list[Path]:
    """Delete this module's temporary files in ``folder`` (``.<name>.<8 hex>.tmp``) not
    modified for ``older_than`` seconds; return them. Missing folders are ignored."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        if not _TEMP_NAME.match(entry.name):
            continue
        try:
            if entry.is_file(follow_symlinks=False) and now - entry.stat().st_mtime > older_than:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


def _create_temp(path: Path) -> tuple[Path, int]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = path.with_name(temp_name(path.name, secrets.token_hex(4)))
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
