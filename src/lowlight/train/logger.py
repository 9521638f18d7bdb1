"""Training logs: Python logging (console + ``train.log``), CSV files, optional TensorBoard.

* ``log.csv``: one row per ``log_every`` steps: ``step, lr, loss, <terms...>, sec_per_step,
  seconds`` (``seconds`` is wall time since the run first started, resumes included);
* ``val.csv``: one row per validation: ``step, psnr, ssim, psnr_gtmean, ssim_gtmean, seconds``;
* TensorBoard event files in ``out_dir/tb`` when the ``tensorboard`` package is
  installed (``pip install 'lowlight[tensorboard]'``); otherwise one log line says so and
  the run goes on with CSV only.

On resume, CSV rows written after the checkpoint being resumed (by the run that was
killed) are dropped, so each step appears once.
"""

from __future__ import annotations

import csv
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

LOGGER_NAME = "lowlight.train"


def get_logger() -> logging.Logger:
    return logging.getLogger(LOGGER_NAME)


class TqdmHandler(logging.Handler):
    """Console handler that prints through ``tqdm.write`` so progress bars stay intact."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            from tqdm import tqdm

            tqdm.write(self.format(record))
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)


def attach_file_handler(path: str | Path) -> logging.Handler:
    """Append the training logger's records to ``path``; detach with :func:`detach_handler`."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = get_logger()
    logger.addHandler(handler)
    if logger.level == logging.NOTSET or logger.level > logging.INFO:
        logger.setLevel(logging.INFO)
    return handler


def detach_handler(handler: logging.Handler) -> None:
    get_logger().removeHandler(handler)
    handler.close()


class CSVLog:
    """Rows of scalars appended to a CSV file; the header grows if new columns appear.

    Args:
        path: the CSV file.
        resume_step: when resuming, rows with ``step > resume_step`` are dropped;
            ``None`` starts a fresh file.
    """

    def __init__(self, path: str | Path, resume_step: int | None = None) -> None:
        self.path = Path(path)
        self.columns: list[str] = []
        rows: list[dict[str, str]] = []
        if resume_step is not None and self.path.is_file():
            with open(self.path, newline="", encoding="utf-8") as fh:
                reader = csv.DictReader(fh)
                self.columns = list(reader.fieldnames or [])
                rows = [r for r in reader if _step_of(r) is not None and _step_of(r) <= resume_step]  # type: ignore[operator]
        self._rewrite(rows)

    def write(self, row: Mapping[str, Any]) -> None:
        new = [k for k in row if k not in self.columns]
        if new:
            rows = self._read()
            self.columns.extend(new)
            self._rewrite(rows)
        with open(self.path, "a", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=self.columns)
            writer.writerow({k: _fmt(v) for k, v in row.items()})

    def _read(self) -> list[dict[str, str]]:
        if not self.path.is_file():
            return []
        with open(self.path, newline="", encoding="utf-8") as fh:
            return list(csv.DictReader(fh))

    def _rewrite(self, rows: list[dict[str, str]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            if self.columns:
                writer = csv.DictWriter(fh, fieldnames=self.columns)
                writer.writeheader()
                writer.writerows(rows)
        os.replace(tmp, self.path)


class TensorBoardLog:
    """Scalars to TensorBoard when it is installed; a silent no-op (after one log line) otherwise."""

    def __init__(self, folder: str | Path, resume_step: int | None = None) -> None:
        self.writer: Any = None
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            get_logger().info(
                "TensorBoard is not installed; logging to CSV only (pip install 'lowlight[tensorboard]')"
            )
            return
        self.writer = SummaryWriter(
            log_dir=str(folder), purge_step=resume_step + 1 if resume_step else None
        )

    def write(self, step: int, scalars: Mapping[str, float], prefix: str) -> None:
        if self.writer is None:
            return
        for key, value in scalars.items():
            self.writer.add_scalar(f"{prefix}/{key}", value, step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _step_of(row: Mapping[str, str]) -> int | None:
    try:
        return int(row.get("step", ""))
    except ValueError:
        return None


def _fmt(value: Any) -> Any:
    if isinstance(value, float):
        return f"{value:.8g}"
    return value


__all__ = [
    "LOGGER_NAME",
    "CSVLog",
    "TensorBoardLog",
    "TqdmHandler",
    "attach_file_handler",
    "detach_handler",
    "get_logger",
]
