"""Result records of an evaluation run: one row per image and the run's summary."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ImageResult:
    """Scores of one image.

    Attributes:
        stem: the image's id: its file stem (paired modes) or its path relative to the
            scanned folder without the suffix (no-reference mode, which recurses).
        values: metric name -> value, including the ``<name>_gtmean`` twins.
        seconds: time to enhance the image (``None`` when no model ran).
        input: the input (or prediction) file.
        target: the reference file (``None`` without a reference).
        error: why the image could not be scored (``None`` when it was).
    """

    stem: str
    values: dict[str, float] = field(default_factory=dict)
    seconds: float | None = None
    input: str = ""
    target: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class EvalRun:
    """All per-image results of one model (or one prediction folder) on one dataset.

    Attributes:
        label: the row name in comparison tables (model name, with the weights if not default).
        columns: metric columns in display order, each plain metric followed by its GT-mean twin.
        settings: how the run was made: ``mode``, ``dataset``, ``model``, ``weights``,
            ``device``, ``protocol`` (per metric, plus the inference protocol),
            ``created`` (ISO timestamp), ``lowlight_version``, ``torch_version``, ...
        results: one :class:`ImageResult` per image, failures included.
    """

    label: str
    columns: list[str]
    settings: dict[str, Any] = field(default_factory=dict)
    results: list[ImageResult] = field(default_factory=list)

    @property
    def scored(self) -> list[ImageResult]:
        return [r for r in self.results if r.ok]

    @property
    def failures(self) -> list[ImageResult]:
        return [r for r in self.results if not r.ok]

    def means(self) -> dict[str, float]:
        """Arithmetic mean of each column over the scored images (NaN where none were)."""
        scored = self.scored
        out = {}
        for column in self.columns:
            values = [r.values[column] for r in scored if column in r.values]
            out[column] = math.fsum(values) / len(values) if values else math.nan
        return out

    def median_seconds(self) -> float | None:
        """Median enhancement time per image (``None`` when no model ran)."""
        times = [r.seconds for r in self.scored if r.seconds is not None]
        return statistics.median(times) if times else None

    def summary(self) -> dict[str, Any]:
        """The run's summary: label, settings, image counts, means and failures."""
        return {
            "label": self.label,
            **self.settings,
            "count": len(self.scored),
            "failed": len(self.failures),
            "means": self.means(),
            "seconds_median": self.median_seconds(),
            "failures": [
                {"stem": r.stem, "input": r.input, "error": r.error} for r in self.failures
            ],
        }


__all__ = ["EvalRun", "ImageResult"]
