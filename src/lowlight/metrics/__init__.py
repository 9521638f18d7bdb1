"""Image quality metrics with stated protocols: PSNR, SSIM, MAE, LPIPS (full-reference, each
also with the GT-mean correction) and NIQE (no-reference).

Importing this package loads nothing heavy (no scipy, no weights); names resolve on first
use::

    from lowlight.metrics import score_pair, score_no_reference, METRIC_SPECS
    score_pair(output, ground_truth)          # {'psnr': ..., 'psnr_gtmean': ..., ...}

The SSIM and NIQE *functions* live in :mod:`lowlight.metrics.full_reference` (``ssim``)
and :mod:`lowlight.metrics.niqe` (``niqe``); they are not re-exported here because the
package attributes ``ssim`` and ``niqe`` are those submodules.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "MetricSpec": "registry",
    "METRIC_SPECS": "registry",
    "metric_spec": "registry",
    "score_pair": "scoring",
    "score_no_reference": "scoring",
    "MetricInputError": "convert",
    "quantize_uint8": "convert",
    "psnr": "full_reference",
    "mae": "full_reference",
    "gt_mean_align": "full_reference",
    "gaussian_window": "ssim",
    "ssim_map": "ssim",
    "LPIPS": "lpips",
    "load_lpips": "lpips",
    "niqe_features": "niqe",
    "mscn": "niqe",
    "load_pristine_params": "niqe",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'lowlight.metrics' has no attribute '{name}'")
    return getattr(importlib.import_module(f"lowlight.metrics.{module}"), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
