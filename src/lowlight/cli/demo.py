"""``lowlight demo``: darken sample photos that scikit-image ships, enhance them with the
default model, and write the results and a before/after contact sheet. Offline; uses
nothing outside the installed packages."""

from __future__ import annotations

from pathlib import Path

import click

from lowlight.api import DEFAULT_MODEL
from lowlight.cli._common import load_model_from_options, model_options

SAMPLES = (
    "astronaut.png",
    "chelsea.png",
    "coffee.png",
    "rocket.jpg",
    "motorcycle_left.png",
    "retina.jpg",
)
"""Colour sample photos that ship inside the scikit-image wheel (``skimage/data/``); read as
files so no download hook of scikit-image can run."""


@click.command("demo")
@click.option(
    "--output",
    "-o",
    "out_dir",
    default="demo_out",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
)
@model_options(DEFAULT_MODEL)
@click.option("--seed", default=0, show_default=True, help="Seed of the darkening draws.")
@click.option("--overwrite/--no-overwrite", default=True, show_default=True)
def command(
    out_dir: Path,
    model_name: str,
    weights: str,
    device: str,
    model_args: tuple[str, ...],
    seed: int,
    overwrite: bool,
) -> None:
    """Synthesise dark photos, enhance them and write a contact sheet to OUTPUT."""
    import numpy as np

    from lowlight._optional import require
    from lowlight.data.synthesis import LowLightSynthesizer
    from lowlight.inference.files import enhance_files
    from lowlight.io import read_image, write_image
    from lowlight.visualize import contact_sheet

    skimage = require("skimage", extra="demo", feature="the demo's sample photos")
    data_dir = Path(skimage.__file__).parent / "data"
    rng = np.random.default_rng(seed)
    synth = LowLightSynthesizer(exposure_range=(0.03, 0.12))
    dark_dir, out_enh = out_dir / "dark", out_dir / "enhanced"
    pairs = []
    for filename in SAMPLES:
        name = Path(filename).stem
        dark, params = synth(read_image(data_dir / filename).rgb, rng)
        src = write_image(dark_dir / f"{name}.png", dark, overwrite=overwrite)
        pairs.append((src, out_enh / f"{name}.png"))
        click.echo(
            f"darkened {name}: exposure x{params.exposure:.3f}, shot noise {params.shot:.1e}"
        )
    model = load_model_from_options(model_name, weights, device, model_args)
    summary = enhance_files(model, pairs, overwrite=overwrite)
    click.echo(f"{model_name} on {model.device}: {summary.line()}")
    rows = [
        (src.stem, read_image(src).rgb, read_image(dst).rgb) for src, dst in pairs if dst.exists()
    ]
    sheet_path = out_dir / "contact_sheet.jpg"
    write_image(
        sheet_path,
        np.asarray(
            contact_sheet(rows, labels=("dark (synthesised)", f"enhanced: {model_name}")),
            dtype=np.float32,
        )
        / 255.0,
        overwrite=True,
        quality=90,
    )
    click.echo(f"contact sheet: {sheet_path}")
    if summary.failed:
        raise SystemExit(1)
