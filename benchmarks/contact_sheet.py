"""Contact sheet of several models on real dark photos (default: sci_samples), for looking.

One row per photo (the input first), one column per ``--entry LABEL=MODEL[@WEIGHTS][?k=v]``
(the syntax of ``benchmarks/real_pairs.py``). Writes a JPEG; numbers hide halos, lattices
and hue shifts that a look finds. The sheet shows the photos themselves, so it is
not committed: write it under the ignored ``runs/``.

    python benchmarks/contact_sheet.py --entry lime=lime --entry nalsuper=nalsuper_small \\
        --out runs/sheets/sci_samples_sheet.jpg
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from real_pairs import REPO, parse_entry

DEFAULT_PHOTOS = (
    "easy/0016.png",
    "medium/2062.jpg",
    "difficult/2015_02057.jpg",
    "difficult/NPE_89.png",
    "finetune/LIME_9.bmp",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entry", action="append", required=True)
    parser.add_argument("--samples", type=Path, default=REPO.parent / "shared/data/sci_samples")
    parser.add_argument("--photo", action="append", help="Paths relative to --samples.")
    parser.add_argument(
        "--every", type=int, default=0, help="Instead of --photo: every N-th photo."
    )
    parser.add_argument("--cell-height", type=int, default=200)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    import lowlight
    from lowlight.io import read_image
    from lowlight.visualize import grid_sheet

    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    if args.every:
        photos = sorted(p for p in args.samples.rglob("*") if p.is_file())[:: args.every]
    else:
        photos = [args.samples / p for p in (args.photo or DEFAULT_PHOTOS)]
    entries = [parse_entry(text) for text in args.entry]
    models = [lowlight.load(m, weights=w, device="cpu", **kw) for _, m, w, kw in entries]
    rows = []
    for path in photos:
        rgb = read_image(path).rgb
        outputs = [rgb]
        for model in models:
            with torch.no_grad():
                outputs.append(np.clip(model.enhance(rgb), 0, 1))
        rows.append((str(path.relative_to(args.samples)), outputs))
        print(path, flush=True)
    labels = ["input", *(label for label, *_ in entries)]
    sheet = grid_sheet(rows, labels=labels, cell_height=args.cell_height, gap=6)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out, quality=88)
    print(f"wrote {args.out} ({sheet.width}x{sheet.height})")


if __name__ == "__main__":
    main()
