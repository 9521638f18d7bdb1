"""Weights as data with provenance: records, hashing, safe loading and saving.

A shipped weight file ``pretrained/<name>.safetensors`` sits beside its record
``pretrained/<name>.json`` (see :class:`WeightRecord`). Only safetensors files and
``torch.load(weights_only=True)`` are used; pickled code is never executed.

A file is verified whenever a hash is known, and a mismatch is refused
(:func:`expected_sha256`): the record beside it (``<stem>.json``), a hash the caller
gives (``sha256=`` / ``--sha256``, the whole digest or a prefix of at least 8 hex
digits), or a prefix in the file name as torch.hub writes it (``name-<hex>.ext``, the
last ``-`` part of the stem, 8 to 64 lower-case hex digits, not all decimal digits so
that dates such as ``run-20261203`` are not mistaken for hashes). Several known hashes
must all agree. A training checkpoint carries the digest of its own payload
(:mod:`lowlight.integrity`), checked on every load. A file with no known hash loads with
one :class:`UnverifiedWeightsWarning` saying so.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from lowlight.errors import WeightsError

PRETRAINED_PACKAGE = "lowlight.pretrained"
MIN_HASH_PREFIX = 8
"""Shortest hash prefix accepted from a file name or ``sha256=`` (torch.hub writes 8)."""
_NAME_HASH = re.compile(r"-([0-9a-f]{8,64})$")
_HEX = re.compile(r"[0-9a-fA-F]{8,64}")


class UnverifiedWeightsWarning(UserWarning):
    """Weights were loaded from a file whose hash nothing states."""


@dataclass(frozen=True)
class WeightRecord:
    """Provenance of one weight file.

    Attributes:
        name: record name, e.g. ``"lucent_sice"``.
        model: registered model name the weights belong to.
        file: weight file name, relative to the record.
        sha256: hex digest of the weight file.
        license: licence of the weights (and the constraint the training data puts on them).
        training_data: what the weights were trained on.
        command: the exact command that produced them.
        config: constructor keyword arguments of the model.
        scores: measured scores, keyed by benchmark (each a dict of metric -> value).
        created: ISO date of training.
        notes: anything else a user should know.
        plugins: training-time plug-ins whose inference parts the weights include
            (``[{"name": ..., "args": {...}}]``, see :mod:`lowlight.plugins`); empty for a
            plain model.
    """

    name: str
    model: str
    file: str
    sha256: str
    license: str
    training_data: str
    command: str
    config: dict[str, Any] = field(default_factory=dict)
    scores: dict[str, Any] = field(default_factory=dict)
    created: str = ""
    notes: str = ""
    plugins: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WeightRecord:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise WeightsError(
                f"unknown keys in weight record: {sorted(unknown)}; valid: {sorted(known)}"
            )
        return cls(**data)

    @classmethod
    def from_json(cls, path: str | Path) -> WeightRecord:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=False) + "\n"


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, streamed."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def shipped_records() -> dict[str, WeightRecord]:
    """All weight records shipped inside the package, by name."""
    root = resources.files(PRETRAINED_PACKAGE)
    records = {}
    for item in root.iterdir():
        if item.name.endswith(".json"):
            record = WeightRecord.from_dict(json.loads(item.read_text(encoding="utf-8")))
            records[record.name] = record
    return records


def shipped_record(name: str) -> tuple[WeightRecord, Path]:
    """The shipped record ``name`` and the path of its weight file."""
    records = shipped_records()
    if name not in records:
        raise WeightsError(
            f"no shipped weights named '{name}'; shipped: {', '.join(sorted(records)) or '(none)'}"
        )
    record = records[name]
    path = Path(str(resources.files(PRETRAINED_PACKAGE).joinpath(record.file)))
    return record, path


def name_hash(path: str | Path) -> str | None:
    """The hash prefix in a file name as torch.hub writes it (``lucent-1a2b3c4d.safetensors``
    -> ``"1a2b3c4d"``), or ``None``."""
    match = _NAME_HASH.search(Path(path).stem)
    if match is None or match[1].isdigit():
        return None
    return match[1]


def normalise_sha256(value: str, source: str) -> str:
    """A user-given sha256 (or a prefix of at least 8 hex digits), lower case.

    Raises:
        WeightsError: not hexadecimal, or too short.
    """
    text = value.strip().lower()
    if not _HEX.fullmatch(text):
        raise WeightsError(
            f"{source}: {value!r} is not a sha256 digest (or a prefix of at least "
            f"{MIN_HASH_PREFIX} hex digits)"
        )
    return text


def expected_sha256(path: str | Path, *known: tuple[str, str | None]) -> tuple[str, str] | None:
    """The hash ``path`` must have and where it comes from, or ``None`` if none is known.

    Args:
        path: the weight file (its name may carry a hash prefix, see :func:`name_hash`).
        known: ``(source, hash_or_prefix)`` pairs, e.g. ``("record x.json", record.sha256)``;
            ``None`` hashes are ignored.

    Raises:
        WeightsError: two sources state hashes that cannot both hold.
    """
    claims = [(source, value.lower()) for source, value in known if value]
    from_name = name_hash(path)
    if from_name is not None:
        claims.append((f"the hash in the file name {Path(path).name}", from_name))
    if not claims:
        return None
    claims.sort(key=lambda claim: -len(claim[1]))
    source, longest = claims[0]
    for other, value in claims[1:]:
        if not longest.startswith(value):
            raise WeightsError(
                f"{path}: {source} says sha256 {longest} but {other} says {value}; "
                "refusing to guess which is right"
            )
    return longest, source


def verify_sha256(path: str | Path, expected: str, source: str = "the expected hash") -> None:
    """Raise :class:`WeightsError` unless ``path``'s sha256 starts with ``expected``."""
    actual = sha256_file(path)
    if not actual.startswith(expected.lower()):
        raise WeightsError(
            f"sha256 mismatch for {path}: {source} says {expected}, the file has {actual}. "
            "The file is corrupt or not the one described; refusing to load it."
        )


def warn_unverified(path: str | Path) -> None:
    """Say once that ``path`` is loaded without any hash to check it against."""
    warnings.warn(
        UnverifiedWeightsWarning(
            f"{path}: no sha256 is known for this file (no record beside it, no --sha256 / "
            "sha256=, no hash in its name), so it is loaded unverified"
        ),
        stacklevel=3,
    )


def load_state_dict(path: str | Path, expected_sha256: str | None = None) -> dict[str, Tensor]:
    """Load a state dict safely from ``.safetensors`` or a torch file (``weights_only=True``).

    A torch file holding a training checkpoint (a dict with a ``"model"`` entry) yields
    that entry, after checking the checkpoint's own integrity digest when it has one. If
    ``expected_sha256`` (a digest or a prefix) is given, the file's hash must match.

    Raises:
        WeightsError: missing file, hash mismatch, or an unreadable or corrupt file.
    """
    return read_state_dict(path, expected_sha256)[0]


def read_state_dict(
    path: str | Path, expected_sha256: str | None = None, source: str = "the expected hash"
) -> tuple[dict[str, Tensor], bool]:
    """Like :func:`load_state_dict`, also saying whether the content was verified (by
    ``expected_sha256`` or a checkpoint's embedded digest)."""
    from lowlight.integrity import DIGEST_KEY, check_payload

    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file not found: {path}")
    verified = False
    if expected_sha256 is not None:
        verify_sha256(path, expected_sha256, source)
        verified = True
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path)), verified
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any parse failure becomes a clear error
        raise WeightsError(f"cannot read weights from {path}: {_short(exc)}") from exc
    if isinstance(obj, Mapping):
        problem = check_payload(obj)
        if problem is not None:
            raise WeightsError(
                f"{path}: the checkpoint is corrupt ({problem}; integrity digest); "
                "refusing to load it"
            )
        verified = verified or DIGEST_KEY in obj
    if isinstance(obj, Mapping) and "model" in obj and isinstance(obj["model"], Mapping):
        obj = obj["model"]
    if not isinstance(obj, Mapping) or not all(isinstance(v, Tensor) for v in obj.values()):
        raise WeightsError(f"{path} does not hold a state dict of tensors")
    return dict(obj), verified


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) <= 300 else text[:300] + "..."


def save_weights(
    state_dict: Mapping[str, Tensor], path: str | Path, record: WeightRecord | None = None
) -> str:
    """Write ``state_dict`` to ``path`` (safetensors) atomically; return its sha256.

    If ``record`` is given, it is written beside as ``<stem>.json`` with ``file`` and
    ``sha256`` filled in.
    """
    from dataclasses import replace

    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in state_dict.items()}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        save_file(tensors, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    digest = sha256_file(path)
    if record is not None:
        record = replace(record, file=path.name, sha256=digest)
        json_path = path.with_suffix(".json")
        tmp_json = json_path.with_name(f".{json_path.name}.tmp")
        tmp_json.write_text(record.to_json(), encoding="utf-8")
        os.replace(tmp_json, json_path)
    return digest
