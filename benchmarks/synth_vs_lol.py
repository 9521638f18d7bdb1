"""Do synthesised dark images look like real ones? Brightness and noise, side by side.

Compares three sets (report only; nothing is fitted):

* ``synthetic``: the first ``--sources`` well-exposed frames of SICE Part1 (the default
  :class:`~lowlight.data.synthetic_pairs.SourceSelection`), each darkened once with the
  default :class:`~lowlight.data.synthesis.LowLightSynthesizer` (seed ``--seed``, per source
  as ``lowlight synth`` seeds it) and rounded to 8 bits;
* ``synthetic, no noise``: the same draws without shot/read noise, the estimator's floor
  (texture, JPEG residue of the sources, ADC and 8-bit rounding);
* ``LOL eval15 low``: the 15 real low-light inputs of LOL-v1's test set.

Statistics per image, then summarised over the set (median and 10th-90th percentiles):

* **mean luma**: BT.601 luma of the sRGB values, averaged over the image;
* **noise sigma** (8-bit levels): :func:`lowlight.metrics.noise_level.noise_sigma`, the
  robust std of Immerkaer's Laplacian-difference residual of the luma in the flattest 20 %
  of 16x16 blocks (a noise-free 8-bit image reads about 0);
* **flat-block luma**: mean luma of those flat blocks (noise in sRGB grows as the signal
  shrinks, so the brightness of where it is measured matters).

    python benchmarks/synth_vs_lol.py --sources 100
    python benchmarks/synth_vs_lol.py --sources 100 --set 'exposure_range=[0.01, 0.1]'
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"


def image_stats(rgb: np.ndarray) -> dict[str, float]:
    from lowlight.metrics.noise_level import luma, noise_sigma

    sigma, flat_luma = noise_sigma(rgb)
    return {"mean_luma": float(luma(rgb).mean()), "noise_sigma": sigma, "flat_luma": flat_luma}


def synthetic_sets(
    root: Path, sources: int, seed: int, options: dict[str, object]
) -> dict[str, list[dict[str, float]]]:
    from lowlight.cli.synth import pair_seed
    from lowlight.data.synthesis import LowLightSynthesizer
    from lowlight.data.synthetic_pairs import SourceSelection, judge_image, list_sources, quantize

    synth = LowLightSynthesizer.from_dict(options)
    quiet = synth.without_noise()
    noisy: list[dict[str, float]] = []
    clean: list[dict[str, float]] = []
    selection = SourceSelection()
    for path, name in list_sources(root):
        if len(noisy) >= sources:
            break
        verdict, rgb = judge_image(path, name, selection)
        if not verdict.selected or rgb is None:
            continue
        rng_seed = pair_seed(seed, name)
        dark, params = synth(rgb, np.random.default_rng(rng_seed))
        noisy.append(image_stats(quantize(dark, 8)))
        no_noise = dataclasses.replace(params, shot=0.0, read=0.0)
        plain = quiet.apply(rgb, no_noise, np.random.default_rng(rng_seed))
        clean.append(image_stats(quantize(plain, 8)))
    label = "default synthesizer" if not options else "synthesizer with --set"
    return {f"synthetic (SICE, {label})": noisy, "synthetic, no noise": clean}


def parse_sets(pairs: list[str]) -> dict[str, object]:
    """``["shot_range=[1e-4, 2e-3]", ...]`` -> synthesizer options (values parsed as YAML)."""
    import yaml

    options: dict[str, object] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--set expects KEY=VALUE, got {pair!r}")
        options[key.strip()] = yaml.safe_load(value)
    return options


def folder_stats(folder: Path) -> list[dict[str, float]]:
    from lowlight.io import list_images, read_image

    return [image_stats(read_image(path).rgb) for path, _ in list_images([folder])]


def summarise(rows: list[dict[str, float]], key: str) -> str:
    values = np.array([r[key] for r in rows])
    p10, p50, p90 = np.percentile(values, [10, 50, 90])
    fmt = "{:.3f}" if key != "noise_sigma" else "{:.2f}"
    return f"{fmt.format(p50)} [{fmt.format(p10)}-{fmt.format(p90)}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=100, help="synthetic images (SICE sources)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sice", type=Path, default=DATA / "sice_part1")
    parser.add_argument("--lol", type=Path, default=DATA / "lol_v1" / "eval15" / "low")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="synthesizer option to override, e.g. --set 'exposure_range=[0.01, 0.1]'",
    )
    args = parser.parse_args()
    options = parse_sets(args.set)
    if options:
        print(f"synthesizer options: {options}")

    start = time.perf_counter()
    sets = synthetic_sets(args.sice, args.sources, args.seed, options)
    sets["LOL eval15 low (real)"] = folder_stats(args.lol)
    header = f"{'set':40s} {'n':>4s}  {'mean luma':>22s}  {'noise sigma (8-bit)':>22s}  "
    header += f"{'flat-block luma':>22s}"
    print("median [10th-90th percentile] over the images of each set")
    print(header)
    print("-" * len(header))
    for name, rows in sets.items():
        print(
            f"{name:40s} {len(rows):4d}  {summarise(rows, 'mean_luma'):>22s}  "
            f"{summarise(rows, 'noise_sigma'):>22s}  {summarise(rows, 'flat_luma'):>22s}"
        )
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
