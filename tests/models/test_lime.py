"""LIME: the sparse system against scipy, the PCG solvers, the model's contract and context."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lowlight.api import build
from lowlight.errors import ConfigError
from lowlight.models.lime import (
    LIME,
    _Multigrid,
    lime_weights,
    refine_illumination,
    smoothness_operator,
    solve_pcg,
)
from lowlight.registry import MODELS

ALPHA = 0.15


def _illumination(
    h: int, w: int, seed: int = 0, dtype: torch.dtype = torch.float64
) -> torch.Tensor:
    """A dark ``(1, 1, h, w)`` map with flat regions, edges and noise."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(
        torch.arange(h, dtype=dtype), torch.arange(w, dtype=dtype), indexing="ij"
    )
    t = 0.1 + 0.05 * torch.sin(xx / 4.0) + 0.02 * torch.rand(h, w, generator=g, dtype=dtype)
    t[h // 4 : h // 2, w // 3 :] += 0.4
    return t.clamp(0, 1).view(1, 1, h, w)


def _sparse_matrix(w_x: torch.Tensor, w_y: torch.Tensor, alpha: float):
    """The paper's ``I + alpha * sum_d D_d^T diag(w_d) D_d`` assembled with scipy."""
    sparse = pytest.importorskip("scipy.sparse")
    h, w = w_x.shape[-2:]
    idx = np.arange(h * w).reshape(h, w)
    wx, wy = w_x[0, 0].double().numpy(), w_y[0, 0].double().numpy()
    d_x = sparse.coo_matrix(
        (
            np.r_[-np.ones(h * (w - 1)), np.ones(h * (w - 1))],
            (
                np.r_[np.arange(h * (w - 1)), np.arange(h * (w - 1))],
                np.r_[idx[:, :-1].ravel(), idx[:, 1:].ravel()],
            ),
        ),
        shape=(h * (w - 1), h * w),
    )
    d_y = sparse.coo_matrix(
        (
            np.r_[-np.ones((h - 1) * w), np.ones((h - 1) * w)],
            (
                np.r_[np.arange((h - 1) * w), np.arange((h - 1) * w)],
                np.r_[idx[:-1].ravel(), idx[1:].ravel()],
            ),
        ),
        shape=((h - 1) * w, h * w),
    )
    matrix = sparse.identity(h * w) + alpha * (
        d_x.T @ sparse.diags(wx[:, :-1].ravel()) @ d_x + d_y.T @ sparse.diags(wy[:-1].ravel()) @ d_y
    )
    return matrix.tocsc()


class TestSystem:
    def test_operator_matches_sparse_matrix(self):
        t_hat = _illumination(11, 17)
        w_x, w_y = lime_weights(t_hat)
        matrix = _sparse_matrix(w_x, w_y, ALPHA)
        v = torch.rand(1, 1, 11, 17, dtype=torch.float64)
        ours = smoothness_operator(v, w_x, w_y, ALPHA).flatten().numpy()
        np.testing.assert_allclose(ours, matrix @ v.flatten().numpy(), rtol=1e-10, atol=1e-6)
        assert abs(matrix - matrix.T).max() == 0

    def test_weights_strategies(self):
        t_hat = _illumination(9, 13)
        grad_x = F.pad(t_hat.diff(dim=-1), (0, 1))
        w1, _ = lime_weights(t_hat, strategy=1, eps=1e-3)
        w2, _ = lime_weights(t_hat, strategy=2, eps=1e-3)
        w3, w3y = lime_weights(t_hat, strategy=3, eps=1e-3)
        inner = (..., slice(None, -1))
        assert torch.allclose(w1[inner], 1 / (grad_x.abs() + 1e-3)[inner])
        assert torch.allclose(w2[inner], 1 / (grad_x.abs() + 1e-3)[inner] ** 2)
        # No edge leaves the image; weights are positive and at most 1 / eps^2.
        for w in (w1, w2, w3):
            assert (w[..., -1] == 0).all() and (w[inner] > 0).all() and w.max() <= 1e6 + 1e-6
        assert (w3y[..., -1, :] == 0).all()
        with pytest.raises(ConfigError):
            lime_weights(t_hat, strategy=4)

    @pytest.mark.parametrize("preconditioner, tol", [("multigrid", 1e-8), ("jacobi", 1e-8)])
    @pytest.mark.parametrize("size", [(23, 37), (40, 29)])
    def test_pcg_matches_direct_solve(self, preconditioner, tol, size):
        linalg = pytest.importorskip("scipy.sparse.linalg")
        t_hat = _illumination(*size, seed=size[0])
        w_x, w_y = lime_weights(t_hat)
        ref = linalg.spsolve(_sparse_matrix(w_x, w_y, ALPHA), t_hat.flatten().numpy())
        t, info = solve_pcg(t_hat, w_x, w_y, ALPHA, preconditioner, tol=tol, max_iter=5000)
        assert info.relative_residual.item() <= tol
        np.testing.assert_allclose(t.flatten().numpy(), ref, atol=1e-6)

    def test_multigrid_needs_far_fewer_iterations(self):
        t_hat = _illumination(48, 64)
        w_x, w_y = lime_weights(t_hat)
        _, mg = solve_pcg(t_hat, w_x, w_y, ALPHA, "multigrid", tol=1e-6)
        _, jac = solve_pcg(t_hat, w_x, w_y, ALPHA, "jacobi", tol=1e-6, max_iter=5000)
        assert 0 < mg.iterations.item() * 3 < jac.iterations.item()

    def test_multigrid_is_symmetric_positive(self):
        t_hat = _illumination(37, 45)
        w_x, w_y = lime_weights(t_hat)
        m = _Multigrid(w_x, w_y, ALPHA)
        assert len(m.levels) > 2
        u, v = torch.rand(2, 1, 1, 37, 45, dtype=torch.float64)
        assert (u * m(v)).sum().item() == pytest.approx((v * m(u)).sum().item(), rel=1e-9)
        assert (u * m(u)).sum().item() > 0

    def test_solution_within_range_and_constant_exact(self):
        t_hat = _illumination(20, 30)
        t = refine_illumination(t_hat)
        assert t.min() >= t_hat.min() - 1e-4 and t.max() <= t_hat.max() + 1e-4
        flat = torch.full((1, 1, 12, 12), 0.2, dtype=torch.float64)
        w_x, w_y = lime_weights(flat)
        out, info = solve_pcg(flat, w_x, w_y, ALPHA)
        assert info.iterations.item() == 0 and torch.equal(out, flat)

    def test_batch_images_solved_independently(self):
        t_hat = torch.cat(
            [_illumination(24, 32, seed=s) * f for s, f in [(0, 1.0), (1, 0.3), (2, 2.0)]]
        )
        t_hat[2] = 0.0  # an all-black map converges at once
        w_x, w_y = lime_weights(t_hat)
        batched, info = solve_pcg(t_hat, w_x, w_y, ALPHA)
        assert info.iterations.shape == (3,) and info.iterations[2] == 0
        for i in range(3):
            single, single_info = solve_pcg(t_hat[i : i + 1], w_x[i : i + 1], w_y[i : i + 1], ALPHA)
            assert single_info.iterations.item() == info.iterations[i].item()
            assert torch.allclose(batched[i : i + 1], single, atol=1e-10)

    def test_float32_solve_close_to_float64(self):
        t_hat = _illumination(30, 40)
        t64 = refine_illumination(t_hat)
        t32 = refine_illumination(t_hat.float())
        assert t32.dtype == torch.float32
        assert (t32.double() - t64).abs().max() < 2e-3


class TestModel:
    def test_brightens_and_follows_retinex(self, dark_image):
        x = torch.from_numpy(dark_image).permute(2, 0, 1)[None].double()
        model = LIME(solve_max_side=None)
        t = model.estimate_context(x)["illumination"]
        y = model(x)
        assert y.mean() > 2 * x.mean()
        expected = (x / (t**0.8).clamp(min=1e-3)).clamp(0, 1)
        assert torch.allclose(y, expected)

    def test_paper_defaults(self):
        model = LIME()
        assert (model.alpha, model.gamma, model.sigma, model.eps) == (0.15, 0.8, 2.0, 1e-3)
        assert model.strategy == 3 and model.solve_max_side == 512 and LIME.tileable

    def test_context_is_downscaled_and_used(self):
        x = torch.rand(1, 3, 60, 90) * 0.3
        model = LIME(solve_max_side=32)
        context = model.estimate_context(x)
        assert context["illumination"].shape == (1, 1, 21, 32)
        full = model(x)
        # A tile given the whole image's map (upsampled and cropped as tiling does) agrees.
        big = F.interpolate(
            context["illumination"], size=(60, 90), mode="bilinear", align_corners=False
        )
        tile = model(x[..., 10:40, 20:70], {"illumination": big[..., 10:40, 20:70]})
        assert torch.allclose(tile, full[..., 10:40, 20:70], atol=1e-6)
        # A given map is what divides the image.
        flat = model(x, {"illumination": torch.full((1, 1, 5, 5), 0.5)})
        assert torch.allclose(flat, (x / 0.5**0.8).clamp(0, 1), atol=1e-6)

    def test_sizes_dtypes_batch(self):
        model = LIME()
        for size in [(1, 1), (37, 53), (2, 700)]:
            x = torch.rand(2, 3, *size) * 0.3
            y = model(x)
            assert y.shape == x.shape and torch.isfinite(y).all()
            assert y.min() >= 0 and y.max() <= 1
            single = torch.cat([model(x[i : i + 1]) for i in range(2)])
            assert torch.allclose(y, single, atol=1e-5)
        x64 = torch.rand(1, 3, 16, 24, dtype=torch.float64) * 0.2
        assert model(x64).dtype == torch.float64

    @pytest.mark.parametrize("strategy", [1, 2])
    def test_other_strategies_and_jacobi(self, strategy):
        x = torch.rand(1, 3, 24, 32) * 0.3
        ref = LIME(strategy=strategy, tol=1e-6)(x)
        jac = LIME(strategy=strategy, preconditioner="jacobi", tol=1e-6, max_iter=5000)(x)
        assert torch.allclose(ref, jac, atol=5e-3)

    def test_black_and_white(self):
        model = LIME()
        assert torch.equal(model(torch.zeros(1, 3, 9, 9)), torch.zeros(1, 3, 9, 9))
        assert torch.allclose(model(torch.ones(1, 3, 9, 9)), torch.ones(1, 3, 9, 9))

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"alpha": -1.0},
            {"gamma": 0.0},
            {"sigma": 0.0},
            {"eps": 0.0},
            {"strategy": 4},
            {"solve_max_side": 0},
            {"preconditioner": "ilu"},
            {"tol": 0.0},
            {"max_iter": -1},
        ],
    )
    def test_bad_config(self, kwargs):
        with pytest.raises(ConfigError):
            LIME(**kwargs)

    def test_registered(self):
        meta = MODELS.get("lime").meta
        assert meta["kind"] == "classical" and "1605.05034" in meta["paper"]
        model = build("lime", gamma=0.7)
        assert isinstance(model, LIME) and model.gamma == 0.7
