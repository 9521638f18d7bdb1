"""IRLE's Illumination-Aligned Perceptual loss (IAP).

Paper: "Internally Referenced Low-Light Enhancement", arXiv 2605.28605: features of the
output are compared with those of the input after its illumination has been aligned to
the output's, so that the loss preserves structure under the illumination change and
does not fight the brightening. No equations are public; chosen here:

* **alignment**: ``x_a = x * lp(Y(out)) / lp(Y(x))`` with ``Y`` the luma and ``lp`` an
  area low-pass by ``align_scale`` (8) upsampled bilinearly: the input gets the output's
  smooth illumination (per pixel, one ratio for all channels) and keeps its own detail
  and colour. The output's side is detached: the reference moves with the output.
* **normalisation**: both images are divided by the output's mean luma and multiplied by
  ``level`` (0.45) before the network, so a remaining global brightness shift does not
  count (scaling the output or the input by a constant changes nothing).
* **distance**: ``1 - cosine`` over channels per position (as the semantic loss,
  :func:`lowlight.losses.semantic.feature_cosine_distance`), averaged over positions and
  the chosen stages. The aligned reference carries the input's noise, amplified; the
  cosine of deep features (strides >= 4) is little moved by pixel noise, which is left to
  SISC and the denoiser.
* **network**: ``"efficientnet_lite0"`` (default; offline ImageNet weights of the
  ``semantic`` extra), stages 2, 3, 5 (strides 4, 8, 16), or ``"vgg16"`` / ``"vgg19"``
  with weights from a local ``vgg_weights`` path (blocks 2, 3, 4: relu2_2, relu3_3,
  relu4_3); see :mod:`lowlight.pretrained_nets.vgg`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lowlight.color import luma
from lowlight.errors import ConfigError
from lowlight.losses.irle_pseudo_gt import lowpass
from lowlight.losses.semantic import feature_cosine_distance

__all__ = ["IAP_NETWORKS", "IAPLoss", "align_illumination", "build_feature_network", "iap_loss"]

IAP_NETWORKS = ("efficientnet_lite0", "vgg16", "vgg19")
DEFAULT_STAGES = {"efficientnet_lite0": (2, 3, 5), "vgg16": (2, 3, 4), "vgg19": (2, 3, 4)}


def align_illumination(x: Tensor, reference: Tensor, scale: int = 8, eps: float = 1e-3) -> Tensor:
    """``x`` ``(B, 3, H, W)`` with its smooth luma replaced by that of ``reference``:
    ``x * up(lp(Y(reference))) / up(lp(Y(x)))``."""
    size = x.shape[-2:]

    def smooth(img: Tensor) -> Tensor:
        low = lowpass(luma(img), scale, "pool")
        return F.interpolate(low, size=size, mode="bilinear", align_corners=False)

    return x * smooth(reference) / smooth(x).clamp(min=eps)


def iap_loss(
    output: Tensor,
    x: Tensor,
    network: nn.Module,
    stages: Sequence[int],
    align_scale: int = 8,
    level: float = 0.45,
    eps: float = 1e-3,
) -> Tensor:
    """IAP of ``output`` against the input ``x`` (both ``(B, 3, H, W)``); scalar.

    ``network`` has ``stage_features(img, stages) -> list[(B, C, h, w)]``.
    """
    aligned = align_illumination(x, output.detach(), align_scale, eps)
    norm = level / luma(output.detach()).mean(dim=(-3, -2, -1), keepdim=True).clamp(min=eps)
    with torch.no_grad():
        ref = network.stage_features(aligned * norm, stages)  # type: ignore[operator]
    feats = network.stage_features(output * norm, stages)  # type: ignore[operator]
    return torch.stack(
        [feature_cosine_distance(f, r) for f, r in zip(feats, ref, strict=True)]
    ).mean()


def build_feature_network(name: str, vgg_weights: str | Path | None = None) -> nn.Module:
    """The frozen feature network of IAP.

    Raises:
        MissingDependencyError: EfficientNet-Lite0 without its weight package.
        WeightsError: VGG without a readable local ``vgg_weights`` file.
    """
    if name == "efficientnet_lite0":
        from lowlight.pretrained_nets.efficientnet_lite import efficientnet_lite0

        return efficientnet_lite0(pretrained=True, frozen=True)
    if name in ("vgg16", "vgg19"):
        from lowlight.pretrained_nets.vgg import vgg_features

        return vgg_features(vgg_weights, arch=name)
    raise ConfigError(f"unknown IAP network {name!r}; choose one of {list(IAP_NETWORKS)}")


class IAPLoss(nn.Module):
    """``loss(output, input)``: :func:`iap_loss` with a frozen feature network.

    Args:
        network: a name in :data:`IAP_NETWORKS` or an ``nn.Module`` with ``stage_features``.
        stages: compared stages (default per network, see the module docstring).
        align_scale, level: as :func:`iap_loss`.
        vgg_weights: local VGG state-dict path (VGG only).
    """

    def __init__(
        self,
        network: str | nn.Module = "efficientnet_lite0",
        stages: Sequence[int] | None = None,
        align_scale: int = 8,
        level: float = 0.45,
        vgg_weights: str | None = None,
    ) -> None:
        super().__init__()
        name = network if isinstance(network, str) else type(network).__name__
        if isinstance(network, str):
            network = build_feature_network(network, vgg_weights)
        network.requires_grad_(False)
        self.network = network.eval()
        self.name = name
        self.stages = tuple(stages) if stages is not None else DEFAULT_STAGES.get(name, (2, 3))
        if not self.stages:
            raise ConfigError("stages must not be empty")
        if int(align_scale) != align_scale or align_scale < 1:
            raise ConfigError(f"align_scale must be a positive integer, got {align_scale}")
        if not 0.0 < level < 1.0:
            raise ConfigError(f"level must be in (0, 1), got {level}")
        self.align_scale = int(align_scale)
        self.level = float(level)

    def train(self, mode: bool = True) -> IAPLoss:  # the network stays frozen
        super().train(False)
        return self

    def details(self) -> str:
        return (
            f"1 - cosine of frozen {self.name} features (stages {list(self.stages)}), output vs "
            f"input aligned to its illumination (/{self.align_scale} low-pass), brightness-normalised"
        )

    def forward(self, output: Tensor, x: Tensor) -> Tensor:
        first = next(self.network.parameters(), None)
        if first is not None and first.device != output.device:
            self.network.to(output.device)
        return iap_loss(output, x, self.network, self.stages, self.align_scale, self.level)
