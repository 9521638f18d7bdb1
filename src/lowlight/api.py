"""The public Python API: list models and load one ready to enhance."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from lowlight.device import prepare_runtime, resolve_device
from lowlight.errors import ConfigError, WeightsError
from lowlight.models.base import EnhancementModel
from lowlight.registry import MODELS
from lowlight.weights import (
    WeightRecord,
    expected_sha256,
    normalise_sha256,
    read_state_dict,
    sha256_file,
    shipped_record,
    warn_unverified,
)

DEFAULT_MODEL = "lucent"
"""Model used by ``lowlight enhance`` when none is named: chosen by the rule in
benchmarks/results/default_model/rule.md (see the README)."""


def list_models(kind: str | None = None) -> list[str]:
    """Registered model names, optionally only those of one ``kind``
    (``classical``, ``zero-reference``, ``supervised``, ``self-supervised``)."""
    return [e.name for e in MODELS.entries() if kind is None or e.meta.get("kind") == kind]


def model_info(name: str) -> dict[str, Any]:
    """Registry metadata of model ``name`` (kind, paper, summary, default_weights)."""
    return dict(MODELS.get(name).meta)


def build(name: str, **kwargs: Any) -> EnhancementModel:
    """Construct model ``name`` with random (untrained) parameters.

    Raises:
        ConfigError: a keyword the model's constructor does not take (the message lists
            the valid ones).
    """
    factory = MODELS.get(name).obj
    _check_arguments(name, factory, kwargs)
    model = factory(**kwargs)
    if not isinstance(model, EnhancementModel):
        raise TypeError(f"model '{name}' did not build an EnhancementModel")
    return model


def load(
    name: str = DEFAULT_MODEL,
    weights: str | Path | None = "default",
    device: str | torch.device = "auto",
    *,
    sha256: str | None = None,
    **kwargs: Any,
) -> EnhancementModel:
    """Build model ``name``, load its weights, move it to ``device`` and set eval mode.

    Args:
        name: a registered model (see :func:`list_models`).
        weights: ``"default"`` for the shipped weights named by the registry (none for
            classical models; a learned model that ships none raises :class:`WeightsError`), the name of a shipped weight record, a path to a
            ``.safetensors`` / ``.pt`` file or a training checkpoint, or ``None`` for
            random initialisation. A path with a ``.json`` record beside it is built with
            the record's config.
        device: ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.
        sha256: the weight file's sha256 (or a prefix of at least 8 hex digits). A file is
            verified against every hash known for it (this, its record, a torch.hub-style
            hash in its name, a checkpoint's own digest) and refused on a mismatch; with
            none known it loads with one :class:`~lowlight.weights.UnverifiedWeightsWarning`.
        **kwargs: constructor overrides (they must match the weights).

    Returns:
        the model, in eval mode, with ``.enhance(image)``.
    """
    entry = MODELS.get(name)
    record, path = _resolve_weights(name, entry.meta.get("default_weights"), weights)
    config = {**(record.config if record else {}), **kwargs}
    if sha256 is not None and path is None:
        raise WeightsError(f"sha256= was given but model '{name}' loads no weight file")
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
        given = normalise_sha256(sha256, "sha256") if sha256 is not None else None
        expected = expected_sha256(
            path,
            ("sha256=", given),
            (f"the record of {path.name}", record.sha256 if record else None),
        )
        state, verified = read_state_dict(path, *(expected or (None,)))
        if not verified:
            warn_unverified(path)
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


def _check_arguments(name: str, factory: Any, kwargs: dict[str, Any]) -> None:
    """Refuse keyword arguments that ``factory`` does not accept, naming the valid ones."""
    import inspect

    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):  # no introspectable signature: let the call decide
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return
    valid = [
        p.name
        for p in params
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    ]
    unknown = sorted(set(kwargs) - set(valid))
    if unknown:
        raise ConfigError(
            f"model '{name}' takes no argument {', '.join(map(repr, unknown))}; "
            f"valid arguments: {', '.join(valid) or '(none)'}"
        )


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
