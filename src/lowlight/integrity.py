"""Content digests of nested tensor structures (training checkpoints).

:func:`tree_digest` hashes a mapping of plain data and tensors by *content*: keys in
sorted order, each tensor's dtype, shape and raw bytes, each scalar's type and ``repr``.
It does not depend on how ``torch.save`` lays the data out in its zip file, so a
checkpoint can carry the digest of its own payload (:mod:`lowlight.train.checkpoint`)
and a reader can recompute it after loading: one flipped bit in any tensor, number or
string is detected.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import torch

DIGEST_KEY = "integrity_sha256"
"""Key under which a checkpoint stores the digest of the rest of its payload."""
DIGEST_VERSION = 2
"""Training checkpoints of this format version and later must carry :data:`DIGEST_KEY`
(version 1 predates digests), so a damaged key name cannot switch the check off."""


def check_payload(state: Mapping[str, Any]) -> str | None:
    """Why ``state`` (a loaded checkpoint-like mapping) fails its integrity check, or ``None``
    if it passes or predates digests."""
    if DIGEST_KEY not in state:
        version = state.get("version")
        if isinstance(version, int) and version >= DIGEST_VERSION:
            return "its integrity digest is missing"
        return None
    try:
        intact = payload_digest(state) == state[DIGEST_KEY]
    except TypeError:
        intact = False
    return None if intact else "its content does not match the integrity digest written with it"


def tree_digest(obj: Any) -> str:
    """Hex sha256 of ``obj`` (mappings, sequences, tensors, numbers, strings, bytes, None).

    Raises:
        TypeError: an object of another type (a checkpoint holds plain data only).
    """
    digest = hashlib.sha256()
    _update(digest, obj)
    return digest.hexdigest()


def _update(digest: Any, obj: Any) -> None:
    if isinstance(obj, torch.Tensor):
        t = obj.detach().cpu().contiguous()
        digest.update(f"T{t.dtype}{tuple(t.shape)}".encode())
        if t.numel():
            digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    elif isinstance(obj, Mapping):
        digest.update(f"M{len(obj)}".encode())
        for key in sorted(obj, key=repr):
            _update(digest, key)
            _update(digest, obj[key])
    elif isinstance(obj, (list, tuple)):
        digest.update(f"{type(obj).__name__[0]}{len(obj)}".encode())
        for item in obj:
            _update(digest, item)
    elif isinstance(obj, (bytes, bytearray)):
        digest.update(b"B%d:" % len(obj) + bytes(obj))
    elif obj is None or isinstance(obj, (bool, int, float, str)):
        text = repr(obj).encode()
        digest.update(f"S{type(obj).__name__}{len(text)}:".encode() + text)
    else:
        raise TypeError(f"cannot digest an object of type {type(obj).__name__}")


def payload_digest(state: Mapping[str, Any]) -> str:
    """Digest of ``state`` without its :data:`DIGEST_KEY` entry."""
    return tree_digest({k: v for k, v in state.items() if k != DIGEST_KEY})


__all__ = ["DIGEST_KEY", "DIGEST_VERSION", "check_payload", "payload_digest", "tree_digest"]
