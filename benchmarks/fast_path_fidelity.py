"""How much quality does the fast path lose? Full against fast on a paired set.

For every pair (default LOL-v1 eval15) and every model, the network is run at full
resolution (``speed="full"``) and through the fast path
(:mod:`lowlight.inference.fast_path`) at the *same ratio of working size to image size*
as a photo of ``--photo-mp`` megapixels processed at the default working size
(``--working-mp``): a 600x400 LOL image with the defaults (12 MP photo, 1 MP working size)
is run at about 173x115. Both outputs are scored against the reference with the
evaluation protocol (8-bit, RGB PSNR, MATLAB SSIM, whole frame), and the fast output
against the full one (its fidelity). Loss = full PSNR - fast PSNR.

    python benchmarks/fast_path_fidelity.py                       # every shipped learned model
    python benchmarks/fast_path_fidelity.py -m lucent --limit 3   # quick look
    python benchmarks/fast_path_fidelity.py --data PAIRED_ROOT --name sice_seq_val
    python benchmarks/fast_path_fidelity.py --denoise auto        # with the cheap denoise

Writes ``benchmarks/results/fast_path_fidelity[_NAME]/report.md`` and ``results.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
DEFAULT_MODELS = ("lucent", "mirnet_small", "nalsuper_small", "irle_small")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-m", "--model", action="append", dest="models")
    parser.add_argument("--data", type=Path, default=DATA / "lol_v1" / "eval15")
    parser.add_argument("--name", default="", help="suffix of the results folder")
    parser.add_argument("--photo-mp", type=float, default=12.0)
    parser.add_argument("--working-mp", type=float, default=1.0)
    parser.add_argument("--radius", type=int, default=None)
    parser.add_argument("--eps", type=float, default=None)
    parser.add_argument("--denoise", default="0", help="8-bit noise std, or 'auto'")
    parser.add_argument("--limit", type=int, default=None, help="first N pairs only")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    from lowlight.api import load
    from lowlight.data.pairs import find_pairs, resolve_paired_root
    from lowlight.inference.fast_path import FastPathConfig, enhance_at_speed, with_options
    from lowlight.io import read_image
    from lowlight.metrics import psnr, ssim

    low_dir, high_dir = resolve_paired_root(args.data)
    pairs = find_pairs(low_dir, high_dir)[: args.limit]
    ratio = args.working_mp / args.photo_mp
    denoise: float | str = args.denoise if args.denoise == "auto" else float(args.denoise)
    config = with_options(FastPathConfig(), radius=args.radius, eps=args.eps, denoise=denoise)
    rows: list[dict] = []
    for name in args.models or DEFAULT_MODELS:
        model = load(name, device="cpu")
        per_image = []
        seconds = {"full": 0.0, "fast": 0.0}
        for pair in pairs:
            low = read_image(pair.input).rgb
            high = read_image(pair.target).rgb
            x = torch.from_numpy(np.ascontiguousarray(low.transpose(2, 0, 1)))[None]
            pixels = max(1, round(x.shape[-2] * x.shape[-1] * ratio))
            outputs = {}
            with torch.inference_mode():
                for speed in ("full", "fast"):
                    start = time.perf_counter()
                    y = enhance_at_speed(
                        model, x, speed=speed, config=with_options(config, working_pixels=pixels)
                    )
                    seconds[speed] += time.perf_counter() - start
                    outputs[speed] = y[0].permute(1, 2, 0).numpy()
            per_image.append(
                {
                    "image": pair.input.name,
                    "full_psnr": psnr(outputs["full"], high),
                    "full_ssim": ssim(outputs["full"], high),
                    "fast_psnr": psnr(outputs["fast"], high),
                    "fast_ssim": ssim(outputs["fast"], high),
                    "fast_vs_full_psnr": psnr(outputs["fast"], outputs["full"]),
                }
            )
        summary = {
            key: float(np.mean([r[key] for r in per_image]))
            for key in ("full_psnr", "full_ssim", "fast_psnr", "fast_ssim", "fast_vs_full_psnr")
        }
        summary["psnr_loss"] = summary["full_psnr"] - summary["fast_psnr"]
        summary["ssim_loss"] = summary["full_ssim"] - summary["fast_ssim"]
        rows.append({"model": name, **summary, "seconds": seconds, "images": per_image})
        print(
            f"{name}: full {summary['full_psnr']:.2f} dB / {summary['full_ssim']:.3f}, "
            f"fast {summary['fast_psnr']:.2f} / {summary['fast_ssim']:.3f}, "
            f"loss {summary['psnr_loss']:.2f} dB, fast vs full {summary['fast_vs_full_psnr']:.2f} dB",
            flush=True,
        )
    settings = {
        "data": str(args.data),
        "pairs": len(pairs),
        "photo_mp": args.photo_mp,
        "working_mp": args.working_mp,
        "ratio": ratio,
        "radius": config.radius,
        "eps": config.eps,
        "denoise": config.denoise,
        "threads": args.threads,
    }
    out = args.out or REPO / "benchmarks" / "results" / (
        "fast_path_fidelity" + (f"_{args.name}" if args.name else "")
    )
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(
        json.dumps({"settings": settings, "models": rows}, indent=2) + "\n"
    )
    (out / "report.md").write_text(report(settings, rows))
    print(f"-> {out}")


def report(settings: dict, rows: list[dict]) -> str:
    """Markdown table of full vs fast per model."""
    side = settings["ratio"] ** 0.5
    lines = [
        "# Fast-path fidelity",
        "",
        f"Data: `{settings['data']}` ({settings['pairs']} pairs). Fast path at working size = "
        f"{settings['ratio']:.4f} x the image's pixels (a {settings['photo_mp']:g} MP photo at a "
        f"{settings['working_mp']:g} MP working size; sides x {side:.3f}, 600x400 -> "
        f"{round(600 * side)}x{round(400 * side)}); guided filter radius {settings['radius']}, "
        f"eps {settings['eps']:g}, denoise {settings['denoise']}. Protocol: 8-bit RGB PSNR, "
        "MATLAB SSIM, whole frame. Loss = full - fast.",
        "",
        "| model | full PSNR | full SSIM | fast PSNR | fast SSIM | PSNR loss | SSIM loss "
        "| fast vs full PSNR |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['full_psnr']:.2f} | {r['full_ssim']:.3f} | {r['fast_psnr']:.2f} "
            f"| {r['fast_ssim']:.3f} | {r['psnr_loss']:.2f} | {r['ssim_loss']:.3f} "
            f"| {r['fast_vs_full_psnr']:.2f} |"
        )
    lines += ["", f"Command: `python benchmarks/fast_path_fidelity.py` with {settings}", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
