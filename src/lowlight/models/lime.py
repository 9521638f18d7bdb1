"""LIME: low-light enhancement by illumination map estimation (Retinex, no learning).

Paper: X. Guo, Y. Li, H. Ling, "LIME: Low-Light Image Enhancement via Illumination Map
Estimation", IEEE TIP 26(2):982-993, 2017 (arXiv:1605.05034). Followed exactly:

* initial illumination ``T_hat = max_c I_c``;
* the paper's sped-up solver: refine ``t`` from
  ``(I + alpha * sum_d D_d^T diag(w_d) D_d) t = t_hat`` with
  ``w_d = W_d / (|grad_d T_hat| + eps)``, ``d`` in {horizontal, vertical};
* weight strategy III, Gaussian-weighted gradients:
  ``W_d(x) = sum_y G(x, y) / (|sum_y G(x, y) grad_d T_hat(y)| + eps)``;
  strategies I (``W_d = 1``) and II (``W_d = 1 / (|grad_d T_hat| + eps)``) are options;
* gamma on the refined illumination ``T <- T ** gamma`` and ``R = I / T``;
* the paper's parameters: ``alpha = 0.15``, ``sigma = 2``, ``gamma = 0.8``, ``eps = 1e-3``.

Choices made here:

* ``D_d`` are forward differences with Neumann boundaries (no edge across the image
  border; some re-implementations wrap around circularly); the system is then
  a symmetric positive definite 5-point M-matrix whose solution stays within the range
  of ``T_hat``;
* the Gaussian ``G`` is normalised to sum 1 over a ``2 * ceil(3 sigma) + 1`` window with
  replicated borders, so ``sum_y G = 1``;
* the system is solved in torch (batched, any device, no scipy) by preconditioned
  conjugate gradients from ``T_hat``. The preconditioner is a symmetric multigrid V-cycle
  (2 x 2 aggregation with Galerkin coarse operators, damped-Jacobi smoothing, dense
  Cholesky on the coarsest grid). With the paper's ``eps`` the weights reach ``1 / eps^2 =
  1e6`` in flat regions, and plain Jacobi-PCG (``preconditioner="jacobi"``) needs
  ~1000-1500 iterations on a 512 x 341 LOL image versus ~50-65 with the V-cycle, which is
  ~3x faster in wall time on CPU and far fewer kernel launches on a GPU. CG stops when
  the preconditioned residual falls by ``tol`` (default ``1e-4``: refined map within
  ~5e-4 of a direct solve on LOL images, i.e. within 0.3% in the gain ``1 / T^gamma``) or after
  ``max_iter`` (default 500);
* for speed and so that the tiles of a large image agree, the illumination is solved on a
  copy area-downscaled so that its longer side is at most ``solve_max_side`` (default
  512; ``None`` solves at full resolution) and upsampled bilinearly;
  :meth:`LIME.estimate_context` returns that map as ``{"illumination": (B, 1, h, w)}``;
* ``R = I / max(T ** gamma, eps)``, then clamped to ``[0, 1]``;
* the paper's optional BM3D denoising of ``Y`` (with recomposition weighted by ``T``) is
  left out: it is a separate, slow dependency and the paper treats it as a post-process.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from lowlight.errors import ConfigError
from lowlight.layers.padding import downscale_to_max_side
from lowlight.models.base import Context, EnhancementModel
from lowlight.registry import MODELS

__all__ = [
    "LIME",
    "SolveInfo",
    "lime_weights",
    "refine_illumination",
    "smoothness_operator",
    "solve_pcg",
]


@dataclass(frozen=True)
class SolveInfo:
    """What :func:`solve_pcg` did, per image: iterations ``(B,)`` and the final relative
    preconditioned residual ``(B,)``."""

    iterations: Tensor
    relative_residual: Tensor


def _forward_diff(t: Tensor, dim: int) -> Tensor:
    """Forward difference along ``dim`` (-1 or -2), zero at the last index; same shape as ``t``."""
    d = t.diff(dim=dim)
    pad = (0, 1) if dim == -1 else (0, 0, 0, 1)
    return F.pad(d, pad)


def _gaussian_blur(t: Tensor, sigma: float) -> Tensor:
    """Separable normalised Gaussian blur of ``(B, 1, H, W)`` with replicated borders."""
    radius = max(1, math.ceil(3.0 * sigma))
    offsets = torch.arange(-radius, radius + 1, device=t.device, dtype=t.dtype)
    kernel = torch.exp(-0.5 * (offsets / sigma) ** 2)
    kernel = kernel / kernel.sum()
    t = F.pad(t, (radius, radius, 0, 0), mode="replicate")
    t = F.conv2d(t, kernel.view(1, 1, 1, -1))
    t = F.pad(t, (0, 0, radius, radius), mode="replicate")
    return F.conv2d(t, kernel.view(1, 1, -1, 1))


def lime_weights(
    t_hat: Tensor, strategy: int = 3, sigma: float = 2.0, eps: float = 1e-3
) -> tuple[Tensor, Tensor]:
    """Edge weights ``w_d = W_d / (|grad_d T_hat| + eps)`` of the sped-up LIME solver.

    Args:
        t_hat: ``(B, 1, H, W)`` initial illumination.
        strategy: 1 (``W = 1``), 2 (``W = 1 / (|grad| + eps)``) or 3 (Gaussian-weighted
            gradients, ``W = 1 / (|G_sigma * grad| + eps)``).
        sigma: Gaussian standard deviation for strategy 3, in pixels.
        eps: the paper's small constant.

    Returns:
        ``(w_x, w_y)``, each ``(B, 1, H, W)``: ``w_x[..., j]`` weighs the edge between
        columns ``j`` and ``j + 1`` (zero in the last column), ``w_y`` likewise for rows.
    """
    weights = []
    for dim in (-1, -2):
        grad = _forward_diff(t_hat, dim)
        if strategy == 1:
            big_w = torch.ones_like(grad)
        elif strategy == 2:
            big_w = 1.0 / (grad.abs() + eps)
        elif strategy == 3:
            big_w = 1.0 / (_gaussian_blur(grad, sigma).abs() + eps)
        else:
            raise ConfigError(f"unknown weight strategy {strategy}; choose 1, 2 or 3")
        w = big_w / (grad.abs() + eps)
        # No edge leaves the image: zero the last column (w_x) or row (w_y).
        w = F.pad(w.narrow(dim, 0, w.shape[dim] - 1), (0, 1) if dim == -1 else (0, 0, 0, 1))
        weights.append(w)
    return weights[0], weights[1]


def smoothness_operator(
    t: Tensor, w_x: Tensor, w_y: Tensor, alpha: float, mass: Tensor | float = 1.0
) -> Tensor:
    """``A t = mass * t + alpha * (D_x^T diag(w_x) D_x + D_y^T diag(w_y) D_y) t``.

    Args:
        t: ``(B, K, H, W)`` (``K`` right-hand sides share the weights).
        w_x, w_y: ``(B, 1, H, W)`` edge weights (see :func:`lime_weights`).
        alpha: smoothness weight.
        mass: the identity's weight, ``1`` on the pixel grid, ``(B, 1, H, W)`` pixel counts
            on the coarse grids of the multigrid preconditioner.
    """
    ex = w_x[..., :-1] * t.diff(dim=-1)
    ey = w_y[..., :-1, :] * t.diff(dim=-2)
    # D^T e puts e[j - 1] - e[j] on pixel j.
    dtwd = F.pad(ex, (1, 0)) - F.pad(ex, (0, 1)) + F.pad(ey, (0, 0, 1, 0)) - F.pad(ey, (0, 0, 0, 1))
    return mass * t + alpha * dtwd


def _diagonal(w_x: Tensor, w_y: Tensor, alpha: float, mass: Tensor | float = 1.0) -> Tensor:
    """Diagonal of :func:`smoothness_operator`'s matrix, ``(B, 1, H, W)``."""
    left = F.pad(w_x[..., :-1], (1, 0))
    up = F.pad(w_y[..., :-1, :], (0, 0, 1, 0))
    return mass + alpha * (w_x + left + w_y + up)


def _restrict(r: Tensor) -> Tensor:
    """``P^T r``: sums over 2 x 2 blocks (a last odd row / column forms blocks of 1 or 2)."""
    h, w = r.shape[-2:]
    return F.avg_pool2d(F.pad(r, (0, w % 2, 0, h % 2)), 2) * 4.0


def _prolong(e: Tensor, size: tuple[int, int]) -> Tensor:
    """``P e``: piecewise-constant prolongation of a coarse ``e`` to the fine ``size``."""
    return e.repeat_interleave(2, dim=-2).repeat_interleave(2, dim=-1)[..., : size[0], : size[1]]


@dataclass(frozen=True)
class _Level:
    mass: Tensor | float
    w_x: Tensor
    w_y: Tensor
    inv_diag: Tensor


class _Multigrid:
    """Symmetric V-cycle preconditioner for :func:`smoothness_operator` (aggregation multigrid).

    Coarse grids merge 2 x 2 pixel blocks (piecewise-constant ``P``) with the Galerkin
    operator ``P^T A P``, which is again of the form of :func:`smoothness_operator`:
    block masses add up, and a coarse edge weight is the sum of the fine edges that cross
    between the two blocks. Each level smooths with ``sweeps`` damped-Jacobi sweeps
    before and after the coarse correction; the coarsest grid (longer side at most
    ``coarsest_side``) is solved exactly by a dense Cholesky factorisation in float64.
    """

    def __init__(
        self,
        w_x: Tensor,
        w_y: Tensor,
        alpha: float,
        sweeps: int = 2,
        omega: float = 0.8,
        coarsest_side: int = 16,
    ) -> None:
        self.alpha, self.sweeps, self.omega = alpha, sweeps, omega
        mass: Tensor | float = 1.0
        self.levels = [_Level(mass, w_x, w_y, _diagonal(w_x, w_y, alpha).reciprocal())]
        while max(w_x.shape[-2:]) > coarsest_side:
            h, w = w_x.shape[-2:]
            mass = _restrict(torch.ones_like(w_x) * mass)
            # Horizontal coarse edge (I, J)-(I, J+1) = fine edges at column 2J+1, rows 2I, 2I+1.
            cx = F.pad(w_x, (0, w % 2, 0, h % 2))[..., 1::2]
            cy = F.pad(w_y, (0, w % 2, 0, h % 2))[..., 1::2, :]
            w_x = cx[..., 0::2, :] + cx[..., 1::2, :]
            w_y = cy[..., 0::2] + cy[..., 1::2]
            inv_diag = _diagonal(w_x, w_y, alpha, mass).reciprocal()
            self.levels.append(_Level(mass, w_x, w_y, inv_diag))
        self._factor = self._factorise(self.levels[-1])

    def _factorise(self, level: _Level) -> Tensor:
        b, _, h, w = level.w_x.shape
        n = h * w
        eye = torch.eye(n, dtype=torch.float64, device=level.w_x.device).view(1, n, h, w)
        mass = level.mass if isinstance(level.mass, float) else level.mass.double()
        matrix = smoothness_operator(eye, level.w_x.double(), level.w_y.double(), self.alpha, mass)
        return torch.linalg.cholesky(matrix.reshape(b, n, n))

    def _smooth(self, level: _Level, r: Tensor, x: Tensor | None) -> Tensor:
        """``sweeps`` damped-Jacobi sweeps on ``A x = r`` from ``x`` (``None`` = zero)."""
        for _ in range(self.sweeps):
            if x is None:
                x = self.omega * level.inv_diag * r
            else:
                ax = smoothness_operator(x, level.w_x, level.w_y, self.alpha, level.mass)
                x = x + self.omega * level.inv_diag * (r - ax)
        return r * 0.0 if x is None else x

    def _cycle(self, index: int, r: Tensor) -> Tensor:
        if index == len(self.levels) - 1:
            b, _, h, w = r.shape
            e = torch.cholesky_solve(r.double().reshape(b, h * w, 1), self._factor)
            return e.to(r.dtype).view(b, 1, h, w)
        level = self.levels[index]
        x = self._smooth(level, r, None)
        residual = r - smoothness_operator(x, level.w_x, level.w_y, self.alpha, level.mass)
        x = x + _prolong(self._cycle(index + 1, _restrict(residual)), r.shape[-2:])
        return self._smooth(level, r, x)

    def __call__(self, r: Tensor) -> Tensor:
        return self._cycle(0, r)


def solve_pcg(
    b: Tensor,
    w_x: Tensor,
    w_y: Tensor,
    alpha: float,
    preconditioner: str = "multigrid",
    tol: float = 1e-4,
    max_iter: int = 500,
    x0: Tensor | None = None,
    check_every: int = 5,
) -> tuple[Tensor, SolveInfo]:
    """Solve :func:`smoothness_operator` ``t = b`` by preconditioned conjugate gradients.

    Every image of the batch runs its own CG (own step sizes) and stops updating once
    ``sqrt(r^T M r / r0^T M r0) <= tol`` (the preconditioned residual relative to the
    initial one; with the multigrid ``M`` close to ``A^-1`` this tracks the error in the
    energy norm, and unlike ``||r||`` it is not swamped by float32 rounding times the
    ``~1e6`` weights of flat regions). A batch therefore gives its images' results one by
    one. The loop exits when all have converged (checked every ``check_every``
    iterations, to limit device synchronisation) or after ``max_iter``.

    Args:
        b: ``(B, 1, H, W)`` right-hand side.
        w_x, w_y: ``(B, 1, H, W)`` edge weights from :func:`lime_weights`.
        alpha: smoothness weight.
        preconditioner: ``"multigrid"`` (default, a V-cycle, see :class:`_Multigrid`) or
            ``"jacobi"`` (the diagonal: ~20x more iterations, each ~6x cheaper).
        tol: relative preconditioned residual to stop at.
        max_iter: iteration cap.
        x0: initial guess (default ``b``).
        check_every: iterations between convergence checks.

    Returns:
        the solution ``(B, 1, H, W)`` and a :class:`SolveInfo`.
    """
    batch = b.shape[0]

    def dot(u: Tensor, v: Tensor) -> Tensor:
        return (u * v).flatten(1).sum(dim=1).view(batch, 1, 1, 1)

    if preconditioner == "multigrid":
        precondition = _Multigrid(w_x, w_y, alpha)
    elif preconditioner == "jacobi":
        inv_diag = _diagonal(w_x, w_y, alpha).reciprocal()

        def precondition(r: Tensor) -> Tensor:
            return inv_diag * r
    else:
        raise ConfigError(f"unknown preconditioner '{preconditioner}'; choose multigrid or jacobi")

    x = b.clone() if x0 is None else x0.clone()
    r = b - smoothness_operator(x, w_x, w_y, alpha)
    z = precondition(r)
    p = z
    rz = dot(r, z)
    rz0 = rz.clamp(min=torch.finfo(b.dtype).tiny)
    active = rz > tol**2 * rz0
    iterations = torch.zeros(batch, dtype=torch.int64, device=b.device)
    done = 0
    while done < max_iter:
        if done % check_every == 0 and not bool(active.any()):
            break
        ap = smoothness_operator(p, w_x, w_y, alpha)
        p_ap = dot(p, ap)
        step = torch.where(active & (p_ap > 0), rz / p_ap.clamp(min=1e-30), 0.0)
        x = x + step * p
        r = r - step * ap
        z = precondition(r)
        rz_new = dot(r, z)
        beta = torch.where(active & (rz > 0), rz_new / rz.clamp(min=1e-30), 0.0)
        p = z + beta * p
        iterations += active.flatten().to(torch.int64)
        rz = torch.where(active, rz_new, rz)
        active = active & (rz > tol**2 * rz0)
        done += 1
    relative = (rz.clamp(min=0) / rz0).sqrt().flatten()
    return x, SolveInfo(iterations, relative)


def refine_illumination(
    t_hat: Tensor,
    alpha: float = 0.15,
    strategy: int = 3,
    sigma: float = 2.0,
    eps: float = 1e-3,
    preconditioner: str = "multigrid",
    tol: float = 1e-4,
    max_iter: int = 500,
) -> Tensor:
    """LIME's structure-aware illumination refinement (the paper's sped-up solver).

    Args:
        t_hat: ``(B, 1, H, W)`` initial illumination in ``[0, 1]``.
        alpha, strategy, sigma, eps: see :class:`LIME`.
        preconditioner, tol, max_iter: PCG set-up (see :func:`solve_pcg`).

    Returns:
        ``(B, 1, H, W)`` refined illumination in ``[0, 1]``.
    """
    w_x, w_y = lime_weights(t_hat, strategy, sigma, eps)
    t, _ = solve_pcg(t_hat, w_x, w_y, alpha, preconditioner, tol, max_iter)
    return t.clamp(0.0, 1.0)


@MODELS.register(
    "lime",
    kind="classical",
    paper="Guo, Li, Ling, 'LIME: Low-Light Image Enhancement via Illumination Map Estimation', IEEE TIP 2017 (arXiv:1605.05034)",
    summary="Retinex: max-RGB illumination refined by structure-aware smoothing (PCG), R = I / T^0.8.",
    default_weights=None,
)
class LIME(EnhancementModel):
    """LIME with the paper's sped-up solver (see the module docstring).

    Args:
        alpha: smoothness weight (paper: ``0.15``).
        gamma: illumination gamma ``T ** gamma`` (paper: ``0.8``).
        sigma: Gaussian sigma of weight strategy 3, in pixels of the solved map (paper: ``2``).
        eps: small constant in the weights and the division floor (paper: ``1e-3``).
        strategy: weight strategy 1, 2 or 3 (default 3).
        solve_max_side: longer side of the map the illumination is solved on (default
            ``512``); ``None`` solves at full resolution.
        preconditioner: ``"multigrid"`` (default) or ``"jacobi"`` for the PCG solve.
        tol: PCG tolerance on the relative preconditioned residual (default ``1e-4``).
        max_iter: PCG iteration cap (default ``500``; Jacobi needs ~1500 at 512 px).

    Shape:
        - Input: ``(B, 3, H, W)`` in ``[0, 1]``.
        - Output: ``(B, 3, H, W)`` in ``[0, 1]``.
    """

    tileable = True

    def __init__(
        self,
        alpha: float = 0.15,
        gamma: float = 0.8,
        sigma: float = 2.0,
        eps: float = 1e-3,
        strategy: int = 3,
        solve_max_side: int | None = 512,
        preconditioner: str = "multigrid",
        tol: float = 1e-4,
        max_iter: int = 500,
    ) -> None:
        super().__init__()
        if not alpha >= 0:
            raise ConfigError(f"alpha must be >= 0, got {alpha}")
        if not gamma > 0:
            raise ConfigError(f"gamma must be > 0, got {gamma}")
        if not sigma > 0:
            raise ConfigError(f"sigma must be > 0, got {sigma}")
        if not 0 < eps < 1:
            raise ConfigError(f"eps must be in (0, 1), got {eps}")
        if strategy not in (1, 2, 3):
            raise ConfigError(f"strategy must be 1, 2 or 3, got {strategy}")
        if solve_max_side is not None and int(solve_max_side) < 1:
            raise ConfigError(
                f"solve_max_side must be a positive int or None, got {solve_max_side}"
            )
        if preconditioner not in ("multigrid", "jacobi"):
            raise ConfigError(
                f"preconditioner must be 'multigrid' or 'jacobi', got {preconditioner!r}"
            )
        if not tol > 0:
            raise ConfigError(f"tol must be > 0, got {tol}")
        if int(max_iter) < 0:
            raise ConfigError(f"max_iter must be >= 0, got {max_iter}")
        self.alpha = float(alpha)
        self.gamma = float(gamma)
        self.sigma = float(sigma)
        self.eps = float(eps)
        self.strategy = int(strategy)
        self.solve_max_side = None if solve_max_side is None else int(solve_max_side)
        self.preconditioner = preconditioner
        self.tol = float(tol)
        self.max_iter = int(max_iter)

    def estimate_context(self, x: Tensor) -> Context:
        """``{"illumination": (B, 1, h, w)}``: the refined map of the whole (downscaled) image."""
        t_hat = x.clamp(0.0, 1.0).amax(dim=1, keepdim=True)
        if self.solve_max_side is not None:
            t_hat = downscale_to_max_side(t_hat, self.solve_max_side)
        t = refine_illumination(
            t_hat,
            self.alpha,
            self.strategy,
            self.sigma,
            self.eps,
            self.preconditioner,
            self.tol,
            self.max_iter,
        )
        return {"illumination": t}

    def enhance_tensor(self, x: Tensor, context: Context | None = None) -> Tensor:
        if context is None or "illumination" not in context:
            context = self.estimate_context(x)
        t = context["illumination"].to(dtype=x.dtype, device=x.device)
        if t.shape[-2:] != x.shape[-2:]:
            t = F.interpolate(t, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return x / (t.clamp(0.0, 1.0) ** self.gamma).clamp(min=self.eps)

    def extra_repr(self) -> str:
        return (
            f"alpha={self.alpha}, gamma={self.gamma}, sigma={self.sigma}, eps={self.eps}, "
            f"strategy={self.strategy}, solve_max_side={self.solve_max_side}, "
            f"preconditioner={self.preconditioner}, tol={self.tol}, max_iter={self.max_iter}"
        )
