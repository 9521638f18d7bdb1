"""VGG-16 / VGG-19 feature extractors in plain torch, for users who have VGG weights.

Architecture: Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
Recognition", ICLR 2015 (arXiv 1409.1556): ``3 x 3`` convolutions with ReLU, max pooling
after each of the five blocks. The convolutions are numbered as in torchvision's
``vgg16().features`` / ``vgg19().features`` (``features.0.weight`` ...), so a state dict
saved from torchvision (``.pth``, ``weights_only``-loadable, or ``.safetensors``; the
classifier's keys are ignored) loads here with ``strict=True`` on the feature keys.

No weights ship and nothing is downloaded: the weights are loaded from a local path only,
and a missing path is a :class:`~lowlight.errors.WeightsError` saying how to get them.
Inputs in ``[0, 1]`` are normalised with the ImageNet mean and standard deviation.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor, nn

from lowlight.errors import ConfigError, WeightsError
from lowlight.weights import load_state_dict

__all__ = ["VGG_LAYERS", "VGGFeatures", "vgg_features"]

VGG_LAYERS: dict[str, tuple[int | str, ...]] = {
    "vgg16": (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512),
    "vgg19": (
        64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
        512, 512, 512, 512, "M", 512, 512, 512, 512,
    ),
}  # fmt: skip
"""Convolution widths and pools (``"M"``) of the feature part, torchvision's order."""

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class VGGFeatures(nn.Module):
    """The feature part of VGG; :meth:`stage_features` returns the last ReLU of blocks.

    Args:
        arch: ``"vgg16"`` or ``"vgg19"``.

    Shape:
        - Input: ``(B, 3, H, W)`` RGB in ``[0, 1]``.
        - Block ``s`` (1..5) output: ``(B, C_s, H / 2^(s-1), W / 2^(s-1))`` (before its pool).
    """

    def __init__(self, arch: str = "vgg16") -> None:
        super().__init__()
        if arch not in VGG_LAYERS:
            raise ConfigError(f"unknown VGG {arch!r}; choose one of {sorted(VGG_LAYERS)}")
        layers: list[nn.Module] = []
        self.block_ends: list[int] = []
        channels = 3
        for item in VGG_LAYERS[arch]:
            if item == "M":
                self.block_ends.append(len(layers) - 1)
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(channels, int(item), 3, padding=1), nn.ReLU(inplace=False)]
                channels = int(item)
        self.block_ends.append(len(layers) - 1)
        self.features = nn.Sequential(*layers)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def stage_features(self, x: Tensor, stages: Sequence[int]) -> list[Tensor]:
        """Outputs of blocks ``stages`` (1-based: relu1_2, relu2_2, relu3_3, relu4_3, relu5_3
        for VGG-16), in the requested order, running only as far as needed."""
        wanted = {int(s) for s in stages}
        if not wanted or min(wanted) < 1 or max(wanted) > len(self.block_ends):
            raise ValueError(f"stages must be in 1..{len(self.block_ends)}, got {list(stages)}")
        ends = {self.block_ends[s - 1]: s for s in wanted}
        out: dict[int, Tensor] = {}
        h = (x - self.mean) / self.std
        for i, layer in enumerate(self.features):
            h = layer(h)
            if i in ends:
                out[ends[i]] = h
                if len(out) == len(wanted):
                    break
        return [out[int(s)] for s in stages]


def vgg_features(
    weights: str | Path | None, arch: str = "vgg16", frozen: bool = True
) -> VGGFeatures:
    """A :class:`VGGFeatures` with weights from a local file, in eval mode.

    Args:
        weights: path of a torchvision VGG state dict (``.pth`` / ``.safetensors``).
        arch: ``"vgg16"`` or ``"vgg19"``.
        frozen: disable gradients.

    Raises:
        WeightsError: no path, a missing file, or keys that do not match ``arch``.
    """
    if weights is None:
        raise WeightsError(
            f"the VGG feature loss needs local {arch} weights: pass vgg_weights=PATH, a "
            f"torchvision state dict (e.g. torch.save(torchvision.models.{arch}(weights='DEFAULT')"
            ".state_dict(), PATH) on a machine with torchvision). Nothing is downloaded."
        )
    net = VGGFeatures(arch)
    state = load_state_dict(weights)
    features = {k: v for k, v in state.items() if k.startswith("features.")}
    try:
        net.load_state_dict(features, strict=True)
    except RuntimeError as exc:
        raise WeightsError(f"{weights} does not hold {arch} feature weights: {exc}") from exc
    if frozen:
        net.requires_grad_(False)
    return net.eval()
