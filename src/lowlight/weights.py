"""Weights as data with provenance: records, hashing, safe loading and saving.

A shipped weight file ``pretrained/<name>.safetensors`` sits beside its record
``pretrained/<name>.json`` (see :class:`WeightRecord`). Loading verifies the sha256
and refuses a mismatch. Only safetensors files and ``torch.load(weights_only=True)``
are used; pickled code is never executed.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from lowlight.errors import WeightsError

PRETRAINED_PACKAGE = "lowlight.pretrained"


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


def load_state_dict(path: str | Path, expected_sha256: str | None = None) -> dict[str, Tensor]:
    """Load a state dict safely from ``.safetensors`` or a torch file (``weights_only=True``).

    A torch file holding a training checkpoint (a dict with a ``"model"`` entry) yields
    that entry. If ``expected_sha256`` is given the file's hash must match.

    Raises:
        WeightsError: missing file, hash mismatch, or an unreadable file.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file not found: {path}")
    if expected_sha256 is not None:
        actual = sha256_file(path)
        if actual != expected_sha256:
            raise WeightsError(
                f"sha256 mismatch for {path}: expected {expected_sha256}, got {actual}. "
                "The file is corrupt or not the one its record describes; refusing to load it."
            )
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any parse failure becomes a clear error
        raise WeightsError(f"cannot read weights from {path}: {exc}") from exc
    if isinstance(obj, Mapping) and "model" in obj and isinstance(obj["model"], Mapping):
        obj = obj["model"]
    if not isinstance(obj, Mapping) or not all(isinstance(v, Tensor) for v in obj.values()):
        raise WeightsError(f"{path} does not hold a state dict of tensors")
    return dict(obj)


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
