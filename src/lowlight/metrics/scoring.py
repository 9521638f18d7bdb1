"""Score one image (pair) with several metrics; full-reference metrics also with GT-mean."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from lowlight.errors import RegistryError
from lowlight.metrics.convert import quantize_pair, quantize_uint8
from lowlight.metrics.full_reference import gt_mean_align, mae, psnr, ssim
from lowlight.metrics.registry import GT_MEAN_SUFFIX, METRIC_SPECS

if TYPE_CHECKING:
    from lowlight.metrics.lpips import LPIPS


@lru_cache(maxsize=1)
def _default_lpips() -> LPIPS:
    from lowlight.metrics.lpips import load_lpips

    return load_lpips()


def _lpips_score(model: LPIPS) -> Callable[[np.ndarray, np.ndarray], float]:
    def score(p: np.ndarray, t: np.ndarray) -> float:
        device = next(model.parameters()).device
        x = torch.from_numpy(p).permute(2, 0, 1)[None].to(device=device, dtype=torch.float32) / 255
        y = torch.from_numpy(t).permute(2, 0, 1)[None].to(device=device, dtype=torch.float32) / 255
        with torch.no_grad():
            return float(model(x, y)[0])

    return score


def _check_names(metrics: Sequence[str], reference: bool) -> None:
    for name in metrics:
        spec = METRIC_SPECS.get(name)
        if spec is None or spec.needs_reference != reference:
            valid = sorted(n for n, s in METRIC_SPECS.items() if s.needs_reference == reference)
            kind = "full-reference" if reference else "no-reference"
            raise RegistryError(f"unknown {kind} metric '{name}'. Known: {', '.join(valid)}")


def score_pair(
    pred: Any,
    target: Any,
    metrics: Sequence[str] = ("psnr", "ssim", "mae"),
    lpips_model: LPIPS | None = None,
) -> dict[str, float]:
    """Full-reference scores of one output against its ground truth.

    Args:
        pred, target: ``(H, W, 3)`` float in [0, 1] or ``uint8`` (torch ``(3, H, W)`` too).
        metrics: names among ``psnr``, ``ssim``, ``mae``, ``lpips``.
        lpips_model: the LPIPS network to use; ``None`` loads the official one once
            (see :func:`~lowlight.metrics.lpips.load_lpips`; it may download weights).

    Returns:
        ``{name: value, name_gtmean: value}`` for each metric, in the order asked.
    """
    _check_names(metrics, reference=True)
    p, t = quantize_pair(pred, target)
    aligned = gt_mean_align(p, t)
    scorers: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
        "psnr": psnr,
        "ssim": ssim,
        "mae": mae,
    }
    if "lpips" in metrics:
        scorers["lpips"] = _lpips_score(
            lpips_model if lpips_model is not None else _default_lpips()
        )
    out: dict[str, float] = {}
    for name in metrics:
        out[name] = scorers[name](p, t)
        out[name + GT_MEAN_SUFFIX] = scorers[name](aligned, t)
    return out


def score_no_reference(image: Any, metrics: Sequence[str] = ("niqe",)) -> dict[str, float]:
    """No-reference scores of one image (``(H, W, 3)`` float in [0, 1] or ``uint8``)."""
    _check_names(metrics, reference=False)
    from lowlight.metrics.niqe_core import niqe

    scorers: dict[str, Callable[[np.ndarray], float]] = {"niqe": niqe}
    img = quantize_uint8(image)
    return {name: scorers[name](img) for name in metrics}
