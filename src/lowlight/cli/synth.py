"""``lowlight synth``: turn well-exposed photos into low-light / normal pairs (LOL layout).

For every source (files, folders searched recursively, globs) the command reads the image,
judges its exposure (:class:`~lowlight.data.synthetic_pairs.SourceSelection`: mean luma in
``[--min-mean, --max-mean]``, crushed and blown pixel fractions at most ``--max-clipped``),
and for each selected source writes ``--per-source`` pairs:

* ``OUT/high/<name>.png``: the source (downscaled to ``--size`` on its longer side if
  larger), 8-bit;
* ``OUT/low/<name>.png``: its darkened version from
  :class:`~lowlight.data.synthesis.LowLightSynthesizer`, 8-bit.

``<name>`` is the source's path relative to its input folder without extension (folders
joined by ``__``), plus ``_<k>`` when ``--per-source`` is above 1. Each pair's darkening is
seeded by ``seed = f(--seed, name)`` (independent of the other sources, so adding photos to
the folder does not change existing pairs); ``params.csv`` records it with the draws, and
``LowLightSynthesizer(**synth.json["synthesizer"])(high, numpy.random.default_rng(seed))``
reproduces the low image before 8-bit rounding.

Also written: ``params.csv`` (one row per pair: name, source, variant, seed, exposure, gain_r,
gain_b, shot, read, height, width), ``sources.csv`` (every examined source with its
statistics and verdict) and ``synth.json`` (settings, command, counts). Every file is
written atomically; nothing is replaced without ``--overwrite``.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import shlex
import sys
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from lowlight.data.synthesis import LowLightSynthesizer
from lowlight.errors import LowlightError

if TYPE_CHECKING:
    import numpy as np

    from lowlight.data.synthetic_pairs import SourceSelection

_DEFAULTS = LowLightSynthesizer()

PARAM_FIELDS = (
    "name",
    "source",
    "variant",
    "seed",
    "exposure",
    "gain_r",
    "gain_b",
    "shot",
    "read",
    "height",
    "width",
)
SOURCE_FIELDS = (
    "source",
    "name",
    "mean_luma",
    "dark_clipped",
    "bright_clipped",
    "selected",
    "reason",
)
RECORDS = ("params.csv", "sources.csv", "synth.json")


def pair_seed(seed: int, name: str) -> int:
    """The darkening seed of output ``name``: a 63-bit integer from ``seed`` and the name."""
    import numpy as np

    sequence = np.random.SeedSequence([seed, zlib.crc32(name.encode("utf-8"))])
    return int(sequence.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def _range(lo_hi: tuple[float, float]) -> tuple[float, float]:
    return float(lo_hi[0]), float(lo_hi[1])


@click.command("synth")
@click.argument("sources", nargs=-1, required=True, metavar="SRC...")
@click.option(
    "--output",
    "-o",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder: low/, high/, params.csv, sources.csv, synth.json.",
)
@click.option("--min-mean", default=0.30, show_default=True, help="Lowest mean luma of a source.")
@click.option("--max-mean", default=0.70, show_default=True, help="Highest mean luma of a source.")
@click.option(
    "--max-clipped",
    default=0.02,
    show_default=True,
    help="Highest fraction of crushed pixels (brightest channel <= --dark-level), and of blown "
    "pixels (brightest channel >= --bright-level).",
)
@click.option("--dark-level", default=0.02, show_default=True, help="Crushed-pixel level.")
@click.option("--bright-level", default=0.98, show_default=True, help="Blown-pixel level.")
@click.option("--no-select", is_flag=True, help="Use every readable source (no selection).")
@click.option(
    "--exposure",
    nargs=2,
    type=float,
    default=_DEFAULTS.exposure_range,
    show_default=True,
    metavar="LO HI",
    help="Linear exposure factor range (log-uniform).",
)
@click.option(
    "--colour-gain",
    nargs=2,
    type=float,
    default=_DEFAULTS.colour_gain_range,
    show_default=True,
    metavar="LO HI",
    help="Range of the R and B gains (colour shift; G is 1).",
)
@click.option(
    "--shot",
    nargs=2,
    type=float,
    default=_DEFAULTS.shot_range,
    show_default=True,
    metavar="LO HI",
    help="Shot-noise level range (variance per unit linear signal, log-uniform).",
)
@click.option("--no-read-noise", is_flag=True, help="Shot noise only (no Gaussian read noise).")
@click.option("--no-noise", is_flag=True, help="No sensor noise at all (ablation).")
@click.option(
    "--adc-bits",
    default=10,
    show_default=True,
    type=click.IntRange(0, 16),
    help="Bits of the linear quantiser (0: none).",
)
@click.option(
    "--size",
    default=None,
    type=click.IntRange(min=1),
    help="Downscale sources whose longer side exceeds this (aspect kept; smaller ones kept).",
)
@click.option(
    "--per-source",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Dark variants per source.",
)
@click.option(
    "--max-sources",
    default=None,
    type=click.IntRange(min=1),
    help="Stop after this many selected sources (in sorted order).",
)
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0))
@click.option("--overwrite", is_flag=True, help="Replace existing outputs.")
@click.option("--dry-run", is_flag=True, help="Only judge the sources and print the counts.")
@click.option("--quiet", "-q", is_flag=True, help="No progress lines.")
def command(
    sources: tuple[str, ...],
    out_dir: Path,
    min_mean: float,
    max_mean: float,
    max_clipped: float,
    dark_level: float,
    bright_level: float,
    no_select: bool,
    exposure: tuple[float, float],
    colour_gain: tuple[float, float],
    shot: tuple[float, float],
    no_read_noise: bool,
    no_noise: bool,
    adc_bits: int,
    size: int | None,
    per_source: int,
    max_sources: int | None,
    seed: int,
    overwrite: bool,
    dry_run: bool,
    quiet: bool,
) -> None:
    """Synthesise low-light/normal pairs from the well-exposed photos in SRC (files, folders
    searched recursively, or globs) into OUTPUT/low and OUTPUT/high."""
    from lowlight.data.synthetic_pairs import SourceSelection, list_sources

    synthesizer = LowLightSynthesizer(
        exposure_range=_range(exposure),
        colour_gain_range=_range(colour_gain),
        shot_range=_range(shot),
        read_noise=not no_read_noise,
        adc_bits=adc_bits,
    )
    if no_noise:
        synthesizer = synthesizer.without_noise()
    selection = None
    if not no_select:
        selection = SourceSelection(min_mean, max_mean, max_clipped, dark_level, bright_level)
    listed = list_sources(list(sources))
    if not dry_run:
        _check_output(out_dir, overwrite)
    settings = {
        "synthesizer": synthesizer.to_dict(),
        "selection": selection.to_dict() if selection else None,
        "seed": seed,
        "size": size,
        "per_source": per_source,
        "max_sources": max_sources,
        "output_bits": 8,
    }
    run = _Run(out_dir, synthesizer, selection, settings, overwrite, dry_run, quiet)
    run.process(listed, max_sources)
    counts = run.counts(len(listed))
    if not dry_run:
        run.write_records(list(sources), counts)
    click.echo(
        f"{counts['selected']} of {counts['examined']} examined sources selected "
        f"({_rejections(counts['rejected_by'])}); "
        + (f"{counts['pairs']} pairs written to {out_dir}" if not dry_run else "dry run")
    )
    if counts["rejected_by"]["unreadable"]:
        click.echo(f"warning: {counts['rejected_by']['unreadable']} unreadable source(s)", err=True)


class _Run:
    """The per-source loop and the records it accumulates."""

    def __init__(
        self,
        out_dir: Path,
        synthesizer: LowLightSynthesizer,
        selection: SourceSelection | None,
        settings: dict[str, Any],
        overwrite: bool,
        dry_run: bool,
        quiet: bool,
    ) -> None:
        from lowlight.data.synthetic_pairs import SelectionReport

        self.out_dir = out_dir
        self.synthesizer = synthesizer
        self.selection = selection
        self.settings = settings
        self.overwrite = overwrite
        self.dry_run = dry_run
        self.quiet = quiet
        self.report = SelectionReport([])
        self.params: list[dict[str, Any]] = []
        self.written: set[str] = set()

    def process(self, listed: list[tuple[Path, str]], max_sources: int | None) -> None:
        from lowlight.data.synthetic_pairs import judge_image

        selected = 0
        for i, (path, name) in enumerate(listed):
            if max_sources is not None and selected >= max_sources:
                break
            verdict, rgb = judge_image(path, name, self.selection)
            self.report.verdicts.append(verdict)
            if verdict.reason == "unreadable":
                click.echo(f"warning: skipping {path}: {verdict.detail}", err=True)
            if not verdict.selected or rgb is None:
                continue
            selected += 1
            if not self.dry_run:
                self._write_pairs(path, name, rgb)
            if not self.quiet and (i + 1) % 100 == 0:
                click.echo(f"{i + 1}/{len(listed)} sources examined, {selected} selected", err=True)

    def _write_pairs(self, path: Path, name: str, rgb: np.ndarray) -> None:
        import numpy as np

        from lowlight.data.synthetic_pairs import resize_long_side
        from lowlight.io import write_image

        size = self.settings["size"]
        per_source = self.settings["per_source"]
        high = resize_long_side(rgb, size) if size else rgb
        for variant in range(per_source):
            stem = name if per_source == 1 else f"{name}_{variant}"
            seed = pair_seed(self.settings["seed"], stem)
            low, params = self.synthesizer(high, np.random.default_rng(seed))
            for folder, image in (("high", high), ("low", low)):
                write_image(
                    self.out_dir / folder / f"{stem}.png",
                    image,
                    bit_depth=8,
                    overwrite=self.overwrite,
                )
            self.written.add(stem)
            self.params.append(
                {
                    "name": stem,
                    "source": str(path),
                    "variant": variant,
                    "seed": seed,
                    **{k: f"{v:.6g}" for k, v in params.to_dict().items()},
                    "height": high.shape[0],
                    "width": high.shape[1],
                }
            )

    def counts(self, listed: int) -> dict[str, Any]:
        counts = self.report.counts()
        counts["listed"] = listed
        counts["not_examined"] = listed - counts["examined"]
        counts["pairs"] = len(self.params)
        return counts

    def write_records(self, sources: list[str], counts: dict[str, Any]) -> None:
        from lowlight import __version__
        from lowlight.io.atomic import write_atomic

        rows = [
            {
                "source": str(v.path),
                "name": v.name,
                "mean_luma": f"{v.stats.mean_luma:.4f}" if v.stats else "",
                "dark_clipped": f"{v.stats.dark_clipped:.4f}" if v.stats else "",
                "bright_clipped": f"{v.stats.bright_clipped:.4f}" if v.stats else "",
                "selected": int(v.selected),
                "reason": v.reason or "",
            }
            for v in self.report.verdicts
        ]
        record = {
            **self.settings,
            "sources": sources,
            "output": str(self.out_dir),
            "counts": counts,
            "command": _command_line(),
            "lowlight_version": __version__,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "layout": "LOL: low/<name>.png (input), high/<name>.png (target), 8-bit sRGB",
        }
        self.out_dir.mkdir(parents=True, exist_ok=True)
        for filename, data in (
            ("params.csv", _csv(PARAM_FIELDS, self.params)),
            ("sources.csv", _csv(SOURCE_FIELDS, rows)),
            ("synth.json", (json.dumps(record, indent=2) + "\n").encode("utf-8")),
        ):
            write_atomic(
                self.out_dir / filename, lambda fh, d=data: fh.write(d), overwrite=self.overwrite
            )
        stale = self._stale_images()
        if stale:
            click.echo(
                f"warning: {stale} image(s) in {self.out_dir}/low or /high were not written by "
                "this run (left from an earlier one); they would pair up with this set",
                err=True,
            )

    def _stale_images(self) -> int:
        from lowlight.io import IMAGE_EXTENSIONS

        extensions = {e.lower() for e in IMAGE_EXTENSIONS}
        stale = 0
        for folder in ("low", "high"):
            directory = self.out_dir / folder
            if directory.is_dir():
                stale += sum(
                    1
                    for p in directory.iterdir()
                    if p.suffix.lower() in extensions
                    and not p.name.startswith(".")
                    and not (p.suffix == ".png" and p.stem in self.written)
                )
        return stale


def _check_output(out_dir: Path, overwrite: bool) -> None:
    """Refuse to write into a folder that already holds a synthesised set, without --overwrite."""
    if out_dir.exists() and not out_dir.is_dir():
        raise LowlightError(f"output {out_dir} exists and is not a folder")
    if overwrite or not out_dir.is_dir():
        return
    taken = [name for name in RECORDS if (out_dir / name).exists()]
    for folder in ("low", "high"):
        directory = out_dir / folder
        if directory.is_dir() and any(not p.name.startswith(".") for p in directory.iterdir()):
            taken.append(f"{folder}/")
    if taken:
        raise LowlightError(
            f"{out_dir} already holds {', '.join(taken)}; pass --overwrite to replace them "
            "or choose another --output"
        )


def _command_line() -> str:
    """The command as typed (``lowlight synth ...`` or ``python -m lowlight synth ...``)."""
    argv = list(sys.argv)
    if argv and Path(argv[0]).name == "__main__.py":
        argv[0:1] = ["python", "-m", "lowlight"]
    elif argv:
        argv[0] = Path(argv[0]).name
    return shlex.join(argv)


def _csv(fields: tuple[str, ...], rows: list[dict[str, Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(fields), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _rejections(rejected_by: dict[str, int]) -> str:
    parts = [f"{n} {reason.replace('_', ' ')}" for reason, n in rejected_by.items() if n]
    return "rejected: " + (", ".join(parts) if parts else "none")
