"""``lowlight eval``: score models or saved predictions with the field's metrics.

Modes::

    lowlight eval DATASET_DIR --model NAME [--model NAME2 ...]     # LOL, LOL-v2, input/target, input/gt
    lowlight eval --input-dir DIR --target-dir DIR --model NAME     # any paired folders
    lowlight eval --pred DIR --gt DIR                               # saved predictions
    lowlight eval DIR --no-reference [--model NAME] [--metrics niqe]

Writes ``per_image.csv``, ``summary.json`` and ``summary.md`` to ``--out`` and prints a
comparison table. Images that fail are reported and skipped; the exit code is then 1.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from lowlight.device import DEVICE_CHOICES

DEFAULT_OUT_ROOT = Path("outputs") / "eval"


@dataclass
class _Plan:
    """What the options asked for, validated."""

    mode: str  # "model", "predictions" or "no-reference"
    dataset: str
    folder: Path | None = None
    input_dir: Path | None = None
    target_dir: Path | None = None


@click.command("eval")
@click.argument("dataset_dir", required=False, type=click.Path(path_type=Path))
@click.option(
    "--model",
    "-m",
    "models",
    multiple=True,
    metavar="NAME",
    help="Registered model to evaluate; repeat it or give a comma list to compare several.",
)
@click.option(
    "--weights",
    default="default",
    show_default=True,
    help="'default', a shipped record name, a weights file, or 'none' (random init); one model only.",
)
@click.option(
    "--device",
    default="auto",
    show_default=True,
    help=f"One of {', '.join(DEVICE_CHOICES)} (or cuda:N).",
)
@click.option(
    "--model-arg",
    "model_args",
    multiple=True,
    metavar="KEY=VALUE",
    help="Constructor override (repeatable; one model only).",
)
@click.option(
    "--metrics",
    default=None,
    metavar="LIST",
    help="Comma list, e.g. psnr,ssim,mae,lpips. Default: psnr,ssim,mae (niqe with --no-reference).",
)
@click.option(
    "--input-dir", type=click.Path(path_type=Path), help="Folder of inputs (with --target-dir)."
)
@click.option(
    "--target-dir", type=click.Path(path_type=Path), help="Folder of references, same stems."
)
@click.option(
    "--pred",
    "pred_dir",
    type=click.Path(path_type=Path),
    help="Folder of saved predictions (with --gt).",
)
@click.option(
    "--gt", "gt_dir", type=click.Path(path_type=Path), help="Folder of references for --pred."
)
@click.option(
    "--no-reference", is_flag=True, help="Unpaired folder: score no-reference metrics only."
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    help="Report folder [default: outputs/eval/<dataset>-<model>].",
)
@click.option(
    "--save-dir",
    type=click.Path(path_type=Path),
    help="Also save the enhanced 8-bit images here (one sub-folder per model when comparing).",
)
@click.option(
    "--tile",
    type=click.IntRange(min=64),
    default=None,
    help="Enhance in tiles of this many pixels (changes scores; default: whole images, the protocol).",
)
@click.option("--quiet", "-q", is_flag=True, help="No per-image progress lines.")
def command(
    dataset_dir: Path | None,
    models: tuple[str, ...],
    weights: str,
    device: str,
    model_args: tuple[str, ...],
    metrics: str | None,
    input_dir: Path | None,
    target_dir: Path | None,
    pred_dir: Path | None,
    gt_dir: Path | None,
    no_reference: bool,
    out_dir: Path | None,
    save_dir: Path | None,
    tile: int | None,
    quiet: bool,
) -> None:
    """Score models (or saved predictions) on a dataset with PSNR, SSIM, MAE, LPIPS or NIQE.

    Each image is enhanced whole, quantised to 8 bits as if saved, and scored against its
    reference; GT-mean scores are printed beside the plain ones.
    """
    from lowlight.data.pairs import find_pairs, resolve_paired_root
    from lowlight.evaluation import (
        DEFAULT_METRICS,
        DEFAULT_NO_REFERENCE_METRICS,
        format_table,
        load_lpips_if_needed,
        split_metrics,
        write_reports,
    )

    names = _split_models(models)
    plan = _plan(
        dataset_dir, names, input_dir, target_dir, pred_dir, gt_dir, no_reference, save_dir
    )
    if not names and (weights != "default" or model_args or tile is not None):
        raise click.UsageError("--weights, --model-arg and --tile need --model")
    if len(names) > 1 and (weights != "default" or model_args):
        raise click.UsageError(
            "--weights and --model-arg apply to one model; evaluate the others separately"
        )
    default_metrics = (
        DEFAULT_NO_REFERENCE_METRICS if plan.mode == "no-reference" else DEFAULT_METRICS
    )
    metric_list = [m for m in (metrics.split(",") if metrics else default_metrics) if m.strip()]

    # Everything that can fail without running a model fails here, before any work.
    split_metrics(metric_list, reference=plan.mode != "no-reference")
    pairs = []
    if plan.mode == "model":
        if plan.folder is not None:
            plan.input_dir, plan.target_dir = resolve_paired_root(plan.folder)
        pairs = find_pairs(plan.input_dir, plan.target_dir)
    elif plan.mode == "predictions":
        pairs = find_pairs(pred_dir, gt_dir)
    _check_models_exist(names)
    lpips_model = load_lpips_if_needed(metric_list, _resolve(device) if names else "cpu")

    runs = []
    if plan.mode == "predictions":
        from lowlight.evaluation import evaluate_predictions

        label = pred_dir.name
        runs.append(
            evaluate_predictions(
                pred_dir,
                gt_dir,
                metrics=metric_list,
                label=label,
                dataset=plan.dataset,
                lpips_model=lpips_model,
                progress=_progress(label, len(pairs), quiet),
            )
        )
    elif not names:  # no-reference, images scored as they are
        from lowlight.evaluation import evaluate_no_reference

        runs.append(
            evaluate_no_reference(
                plan.folder,
                metrics=metric_list,
                dataset=plan.dataset,
                progress=_progress(plan.folder.name, None, quiet),
            )
        )
    for name in names:
        label = _label(name, weights)
        model_save = save_dir / _slug(label) if save_dir and len(names) > 1 else save_dir
        model = _load(name, weights, device, model_args)
        runs.append(
            _evaluate_one(
                plan,
                model,
                name,
                label,
                pairs,
                weights=_weights_text(model, name, weights),
                metrics=metric_list,
                tile=tile,
                lpips_model=lpips_model,
                save_dir=model_save,
                progress=_progress(label, len(pairs) or None, quiet),
            )
        )
        del model

    out = out_dir or DEFAULT_OUT_ROOT / _slug(f"{plan.dataset}-{'+'.join(r.label for r in runs)}")
    paths = write_reports(runs, out)
    click.echo(format_table(runs))
    click.echo(f"reports: {paths['csv']}, {paths['json']}, {paths['markdown']}")
    failures = [(run.label, r) for run in runs for r in run.failures]
    if failures:
        for label, r in failures:
            click.echo(f"failed: {label} / {r.stem}: {r.error}", err=True)
        click.echo(
            f"{len(failures)} image(s) could not be scored; the means cover the rest.", err=True
        )
        sys.exit(1)  # not ctx.exit: main() runs click non-standalone and would drop the code


def _evaluate_one(
    plan: _Plan,
    model: Any,
    name: str,
    label: str,
    pairs: Sequence[Any],
    *,
    weights: str,
    metrics: Sequence[str],
    tile: int | None,
    lpips_model: Any,
    save_dir: Path | None,
    progress: Any,
) -> Any:
    """Run one loaded model over the dataset (paired or no-reference)."""
    from lowlight.evaluation import evaluate_model, evaluate_no_reference

    common = dict(label=label, model_name=name, weights=weights, dataset=plan.dataset, tile=tile)
    if plan.mode == "no-reference":
        return evaluate_no_reference(
            plan.folder,
            model=model,
            metrics=metrics,
            save_dir=save_dir,
            progress=progress,
            **common,
        )
    return evaluate_model(
        model,
        pairs,
        metrics=metrics,
        save_dir=save_dir,
        lpips_model=lpips_model,
        progress=progress,
        **common,
    )


def _load(name: str, weights: str, device: str, model_args: Sequence[str]) -> Any:
    from lowlight.cli._common import load_model_from_options

    return load_model_from_options(name, weights, device, model_args, allow_random_default=True)


def _plan(
    dataset_dir: Path | None,
    names: Sequence[str],
    input_dir: Path | None,
    target_dir: Path | None,
    pred_dir: Path | None,
    gt_dir: Path | None,
    no_reference: bool,
    save_dir: Path | None,
) -> _Plan:
    """Work out the mode from the options, rejecting contradictory combinations."""
    usage = click.UsageError
    if (pred_dir is None) != (gt_dir is None):
        raise usage("--pred and --gt go together")
    if (input_dir is None) != (target_dir is None):
        raise usage("--input-dir and --target-dir go together")
    if pred_dir is not None:
        if (
            dataset_dir is not None
            or input_dir is not None
            or names
            or no_reference
            or save_dir is not None
        ):
            raise usage(
                "--pred/--gt score saved predictions; they take no DATASET_DIR, --input-dir, "
                "--model, --no-reference or --save-dir"
            )
        return _Plan("predictions", _dataset_name(gt_dir, parent=True))
    if input_dir is not None:
        if dataset_dir is not None or no_reference:
            raise usage("give either DATASET_DIR or --input-dir/--target-dir, not both")
        if not names:
            raise usage(
                "--model is required to evaluate a model (or use --pred/--gt for saved predictions)"
            )
        return _Plan(
            "model",
            _dataset_name(input_dir, parent=True),
            input_dir=input_dir,
            target_dir=target_dir,
        )
    if dataset_dir is None:
        raise usage("give DATASET_DIR, --input-dir/--target-dir, or --pred/--gt")
    if no_reference:
        if save_dir is not None and not names:
            raise usage("--save-dir needs --model (without one the images are scored as they are)")
        return _Plan("no-reference", _dataset_name(dataset_dir), folder=dataset_dir)
    if not names:
        raise usage("--model is required (or --no-reference to score the images as they are)")
    return _Plan("model", _dataset_name(dataset_dir), folder=dataset_dir)


def _split_models(models: Sequence[str]) -> list[str]:
    names = [n.strip() for item in models for n in item.split(",") if n.strip()]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise click.UsageError(f"model(s) named twice: {', '.join(duplicates)}")
    return names


def _check_models_exist(names: Sequence[str]) -> None:
    from lowlight.registry import MODELS

    for name in names:
        MODELS.get(name)  # raises RegistryError listing the known models


def _label(name: str, weights: str) -> str:
    if weights == "default":
        return name
    if weights.lower() == "none":
        return f"{name}@random-init"
    return f"{name}@{Path(weights).stem}"


def _weights_text(model: Any, name: str, weights: str) -> str:
    """What weights the model runs with, for reports; warns when a learned model would be
    scored with random parameters because it ships no default weights."""
    from lowlight.api import model_info

    record = getattr(model, "weight_record", None)
    if weights.lower() == "none":
        return "none (random init)"
    if record is not None:
        return f"{weights} (record {record.name}, sha256 {record.sha256[:12]})"
    if weights != "default":
        return weights
    if model_info(name).get("kind") == "classical" or not any(True for _ in model.parameters()):
        return "none (no learned parameters)"
    click.echo(
        f"warning: '{name}' ships no default weights, so it is scored with random parameters; "
        "pass --weights FILE to evaluate trained ones",
        err=True,
    )
    return "none shipped (random init)"


def _dataset_name(path: Path, *, parent: bool = False) -> str:
    resolved = path.resolve()
    return (resolved.parent.name if parent else resolved.name) or resolved.name or "dataset"


def _slug(text: str) -> str:
    return re.sub(r"[^\w.+@-]+", "_", text).strip("_") or "eval"


def _resolve(device: str) -> Any:
    from lowlight.device import resolve_device

    return resolve_device(device)


def _progress(label: str, total: int | None, quiet: bool) -> Any:
    """A callback printing one line per image to stderr (nothing when ``quiet``)."""
    if quiet:
        return None
    count = 0

    def report(result: Any) -> None:
        nonlocal count
        count += 1
        where = f"[{count}/{total}]" if total else f"[{count}]"
        if result.ok:
            shown = ", ".join(
                f"{k} {v:.4g}" for k, v in result.values.items() if not k.endswith("_gtmean")
            )
            timing = f" ({result.seconds:.2f} s)" if result.seconds is not None else ""
            click.echo(f"{label} {where} {result.stem}: {shown}{timing}", err=True)
        else:
            click.echo(f"{label} {where} {result.stem}: FAILED: {result.error}", err=True)
        sys.stderr.flush()

    return report
