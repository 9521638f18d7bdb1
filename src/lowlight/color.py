"""Colour helpers on ``(B, 3, H, W)`` sRGB tensors in ``[0, 1]``, vectorised in torch.

Conventions (stated here once, relied on by the classical models):

* **sRGB** values are gamma-encoded (IEC 61966-2-1); :func:`srgb_to_linear` and
  :func:`linear_to_srgb` apply the exact piecewise transfer function.
* **Luma** (:func:`luma`) is the weighted sum of *encoded* R, G, B. ``"bt709"``
  (0.2126, 0.7152, 0.0722) matches the sRGB primaries and is the default;
  ``"bt601"`` (0.299, 0.587, 0.114) is the JPEG / OpenCV ``YCrCb`` weighting.
* **YCbCr** (:func:`rgb_to_ycbcr`) is full range (JPEG, ITU-T T.871): ``Y`` in
  ``[0, 1]`` and ``Cb, Cr`` centred on ``0.5``. It is not the studio-range
  (16-235) form that some PSNR-Y protocols use.
* **CIE Lab** (:func:`rgb_to_lab`) uses the sRGB primaries, the D65 white point
  (Xn, Yn, Zn) = (0.95047, 1.0, 1.08883) and the CIE 1976 formulas; ``L`` is in
  ``[0, 100]`` as in scikit-image (OpenCV's 8-bit Lab stores ``L * 255 / 100``).
* **HSV value** (:func:`hsv_value`) is the channel maximum.

Every function takes any float dtype and returns the input dtype and device.
"""

from __future__ import annotations

import torch
from torch import Tensor

from lowlight.errors import ConfigError

__all__ = [
    "LUMA_WEIGHTS",
    "hsv_value",
    "lab_to_rgb",
    "linear_to_srgb",
    "luma",
    "rgb_to_lab",
    "rgb_to_ycbcr",
    "srgb_to_linear",
    "ycbcr_to_rgb",
]

LUMA_WEIGHTS: dict[str, tuple[float, float, float]] = {
    "bt709": (0.2126, 0.7152, 0.0722),
    "bt601": (0.299, 0.587, 0.114),
}
"""Luma coefficients of R, G, B by standard name."""

_RGB_TO_XYZ = (
    (0.4124564, 0.3575761, 0.1804375),
    (0.2126729, 0.7151522, 0.0721750),
    (0.0193339, 0.1191920, 0.9503041),
)
_XYZ_TO_RGB = (  # the inverse of _RGB_TO_XYZ to 10 decimals
    (3.2404548360, -1.5371388501, -0.4985315469),
    (-0.9692663899, 1.8760109288, 0.0415560823),
    (0.0556434196, -0.2040258543, 1.0572251625),
)
_D65_WHITE = (0.95047, 1.0, 1.08883)
_LAB_DELTA = 6.0 / 29.0


def _check_rgb(x: Tensor, name: str = "x") -> None:
    if x.ndim < 3 or x.shape[-3] != 3:
        raise ValueError(f"{name} must have 3 channels at dim -3, got shape {tuple(x.shape)}")


def _weights(standard: str) -> tuple[float, float, float]:
    try:
        return LUMA_WEIGHTS[standard]
    except KeyError:
        raise ConfigError(
            f"unknown luma standard '{standard}'; choose one of {sorted(LUMA_WEIGHTS)}"
        ) from None


def _mix(x: Tensor, matrix: tuple[tuple[float, float, float], ...]) -> Tensor:
    """Apply a 3x3 matrix to the channel dim ``-3`` of ``(..., 3, H, W)``."""
    m = torch.tensor(matrix, dtype=x.dtype, device=x.device)
    return torch.einsum("ij,...jhw->...ihw", m, x)


def luma(x: Tensor, standard: str = "bt709") -> Tensor:
    """Luma of encoded sRGB.

    Args:
        x: ``(B, 3, H, W)`` sRGB in ``[0, 1]``.
        standard: ``"bt709"`` (sRGB primaries, default) or ``"bt601"``.

    Returns:
        ``(B, 1, H, W)``.
    """
    _check_rgb(x)
    wr, wg, wb = _weights(standard)
    return wr * x[..., 0:1, :, :] + wg * x[..., 1:2, :, :] + wb * x[..., 2:3, :, :]


def hsv_value(x: Tensor) -> Tensor:
    """HSV value (channel maximum) of ``(B, 3, H, W)``; returns ``(B, 1, H, W)``."""
    _check_rgb(x)
    return x.amax(dim=-3, keepdim=True)


def rgb_to_ycbcr(x: Tensor, standard: str = "bt601") -> Tensor:
    """Full-range YCbCr of encoded sRGB.

    Args:
        x: ``(B, 3, H, W)`` sRGB in ``[0, 1]``.
        standard: luma weights, ``"bt601"`` (JPEG, default) or ``"bt709"``.

    Returns:
        ``(B, 3, H, W)`` with ``Y`` in ``[0, 1]`` and ``Cb, Cr`` in ``[0, 1]``, centred on 0.5.
    """
    _check_rgb(x)
    wr, _, wb = _weights(standard)
    y = luma(x, standard)
    cb = (x[..., 2:3, :, :] - y) / (2.0 * (1.0 - wb)) + 0.5
    cr = (x[..., 0:1, :, :] - y) / (2.0 * (1.0 - wr)) + 0.5
    return torch.cat([y, cb, cr], dim=-3)


def ycbcr_to_rgb(ycc: Tensor, standard: str = "bt601") -> Tensor:
    """Inverse of :func:`rgb_to_ycbcr` (no clamping); ``(B, 3, H, W)`` -> ``(B, 3, H, W)``."""
    _check_rgb(ycc, "ycc")
    wr, wg, wb = _weights(standard)
    y = ycc[..., 0:1, :, :]
    cb = ycc[..., 1:2, :, :] - 0.5
    cr = ycc[..., 2:3, :, :] - 0.5
    r = y + 2.0 * (1.0 - wr) * cr
    b = y + 2.0 * (1.0 - wb) * cb
    g = (y - wr * r - wb * b) / wg
    return torch.cat([r, g, b], dim=-3)


def srgb_to_linear(x: Tensor) -> Tensor:
    """Decode the sRGB transfer function elementwise (any shape, values in ``[0, 1]``)."""
    high = ((x.clamp(min=0.04045) + 0.055) / 1.055) ** 2.4
    return torch.where(x <= 0.04045, x / 12.92, high)


def linear_to_srgb(x: Tensor) -> Tensor:
    """Encode linear light with the sRGB transfer function (negative values map to 0)."""
    x = x.clamp(min=0.0)
    high = 1.055 * x.clamp(min=0.0031308) ** (1.0 / 2.4) - 0.055
    return torch.where(x <= 0.0031308, 12.92 * x, high)


def _lab_f(t: Tensor) -> Tensor:
    cube_root = t.clamp(min=_LAB_DELTA**3) ** (1.0 / 3.0)
    return torch.where(t > _LAB_DELTA**3, cube_root, t / (3.0 * _LAB_DELTA**2) + 4.0 / 29.0)


def _lab_f_inv(f: Tensor) -> Tensor:
    return torch.where(f > _LAB_DELTA, f**3, 3.0 * _LAB_DELTA**2 * (f - 4.0 / 29.0))


def rgb_to_lab(x: Tensor) -> Tensor:
    """CIE Lab (D65) of sRGB.

    Args:
        x: ``(B, 3, H, W)`` sRGB in ``[0, 1]``.

    Returns:
        ``(B, 3, H, W)``: ``L`` in ``[0, 100]``, ``a`` and ``b`` roughly in ``[-128, 128]``.
    """
    _check_rgb(x)
    xyz = _mix(srgb_to_linear(x), _RGB_TO_XYZ)
    white = torch.tensor(_D65_WHITE, dtype=x.dtype, device=x.device).view(3, 1, 1)
    f = _lab_f(xyz / white)
    fx, fy, fz = f[..., 0:1, :, :], f[..., 1:2, :, :], f[..., 2:3, :, :]
    return torch.cat([116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)], dim=-3)


def lab_to_rgb(lab: Tensor) -> Tensor:
    """sRGB of CIE Lab (D65), the inverse of :func:`rgb_to_lab`.

    Out-of-gamut colours are not clamped above 1; negative linear values map to 0.

    Args:
        lab: ``(B, 3, H, W)`` with ``L`` in ``[0, 100]``.

    Returns:
        ``(B, 3, H, W)`` sRGB.
    """
    _check_rgb(lab, "lab")
    fy = (lab[..., 0:1, :, :] + 16.0) / 116.0
    fx = fy + lab[..., 1:2, :, :] / 500.0
    fz = fy - lab[..., 2:3, :, :] / 200.0
    white = torch.tensor(_D65_WHITE, dtype=lab.dtype, device=lab.device).view(3, 1, 1)
    xyz = _lab_f_inv(torch.cat([fx, fy, fz], dim=-3)) * white
    return linear_to_srgb(_mix(xyz, _XYZ_TO_RGB))
