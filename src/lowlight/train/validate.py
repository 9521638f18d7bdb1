"""Validation during training with the evaluation protocol.

Each validation image is enhanced whole (no crop, no tiling) in float32; output and
reference are scored by :func:`lowlight.metrics.score_pair`: both quantised to 8 bits,
PSNR and MATLAB SSIM on RGB over the full frame, plus the GT-mean twins (``*_gtmean``,
the output brightness-matched to the reference first). Scores are means over images.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import torch
from torch import Tensor

from lowlight.models.base import EnhancementModel

METRICS = ("psnr", "ssim", "psnr_gtmean", "ssim_gtmean")


def _hwc(x: Tensor) -> np.ndarray:
    """``(1, 3, H, W)`` or ``(3, H, W)`` tensor -> ``(H, W, 3)`` float32 numpy."""
    if x.ndim == 4:
        x = x[0]
    return x.detach().float().cpu().permute(1, 2, 0).numpy()


def score_pair(pred: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """Protocol scores (:data:`METRICS`) of one output ``(H, W, 3)`` against its reference."""
    from lowlight.metrics import score_pair as _score

    scores = _score(pred, target, metrics=("psnr", "ssim"))
    return {key: float(scores[key]) for key in METRICS}


@torch.no_grad()
def validate(
    model: EnhancementModel, batches: Iterable[dict[str, Any]], device: torch.device
) -> dict[str, float]:
    """Mean protocol scores of ``model`` over ``batches`` of one whole pair each.

    The model is put in eval mode and restored to its previous mode afterwards.
    """
    was_training = model.training
    model.eval()
    totals = dict.fromkeys(METRICS, 0.0)
    count = 0
    try:
        for batch in batches:
            x = batch["input"].to(device)
            pred = model(x)
            scores = score_pair(_hwc(pred), _hwc(batch["target"]))
            for key in METRICS:
                totals[key] += scores[key]
            count += 1
    finally:
        model.train(was_training)
    if count == 0:
        return {key: math.nan for key in METRICS}
    return {key: value / count for key, value in totals.items()}


__all__ = ["METRICS", "score_pair", "validate"]
