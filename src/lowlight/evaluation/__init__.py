"""Evaluation: score a model, saved predictions or an unpaired folder, and write reports.

* :mod:`lowlight.evaluation.pipeline`: :func:`evaluate_model`, :func:`evaluate_predictions`,
  :func:`evaluate_no_reference` (the protocol is described there);
* :mod:`lowlight.evaluation.results`: :class:`EvalRun` and :class:`ImageResult`;
* :mod:`lowlight.evaluation.reports`: per-image CSV, JSON and Markdown summaries and the
  terminal table.

Names resolve on first use, so importing one submodule (say, the report writers) does
not import image I/O and the metrics.
"""

from __future__ import annotations

from lowlight._lazy import lazy_exports

_EXPORTS = {
    "DEFAULT_METRICS": "pipeline",
    "DEFAULT_NO_REFERENCE_METRICS": "pipeline",
    "EvaluationError": "pipeline",
    "enhance_batch": "pipeline",
    "evaluate_model": "pipeline",
    "evaluate_no_reference": "pipeline",
    "evaluate_predictions": "pipeline",
    "inference_protocol": "pipeline",
    "load_lpips_if_needed": "pipeline",
    "split_metrics": "pipeline",
    "EvalRun": "results",
    "ImageResult": "results",
    "atomic_write_text": "reports",
    "format_table": "reports",
    "markdown_summary": "reports",
    "summary_dict": "reports",
    "write_csv": "reports",
    "write_json": "reports",
    "write_markdown": "reports",
    "write_reports": "reports",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
