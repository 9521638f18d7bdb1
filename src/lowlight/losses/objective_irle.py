"""IRLE's self-supervised training objective: five weighted terms, each one flag.

Paper: "Internally Referenced Low-Light Enhancement", arXiv 2605.28605. Terms and where
they act (:class:`lowlight.models.irle.IRLE` returns the enhanced image ``y = x / L``, the
illumination ``L`` and, with its denoiser, the output ``z = D(y)``):

* ``pseudo_gt`` (:mod:`lowlight.losses.irle_pseudo_gt`): low frequencies of ``y`` vs the
  local exposure-simulated pseudo ground truth; trains the illumination (brightness,
  colour).
* ``iap`` (:mod:`lowlight.losses.irle_iap`): features of the output ``z`` vs the input
  aligned to its illumination; keeps structure (and stops the denoiser from blurring).
  ``iap_on: enhanced`` applies it to ``y`` instead.
* ``sisc`` (:mod:`lowlight.losses.irle_sisc`): spectral consistency of the output's two
  sub-images, normalised by ``y``'s; suppresses noise the sub-images do not share.
* ``denoise`` (:mod:`lowlight.losses.blind_spot`): the blind-spot loss of ``z`` vs ``y``.
* ``smoothness``: total variation of ``L`` (Zero-DCE's ``L_tvA`` form), keeping the
  illumination, and so the gain prior, smooth.

``sisc`` and ``denoise`` need the denoiser's output: with a model without one (the
no-denoiser ablation) they are skipped (they could only darken ``y``), and the log says so.

Weights (none are published): ``pseudo_gt 1``, ``iap 0.01``, ``sisc 0.1``, ``denoise 1``,
``smoothness 10``. The three denoiser terms were balanced by their gradient norms on the
output image, measured on 8 dark SICE 128x128 crops with the pseudo ground truth as a
stand-in output (noisy, and blurred by a 3x3 mean): blind-spot 0.0015, IAP 0.08 / 0.17
(it prefers the noisy output: weight 0.01), SISC 0.025 / 0.009 (it prefers the blurred
one: weight 0.1), so that neither pull dominates. The illumination learns from
``pseudo_gt`` (gradient norm 0.35 on its parameters at initialisation from the max-RGB
base; from the default exposure base the term starts near 0.06 instead of 0.40);
``smoothness`` is a guard (the illumination is smooth by construction: 0.003 at weight 10).

A term is a number (its weight) or ``{"weight": w, "enabled": bool}``; the ablations are
single flags: ``pseudo_gt: 0``, ``iap: 0``, ``sisc: 0`` here, ``gain_prior: false`` and
``denoiser: false`` on the model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from lowlight.errors import ConfigError
from lowlight.losses.blind_spot import BlindSpotLoss
from lowlight.losses.irle_iap import IAPLoss
from lowlight.losses.irle_pseudo_gt import PseudoGTLoss
from lowlight.losses.irle_sisc import SISCLoss
from lowlight.losses.objective_zero_reference import TermSetting, _parse_term
from lowlight.losses.zero_reference import illumination_smoothness_loss
from lowlight.registry import OBJECTIVES

__all__ = ["DEFAULT_WEIGHTS", "TERMS", "IRLEObjective"]

TERMS = ("pseudo_gt", "iap", "sisc", "denoise", "smoothness")

DEFAULT_WEIGHTS: dict[str, float] = {
    "pseudo_gt": 1.0,
    "iap": 0.01,
    "sisc": 0.1,
    "denoise": 1.0,
    "smoothness": 10.0,
}

_LABELS = {
    "pseudo_gt": "L_pgt",
    "iap": "L_IAP",
    "sisc": "L_SISC",
    "denoise": "L_bsn",
    "smoothness": "L_tvL",
}
_NEEDS_DENOISER = ("sisc", "denoise")


@OBJECTIVES.register("irle")
class IRLEObjective(nn.Module):
    """Weighted IRLE objective ``objective(model, batch) -> (loss, logs)``.

    Args:
        pseudo_gt, iap, sisc, denoise, smoothness: weights (see :data:`DEFAULT_WEIGHTS`) or
            ``{"weight": w, "enabled": bool}``.
        pseudo_gt_args: keyword arguments of :class:`~lowlight.losses.irle_pseudo_gt.PseudoGTLoss`.
        iap_args: of :class:`~lowlight.losses.irle_iap.IAPLoss` (``network``, ``stages``,
            ``vgg_weights``, ...).
        sisc_args: of :class:`~lowlight.losses.irle_sisc.SISCLoss`.
        iap_on: ``"output"`` (default) or ``"enhanced"``.

    ``batch["input"]`` is ``(B, 3, H, W)`` in ``[0, 1]``; the model's ``forward_train``
    returns ``(output, aux)`` with ``aux["enhanced"]``, ``aux["illumination"]`` and, with
    a denoiser, ``aux["denoised"]``. ``logs``: each computed term's unweighted value, the
    output's mean (``brightness``) and ``total``.
    """

    def __init__(
        self,
        pseudo_gt: TermSetting = DEFAULT_WEIGHTS["pseudo_gt"],
        iap: TermSetting = DEFAULT_WEIGHTS["iap"],
        sisc: TermSetting = DEFAULT_WEIGHTS["sisc"],
        denoise: TermSetting = DEFAULT_WEIGHTS["denoise"],
        smoothness: TermSetting = DEFAULT_WEIGHTS["smoothness"],
        pseudo_gt_args: Mapping[str, Any] | None = None,
        iap_args: Mapping[str, Any] | None = None,
        sisc_args: Mapping[str, Any] | None = None,
        iap_on: str = "output",
    ) -> None:
        super().__init__()
        settings = dict(zip(TERMS, (pseudo_gt, iap, sisc, denoise, smoothness), strict=True))
        parsed = {k: _parse_term(k, v, DEFAULT_WEIGHTS[k]) for k, v in settings.items()}
        self.weights = {k: w for k, (w, _) in parsed.items()}
        self.active = {k: on for k, (_, on) in parsed.items()}
        if iap_on not in ("output", "enhanced"):
            raise ConfigError(f"iap_on must be 'output' or 'enhanced', got {iap_on!r}")
        self.iap_on = iap_on
        self.pseudo_gt_loss = PseudoGTLoss(**(pseudo_gt_args or {}))
        self.sisc_loss = SISCLoss(**(sisc_args or {}))
        self.denoise_loss = BlindSpotLoss()
        self.iap_loss = IAPLoss(**(iap_args or {})) if self.active["iap"] else None
        self._skipped: set[str] = set()

    def describe(self) -> list[str]:
        """One line per term for the training log."""
        lines = []
        for name in TERMS:
            label, weight = _LABELS[name], self.weights[name]
            if not self.active[name]:
                why = "weight 0" if weight == 0 else "disabled (enabled: false)"
                lines.append(f"{label} off: {why}")
                continue
            if name == "pseudo_gt":
                what = self.pseudo_gt_loss.details()
            elif name == "iap":
                what = f"on the {self.iap_on}: " + self.iap_loss.details()  # type: ignore[union-attr]
            elif name == "sisc":
                what = self.sisc_loss.details()
            elif name == "denoise":
                what = self.denoise_loss.details()
            else:
                what = "total variation of the illumination L"
            if name in _NEEDS_DENOISER:
                what += " (skipped for a model without a denoiser)"
            lines.append(f"{label} on: weight {weight:g}, {what}")
        return lines

    def forward(
        self, model: nn.Module, batch: Mapping[str, Tensor]
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """Total weighted loss and detached per-term logs for ``batch["input"]``."""
        x = batch["input"]
        output, aux = model.forward_train(x)  # type: ignore[operator]
        if "enhanced" not in aux or "illumination" not in aux:
            raise ConfigError(
                f"{type(model).__name__}.forward_train returns no 'enhanced'/'illumination': "
                "the irle objective needs an IRLE-like model"
            )
        enhanced, denoised = aux["enhanced"], aux.get("denoised")
        values: dict[str, Tensor] = {}
        if self.active["pseudo_gt"]:
            values["pseudo_gt"] = self.pseudo_gt_loss(enhanced, x)
        if self.active["iap"]:
            target = output if self.iap_on == "output" else enhanced
            values["iap"] = self.iap_loss(target, x)  # type: ignore[misc]
        if denoised is not None:
            if self.active["sisc"]:
                values["sisc"] = self.sisc_loss(denoised, enhanced.detach())
            if self.active["denoise"]:
                values["denoise"] = self.denoise_loss(denoised, enhanced)
        if self.active["smoothness"]:
            values["smoothness"] = illumination_smoothness_loss(aux["illumination"])
        if not values:
            raise ConfigError("every term of the irle objective is off")
        total = torch.stack([self.weights[k] * v for k, v in values.items()]).sum()
        logs = {k: v.detach() for k, v in values.items()}
        logs["brightness"] = output.detach().mean()
        logs["total"] = total.detach()
        return total, logs

    def extra_repr(self) -> str:
        on = [f"{k}={self.weights[k]:g}" for k in TERMS if self.active[k]]
        return ", ".join(on) or "all terms off"
