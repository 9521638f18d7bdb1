"""Image quality metrics with stated protocols: PSNR, SSIM, MAE, LPIPS (full-reference, each
also with the GT-mean correction) and NIQE (no-reference).

Importing this package loads nothing heavy (no scipy, no weights); names resolve on first
use::

    from lowlight.metrics import score_pair, score_no_reference, METRIC_SPECS
    score_pair(output, ground_truth)          # {'psnr': ..., 'psnr_gtmean': ..., ...}

    from lowlight.metrics import psnr, ssim, niqe   # the metric functions themselves

Implementation modules: :mod:`~lowlight.metrics.full_reference` (PSNR, SSIM, MAE, GT-mean),
:mod:`~lowlight.metrics.ssim_core` (the Gaussian-window SSIM map shared with the SSIM loss),
:mod:`~lowlight.metrics.niqe_core` (NIQE and its building blocks), :mod:`~lowlight.metrics.lpips`.
"""

from __future__ import annotations

from lowlight._lazy import lazy_exports

_EXPORTS = {
    "MetricSpec": "registry",
    "METRIC_SPECS": "registry",
    "metric_spec": "registry",
    "score_pair": "scoring",
    "score_no_reference": "scoring",
    "MetricInputError": "convert",
    "quantize_uint8": "convert",
    "psnr": "full_reference",
    "ssim": "full_reference",
    "mae": "full_reference",
    "gt_mean_align": "full_reference",
    "gaussian_window": "ssim_core",
    "ssim_map": "ssim_core",
    "LPIPS": "lpips",
    "load_lpips": "lpips",
    "niqe": "niqe_core",
    "halo_darkening": "halo",
    "niqe_features": "niqe_core",
    "mscn": "niqe_core",
    "load_pristine_params": "niqe_core",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
