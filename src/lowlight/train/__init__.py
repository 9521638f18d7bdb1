"""Training: typed YAML recipes, the shared step-based trainer, checkpoints, data parallelism.

Importing this package loads nothing heavy; names resolve on first use::

    from lowlight.train import load_config, train
    result = train(load_config("src/lowlight/recipes/lucent_sice.yaml", ["train.steps=100"]))
    result.export_path      # runs/lucent_sice/export/lucent_sice.safetensors

The command line is ``lowlight train RECIPE [--resume] [--set key=value ...]``.
"""

from __future__ import annotations

from lowlight._lazy import lazy_exports

_EXPORTS = {
    "TrainConfig": "config",
    "load_config": "config",
    "parse_config": "config",
    "apply_overrides": "config",
    "Trainer": "trainer",
    "TrainResult": "trainer",
    "TrainingError": "trainer",
    "train": "trainer",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
