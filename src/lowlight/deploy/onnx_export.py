"""Export a model to ONNX with dynamic batch, height and width, and check it with onnxruntime.

The graph is :class:`~lowlight.deploy.graph.ExportGraph` (padding and cropping inside,
branch-free, so it is right at any size), exported by ``torch.onnx.export(dynamo=True)``
from ``torch.export`` with symbolic ``batch``, ``height`` and ``width``. Input ``image``
and output ``enhanced`` are float32 ``(B, 3, H, W)`` in ``[0, 1]`` whatever ``dtype`` the
weights and arithmetic use. The file's ``metadata_props`` carry the model name, its
constructor config, the weights' provenance record (JSON), the dtype and the smallest side
(keys under ``lowlight.``; read them back with :func:`read_metadata`).

Needs ``pip install 'lowlight[onnx]'`` (onnx, onnxscript for the exporter, onnxruntime to
verify and run).
"""

from __future__ import annotations

import dataclasses
import json
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lowlight._optional import require
from lowlight.deploy.graph import export_graph, min_side
from lowlight.errors import ConfigError
from lowlight.models.base import EnhancementModel

__all__ = [
    "EXAMPLE_SIZE",
    "export_onnx",
    "onnx_session",
    "read_metadata",
    "run_onnx",
    "verify_onnx",
]

EXAMPLE_SIZE = (64, 96)
"""``(H, W)`` of the random image the graph is traced with (any size works afterwards)."""

MAX_SIDE = 32768


def _metadata(model: EnhancementModel, name: str, dtype: str) -> dict[str, str]:
    import lowlight

    record = getattr(model, "weight_record", None)
    return {
        "lowlight.model": name,
        "lowlight.version": lowlight.__version__,
        "lowlight.dtype": dtype,
        "lowlight.min_side": str(min_side(model)),
        "lowlight.input": "image: float32 (B, 3, H, W) sRGB in [0, 1]",
        "lowlight.output": "enhanced: float32 (B, 3, H, W) sRGB in [0, 1]",
        "lowlight.weights": json.dumps(dataclasses.asdict(record)) if record else "null",
    }


def export_onnx(
    model: EnhancementModel,
    path: str | Path,
    *,
    name: str,
    dtype: str = "float32",
    opset: int | None = None,
) -> Path:
    """Write ``model`` as an ONNX file at ``path`` (one file, weights inside).

    Args:
        model: a loaded model (``lowlight.load``); its ``weight_record`` goes into the metadata.
        path: output ``.onnx`` file.
        name: registered model name (stored in the metadata).
        dtype: ``float32`` or ``float16`` for weights and arithmetic.
        opset: ONNX opset (default: the exporter's).

    Returns:
        ``path``.

    Raises:
        ConfigError: the model cannot be exported (LIME, CLAHE), ``dtype`` is unknown, or
            bfloat16 (onnxruntime's CPU provider has no bfloat16 convolution to verify it).
        MissingDependencyError: onnx / onnxscript are not installed.
    """
    onnx = require("onnx", extra="onnx", feature="ONNX export")
    require("onnxscript", extra="onnx", feature="ONNX export")
    from torch.export import Dim

    if dtype == "bfloat16":
        raise ConfigError(
            "ONNX Runtime's CPU provider has no bfloat16 convolution, so a bfloat16 ONNX file "
            "could not be checked here; use --dtype float16 (verified on CPU) or run bfloat16 "
            "in PyTorch (model.to(torch.bfloat16))"
        )
    graph = export_graph(model, dtype)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    side = min_side(model)
    shapes = {
        "x": {
            0: Dim("batch", min=1, max=1024),
            2: Dim("height", min=max(2, side), max=MAX_SIDE),
            3: Dim("width", min=max(2, side), max=MAX_SIDE),
        }
    }
    example = torch.rand(1, 3, *EXAMPLE_SIZE)
    options: dict[str, Any] = {"opset_version": opset} if opset else {}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            graph,
            (example,),
            dynamo=True,
            dynamic_shapes=shapes,
            input_names=["image"],
            output_names=["enhanced"],
            verbose=False,
            **options,
        )
    proto = program.model_proto
    for key, value in _metadata(model, name, dtype).items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    tmp = path.with_name(path.name + ".tmp")
    onnx.save_model(proto, str(tmp))
    tmp.replace(path)
    return path


def read_metadata(path: str | Path) -> dict[str, str]:
    """The ``lowlight.*`` metadata of an exported file (``lowlight.weights`` is JSON)."""
    onnx = require("onnx", extra="onnx", feature="reading ONNX metadata")
    proto = onnx.load(str(path), load_external_data=False)
    return {p.key: p.value for p in proto.metadata_props if p.key.startswith("lowlight.")}


def onnx_session(path: str | Path, threads: int = 1) -> Any:
    """An onnxruntime CPU session with ``threads`` intra-op threads."""
    ort = require("onnxruntime", extra="onnx", feature="running ONNX files")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def run_onnx(session: Any, image: np.ndarray) -> np.ndarray:
    """Run an exported model: ``(B, 3, H, W)`` float32 in ``[0, 1]`` -> the same shape."""
    return session.run(["enhanced"], {"image": np.ascontiguousarray(image, dtype=np.float32)})[0]


def verify_onnx(
    path: str | Path,
    model: EnhancementModel,
    sizes: list[tuple[int, int]],
    *,
    seed: int = 0,
    threads: int = 1,
) -> list[dict[str, Any]]:
    """Max absolute difference between onnxruntime and ``model(x)`` (float32, eager) on a
    random dark image at each ``(H, W)`` in ``sizes``.

    Returns:
        one ``{"size": "HxW", "max_abs_diff": float, "finite": bool, "seconds": float}`` per size.
    """
    session = onnx_session(path, threads)
    generator = torch.Generator().manual_seed(seed)
    rows = []
    for height, width in sizes:
        x = torch.rand(1, 3, height, width, generator=generator) * 0.35
        start = time.perf_counter()
        out = run_onnx(session, x.numpy())
        seconds = time.perf_counter() - start
        with torch.inference_mode():
            ref = model.float()(x.to(model.device)).cpu().numpy()
        rows.append(
            {
                "size": f"{height}x{width}",
                "max_abs_diff": float(np.abs(out.astype(np.float64) - ref).max()),
                "finite": bool(np.isfinite(out).all()),
                "seconds": seconds,
            }
        )
    return rows
