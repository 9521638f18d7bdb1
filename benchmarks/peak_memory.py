"""Peak memory of ``lowlight enhance`` per megapixel, the measurement behind the default
``--max-pixels`` limit (``lowlight.io.DEFAULT_MAX_PIXELS``).

For each size, a synthesised dark 8-bit RGB PNG is enhanced in a fresh process (one
thread) and the child's peak resident memory (``ru_maxrss``) is read; the baseline (the
same command on a 64x64 image: Python, torch, the model) is subtracted and divided by the
megapixels. Writes ``benchmarks/results/peak_memory/<model>.json`` and prints a table.

    python benchmarks/peak_memory.py [--model lime] [--sizes 1000x1000 2000x2000 3000x3000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image


def peak_mib(model: str, width: int, height: int, work: Path) -> float:
    rng = np.random.default_rng(0)
    src = work / f"in_{width}x{height}.png"
    Image.fromarray((rng.random((height, width, 3)) * 40).astype(np.uint8)).save(src)
    out = work / f"out_{width}x{height}"
    code = (
        "import resource, sys\n"
        "from lowlight.cli.main import main\n"
        "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    cmd = [sys.executable, "-c", code, "enhance", str(src), "-o", str(out), "-m", model, "-q"]
    cmd += ["--max-pixels", str(width * height + 1), "--device", "cpu"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)

    return int(proc.stdout.strip().splitlines()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="lime")
    parser.add_argument("--sizes", nargs="+", default=["1000x1000", "2000x2000", "3000x3000"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        base = peak_mib(args.model, 64, 64, work)
        rows = []
        for size in args.sizes:
            w, h = (int(v) for v in size.lower().split("x"))
            peak = peak_mib(args.model, w, h, work)
            rows.append(
                {
                    "size": size,
                    "megapixels": w * h / 1e6,
                    "peak_mib": round(peak, 1),
                    "mib_per_megapixel": round((peak - base) / (w * h / 1e6), 1),
                }
            )
            print(f"{size:>12}  peak {peak:8.1f} MiB  ({rows[-1]['mib_per_megapixel']} MiB/MP)")
    report = {"model": args.model, "baseline_mib": round(base, 1), "rows": rows}
    out = Path(__file__).parent / "results" / "peak_memory" / f"{args.model}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"baseline {base:.1f} MiB; report: {out}")


if __name__ == "__main__":
    main()
