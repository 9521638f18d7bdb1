"""Blocks of IRLE (:mod:`lowlight.models.irle`) used by no other model: the illumination
network, the gain prior of GAFM, and the gain-modulated blind-spot denoiser.

The blind-spot denoiser follows AP-BSN's network (Lee et al., "AP-BSN: Self-Supervised
Denoising for Real-World Images via Asymmetric PD and Blind-Spot Network", CVPR 2022) in
its structure, written here from the paper's description: a ``1 x 1`` head; two branches,
each a centre-masked convolution of side ``2d - 1`` followed by ``1 x 1`` convolutions and
residual blocks of ``3 x 3`` convolutions dilated by ``d`` (``d = 2`` and ``3``); a ``1 x 1``
tail fusing the branches, added to the mean of the 8 neighbours of each pixel (in the
PD domain; chosen here: an untrained denoiser is then a mild blur rather than noise, and
training only learns the correction; the last layer starts at a tenth of He's scale).
Why the centre stays blind: after the masked convolution the
feature at offset ``k d`` (``k != 0``) from a pixel sees offsets ``k d + [-(d-1), d-1]``,
never 0, and the dilated / ``1 x 1`` layers only combine offsets that are multiples of ``d``.
Pixel-shuffle downsampling (PD) with factor ``f`` splits the image into ``f^2`` sub-images
(pixels ``f`` apart) so that spatially correlated noise looks white to the network; the
blind spot survives PD because each pixel lives in exactly one sub-image.

GAFM (Gain-Adaptive Feature Modulation, IRLE's): the gain prior
``p = log(1 / L) / log(1 / l_min)`` in ``[0, 1]`` (how strongly each pixel was amplified)
goes through pointwise (``1 x 1``) layers to a scale ``gamma`` and shift ``beta`` per
modulated layer, applied as ``f * (1 + gamma) + beta`` (SFT, Wang et al., CVPR 2018). The
prior is made from the illumination only, never from the image the denoiser sees, so it
cannot carry the centre pixel around the blind spot.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "ILLUMINATION_BASES",
    "BlindSpotDenoiser",
    "CentreMaskedConv2d",
    "GainPrior",
    "IlluminationNet",
    "exposure_base",
    "gain_prior",
    "pd_merge",
    "pd_split",
]


# --- illumination ---------------------------------------------------------------------
ILLUMINATION_BASES = ("exposure", "maxrgb")


def exposure_base(x: Tensor, l_min: float, target: float = 0.5, cells: int = 8) -> Tensor:
    """The illumination that a simulated exposure would imply, smooth by construction.

    The linear luma's gain towards ``target`` (an sRGB level) is the geometric mean of a
    global gain and a local one over ``cells x cells`` areas (area pooling, bilinear back),
    as IRLE's pseudo ground truth (:func:`lowlight.losses.irle_pseudo_gt.region_gain`,
    ``local_strength = 0.5``) computes it; the sRGB-domain illumination is the ratio of the
    encoded local mean level ``m`` to the encoded ``k m`` (so that ``x / L`` brightens a
    pixel at that level as the gain ``k`` in linear light would), clamped to ``[l_min, 1]``.
    ``(B, 3, h, w)`` -> ``(B, 1, h, w)``.
    """
    lin = torch.where(x <= 0.04045, x / 12.92, ((x.clamp(min=0.04045) + 0.055) / 1.055) ** 2.4)
    luma = 0.2126 * lin[:, 0:1] + 0.7152 * lin[:, 1:2] + 0.0722 * lin[:, 2:3]
    t = ((target + 0.055) / 1.055) ** 2.4
    whole = luma.mean(dim=(-2, -1), keepdim=True).clamp(min=1e-4)
    size = (-(-x.shape[-2] // cells), -(-x.shape[-1] // cells))
    local = F.interpolate(luma, size=size, mode="area")
    local = F.interpolate(local, size=x.shape[-2:], mode="bilinear", align_corners=False)
    local = local.clamp(min=1e-4)
    gain = ((t / whole) * (t / local)).sqrt().clamp(1.0, 1.0 / l_min)
    # sRGB-domain ratio at the local mean level: encoded(m) / encoded(k m)
    return (_encode(local) / _encode((gain * local).clamp(max=1.0))).clamp(l_min, 1.0)


def _encode(lin: Tensor) -> Tensor:
    high = 1.055 * lin.clamp(min=0.0031308) ** (1.0 / 2.4) - 0.055
    return torch.where(lin <= 0.0031308, 12.92 * lin, high)


class IlluminationNet(nn.Module):
    """Illumination ``L`` of a (downscaled) image: a learned residual on a fixed estimate.

    ``L = l_min + (1 - l_min) * sigmoid(logit(b) + r)`` with ``b`` the base estimate
    (rescaled to ``(0, 1)`` over ``[l_min, 1]``) and ``r`` the output of a plain convolution
    stack on ``[x, b]``. The last layer starts near zero (std ``1e-3``), so training starts
    at the base:

    * ``base="exposure"`` (default): :func:`exposure_base`, the gain of IRLE's simulated
      exposure (so the untrained model already enhances about as the pseudo ground truth
      asks, and training learns the correction);
    * ``base="maxrgb"``: the Retinex max-RGB estimate (3x3 mean), very local: an untrained
      model stretches every neighbourhood to its maximum.

    Args:
        width: channels of the hidden layers.
        depth: number of ``3 x 3`` convolutions (>= 2).
        channels: 1 (grey illumination, hue kept) or 3 (per channel: can correct casts).
        l_min: floor of ``L`` (largest gain ``1 / l_min``).
        base: ``"exposure"`` or ``"maxrgb"``.

    Shape:
        - Input: ``(B, 3, h, w)`` in ``[0, 1]``.
        - Output: ``(B, channels, h, w)`` in ``[l_min, 1]``.
    """

    def __init__(
        self,
        width: int = 16,
        depth: int = 3,
        channels: int = 3,
        l_min: float = 0.02,
        base: str = "exposure",
    ) -> None:
        super().__init__()
        if base not in ILLUMINATION_BASES:
            raise ValueError(
                f"unknown illumination base {base!r}; choose one of {ILLUMINATION_BASES}"
            )
        layers: list[nn.Module] = [nn.Conv2d(4, width, 3, padding=1, padding_mode="replicate")]
        for _ in range(depth - 2):
            layers += [nn.ReLU(inplace=True)]
            layers += [nn.Conv2d(width, width, 3, padding=1, padding_mode="replicate")]
        layers += [nn.ReLU(inplace=True)]
        last = nn.Conv2d(width, channels, 3, padding=1, padding_mode="replicate")
        nn.init.normal_(last.weight, std=1e-3)
        nn.init.zeros_(last.bias)
        layers.append(last)
        self.body = nn.Sequential(*layers)
        self.l_min = float(l_min)
        self.base = base

    def base_estimate(self, x: Tensor) -> Tensor:
        """The fixed estimate ``b`` ``(B, 1, h, w)`` in ``[l_min, 1]`` the network corrects."""
        if self.base == "exposure":
            return exposure_base(x, self.l_min)
        peak = x.amax(dim=1, keepdim=True)
        return F.avg_pool2d(F.pad(peak, (1, 1, 1, 1), mode="replicate"), 3, stride=1)

    def forward(self, x: Tensor) -> Tensor:
        base = self.base_estimate(x)
        b = ((base - self.l_min) / (1.0 - self.l_min)).clamp(1e-3, 1.0 - 1e-3)
        r = self.body(torch.cat([x, base], dim=1))
        return self.l_min + (1.0 - self.l_min) * torch.sigmoid(torch.logit(b) + r)


def gain_prior(illumination: Tensor, l_min: float) -> Tensor:
    """The spatial gain prior ``log(1 / L) / log(1 / l_min)``: 0 where nothing was
    amplified, 1 at the largest gain. ``(B, C, H, W)`` -> ``(B, C, H, W)`` in ``[0, 1]``."""
    return (-torch.log(illumination.clamp(l_min, 1.0)) / -torch.log(torch.tensor(l_min))).clamp(
        0.0, 1.0
    )


class GainPrior(nn.Module):
    """GAFM's prior encoder: pointwise layers from the gain prior to ``sites`` pairs of
    ``(gamma, beta)``, each ``(B, width, H, W)``.

    Pointwise only, so the modulation at a pixel depends on the prior at that pixel alone.
    The last layer starts at zero: an untrained GAFM is the identity modulation.
    """

    def __init__(self, in_channels: int, width: int, sites: int, hidden: int = 16) -> None:
        super().__init__()
        self.width = width
        self.sites = sites
        self.encode = nn.Sequential(nn.Conv2d(in_channels, hidden, 1), nn.ReLU(inplace=True))
        self.out = nn.Conv2d(hidden, 2 * width * sites, 1)
        nn.init.normal_(self.out.weight, std=1e-3)
        nn.init.zeros_(self.out.bias)

    def forward(self, prior: Tensor) -> list[tuple[Tensor, Tensor]]:
        params = self.out(self.encode(prior)).chunk(2 * self.sites, dim=1)
        return [(params[2 * i], params[2 * i + 1]) for i in range(self.sites)]


# --- pixel-shuffle downsampling -------------------------------------------------------
def pd_split(x: Tensor, factor: int) -> Tensor:
    """``(B, C, H, W)`` -> ``(B f^2, C, H / f, W / f)``: sub-image ``(i, j)`` is
    ``x[..., i::f, j::f]``. ``H`` and ``W`` must be multiples of ``f``."""
    if factor == 1:
        return x
    b, c, h, w = x.shape
    x = x.reshape(b, c, h // factor, factor, w // factor, factor)
    return x.permute(0, 3, 5, 1, 2, 4).reshape(b * factor * factor, c, h // factor, w // factor)


def pd_merge(x: Tensor, factor: int) -> Tensor:
    """Inverse of :func:`pd_split`."""
    if factor == 1:
        return x
    bff, c, hs, ws = x.shape
    b = bff // (factor * factor)
    x = x.reshape(b, factor, factor, c, hs, ws).permute(0, 3, 4, 1, 5, 2)
    return x.reshape(b, c, hs * factor, ws * factor)


# --- blind-spot denoiser --------------------------------------------------------------
class CentreMaskedConv2d(nn.Conv2d):
    """A ``k x k`` convolution (odd ``k``, zero padding ``k // 2``) whose centre tap is
    always zero: the output at a pixel never depends on the input at that pixel."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int) -> None:
        super().__init__(in_channels, out_channels, kernel_size, padding=kernel_size // 2)
        mask = torch.ones(1, 1, kernel_size, kernel_size)
        mask[..., kernel_size // 2, kernel_size // 2] = 0.0
        self.register_buffer("mask", mask, persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)


class _DilatedBlock(nn.Module):
    """``x + conv1x1(relu(conv3x3_dilated(x)))`` (AP-BSN's dilated residual block)."""

    def __init__(self, width: int, dilation: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(width, width, 3, padding=dilation, dilation=dilation)
        self.point = nn.Conv2d(width, width, 1)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.point(F.relu(self.conv(x)))


class _Branch(nn.Module):
    def __init__(self, width: int, dilation: int, blocks: int) -> None:
        super().__init__()
        self.masked = CentreMaskedConv2d(width, width, 2 * dilation - 1)
        self.entry = nn.Sequential(
            nn.ReLU(inplace=True), nn.Conv2d(width, width, 1), nn.ReLU(inplace=True)
        )
        self.blocks = nn.ModuleList(_DilatedBlock(width, dilation) for _ in range(blocks))
        self.exit = nn.Sequential(nn.Conv2d(width, width, 1), nn.ReLU(inplace=True))

    def forward(self, x: Tensor, mods: list[tuple[Tensor, Tensor]] | None) -> Tensor:
        f = self.entry(self.masked(x))
        if mods is not None:
            gamma, beta = mods[0]
            f = f * (1.0 + gamma) + beta
        for i, block in enumerate(self.blocks):
            f = block(f)
            if mods is not None:
                gamma, beta = mods[i + 1]
                f = f * (1.0 + gamma) + beta
        return self.exit(f)


class BlindSpotDenoiser(nn.Module):
    """AP-BSN-style blind-spot network with pixel-shuffle downsampling and optional GAFM.

    Args:
        width: feature channels.
        blocks: dilated residual blocks per branch.
        dilations: one branch per dilation (AP-BSN: ``(2, 3)``).
        pd_factor: pixel-shuffle factor at inference (1: off).
        pd_factor_train: factor in training mode (AP-BSN's asymmetric PD); ``None``: the same.
        prior_channels: channels of the gain prior (0: no GAFM, the denoiser is unmodulated).
        pd_ensemble: at inference, average the ``f^2`` phases of the PD grid (``f^2`` times
            the cost; meant to smooth the grid pattern PD can leave, not measured on a trained
            model yet). Not AP-BSN's R3 refinement.

    ``forward(y, prior)``: ``y`` ``(B, 3, H, W)`` (any ``H, W``: zero-padded inside to a
    multiple of the PD factor; zeros, because a reflected copy of a pixel could reach it
    around the blind spot), ``prior`` ``(B, prior_channels, H, W)`` or ``None``. Returns
    ``(B, 3, H, W)``; the output at a pixel does not depend on ``y`` at that pixel.
    """

    def __init__(
        self,
        width: int = 16,
        blocks: int = 2,
        dilations: tuple[int, ...] = (2, 3),
        pd_factor: int = 2,
        pd_factor_train: int | None = None,
        prior_channels: int = 3,
        pd_ensemble: bool = False,
    ) -> None:
        super().__init__()
        self.pd_factor = int(pd_factor)
        self.pd_ensemble = bool(pd_ensemble)
        self.pd_factor_train = self.pd_factor if pd_factor_train is None else int(pd_factor_train)
        self.head = nn.Sequential(nn.Conv2d(3, width, 1), nn.ReLU(inplace=True))
        self.branches = nn.ModuleList(_Branch(width, d, blocks) for d in dilations)
        self.tail = nn.Sequential(
            nn.Conv2d(width * len(dilations), width, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(width, width // 2 or 1, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(width // 2 or 1, 3, 1),
        )
        self.sites_per_branch = blocks + 1
        ring = torch.ones(3, 1, 3, 3) / 8.0
        ring[..., 1, 1] = 0.0
        self.register_buffer("ring", ring, persistent=False)
        self._init_weights()
        self.gafm = (
            GainPrior(prior_channels, width, self.sites_per_branch * len(dilations))
            if prior_channels > 0
            else None
        )

    def _init_weights(self) -> None:
        """He-normal convolutions, zero biases, residual branches scaled by 0.3: PyTorch's
        default initialisation shrinks the signal at every layer of this ReLU stack until
        the untrained output is a constant (dead units, no gradient)."""
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                nn.init.zeros_(module.bias)
        for module in self.modules():
            if isinstance(module, _DilatedBlock):
                module.point.weight.data.mul_(0.3)
        self.tail[-1].weight.data.mul_(0.1)

    @property
    def modulated(self) -> bool:
        return self.gafm is not None

    def forward(self, y: Tensor, prior: Tensor | None = None) -> Tensor:
        factor = self.pd_factor_train if self.training else self.pd_factor
        if self.training or not self.pd_ensemble or factor == 1:
            return self._forward_pd(y, prior, factor)
        # inference self-ensemble over the f^2 phases of the PD grid: each phase sees other
        # sub-images, averaging removes the grid pattern; every pass is blind, so is the mean
        h, w = y.shape[-2:]
        total = torch.zeros_like(y)
        for dy in range(factor):
            for dx in range(factor):
                shifted = F.pad(y, (dx, 0, dy, 0))
                p = None if prior is None else F.pad(prior, (dx, 0, dy, 0), mode="replicate")
                total = total + self._forward_pd(shifted, p, factor)[..., dy : dy + h, dx : dx + w]
        return total / (factor * factor)

    def _forward_pd(self, y: Tensor, prior: Tensor | None, factor: int) -> Tensor:
        h, w = y.shape[-2:]
        pad = (0, (-w) % factor, 0, (-h) % factor)
        y = F.pad(y, pad)
        mods = None
        if self.gafm is not None:
            if prior is None:
                raise ValueError("this denoiser is gain-modulated (GAFM): pass the gain prior")
            prior = pd_split(F.pad(prior, pad, mode="replicate"), factor)
            mods = self.gafm(prior)
        sub = pd_split(y, factor)
        f = self.head(sub)
        outs = []
        n = self.sites_per_branch
        for i, branch in enumerate(self.branches):
            outs.append(branch(f, None if mods is None else mods[i * n : (i + 1) * n]))
        # zero padding, normalised by the neighbours that exist: a replicated border pixel
        # would be the centre pixel itself
        count = F.conv2d(torch.ones_like(sub[:1, :1]), self.ring[:1], padding=1).clamp(min=0.125)
        base = F.conv2d(sub, self.ring, padding=1, groups=3) / count
        out = pd_merge(base + self.tail(torch.cat(outs, dim=1)), factor)
        return out[..., :h, :w]
