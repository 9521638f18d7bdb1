"""IRLE ablations at equal steps, and the noise each enhancer leaves at matched brightness.

Each variant trains ``--config`` (a shipped recipe name or a YAML path; default ``irle_small_sice``) for ``--steps``
steps with one flag changed (same seed, data order and schedule; the trainer's own
validation off), then ``lowlight eval`` scores its exported weights on ``--data``
(LOL-v1 eval15 by default: full frames, 8-bit quantised, RGB PSNR and MATLAB SSIM,
GT-mean beside). A variant whose run folder already holds exported weights is scored
without retraining.

``--only full`` with ``--runs`` pointing at a folder whose ``full/export`` already holds the
shipped run scores it without training and adds the row "IRLE, denoiser bypassed at
inference" (the same weights without the denoiser) to the noise table.

Noise at matched brightness: every output of ``--data`` is scaled by one factor so that
its mean BT.601 luma equals its reference's, clipped, quantised to 8 bits, and
:func:`lowlight.metrics.noise_level.noise_sigma` (8-bit levels in the flattest 20 % of
16x16 blocks) is averaged over the images; for ``lucent`` (shipped weights), ``lime``,
IRLE and IRLE without its denoiser (the ``no denoiser`` variant). The references' own
level is printed beside. Scaling after the fact puts every method at the reference's
brightness, so a brighter output is not counted as noisier.

    python benchmarks/irle_ablation.py --steps 2000 --threads 1   # about 2.5 h on one thread
    python benchmarks/irle_ablation.py --steps 2000 --data ../shared/data/<paired set>

Writes ``ablation.{md,json}`` under ``--report``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"

VARIANTS: dict[str, list[str]] = {
    "full": [],
    "no pseudo-GT": ["objective.args.pseudo_gt=0"],
    "no IAP": ["objective.args.iap=0"],
    "no SISC": ["objective.args.sisc=0"],
    "no gain prior (denoiser unmodulated)": ["model.args.gain_prior=false"],
    "no denoiser": ["model.args.denoiser=false"],
}
"""Variant name -> ``--set`` overrides of the recipe."""


def run_folder(root: Path, name: str) -> Path:
    """``root/<name up to its first ' ('>`` with spaces and dashes as underscores."""
    stem = name.split(" (")[0]
    for char in " -,/.":
        stem = stem.replace(char, "_")
    return root / stem


def train(
    name: str, overrides: list[str], steps: int, threads: int, root: Path, config: str
) -> Path:
    """Train one variant (or reuse its export); return the exported weights."""
    out = run_folder(root, name)
    if not list((out / "export").glob("*.safetensors")):
        cmd = [sys.executable, "-m", "lowlight", "train", config, "--out-dir", str(out)]
        cmd += ["--steps", str(steps), "-q"]
        for item in [f"train.threads={threads}", f"train.ckpt_every={steps}", "data.val=null"]:
            cmd += ["--set", item]
        for item in overrides:
            cmd += ["--set", item]
        if (out / "last.ckpt").exists():
            cmd.append("--resume")
        subprocess.run(cmd, check=True)
    return next((out / "export").glob("*.safetensors"))


def score(model: str, weights: Path, data: Path, report: Path) -> dict[str, float]:
    """Mean scores of exported weights on ``data`` from ``lowlight eval``."""
    cmd = [sys.executable, "-m", "lowlight", "eval", str(data), "-m", model]
    cmd += ["--weights", str(weights), "--out", str(report), "-q"]
    subprocess.run(cmd, check=True)
    return json.loads((report / "summary.json").read_text())["runs"][0]["means"]


def matched_noise(model, pairs: list, max_images: int | None) -> float:
    """Mean noise sigma (8-bit levels) of ``model``'s outputs scaled to their references'
    mean luma (see the module docstring)."""
    from lowlight.io import read_image
    from lowlight.metrics.noise_level import luma, noise_sigma

    sigmas = []
    for pair in pairs[:max_images]:
        out = np.asarray(model.enhance(read_image(pair.input).rgb), dtype=np.float64)
        ref = read_image(pair.target).rgb
        gain = luma(ref).mean() / max(luma(out).mean(), 1e-6)
        matched = np.round(np.clip(out * gain, 0, 1) * 255) / 255
        sigmas.append(noise_sigma(matched)[0])
    return float(np.mean(sigmas))


def without_denoiser(model_name: str, weights: Path):  # noqa: ANN201
    """The trained full model with its denoiser left out at inference (``denoiser=False``,
    the illumination network's weights loaded from ``weights``): what the denoiser removes,
    without training the no-denoiser variant."""
    from safetensors.torch import load_file

    import lowlight

    model = lowlight.build(model_name, denoiser=False)
    state = {k: v for k, v in load_file(str(weights)).items() if not k.startswith("denoiser.")}
    model.load_state_dict(state)
    return model.eval()


def command_line(args: argparse.Namespace, shown_data: str) -> str:
    """The command that rewrites this report: every option that differs from its default."""
    parts = ["python benchmarks/irle_ablation.py", f"--steps {args.steps}"]
    parts.append(f"--threads {args.threads}")
    if args.config != "irle_small_sice":
        parts.append(f"--config {args.config}")
    parts.append(f"--data {shown_data}")
    if args.runs != Path("runs/irle_ablation"):
        parts.append(f"--runs {args.runs}")
    if args.report != Path("benchmarks/results/irle_ablation"):
        parts.append(f"--report {args.report}")
    if args.only is not None:
        parts.append("--only " + " ".join(f"'{name}'" for name in args.only))
    return " ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--config", default="irle_small_sice")
    parser.add_argument("--data", type=Path, default=DATA / "lol_v1" / "eval15")
    parser.add_argument("--runs", type=Path, default=Path("runs/irle_ablation"))
    parser.add_argument("--report", type=Path, default=Path("benchmarks/results/irle_ablation"))
    parser.add_argument(
        "--only", nargs="*", default=None, help="variant names to run (default: all)"
    )
    parser.add_argument(
        "--noise-images", type=int, default=None, help="images for the noise table (default: all)"
    )
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    import lowlight
    from lowlight.data.pairs import find_pairs
    from lowlight.io import read_image
    from lowlight.metrics.noise_level import noise_sigma
    from lowlight.recipes import resolve_recipe
    from lowlight.train.config import load_config

    model_name = load_config(resolve_recipe(args.config)).model.name
    shown = os.path.relpath(args.data.resolve(), REPO)
    variants = {k: v for k, v in VARIANTS.items() if args.only is None or k in args.only}
    rows, weights = [], {}
    for name, overrides in variants.items():
        weights[name] = train(name, overrides, args.steps, args.threads, args.runs, args.config)
        scores = score(model_name, weights[name], args.data, run_folder(args.runs, name) / "eval")
        record = json.loads(weights[name].with_suffix(".json").read_text())
        rows.append(
            {
                "variant": name,
                "overrides": overrides,
                "steps": args.steps,
                "command": record["command"],
                **{k: scores[k] for k in ("psnr", "ssim", "psnr_gtmean", "ssim_gtmean")},
            }
        )

    pairs = find_pairs(args.data / "low", args.data / "high")
    enhancers = {"lucent (shipped weights)": lowlight.load("lucent"), "lime": lowlight.load("lime")}
    for name, label in (("full", "IRLE"), ("no denoiser", "IRLE without denoiser")):
        if name in weights:
            enhancers[label] = lowlight.load(model_name, weights=str(weights[name]))
    if "full" in weights:
        enhancers["IRLE, denoiser bypassed at inference"] = without_denoiser(
            model_name, weights["full"]
        )
    noise = {k: matched_noise(m, pairs, args.noise_images) for k, m in enhancers.items()}
    reference = float(
        np.mean([noise_sigma(read_image(p.target).rgb)[0] for p in pairs[: args.noise_images]])
    )

    args.report.mkdir(parents=True, exist_ok=True)
    result = {"data": shown, "steps": args.steps, "variants": rows, "noise": noise,
              "reference_noise": reference}  # fmt: skip
    (args.report / "ablation.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        f"# IRLE ablations: {args.steps} steps each ({args.config}), scored on {shown}",
        "",
        f"Command: `{command_line(args, shown)}`. Same recipe, seed and data order for every row; "
        "the flag of each row changed. Training commands per row in the JSON.",
        "",
        "| variant | PSNR | SSIM | PSNR (GT-mean) | SSIM (GT-mean) |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['variant']} | {r['psnr']:.2f} | {r['ssim']:.3f} | {r['psnr_gtmean']:.2f} | "
        f"{r['ssim_gtmean']:.3f} |"
        for r in rows
    ]
    lines += [
        "",
        "Noise left in the output at matched brightness (each output scaled to its reference's "
        "mean luma; `noise_sigma`, 8-bit levels, flattest 20 % of 16x16 blocks):",
        "",
        "| enhancer | noise sigma |",
        "|---|---|",
        *[f"| {k} | {v:.2f} |" for k, v in noise.items()],
        f"| (references) | {reference:.2f} |",
    ]
    (args.report / "ablation.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
