"""The self-supervised loss of a blind-spot denoiser.

A network whose output at a pixel never sees that pixel (a blind-spot network: Krull et
al., Noise2Void, CVPR 2019; Laine et al., NeurIPS 2019; AP-BSN, Lee et al., CVPR 2022)
can be trained to predict the noisy image itself: with noise independent across pixels
(made so for correlated noise by pixel-shuffle downsampling) and zero-mean, the best
prediction is the clean value. AP-BSN uses the L1 distance; so does this.
"""

from __future__ import annotations

from torch import Tensor, nn

__all__ = ["BlindSpotLoss", "blind_spot_loss"]


def blind_spot_loss(prediction: Tensor, noisy: Tensor) -> Tensor:
    """Mean ``|prediction - noisy|`` (``noisy`` detached), both ``(B, C, H, W)``; scalar."""
    return (prediction - noisy.detach()).abs().mean()


class BlindSpotLoss(nn.Module):
    """``loss(prediction, noisy)``: :func:`blind_spot_loss`."""

    def details(self) -> str:
        return "L1 of the blind-spot prediction of the enhanced image vs the enhanced image"

    def forward(self, prediction: Tensor, noisy: Tensor) -> Tensor:
        return blind_spot_loss(prediction, noisy)
