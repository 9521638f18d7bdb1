"""What does enhancing a camera photo cost? Time and peak memory of ``lowlight enhance``.

Every run is a fresh process running ``python -m lowlight enhance PHOTO -o DIR -m MODEL
--speed SPEED`` on a JPEG (decode, enhance, encode, Python and torch start-up included),
timed from outside; its CPU time (user + system of the child and its threads) and peak
memory (``ru_maxrss``) come from ``os.wait4``. Each figure is the minimum over
``--repeats`` runs (the machine is shared: the minimum is the run least disturbed by
others), and is quoted as a ratio to ``--model identity`` on the same file in the same
call (the cost of decoding and encoding alone). On a machine busy with other work, wall
time measures the contention; CPU time does not (with ``--threads 1`` it is the wall
time the run would take alone). The runs of one
repeat go round all jobs before the next repeat starts, so a slow spell hits every job.

The photos are made here: a real photo (default LOL-v1 eval15 ``low/1.png``, a dark
indoor scene; synthetic gradients if it is missing) upscaled (bicubic) to each size,
with mild sensor-like noise, saved as JPEG quality 92.

    python benchmarks/photo_speed.py                                   # 12 and 48 MP, all
    python benchmarks/photo_speed.py --sizes 4000x3000 --repeats 1 -m lucent -m mirnet_small
    python benchmarks/photo_speed.py --speeds fast --threads 2

Writes ``benchmarks/results/photo_speed[_NAME]/report.md`` and ``results.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
DEFAULT_MODELS = ("lime", "lucent", "mirnet_small", "nalsuper_small", "irle_small")
"""Shipped models (classical default plus every learned model with weights)."""
DEFAULT_SIZES = ("4000x3000", "8000x6000")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-m", "--model", action="append", dest="models")
    parser.add_argument("--speeds", nargs="+", default=["fast", "balanced", "full"])
    parser.add_argument("--sizes", nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per run")
    parser.add_argument(
        "--skip-full-above-mp",
        type=float,
        default=None,
        help="skip --speed full of networks on photos larger than this (they take minutes)",
    )
    parser.add_argument("--source", type=Path, default=DATA / "lol_v1" / "eval15" / "low" / "1.png")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--name", default="")
    parser.add_argument("--out", type=Path, default=None)
    return parser.parse_args()


def make_photo(source: Path, width: int, height: int, path: Path) -> Path:
    """A ``width x height`` JPEG upscaled from ``source`` (or synthetic), with mild noise."""
    from PIL import Image

    if path.exists():
        return path
    if source.is_file():
        small = Image.open(source).convert("RGB")
    else:
        yy, xx = np.mgrid[0:300, 0:400].astype(np.float32)
        rgb = 0.15 + 0.1 * np.sin(xx / 17.0)[..., None] * np.cos(yy / 23.0)[..., None]
        small = Image.fromarray((np.clip(rgb * [1.0, 0.9, 0.7], 0, 1) * 255).astype(np.uint8))
    big = np.asarray(small.resize((width, height), Image.BICUBIC), dtype=np.int16)
    rng = np.random.default_rng(0)
    for y0 in range(0, height, 512):  # noise in strips: a 48 MP int16 copy is enough
        block = big[y0 : y0 + 512]
        block += rng.normal(0, 2.0, block.shape).round().astype(np.int16)
    Image.fromarray(np.clip(big, 0, 255).astype(np.uint8)).save(path, quality=92)
    return path


def run_once(
    photo: Path, model: str, speed: str | None, threads: int, timeout: float, out: Path
) -> dict:
    """One ``lowlight enhance`` child: wall seconds, peak RSS bytes and exit code."""
    cmd = [sys.executable, "-m", "lowlight", "enhance", str(photo), "-o", str(out)]
    cmd += ["-m", model, "--device", "cpu", "--overwrite", "-q"]
    if speed is not None:
        cmd += ["--speed", speed]
    env = dict(os.environ)
    env.update({k: str(threads) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")})
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = start + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            proc.kill()
            pid, status, usage = os.wait4(proc.pid, 0)
            return {
                "seconds": None,
                "cpu_seconds": None,
                "peak_bytes": usage.ru_maxrss * 1024,
                "code": "timeout",
            }
        time.sleep(0.05)
    seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code
    error = proc.stderr.read().decode(errors="replace")[-500:] if code else ""
    return {
        "seconds": seconds,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "peak_bytes": usage.ru_maxrss * 1024,
        "code": code,
        "error": error,
    }


def jobs_for(models: list[str], speeds: list[str]) -> list[tuple[str, str | None]]:
    """``(model, speed)`` pairs: identity first; a model that opts out of the fast path once."""
    from lowlight.api import build

    jobs: list[tuple[str, str | None]] = [("identity", None)]
    for name in models:
        if name == "identity":
            continue
        opted_out = not getattr(type(build(name)), "fast_path", True)
        for speed in [None] if opted_out else speeds:
            jobs.append((name, speed))
    return jobs


def main() -> None:
    args = parse_args()
    sys.path.insert(0, str(REPO / "src"))
    models = list(args.models or DEFAULT_MODELS)
    jobs = jobs_for(models, args.speeds)
    workdir = args.workdir or Path(tempfile.gettempdir()) / "lowlight_photo_speed"
    workdir.mkdir(parents=True, exist_ok=True)
    results: list[dict] = []
    for size in args.sizes:
        width, height = (int(v) for v in size.lower().split("x"))
        photo = make_photo(args.source, width, height, workdir / f"photo_{width}x{height}.jpg")
        runs: dict[tuple[str, str | None], list[dict]] = {job: [] for job in jobs}
        for _ in range(args.repeats):
            for model, speed in jobs:
                if (
                    speed == "full"
                    and model not in ("lime", "clahe", "gamma")
                    and args.skip_full_above_mp is not None
                    and width * height > args.skip_full_above_mp * 1e6
                ):
                    continue
                run = run_once(photo, model, speed, args.threads, args.timeout, workdir / "out")
                runs[(model, speed)].append(run)
                shown = (
                    "timeout"
                    if run["seconds"] is None
                    else f"{run['seconds']:.2f} s (cpu {run['cpu_seconds']:.2f} s)"
                )
                print(
                    f"{size} {model} {speed or 'default'}: {shown}, "
                    f"{run['peak_bytes'] / 2**20:.0f} MiB, exit {run['code']}",
                    flush=True,
                )
                if run["code"] not in (0, "timeout"):
                    print(run["error"], file=sys.stderr)
        results += summarise(size, runs)
    settings = {
        "sizes": args.sizes,
        "threads": args.threads,
        "repeats": args.repeats,
        "source": str(args.source),
        "python": sys.version.split()[0],
    }
    out = args.out or REPO / "benchmarks" / "results" / (
        "photo_speed" + (f"_{args.name}" if args.name else "")
    )
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(
        json.dumps({"settings": settings, "rows": results}, indent=2) + "\n"
    )
    (out / "report.md").write_text(report(settings, results, sys.argv[1:]))
    print(f"-> {out}")


def summarise(size: str, runs: dict[tuple[str, str | None], list[dict]]) -> list[dict]:
    """Min time, max peak and ratios to identity for every job of one photo size."""
    base = runs[("identity", None)]
    base_s = min((r["seconds"] for r in base if r["seconds"] is not None), default=None)
    base_cpu = min((r["cpu_seconds"] for r in base if r["cpu_seconds"] is not None), default=None)
    base_mem = max((r["peak_bytes"] for r in base), default=None)
    rows = []
    for (model, speed), done in runs.items():
        ok = [r for r in done if r["code"] == 0]
        if not done:
            continue
        seconds = min((r["seconds"] for r in ok), default=None)
        cpu = min((r["cpu_seconds"] for r in ok), default=None)
        peak = max((r["peak_bytes"] for r in ok), default=None)
        rows.append(
            {
                "size": size,
                "model": model,
                "speed": speed or "default",
                "runs": len(done),
                "failed": len(done) - len(ok),
                "seconds": seconds,
                "peak_mib": None if peak is None else peak / 2**20,
                "time_ratio": None if not (seconds and base_s) else seconds / base_s,
                "cpu_seconds": cpu,
                "cpu_ratio": None if not (cpu and base_cpu) else cpu / base_cpu,
                "memory_ratio": None if not (peak and base_mem) else peak / base_mem,
            }
        )
    return rows


def report(settings: dict, rows: list[dict], argv: list[str]) -> str:
    """Markdown table of the results."""

    def fmt(value: float | None, spec: str) -> str:
        return "-" if value is None else format(value, spec)

    lines = [
        "# Photo speed: `lowlight enhance` on camera-size JPEGs",
        "",
        f"Whole process (start-up, decode, enhance, encode), {settings['threads']} thread(s), "
        f"minimum of {settings['repeats']} run(s); CPU = user + system seconds of the child; "
        "peak = the child's max RSS. Ratios are to "
        "`--model identity` on the same file in the same call. Source photo: "
        f"`{settings['source']}` upscaled.",
        "",
        "| photo | model | speed | wall s | x identity | CPU s | x identity | peak MiB "
        "| memory x identity |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        failed = f" ({r['failed']} failed)" if r["failed"] else ""
        lines.append(
            f"| {r['size']} | {r['model']} | {r['speed']}{failed} | {fmt(r['seconds'], '.2f')} "
            f"| {fmt(r['time_ratio'], '.2f')} | {fmt(r.get('cpu_seconds'), '.2f')} "
            f"| {fmt(r.get('cpu_ratio'), '.2f')} | {fmt(r['peak_mib'], '.0f')} "
            f"| {fmt(r['memory_ratio'], '.2f')} |"
        )
    lines += ["", f"Command: `python benchmarks/photo_speed.py {' '.join(argv)}`", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
