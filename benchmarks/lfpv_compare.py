"""Backbone against backbone + LFPV at equal budget, scored with ``lowlight eval``.

For each backbone (``--backbone``, repeatable) and seed (``--seeds``), trains one recipe
twice: once as it is (plain) and once with the LFPV plug-in added (``--set plugins=...``,
the plug-in settings of the shipped ``<backbone>_synth_lfpv`` recipe, so they have one
source). ``--base mixed`` (default) uses ``<backbone>_mixed``: the real SICE pairs mixed
with synthetic ones, fine-tuned from the synthetic-only weights as the shipped defaults
were, so an LFPV run that wins can replace the default (LFPV itself starts fresh on a
trained backbone there, which a short fine-tune may not recover from: see
``benchmarks/results/lfpv/README.md``). ``--base synth`` trains ``<backbone>_synth`` from
scratch on synthetic pairs, the official setting. ``--steps`` defaults to the recipe's own. Everything else is
the same recipe: objective, optimiser, schedule, steps, batch, and, through the seed, the
backbone's initialisation (the plug-in is built after the backbone) and the data stream
(each sample's crop, augmentation and darkening are keyed by the seed and the sample, not
by the model). The trainer's own validation is off; each export is scored with ``lowlight
eval`` (whole frames, 8-bit quantised, RGB PSNR and MATLAB SSIM, GT-mean beside) on LOL-v1
eval15 and on every ``--data DIR`` (paired folders, e.g. SICE-seq val). A run folder that
already holds exported weights is scored without retraining (a stopped run resumes; an
evaluation already written after the weights is reused), so
the runs of a comparison can be trained in parallel by hand (``--print-commands``) and
scored afterwards.

Writes ``<tag>.md`` and ``<tag>.json`` under ``--report`` (default
``benchmarks/results/lfpv``): per run the scores, the parameters LFPV adds at inference
(tensor elements of the LFPV export minus the plain one's) and the training seconds per
step (from ``log.csv``, the first logged interval excluded as warm-up), then the mean gain
per backbone and data set.

    python benchmarks/lfpv_compare.py --backbone nalsuper_small --seeds 0 1 \\
        --data runs/sice_seq/val --threads 1
    python benchmarks/lfpv_compare.py --base synth --backbone mirnet_small --seeds 0 --steps 4500

``--timing N`` instead measures only the training cost: N optimiser steps of each backbone
with and without LFPV, in this process, on random batches of the recipe's batch and crop
size (no data loading, identical for both), alternating plain and LFPV step by step so
that load from other processes hits both alike; reports wall and CPU seconds per step.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from statistics import mean

REPO = Path(__file__).resolve().parents[1]
LOL = REPO.parent / "shared" / "data" / "lol_v1" / "eval15"
METRICS = ("psnr", "ssim", "psnr_gtmean", "ssim_gtmean")


def lfpv_plugins(backbone: str, lfpv_args: dict[str, object]) -> list[dict]:
    """The ``plugins:`` section of the shipped ``<backbone>_synth_lfpv`` recipe, its LFPV
    ``args`` updated with ``lfpv_args`` (``--lfpv-arg``)."""
    import yaml

    from lowlight.recipes import recipe_path

    plugins = yaml.safe_load(recipe_path(f"{backbone}_synth_lfpv").read_text())["plugins"]
    for plugin in plugins:
        if plugin["name"] == "lfpv":
            plugin["args"] = {**plugin.get("args", {}), **lfpv_args}
    return plugins


def lfpv_variant(lfpv_args: dict[str, object]) -> str:
    """The LFPV variant's name (and run-folder part): ``lfpv``, or ``lfpv_<key>-<value>_...``
    when ``--lfpv-arg`` changes the recipe's plug-in settings."""
    return "_".join(["lfpv", *(f"{k}-{str(v).lower()}" for k, v in sorted(lfpv_args.items()))])


def recipe_steps(backbone: str, base: str) -> int:
    """``train.steps`` of the recipe ``<backbone>_<base>``."""
    from lowlight.recipes import recipe_path
    from lowlight.train.config import load_config

    return load_config(recipe_path(f"{backbone}_{base}")).train.steps


def seeds_of(args: argparse.Namespace, backbone: str) -> list[int]:
    """``--seeds``, or the seeds ``--seeds-of BACKBONE=S,S`` gives this backbone."""
    for item in args.seeds_of:
        name, _, seeds = item.partition("=")
        if name == backbone:
            return [int(seed) for seed in seeds.split(",")]
    return args.seeds


@dataclass(frozen=True)
class Run:
    """One training run of the comparison: ``variant`` is ``plain`` or an LFPV one."""

    backbone: str
    base: str
    variant: str
    seed: int
    steps: int

    @property
    def name(self) -> str:
        return f"{self.backbone}_{self.base}_{self.variant}_seed{self.seed}"

    def folder(self, root: Path) -> Path:
        return root / f"{self.name}_{self.steps}"


def planned_pairs(args: argparse.Namespace) -> Iterator[tuple[Run, Run]]:
    """The ``(plain, LFPV)`` runs of every pair the arguments ask for."""
    variant = lfpv_variant(args.lfpv_args)
    for backbone in args.backbone:
        steps = args.steps or recipe_steps(backbone, args.base)
        for seed in seeds_of(args, backbone):
            yield (
                Run(backbone, args.base, "plain", seed, steps),
                Run(backbone, args.base, variant, seed, steps),
            )


def train_command(run: Run, threads: int, out: Path, lfpv_args: dict[str, object]) -> list[str]:
    """``lowlight train`` for one run of the comparison (resuming a stopped one); an LFPV
    variant gets the plug-in with ``lfpv_args``."""
    from lowlight.recipes import recipe_path

    config = recipe_path(f"{run.backbone}_{run.base}")
    cmd = [sys.executable, "-m", "lowlight", "train", str(config), "--out-dir", str(out)]
    cmd += ["--steps", str(run.steps), "-q"]
    plain = run.variant == "plain"
    plugins = "[]" if plain else json.dumps(lfpv_plugins(run.backbone, lfpv_args))
    for item in [
        f"name={run.name}",
        f"seed={run.seed}",
        f"train.threads={threads}",
        f"train.ckpt_every={min(250, run.steps)}",
        f"train.log_every={max(1, min(25, run.steps // 4))}",
        "data.val=null",
        f"plugins={plugins}",
    ]:
        cmd += ["--set", item]
    if (out / "last.ckpt").exists():
        cmd.append("--resume")
    return cmd


def train(run: Run, threads: int, root: Path, lfpv_args: dict[str, object]) -> Path:
    """Train one run (or reuse / resume it); return its exported weights."""
    out = run.folder(root)
    if not list((out / "export").glob("*.safetensors")):
        subprocess.run(train_command(run, threads, out, lfpv_args), check=True, cwd=REPO)
    return next((out / "export").glob("*.safetensors"))


def score(backbone: str, weights: Path, data: Path, report: Path) -> dict[str, float]:
    """Mean protocol scores of ``weights`` on the paired folder ``data`` (an evaluation
    already written to ``report`` after the weights is reused)."""
    summary = report / "summary.json"
    if not summary.exists() or summary.stat().st_mtime < weights.stat().st_mtime:
        cmd = [sys.executable, "-m", "lowlight", "eval", str(data), "-m", backbone]
        cmd += ["--weights", str(weights), "--device", "cpu", "--out", str(report), "-q"]
        subprocess.run(cmd, check=True, cwd=REPO)
    means = json.loads(summary.read_text())["runs"][0]["means"]
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
    for pair in planned_pairs(args):
        exports = {}
        for run in pair:
            weights = train(run, args.threads, args.runs, args.lfpv_args)
            exports[run.variant] = weights
            folder = weights.parent.parent
            scores = {
                name_of(d): score(
                    run.backbone, weights, d, folder / "eval" / name_of(d).replace("/", "_")
                )
                for d in datasets
            }
            rows.append(
                {
                    "backbone": run.backbone,
                    "variant": run.variant,
                    "seed": run.seed,
                    "base": run.base,
                    "steps": run.steps,
                    "sec_per_step": seconds_per_step(folder),
                    "weights": os.path.relpath(weights, REPO),
                    "scores": scores,
                }
            )
        added = tensor_elements(exports[pair[1].variant]) - tensor_elements(exports["plain"])
        for row in rows[-2:]:
            row["params_added"] = added if row["variant"] != "plain" else 0
    return rows


def command_line(args: argparse.Namespace) -> str:
    """The command that reproduces a comparison report."""
    shown = [os.path.relpath(Path(d).resolve(), REPO) for d in args.data]
    parts = ["python benchmarks/lfpv_compare.py", f"--base {args.base}"]
    parts += [f"--backbone {b}" for b in args.backbone]
    parts += [f"--seeds {' '.join(map(str, args.seeds))}"]
    parts += [f"--seeds-of {item}" for item in args.seeds_of]
    parts += [f"--steps {args.steps}"] * bool(args.steps)
    parts += [f"--lfpv-arg {item}" for item in args.lfpv_arg]
    parts += [f"--threads {args.threads}", *(f"--data {d}" for d in shown)]
    return " ".join(parts)


def table(rows: list[dict], args: argparse.Namespace) -> str:
    sets = list(rows[0]["scores"])
    runs = ", ".join(
        f"{b} {rows_of[0]['steps']} steps, seeds {' '.join(str(r['seed']) for r in rows_of[::2])}"
        for b in args.backbone
        if (rows_of := [r for r in rows if r["backbone"] == b])
    )
    lines = [
        f"# Backbone vs backbone + LFPV ({args.base}; {runs})",
        "",
        f"Command: `{command_line(args)}`. Recipe <backbone>_{args.base}, plain as it is and "
        "LFPV with the plug-in of <backbone>_synth_lfpv added; same seed, steps and data "
        "stream per pair. Scores by `lowlight eval` (8-bit, RGB PSNR / MATLAB SSIM; GT-mean "
        "beside).",
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
            and q["variant"] != "plain"
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


def timing(backbone: str, steps: int, threads: int) -> dict[str, float]:
    """Median wall / CPU seconds per training step, plain and with LFPV (first step dropped)."""
    import time

    import torch

    sys.path.insert(0, str(REPO / "src"))
    from lowlight.api import build
    from lowlight.plugins import wrap_model
    from lowlight.recipes import recipe_path
    from lowlight.registry import OBJECTIVES
    from lowlight.train.config import load_config

    torch.set_num_threads(threads)
    cfg = load_config(recipe_path(f"{backbone}_synth_lfpv"))
    crop, batch = cfg.data.train.crop or 128, cfg.data.train.batch_size
    runs = {}
    for variant, plugins in (("plain", []), ("lfpv", cfg.plugins)):
        torch.manual_seed(0)
        model = wrap_model(build(cfg.model.name, **cfg.model.args), plugins).train()
        objective = OBJECTIVES.get(cfg.objective.name).obj(**cfg.objective.args)
        wrap = getattr(model, "wrap_objective", None)
        loss_fn = wrap(objective) if wrap else objective
        optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-4)
        runs[variant] = (model, loss_fn, optimizer)
    times: dict[str, list[tuple[float, float]]] = {"plain": [], "lfpv": []}
    gen = torch.Generator().manual_seed(0)
    for _ in range(steps + 1):
        target = torch.rand(batch, 3, crop, crop, generator=gen)
        item = {"input": target * 0.05, "target": target}
        for variant, (model, loss_fn, optimizer) in runs.items():
            wall, cpu = time.perf_counter(), time.process_time()
            optimizer.zero_grad(set_to_none=True)
            loss, _ = loss_fn(model, item)
            loss.backward()
            optimizer.step()
            times[variant].append((time.perf_counter() - wall, time.process_time() - cpu))
    out = {}
    for variant, values in times.items():
        values = values[1:]
        out[f"{variant}_wall"] = sorted(v[0] for v in values)[len(values) // 2]
        out[f"{variant}_cpu"] = sorted(v[1] for v in values)[len(values) // 2]
    return out


def timing_report(args: argparse.Namespace) -> str:
    lines = [
        f"# Training cost per step, plain vs LFPV ({args.timing} steps each, {args.threads} thread(s))",
        "",
        f"Command: `python benchmarks/lfpv_compare.py --timing {args.timing} "
        f"{' '.join(f'--backbone {b}' for b in args.backbone)} --threads {args.threads}`. "
        "Recipe batch and crop, random batches, no data loading; medians, first step dropped.",
        "",
        "| backbone | plain wall s | LFPV wall s | plain CPU s | LFPV CPU s | LFPV / plain (CPU) |",
        "|---|---|---|---|---|---|",
    ]
    for backbone in args.backbone:
        t = timing(backbone, args.timing, args.threads)
        lines.append(
            f"| {backbone} | {t['plain_wall']:.3f} | {t['lfpv_wall']:.3f} | {t['plain_cpu']:.3f} | "
            f"{t['lfpv_cpu']:.3f} | x{t['lfpv_cpu'] / t['plain_cpu']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--backbone", action="append", choices=["mirnet_small", "nalsuper_small"], default=None
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--base", choices=["mixed", "synth"], default="mixed", help="recipe")
    parser.add_argument(
        "--seeds-of",
        action="append",
        default=[],
        metavar="BACKBONE=S,S",
        help="seeds of one backbone (instead of --seeds)",
    )
    parser.add_argument("--steps", type=int, default=None, help="default: the recipe's")
    parser.add_argument(
        "--lfpv-arg",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="change one LFPV option of the recipe's plug-in (e.g. readout_gate=true)",
    )
    parser.add_argument("--timing", type=int, default=None, metavar="N", help="time N steps only")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--data", type=Path, action="append", default=[], help="extra paired set")
    parser.add_argument("--runs", type=Path, default=REPO / "runs" / "lfpv_compare")
    parser.add_argument("--report", type=Path, default=REPO / "benchmarks" / "results" / "lfpv")
    parser.add_argument("--tag", default=None, help="report name (default: compare_<base>)")
    parser.add_argument(
        "--print-commands", action="store_true", help="print the training commands and stop"
    )
    args = parser.parse_args()
    args.backbone = args.backbone or ["mirnet_small"]
    from lowlight.cli._common import parse_key_values

    args.lfpv_args = parse_key_values(args.lfpv_arg)
    args.runs = args.runs.resolve()
    args.report.mkdir(parents=True, exist_ok=True)
    if args.timing:
        text = timing_report(args)
        (args.report / f"{args.tag or f'timing_{args.timing}'}.md").write_text(text)
        print(text)
        return
    if args.print_commands:
        for pair in planned_pairs(args):
            for run in pair:
                cmd = train_command(run, args.threads, run.folder(args.runs), args.lfpv_args)
                print(shlex.join(cmd))
        return
    rows = compare(args)
    text = table(rows, args)
    tag = args.tag or f"compare_{args.base}"
    (args.report / f"{tag}.json").write_text(json.dumps(rows, indent=2) + "\n")
    (args.report / f"{tag}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
