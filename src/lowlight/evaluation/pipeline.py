"""Score a model (or saved predictions) on a folder of images.

Protocol (the one LLIE papers report): each input is enhanced whole (no crop, no
resize; tiled only when ``tile`` is given), the output is quantised to 8 bits exactly as
saving it as PNG would, and the metrics compare that 8-bit image with the 8-bit
reference; a dataset score is the arithmetic mean of the per-image scores. Every
full-reference metric comes with its GT-mean twin (``<name>_gtmean``).

A bad image (unreadable, wrong size, a model error) is recorded with its error and the
run continues; callers decide what a failure means (``lowlight eval`` exits non-zero).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
from torch import Tensor

from lowlight.data.pairs import ImagePair, find_pairs, natural_key
from lowlight.errors import LowlightError
from lowlight.evaluation.results import EvalRun, ImageResult
from lowlight.io import list_images, read_image, write_image
from lowlight.metrics import METRIC_SPECS, quantize_uint8, score_no_reference, score_pair
from lowlight.models.base import EnhancementModel

DEFAULT_METRICS = ("psnr", "ssim", "mae")
DEFAULT_NO_REFERENCE_METRICS = ("niqe",)

Progress = Callable[[ImageResult], None]
T = TypeVar("T")

_SCORED_ERRORS = (LowlightError, OSError, RuntimeError, MemoryError)
"""Per-image errors recorded instead of stopping the run: unreadable files, size
mismatches, metric input errors (all :class:`LowlightError`), file-system errors and model
failures such as running out of memory. Anything else is a bug and propagates."""


class EvaluationError(LowlightError):
    """An evaluation that cannot start (unknown metric, incompatible options)."""


def split_metrics(metrics: Sequence[str], *, reference: bool) -> tuple[list[str], list[str]]:
    """Validate metric names and split them into ``(full-reference, no-reference)``.

    Args:
        metrics: names from :data:`lowlight.metrics.METRIC_SPECS`.
        reference: whether references are available; without them a full-reference
            metric is an error.

    Raises:
        EvaluationError: an unknown name, a duplicate, none at all, or a full-reference
            metric without references.
    """
    names = [m.strip().lower() for m in metrics if m.strip()]
    if not names:
        raise EvaluationError("no metrics requested")
    unknown = [m for m in names if m not in METRIC_SPECS]
    if unknown:
        raise EvaluationError(
            f"unknown metric(s) {', '.join(unknown)}; known: {', '.join(sorted(METRIC_SPECS))}"
        )
    duplicates = sorted({m for m in names if names.count(m) > 1})
    if duplicates:
        raise EvaluationError(f"metric(s) requested twice: {', '.join(duplicates)}")
    full = [m for m in names if METRIC_SPECS[m].needs_reference]
    blind = [m for m in names if not METRIC_SPECS[m].needs_reference]
    if full and not reference:
        raise EvaluationError(
            f"{', '.join(full)} need(s) reference images, which a no-reference evaluation does "
            f"not have; no-reference metrics: "
            f"{', '.join(sorted(n for n, s in METRIC_SPECS.items() if not s.needs_reference))}"
        )
    return full, blind


def load_lpips_if_needed(metrics: Sequence[str], device: torch.device | str = "cpu") -> Any:
    """The LPIPS network when ``"lpips"`` is among ``metrics`` (else ``None``).

    Called before any work starts, so that missing weights fail fast. Nothing is
    downloaded: the weights must already be local (the error says where to put them).

    Raises:
        WeightsError: the LPIPS weights are not available locally.
    """
    if "lpips" not in [m.strip().lower() for m in metrics]:
        return None
    from lowlight.metrics import load_lpips

    return load_lpips(allow_download=False, device=device)


def enhance_batch(model: EnhancementModel, x: Tensor, tile: int | None = None) -> Tensor:
    """Enhance ``x`` ``(1, 3, H, W)`` whole (``tile=None``, the evaluation protocol) or in
    tiles of ``tile`` pixels (for images too large for the device)."""
    if tile is None:
        with torch.inference_mode():
            return model(x)
    from lowlight.inference import enhance_tensor_tiled

    return enhance_tensor_tiled(model, x, tile=tile)


def evaluate_model(
    model: EnhancementModel,
    pairs: Sequence[ImagePair],
    *,
    metrics: Sequence[str] = DEFAULT_METRICS,
    label: str | None = None,
    model_name: str | None = None,
    weights: str | None = None,
    dataset: str = "",
    tile: int | None = None,
    save_dir: str | Path | None = None,
    lpips_model: Any = None,
    progress: Progress | None = None,
) -> EvalRun:
    """Enhance each pair's input with ``model`` and score it against the pair's target.

    Args:
        model: an :class:`EnhancementModel` on its device (run in eval mode; its
            previous mode is restored afterwards).
        pairs: from :func:`lowlight.data.pairs.find_pairs`.
        metrics: full-reference and/or no-reference metric names (the latter score the
            enhanced image alone).
        label: row name in reports (default: ``model_name``).
        model_name, weights, dataset: recorded in the run's settings.
        tile: ``None`` enhances whole images (the protocol); an int tiles larger images.
        save_dir: when given, each enhanced 8-bit image is saved there as ``<stem>.png``.
        lpips_model: a loaded LPIPS network; loaded here if ``"lpips"`` is requested and
            this is ``None``.
        progress: called with each :class:`ImageResult` as it is produced.
    """
    full, blind = split_metrics(metrics, reference=True)
    lpips_model = (
        lpips_model if lpips_model is not None else load_lpips_if_needed(full, model.device)
    )
    name = model_name or type(model).__name__
    run = EvalRun(
        label=label or name,
        columns=_columns(full, blind),
        settings=_settings(
            "model",
            dataset,
            full + blind,
            model=name,
            weights=weights,
            device=str(model.device),
            tile=tile,
        ),
    )
    save = Path(save_dir) if save_dir is not None else None

    def score(result: ImageResult, pair: ImagePair) -> None:
        source = read_image(pair.input)
        target = read_image(pair.target)
        _check_same_size(source.rgb, target.rgb, pair.input, pair.target)
        pred, result.seconds = _enhance_image(model, source.rgb, tile)
        result.values = _score(pred, target.rgb, full, blind, lpips_model)
        if save is not None:
            _save(pred, save / f"{pair.stem}.png")

    with _eval_mode(model):
        return _run_all(run, [(_pair_result(p), p) for p in pairs], score, progress)


def evaluate_predictions(
    pred_dir: str | Path,
    gt_dir: str | Path,
    *,
    metrics: Sequence[str] = DEFAULT_METRICS,
    label: str | None = None,
    dataset: str = "",
    lpips_model: Any = None,
    progress: Progress | None = None,
) -> EvalRun:
    """Score saved predictions in ``pred_dir`` against references in ``gt_dir`` (paired by
    stem, see :func:`~lowlight.data.pairs.find_pairs`); sizes must match exactly.

    Predictions are quantised to 8 bits like model outputs (a no-op for 8-bit files).
    """
    full, blind = split_metrics(metrics, reference=True)
    pairs = find_pairs(pred_dir, gt_dir)
    lpips_model = lpips_model if lpips_model is not None else load_lpips_if_needed(full)
    run = EvalRun(
        label=label or Path(pred_dir).name,
        columns=_columns(full, blind),
        settings=_settings(
            "predictions", dataset, full + blind, pred_dir=str(pred_dir), gt_dir=str(gt_dir)
        ),
    )

    def score(result: ImageResult, pair: ImagePair) -> None:
        pred = read_image(pair.input)
        target = read_image(pair.target)
        _check_same_size(pred.rgb, target.rgb, pair.input, pair.target)
        result.values = _score(quantize_uint8(pred.rgb), target.rgb, full, blind, lpips_model)

    return _run_all(run, [(_pair_result(p), p) for p in pairs], score, progress)


def evaluate_no_reference(
    folder: str | Path,
    *,
    model: EnhancementModel | None = None,
    metrics: Sequence[str] = DEFAULT_NO_REFERENCE_METRICS,
    label: str | None = None,
    model_name: str | None = None,
    weights: str | None = None,
    dataset: str = "",
    tile: int | None = None,
    save_dir: str | Path | None = None,
    progress: Progress | None = None,
) -> EvalRun:
    """Score no-reference metrics on every image under ``folder`` (recursively), enhanced by
    ``model`` first when one is given (quantised to 8 bits), else as they are.

    Image ids are paths relative to ``folder`` without the suffix; ``save_dir`` mirrors them.
    """
    _, blind = split_metrics(metrics, reference=False)
    folder = Path(folder)
    if not folder.is_dir():
        raise EvaluationError(f"not a directory: {folder}")
    items = sorted(
        list_images([folder], recursive=True), key=lambda item: natural_key(item[1].as_posix())
    )
    if not items:
        raise EvaluationError(f"no images under {folder}")
    name = model_name or (type(model).__name__ if model is not None else None)
    run = EvalRun(
        label=label or name or folder.name,
        columns=list(blind),
        settings=_settings(
            "no-reference",
            dataset,
            blind,
            model=name,
            weights=weights,
            device=str(model.device) if model is not None else None,
            tile=tile,
            folder=str(folder),
        ),
    )
    save = Path(save_dir) if save_dir is not None else None

    def score(result: ImageResult, relative: Path) -> None:
        image = read_image(result.input).rgb
        if model is None:
            image = quantize_uint8(image)
        else:
            image, result.seconds = _enhance_image(model, image, tile)
            if save is not None:
                _save(image, (save / relative).with_suffix(".png"))
        result.values = _score(image, None, [], blind, None)

    jobs = [
        (ImageResult(stem=rel.with_suffix("").as_posix(), input=str(path)), rel)
        for path, rel in items
    ]
    with _eval_mode(model):
        return _run_all(run, jobs, score, progress)


def inference_protocol(tile: int | None) -> str:
    """How images are enhanced, for reports."""
    how = "whole image (no crop, no resize)" if tile is None else f"tiles of {tile} px (blended)"
    return f"{how}; output quantised to 8 bits as if saved to PNG; dataset score = mean over images"


def _enhance_image(
    model: EnhancementModel, rgb: np.ndarray, tile: int | None
) -> tuple[np.ndarray, float]:
    """``(H, W, 3)`` float in [0, 1] -> the enhanced ``(H, W, 3)`` uint8 and the seconds it took."""
    device = model.device
    x = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))[None].to(device)
    _synchronize(device)
    start = time.perf_counter()
    y = enhance_batch(model, x, tile)
    _synchronize(device)
    seconds = time.perf_counter() - start
    return quantize_uint8(y[0].float().cpu()), seconds


def _run_all(
    run: EvalRun,
    jobs: Sequence[tuple[ImageResult, T]],
    score: Callable[[ImageResult, T], None],
    progress: Progress | None,
) -> EvalRun:
    """Call ``score(result, item)`` for each job, recording per-image errors in the result."""
    for result, item in jobs:
        try:
            score(result, item)
        except _SCORED_ERRORS as exc:
            result.values = {}
            result.error = _describe(exc)
        run.results.append(result)
        if progress is not None:
            progress(result)
    return run


def _pair_result(pair: ImagePair) -> ImageResult:
    return ImageResult(stem=pair.stem, input=str(pair.input), target=str(pair.target))


def _score(
    pred: np.ndarray, target: np.ndarray | None, full: list[str], blind: list[str], lpips_model: Any
) -> dict[str, float]:
    """Full-reference metrics of ``pred`` against ``target`` and no-reference metrics of
    ``pred``, both ``(H, W, 3)``."""
    values: dict[str, float] = {}
    if full and target is not None:
        values.update(score_pair(pred, target, metrics=tuple(full), lpips_model=lpips_model))
    if blind:
        values.update(score_no_reference(pred, metrics=tuple(blind)))
    return {k: float(v) for k, v in values.items()}


def _save(pred: np.ndarray, path: Path) -> None:
    """Save the 8-bit ``(H, W, 3)`` prediction as an 8-bit PNG (atomically, folders created)."""
    write_image(path, pred, format="png", bit_depth=8, overwrite=True)


def _check_same_size(a: np.ndarray, b: np.ndarray, path_a: Path, path_b: Path) -> None:
    """Raise unless the ``(H, W, 3)`` images ``a`` and ``b`` have the same height and width."""
    if a.shape[:2] != b.shape[:2]:
        raise EvaluationError(
            f"size mismatch: {path_a.name} is {_wh(a)} but its reference {path_b.name} is {_wh(b)}; "
            "the protocol scores full images, so sizes must match exactly"
        )


def _wh(image: np.ndarray) -> str:
    return f"{image.shape[1]}x{image.shape[0]}"


def _columns(full: Sequence[str], blind: Sequence[str]) -> list[str]:
    columns = []
    for name in full:
        columns += [name, f"{name}_gtmean"]
    return columns + list(blind)


def _settings(mode: str, dataset: str, metrics: Sequence[str], **extra: Any) -> dict[str, Any]:
    import lowlight

    tile = extra.get("tile")
    protocol = {name: METRIC_SPECS[name].protocol for name in metrics}
    protocol["inference"] = (
        inference_protocol(tile)
        if mode != "predictions"
        else "saved predictions, quantised to 8 bits"
    )
    return {
        "mode": mode,
        "dataset": dataset,
        **{k: v for k, v in extra.items() if v is not None},
        "metrics": list(metrics),
        "protocol": protocol,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "lowlight_version": lowlight.__version__,
        "torch_version": torch.__version__,
    }


@contextlib.contextmanager
def _eval_mode(model: EnhancementModel | None) -> Iterator[None]:
    """Run with ``model`` in eval mode (dropout off, batch-norm running statistics), then
    restore its previous mode."""
    if model is None:
        yield
        return
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if isinstance(exc, LowlightError) else f"{type(exc).__name__}: {text}"


__all__ = [
    "DEFAULT_METRICS",
    "DEFAULT_NO_REFERENCE_METRICS",
    "EvaluationError",
    "enhance_batch",
    "evaluate_model",
    "evaluate_no_reference",
    "evaluate_predictions",
    "inference_protocol",
    "load_lpips_if_needed",
    "split_metrics",
]
