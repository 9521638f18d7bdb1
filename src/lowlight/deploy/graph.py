"""Export-friendly forwards: the same computation as ``model(x)``, written without Python
branches on the image size, so a traced graph (ONNX, ``torch.export``) is right at every
``H, W`` and not only at the size it was traced with.

Why a separate forward: :func:`lowlight.layers.padding.pad_to_multiple` returns early when
no padding is needed, and LucentVisionNet picks its curve-estimation size with ``if``s and
``round``; a tracer records whichever branch the example image took, so an export traced
at 64x96 pads nothing at 67x101 (MIRNet then fails on mismatched skip connections and
LucentVisionNet silently estimates curves on an unpadded image). Here:

* padding is always applied (amounts ``(-H) mod m`` that may be 0) as index gathers that
  reflect, or replicate where the eager path switches to it (a pad not shorter than its
  side), so the graph takes any ``H, W >= 1``;
* LucentVisionNet's area downscale (``F.interpolate(mode="area")`` =
  ``adaptive_avg_pool2d``) is two averaging matrices built from the symbolic sizes, with
  the exact start/end indices of ``adaptive_avg_pool2d``; the estimation size follows
  :func:`lowlight.models.lucent.curve_estimation_size` with ``min``/``max`` instead of ``if``;
* gamma's median luma is a sort and an index (ONNX has no median operator).
* NaLSuper's cross-attention runs all queries at once (eager runs 4096 at a time to bound
  memory; the result is the same, but a loop over chunks would be unrolled at the traced
  size): memory grows as ``H * W * tokens * heads``, so run large images in tiles.

LIME (a preconditioned conjugate-gradient solve with a data-dependent number of steps and a
float64 Cholesky factor) and CLAHE (per-tile histograms) are not exported:
:func:`export_graph` raises :class:`~lowlight.errors.ConfigError` naming the reason.
"""

from __future__ import annotations

import copy
from fractions import Fraction

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lowlight.errors import ConfigError
from lowlight.models.base import EnhancementModel

__all__ = ["DTYPES", "ExportGraph", "area_resize", "export_graph", "min_side", "pad_always"]

DTYPES: dict[str, torch.dtype] = {
    "float32": torch.float32,
    "bfloat16": torch.bfloat16,
    "float16": torch.float16,
}

NOT_EXPORTABLE: dict[str, str] = {
    "LIME": "its illumination is solved by preconditioned conjugate gradients with a "
    "data-dependent number of iterations and a float64 Cholesky factor, which ONNX cannot express",
    "CLAHE": "its per-tile histograms and clip-limit redistribution have no ONNX equivalent",
}


def _pad_index(n: int, total: int, replicate: Tensor, device: torch.device) -> Tensor:
    """Source indices ``(total,)`` of a bottom/right pad from ``n`` to ``total``: reflect
    (``n-2, n-3, ...``), or replicate (``n-1``) where ``replicate`` (a 0-d bool) is set."""
    i = torch.arange(total, device=device)
    reflected = torch.where(i < n, i, 2 * (n - 1) - i).clamp(min=0)
    return torch.where(replicate, i.clamp(max=n - 1), reflected)


def pad_always(x: Tensor, multiple: int) -> Tensor:
    """:func:`lowlight.layers.padding.pad_to_multiple` without branches on the size: pad the
    bottom and right of ``(B, C, H, W)`` to multiples of ``multiple`` by reflection, or by
    replication when a pad is not shorter than its side (as the eager path falls back),
    as two index gathers (a pad of 0 gathers every row once). The padded sides are written
    ``m * ceil(H / m)`` so a tracer can prove they divide by ``m``."""
    if multiple == 1:
        return x
    height, width = x.shape[-2], x.shape[-1]
    total_h = multiple * ((height + multiple - 1) // multiple)
    total_w = multiple * ((width + multiple - 1) // multiple)
    sides = torch.tensor([height, width], device=x.device)
    pads = torch.tensor([total_h - height, total_w - width], device=x.device)
    replicate = (pads >= sides).any()
    rows = _pad_index(height, total_h, replicate, x.device)
    cols = _pad_index(width, total_w, replicate, x.device)
    return x.index_select(-2, rows).index_select(-1, cols)


def _area_matrix(n_in: int, n_out: int, device: torch.device, dtype: torch.dtype) -> Tensor:
    """``(n_out, n_in)`` averaging weights of ``adaptive_avg_pool1d`` (rows sum to 1)."""
    i = torch.arange(n_out, device=device)
    start = torch.div(i * n_in, n_out, rounding_mode="floor")
    end = torch.div((i + 1) * n_in + n_out - 1, n_out, rounding_mode="floor")
    j = torch.arange(n_in, device=device)
    inside = (j[None, :] >= start[:, None]) & (j[None, :] < end[:, None])
    return inside.to(dtype) / (end - start).to(dtype)[:, None]


def area_resize(x: Tensor, size: tuple[int, int]) -> Tensor:
    """``F.interpolate(x, size, mode="area")`` as two matrix products (traceable with
    symbolic sizes; the identity when ``size`` is the input's).

    Args:
        x: ``(B, C, H, W)``.
        size: ``(h, w)``, each at most the input's side.

    Returns:
        ``(B, C, h, w)``.
    """
    rows = _area_matrix(x.shape[-2], size[0], x.device, x.dtype)
    cols = _area_matrix(x.shape[-1], size[1], x.device, x.dtype)
    return rows @ x @ cols.transpose(0, 1)


def min_side(model: EnhancementModel) -> int:
    """Smallest ``H`` and ``W`` the exported graph accepts (1: padding falls back as eager)."""
    return 1


class ExportGraph(nn.Module):
    """``model(x)`` as a branch-free graph on a CPU copy of ``model``, computed in ``dtype``
    with float32 input and output.

    Shape:
        - Input: ``(B, 3, H, W)`` float32 in ``[0, 1]``, any ``H, W``.
        - Output: ``(B, 3, H, W)`` float32 in ``[0, 1]``.
    """

    def __init__(self, model: EnhancementModel, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        prompt = getattr(model, "prompt_embedding", None)
        if prompt is not None:  # encode a pending prompt now: the graph cannot branch on it
            prompt.ensure()
        self.model = copy.deepcopy(model).to("cpu", dtype).eval()  # the caller's model is kept
        for module in self.model.modules():
            if type(module).__name__ == "TextCrossAttention":
                module.chunk = None  # a loop over query chunks would be unrolled at the traced size
        self.dtype = dtype

    def forward(self, x: Tensor) -> Tensor:
        x = x.to(self.dtype)
        y = _enhance(self.model, x)
        return y.clamp(0.0, 1.0).to(torch.float32)


def _enhance(model: EnhancementModel, x: Tensor) -> Tensor:
    from lowlight.models.gamma import GammaCorrection
    from lowlight.models.lucent import LucentVisionNet

    if isinstance(model, LucentVisionNet):
        return _lucent(model, x)
    if isinstance(model, GammaCorrection):
        return _gamma(model, x)
    height, width = x.shape[-2], x.shape[-1]
    y = model.enhance_tensor(pad_always(x, int(model.pad_multiple)))
    return y[..., :height, :width]


def _round_ratio(p: int, q: int) -> int:
    """``round(p / q)`` (half to even, as Python's ``round``) in integer arithmetic only, so
    it traces with symbolic ``p`` and ``q > 0`` and needs no float op in the graph."""
    # numerators stay >= 0: ONNX's integer Div truncates, Python's // floors
    up = (2 * p + q) // (2 * q)  # ties rounded up
    down = (2 * p + q - 1) // (2 * q)  # ties rounded down
    return down + (up - down) * (1 - up % 2)  # at a tie, the even one


def _lucent_size(model: nn.Module, height: int, width: int) -> tuple[int, int]:
    """:func:`~lowlight.models.lucent.curve_estimation_size` without branches on the size:
    the smallest of the sizes at scale 1, ``1 / curve_scale_factor`` and
    ``curve_max_side / max(H, W)`` (rounding is monotone, so this is the size at the
    smallest scale), computed as exact ratios of integers."""
    if model.curve_scale_factor == 1.0 and model.curve_max_side is None:
        return height, width
    longest = torch.sym_max(height, width)
    factor = Fraction(model.curve_scale_factor).limit_denominator(1000)
    sizes = []
    for side in (height, width):
        size = side
        if factor != 1:
            size = torch.sym_min(size, _round_ratio(side * factor.denominator, factor.numerator))
        if model.curve_max_side is not None:
            size = torch.sym_min(size, _round_ratio(side * model.curve_max_side, longest))
        sizes.append(torch.sym_max(1, size))
    return sizes[0], sizes[1]


def _lucent(model: nn.Module, x: Tensor) -> Tensor:
    from lowlight.models.lucent import apply_curves

    height, width = x.shape[-2], x.shape[-1]
    small = area_resize(x, _lucent_size(model, height, width))
    h, w = small.shape[-2], small.shape[-1]
    padded = pad_always(small, model._multiple)
    full = padded.shape[-2:]
    features = []
    for scale, stream in zip(model.scales, model.streams, strict=True):
        feat = stream(padded if scale == 1 else F.avg_pool2d(padded, scale))
        if scale != 1:
            feat = F.interpolate(feat, size=full, mode="bilinear", align_corners=False)
        features.append(feat)
    fused = model.fusion(torch.cat(features, dim=1) if len(features) > 1 else features[0])
    curves = model.head(model.attention(fused))[..., :h, :w]
    curves = F.interpolate(curves, size=(height, width), mode="bilinear", align_corners=False)
    return apply_curves(x, curves, model.iterations)


def _gamma(model: nn.Module, x: Tensor) -> Tensor:
    from lowlight.color import luma
    from lowlight.models.gamma import apply_gamma

    gamma: Tensor | float
    if model.gamma is not None:
        gamma = model.gamma
    else:
        flat = luma(x.clamp(0.0, 1.0), model.luma_standard).flatten(1)
        if model.statistic == "median":  # torch.median: the lower of the two middle values
            ordered = flat.sort(dim=1).values
            stat = ordered[:, (flat.shape[1] - 1) // 2]
        elif model.statistic == "mean":
            stat = flat.mean(dim=1)
        else:
            stat = flat.clamp(min=model.eps).log().mean(dim=1).exp()
        stat = stat.clamp(model.eps, 1.0 - model.eps)
        gamma = (stat.log() / torch.log(torch.tensor(model.target, dtype=stat.dtype))).clamp(
            *model.gamma_range
        )
        gamma = gamma.view(-1, 1, 1, 1)
    return apply_gamma(x, gamma, model.mode, model.luma_standard, model.eps)


def export_graph(model: EnhancementModel, dtype: str = "float32") -> ExportGraph:
    """Wrap ``model`` for export in ``dtype`` (``float32``, ``bfloat16`` or ``float16``).

    Raises:
        ConfigError: the model cannot be expressed as a graph (LIME, CLAHE), or the dtype
            is unknown.
    """
    kind = type(model).__name__
    for name, reason in NOT_EXPORTABLE.items():
        if kind.upper().startswith(name):
            raise ConfigError(f"{kind} cannot be exported: {reason}")
    if dtype not in DTYPES:
        raise ConfigError(f"unknown dtype '{dtype}'; choose one of {list(DTYPES)}")
    return ExportGraph(model, DTYPES[dtype])
