"""CLAHE: contrast-limited adaptive histogram equalisation on lightness.

Paper: K. Zuiderveld, "Contrast Limited Adaptive Histogram Equalization", Graphics
Gems IV, Academic Press, 1994 (no arXiv id). The operator follows OpenCV's
``cv2.createCLAHE(clipLimit, tileGridSize)`` exactly in these respects:

* a ``rows x cols`` grid of tiles (default 8 x 8) with ``nbins`` histogram bins
  (default 256, values quantised as ``round(v * (nbins - 1))``);
* the clip limit is in OpenCV's units: a bin holds at most
  ``max(int(clip_limit * tile_pixels / nbins), 1)`` counts (default ``clip_limit=2.0``;
  ``0`` disables clipping, i.e. plain AHE); the clipped excess is spread evenly over
  all bins, and the remainder one count per bin at a stride of ``nbins // remainder``
  from bin 0, as OpenCV does;
* the tile mapping is the clipped histogram's cumulative sum over the tile's pixel count;
* each pixel's output interpolates bilinearly the mappings of the four nearest tile
  centres, at OpenCV's coordinates ``x / tile_width - 0.5`` (edges clamp to the nearest
  tile);
* images whose sides are not multiples of the grid are reflect-101 padded at the bottom
  and right before the histograms are taken; the output covers the original pixels.

Choices made here:

* CLAHE runs on CIE Lab ``L`` (D65, :func:`lowlight.color.rgb_to_lab`), the common
  colour recipe ("convert to Lab, equalise L, convert back"); ``a, b`` are kept.
  ``space="ycbcr"`` (full-range BT.601 ``Y``, ``Cb, Cr`` kept) and ``space="hsv"``
  (the value channel, RGB scaled by ``V' / V`` as scikit-image's colour path) are options;
* the mappings stay in floating point (OpenCV rounds its LUT and output to 8 bits);
* padding adds only what reaches the next multiple (OpenCV adds a whole extra tile on a
  side that already divides when the other side does not), and the grid is reduced to at
  most the image size so that no tile is made of padding only. Tiles of a pixel or two
  (images under ~16 px with the default grid) degenerate exactly as in OpenCV;
* an optional global gamma pre-brightening (``pre_gamma``, off by default: the default is
  the plain operator, as reported in the LLIE literature);
* scikit-image's ``equalize_adapthist(clip_limit=c)`` counts its limit as a fraction of
  the tile's pixels (``c * tile_pixels``), so OpenCV's ``2.0`` is ``2.0 / nbins``
  (``0.0078`` for 256 bins) there; it also redistributes iteratively, pads half a tile
  on every side and rescales its output to the full range, so results correlate but differ.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from lowlight.color import hsv_value, lab_to_rgb, luma, rgb_to_lab, rgb_to_ycbcr, ycbcr_to_rgb
from lowlight.errors import ConfigError
from lowlight.models.base import Context, EnhancementModel
from lowlight.models.gamma import apply_gamma, auto_gamma
from lowlight.registry import MODELS

__all__ = ["CLAHE", "clahe"]

_SPACES = ("lab", "ycbcr", "hsv")


def _pad_bottom_right(x: Tensor, pad_h: int, pad_w: int) -> Tensor:
    if pad_h == 0 and pad_w == 0:
        return x
    h, w = x.shape[-2:]
    mode = "reflect" if pad_h < h and pad_w < w else "replicate"
    return F.pad(x, (0, pad_w, 0, pad_h), mode=mode)


def _clip_and_redistribute(hist: Tensor, limit: int) -> Tensor:
    """Clip ``(N, nbins)`` integer histograms at ``limit`` and spread the excess (OpenCV)."""
    nbins = hist.shape[1]
    excess = (hist - limit).clamp(min=0).sum(dim=1, keepdim=True)
    hist = hist.clamp(max=limit)
    per_bin = excess // nbins
    residual = excess - per_bin * nbins
    step = (nbins // residual.clamp(min=1)).clamp(min=1)
    index = torch.arange(nbins, device=hist.device).unsqueeze(0)
    extra = (index % step == 0) & (index // step < residual)
    return hist + per_bin + extra.to(hist.dtype)


def clahe(
    channel: Tensor,
    clip_limit: float = 2.0,
    tile_grid: tuple[int, int] = (8, 8),
    nbins: int = 256,
) -> Tensor:
    """Contrast-limited adaptive histogram equalisation of one channel (OpenCV semantics).

    Args:
        channel: ``(B, 1, H, W)`` in ``[0, 1]``.
        clip_limit: OpenCV's ``clipLimit`` (bin cap ``clip_limit * tile_pixels / nbins``);
            ``0`` disables clipping.
        tile_grid: ``(rows, cols)`` of tiles (OpenCV's ``tileGridSize`` is ``(cols, rows)``).
        nbins: histogram bins (256 matches 8-bit OpenCV).

    Returns:
        ``(B, 1, H, W)`` in ``[0, 1]``, same dtype as ``channel``.
    """
    if channel.ndim != 4 or channel.shape[1] != 1:
        raise ValueError(f"expected a (B, 1, H, W) channel, got {tuple(channel.shape)}")
    b, _, h, w = channel.shape
    rows, cols = min(int(tile_grid[0]), h), min(int(tile_grid[1]), w)
    device, dtype = channel.device, channel.dtype

    levels = (channel.clamp(0.0, 1.0) * (nbins - 1)).round().to(torch.int64)
    padded = _pad_bottom_right(levels.to(dtype), (-h) % rows, (-w) % cols)
    padded = padded.round().to(torch.int64)[:, 0]  # (B, Hp, Wp)
    tile_h, tile_w = padded.shape[1] // rows, padded.shape[2] // cols
    tile_pixels = tile_h * tile_w

    # Histograms of every tile of every image in one bincount over (image, tile, bin) ids.
    tile_row = torch.arange(padded.shape[1], device=device) // tile_h
    tile_col = torch.arange(padded.shape[2], device=device) // tile_w
    tile_id = tile_row[:, None] * cols + tile_col[None, :]
    image_id = torch.arange(b, device=device)[:, None, None] * (rows * cols)
    ids = (image_id + tile_id) * nbins + padded
    hist = torch.bincount(ids.flatten(), minlength=b * rows * cols * nbins)
    hist = hist.view(b * rows * cols, nbins)

    if clip_limit > 0:
        limit = max(int(clip_limit * tile_pixels / nbins), 1)
        hist = _clip_and_redistribute(hist, limit)
    luts = (hist.cumsum(dim=1).to(dtype) / tile_pixels).view(b, rows * cols * nbins)

    # Bilinear interpolation between the four nearest tile centres (OpenCV coordinates).
    def axis(n: int, size: float, count: int) -> tuple[Tensor, Tensor, Tensor]:
        pos = torch.arange(n, device=device, dtype=dtype) / size - 0.5
        low = pos.floor()
        frac = pos - low
        low = low.to(torch.int64)
        return low.clamp(min=0), (low + 1).clamp(max=count - 1), frac

    y1, y2, fy = axis(h, float(tile_h), rows)
    x1, x2, fx = axis(w, float(tile_w), cols)
    level = levels[:, 0].flatten(1)  # (B, H * W)

    def mapped(ty: Tensor, tx: Tensor) -> Tensor:
        tile = (ty[:, None] * cols + tx[None, :]).flatten()
        return luts.gather(1, tile * nbins + level)

    fx_ = fx.repeat(h)
    fy_ = fy.repeat_interleave(w)
    top = mapped(y1, x1) * (1 - fx_) + mapped(y1, x2) * fx_
    bottom = mapped(y2, x1) * (1 - fx_) + mapped(y2, x2) * fx_
    out = top * (1 - fy_) + bottom * fy_
    return out.view(b, 1, h, w)


@MODELS.register(
    "clahe",
    kind="classical",
    paper="Zuiderveld, 'Contrast Limited Adaptive Histogram Equalization', Graphics Gems IV, 1994",
    summary="OpenCV-style CLAHE (clip 2.0, 8x8 tiles, 256 bins) on CIE Lab L.",
    default_weights=None,
)
class CLAHE(EnhancementModel):
    """CLAHE on a lightness channel (OpenCV semantics; see the module docstring).

    Args:
        clip_limit: OpenCV ``clipLimit`` (default ``2.0``; ``0`` = no clipping).
        tile_grid: ``(rows, cols)`` (default ``(8, 8)``).
        nbins: histogram bins (default ``256``).
        space: ``"lab"`` (default, CIE L), ``"ycbcr"`` (full-range BT.601 Y) or ``"hsv"`` (V).
        pre_gamma: ``None`` (default, plain CLAHE), a fixed gamma ``> 0`` (luma curve
            ``Y ** (1 / gamma)`` before CLAHE), or ``"auto"``: brighten only, with the gamma
            that maps median luma to 0.45 (:func:`lowlight.models.gamma.auto_gamma`,
            clamped to ``[1, 5]``).

    Shape:
        - Input: ``(B, 3, H, W)`` in ``[0, 1]``.
        - Output: ``(B, 3, H, W)`` in ``[0, 1]``.
    """

    tileable = False

    def __init__(
        self,
        clip_limit: float = 2.0,
        tile_grid: tuple[int, int] = (8, 8),
        nbins: int = 256,
        space: str = "lab",
        pre_gamma: float | str | None = None,
    ) -> None:
        super().__init__()
        if not clip_limit >= 0:
            raise ConfigError(f"clip_limit must be >= 0, got {clip_limit}")
        rows, cols = (int(v) for v in tile_grid)
        if rows < 1 or cols < 1:
            raise ConfigError(f"tile_grid must be two positive ints, got {tile_grid}")
        if not 2 <= nbins <= 65536:
            raise ConfigError(f"nbins must be in [2, 65536], got {nbins}")
        if space not in _SPACES:
            raise ConfigError(f"unknown space '{space}'; choose one of {list(_SPACES)}")
        if pre_gamma is not None and pre_gamma != "auto":
            if isinstance(pre_gamma, str) or not float(pre_gamma) > 0:
                raise ConfigError(f"pre_gamma must be None, 'auto' or > 0, got {pre_gamma!r}")
            pre_gamma = float(pre_gamma)
        self.clip_limit = float(clip_limit)
        self.tile_grid = (rows, cols)
        self.nbins = int(nbins)
        self.space = space
        self.pre_gamma = pre_gamma

    def _equalise(self, channel: Tensor) -> Tensor:
        return clahe(channel, self.clip_limit, self.tile_grid, self.nbins)

    def enhance_tensor(self, x: Tensor, context: Context | None = None) -> Tensor:
        x = x.clamp(0.0, 1.0)
        if self.pre_gamma == "auto":
            gamma = auto_gamma(luma(x), gamma_range=(1.0, 5.0))
            x = apply_gamma(x, gamma)
        elif self.pre_gamma is not None:
            x = apply_gamma(x, float(self.pre_gamma))
        if self.space == "lab":
            lab = rgb_to_lab(x)
            lightness = self._equalise((lab[:, :1] / 100.0).clamp(0.0, 1.0)) * 100.0
            return lab_to_rgb(torch.cat([lightness, lab[:, 1:]], dim=1))
        if self.space == "ycbcr":
            ycc = rgb_to_ycbcr(x)
            return ycbcr_to_rgb(torch.cat([self._equalise(ycc[:, :1]), ycc[:, 1:]], dim=1))
        value = hsv_value(x)
        equalised = self._equalise(value)
        ratio = equalised / value.clamp(min=1e-6)
        # Black pixels have no hue: they become grey at the equalised value.
        return torch.where(value > 1e-6, x * ratio, equalised.expand_as(x))

    def extra_repr(self) -> str:
        return (
            f"clip_limit={self.clip_limit}, tile_grid={self.tile_grid}, nbins={self.nbins}, "
            f"space={self.space}, pre_gamma={self.pre_gamma}"
        )
