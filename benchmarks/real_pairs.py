"""Real-pairs report: each model (and weights) on LOL-v1 eval15, SICE-seq val and sci_samples.

For every ``--entry LABEL=MODEL[@WEIGHTS]`` (weights: a shipped record name or a
.safetensors path; default: the model's shipped weights):

* **LOL-v1 eval15**, **SICE-seq val** (real pairs, ``lowlight sequence-pairs`` output,
  ``--sice``) and **SICE-synth val** (``--synth``: the SICE-seq val references darkened by
  ``lowlight synth --no-select --seed 123`` with its LOL-fitted defaults, i.e. LOL-deep
  darkness without LOL): PSNR / SSIM plain and GT-mean with the evaluation protocol
  (whole frames, 8-bit quantised, RGB PSNR, MATLAB SSIM), via
  :func:`lowlight.evaluation.pipeline.evaluate_model`. Recipes are chosen on the two SICE
  sets (their mean plain PSNR); LOL is scored once, after the choice;
* ``--also NAME=DIR``: more paired sets, one column each (e.g. SICE-seq val with the
  exposure-fusion references, ``lowlight sequence-pairs --reference fusion``);
* **sci_samples guards**, per subset and overall: the fraction of output pixels whose 8-bit
  BT.601 luma is >= 250 (clipped to white), the fraction <= 5 (crushed), and NIQE, beside the
  same figures for the untouched inputs.

Writes ``OUT/report.md`` and ``OUT/summary.json``; the tables are the ones in the README.

    python benchmarks/real_pairs.py --entry synthetic=nalsuper_small@nalsuper_small_synth \\
        --entry mixed=nalsuper_small@runs/nalsuper_small_mixed/export/nalsuper_small_mixed.safetensors
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
SUBSETS = ("easy", "medium", "difficult", "finetune")


def parse_entry(text: str) -> tuple[str, str, str, dict[str, object]]:
    """``LABEL=MODEL[@WEIGHTS][?key=value&...]`` -> (label, model, weights, constructor args)."""
    import yaml

    label, _, spec = text.partition("=")
    spec, _, query = spec.partition("?")
    model, _, weights = spec.partition("@")
    if not label or not model:
        raise SystemExit(f"--entry must be LABEL=MODEL[@WEIGHTS][?k=v&...], got {text!r}")
    kwargs = {}
    for item in filter(None, query.split("&")):
        key, _, value = item.partition("=")
        kwargs[key] = yaml.safe_load(value)
    return label, model, weights or "default", kwargs


def paired_scores(model: torch.nn.Module, root: Path, label: str) -> dict[str, float]:
    from lowlight.data.pairs import find_pairs, resolve_paired_root
    from lowlight.evaluation.pipeline import evaluate_model

    low, high = resolve_paired_root(root)
    run = evaluate_model(model, find_pairs(low, high), metrics=("psnr", "ssim"), label=label)
    if run.failures:
        raise SystemExit(f"{label}: {len(run.failures)} image(s) failed on {root}")
    return run.means()


def guard_figures(images: list[np.ndarray]) -> dict[str, float]:
    """Clipped and crushed pixel fractions (8-bit luma >= 250 / <= 5) and mean NIQE."""
    from lowlight.metrics import niqe, quantize_uint8

    clipped, crushed, count, niqes = 0, 0, 0, []
    for rgb in images:
        q = quantize_uint8(rgb).astype(np.float64)
        luma = q @ np.array([0.299, 0.587, 0.114])
        clipped += int((luma >= 250).sum())
        crushed += int((luma <= 5).sum())
        count += luma.size
        niqes.append(float(niqe(rgb)))
    return {"clipped": clipped / count, "crushed": crushed / count, "niqe": float(np.mean(niqes))}


def sci_samples(model: torch.nn.Module | None, root: Path) -> dict[str, dict[str, float]]:
    from lowlight.io import read_image

    out, every = {}, []
    for subset in SUBSETS:
        images = []
        for path in sorted((root / subset).iterdir()):
            rgb = read_image(path).rgb
            if model is not None:
                with torch.no_grad():
                    rgb = model.enhance(rgb)
            images.append(rgb)
        out[subset] = guard_figures(images)
        every += images
    out["all"] = guard_figures(every)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entry", action="append", required=True, help="LABEL=MODEL[@WEIGHTS]")
    parser.add_argument("--lol", type=Path, default=REPO.parent / "shared/data/lol_v1/eval15")
    parser.add_argument("--sice", type=Path, default=REPO / "runs/sice_seq/val")
    parser.add_argument("--synth", type=Path, default=REPO / "runs/sice_synth_val")
    parser.add_argument(
        "--also", action="append", default=[], metavar="NAME=DIR", help="another paired set"
    )
    parser.add_argument("--samples", type=Path, default=REPO.parent / "shared/data/sci_samples")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/real_pairs")
    parser.add_argument("--no-lol", action="store_true", help="Skip LOL (recipe selection).")
    parser.add_argument("--no-samples", action="store_true", help="Skip the sci_samples guards.")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--rebuild-report",
        action="store_true",
        help="Only rewrite OUT/report.md from OUT/summary.json (keeps the recorded command).",
    )
    args = parser.parse_args()
    also_sets = {}
    for item in args.also:
        name_of_set, sep, root = item.partition("=")
        if not sep or not name_of_set or not root:
            raise SystemExit(f"--also needs NAME=DIR, got {item!r}")
        also_sets[name_of_set] = Path(root)
    if args.rebuild_report:
        summary = json.loads((args.out / "summary.json").read_text())
        (args.out / "report.md").write_text(report(summary, args, summary.pop("_command", None)))
        return

    import lowlight

    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    summary: dict[str, dict] = {}
    if not args.no_samples:
        summary["input"] = {"sci_samples": sci_samples(None, args.samples)}
    for text in args.entry:
        label, name, weights, kwargs = parse_entry(text)
        model = lowlight.load(name, weights=weights, device="cpu", **kwargs)
        row: dict[str, object] = {"model": name, "weights": weights, "args": kwargs}
        if not args.no_lol:
            row["lol"] = paired_scores(model, args.lol, label)
        row["sice"] = paired_scores(model, args.sice, label)
        row["synth"] = paired_scores(model, args.synth, label)
        for name_of_set, root in also_sets.items():
            row.setdefault("also", {})[name_of_set] = paired_scores(model, root, label)
        if not args.no_samples:
            row["sci_samples"] = sci_samples(model, args.samples)
        summary[label] = row
        print(label, json.dumps(row), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    command = shlex.join(["python", "benchmarks/real_pairs.py", *sys.argv[1:]])
    (args.out / "summary.json").write_text(json.dumps({**summary, "_command": command}, indent=1))
    (args.out / "report.md").write_text(report(summary, args, command))


def report(summary: dict[str, dict], args: argparse.Namespace, command: str | None) -> str:
    summary = {k: v for k, v in summary.items() if not k.startswith("_")}
    also = list(dict.fromkeys(k for row in summary.values() for k in row.get("also", {})))
    headers = ["entry", "model @ weights", "LOL-v1 eval15", "SICE-seq val", "SICE-synth val", *also]
    lines = [
        "# Real pairs: LOL-v1 eval15, SICE-seq val and the sci_samples guards",
        "",
        f"Command: `{command}`",
        "",
        "Each set: PSNR / SSIM / PSNR GT-mean / SSIM GT-mean.",
        "",
        "| " + " | ".join(headers) + " |",
        "|" + "---|" * len(headers),
    ]
    for label, row in summary.items():
        if label == "input":
            continue
        cells = []
        extra = row.get("also", {})
        for scores in [row.get("lol"), row.get("sice"), row.get("synth"), *map(extra.get, also)]:
            cells.append(
                "{psnr:.2f} / {ssim:.3f} / {psnr_gtmean:.2f} / {ssim_gtmean:.3f}".format(**scores)
                if scores
                else "-"
            )
        args = "".join(f" {k}={v}" for k, v in row.get("args", {}).items())
        lines.append(
            f"| {label} | `{row['model']}` @ `{row['weights']}`{args} | " + " | ".join(cells) + " |"
        )
    if "input" in summary:
        lines += [
            "",
            "sci_samples guards (34 real dark photos; clipped = 8-bit luma >= 250, crushed = <= 5; "
            "NIQE lower is better, and it also punishes denoising: a guard, not a target):",
            "",
            "| entry | "
            + " | ".join(f"{s} clipped / crushed / NIQE" for s in (*SUBSETS, "all"))
            + " |",
            "|---|" + "---|" * (len(SUBSETS) + 1),
        ]
        for label, row in summary.items():
            guards = row.get("sci_samples")
            if not guards:
                continue
            cells = [
                f"{g['clipped']:.1%} / {g['crushed']:.1%} / {g['niqe']:.2f}"
                for g in (guards[s] for s in (*SUBSETS, "all"))
            ]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
