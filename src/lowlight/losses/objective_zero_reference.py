"""The zero-reference training objective of LucentVisionNet: six weighted terms.

Paper: LucentVisionNet, arXiv 2506.18323: ``L = w_tv L_tvA + w_spa L_spa + w_col L_col +
w_exp L_exp + w_seg L_seg + w_nr L_NR``. The first four are Zero-DCE's
(:mod:`lowlight.losses.zero_reference`), ``L_NR = 100 - mean quality score``
(:mod:`lowlight.losses.naturalness`) and ``L_seg`` a semantic term
(:mod:`lowlight.losses.semantic`). A seventh term, not the paper's, is off by default:
``global_exposure`` (``L_gexp``), an image-level exposure target (the mean or a quantile
of intensity over the whole frame) beside or instead of the patch term ``L_exp``.

Weights (the paper does not print them):

* ``spatial 1, exposure 10, color 5, smoothness 200``: Zero-DCE's, with its exposure level
  0.6 on 16x16 patches and 4x4 pooling for ``L_spa``. ``L_tvA`` is summed over the curve
  maps *as applied at each iteration* (shared maps count once per iteration), which makes
  200 reproduce both Zero-DCE (24 maps, 200) and Zero-DCE++/SGZ (3 shared maps, 1600).
* ``nr 0.1``: ``L_NR`` lies in ``[0, 100]``. Measured at initialisation on 8 SICE Part1
  256x256 crops (default model, NSS scorer), the gradient norms on the network's
  parameters of the weighted terms were: ``L_exp`` 4.2, ``L_col`` 10.1, ``L_tvA`` 0.40,
  ``L_spa`` 0.012, ``L_NR`` (weight 1) 7.1; weight 0.1 makes ``L_NR`` a steady but
  secondary pull (0.7), about a sixth of ``L_exp``'s, so naturalness refines rather than
  overrides exposure. MUSIQ users may retune it.
* ``semantic``: ``None`` (default) takes the chosen loss's own weight: 0.1 for a
  segmentation network (SGZ's weight of its focal loss), 1.0 for the EfficientNet
  feature consistency (measured gradient norm 0.55 at weight 1 in the setting above, of
  the order of ``L_tvA``'s). The semantic term is *off* unless ``semantic_net`` names a
  network (none ships for segmentation).

Whole-frame training (``perceptual_max_side``): the two network-based terms (``L_NR``'s
scorer and ``L_seg``'s network) cost far more per pixel than the others; with
``perceptual_max_side: N`` they see an area-downscaled copy of the enhanced (and input)
frame whose longer side is at most ``N``, so a 512x512 frame costs them what a 128x128 crop
did. Off by default (``None``: full resolution, the paper's setting on its crops).

Every term is computed only when it is on: weight > 0, ``enabled`` true, and (for ``nr``
and ``semantic``) a scorer / network configured. A term may be given as a number (its
weight) or as ``{"weight": w, "enabled": bool}``. Ablations are single flags: no
``L_NR`` (``nr: 0`` or ``scorer: null``), no ``L_seg`` (``semantic: 0`` or
``semantic_net: null``); single scale and 1-vs-8 iterations are model arguments
(``scales: [1]``, ``iterations: 1``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lowlight.errors import ConfigError
from lowlight.losses.naturalness import MusiqScorer, NSSNaturalnessScorer, QualityScorer, nr_loss
from lowlight.losses.semantic import build_semantic_loss, semantic_default_weight
from lowlight.losses.zero_reference import (
    color_constancy_loss,
    exposure_control_loss,
    global_exposure_loss,
    illumination_smoothness_loss,
    spatial_consistency_loss,
)
from lowlight.registry import OBJECTIVES

__all__ = ["DEFAULT_WEIGHTS", "TERMS", "ZeroReferenceObjective"]

TERMS = ("spatial", "exposure", "color", "smoothness", "nr", "semantic", "global_exposure")
"""Term names, in the order of the log and of :meth:`ZeroReferenceObjective.describe`."""

DEFAULT_WEIGHTS: dict[str, float | None] = {
    "spatial": 1.0,
    "exposure": 10.0,
    "color": 5.0,
    "smoothness": 200.0,
    "nr": 0.1,
    "semantic": None,
    "global_exposure": 0.0,
}
"""``None`` for ``semantic``: the chosen semantic loss's ``default_weight``."""

_LABELS = {
    "spatial": "L_spa",
    "exposure": "L_exp",
    "global_exposure": "L_gexp",
    "color": "L_col",
    "smoothness": "L_tvA",
    "nr": "L_NR",
    "semantic": "L_seg",
}

TermSetting = float | int | Mapping[str, Any] | None


def _parse_term(name: str, value: TermSetting, default: float) -> tuple[float, bool]:
    """``(weight, enabled)`` from a number, ``None`` (``default``) or
    ``{"weight": w, "enabled": bool}``."""
    if isinstance(value, Mapping):
        unknown = set(value) - {"weight", "enabled"}
        if unknown:
            raise ConfigError(
                f"term '{name}': unknown keys {sorted(unknown)}; valid: ['enabled', 'weight']"
            )
        weight = value.get("weight")
        enabled = value.get("enabled", True)
    else:
        weight, enabled = value, True
    if weight is None:
        weight = default
    if isinstance(weight, bool) or not isinstance(weight, (int, float)):
        raise ConfigError(f"term '{name}': weight must be a number, got {weight!r}")
    if weight < 0:
        raise ConfigError(f"term '{name}': weight must be >= 0, got {weight}")
    if not isinstance(enabled, bool):
        raise ConfigError(f"term '{name}': enabled must be true or false, got {enabled!r}")
    return float(weight), enabled and weight > 0


def _build_scorer(
    choice: str | QualityScorer | None, args: Mapping[str, Any]
) -> QualityScorer | None:
    if choice is None:
        return None
    if choice == "nss":
        return NSSNaturalnessScorer(**args)
    if choice == "musiq":
        return MusiqScorer(**args)
    if isinstance(choice, str):
        raise ConfigError(f"unknown scorer '{choice}'; choose 'nss', 'musiq' or null")
    if not callable(choice):
        raise ConfigError(
            f"scorer must be 'nss', 'musiq', null or a callable, got {type(choice).__name__}"
        )
    return choice


@OBJECTIVES.register("zero_reference")
class ZeroReferenceObjective(nn.Module):
    """Weighted zero-reference objective ``objective(model, batch) -> (loss, logs)``.

    Args:
        spatial, exposure, color, smoothness, nr, semantic, global_exposure: each a weight
            (defaults in :data:`DEFAULT_WEIGHTS`; ``None`` is the default) or
            ``{"weight": w, "enabled": bool}``.
        exposure_level: ``L_exp`` target (default 0.6).
        exposure_patch: ``L_exp`` patch side (default 16).
        global_exposure_level: ``L_gexp`` target (default 0.5).
        global_exposure_quantile: ``L_gexp`` statistic: ``None`` (default) the frame's mean
            intensity, else that quantile of it.
        perceptual_max_side: cap on the longer side of the copy ``L_NR`` and ``L_seg`` see
            (``None``, default: the frame itself).
        spatial_pool: ``L_spa`` pooling (default 4).
        spatial_border: ``L_spa`` border, ``"zeros"`` (Zero-DCE's code) or ``"replicate"``.
        scorer: ``"nss"`` (default, offline), ``"musiq"`` (needs pyiqa and its weights),
            ``None`` (no ``L_NR``), or a :class:`~lowlight.losses.naturalness.QualityScorer`.
        scorer_args: keyword arguments of the scorer's constructor.
        semantic_net: ``None`` (default: ``L_seg`` off), ``"efficientnet_lite0"`` (offline
            feature consistency), or a segmentation ``nn.Module``.
        semantic_args: keyword arguments of the semantic loss's constructor.

    ``batch["input"]`` is ``(B, 3, H, W)`` in ``[0, 1]`` with ``H, W >= exposure_patch``; the
    model must implement ``forward_train`` returning ``(enhanced, aux)`` with
    ``aux["curves"]`` (and ``aux["iterations"]``) when ``smoothness`` is on.

    ``logs`` holds detached scalars: each computed term's unweighted value under its name,
    ``nr_score`` (mean quality score) when ``L_NR`` is on, and ``total``.
    """

    def __init__(
        self,
        spatial: TermSetting = DEFAULT_WEIGHTS["spatial"],
        exposure: TermSetting = DEFAULT_WEIGHTS["exposure"],
        color: TermSetting = DEFAULT_WEIGHTS["color"],
        smoothness: TermSetting = DEFAULT_WEIGHTS["smoothness"],
        nr: TermSetting = DEFAULT_WEIGHTS["nr"],
        semantic: TermSetting = DEFAULT_WEIGHTS["semantic"],
        global_exposure: TermSetting = DEFAULT_WEIGHTS["global_exposure"],
        exposure_level: float = 0.6,
        exposure_patch: int = 16,
        global_exposure_level: float = 0.5,
        global_exposure_quantile: float | None = None,
        perceptual_max_side: int | None = None,
        spatial_pool: int = 4,
        spatial_border: str = "zeros",
        scorer: str | QualityScorer | None = "nss",
        scorer_args: Mapping[str, Any] | None = None,
        semantic_net: str | nn.Module | None = None,
        semantic_args: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        settings = dict(
            zip(
                TERMS,
                (spatial, exposure, color, smoothness, nr, semantic, global_exposure),
                strict=True,
            )
        )
        defaults = {k: v for k, v in DEFAULT_WEIGHTS.items() if v is not None}
        defaults["semantic"] = semantic_default_weight(semantic_net)
        parsed = {
            name: _parse_term(name, value, defaults[name]) for name, value in settings.items()
        }
        self.weights = {name: w for name, (w, _) in parsed.items()}
        self.active = {name: on for name, (_, on) in parsed.items()}
        if not 0.0 < exposure_level < 1.0:
            raise ConfigError(f"exposure_level must be in (0, 1), got {exposure_level}")
        if not 0.0 < global_exposure_level < 1.0:
            raise ConfigError(
                f"global_exposure_level must be in (0, 1), got {global_exposure_level}"
            )
        if global_exposure_quantile is not None and not 0.0 < global_exposure_quantile < 1.0:
            raise ConfigError(
                f"global_exposure_quantile must be in (0, 1) or null, got {global_exposure_quantile}"
            )
        if perceptual_max_side is not None and (
            isinstance(perceptual_max_side, bool)
            or int(perceptual_max_side) != perceptual_max_side
            or perceptual_max_side < 16
        ):
            raise ConfigError(
                f"perceptual_max_side must be an integer >= 16 or null, got {perceptual_max_side}"
            )
        if int(exposure_patch) != exposure_patch or exposure_patch < 1:
            raise ConfigError(f"exposure_patch must be a positive integer, got {exposure_patch}")
        if int(spatial_pool) != spatial_pool or spatial_pool < 1:
            raise ConfigError(f"spatial_pool must be a positive integer, got {spatial_pool}")
        if spatial_border not in ("zeros", "replicate"):
            raise ConfigError(
                f"spatial_border must be 'zeros' or 'replicate', got {spatial_border!r}"
            )
        self.exposure_level = float(exposure_level)
        self.exposure_patch = int(exposure_patch)
        self.global_exposure_level = float(global_exposure_level)
        self.global_exposure_quantile = global_exposure_quantile
        self.perceptual_max_side = None if perceptual_max_side is None else int(perceptual_max_side)
        self.spatial_pool = int(spatial_pool)
        self.spatial_border = spatial_border
        self._reasons: dict[str, str] = {}

        self.scorer: QualityScorer | None = None
        if self.active["nr"]:
            self.scorer = _build_scorer(scorer, scorer_args or {})
            if self.scorer is None:
                self.active["nr"] = False
                self._reasons["nr"] = "no quality scorer configured (scorer: null)"
        self.semantic_loss: nn.Module | None = None
        if self.active["semantic"]:
            loss = build_semantic_loss(semantic_net, **(semantic_args or {}))
            if loss.enabled:
                self.semantic_loss = loss
            else:
                self.active["semantic"] = False
                self._reasons["semantic"] = loss.describe()

    # --- reporting ----------------------------------------------------------------------
    def describe(self) -> list[str]:
        """One line per term: on (weight, settings) or off (why), for the training log."""
        lines = []
        for name in TERMS:
            label, weight = _LABELS[name], self.weights[name]
            if not self.active[name]:
                if name in self._reasons:
                    reason = self._reasons[name]
                    lines.append(reason if reason.startswith(label) else f"{label} off: {reason}")
                elif weight == 0:
                    lines.append(f"{label} off: weight 0")
                else:
                    lines.append(f"{label} off: disabled (enabled: false)")
                continue
            lines.append(f"{label} on: weight {weight:g}, {self._settings(name)}")
        return lines

    def _settings(self, name: str) -> str:
        if name == "spatial":
            return f"{self.spatial_pool}x{self.spatial_pool} pooling, border {self.spatial_border}"
        if name == "exposure":
            return f"level {self.exposure_level:g} on {self.exposure_patch}x{self.exposure_patch} patches"
        if name == "global_exposure":
            stat = (
                "mean"
                if self.global_exposure_quantile is None
                else f"quantile {self.global_exposure_quantile:g}"
            )
            return f"level {self.global_exposure_level:g} for the frame's {stat} intensity"
        if name == "color":
            return "grey-world channel means"
        if name == "smoothness":
            return "TV of the curve maps, summed over iterations"
        where = (
            ""
            if self.perceptual_max_side is None
            else f" (on a copy at most {self.perceptual_max_side} px on its longer side)"
        )
        if name == "nr":
            describe = getattr(self.scorer, "describe", None)
            text = describe() if callable(describe) else type(self.scorer).__name__
            return text + where
        return self.semantic_loss.details() + where  # type: ignore[union-attr,operator]

    def _perceptual_view(self, image: Tensor) -> Tensor:
        """``image`` area-downscaled to ``perceptual_max_side`` on its longer side, if larger."""
        if self.perceptual_max_side is None:
            return image
        height, width = image.shape[-2:]
        longest = max(height, width)
        if longest <= self.perceptual_max_side:
            return image
        scale = self.perceptual_max_side / longest
        size = (max(1, round(height * scale)), max(1, round(width * scale)))
        return F.interpolate(image, size=size, mode="area")

    # --- the objective ------------------------------------------------------------------
    def forward(
        self, model: nn.Module, batch: Mapping[str, Tensor]
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """Total weighted loss and detached per-term logs for ``batch["input"]``."""
        x = batch["input"]
        enhanced, aux = model.forward_train(x)  # type: ignore[operator]
        values: dict[str, Tensor] = {}
        logs: dict[str, Tensor] = {}
        if self.active["spatial"]:
            values["spatial"] = spatial_consistency_loss(
                enhanced, x, self.spatial_pool, self.spatial_border
            )
        if self.active["exposure"]:
            values["exposure"] = exposure_control_loss(
                enhanced, self.exposure_patch, self.exposure_level
            )
        if self.active["global_exposure"]:
            values["global_exposure"] = global_exposure_loss(
                enhanced, self.global_exposure_level, self.global_exposure_quantile
            )
        if self.active["color"]:
            values["color"] = color_constancy_loss(enhanced)
        if self.active["smoothness"]:
            curves = aux.get("curves")
            if curves is None:
                raise ConfigError(
                    f"{type(model).__name__}.forward_train returns no 'curves' for L_tvA; "
                    "set smoothness: 0 for models without curve maps"
                )
            iterations = int(aux["iterations"]) if "iterations" in aux else 1
            repeats = max(1, iterations * 3 // curves.shape[1])
            values["smoothness"] = illumination_smoothness_loss(curves, repeats=repeats)
        if self.active["nr"] or self.active["semantic"]:
            small_enhanced, small_input = self._perceptual_view(enhanced), self._perceptual_view(x)
        if self.active["nr"]:
            scores = self.scorer(small_enhanced.clamp(0.0, 1.0))  # type: ignore[misc]
            values["nr"] = nr_loss(scores)
            logs["nr_score"] = scores.detach().mean()
        if self.active["semantic"]:
            values["semantic"] = self.semantic_loss(small_enhanced, small_input)  # type: ignore[misc]
        if not values:
            raise ConfigError("every term of the zero-reference objective is off")
        total = torch.stack([self.weights[k] * v for k, v in values.items()]).sum()
        logs.update({k: v.detach() for k, v in values.items()})
        logs["total"] = total.detach()
        return total, logs

    def extra_repr(self) -> str:
        on = [f"{k}={self.weights[k]:g}" for k in TERMS if self.active[k]]
        return ", ".join(on) or "all terms off"
