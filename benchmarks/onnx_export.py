"""ONNX export of every model: does it export, does onnxruntime match PyTorch, how fast is it.

For each row: ``lowlight.deploy.export_onnx`` (traced at 64x96, dynamic batch/height/width),
then the max absolute difference between onnxruntime (CPU) and the eager PyTorch model on
random dark images at three sizes none of which is the traced one (two odd; both
orientations), then the median latency at 600x400 (W x H) of onnxruntime and of PyTorch
(``inference_mode``), both on ``--threads`` threads. The shipped weights are used where a
model has them; the full ``mirnet`` and ``nalsuper`` are random-initialised (no weights
ship) and checked at small sizes only unless ``--full-latency`` (a 600x400 pass of each
takes minutes on one CPU thread).

    python benchmarks/onnx_export.py                       # ~8 min on one idle thread
    python benchmarks/onnx_export.py --full-latency        # + full MIRNet/NaLSuper at 600x400 (~15 min)

Writes ``benchmarks/results/onnx_export/onnx_export.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "results" / "onnx_export"

SIZES = [(67, 101), (257, 191), (400, 600)]
SMALL_SIZES = [(67, 101), (96, 128), (131, 77)]
LATENCY_SIZE = (400, 600)

# (label, model, weights ("default" or None), constructor args, dtype, heavy)
ROWS: list[tuple[str, str, str | None, dict[str, Any], str, bool]] = [
    ("identity", "identity", "default", {}, "float32", False),
    ("gamma", "gamma", "default", {}, "float32", False),
    ("clahe", "clahe", "default", {}, "float32", False),
    ("lime", "lime", "default", {}, "float32", False),
    ("lucent", "lucent", "default", {}, "float32", False),
    ("lucent curve_max_side=128", "lucent", "default", {"curve_max_side": 128}, "float32", False),
    ("lucent float16", "lucent", "default", {}, "float16", False),
    ("mirnet_small", "mirnet_small", "default", {}, "float32", False),
    ("mirnet_small bfloat16", "mirnet_small", "default", {}, "bfloat16", False),
    ("mirnet_small float16", "mirnet_small", "default", {}, "float16", False),
    ("nalsuper_small", "nalsuper_small", "default", {}, "float32", False),
    ("nalsuper_small float16", "nalsuper_small", "default", {}, "float16", False),
    ("mirnet (random init)", "mirnet", None, {}, "float32", True),
    ("nalsuper (random init)", "nalsuper", None, {}, "float32", True),
]


def _median_seconds(fn, repeats: int) -> float:  # noqa: ANN001
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run_row(row: tuple, threads: int, repeats: int, full_latency: bool, tmp: Path) -> dict:
    import lowlight
    from lowlight.deploy.onnx_export import export_onnx, onnx_session, run_onnx, verify_onnx
    from lowlight.errors import ConfigError

    label, name, weights, args, dtype, heavy = row
    model = lowlight.load(name, weights=weights, device="cpu", **args)
    result: dict[str, Any] = {"model": label, "dtype": dtype}
    path = tmp / f"{label.replace(' ', '_')}.onnx"
    start = time.perf_counter()
    try:
        export_onnx(model, path, name=name, dtype=dtype)
    except ConfigError as exc:
        result.update(export="refused", reason=str(exc))
        return result
    result.update(export="ok", export_s=round(time.perf_counter() - start, 1))
    result["file_mib"] = round(path.stat().st_size / 2**20, 2)
    sizes = SMALL_SIZES if heavy else SIZES
    checks = verify_onnx(path, model, sizes, threads=threads)
    result["max_abs_diff"] = {c["size"]: c["max_abs_diff"] for c in checks}
    result["finite"] = all(c["finite"] for c in checks)
    if heavy and not full_latency:
        return result
    session = onnx_session(path, threads)
    x = torch.rand(1, 3, *LATENCY_SIZE, generator=torch.Generator().manual_seed(1)) * 0.35
    n = 1 if heavy else repeats
    result["ort_ms"] = 1000 * _median_seconds(lambda: run_onnx(session, x.numpy()), n)
    with torch.inference_mode():
        result["torch_ms"] = 1000 * _median_seconds(lambda: model(x), n)
    return result


def markdown(results: list[dict], meta: dict) -> str:
    h, w = LATENCY_SIZE
    lines = [
        "# ONNX export: every model, checked against PyTorch",
        "",
        f"`python benchmarks/onnx_export.py` on {meta['cpu']}, {meta['threads']} thread(s), "
        f"torch {meta['torch']}, onnxruntime {meta['onnxruntime']}; traced at 64x96, "
        f"max |onnxruntime - PyTorch float32| on random dark images at each H x W; "
        f"latency: median of {meta['repeats']} at {w}x{h} (W x H), batch 1.",
        "",
        "| model | dtype | export | max abs diff (3 sizes, H x W) | ORT ms | PyTorch ms |",
        "|---|---|---|---|---:|---:|",
    ]
    for r in results:
        if r["export"] != "ok":
            lines.append(f"| {r['model']} | {r['dtype']} | refused: {r['reason']} | | | |")
            continue
        diffs = ", ".join(f"{k}: {v:.1e}" for k, v in r["max_abs_diff"].items())
        if not r["finite"]:
            diffs += " (NOT FINITE)"
        ort = f"{r['ort_ms']:.1f}" if "ort_ms" in r else "not run"
        pt = f"{r['torch_ms']:.1f}" if "torch_ms" in r else "not run"
        lines.append(f"| {r['model']} | {r['dtype']} | ok | {diffs} | {ort} | {pt} |")
    lines += [
        "",
        "float16/bfloat16 rows compare against the float32 PyTorch model, so their "
        "difference is the cost of the lower precision, not an export error. The random "
        "full models are checked at small sizes (a 600x400 pass takes minutes on one "
        "thread; `--full-latency` adds it).",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--full-latency", action="store_true")
    parser.add_argument("--only", nargs="*", default=None, help="Row labels to run.")
    parser.add_argument("--out", type=Path, default=OUT)
    opts = parser.parse_args()
    torch.set_num_threads(opts.threads)
    torch.manual_seed(0)
    import onnxruntime

    rows = [r for r in ROWS if opts.only is None or r[0] in opts.only]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for row in rows:
            result = run_row(row, opts.threads, opts.repeats, opts.full_latency, Path(tmp))
            print(json.dumps(result), flush=True)
            results.append(result)
    meta = {
        "cpu": platform.processor() or platform.machine(),
        "threads": opts.threads,
        "repeats": opts.repeats,
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
        "numpy": np.__version__,
    }
    opts.out.mkdir(parents=True, exist_ok=True)
    (opts.out / "onnx_export.json").write_text(
        json.dumps({"meta": meta, "results": results}, indent=2) + "\n"
    )
    (opts.out / "onnx_export.md").write_text(markdown(results, meta))
    print(markdown(results, meta))


if __name__ == "__main__":
    main()
