"""LucentVisionNet ablations (seed: loss terms, scales, iterations) from short runs of equal length.

Each variant trains ``configs/lucent_sice.yaml`` for ``--steps`` steps with one flag changed,
then the trainer's final validation scores it on LOL-v1 eval15 (full frames, 8-bit quantised,
RGB PSNR and MATLAB SSIM, GT-mean beside). Writes a Markdown table and a JSON file.

    python benchmarks/lucent_ablation.py --steps 600 --threads 1
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

VARIANTS: dict[str, list[str]] = {
    "full (all six terms, 3 scales, 8 iterations)": [],
    "no L_NR": ["objective.args.nr=0"],
    "no L_seg (semantic term off)": ["objective.args.semantic_net=null"],
    "single scale (1x only)": ["model.args.scales=[1]"],
    "1 iteration": ["model.args.iterations=1"],
}


def run_variant(
    name: str, overrides: list[str], steps: int, threads: int, root: Path, config: str
) -> dict:
    out = root / name.split(" (")[0].replace(" ", "_").replace("/", "_")
    cmd = [
        sys.executable,
        "-m",
        "lowlight",
        "train",
        config,
        "--out-dir",
        str(out),
        "--steps",
        str(steps),
        "-q",
        "--set",
        f"train.threads={threads}",
        "--set",
        f"train.val_every={steps}",
        "--set",
        f"train.ckpt_every={steps}",
    ]
    for item in overrides:
        cmd += ["--set", item]
    if (out / "last.ckpt").exists():
        cmd.append("--resume")
    start = time.time()
    subprocess.run(cmd, check=True)
    record = json.loads(next((out / "export").glob("*.json")).read_text())
    scores = next(iter(record["scores"].values()))
    return {
        "variant": name,
        "overrides": overrides,
        "steps": steps,
        "minutes": (time.time() - start) / 60,
        "command": " ".join(cmd[1:]),
        **{k: scores[k] for k in ("psnr", "ssim", "psnr_gtmean", "ssim_gtmean")},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--config", default="configs/lucent_sice.yaml")
    parser.add_argument("--runs", type=Path, default=Path("runs/ablation"))
    parser.add_argument("--report", type=Path, default=Path("benchmarks/results/lucent_ablation"))
    args = parser.parse_args()
    rows = [
        run_variant(n, o, args.steps, args.threads, args.runs, args.config)
        for n, o in VARIANTS.items()
    ]
    args.report.mkdir(parents=True, exist_ok=True)
    (args.report / "ablation.json").write_text(json.dumps(rows, indent=2) + "\n")
    lines = [
        f"# LucentVisionNet ablations: {args.steps} steps each on SICE Part1, scored on LOL-v1 eval15",
        "",
        f"Command: `python benchmarks/lucent_ablation.py --steps {args.steps} --threads {args.threads}`. "
        "Same recipe, seed and data order for every row; one flag changed per row.",
        "",
        "| variant | PSNR | SSIM | PSNR (GT-mean) | SSIM (GT-mean) | train minutes |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['variant']} | {r['psnr']:.2f} | {r['ssim']:.3f} | {r['psnr_gtmean']:.2f} | "
        f"{r['ssim_gtmean']:.3f} | {r['minutes']:.1f} |"
        for r in rows
    ]
    (args.report / "ablation.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
