"""Halo darkening of enhancers on paired data: the dark ring around bright regions.

For every ``--entry LABEL=MODEL[@WEIGHTS][?key=value&...]`` and every ``--data`` folder of
pairs (``low/`` and ``high/``), enhances each dark image and measures
:func:`lowlight.metrics.halo_darkening` against its reference (the percentage by which a
ring around the reference's bright regions comes out darker than the rest of the picture;
0 for a uniformly scaled reference). Images whose reference has no bright region are
skipped and counted. Writes ``OUT/report.md`` and ``OUT/summary.json``.

    python benchmarks/halo.py --entry lucent_sice=lucent@lucent_sice \\
        --entry lucent=lucent --data runs/sice_seq/val --data ../shared/data/lol_v1/eval15
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path

import numpy as np
import torch
from real_pairs import REPO, parse_entry


def halo_scores(model: torch.nn.Module | None, root: Path) -> dict[str, float]:
    """Mean, median and count of the halo darkening over the pairs under ``root``
    (``model=None``: the dark input itself, scaled to the reference's mean)."""
    from lowlight.data.pairs import find_pairs, resolve_paired_root
    from lowlight.io import read_image
    from lowlight.metrics import halo_darkening

    low, high = resolve_paired_root(root)
    values, skipped = [], 0
    for pair in find_pairs(low, high):
        dark = read_image(pair.input).rgb
        reference = read_image(pair.target).rgb
        if model is None:
            output = np.clip(dark * (reference.mean() / max(dark.mean(), 1e-6)), 0.0, 1.0)
        else:
            with torch.no_grad():
                output = model.enhance(dark)
        value = halo_darkening(output, reference)
        if value is None:
            skipped += 1
        else:
            values.append(value)
    return {
        "mean": float(np.mean(values)) if values else float("nan"),
        "median": float(np.median(values)) if values else float("nan"),
        "measured": len(values),
        "skipped": skipped,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entry", action="append", required=True, help="LABEL=MODEL[@WEIGHTS]")
    parser.add_argument("--data", action="append", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/halo")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import lowlight

    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    names = [os.path.relpath(d.resolve(), REPO) for d in args.data]
    summary: dict[str, dict] = {
        "input, gain-matched": {
            n: halo_scores(None, d) for n, d in zip(names, args.data, strict=True)
        }
    }
    for text in args.entry:
        label, name, weights, kwargs = parse_entry(text)
        model = lowlight.load(name, weights=weights, device="cpu", **kwargs)
        summary[label] = {n: halo_scores(model, d) for n, d in zip(names, args.data, strict=True)}
        print(label, json.dumps(summary[label]), flush=True)
    command = shlex.join(["python", "benchmarks/halo.py", *sys.argv[1:]])
    lines = [
        "# Halo darkening around bright regions (percent; 0 = none, lower is better)",
        "",
        f"Command: `{command}`. Metric: `lowlight.metrics.halo_darkening` (ring 1-5 % of the "
        "shorter side around reference luma >= 0.85, output/reference luma ratio in the ring "
        "against the rest). Mean over the pairs whose reference has a bright region (median "
        "and count beside). The first row is the dark input scaled to its reference's mean.",
        "",
        "| model | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for label, row in summary.items():
        cells = [
            f"{row[n]['mean']:.1f} (median {row[n]['median']:.1f}, {row[n]['measured']} images)"
            for n in names
        ]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps({**summary, "_command": command}, indent=1))
    (args.out / "report.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
