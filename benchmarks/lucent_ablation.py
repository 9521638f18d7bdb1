"""LucentVisionNet variants from short runs of equal length: the seed's ablations, and the
recipe search that chose the shipped settings.

Each variant trains ``src/lowlight/recipes/lucent_sice.yaml`` for ``--steps`` steps with its flags
changed (the trainer's own validation off), then ``lowlight eval`` scores its exported
weights on ``--data`` (full frames, 8-bit quantised, RGB PSNR and MATLAB SSIM,
GT-mean beside). A variant whose run folder already holds exported weights is scored
without retraining. Writes ``<set>.md`` and ``<set>.json`` under ``--report``.

* ``--set ablation`` (default): the seed's ablations (loss terms, scales, iterations),
  scored on LOL-v1 eval15.
* ``--set recipe``: the variants the 128x128-crop recipe was chosen among, scored on
  synthetic pairs made from SICE, never on LOL (make them first with
  ``lowlight synth ../shared/data/sice_part1 -o runs/synth_val --max-sources 40 --seed 123``).
* ``--set whole_frame``: the exposure objectives the whole-frame recipe
  (``lucent_sice_whole``) was chosen among, each fine-tuned from the shipped ``lucent_sice``
  weights, scored on SICE-seq val (real pairs of held-out SICE scenes; make them with
  ``lowlight sequence-pairs ../shared/data/sice_part1 -o runs/sice_seq --split val``).
* ``--set ablation_whole``: the seed's ablations and the global exposure term on/off on
  the whole-frame recipe (``--config lucent_sice_whole``), each a fine-tune of
  ``lucent_sice`` like the recipe; single scale is missing, as its network (one stream)
  cannot start from those weights.

    python benchmarks/lucent_ablation.py --steps 1500 --threads 1
    python benchmarks/lucent_ablation.py --set recipe --data runs/synth_val --steps 1500 --threads 1
    python benchmarks/lucent_ablation.py --set whole_frame --data runs/sice_seq/val --steps 600 --threads 1
    python benchmarks/lucent_ablation.py --set ablation_whole --config lucent_sice_whole \
        --steps 1000 --threads 1
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"

VARIANT_SETS: dict[str, dict[str, list[str]]] = {
    "ablation": {
        "full (all six terms, 3 scales, 8 iterations)": [],
        "no L_NR": ["objective.args.nr=0"],
        "no L_seg (semantic term off)": ["objective.args.semantic_net=null"],
        "single scale (1x only)": ["model.args.scales=[1]"],
        "1 iteration": ["model.args.iterations=1"],
    },
    "recipe": {
        "exposure patch 16 (Zero-DCE's; the previous recipe)": ["objective.args.exposure_patch=16"],
        "exposure patch 64 (shipped)": [],
        "exposure patch 128 (the whole crop)": ["objective.args.exposure_patch=128"],
        "no semantic term": ["objective.args.semantic_net=null"],
        "curve smoothness 800": ["objective.args.smoothness=800"],
        "no semantic term, exposure level 0.7": [
            "objective.args.semantic_net=null",
            "objective.args.exposure_level=0.7",
        ],
        "semantic reference by linear-light gain": [
            "objective.args.semantic_args={reference: exposure}"
        ],
    },
    "whole_frame": {
        "patch exposure only (64x64 patches, level 0.6)": [
            "objective.args.global_exposure=0",
        ],
        "global exposure only (frame mean 0.5)": [
            "objective.args.exposure=0",
        ],
        "patch and global exposure": [],
        "global exposure only, frame mean 0.6": [
            "objective.args.exposure=0",
            "objective.args.global_exposure_level=0.6",
        ],
        "global exposure only, frame mean 0.65": [
            "objective.args.exposure=0",
            "objective.args.global_exposure_level=0.65",
        ],
        "global exposure only, frame mean 0.7": [
            "objective.args.exposure=0",
            "objective.args.global_exposure_level=0.7",
        ],
        "global exposure only, frame median 0.5": [
            "objective.args.exposure=0",
            "objective.args.global_exposure_level=0.5",
            "objective.args.global_exposure_quantile=0.5",
        ],
        "global exposure only, frame median 0.55": [
            "objective.args.exposure=0",
            "objective.args.global_exposure_level=0.55",
            "objective.args.global_exposure_quantile=0.5",
        ],
    },
    "ablation_whole": {
        "full (global exposure 0.6, 3 scales, 8 iterations)": [],
        "no L_NR": ["objective.args.nr=0"],
        "no L_seg (semantic term off)": ["objective.args.semantic_net=null"],
        "1 iteration": ["model.args.iterations=1"],
        "no global exposure term (patch term instead)": [
            "objective.args.global_exposure=0",
            "objective.args.exposure=10",
        ],
    },
}
"""Variant name -> ``--set`` overrides of the recipe, per set."""

WHOLE_FRAME = [
    "data.train.crop=512",
    "data.train.args={holdout_sequences: true}",
    "data.train.batch_size=4",
    "model.args.curve_max_side=128",
    "objective.args.perceptual_max_side=128",
    "objective.args.global_exposure=10",
    "objective.args.global_exposure_level=0.5",
]
"""The whole-frame data and objective the ``whole_frame`` variants share (on ``lucent_sice``)."""

SET_BASE: dict[str, list[str]] = {
    "whole_frame": ["model.init=lucent_sice", "optim.lr=5.0e-4", *WHOLE_FRAME],
}
"""Overrides applied before each variant's own, per set."""


def score(weights: Path, data: Path, report: Path) -> dict[str, float]:
    """Mean scores of exported lucent ``weights`` on ``data`` from ``lowlight eval``."""
    cmd = [sys.executable, "-m", "lowlight", "eval", str(data), "-m", "lucent"]
    cmd += ["--weights", str(weights), "--out", str(report), "-q"]
    subprocess.run(cmd, check=True)
    return json.loads((report / "summary.json").read_text())["runs"][0]["means"]


def run_folder(root: Path, name: str) -> Path:
    """``root/<name up to its first ' ('>`` with spaces, commas and slashes as underscores."""
    stem = name.split(" (")[0]
    for char in " ,/.":
        stem = stem.replace(char, "_")
    return root / stem.replace("__", "_")


def run_variant(
    name: str,
    overrides: list[str],
    steps: int,
    threads: int,
    root: Path,
    config: str,
    data: Path,
) -> dict:
    out = run_folder(root, name)
    cmd = [sys.executable, "-m", "lowlight", "train", config, "--out-dir", str(out)]
    cmd += ["--steps", str(steps), "-q"]
    for item in [
        f"train.threads={threads}",
        f"train.ckpt_every={steps}",
        "data.val=null",
        *overrides,
    ]:
        cmd += ["--set", item]
    if not list((out / "export").glob("*.safetensors")):
        if (out / "last.ckpt").exists():
            cmd.append("--resume")
        subprocess.run(cmd, check=True)
    weights = next((out / "export").glob("*.safetensors"))
    record = json.loads(weights.with_suffix(".json").read_text())
    scores = score(weights, data, out / "eval")
    return {
        "variant": name,
        "overrides": overrides,
        "steps": steps,
        "command": record["command"],
        **{k: scores[k] for k in ("psnr", "ssim", "psnr_gtmean", "ssim_gtmean")},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--set", dest="variant_set", choices=sorted(VARIANT_SETS), default="ablation"
    )
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument(
        "--only", action="append", default=None, help="Run only the variants starting with this."
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--config", default="lucent_sice")
    parser.add_argument("--data", type=Path, default=DATA / "lol_v1" / "eval15")
    parser.add_argument("--runs", type=Path, default=None, help="default: runs/lucent_<set>")
    parser.add_argument("--report", type=Path, default=Path("benchmarks/results/lucent_ablation"))
    args = parser.parse_args()
    runs = args.runs or Path(f"runs/lucent_{args.variant_set}")
    shown = os.path.relpath(args.data.resolve(), REPO)  # ../shared/... from the repository root
    base = SET_BASE.get(args.variant_set, [])
    rows = [
        run_variant(n, [*base, *o], args.steps, args.threads, runs, args.config, args.data)
        for n, o in VARIANT_SETS[args.variant_set].items()
        if args.only is None or any(n.startswith(prefix) for prefix in args.only)
    ]
    args.report.mkdir(parents=True, exist_ok=True)
    (args.report / f"{args.variant_set}.json").write_text(json.dumps(rows, indent=2) + "\n")
    lines = [
        f"# LucentVisionNet, {args.variant_set} variants: {args.steps} steps each on SICE Part1, "
        f"scored on {shown}",
        "",
        f"Command: `python benchmarks/lucent_ablation.py --set {args.variant_set} --data {shown} "
        f"--steps {args.steps} --threads {args.threads} --config {args.config}"
        + "".join(f" --only '{prefix}'" for prefix in args.only or [])
        + "`. Same recipe, "
        "seed and data order for every row; the flags of each row changed"
        + (f" (after the set's own: `{' '.join(base)}`)" if base else "")
        + ". Training commands per row in the JSON.",
        "",
        "| variant | PSNR | SSIM | PSNR (GT-mean) | SSIM (GT-mean) |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['variant']} | {r['psnr']:.2f} | {r['ssim']:.3f} | {r['psnr_gtmean']:.2f} | "
        f"{r['ssim_gtmean']:.3f} |"
        for r in rows
    ]
    (args.report / f"{args.variant_set}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
