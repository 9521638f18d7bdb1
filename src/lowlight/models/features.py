"""Where a training-time plug-in attaches: the encode/decode split of a backbone.

A model that offers the split implements :class:`FeatureSplit` beside the usual
:class:`~lowlight.models.base.EnhancementModel` methods:

* ``encode(x)`` runs the first part of the network on a *padded* batch ``(B, 3, H, W)``
  and returns an :class:`Encoded`: the intermediate ``features`` ``(B, C, H/s, W/s)``
  (``C = feature_channels``, ``s = feature_stride``) plus whatever ``decode`` needs
  besides them (the input for a global residual, skip features);
* ``decode(encoded, features)`` runs the rest on ``features`` (the encoder's own or a
  plug-in's modified copy of the same shape) and returns the enhanced padded batch
  ``(B, 3, H, W)``, unclamped, so that ``decode(e, e.features)`` with
  ``e = encode(x)`` equals ``enhance_tensor(x)``;
* ``clamps_in_training``: whether the model's ``forward_train`` clamps to ``[0, 1]``
  (the base class default does), so a plug-in's training outputs match the backbone's.

``enhance_tensor`` is then ``decode(e, e.features)``: implementing the split changes no
parameter, no state-dict key and no output (``tests/models/test_feature_split.py``
checks the shipped weights). Where to split: after a first stage of the network, so that
most of it still processes what a plug-in adds; the LFPV plug-in
(:mod:`lowlight.plugins.lfpv`) pools the features to 1/4 of the input resolution itself,
so a full-resolution split (``feature_stride = 1``) is fine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from torch import Tensor

__all__ = ["Encoded", "FeatureSplit", "has_feature_split"]


@dataclass
class Encoded:
    """What ``encode`` hands to ``decode``.

    Attributes:
        features: ``(B, C, H/s, W/s)``, the features a plug-in may modify.
        skips: tensors ``decode`` needs besides ``features`` (input image, skip features).
    """

    features: Tensor
    skips: dict[str, Tensor | list[Tensor]] = field(default_factory=dict)


@runtime_checkable
class FeatureSplit(Protocol):
    """The backbone interface a feature plug-in needs (see the module docstring)."""

    feature_channels: int
    feature_stride: int
    clamps_in_training: bool

    def encode(self, x: Tensor) -> Encoded: ...

    def decode(self, encoded: Encoded, features: Tensor) -> Tensor: ...


def has_feature_split(model: object) -> bool:
    """Whether ``model`` offers the encode/decode split."""
    return isinstance(model, FeatureSplit)
