"""Supervised reconstruction objective: a weighted sum of pixel and structure terms.

Terms (each a mean over the batch, channels and pixels):

* ``l1``: ``mean |y - t|``;
* ``mse``: ``mean (y - t)^2``;
* ``charbonnier``: ``mean sqrt((y - t)^2 + eps^2)`` with ``eps = 1e-3``: the smooth L1 of
  Charbonnier et al., "Two deterministic half-quadratic regularization algorithms for
  computed imaging" (ICIP 1994), in the form and with the ``eps`` that MIRNet (Zamir et al.,
  "Learning Enriched Features for Real Image Restoration and Enhancement", arXiv
  2003.06792) trains with;
* ``ssim``: ``1 - mean SSIM`` (Wang et al., "Image quality assessment: from error
  visibility to structural similarity", IEEE TIP 2004) with the metric's exact window
  (11x11 Gaussian, sigma 1.5, 'valid' filtering; :func:`lowlight.metrics.ssim_core.ssim_map`)
  on [0, 1] images, so the loss optimises the quantity the benchmark reports (before
  8-bit quantisation).

Choices: the prediction is the *unclamped* training output of
:meth:`~lowlight.models.base.EnhancementModel.forward_train`, so gradients still flow where
it leaves [0, 1]; the terms are computed in float32 outside autocast (the SSIM variances
lose precision in float16). The composer weights terms; each term is logged unweighted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor

from lowlight.errors import ConfigError
from lowlight.registry import OBJECTIVES

CHARBONNIER_EPS = 1e-3


def l1_loss(pred: Tensor, target: Tensor) -> Tensor:
    """Mean absolute error of ``(B, C, H, W)`` tensors."""
    return (pred - target).abs().mean()


def mse_loss(pred: Tensor, target: Tensor) -> Tensor:
    """Mean squared error of ``(B, C, H, W)`` tensors."""
    return (pred - target).square().mean()


def charbonnier_loss(pred: Tensor, target: Tensor, eps: float = CHARBONNIER_EPS) -> Tensor:
    """``mean sqrt((pred - target)^2 + eps^2)`` of ``(B, C, H, W)`` tensors."""
    return ((pred - target).square() + eps * eps).sqrt().mean()


def ssim_loss(pred: Tensor, target: Tensor) -> Tensor:
    """``1 - mean SSIM`` of ``(B, C, H, W)`` tensors in [0, 1] (images at least 11x11)."""
    from lowlight.metrics.ssim_core import ssim_map

    return 1.0 - ssim_map(pred, target, data_range=1.0).mean()


TERMS: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    "l1": l1_loss,
    "mse": mse_loss,
    "charbonnier": charbonnier_loss,
    "ssim": ssim_loss,
}
"""Available terms by name."""


class SupervisedObjective:
    """``objective(model, batch) -> (loss, logs)`` for batches with ``input`` and ``target``.

    Args:
        terms: term name -> weight, e.g. ``{"l1": 1.0, "ssim": 0.2}``. Terms with weight
            0 are still computed and logged (useful to watch a metric you do not train on).
        charbonnier_eps: the Charbonnier ``eps``.

    Shape:
        - ``batch["input"]``, ``batch["target"]``: ``(B, 3, H, W)`` in [0, 1].
        - ``loss``: scalar; ``logs``: ``{term: scalar}`` (unweighted, detached).
    """

    def __init__(
        self, terms: Mapping[str, float] | None = None, charbonnier_eps: float = CHARBONNIER_EPS
    ) -> None:
        terms = {"l1": 1.0} if terms is None else dict(terms)
        unknown = [name for name in terms if name not in TERMS]
        if unknown:
            raise ConfigError(
                f"unknown supervised loss term(s) {unknown}; valid terms: {', '.join(TERMS)}"
            )
        for name, weight in terms.items():
            if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not weight >= 0:
                raise ConfigError(f"weight of term '{name}' must be a number >= 0, got {weight!r}")
        if not any(w > 0 for w in terms.values()):
            raise ConfigError(f"at least one term needs a positive weight, got {terms}")
        if not charbonnier_eps > 0:
            raise ConfigError(f"charbonnier_eps must be > 0, got {charbonnier_eps}")
        self.terms = {name: float(weight) for name, weight in terms.items()}
        self.charbonnier_eps = float(charbonnier_eps)

    def __call__(self, model: Any, batch: Mapping[str, Any]) -> tuple[Tensor, dict[str, Tensor]]:
        if "target" not in batch:
            raise ConfigError(
                "the 'supervised' objective needs paired data (batches with a 'target')"
            )
        pred, _ = model.forward_train(batch["input"])
        return self.loss(pred, batch["target"])

    def loss(self, pred: Tensor, target: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """Weighted loss and per-term logs for a prediction ``(B, 3, H, W)`` and its target."""
        with torch.autocast(device_type=pred.device.type, enabled=False):
            pred = pred.float()
            target = target.float()
            total = pred.new_zeros(())
            logs: dict[str, Tensor] = {}
            for name, weight in self.terms.items():
                if name == "charbonnier":
                    value = charbonnier_loss(pred, target, self.charbonnier_eps)
                else:
                    value = TERMS[name](pred, target)
                total = total + weight * value
                logs[name] = value.detach()
        return total, logs

    def describe(self) -> list[str]:
        """Lines for the training log."""
        parts = " + ".join(f"{w:g} * {n}" for n, w in self.terms.items())
        lines = [f"supervised objective: loss = {parts}"]
        if "charbonnier" in self.terms:
            lines.append(f"charbonnier eps = {self.charbonnier_eps:g}")
        if "ssim" in self.terms:
            lines.append(
                "ssim term: 1 - SSIM, 11x11 Gaussian window (sigma 1.5), valid filtering, data range 1"
            )
        return lines


@OBJECTIVES.register(
    "supervised", kind="supervised", summary="weighted l1 / mse / charbonnier / ssim terms"
)
def supervised(
    terms: Mapping[str, float] | None = None, charbonnier_eps: float = CHARBONNIER_EPS
) -> SupervisedObjective:
    """Build the supervised objective (see :class:`SupervisedObjective`)."""
    return SupervisedObjective(terms, charbonnier_eps)


__all__ = [
    "CHARBONNIER_EPS",
    "TERMS",
    "SupervisedObjective",
    "charbonnier_loss",
    "l1_loss",
    "mse_loss",
    "ssim_loss",
    "supervised",
]
