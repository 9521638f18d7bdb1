"""Export trained weights as ``safetensors`` with a :class:`~lowlight.weights.WeightRecord`.

``out_dir/export/<name>.safetensors`` and ``<name>.json`` load with
``lowlight.load(model, weights="out_dir/export/<name>.safetensors")``: the record carries
the model's constructor arguments, the training data, the exact command, the date and
the final validation scores.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from pathlib import Path

from torch import Tensor

from lowlight.train.config import TrainConfig
from lowlight.weights import WeightRecord, save_weights


def export_weights(
    state_dict: Mapping[str, Tensor],
    config: TrainConfig,
    folder: str | Path,
    *,
    training_data: str,
    command: str,
    scores: Mapping[str, Mapping[str, float]],
    steps: int,
    world_size: int = 1,
) -> Path:
    """Write ``<folder>/<config.name>.safetensors`` and its record; return the weights path."""
    path = Path(folder) / f"{config.name}.safetensors"
    notes = (
        f"objective {config.objective.name} {dict(config.objective.args)}; {steps} steps; "
        f"batch {config.data.train.batch_size} x {world_size} process(es); seed {config.seed}"
    )
    if config.export.notes:
        notes = f"{config.export.notes} ({notes})"
    record = WeightRecord(
        name=config.name,
        model=config.model.name,
        file=path.name,
        sha256="",
        license=config.export.license,
        training_data=training_data,
        command=command,
        config=dict(config.model.args),
        scores={k: dict(v) for k, v in scores.items()},
        created=_dt.date.today().isoformat(),
        notes=notes,
        plugins=[{"name": p.name, "args": dict(p.args)} for p in config.plugins],
    )
    save_weights(state_dict, path, record)
    return path


__all__ = ["export_weights"]
