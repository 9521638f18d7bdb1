"""The public Python API: list models and load one ready to enhance."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from lowlight.device import prepare_runtime, resolve_device
from lowlight.errors import WeightsError
from lowlight.models.base import EnhancementModel
from lowlight.registry import MODELS
from lowlight.weights import WeightRecord, load_state_dict, sha256_file, shipped_record

DEFAULT_MODEL = "lime"
"""Model used by ``lowlight enhance`` when none is named (see the README for why)."""


def list_models(kind: str | None = None) -> list[str]:
    """Registered model names, optionally only those of one ``kind``
    (``classical``, ``zero-reference``, ``supervised``, ``self-supervised``)."""
    return [e.name for e in MODELS.entries() if kind is None or e.meta.get("kind") == kind]


def model_info(name: str) -> dict[str, Any]:
    """Registry metadata of model ``name`` (kind, paper, summary, default_weights)."""
    return dict(MODELS.get(name).meta)


def build(name: str, **kwargs: Any) -> EnhancementModel:
    """Construct model ``name`` with random (untrained) parameters."""
    model = MODELS.get(name).obj(**kwargs)
    if not isinstance(model, EnhancementModel):
        raise TypeError(f"model '{name}' did not build an EnhancementModel")
    return model


def load(
    name: str = DEFAULT_MODEL,
    weights: str | Path | None = "default",
    device: str | torch.device = "auto",
    **kwargs: Any,
) -> EnhancementModel:
    """Build model ``name``, load its weights, move it to ``device`` and set eval mode.

    Args:
        name: a registered model (see :func:`list_models`).
        weights: ``"default"`` for the shipped weights named by the registry (none for
            classical models; a learned model that ships none raises :class:`WeightsError`), the name of a shipped weight record, a path to a
            ``.safetensors`` / ``.pt`` file or a training checkpoint, or ``None`` for
            random initialisation. A path with a ``.json`` record beside it is checked
            against the record's sha256 and built with the record's config.
        device: ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.
        **kwargs: constructor overrides (they must match the weights).

    Returns:
        the model, in eval mode, with ``.enhance(image)``.
    """
    entry = MODELS.get(name)
    record, path = _resolve_weights(name, entry.meta.get("default_weights"), weights)
    config = {**(record.config if record else {}), **kwargs}
    model = build(name, **config)
    if record is not None and record.plugins:
        from lowlight.plugins.base import inference_model

        model = inference_model(model, record.plugins)
    if weights == "default" and path is None and any(p.requires_grad for p in model.parameters()):
        raise WeightsError(
            f"model '{name}' ships no trained weights yet; pass weights=PATH (a .safetensors file "
            "or a training checkpoint; --weights on the command line), or weights=None for random "
            "parameters"
        )
    if path is not None:
        state = load_state_dict(path, expected_sha256=record.sha256 if record else None)
        try:
            missing, unexpected = model.load_state_dict(state, strict=False)
        except RuntimeError as exc:  # shape mismatches
            raise WeightsError(
                f"weights {path} do not fit model '{name}' (config {config}): {exc}"
            ) from exc
        if missing or unexpected:
            raise WeightsError(
                f"weights {path} do not fit model '{name}' (config {config}): "
                f"missing {sorted(missing)[:8]}, unexpected {sorted(unexpected)[:8]}"
            )
    dev = resolve_device(device)
    prepare_runtime(dev)
    model.weight_record = record  # type: ignore[attr-defined]
    return model.to(dev).eval()


def _resolve_weights(
    name: str, default: str | None, weights: str | Path | None
) -> tuple[WeightRecord | None, Path | None]:
    if weights is None:
        return None, None
    if weights == "default":
        if default is None:
            return None, None
        weights = default
    candidate = Path(weights)
    if candidate.suffix in {".safetensors", ".pt", ".pth", ".ckpt"} or candidate.exists():
        sidecar = candidate.with_suffix(".json")
        record = WeightRecord.from_json(sidecar) if sidecar.is_file() else None
        if record is not None and record.model != name:
            raise WeightsError(f"{candidate} was trained for model '{record.model}', not '{name}'")
        return record, candidate
    record, path = shipped_record(str(weights))
    if record.model != name:
        raise WeightsError(
            f"shipped weights '{weights}' belong to model '{record.model}', not '{name}'"
        )
    return record, path


__all__ = ["DEFAULT_MODEL", "build", "list_models", "load", "model_info", "sha256_file"]
