"""Training checkpoints: atomic writes, safe reads, and the random-number-generator states.

A checkpoint is a ``torch.save``d mapping of plain data and tensors only (model,
optimiser, gradient scaler, step, the recipe as a mapping, RNG states, sampler position,
best score), so it loads with ``torch.load(weights_only=True)``: nothing in it executes.

Writes are atomic: the payload goes to a temporary file in the same folder, is flushed
and fsynced, and then ``os.replace``\\ s the old file. A process killed at any moment
leaves either the previous checkpoint or the new one, never a torn file; the worst case
is losing the steps since the last checkpoint.
"""

from __future__ import annotations

import os
import random
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lowlight.errors import LowlightError

CHECKPOINT_VERSION = 1
REQUIRED_KEYS = ("version", "step", "model", "optimizer", "config", "rng", "data")
_TMP_PREFIX = "."
_TMP_SUFFIX = ".ckpt-tmp"


class CheckpointError(LowlightError):
    """A checkpoint that is missing, unreadable, or does not fit the run resuming from it."""


def save_checkpoint(state: Mapping[str, Any], path: str | Path) -> None:
    """Write ``state`` to ``path`` atomically (temp file + fsync + ``os.replace``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        dir=path.parent, prefix=f"{_TMP_PREFIX}{path.name}.", suffix=_TMP_SUFFIX
    )
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(dict(state), fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (``weights_only=True``, to CPU).

    Raises:
        CheckpointError: missing or unreadable file, or not a lowlight training checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any parse failure becomes a clear error
        raise CheckpointError(f"cannot read checkpoint {path}: {exc}") from exc
    if not isinstance(state, dict) or any(k not in state for k in REQUIRED_KEYS):
        raise CheckpointError(
            f"{path} is not a lowlight training checkpoint (keys {REQUIRED_KEYS} expected)"
        )
    if state["version"] != CHECKPOINT_VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format version {state['version']}; this lowlight reads {CHECKPOINT_VERSION}"
        )
    return state


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
    "remove_stale_temporaries",
    "restore_rng_state",
    "save_checkpoint",
]
