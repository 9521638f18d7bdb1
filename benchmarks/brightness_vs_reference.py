"""How well does a model's output brightness follow the reference's, image by image?

For every pair of a paired folder (default LOL-v1 eval15), the mean BT.601 luma of the input,
of the model's output (whole image, shipped weights) and of the reference. GT-mean scores
correct exactly this per-image gap, so the table tells whether a model's GT-mean deficit is
a global exposure bias (all outputs too dark or too bright) or a per-image disagreement that
the input alone cannot resolve.

    python benchmarks/brightness_vs_reference.py -m lucent
    python benchmarks/brightness_vs_reference.py -m lucent -m lime --threads 1
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"


def mean_luma(rgb: np.ndarray) -> float:
    """Mean BT.601 luma of ``(H, W, 3)`` sRGB in [0, 1]."""
    from lowlight.metrics.noise_level import luma

    return float(luma(rgb).mean())


def main(argv: list[str] | None = None) -> None:
    import lowlight
    from lowlight.data.pairs import find_pairs, resolve_paired_root
    from lowlight.io import read_image

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-m", "--model", action="append", required=True)
    parser.add_argument("--data", type=Path, default=DATA / "lol_v1" / "eval15")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    pairs = find_pairs(*resolve_paired_root(args.data))
    images = [(p.stem, read_image(p.input).rgb, read_image(p.target).rgb) for p in pairs]
    ref = np.array([mean_luma(hi) for _, _, hi in images])
    print(f"{len(images)} pairs in {args.data}; mean luma of inputs and references:")
    print(f"  input     mean {np.mean([mean_luma(lo) for _, lo, _ in images]):.3f}")
    print(f"  reference mean {ref.mean():.3f}, range {ref.min():.3f}-{ref.max():.3f}")
    for name in args.model:
        model = lowlight.load(name)
        out = np.array([mean_luma(model.enhance(lo)) for _, lo, _ in images])
        corr = float(np.corrcoef(out, ref)[0, 1])
        print(
            f"  {name:<15} mean {out.mean():.3f}, range {out.min():.3f}-{out.max():.3f}; "
            f"mean |output - reference| {np.abs(out - ref).mean():.3f}; correlation {corr:+.2f}"
        )


if __name__ == "__main__":
    main()
