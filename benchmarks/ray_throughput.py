"""Throughput of ``lowlight enhance --engine ray`` against the plain local engine on a folder.

Both run as the user runs them (``python -m lowlight enhance SRC -o OUT -q``), into fresh
output folders, on the same machine; the figure is images per second of wall time, Ray's
including its start-up (a local instance with ``actors`` CPUs) and the model load in each
actor. The outputs of the two engines are compared file by file (they must be identical).

    python benchmarks/ray_throughput.py                                  # sci_samples, lime, 2 actors
    python benchmarks/ray_throughput.py --model gamma --actors 4 --src /path/to/photos

Writes ``benchmarks/results/ray_engine/throughput_<model>_<actors>actors.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
OUT = REPO / "benchmarks" / "results" / "ray_engine"


def run(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "lowlight", "enhance", *args, "-q"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise RuntimeError(f"lowlight enhance failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return seconds, done.stdout.strip()


def same_outputs(a: Path, b: Path) -> bool:
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    if files_a != files_b:
        return False
    return all(
        np.array_equal(np.asarray(Image.open(a / rel)), np.asarray(Image.open(b / rel)))
        for rel in files_a
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--src", type=Path, default=DATA / "sci_samples")
    parser.add_argument("--model", default="lime")
    parser.add_argument("--actors", type=int, default=2)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--out", type=Path, default=OUT)
    opts = parser.parse_args()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), env.get("PYTHONPATH", "")])
    common = [str(opts.src), "--model", opts.model, "--batch", str(opts.batch), "--device", "cpu"]
    with tempfile.TemporaryDirectory() as tmp:
        local_s, local_line = run([*common, "-o", f"{tmp}/local"], env)
        ray_s, ray_line = run(
            [*common, "-o", f"{tmp}/ray", "--engine", "ray", "--actors", str(opts.actors)], env
        )
        count = sum(1 for p in Path(tmp, "local").rglob("*") if p.is_file())
        identical = same_outputs(Path(tmp, "local"), Path(tmp, "ray"))
    result = {
        "src": str(opts.src),
        "images": count,
        "model": opts.model,
        "actors": opts.actors,
        "cpus": os.cpu_count(),
        "load_average_1min_at_end": os.getloadavg()[0],
        "cpu": platform.processor() or platform.machine(),
        "local": {"seconds": local_s, "images_per_s": count / local_s, "line": local_line},
        "ray": {"seconds": ray_s, "images_per_s": count / ray_s, "line": ray_line},
        "speedup": local_s / ray_s,
        "identical_outputs": identical,
    }
    opts.out.mkdir(parents=True, exist_ok=True)
    stem = f"throughput_{opts.model}_{opts.actors}actors"
    (opts.out / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    md = (
        f"# `lowlight enhance --engine ray` vs the local engine\n\n"
        f"{count} images from `{opts.src.name}`, model `{opts.model}`, CPU, one torch thread "
        f"per process; {os.cpu_count()} CPUs, 1-min load average {result['load_average_1min_at_end']:.1f} "
        f"at the end (other work was running).\n\n"
        f"| engine | wall s | images/s |\n|---|---:|---:|\n"
        f"| local (1 process) | {local_s:.1f} | {count / local_s:.2f} |\n"
        f"| ray ({opts.actors} actors, incl. start-up) | {ray_s:.1f} | {count / ray_s:.2f} |\n\n"
        f"Speed-up {local_s / ray_s:.2f}x; outputs identical: {identical}.\n"
    )
    (opts.out / f"{stem}.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
