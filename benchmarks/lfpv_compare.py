"""Backbone against backbone + LFPV at equal budget, scored with ``lowlight eval``.

For each backbone (``--backbone``, repeatable) and seed (``--seeds``), trains
``configs/<backbone>_synth_lfpv.yaml`` twice for ``--steps`` steps: once as it is (LFPV) and
once with ``--set plugins=[]`` (plain). Everything else is the same recipe: objective,
optimiser, schedule, steps, batch, and, through the seed, the backbone's initialisation
(the plug-in is built after the backbone) and the data stream (each sample's crop,
augmentation and darkening are keyed by the seed and the sample, not by the model). The
trainer's own validation is off; each export is scored with ``lowlight eval`` (whole
frames, 8-bit quantised, RGB PSNR and MATLAB SSIM, GT-mean beside) on LOL-v1 eval15 and on
every ``--data DIR`` (paired folders, e.g. SICE-seq val). A run folder that already holds
exported weights is scored without retraining (a stopped run resumes).

Writes ``<tag>.md`` and ``<tag>.json`` under ``--report`` (default
``benchmarks/results/lfpv``): per run the scores, the parameters LFPV adds at inference
(tensor elements of the LFPV export minus the plain one's) and the training seconds per
step (from ``log.csv``, the first logged interval excluded as warm-up), then the mean gain
per backbone and data set.

    python benchmarks/lfpv_compare.py --backbone mirnet_small --seeds 0 1 --steps 4500 --threads 1
    python benchmarks/lfpv_compare.py --backbone nalsuper_small --seeds 0 --steps 8000 \\
        --data ../shared/data/sice_seq/val --threads 1
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
from pathlib import Path
from statistics import mean

REPO = Path(__file__).resolve().parents[1]
LOL = REPO.parent / "shared" / "data" / "lol_v1" / "eval15"
METRICS = ("psnr", "ssim", "psnr_gtmean", "ssim_gtmean")
VARIANTS = {"plain": ["plugins=[]"], "lfpv": []}
"""Variant -> ``--set`` overrides of the LFPV recipe."""


def train(backbone: str, variant: str, seed: int, steps: int, threads: int, root: Path) -> Path:
    """Train one run (or reuse / resume it); return its exported weights."""
    out = root / f"{backbone}_{variant}_seed{seed}_{steps}"
    exported = list((out / "export").glob("*.safetensors"))
    if exported:
        return exported[0]
    config = REPO / "configs" / f"{backbone}_synth_lfpv.yaml"
    cmd = [sys.executable, "-m", "lowlight", "train", str(config), "--out-dir", str(out)]
    cmd += ["--steps", str(steps), "-q"]
    log_every = max(1, min(25, steps // 4))
    for item in [
        f"name={backbone}_{variant}_seed{seed}",
        f"seed={seed}",
        f"train.threads={threads}",
        f"train.ckpt_every={min(250, steps)}",
        f"train.log_every={log_every}",
        "data.val=null",
        *VARIANTS[variant],
    ]:
        cmd += ["--set", item]
    if (out / "last.ckpt").exists():
        cmd.append("--resume")
    subprocess.run(cmd, check=True, cwd=REPO)
    return next((out / "export").glob("*.safetensors"))


def score(backbone: str, weights: Path, data: Path, report: Path) -> dict[str, float]:
    """Mean protocol scores of ``weights`` on the paired folder ``data``."""
    cmd = [sys.executable, "-m", "lowlight", "eval", str(data), "-m", backbone]
    cmd += ["--weights", str(weights), "--device", "cpu", "--out", str(report), "-q"]
    subprocess.run(cmd, check=True, cwd=REPO)
    means = json.loads((report / "summary.json").read_text())["runs"][0]["means"]
    return {k: float(means[k]) for k in METRICS}


def seconds_per_step(run: Path) -> float:
    """Training seconds per step from ``log.csv``, the first logged interval excluded."""
    with open(run / "log.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if len(rows) < 2:
        return float(rows[-1]["seconds"]) / int(rows[-1]["step"])
    first, last = rows[0], rows[-1]
    return (float(last["seconds"]) - float(first["seconds"])) / (
        int(last["step"]) - int(first["step"])
    )


def tensor_elements(weights: Path) -> int:
    """Total tensor elements of an exported weight file."""
    from safetensors.torch import load_file

    return sum(t.numel() for t in load_file(str(weights)).values())


def name_of(data: Path) -> str:
    """``lol_v1/eval15`` for ``../shared/data/lol_v1/eval15``: the last two folder names."""
    return "/".join(data.resolve().parts[-2:])


def compare(args: argparse.Namespace) -> list[dict]:
    datasets = [LOL, *args.data]
    rows = []
    for backbone in args.backbone:
        for seed in args.seeds:
            exports = {}
            for variant in VARIANTS:
                weights = train(backbone, variant, seed, args.steps, args.threads, args.runs)
                exports[variant] = weights
                run = weights.parent.parent
                scores = {
                    name_of(d): score(
                        backbone, weights, d, run / "eval" / name_of(d).replace("/", "_")
                    )
                    for d in datasets
                }
                rows.append(
                    {
                        "backbone": backbone,
                        "variant": variant,
                        "seed": seed,
                        "steps": args.steps,
                        "sec_per_step": seconds_per_step(run),
                        "weights": os.path.relpath(weights, REPO),
                        "scores": scores,
                    }
                )
            added = tensor_elements(exports["lfpv"]) - tensor_elements(exports["plain"])
            for row in rows[-2:]:
                row["params_added"] = added if row["variant"] == "lfpv" else 0
    return rows


def table(rows: list[dict], args: argparse.Namespace) -> str:
    sets = list(rows[0]["scores"])
    shown = [os.path.relpath(Path(d).resolve(), REPO) for d in [LOL, *args.data]]
    lines = [
        f"# Backbone vs backbone + LFPV, {args.steps} steps each, seeds {' '.join(map(str, args.seeds))}",
        "",
        f"Command: `python benchmarks/lfpv_compare.py {' '.join(f'--backbone {b}' for b in args.backbone)} "
        f"--seeds {' '.join(map(str, args.seeds))} --steps {args.steps} --threads {args.threads}"
        f"{''.join(f' --data {d}' for d in shown[1:])}`. Recipe configs/<backbone>_synth_lfpv.yaml, "
        "plain = the same with `plugins=[]`; same seed, steps and data stream per pair. "
        "Scores by `lowlight eval` (8-bit, RGB PSNR / MATLAB SSIM; GT-mean beside).",
        "",
    ]
    header = "| backbone | seed | variant | " + " | ".join(
        f"{s} PSNR | {s} SSIM | {s} PSNR GT-mean | {s} SSIM GT-mean" for s in sets
    )
    header += " | params added at inference | train s/step |"
    lines += [header, "|" + "---|" * (header.count("|") - 1)]
    for r in rows:
        cells = " | ".join(
            f"{r['scores'][s]['psnr']:.2f} | {r['scores'][s]['ssim']:.3f} | "
            f"{r['scores'][s]['psnr_gtmean']:.2f} | {r['scores'][s]['ssim_gtmean']:.3f}"
            for s in sets
        )
        lines.append(
            f"| {r['backbone']} | {r['seed']} | {r['variant']} | {cells} | "
            f"{r['params_added']:,} | {r['sec_per_step']:.3f} |"
        )
    lines += ["", "Mean gain of LFPV over plain (over seeds):", ""]
    lines += [
        "| backbone | data | PSNR gain (dB) | SSIM gain | PSNR GT-mean gain | cost per step |"
    ]
    lines += ["|---|---|---|---|---|---|"]
    for backbone in args.backbone:
        pairs = [
            (p, q)
            for p in rows
            for q in rows
            if p["backbone"] == q["backbone"] == backbone
            and p["seed"] == q["seed"]
            and p["variant"] == "plain"
            and q["variant"] == "lfpv"
        ]
        cost = mean(q["sec_per_step"] / p["sec_per_step"] for p, q in pairs)
        for s in sets:
            gain = {
                m: mean(q["scores"][s][m] - p["scores"][s][m] for p, q in pairs) for m in METRICS
            }
            lines.append(
                f"| {backbone} | {s} | {gain['psnr']:+.2f} | {gain['ssim']:+.3f} | "
                f"{gain['psnr_gtmean']:+.2f} | x{cost:.2f} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--backbone", action="append", choices=["mirnet_small", "nalsuper_small"], default=None
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--data", type=Path, action="append", default=[], help="extra paired set")
    parser.add_argument("--runs", type=Path, default=REPO / "runs" / "lfpv_compare")
    parser.add_argument("--report", type=Path, default=REPO / "benchmarks" / "results" / "lfpv")
    parser.add_argument("--tag", default=None, help="report name (default: compare_<steps>)")
    args = parser.parse_args()
    args.backbone = args.backbone or ["mirnet_small"]
    args.runs = args.runs.resolve()
    rows = compare(args)
    text = table(rows, args)
    tag = args.tag or f"compare_{args.steps}"
    args.report.mkdir(parents=True, exist_ok=True)
    (args.report / f"{tag}.json").write_text(json.dumps(rows, indent=2) + "\n")
    (args.report / f"{tag}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
