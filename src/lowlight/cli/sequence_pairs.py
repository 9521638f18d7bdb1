"""``lowlight sequence-pairs``: real pairs from a multi-exposure collection, written to disk.

Groups the frames of ROOT (SICE Part1) into scenes, checks their alignment and splits them
(:mod:`lowlight.data.sequences`), pairs every sufficiently dark frame with its scene's
reference (:mod:`lowlight.data.sequence_pairs`), and writes, for each requested split,

* ``OUT/<split>/low/<scene>_<frame>.<ext>``: the dark frame, byte for byte;
* ``OUT/<split>/high/<scene>_<frame>.<ext>``: its reference (the best-exposed frame byte for
  byte, or the exposure fusion as an 8-bit PNG);

so that ``lowlight eval OUT/val -m MODEL`` scores the pairs ("SICE-seq val"). It also writes
``grouping.json`` (every frame's statistics, the scenes, alignment shifts, drops) and
``scenes.jpg`` (a contact sheet of sample scenes, reference marked: thumbnails of the data, so
it stays beside the pairs) to OUT, and ``report.md`` (scene and pair counts, frames per scene,
exposure ranges, what was dropped and why; figures only) to ``--report-dir``. Every file is written atomically; existing files are kept unless
``--overwrite``.
"""

from __future__ import annotations

import json
import shlex
import sys
from collections import Counter
from pathlib import Path

import click
import numpy as np

from lowlight.data.sequence_pairs import PairOptions, SequencePairs, scene_pairs
from lowlight.data.sequences import GroupingOptions, SceneSet, load_scenes


@click.command("sequence-pairs")
@click.argument("root", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--output",
    "-o",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder: <split>/low, <split>/high and grouping.json.",
)
@click.option(
    "--split",
    "splits",
    multiple=True,
    type=click.Choice(["train", "val"]),
    default=("train", "val"),
    show_default=True,
    help="Which splits to write (repeatable).",
)
@click.option(
    "--reference",
    type=click.Choice(["best", "fusion"]),
    default="best",
    show_default=True,
    help="The best-exposed frame, or the exposure fusion of the scene.",
)
@click.option(
    "--max-ratio",
    default=0.7,
    show_default=True,
    help="A frame pairs when its mean luma is at most this times the reference's.",
)
@click.option(
    "--report-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where report.md goes (default: the output folder).",
)
@click.option(
    "--sheet-every", default=25, show_default=True, help="Every N-th scene in scenes.jpg."
)
@click.option("--overwrite", is_flag=True, help="Replace existing output files.")
def command(
    root: Path,
    out_dir: Path,
    splits: tuple[str, ...],
    reference: str,
    max_ratio: float,
    report_dir: Path | None,
    sheet_every: int,
    overwrite: bool,
) -> None:
    """Write real dark/reference pairs from the multi-exposure scenes of ROOT (e.g. SICE Part1)."""
    from lowlight.io.atomic import write_atomic

    scene_set = load_scenes(root, GroupingOptions())
    counts: dict[str, int] = {}
    for split in splits:
        options = PairOptions(split=split, reference=reference, max_ratio=max_ratio)
        dataset = SequencePairs(root, options, scene_set.options, crop=None)
        counts[split] = _write_pairs(dataset, out_dir / split, overwrite)
        click.echo(f"{split}: {counts[split]} pairs -> {out_dir / split}")
    payload = json.dumps(scene_set.to_dict(), indent=1).encode()
    write_atomic(out_dir / "grouping.json", lambda f: f.write(payload), overwrite=True)
    report_dir = report_dir or out_dir
    report_dir.mkdir(parents=True, exist_ok=True)
    report = grouping_report(scene_set, reference, max_ratio)
    write_atomic(report_dir / "report.md", lambda f: f.write(report.encode()), overwrite=True)
    sheet = scenes_sheet(scene_set, every=sheet_every)
    write_atomic(
        out_dir / "scenes.jpg", lambda f: sheet.save(f, "JPEG", quality=85), overwrite=True
    )
    click.echo(f"report: {report_dir / 'report.md'}; contact sheet: {out_dir / 'scenes.jpg'}")


def _write_pairs(dataset: SequencePairs, out: Path, overwrite: bool) -> int:
    from lowlight.io import write_image
    from lowlight.io.atomic import write_atomic

    written = 0
    for pair in dataset.pairs:
        if pair.frame is None:
            continue
        low = dataset.root / pair.frame
        sources = {"low": low}
        if dataset.options.reference == "best":
            sources["high"] = dataset.root / pair.scene.reference
        for side, src in sources.items():
            dst = out / side / f"{pair.stem}{src.suffix.lower()}"
            if dst.exists() and not overwrite:
                continue
            dst.parent.mkdir(parents=True, exist_ok=True)
            data = src.read_bytes()
            write_atomic(dst, lambda f, data=data: f.write(data), overwrite=True)
        if dataset.options.reference == "fusion":
            dst = out / "high" / f"{pair.stem}.png"
            if overwrite or not dst.exists():
                write_image(dst, dataset.reference_image(pair.scene), overwrite=True)
        written += 1
    return written


def grouping_report(scene_set: SceneSet, reference: str, max_ratio: float) -> str:
    """The Markdown report of a grouping (counts, exposure ranges, drops, pairs per split)."""
    scenes = scene_set.scenes
    frames_per_scene = Counter(len(s.frames) for s in scenes)
    aligned = sum(len(s.aligned) for s in scenes)
    dropped = [(s, name, why) for s in scenes for name, why in s.dropped.items()]
    reasons = Counter(why.split(" ")[0] for _, _, why in dropped)
    shifts = np.array([max(abs(v[0]), abs(v[1])) for s in scenes for v in s.shifts.values()])
    low = [min(scene_set.frames[n].mean_luma for n in s.frames) for s in scenes]
    high = [max(scene_set.frames[n].mean_luma for n in s.frames) for s in scenes]
    ref = [scene_set.frames[s.reference].mean_luma for s in scenes]
    o = scene_set.options
    lines = [
        "# SICE multi-exposure scenes: grouping, alignment and pairs",
        "",
        f"Command: `{_command()}`",
        "",
        f"Grouping: rank correlation of {o.thumb}x{o.thumb} luma thumbnails >= {o.threshold} with "
        f"one of the scene's last {o.window} frames; alignment: phase correlation against the "
        f"best-exposed frame, kept when shifted by at most {o.max_shift} px with a peak >= "
        f"{o.min_peak}; split: every {o.val_every}th scene is validation.",
        "",
        "| | count |",
        "|---|---:|",
        f"| frames | {len(scene_set.frames)} |",
        f"| multi-frame scenes | {len(scenes)} |",
        f"| frames in no scene (singletons) | {len(scene_set.singletons)} |",
        f"| frames kept after alignment (references included) | {aligned} |",
        f"| frames dropped | {len(dropped)} ({', '.join(f'{k}: {v}' for k, v in sorted(reasons.items()))}) |",
        f"| scenes train / val | {len(scene_set.split('train'))} / {len(scene_set.split('val'))} |",
        "",
        "Frames per scene: "
        + ", ".join(f"{k}: {v}" for k, v in sorted(frames_per_scene.items()))
        + " (runs of more than about 10 frames are neighbouring scenes from one viewpoint;"
        " frames of another view fail the alignment check and are dropped).",
        "",
        "Alignment (largest of |dy|, |dx| against the reference, all grouped frames): "
        + ", ".join(f"<= {t} px: {np.mean(shifts <= t):.1%}" for t in (0.25, 0.5, 1.0, 2.0))
        + f" (median {np.median(shifts):.2f} px).",
        "",
        "Mean luma per scene (5th / 50th / 95th percentile over scenes): darkest frame "
        + _pct(low)
        + "; brightest frame "
        + _pct(high)
        + "; reference "
        + _pct(ref)
        + ".",
        "",
        f"Pairs (reference `{reference}`, dark frame mean luma <= {max_ratio} x reference's):",
        "",
        "| split | scenes | pairs | dark-frame mean luma (10th / 50th / 90th percentile) |",
        "|---|---:|---:|---|",
    ]
    for split in ("train", "val"):
        pairs = scene_pairs(scene_set, PairOptions(split=split, max_ratio=max_ratio))
        lumas = [scene_set.frames[p.frame].mean_luma for p in pairs if p.frame is not None]
        n_scenes = len({p.scene.index for p in pairs})
        spread = (
            " / ".join(f"{v:.3f}" for v in np.percentile(lumas, [10, 50, 90])) if lumas else "-"
        )
        lines.append(f"| {split} | {n_scenes} | {len(pairs)} | {spread} |")
    lines += ["", "Dropped frames (first 40):", ""]
    for scene, name, why in dropped[:40]:
        lines.append(f"- {scene.name}: {name}: {why}")
    lines += [
        "",
        "Contact sheet of every 25th scene (reference marked with *, dropped frames with (x)):",
        "`scenes.jpg` in the output folder (thumbnails of the data, never committed).",
        "",
    ]
    return "\n".join(lines)


def scenes_sheet(scene_set: SceneSet, every: int = 25, cell_height: int = 96):
    """A contact sheet: one row per sampled scene, its frames in order, dropped ones marked."""
    from PIL import Image

    from lowlight.visualize import grid_sheet

    rows = []
    for scene in scene_set.scenes[::every]:
        images = []
        for name in scene.frames:
            with Image.open(Path(scene_set.root) / name) as image:
                image.draft("RGB", (cell_height * 2, cell_height * 2))
                images.append(np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0)
        marks = " ".join(
            f"{Path(n).stem}{'*' if n == scene.reference else ''}{'(x)' if n in scene.dropped else ''}"
            for n in scene.frames
        )
        rows.append((f"{scene.name}: {marks}", images))
    return grid_sheet(rows, cell_height=cell_height, gap=4)


def _pct(values: list[float]) -> str:
    return " / ".join(f"{v:.3f}" for v in np.percentile(values, [5, 50, 95]))


def _command() -> str:
    args = [Path(sys.argv[0]).name, *sys.argv[1:]] if sys.argv else ["lowlight"]
    return shlex.join(args)
