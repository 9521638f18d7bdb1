"""Zero-reference losses of Zero-DCE, as pure functions.

Paper: C. Guo, C. Li, J. Guo, C. C. Loy, J. Hou, S. Kwong, R. Cong, "Zero-Reference Deep
Curve Estimation for Low-Light Image Enhancement", CVPR 2020 (arXiv 2001.06826); used
unchanged by Zero-DCE++ (TPAMI 2021), SGZ (WACV 2022) and LucentVisionNet (arXiv 2506.18323).

Followed exactly (the official code's reductions, so the paper's loss weights carry over):

* :func:`spatial_consistency_loss` (``L_spa``): channel-mean intensity, ``pool x pool``
  average pooling, the 4 neighbour differences (left, right, up, down) of the original
  and of the enhanced pooled map, squared difference of the two, summed over the 4
  directions and averaged over pooled cells and batch. The official code takes the
  neighbour differences with a zero-padded 3x3 convolution, so a border cell is compared
  with 0 outside the image; ``border="zeros"`` (default) keeps that, ``border="replicate"``
  makes out-of-image differences 0 instead.
* :func:`exposure_control_loss` (``L_exp``): channel-mean intensity, ``patch x patch``
  average pooling (non-overlapping, remainder dropped), mean squared distance to ``level``.
* :func:`global_exposure_loss` (``L_gexp``, not Zero-DCE's: added here for
  LucentVisionNet's whole-frame training): one exposure statistic per image, the mean (or a
  quantile) of the channel-mean intensity over the whole frame, squared distance to
  ``level``. Unlike ``L_exp`` it does not pull every region towards the same grey, so a
  curve trained with it can keep its shape above the shadows.
* :func:`color_constancy_loss` (``L_col``): per-image channel means ``J_r, J_g, J_b``;
  ``sqrt(sum over pairs of (J_p - J_q)^4)``, averaged over the batch. (The gradient at
  exactly 0 is taken as 0 instead of NaN.)
* :func:`illumination_smoothness_loss` (``L_tvA``): Zero-DCE's ``L_TV``,
  ``2 * (sum dH^2 / ((H-1) W) + sum dW^2 / (H (W-1))) / B``, i.e. summed over the curve
  channels and averaged over pixels and batch. ``repeats`` multiplies it for curve maps
  shared across iterations (see the function).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from lowlight.errors import ConfigError

__all__ = [
    "color_constancy_loss",
    "exposure_control_loss",
    "global_exposure_loss",
    "illumination_smoothness_loss",
    "spatial_consistency_loss",
]


def _check_images(*images: Tensor) -> None:
    for img in images:
        if img.ndim != 4 or img.shape[1] != 3:
            raise ValueError(f"expected (B, 3, H, W), got {tuple(img.shape)}")


def _neighbour_differences(y: Tensor, border: str) -> Tensor:
    """``(B, 1, h, w) -> (B, 4, h, w)``: centre minus left, right, up and down neighbours."""
    if border == "zeros":
        p = F.pad(y, (1, 1, 1, 1), mode="constant", value=0.0)
    elif border == "replicate":
        p = F.pad(y, (1, 1, 1, 1), mode="replicate")
    else:
        raise ConfigError(f"unknown border '{border}'; choose 'zeros' or 'replicate'")
    centre = p[..., 1:-1, 1:-1]
    return torch.cat(
        [
            centre - p[..., 1:-1, :-2],  # left
            centre - p[..., 1:-1, 2:],  # right
            centre - p[..., :-2, 1:-1],  # up
            centre - p[..., 2:, 1:-1],  # down
        ],
        dim=1,
    )


def spatial_consistency_loss(
    enhanced: Tensor, original: Tensor, pool: int = 4, border: str = "zeros"
) -> Tensor:
    """Zero-DCE's spatial consistency loss ``L_spa``.

    Args:
        enhanced: ``(B, 3, H, W)``.
        original: ``(B, 3, H, W)``, the input before enhancement.
        pool: side of the average-pooling cells (default 4); ``H, W >= pool``.
        border: ``"zeros"`` (official: out-of-image neighbours are 0) or ``"replicate"``.

    Returns:
        scalar: ``mean over (B, h, w) of sum over 4 directions (dO - dE)^2``.
    """
    _check_images(enhanced, original)
    if enhanced.shape != original.shape:
        raise ValueError(f"shapes differ: {tuple(enhanced.shape)} vs {tuple(original.shape)}")
    if min(enhanced.shape[-2:]) < pool:
        raise ValueError(f"image {tuple(enhanced.shape[-2:])} is smaller than the pool {pool}")
    e = F.avg_pool2d(enhanced.mean(dim=1, keepdim=True), pool)
    o = F.avg_pool2d(original.mean(dim=1, keepdim=True), pool)
    d = _neighbour_differences(o, border) - _neighbour_differences(e, border)
    return d.square().sum(dim=1).mean()


def exposure_control_loss(enhanced: Tensor, patch_size: int = 16, level: float = 0.6) -> Tensor:
    """Zero-DCE's exposure control loss ``L_exp``.

    Args:
        enhanced: ``(B, 3, H, W)``; ``H, W >= patch_size``.
        patch_size: side of the non-overlapping averaging patches (default 16).
        level: well-exposedness target ``E`` (default 0.6).

    Returns:
        scalar: ``mean over patches of (patch mean intensity - level)^2``.
    """
    _check_images(enhanced)
    if min(enhanced.shape[-2:]) < patch_size:
        raise ValueError(
            f"image {tuple(enhanced.shape[-2:])} is smaller than the patch {patch_size}"
        )
    means = F.avg_pool2d(enhanced.mean(dim=1, keepdim=True), patch_size)
    return (means - level).square().mean()


def global_exposure_loss(
    enhanced: Tensor, level: float = 0.5, quantile: float | None = None
) -> Tensor:
    """Image-level exposure loss ``L_gexp``: one brightness statistic per image.

    Args:
        enhanced: ``(B, 3, H, W)``.
        level: target of the statistic.
        quantile: ``None`` (default) takes the mean of the channel-mean intensity over the
            frame; a value in ``(0, 1)`` takes that quantile of it instead (0.5: the median).

    Returns:
        scalar: ``mean over the batch of (statistic - level)^2``.
    """
    _check_images(enhanced)
    intensity = enhanced.mean(dim=1).flatten(1)
    if quantile is None:
        stat = intensity.mean(dim=1)
    else:
        if not 0.0 < quantile < 1.0:
            raise ValueError(f"quantile must be in (0, 1) or None, got {quantile}")
        stat = torch.quantile(intensity, quantile, dim=1)
    return (stat - level).square().mean()


def _safe_sqrt(x: Tensor) -> Tensor:
    """``sqrt(x)`` for ``x >= 0`` with gradient 0 (not inf/NaN) where ``x == 0``."""
    positive = x > 0
    return torch.where(
        positive, torch.where(positive, x, torch.ones_like(x)).sqrt(), torch.zeros_like(x)
    )


def color_constancy_loss(enhanced: Tensor) -> Tensor:
    """Zero-DCE's colour constancy loss ``L_col`` (grey-world).

    Args:
        enhanced: ``(B, 3, H, W)``.

    Returns:
        scalar: batch mean of ``sqrt((J_r - J_g)^4 + (J_r - J_b)^4 + (J_g - J_b)^4)`` with
        ``J_c`` the mean of channel ``c``.
    """
    _check_images(enhanced)
    r, g, b = enhanced.mean(dim=(2, 3)).unbind(dim=1)
    k = (r - g).pow(4) + (r - b).pow(4) + (g - b).pow(4)
    return _safe_sqrt(k).mean()


def illumination_smoothness_loss(curves: Tensor, repeats: int = 1) -> Tensor:
    """Zero-DCE's illumination smoothness loss ``L_tvA`` (total variation of the curve maps).

    Args:
        curves: ``(B, C, H, W)`` curve parameter maps, ``H, W >= 2``.
        repeats: how many times each map is used. Zero-DCE sums the TV over its 24 maps
            (one per iteration); for maps shared across ``n`` iterations pass
            ``repeats=n`` so the loss equals that of the ``n`` identical per-iteration maps
            and the same weight applies (Zero-DCE++'s weight 1600 on 3 shared maps is
            Zero-DCE's 200 on 24 maps).

    Returns:
        scalar: ``repeats * 2 * (sum dH^2 / ((H-1) W) + sum dW^2 / (H (W-1))) / B``.
    """
    if curves.ndim != 4:
        raise ValueError(f"expected curves (B, C, H, W), got {tuple(curves.shape)}")
    b, _, h, w = curves.shape
    if h < 2 or w < 2:
        raise ValueError(f"curves {tuple(curves.shape[-2:])} need H, W >= 2")
    dh = (curves[:, :, 1:, :] - curves[:, :, :-1, :]).square().sum()
    dw = (curves[:, :, :, 1:] - curves[:, :, :, :-1]).square().sum()
    return repeats * 2.0 * (dh / ((h - 1) * w) + dw / (h * (w - 1))) / b
