"""IRLE: internally referenced self-supervised low-light enhancement with a gain-adaptive
blind-spot denoiser.

Paper: He, Wang, Liu, Li and Guo, "Internally Referenced Low-Light Enhancement", arXiv
2605.28605 (2026). Neither code nor equations are public; the abstract fixes four parts:
an illumination estimate with Retinex enhancement, a local exposure-simulated pseudo
ground truth, the IAP and SISC losses (:mod:`lowlight.losses.objective_irle`), and GAFM, a
gain prior from the illumination modulating a blind-spot denoiser. The rest follows the
open methods it builds on: ZERO-IG (Shi et al., CVPR 2024; illumination estimate, a
denoiser that sees the illumination) and AP-BSN (Lee et al., CVPR 2022; blind-spot
network, pixel-shuffle downsampling); see :mod:`lowlight.models._irle_blocks`.

Chosen here (each a constructor argument):

* **illumination** ``L`` (3 channels by default, so colour casts can be corrected; 1 keeps
  hue) from a plain conv net on the input area-downscaled by ``illum_scale`` (4) and capped
  at ``illum_max_side`` (none), upsampled bilinearly: smooth by construction, and a residual
  on a fixed estimate, ``L`` in ``[l_min, 1]`` (``l_min = 0.02``: gain <= 50). The estimate
  (``illum_base``) is by default the gain of the simulated exposure itself (global and
  8-cell local gain, as the pseudo ground truth's), so training starts near the internal
  reference; ``"maxrgb"`` (the Retinex max-RGB, very local) is the alternative.
* **enhancement** ``enhancement="divide"`` (default, ZERO-IG's and Retinex's ``y = x / L``,
  unclamped in training, clamped at the output) or ``"curve"`` (``y = 1 - (1 - x)^(1 / L)``:
  the same gain ``1 / L`` on dark pixels, a smooth shoulder instead of clipping near 1).
* **denoiser**: the blind-spot network on the enhanced image ``y``, PD factor 2 at train
  and test (``pd_factor_train`` sets AP-BSN's asymmetric PD); its input ``y`` and prior are
  detached (``detach=True``): the blind-spot and SISC losses, which act on the denoiser's
  prediction and shrink with brightness, train the denoiser only (they would otherwise pull
  the image darker). The output is that prediction times ``sg(L) / L`` (value 1), so losses
  on the output (IAP) also reach the illumination, as if the denoised image were divided
  by ``L``. ``detach=False``: one undetached path.
  ``denoiser=False`` is the no-denoiser ablation (output ``y``).
* **denoise_mix** (inference only, not in the paper): the output is
  ``y + m (denoised - y)``; ``m = 1`` (the constructor default) is the paper's output,
  ``m = 0`` skips the denoiser. The shipped ``irle_small_sice`` weights set ``m = 0.9`` in
  their record (``benchmarks/results/irle_denoise_mix``): the trained denoiser
  over-smooths, and on SICE-seq val and SICE-synth val a partial blend beat both ends on
  clean and noisy inputs alike (best near ``m = 0.6``), but below 0.9 the grain left in real
  night photos fails the NIQE guard.
* **GAFM**: the gain prior ``log(1/L) / log(1/l_min)`` per channel of ``L``, through
  pointwise layers to SFT scale and shift after the masked convolution and each dilated
  block of both branches; ``gain_prior=False`` is the unmodulated-denoiser ablation.
  Given ``L``, the denoiser's output at a pixel is independent of that pixel (tested with
  the prior on); ``L`` itself sees a pixel only through the ``illum_scale``-area mean of
  the downscaled copy, so the prior is smooth and carries no pixel-level noise (tested).
* **per-image adaptation**: :func:`lowlight.train.adapt.zero_shot_adapt` fine-tunes a
  copy on the image to enhance with the same objective.
* **tiling and video**: :meth:`IRLE.estimate_context` returns ``{"illumination": (B, C,
  h, w)}`` of the whole (downscaled) image; tiles resample it, so they share one ``L``
  (and one gain prior); the denoiser is local and needs nothing more.

Sizes: ``IRLE()`` (the full configuration) has 315,958 parameters
(:data:`DEFAULT_PARAMETERS`); ``irle_small()`` (:data:`SMALL_CONFIG`) 27,622
(:data:`SMALL_PARAMETERS`).
"""

from __future__ import annotations

from typing import Any

import torch.nn.functional as F
from torch import Tensor

from lowlight.errors import ConfigError
from lowlight.layers.padding import downscale_to_max_side
from lowlight.models._irle_blocks import (
    ILLUMINATION_BASES,
    BlindSpotDenoiser,
    IlluminationNet,
    gain_prior,
)
from lowlight.models.base import Context, EnhancementModel, check_image_batch
from lowlight.registry import MODELS

__all__ = [
    "DEFAULT_PARAMETERS",
    "ENHANCEMENTS",
    "IRLE",
    "SMALL_CONFIG",
    "SMALL_PARAMETERS",
    "enhance_with_illumination",
    "irle_small",
]

ENHANCEMENTS = ("divide", "curve")

DEFAULT_PARAMETERS = 315_958
"""Parameter count of ``IRLE()`` (checked by the tests)."""

SMALL_CONFIG: dict[str, Any] = {
    "illum_width": 16,
    "illum_depth": 3,
    "denoiser_width": 16,
    "denoiser_blocks": 2,
}
"""Constructor arguments of :func:`irle_small`."""

SMALL_PARAMETERS = 27_622
"""Parameter count of ``irle_small()`` (checked by the tests)."""

_PAPER = "arXiv 2605.28605"
_SUMMARY = (
    "IRLE: Retinex illumination net, local exposure-simulated pseudo-GT, IAP and SISC losses, "
    "gain-modulated (GAFM) blind-spot denoiser; self-supervised on dark images."
)


def enhance_with_illumination(x: Tensor, illumination: Tensor, mode: str = "divide") -> Tensor:
    """Retinex enhancement of ``x`` ``(B, 3, H, W)`` by ``illumination`` ``(B, 1 or 3, H, W)``
    in ``(0, 1]``: ``x / L`` (``"divide"``) or ``1 - (1 - x)^(1 / L)`` (``"curve"``).
    Unclamped; ``"curve"`` stays in ``[0, 1]`` for ``x`` in ``[0, 1]``."""
    if mode == "divide":
        return x / illumination
    if mode == "curve":
        return 1.0 - (1.0 - x.clamp(0.0, 1.0)).pow(1.0 / illumination)
    raise ConfigError(f"unknown enhancement {mode!r}; choose one of {list(ENHANCEMENTS)}")


@MODELS.register(
    "irle",
    kind="self-supervised",
    paper=_PAPER,
    summary=_SUMMARY,
    test_kwargs={"illum_width": 4, "denoiser_width": 4, "denoiser_blocks": 1},
)
class IRLE(EnhancementModel):
    """Illumination network, Retinex enhancement and GAFM blind-spot denoiser (module docstring).

    Args:
        illum_width, illum_depth: illumination network width and number of ``3 x 3`` layers.
        illum_channels: 3 (default) or 1.
        illum_scale: the illumination is estimated on the input area-downscaled by this.
        illum_max_side: cap on the longer side of that copy (``None``: no cap).
        l_min: floor of ``L``.
        enhancement: ``"divide"`` (default) or ``"curve"``.
        denoiser: whether the blind-spot denoiser runs (``False``: output ``y``).
        gain_prior: whether GAFM modulates the denoiser.
        denoiser_width, denoiser_blocks: blind-spot network width and blocks per branch.
        pd_factor, pd_factor_train: pixel-shuffle factors (test; train, ``None`` = test's).
        detach: the denoiser sees a detached ``y`` and prior (default ``True``).
        pd_ensemble: average the denoiser over the PD grid's phases at inference (``pd^2``
            times its cost; off by default).
        denoise_mix: at inference, the weight ``m`` of the denoised image against the
            enhanced one, ``y + m (denoised - y)``, in ``[0, 1]`` (1: the paper's output;
            0: the denoiser does not run). Training always uses the denoised output.
        illum_base: the estimate the illumination network corrects, ``"exposure"``
            (default) or ``"maxrgb"`` (see :class:`~lowlight.models._irle_blocks.IlluminationNet`).

    Shape:
        - Input: ``(B, 3, H, W)`` in ``[0, 1]``, any ``H, W``.
        - Output: ``(B, 3, H, W)`` in ``[0, 1]``.

    With the defaults: 315,958 parameters.
    """

    tileable = True
    pad_multiple = 1
    """The illumination is estimated by area resampling to any size and the denoiser pads
    itself (with zeros), so the base class pads nothing."""
    default_speed = "fast"
    """Photos larger than the working size run through the fast path by default: with
    ``irle_small_sice`` it scores higher than the network at full resolution on SICE-seq val
    (16.55 / 0.693 against 16.27 / 0.672; LOL-v1 eval15 agrees, 16.95 against 16.74) at a
    tenth of the cost on a 12 MP photo (``benchmarks/results/fast_path_fidelity_sice_seq``,
    ``photo_speed_2threads``); ``speed="full"`` keeps the denoiser at full resolution."""

    def __init__(
        self,
        illum_width: int = 32,
        illum_depth: int = 4,
        illum_channels: int = 3,
        illum_scale: int = 4,
        illum_max_side: int | None = None,
        l_min: float = 0.02,
        enhancement: str = "divide",
        denoiser: bool = True,
        gain_prior: bool = True,
        denoiser_width: int = 48,
        denoiser_blocks: int = 4,
        pd_factor: int = 2,
        pd_factor_train: int | None = None,
        detach: bool = True,
        pd_ensemble: bool = False,
        illum_base: str = "exposure",
        denoise_mix: float = 1.0,
    ) -> None:
        super().__init__()
        if illum_channels not in (1, 3):
            raise ConfigError(f"illum_channels must be 1 or 3, got {illum_channels}")
        if enhancement not in ENHANCEMENTS:
            raise ConfigError(f"unknown enhancement {enhancement!r}; choose one of {ENHANCEMENTS}")
        if illum_base not in ILLUMINATION_BASES:
            raise ConfigError(
                f"unknown illum_base {illum_base!r}; choose one of {ILLUMINATION_BASES}"
            )
        if not 0.0 < l_min < 1.0:
            raise ConfigError(f"l_min must be in (0, 1), got {l_min}")
        for name, value, low in (
            ("illum_width", illum_width, 1),
            ("illum_depth", illum_depth, 2),
            ("illum_scale", illum_scale, 1),
            ("denoiser_width", denoiser_width, 2),
            ("denoiser_blocks", denoiser_blocks, 0),
            ("pd_factor", pd_factor, 1),
            ("pd_factor_train", pd_factor if pd_factor_train is None else pd_factor_train, 1),
        ):
            if int(value) != value or value < low:
                raise ConfigError(f"{name} must be an integer >= {low}, got {value}")
        if not (isinstance(denoise_mix, (int, float)) and 0.0 <= denoise_mix <= 1.0):
            raise ConfigError(f"denoise_mix must be a number in [0, 1], got {denoise_mix!r}")
        if illum_max_side is not None and illum_max_side < 1:
            raise ConfigError(f"illum_max_side must be >= 1 or None, got {illum_max_side}")
        self.illum_scale = int(illum_scale)
        self.illum_max_side = illum_max_side
        self.l_min = float(l_min)
        self.enhancement = enhancement
        self.detach = bool(detach)
        self.denoise_mix = float(denoise_mix)
        self.illumination_net = IlluminationNet(
            illum_width, illum_depth, illum_channels, l_min, base=illum_base
        )
        self.denoiser: BlindSpotDenoiser | None = None
        if denoiser:
            self.denoiser = BlindSpotDenoiser(
                width=denoiser_width,
                blocks=denoiser_blocks,
                pd_factor=pd_factor,
                pd_factor_train=pd_factor_train,
                prior_channels=illum_channels if gain_prior else 0,
                pd_ensemble=pd_ensemble,
            )

    # --- illumination ------------------------------------------------------------------
    def estimate_illumination(self, x: Tensor) -> Tensor:
        """``L`` at the estimation resolution: ``(B, 3, H, W)`` -> ``(B, C, h, w)``, with
        ``(h, w) = ceil((H, W) / illum_scale)``, capped at ``illum_max_side``."""
        h, w = x.shape[-2:]
        size = (-(-h // self.illum_scale), -(-w // self.illum_scale))
        small = F.interpolate(x, size=size, mode="area") if size != (h, w) else x
        if self.illum_max_side is not None:
            small = downscale_to_max_side(small, self.illum_max_side)
        return self.illumination_net(small)

    def _full_illumination(self, x: Tensor, context: Context | None) -> Tensor:
        if context is not None and "illumination" in context:
            low = context["illumination"].to(dtype=x.dtype)
        else:
            low = self.estimate_illumination(x)
        if low.shape[-2:] != x.shape[-2:]:
            low = F.interpolate(low, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return low.clamp(self.l_min, 1.0)

    def gain_prior(self, illumination: Tensor) -> Tensor:
        """GAFM's spatial gain prior of a full-resolution ``L`` (see :func:`gain_prior`)."""
        return gain_prior(illumination, self.l_min)

    # --- the pipeline ------------------------------------------------------------------
    def _run(self, x: Tensor, context: Context | None, denoise: bool = True) -> dict[str, Tensor]:
        illumination = self._full_illumination(x, context)
        enhanced = enhance_with_illumination(x, illumination, self.enhancement)
        out = {"illumination": illumination, "enhanced": enhanced}
        if self.denoiser is None or not denoise:
            out["output"] = enhanced
            return out
        y, light = (
            (enhanced.detach(), illumination.detach()) if self.detach else (enhanced, illumination)
        )
        prior = self.gain_prior(light) if self.denoiser.modulated else None
        out["denoised"] = self.denoiser(y, prior)
        # value: the denoised image; gradient: also to L, as if it were divided by L
        out["output"] = out["denoised"] * (light / illumination) if self.detach else out["denoised"]
        return out

    def estimate_context(self, x: Tensor) -> Context | None:
        """``{"illumination": (B, C, h, w)}`` of the whole (downscaled) image ``x``."""
        return {"illumination": self.estimate_illumination(x)}

    def enhance_tensor(self, x: Tensor, context: Context | None = None) -> Tensor:
        out = self._run(x, context, denoise=self.denoise_mix > 0.0)
        if self.denoiser is None or self.denoise_mix in (0.0, 1.0):
            return out["output"]
        return out["enhanced"].lerp(out["output"], self.denoise_mix)

    def forward_train(self, x: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """Output (not clamped) and ``{"illumination": (B, C, H, W), "enhanced": y}``, plus
        ``"denoised"`` (the blind-spot prediction of ``y``) when the denoiser is on."""
        check_image_batch(x)
        out = self._run(x, None)
        return out.pop("output"), out

    def extra_repr(self) -> str:
        return (
            f"enhancement={self.enhancement}, illum_scale={self.illum_scale}, "
            f"denoiser={self.denoiser is not None}, detach={self.detach}, "
            f"denoise_mix={self.denoise_mix:g}"
        )


@MODELS.register(
    "irle_small",
    kind="self-supervised",
    paper=_PAPER,
    summary="IRLE sized for CPU training (illumination width 16, denoiser width 16); " + _SUMMARY,
    test_kwargs={"illum_width": 4, "denoiser_width": 4, "denoiser_blocks": 1},
    default_weights="irle_small_sice",
)
def irle_small(**overrides: Any) -> IRLE:
    """IRLE with :data:`SMALL_CONFIG`; keyword arguments override single settings."""
    return IRLE(**{**SMALL_CONFIG, **overrides})
