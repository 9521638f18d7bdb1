"""Report writers for evaluation runs: per-image CSV, JSON and Markdown summaries, and a
plain-text comparison table for the terminal. Files are written atomically."""

from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lowlight.evaluation.results import EvalRun

CSV_NAME = "per_image.csv"
JSON_NAME = "summary.json"
MARKDOWN_NAME = "summary.md"

_DECIMALS = {"psnr": 2, "niqe": 3}
"""Decimals shown per metric in tables (files keep full precision); default 4."""


def column_title(column: str) -> str:
    """Display title: ``psnr`` -> ``PSNR``, ``psnr_gtmean`` -> ``PSNR gt-mean``."""
    if column.endswith("_gtmean"):
        return f"{column.removesuffix('_gtmean').upper()} gt-mean"
    return column.upper()


def format_value(column: str, value: float | None) -> str:
    """A metric value rounded for display (``-`` when missing)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.{_DECIMALS.get(column.removesuffix('_gtmean'), 4)}f}"


def comparison_rows(runs: Sequence[EvalRun]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the comparison table: one row per run, means per column,
    each metric beside its GT-mean twin."""
    columns = union_columns(runs)
    header = ["model", "images", "failed", *(column_title(c) for c in columns), "s/img"]
    rows = []
    for run in runs:
        means = run.means()
        seconds = run.median_seconds()
        rows.append(
            [
                run.label,
                str(len(run.scored)),
                str(len(run.failures)),
                *(format_value(c, means.get(c)) for c in columns),
                "-" if seconds is None else f"{seconds:.3f}",
            ]
        )
    return header, rows


def format_table(runs: Sequence[EvalRun]) -> str:
    """The comparison table as aligned plain text (text left, numbers right)."""
    header, rows = comparison_rows(runs)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(r) for r in rows), direction_note(runs)])


def direction_note(runs: Sequence[EvalRun]) -> str:
    """Which metrics are better high and which low."""
    from lowlight.metrics import METRIC_SPECS

    columns = union_columns(runs)
    names = [c for c in columns if not c.endswith("_gtmean")]
    higher = [n.upper() for n in names if n in METRIC_SPECS and METRIC_SPECS[n].higher_is_better]
    lower = [n.upper() for n in names if n in METRIC_SPECS and not METRIC_SPECS[n].higher_is_better]
    parts = []
    if higher:
        parts.append(f"higher is better: {', '.join(higher)}")
    if lower:
        parts.append(f"lower is better: {', '.join(lower)}")
    if any(c.endswith("_gtmean") for c in columns):
        parts.append(
            "gt-mean: prediction rescaled to the reference's mean brightness before scoring"
        )
    return "; ".join(parts)


def union_columns(runs: Sequence[EvalRun]) -> list[str]:
    """Metric columns of all runs, in first-seen order."""
    columns: list[str] = []
    for run in runs:
        columns += [c for c in run.columns if c not in columns]
    return columns


def write_csv(runs: Sequence[EvalRun], path: str | Path) -> Path:
    """One row per model and image: ``model, stem, <metrics>, seconds, input, target, error``.

    Values keep full precision; failed images have empty metric cells and an ``error``.
    """
    columns = union_columns(runs)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["model", "stem", *columns, "seconds", "input", "target", "error"])
    for run in runs:
        for r in run.results:
            writer.writerow(
                [
                    run.label,
                    r.stem,
                    *(_csv_number(r.values.get(c)) for c in columns),
                    _csv_number(r.seconds),
                    r.input,
                    r.target or "",
                    r.error or "",
                ]
            )
    return atomic_write_text(path, buffer.getvalue())


def summary_dict(runs: Sequence[EvalRun], *, include_images: bool = True) -> dict[str, Any]:
    """Everything in the JSON summary: versions, and per run its settings, means and failures
    (and per-image values when ``include_images``)."""
    import lowlight

    out: dict[str, Any] = {
        "lowlight_version": lowlight.__version__,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "runs": [],
    }
    for run in runs:
        summary = run.summary()
        if include_images:
            summary["images"] = [
                {"stem": r.stem, **r.values, "seconds": r.seconds, "error": r.error}
                for r in run.results
            ]
        out["runs"].append(summary)
    return out


def write_json(runs: Sequence[EvalRun], path: str | Path, *, include_images: bool = True) -> Path:
    """The JSON summary (strict JSON: infinite or NaN values are written as strings)."""
    text = json.dumps(
        _json_safe(summary_dict(runs, include_images=include_images)), indent=2, allow_nan=False
    )
    return atomic_write_text(path, text + "\n")


def markdown_summary(runs: Sequence[EvalRun]) -> str:
    """The Markdown summary: comparison table, settings, protocol and failures."""
    header, rows = comparison_rows(runs)
    numeric = ["---"] + ["---:"] * (len(header) - 1)
    dataset = next((r.settings.get("dataset") for r in runs if r.settings.get("dataset")), "")
    lines = [f"# Evaluation{': ' + dataset if dataset else ''}", ""]
    lines += [_md_row(header), _md_row(numeric), *(_md_row(r) for r in rows), ""]
    lines += [direction_note(runs) + ".", "", "## Settings", ""]
    for run in runs:
        s = run.settings
        keys = ("mode", "model", "weights", "device", "pred_dir", "gt_dir", "folder", "created")
        details = ", ".join(f"{k} `{s[k]}`" for k in keys if s.get(k) is not None)
        lines.append(
            f"- **{run.label}**: {details}, lowlight {s.get('lowlight_version', '?')}, "
            f"torch {s.get('torch_version', '?')}"
        )
    protocol: dict[str, str] = {}
    for run in runs:
        for key, text in run.settings.get("protocol", {}).items():
            protocol.setdefault(key, text)
    if protocol:
        lines += ["", "## Protocol", ""]
        lines += [f"- **{key}**: {text}" for key, text in protocol.items()]
    failures = [(run.label, r) for run in runs for r in run.failures]
    if failures:
        lines += ["", f"## Failures ({len(failures)})", ""]
        lines += [f"- {label} / `{r.stem}`: {r.error}" for label, r in failures]
    return "\n".join(lines) + "\n"


def write_markdown(runs: Sequence[EvalRun], path: str | Path) -> Path:
    """Write :func:`markdown_summary` to ``path``."""
    return atomic_write_text(path, markdown_summary(runs))


def write_reports(runs: Sequence[EvalRun], out_dir: str | Path) -> dict[str, Path]:
    """Write ``per_image.csv``, ``summary.json`` and ``summary.md`` into ``out_dir``."""
    out_dir = Path(out_dir)
    return {
        "csv": write_csv(runs, out_dir / CSV_NAME),
        "json": write_json(runs, out_dir / JSON_NAME),
        "markdown": write_markdown(runs, out_dir / MARKDOWN_NAME),
    }


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` (replacing it) via a temporary file beside it and a
    rename, so a reader never sees a half-written file; missing folders are created."""
    from lowlight.io.atomic import write_atomic

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, lambda fh: fh.write(text.encode("utf-8")), overwrite=True)
    return path


def _csv_number(value: float | None) -> str:
    return "" if value is None else repr(float(value))


def _json_safe(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return "nan" if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    return obj


def _md_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


__all__ = [
    "CSV_NAME",
    "JSON_NAME",
    "MARKDOWN_NAME",
    "atomic_write_text",
    "column_title",
    "comparison_rows",
    "format_table",
    "format_value",
    "markdown_summary",
    "summary_dict",
    "union_columns",
    "write_csv",
    "write_json",
    "write_markdown",
    "write_reports",
]
