"""Automatic global gamma: the simplest exposure-correcting baseline.

Gamma correction is the power law of Poynton's "Digital Video and HDTV" (2003) and of
every camera pipeline; as an automatic exposure rule it follows the common "map a
luminance statistic to mid-grey" recipe (e.g. Babakhani & Zarei, "Automatic gamma
correction based on average of brightness", ACSIJ 2015, which uses the mean).

Choices made here:

* the statistic is the **median** luma by default (``statistic="median"``): robust to
  small bright light sources, and, as the curve is monotone, the output median is
  *exactly* the target (up to the gamma clamp and the saturation cap below). ``"mean"`` and ``"logmean"`` (the
  log-average "key" of Reinhard et al. 2002) are options; for them only the statistic's
  value itself lands on the target (Jensen), not the output's mean;
* output luma ``Y' = Y ** (1 / gamma)`` with ``gamma = log(stat) / log(target)``,
  clamped to ``gamma_range`` (default ``(0.2, 5.0)``, symmetric in log);
* luma is BT.709 on encoded sRGB (:func:`lowlight.color.luma`); in ``"luminance"`` mode
  RGB is scaled by ``Y' / Y`` (hue and saturation kept), with the gain capped so no
  channel exceeds 1 (clipping would shift the hue); ``"channel"`` mode applies the power
  to each channel (desaturates brightened colours a little, like a camera curve);
* the gamma is a whole-image quantity: :meth:`GammaCorrection.estimate_context` returns
  it as ``{"gamma": (B, 1, 1, 1)}`` so the tiles of a large image agree.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from lowlight.color import LUMA_WEIGHTS, luma
from lowlight.errors import ConfigError
from lowlight.models.base import Context, EnhancementModel
from lowlight.registry import MODELS

__all__ = ["GammaCorrection", "apply_gamma", "auto_gamma"]

_STATISTICS = ("median", "mean", "logmean")
_MODES = ("luminance", "channel")


def auto_gamma(
    y: Tensor,
    target: float = 0.45,
    statistic: str = "median",
    gamma_range: tuple[float, float] = (0.2, 5.0),
    eps: float = 1e-6,
) -> Tensor:
    """The gamma that maps a luma statistic of each image to ``target``.

    Args:
        y: ``(B, 1, H, W)`` luma in ``[0, 1]``.
        target: output value of the statistic, in ``(0, 1)``.
        statistic: ``"median"``, ``"mean"`` or ``"logmean"`` (geometric mean, ``eps``-guarded).
        gamma_range: clamp ``(low, high)`` of the returned gamma.
        eps: floor of the statistic (and of luma inside the log-mean).

    Returns:
        ``(B, 1, 1, 1)`` gamma; the curve is ``y ** (1 / gamma)``.
    """
    flat = y.flatten(1)
    if statistic == "median":
        stat = flat.median(dim=1).values
    elif statistic == "mean":
        stat = flat.mean(dim=1)
    elif statistic == "logmean":
        stat = flat.clamp(min=eps).log().mean(dim=1).exp()
    else:
        raise ConfigError(f"unknown statistic '{statistic}'; choose one of {list(_STATISTICS)}")
    stat = stat.clamp(eps, 1.0 - eps)
    gamma = stat.log() / math.log(target)
    return gamma.clamp(*gamma_range).view(-1, 1, 1, 1)


def apply_gamma(
    x: Tensor,
    gamma: Tensor | float,
    mode: str = "luminance",
    luma_standard: str = "bt709",
    eps: float = 1e-6,
) -> Tensor:
    """Brighten (``gamma > 1``) or darken (``gamma < 1``) with the curve ``v ** (1 / gamma)``.

    Args:
        x: ``(B, 3, H, W)`` sRGB in ``[0, 1]``.
        gamma: a float or a ``(B, 1, 1, 1)`` tensor.
        mode: ``"luminance"`` (curve on luma, RGB scaled by the luma ratio, capped so no
            channel exceeds 1) or ``"channel"`` (curve on each channel).
        luma_standard: luma weights for ``"luminance"`` mode (see :data:`lowlight.color.LUMA_WEIGHTS`).
        eps: floor of luma and of the channel peak in the gain (guards division by ~0).

    Returns:
        ``(B, 3, H, W)`` in ``[0, 1]``.
    """
    if not isinstance(gamma, Tensor):
        gamma = torch.tensor(float(gamma))
    inv = gamma.to(dtype=x.dtype, device=x.device).reciprocal()
    x = x.clamp(0.0, 1.0)
    if mode == "channel":
        return x.clamp(min=eps) ** inv * (x > 0)
    if mode != "luminance":
        raise ConfigError(f"unknown mode '{mode}'; choose one of {list(_MODES)}")
    y = luma(x, luma_standard).clamp(min=eps)
    gain = y ** (inv - 1.0)  # = y ** (1 / gamma) / y
    peak = x.amax(dim=1, keepdim=True).clamp(min=eps)
    gain = torch.minimum(gain, peak.reciprocal())
    return (x * gain).clamp(0.0, 1.0)


@MODELS.register(
    "gamma",
    kind="classical",
    paper="Global gamma correction (Poynton 2003); automatic exposure by mapping median luma to mid-grey",
    summary="Global power curve on luma, gamma chosen per image so median luma maps to 0.45.",
    default_weights=None,
)
class GammaCorrection(EnhancementModel):
    """Global (optionally automatic) gamma correction on luma.

    Args:
        gamma: a fixed gamma (curve ``v ** (1 / gamma)``; ``2.2`` brightens), or ``None``
            (default) to choose it per image with :func:`auto_gamma`.
        target: value the chosen statistic maps to (default ``0.45``, about mid-grey in sRGB).
        statistic: ``"median"`` (default), ``"mean"`` or ``"logmean"``.
        gamma_range: clamp of the automatic gamma (default ``(0.2, 5.0)``).
        mode: ``"luminance"`` (default, hue-preserving) or ``"channel"``.
        luma_standard: ``"bt709"`` (default) or ``"bt601"``.
        eps: numerical floor (default ``1e-6``).

    Shape:
        - Input: ``(B, 3, H, W)`` in ``[0, 1]``.
        - Output: ``(B, 3, H, W)`` in ``[0, 1]``.
    """

    tileable = True
    fast_path = False
    """A global per-pixel curve is already as cheap as the fast path's transform."""

    def __init__(
        self,
        gamma: float | None = None,
        target: float = 0.45,
        statistic: str = "median",
        gamma_range: tuple[float, float] = (0.2, 5.0),
        mode: str = "luminance",
        luma_standard: str = "bt709",
        eps: float = 1e-6,
    ) -> None:
        super().__init__()
        if gamma is not None and not gamma > 0:
            raise ConfigError(f"gamma must be > 0 or None, got {gamma}")
        if not 0.0 < target < 1.0:
            raise ConfigError(f"target must be in (0, 1), got {target}")
        if statistic not in _STATISTICS:
            raise ConfigError(f"unknown statistic '{statistic}'; choose one of {list(_STATISTICS)}")
        low, high = (float(v) for v in gamma_range)
        if not 0.0 < low <= high:
            raise ConfigError(f"gamma_range must satisfy 0 < low <= high, got {gamma_range}")
        if mode not in _MODES:
            raise ConfigError(f"unknown mode '{mode}'; choose one of {list(_MODES)}")
        if luma_standard not in LUMA_WEIGHTS:
            raise ConfigError(
                f"unknown luma_standard '{luma_standard}'; choose one of {sorted(LUMA_WEIGHTS)}"
            )
        if not 0.0 < eps < 1e-2:
            raise ConfigError(f"eps must be in (0, 0.01), got {eps}")
        self.gamma = None if gamma is None else float(gamma)
        self.target = float(target)
        self.statistic = statistic
        self.gamma_range = (low, high)
        self.mode = mode
        self.luma_standard = luma_standard
        self.eps = float(eps)

    def estimate_context(self, x: Tensor) -> Context | None:
        """``{"gamma": (B, 1, 1, 1)}`` from the whole (downscaled) image; ``None`` when fixed."""
        if self.gamma is not None:
            return None
        y = luma(x.clamp(0.0, 1.0), self.luma_standard)
        g = auto_gamma(y, self.target, self.statistic, self.gamma_range, self.eps)
        return {"gamma": g}

    def enhance_tensor(self, x: Tensor, context: Context | None = None) -> Tensor:
        if context is not None and "gamma" in context:
            gamma: Tensor | float = context["gamma"]
        elif self.gamma is not None:
            gamma = self.gamma
        else:
            gamma = self.estimate_context(x)["gamma"]  # type: ignore[index]
        return apply_gamma(x, gamma, self.mode, self.luma_standard, self.eps)

    def extra_repr(self) -> str:
        if self.gamma is not None:
            return f"gamma={self.gamma}, mode={self.mode}"
        return (
            f"gamma=auto, target={self.target}, statistic={self.statistic}, "
            f"gamma_range={self.gamma_range}, mode={self.mode}"
        )
