"""Measure the lattice (a regular grid of faint squares) a model prints over flat areas.

Over the flat areas of real dark photos (``../shared/data/sci_samples``), the spectral energy
of the enhanced image at the block frequencies of a network that down-samples by 2, 4 and 8
(periods 2, 4 and 8 px, and their harmonics) is compared with the energy at the
neighbouring frequencies, and the same ratio of the input on the same areas is printed
beside it. A model that prints no lattice keeps the input's ratio; a lattice shows as an
excess in dB and as an RMS amplitude in 8-bit grey levels.

Protocol:

* **flat areas**: ``--block`` x ``--block`` (32) blocks of the *input* whose content above the
  lattice periods is flat: the input's luma box-filtered over 8x8 pixels (a filter that
  removes periods 2, 4 and 8 exactly) varies by at most ``--max-cov`` (5 %) of its mean,
  and the mean is at least ``--min-luma`` (0.02). The blocks depend on the input only, so
  every model is measured on the same pixels.
* **spectrum**: luma (0.299 R + 0.587 G + 0.114 B) of the 8-bit quantised image (as saved);
  chroma is the mean of the Cb and Cr spectra. Each block minus its least-squares plane, no
  window (the block is a multiple of every period, so a lattice falls exactly on its bins);
  power spectra averaged over the image's flat blocks.
* **lattice bins** of period ``p``: frequencies ``(ky, kx)`` that are both multiples of
  ``block / p``, not DC and not on a shorter period's bins. **Neighbours**: bins one or two
  steps away along either axis that are no lattice bin.
* **figures**: ``ratio`` = mean lattice-bin power / mean neighbour power, in dB; ``excess`` =
  output ratio minus input ratio (dB); ``amplitude`` = RMS of the lattice component above
  the neighbours' level (Parseval), in 8-bit levels; the input's amplitude is multiplied by
  the output/input brightness ratio over the flat blocks. The excess is clipped at zero bin
  by bin, so noise alone reads a small floor (white noise of 5 levels: 0.3 levels; the
  brightened input's noise more): compare amplitudes with the input's, and read the dB
  ratios first. Per image, then the mean over
  images (per subset and overall).
* **probes** (the cause): the response to constant images (the RMS over the 8x8 phases of
  the interior, 8-bit levels: a shift-invariant network gives 0), and, for MIRNet, the same
  for each resampling block fed a constant feature map (relative to its mean).

Inference on the whole image (no tiling, no resize), one CPU thread::

    python benchmarks/lattice.py -m mirnet_small                       # shipped weights
    python benchmarks/lattice.py -m mirnet_small --arg smooth_upsample=false --name before
    python benchmarks/lattice.py -m mirnet_small --weights none --name random_init

Writes ``benchmarks/results/lattice/<name>/{lattice.json,lattice.md,per_image.csv}``; with
``--crops DIR``, 4x crops (input brightened to the output's mean | output) of the bright
flat area (output luma nearest 0.7) of each image, for a visual check. About 5 min of CPU for ``mirnet_small`` on the 34
images (one thread; 30 min wall on the shared 2-core machine beside two trainings).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "sci_samples"
PERIODS = (2, 4, 8)
EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}


# ----------------------------------------------------------------------------- spectrum


def lattice_masks(n: int) -> dict[int, np.ndarray]:
    """Boolean ``(n, n)`` masks of the lattice bins of each period (exclusive of shorter ones)."""
    k = np.arange(n)
    masks: dict[int, np.ndarray] = {}
    taken = np.zeros((n, n), bool)
    taken[0, 0] = True
    for p in PERIODS:
        on = (k % (n // p)) == 0
        mask = on[:, None] & on[None, :] & ~taken
        masks[p] = mask
        taken |= mask
    return masks


def neighbour_mask(lattice: np.ndarray) -> np.ndarray:
    """Bins one or two steps from a lattice bin along either axis, less the lattice and DC."""
    near = np.zeros_like(lattice)
    for shift in (-2, -1, 1, 2):
        near |= np.roll(lattice, shift, axis=0) | np.roll(lattice, shift, axis=1)
    near &= ~lattice
    near[0, 0] = False
    return near


def detrend(block: np.ndarray) -> np.ndarray:
    """``(n, n)`` block minus its least-squares plane."""
    n = block.shape[0]
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float64)
    design = np.stack([np.ones(n * n), yy.ravel(), xx.ravel()], 1)
    coef, *_ = np.linalg.lstsq(design, block.ravel(), rcond=None)
    return block - (design @ coef).reshape(n, n)


def mean_power(plane: np.ndarray, blocks: list[tuple[int, int]], n: int) -> np.ndarray:
    """Power spectrum ``(n, n)`` averaged over the blocks (top-left corners) of ``plane``."""
    total = np.zeros((n, n))
    for y, x in blocks:
        total += np.abs(np.fft.fft2(detrend(plane[y : y + n, x : x + n]))) ** 2
    return total / max(len(blocks), 1)


def lattice_figures(power: np.ndarray) -> dict[str, float]:
    """``ratio_db_p*`` and ``amplitude_p*`` (8-bit levels) per period and for all periods."""
    n = power.shape[0]
    masks: dict[str, np.ndarray] = {str(p): m for p, m in lattice_masks(n).items()}
    union = np.logical_or.reduce(list(masks.values()))
    masks["all"] = union
    out: dict[str, float] = {}
    for p, mask in masks.items():
        base = power[neighbour_mask(mask) & ~union].mean()
        excess = np.clip(power[mask] - base, 0.0, None).sum()
        out[f"ratio_db_p{p}"] = float(10 * np.log10(power[mask].mean() / base))
        out[f"amplitude_p{p}"] = float(255.0 * np.sqrt(excess) / n**2)
    return out


# ----------------------------------------------------------------------------- images


def luma(rgb: np.ndarray) -> np.ndarray:
    return rgb @ np.array([0.299, 0.587, 0.114])


def chroma(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = luma(rgb)
    return 0.564 * (rgb[..., 2] - y), 0.713 * (rgb[..., 0] - y)


def box8(plane: np.ndarray) -> np.ndarray:
    """8x8 box mean (valid part, top-left aligned): removes periods 2, 4 and 8 exactly."""
    c = np.pad(plane, ((1, 0), (1, 0))).cumsum(0).cumsum(1)
    return (c[8:, 8:] - c[:-8, 8:] - c[8:, :-8] + c[:-8, :-8]) / 64.0


def flat_blocks(y_in: np.ndarray, n: int, max_cov: float, min_luma: float) -> list[tuple[int, int]]:
    """Top-left corners of the ``n x n`` blocks of the input luma that are flat (see module doc)."""
    smooth = box8(y_in)
    blocks = []
    for y in range(0, y_in.shape[0] - n + 1, n):
        for x in range(0, y_in.shape[1] - n + 1, n):
            s = smooth[y : y + n - 7, x : x + n - 7]
            mean = s.mean()
            if mean >= min_luma and s.std() <= max_cov * mean:
                blocks.append((y, x))
    return blocks


def image_figures(
    rgb: np.ndarray, blocks: list[tuple[int, int]], n: int, gain: float = 1.0
) -> dict[str, float]:
    """Lattice figures of an image ``(H, W, 3)`` over ``blocks``; amplitudes times ``gain``."""
    q = np.round(np.clip(rgb, 0, 1) * 255) / 255
    out = {f"luma_{k}": v for k, v in lattice_figures(mean_power(luma(q), blocks, n)).items()}
    cb, cr = chroma(q)
    power = (mean_power(cb, blocks, n) + mean_power(cr, blocks, n)) / 2
    out.update({f"chroma_{k}": v for k, v in lattice_figures(power).items()})
    return {k: v * gain if "amplitude" in k else v for k, v in out.items()}


def block_mean(plane: np.ndarray, blocks: list[tuple[int, int]], n: int) -> float:
    return float(np.mean([plane[y : y + n, x : x + n].mean() for y, x in blocks]))


# ----------------------------------------------------------------------------- probes


def phase_rms(y: torch.Tensor, period: int = 8, margin: int = 32) -> torch.Tensor:
    """RMS over the ``period x period`` phases of the interior of ``(B, C, H, W)``, per channel.

    The mean of each phase over the interior is taken first, so only a pattern that repeats
    with the period (a lattice) counts; returns ``(C,)``.
    """
    y = y[..., margin:-margin, margin:-margin]
    h = y.shape[-2] - y.shape[-2] % period
    w = y.shape[-1] - y.shape[-1] % period
    b, c = y.shape[:2]
    cells = y[..., :h, :w].reshape(b, c, h // period, period, w // period, period)
    phases = cells.mean(dim=(0, 2, 4))  # (C, period, period)
    return phases.std(dim=(1, 2), unbiased=False)


@torch.no_grad()
def constant_probe(model: torch.nn.Module, levels: tuple[float, ...]) -> dict[str, float]:
    """Lattice amplitude (8-bit levels, mean over RGB) of the output for constant inputs."""
    out = {}
    for level in levels:
        y = model(torch.full((1, 3, 160, 160), level))
        out[f"{level:g}"] = float(255 * phase_rms(y).mean())
    return out


@torch.no_grad()
def resampler_probe(model: torch.nn.Module) -> list[dict[str, object]]:
    """For each MIRNet resampling block: relative lattice of its output for a constant input."""
    from lowlight.layers.mirnet_resample import ResidualDownsample, ResidualUpsample

    gen = torch.Generator().manual_seed(0)
    rows = []
    for name, module in model.named_modules():
        if not isinstance(module, ResidualUpsample | ResidualDownsample):
            continue
        width = next(module.parameters()).shape[1]
        x = torch.rand(1, width, 1, 1, generator=gen).expand(1, width, 96, 96).contiguous()
        y = module(x)
        rms = phase_rms(y, period=4, margin=8)
        rel = float((rms / y[..., 8:-8, 8:-8].abs().mean(dim=(0, 2, 3)).clamp_min(1e-8)).mean())
        if isinstance(module, ResidualUpsample):
            mrms = phase_rms(module.main(x), period=4, margin=8)
            main_rel = float(mrms.mean() / module.main(x).abs().mean().clamp_min(1e-8))
        else:
            main_rel = float("nan")
        rows.append(
            {
                "block": name,
                "kind": type(module).__name__,
                "relative_lattice": rel,
                "main_branch_relative_lattice": main_rel,
            }
        )
    return rows


# ----------------------------------------------------------------------------- main


def parse_value(text: str) -> object:
    lowered = text.lower()
    if lowered in {"true", "false"}:
        return lowered == "true"
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def save_crop(
    path: Path, x: np.ndarray, y: np.ndarray, blocks: list[tuple[int, int]], n: int
) -> None:
    from PIL import Image

    yq = np.clip(y, 0, 1)
    # the flat block nearest a bright, unclipped grey (walls and ceilings)
    y0, x0 = min(blocks, key=lambda b: abs(luma(yq[b[0] : b[0] + n, b[1] : b[1] + n]).mean() - 0.7))
    cy, cx = max(0, y0 + n // 2 - 48), max(0, x0 + n // 2 - 48)
    a = yq[cy : cy + 96, cx : cx + 96]
    gain = luma(a).mean() / max(luma(x[cy : cy + 96, cx : cx + 96]).mean(), 1e-4)
    b = np.clip(x[cy : cy + 96, cx : cx + 96] * gain, 0, 1)
    pair = np.concatenate([b, np.ones((b.shape[0], 4, 3)), a], 1)
    img = Image.fromarray(np.round(pair * 255).astype(np.uint8))
    img.resize((img.width * 4, img.height * 4), Image.NEAREST).save(path)


def summarise(rows: list[dict[str, object]], keys: list[str]) -> dict[str, dict[str, float]]:
    groups: dict[str, list[dict[str, object]]] = {"all": rows}
    for r in rows:
        groups.setdefault(str(r["subset"]), []).append(r)
    return {
        g: {"images": len(rs), **{k: float(np.mean([r[k] for r in rs])) for k in keys}}
        for g, rs in groups.items()
    }


def shown_path(path: Path) -> str:
    """``path`` relative to the repository (``../shared/data/...``), as the README writes it."""
    return os.path.relpath(path.resolve(), REPO)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-m", "--model", default="mirnet_small")
    parser.add_argument(
        "--weights", default="default", help="'default', a record, a path, or 'none'"
    )
    parser.add_argument(
        "--arg",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="constructor override (repeatable), e.g. smooth_upsample=false",
    )
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--name", default=None, help="report folder (default: the model)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/lattice")
    parser.add_argument("--block", type=int, default=32)
    parser.add_argument("--max-cov", type=float, default=0.05)
    parser.add_argument("--min-luma", type=float, default=0.02)
    parser.add_argument("--limit", type=int, default=None, help="first N images only")
    parser.add_argument("--subsets", default=None, help="comma list of subfolders (default all)")
    parser.add_argument("--crops", type=Path, default=None, help="write 4x PNG crops here")
    args = parser.parse_args()
    torch.set_num_threads(1)

    import lowlight
    from lowlight.io import read_image

    overrides = dict(a.split("=", 1) for a in args.arg)
    kwargs = {k: parse_value(v) for k, v in overrides.items()}
    weights = None if args.weights.lower() == "none" else args.weights
    torch.manual_seed(0)
    model = lowlight.load(args.model, weights=weights, device="cpu", **kwargs).eval()
    name = args.name or args.model
    n = args.block
    files = sorted(p for p in args.data.glob("*/*") if p.suffix.lower() in EXTENSIONS)
    if args.subsets:
        files = [p for p in files if p.parent.name in args.subsets.split(",")]
    files = files[: args.limit] if args.limit else files
    if args.crops:
        args.crops.mkdir(parents=True, exist_ok=True)

    rows: list[dict[str, object]] = []
    start = time.time()
    for path in files:
        x = read_image(path).rgb.astype(np.float32)
        blocks = flat_blocks(luma(x.astype(np.float64)), n, args.max_cov, args.min_luma)
        if not blocks:
            print(f"{path.parent.name}/{path.name}: no flat block, skipped", flush=True)
            continue
        with torch.no_grad():
            t = torch.from_numpy(np.ascontiguousarray(x)).permute(2, 0, 1)[None]
            y = model(t)[0].permute(1, 2, 0).numpy().astype(np.float64)
        row: dict[str, object] = {
            "subset": path.parent.name,
            "image": path.name,
            "flat_blocks": len(blocks),
        }
        x64 = x.astype(np.float64)
        gain = block_mean(luma(np.clip(y, 0, 1)), blocks, n) / max(
            block_mean(luma(x64), blocks, n), 1e-6
        )
        fin = image_figures(x64, blocks, n, gain)  # input amplitude at the output's brightness
        fout = image_figures(y, blocks, n)
        for k in fin:
            row[f"in_{k}"], row[f"out_{k}"] = fin[k], fout[k]
            if "ratio_db" in k:
                row[f"excess_{k}"] = fout[k] - fin[k]
        rows.append(row)
        if args.crops:
            save_crop(args.crops / f"{name}_{path.parent.name}_{path.stem}.png", x, y, blocks, n)
        print(
            f"{path.parent.name}/{path.name}: {len(blocks)} flat blocks, luma excess "
            f"{row['excess_luma_ratio_db_pall']:+.2f} dB, amplitude "
            f"{row['out_luma_amplitude_pall']:.2f} (input {row['in_luma_amplitude_pall']:.2f})",
            flush=True,
        )
    seconds = time.time() - start

    keys = [k for k in rows[0] if k not in {"subset", "image"}]
    summary = summarise(rows, keys)
    probes = {
        "constant_input": constant_probe(model, (0.02, 0.05, 0.1, 0.2)),
        "resamplers": resampler_probe(model),
    }
    report = {
        "model": args.model,
        "weights": args.weights,
        "overrides": kwargs,
        "data": shown_path(args.data),
        "block": n,
        "max_cov": args.max_cov,
        "min_luma": args.min_luma,
        "seconds": seconds,
        "summary": summary,
        "probes": probes,
    }
    folder = args.out / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "lattice.json").write_text(json.dumps(report, indent=2) + "\n")
    with open(folder / "per_image.csv", "w", newline="") as fp:
        writer = csv.DictWriter(fp, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (folder / "lattice.md").write_text(markdown(report))
    print(markdown(report))


def markdown(report: dict) -> str:
    lines = [
        f"# Lattice over flat areas: {report['model']} (weights {report['weights']}, "
        f"overrides {report['overrides'] or 'none'})",
        "",
        f"Data `{report['data']}`; {report['block']}px blocks, flat = box8 luma CoV <= "
        f"{report['max_cov']}, mean >= {report['min_luma']}; {report['seconds']:.0f} s.",
        "Ratio = lattice-bin / neighbour-bin power (dB); excess = output - input; "
        "amplitude = RMS lattice in 8-bit levels (see benchmarks/lattice.py).",
        "",
        "| subset | images | blocks/img | luma excess dB (all) | p2 | p4 | p8 | "
        "luma amplitude out (in) | chroma excess dB | chroma amplitude out (in) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for g, s in report["summary"].items():
        lines.append(
            f"| {g} | {s['images']} | {s['flat_blocks']:.0f} | {s['excess_luma_ratio_db_pall']:+.2f} | "
            f"{s['excess_luma_ratio_db_p2']:+.2f} | {s['excess_luma_ratio_db_p4']:+.2f} | "
            f"{s['excess_luma_ratio_db_p8']:+.2f} | {s['out_luma_amplitude_pall']:.2f} "
            f"({s['in_luma_amplitude_pall']:.2f}) | {s['excess_chroma_ratio_db_pall']:+.2f} | "
            f"{s['out_chroma_amplitude_pall']:.2f} ({s['in_chroma_amplitude_pall']:.2f}) |"
        )
    probes = report["probes"]
    lines += [
        "",
        "## Probes",
        "",
        "Constant input -> output lattice (RMS over 8x8 phases, 8-bit levels): "
        + ", ".join(f"{k}: {v:.3f}" for k, v in probes["constant_input"].items()),
    ]
    if probes["resamplers"]:
        lines += [
            "",
            "| resampling block | kind | relative lattice (constant in) | main branch |",
            "| --- | --- | ---: | ---: |",
        ]
        lines += [
            f"| {r['block']} | {r['kind']} | {r['relative_lattice']:.4f} | "
            f"{r['main_branch_relative_lattice']:.4f} |"
            for r in probes["resamplers"]
        ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
