"""Report writers: per-image CSV, JSON and Markdown summaries, and the terminal table."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

from lowlight.evaluation import EvalRun, ImageResult, format_table, write_reports
from lowlight.evaluation.reports import atomic_write_text, column_title, format_value


def _run(label: str, psnrs: list[float], *, failed: str | None = None) -> EvalRun:
    results = [
        ImageResult(
            stem=str(i),
            values={"psnr": p, "psnr_gtmean": p + 1, "mae": 0.1},
            seconds=0.5,
            input=f"low/{i}.png",
            target=f"high/{i}.png",
        )
        for i, p in enumerate(psnrs)
    ]
    if failed:
        results.append(
            ImageResult(stem="bad", input="low/bad.png", target="high/bad.png", error=failed)
        )
    settings = {
        "mode": "model",
        "dataset": "tiny",
        "model": label,
        "device": "cpu",
        "protocol": {"psnr": "8-bit RGB", "inference": "whole image"},
        "lowlight_version": "0",
        "torch_version": "x",
    }
    return EvalRun(
        label=label,
        columns=["psnr", "psnr_gtmean", "mae", "mae_gtmean"],
        settings=settings,
        results=results,
    )


@pytest.fixture
def runs() -> list[EvalRun]:
    return [
        _run("identity", [10.0, 20.0]),
        _run("lime", [15.0, math.inf], failed="cannot read low/bad.png"),
    ]


def test_means_skip_failures(runs: list[EvalRun]) -> None:
    assert runs[0].means()["psnr"] == 15.0
    assert math.isinf(runs[1].means()["psnr"])
    assert math.isnan(runs[0].means()["mae_gtmean"])  # a column no image has
    assert runs[1].summary()["failed"] == 1 and runs[1].summary()["count"] == 2


def test_files_are_written_and_parse(runs: list[EvalRun], tmp_path: Path) -> None:
    paths = write_reports(runs, tmp_path / "out")
    with open(paths["csv"], newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["model"] for r in rows] == ["identity", "identity", "lime", "lime", "lime"]
    assert float(rows[0]["psnr"]) == 10.0 and float(rows[3]["psnr"]) == math.inf
    assert rows[4]["stem"] == "bad" and rows[4]["psnr"] == "" and "cannot read" in rows[4]["error"]

    data = json.loads(paths["json"].read_text(encoding="utf-8"))  # strict JSON, inf as a string
    assert [r["label"] for r in data["runs"]] == ["identity", "lime"]
    assert data["runs"][0]["means"]["psnr"] == 15.0 and data["runs"][1]["means"]["psnr"] == "inf"
    assert data["runs"][1]["failures"][0]["stem"] == "bad"
    assert len(data["runs"][0]["images"]) == 2 and data["lowlight_version"]

    md = paths["markdown"].read_text(encoding="utf-8")
    table = [line for line in md.splitlines() if line.startswith("|")]
    assert table[0].split("|")[1].strip() == "model" and "PSNR gt-mean" in table[0]
    assert len(table) == 4  # header, alignment, two runs
    assert "## Failures (1)" in md and "cannot read" in md and "## Protocol" in md
    assert not list((tmp_path / "out").glob(".*.tmp"))


def test_terminal_table(runs: list[EvalRun]) -> None:
    text = format_table(runs)
    lines = text.splitlines()
    assert lines[0].split() == [
        "model",
        "images",
        "failed",
        "PSNR",
        "PSNR",
        "gt-mean",
        "MAE",
        "MAE",
        "gt-mean",
        "s/img",
    ]
    assert lines[2].split()[:5] == ["identity", "2", "0", "15.00", "16.00"]
    assert lines[3].split()[:4] == ["lime", "2", "1", "inf"]
    assert "higher is better: PSNR" in text and "lower is better: MAE" in text
    assert len({len(line) for line in lines[:4]}) == 1  # aligned


def test_formatting_helpers() -> None:
    assert column_title("ssim_gtmean") == "SSIM gt-mean" and column_title("niqe") == "NIQE"
    assert format_value("psnr_gtmean", 7.7762) == "7.78"
    assert format_value("ssim", 0.123456) == "0.1235"
    assert format_value("psnr", math.nan) == "-" and format_value("psnr", None) == "-"


def test_atomic_write_replaces(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b.txt"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two")
    assert target.read_text() == "two" and [p.name for p in target.parent.iterdir()] == ["b.txt"]
