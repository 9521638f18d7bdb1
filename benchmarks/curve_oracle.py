"""How far can a tone curve alone go on a paired set? An oracle that sees the reference.

For every pair (default LOL-v1 eval15), the per-channel lookup table that maps each 8-bit
input level to the mean reference value over the pixels at that level: the global tone
curve with the least squared error against that reference (levels absent from the image
are interpolated). It cannot denoise (each output pixel is a function of its own input
value only), so its PSNR / SSIM bound what any global curve can reach on that image, and
they separate what a curve model loses to the *shape* of its curve from what it loses to
noise. Scored with the evaluation protocol (full frame, 8-bit, RGB PSNR, MATLAB SSIM).

With ``-m MODEL`` it also prints the curve each model applies in effect (its mean output
at a few 8-bit input levels, grey = mean of R, G, B) beside the references', averaged over
the images.

    python benchmarks/curve_oracle.py
    python benchmarks/curve_oracle.py -m lucent -m lime --threads 1
    python benchmarks/curve_oracle.py --data PAIRED_ROOT
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
LEVELS = 256
PROBE_LEVELS = (2, 5, 10, 20, 40, 80)
"""8-bit input levels at which effective curves are compared."""


def mean_per_level(levels: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Mean of ``values`` over the pixels at each 8-bit level (``nan`` where none is).

    Args:
        levels: ``(H, W)`` integer levels in ``[0, 255]``.
        values: ``(H, W)`` floats.

    Returns:
        ``(256,)`` float64.
    """
    index = levels.ravel()
    sums = np.bincount(index, weights=values.ravel().astype(np.float64), minlength=LEVELS)
    counts = np.bincount(index, minlength=LEVELS)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / counts, np.nan)


def oracle_curve(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Least-squares global per-channel tone curve of ``low`` towards ``high``, applied.

    Args:
        low, high: ``(H, W, 3)`` sRGB in ``[0, 1]``.

    Returns:
        ``(H, W, 3)`` float64: for each channel, every pixel replaced by the mean of
        ``high`` over the pixels sharing its 8-bit ``low`` level.
    """
    from lowlight.metrics.convert import quantize_uint8

    levels = quantize_uint8(low).astype(np.int64)
    out = np.empty(low.shape, dtype=np.float64)
    for c in range(low.shape[-1]):
        means = mean_per_level(levels[..., c], high[..., c])
        present = np.flatnonzero(~np.isnan(means))
        table = np.interp(np.arange(LEVELS), present, means[present])
        out[..., c] = table[levels[..., c]]
    return out


def effective_curve(low: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Mean grey ``out`` at each 8-bit grey level of ``low`` (``nan`` where absent).

    Args:
        low, out: ``(H, W, 3)`` in ``[0, 1]``.

    Returns:
        ``(256,)`` float64.
    """
    grey = np.round(np.clip(low.mean(-1), 0.0, 1.0) * (LEVELS - 1)).astype(np.int64)
    return mean_per_level(grey, out.mean(-1))


def _curve_row(label: str, curves: list[np.ndarray]) -> str:
    means = np.nanmean(np.stack(curves)[:, list(PROBE_LEVELS)], axis=0)
    return f"  {label:<16}" + "".join(f"{v:8.2f}" for v in means)


def main(argv: list[str] | None = None) -> None:
    from lowlight.data.pairs import find_pairs, resolve_paired_root
    from lowlight.io import read_image
    from lowlight.metrics.full_reference import psnr, ssim

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA / "lol_v1" / "eval15")
    parser.add_argument("-m", "--model", action="append", default=[])
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    pairs = find_pairs(*resolve_paired_root(args.data))
    rows = []
    images = [(pair, read_image(pair.input).rgb, read_image(pair.target).rgb) for pair in pairs]
    for pair, low, high in images:
        curved = oracle_curve(low, high)
        rows.append((pair.stem, psnr(curved, high), ssim(curved, high)))
        print(f"  {pair.stem:>8}  PSNR {rows[-1][1]:6.2f}  SSIM {rows[-1][2]:.3f}")
    scores = np.array([r[1:] for r in rows])
    print(
        f"{len(rows)} pairs in {args.data}: oracle global curve "
        f"PSNR {scores[:, 0].mean():.2f} dB, SSIM {scores[:, 1].mean():.3f}"
    )
    if not args.model:
        return
    import lowlight

    print("mean output (grey) at input level " + " ".join(f"{v:>7}" for v in PROBE_LEVELS))
    print(_curve_row("reference", [effective_curve(lo, hi) for _, lo, hi in images]))
    for name in args.model:
        model = lowlight.load(name)
        curves = [effective_curve(lo, model.enhance(lo)) for _, lo, _ in images]
        print(_curve_row(name, curves))


if __name__ == "__main__":
    main()
