"""Does the noise model of the synthesis help on real data? MIRNet-small with and without it.

Two runs of ``src/lowlight/recipes/mirnet_small_synth.yaml`` that differ only in
``data.train.args.noise`` (same seed, data order, exposure and colour draws, length and
optimiser) are scored on LOL-v1 eval15 (real dark inputs): PSNR / SSIM with the evaluation
protocol (8-bit quantised, RGB, full frame, MATLAB SSIM; GT-mean beside), and the noise the
model leaves in its output, :func:`lowlight.metrics.noise_level.noise_sigma` (8-bit levels
in the flattest 20 % of blocks; the references' own level is printed beside).

The two runs (about 25 min each on one CPU thread)::

    for noise in true false; do
      lowlight train mirnet_small_synth --set train.threads=1 --set train.steps=800 \\
        --set train.val_every=800 --set optim.lr=5.0e-4 --set data.train.args.noise=$noise \\
        --set name=mirnet_small_abl_noise_$noise --set train.out_dir=runs/mirnet_abl_noise_$noise
    done
    python benchmarks/mirnet_noise_ablation.py --out benchmarks/results/mirnet_noise_ablation

Writes ``<out>/mirnet_noise_ablation.{json,md}``.
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
RUNS = {
    "with noise model": REPO / "runs/mirnet_abl_noise_true/export/mirnet_small_abl_noise_true",
    "without noise model": REPO / "runs/mirnet_abl_noise_false/export/mirnet_small_abl_noise_false",
}


def score_weights(weights: Path, pairs: list) -> dict[str, float]:
    """Mean scores of one set of ``mirnet_small`` weights over ``pairs`` (``ImagePair``)."""
    import lowlight
    from lowlight.io import read_image
    from lowlight.metrics import score_pair
    from lowlight.metrics.noise_level import noise_sigma

    model = lowlight.load("mirnet_small", weights=str(weights.with_suffix(".safetensors")))
    rows = []
    for pair in pairs:
        out = model.enhance(read_image(pair.input).rgb)
        scores = score_pair(out, read_image(pair.target).rgb, metrics=("psnr", "ssim"))
        scores["output_noise_sigma"] = noise_sigma(np.round(out * 255) / 255)[0]
        rows.append(scores)
    return {key: float(np.mean([r[key] for r in rows])) for key in rows[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lol", type=Path, default=DATA / "lol_v1" / "eval15")
    parser.add_argument(
        "--out", type=Path, default=REPO / "benchmarks/results/mirnet_noise_ablation"
    )
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)

    from lowlight.data.pairs import find_pairs
    from lowlight.io import read_image
    from lowlight.metrics.noise_level import noise_sigma

    pairs = find_pairs(args.lol / "low", args.lol / "high")
    start = time.perf_counter()
    results = {name: score_weights(path, pairs) for name, path in RUNS.items()}
    reference = float(np.mean([noise_sigma(read_image(p.target).rgb)[0] for p in pairs]))
    lines = [
        "# MIRNet-small on LOL-v1 eval15: synthetic training pairs with vs without sensor noise",
        "",
        "`python benchmarks/mirnet_noise_ablation.py` on the two 800-step runs in its docstring.",
        "",
        "| training pairs | PSNR | SSIM | PSNR GT-mean | SSIM GT-mean | output noise sigma (8-bit) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['psnr']:.2f} | {r['ssim']:.3f} | {r['psnr_gtmean']:.2f} | "
            f"{r['ssim_gtmean']:.3f} | {r['output_noise_sigma']:.2f} |"
        )
    lines += ["", f"Reference (LOL high) noise sigma: {reference:.2f} levels."]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "mirnet_noise_ablation.md").write_text("\n".join(lines) + "\n")
    payload = {"results": results, "reference_noise_sigma": reference, "pairs": len(pairs)}
    (args.out / "mirnet_noise_ablation.json").write_text(json.dumps(payload, indent=2) + "\n")
    print("\n".join(lines))
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
