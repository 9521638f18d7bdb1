"""Training checkpoints: atomic writes, safe reads, and the random-number-generator states.

A checkpoint is a ``torch.save``d mapping of plain data and tensors only (model,
optimiser, gradient scaler, step, the recipe as a mapping, RNG states, sampler position,
best score), so it loads with ``torch.load(weights_only=True)``: nothing in it executes.

Writes are atomic: the payload goes to a temporary file in the same folder, is flushed
and fsynced, and then ``os.replace``\\ s the old file. A process killed at any moment
leaves either the previous checkpoint or the new one, never a torn file; the worst case
is losing the steps since the last checkpoint.

Integrity: each checkpoint stores the sha256 of its own payload's content
(:func:`lowlight.integrity.payload_digest`) and :func:`load_checkpoint` recomputes it, so a
flipped bit is refused with a clear error instead of resuming with broken weights.
With ``keep_previous`` the file being replaced is kept as ``<stem>.prev<suffix>`` (a hard
link, else a copy) and :func:`load_checkpoint_or_previous` falls back to it when the newest
is unreadable. A failed write (full disk, read-only folder) is a :class:`CheckpointError`.
"""

from __future__ import annotations

import os
import random
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lowlight.errors import LowlightError
from lowlight.integrity import DIGEST_KEY, DIGEST_VERSION, check_payload, payload_digest

CHECKPOINT_VERSION = DIGEST_VERSION
"""2: with an integrity digest (required); 1 (read too): without."""
_READABLE_VERSIONS = (1, 2)
REQUIRED_KEYS = ("version", "step", "model", "optimizer", "config", "rng", "data")
_TMP_PREFIX = "."
_TMP_SUFFIX = ".ckpt-tmp"


class CheckpointError(LowlightError):
    """A checkpoint that is missing, unreadable, or does not fit the run resuming from it."""


def save_checkpoint(
    state: Mapping[str, Any], path: str | Path, *, keep_previous: bool = False
) -> None:
    """Write ``state`` and its integrity digest to ``path`` atomically (temp file + fsync +
    ``os.replace``); with ``keep_previous`` the file replaced stays as :func:`previous_path`.

    Raises:
        CheckpointError: the file cannot be written (full disk, permissions...); the
            previous checkpoint is then untouched.
    """
    path = Path(path)
    payload = {k: v for k, v in state.items() if k != DIGEST_KEY}
    if not (isinstance(payload.get("version"), int) and payload["version"] >= DIGEST_VERSION):
        payload["version"] = CHECKPOINT_VERSION  # written with a digest: the current format
    payload[DIGEST_KEY] = payload_digest(payload)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            dir=path.parent, prefix=f"{_TMP_PREFIX}{path.name}.", suffix=_TMP_SUFFIX
        )
        with os.fdopen(fd, "wb") as fh:
            torch.save(payload, fh)
            fh.flush()
            os.fsync(fh.fileno())
        if keep_previous and path.is_file():
            _keep_copy(path, previous_path(path))
        os.replace(tmp, path)
    except OSError as exc:
        raise CheckpointError(f"cannot write checkpoint {path}: {exc.strerror or exc}") from exc
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
    _fsync_dir(path.parent)


def previous_path(path: str | Path) -> Path:
    """Where :func:`save_checkpoint` keeps the replaced file: ``last.ckpt`` ->
    ``last.prev.ckpt``."""
    path = Path(path)
    return path.with_name(f"{path.stem}.prev{path.suffix}")


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (``weights_only=True``, to CPU)
    and check its integrity digest (checkpoints written before digests existed load as
    they are).

    Raises:
        CheckpointError: missing, unreadable or corrupt file (digest mismatch), or not a
            lowlight training checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any parse failure becomes a clear error
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        raise CheckpointError(f"cannot read checkpoint {path}: {reason}") from exc
    if not isinstance(state, dict) or any(k not in state for k in REQUIRED_KEYS):
        raise CheckpointError(
            f"{path} is not a lowlight training checkpoint (keys {REQUIRED_KEYS} expected)"
        )
    if state["version"] not in _READABLE_VERSIONS:
        raise CheckpointError(
            f"{path} has checkpoint format version {state['version']}; this lowlight reads "
            f"{', '.join(map(str, _READABLE_VERSIONS))}"
        )
    problem = check_payload(state)
    if problem is not None:
        raise CheckpointError(f"{path} is corrupt: {problem}; refusing to resume from it")
    state.pop(DIGEST_KEY, None)
    return state


def load_checkpoint_or_previous(path: str | Path) -> tuple[dict[str, Any], Path, str | None]:
    """Load ``path``, or, if it is missing or corrupt, the previous checkpoint kept beside it.

    Returns:
        ``(state, path_loaded, why)``: ``why`` is ``None`` when ``path`` itself loaded, else
        the reason it was passed over.

    Raises:
        CheckpointError: neither loads (the message gives both reasons).
    """
    path = Path(path)
    try:
        return load_checkpoint(path), path, None
    except CheckpointError as exc:
        previous = previous_path(path)
        if not previous.is_file():
            raise
        try:
            return load_checkpoint(previous), previous, str(exc)
        except CheckpointError as older:
            raise CheckpointError(f"{exc}; the previous checkpoint fails too: {older}") from exc


def _keep_copy(path: Path, keep: Path) -> None:
    """Make ``keep`` hold ``path``'s current content, atomically."""
    tmp = keep.with_name(f"{_TMP_PREFIX}{keep.name}.link{_TMP_SUFFIX}")
    if os.path.lexists(tmp):
        os.unlink(tmp)
    try:
        os.link(path, tmp)
    except OSError:  # no hard links on this file system
        shutil.copyfile(path, tmp)
    os.replace(tmp, keep)


def remove_stale_temporaries(folder: str | Path) -> list[Path]:
    """Delete temporary files left by writes that were killed mid-way; return them."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    stale = [
        p
        for p in folder.iterdir()
        if p.name.startswith(_TMP_PREFIX) and p.name.endswith(_TMP_SUFFIX)
    ]
    for p in stale:
        p.unlink(missing_ok=True)
    return stale


def capture_rng_state() -> dict[str, Any]:
    """Python, numpy, torch and (when CUDA is initialised) the current CUDA device's
    generator states, as plain data."""
    version, internal, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "python": {"version": version, "state": list(internal), "gauss": gauss},
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "torch": torch.get_rng_state(),
        "cuda": None,
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state()  # this process's current device only
    return state


def restore_rng_state(state: Mapping[str, Any]) -> None:
    """Inverse of :func:`capture_rng_state`."""
    py = state["python"]
    random.setstate((py["version"], tuple(py["state"]), py["gauss"]))
    npy = state["numpy"]
    keys = npy["keys"].numpy().astype(np.uint32)
    np.random.set_state((npy["kind"], keys, npy["pos"], npy["has_gauss"], npy["cached_gaussian"]))
    torch.set_rng_state(state["torch"])
    if state.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable (POSIX); silently skipped where directories cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


__all__ = [
    "CHECKPOINT_VERSION",
    "CheckpointError",
    "capture_rng_state",
    "load_checkpoint",
    "load_checkpoint_or_previous",
    "previous_path",
    "remove_stale_temporaries",
    "restore_rng_state",
    "save_checkpoint",
]
