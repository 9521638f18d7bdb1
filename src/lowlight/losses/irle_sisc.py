"""IRLE's Shift-Invariant Spectral Correlation loss (SISC) and the pair downsampler.

Paper: "Internally Referenced Low-Light Enhancement", arXiv 2605.28605: the two sub-images
of a pair downsampler (Neighbor2Neighbor, Huang et al., CVPR 2021; ZS-N2N, Mansour &
Heckel, CVPR 2023) are compared by their Fourier amplitudes, which ignore the one-pixel
shift between them: fine structure both share is kept (a spatial loss between the
sub-images penalises that shift at every edge and blurs), high-frequency energy they do
not share (independent noise) is penalised. No equations are public; chosen here:

* **pair downsampler**: ZS-N2N's fixed diagonal averages: ``a = (x[0,0] + x[1,1]) / 2``,
  ``b = (x[0,1] + x[1,0]) / 2`` in every ``2 x 2`` cell (stride-2 convolutions).
* **amplitudes**: ``|FFT2|`` (orthonormal) of each channel after its mean is removed.
* **loss**: ``sum_w r(w)^p (|A(w)| - |B(w)|)^2 / sum_w r(w)^p (|A_r(w)|^2 + |B_r(w)|^2) / 2``,
  ``r`` the radial frequency in ``[0, 1]`` (``p = hf_power``, 1: weight grows towards high
  frequencies; the DC term has weight 0), per image and channel, averaged. ``A_r, B_r``
  are the amplitudes of a reference's sub-images (the denoiser's input, detached), so the
  normaliser does not move with the output; without a reference the output's own.
  Identical amplitudes cost nothing whatever the phase: a circular shift of one
  sub-image changes nothing, shared structure is free, unshared energy costs.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from lowlight.errors import ConfigError

__all__ = ["SISCLoss", "pair_downsample", "radial_weight", "sisc_loss", "sisc_pair"]


def pair_downsample(x: Tensor) -> tuple[Tensor, Tensor]:
    """ZS-N2N's pair downsampler: ``(B, C, H, W)`` -> two ``(B, C, H // 2, W // 2)``."""
    h, w = x.shape[-2] // 2 * 2, x.shape[-1] // 2 * 2
    x = x[..., :h, :w]
    a = (x[..., 0::2, 0::2] + x[..., 1::2, 1::2]) / 2
    b = (x[..., 0::2, 1::2] + x[..., 1::2, 0::2]) / 2
    return a, b


def radial_weight(height: int, width: int, power: float = 1.0, device=None, dtype=None) -> Tensor:
    """``(H, W)`` weights ``r^power`` with ``r`` the radial frequency of ``fft2`` bins,
    normalised to 1 at the corner; 0 at DC."""
    fy = torch.fft.fftfreq(height, device=device, dtype=dtype)
    fx = torch.fft.fftfreq(width, device=device, dtype=dtype)
    r = torch.sqrt(fy[:, None] ** 2 + fx[None, :] ** 2) / (0.5 * 2**0.5)
    return r.pow(power) if power != 0 else (r > 0).to(r.dtype)


def _amplitude(x: Tensor) -> Tensor:
    x = x - x.mean(dim=(-2, -1), keepdim=True)
    return torch.fft.fft2(x.float(), norm="ortho").abs()


def sisc_pair(
    a: Tensor,
    b: Tensor,
    ref_a: Tensor | None = None,
    ref_b: Tensor | None = None,
    hf_power: float = 1.0,
    eps: float = 1e-8,
) -> Tensor:
    """SISC of two ``(B, C, h, w)`` sub-images (module docstring); scalar."""
    amp_a, amp_b = _amplitude(a), _amplitude(b)
    w = radial_weight(a.shape[-2], a.shape[-1], hf_power, a.device, amp_a.dtype)
    if ref_a is None or ref_b is None:
        ref_a, ref_b = amp_a.detach(), amp_b.detach()
    else:
        ref_a, ref_b = _amplitude(ref_a.detach()), _amplitude(ref_b.detach())
    num = (w * (amp_a - amp_b).square()).sum(dim=(-2, -1))
    den = (w * (ref_a.square() + ref_b.square()) / 2).sum(dim=(-2, -1))
    return (num / (den + eps)).mean()


def sisc_loss(output: Tensor, reference: Tensor | None = None, hf_power: float = 1.0) -> Tensor:
    """SISC of ``output`` ``(B, 3, H, W)``, ``H, W >= 2``, normalised by ``reference``'s
    sub-images (same shape; ``None``: the output's own, detached)."""
    a, b = pair_downsample(output)
    if reference is None:
        return sisc_pair(a, b, hf_power=hf_power)
    ra, rb = pair_downsample(reference)
    return sisc_pair(a, b, ra, rb, hf_power=hf_power)


class SISCLoss(nn.Module):
    """``loss(output, reference=None)``: :func:`sisc_loss` with ``hf_power``."""

    def __init__(self, hf_power: float = 1.0) -> None:
        super().__init__()
        if not hf_power >= 0:
            raise ConfigError(f"hf_power must be >= 0, got {hf_power}")
        self.hf_power = float(hf_power)

    def details(self) -> str:
        return (
            f"Fourier-amplitude difference of the pair-downsampled sub-images, radial weight "
            f"r^{self.hf_power:g}, normalised by the denoiser input's"
        )

    def forward(self, output: Tensor, reference: Tensor | None = None) -> Tensor:
        return sisc_loss(output, reference, self.hf_power)
