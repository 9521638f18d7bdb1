"""Build a folder of awkward inputs and run ``lowlight enhance`` on it.

Inputs: a corrupt JPEG, a zero-byte PNG, a truncated PNG, a 16-bit RGB PNG, a 16-bit grey
PNG, a greyscale JPEG, an RGBA PNG, a CMYK JPEG, a palette PNG and an EXIF-rotated JPEG
(orientation 6), all made from a synthesised dark image. Prints the command's output, then
a table of each output's mode, size and orientation, and checks that no input changed.

    python benchmarks/robustness_folder.py [--model lime] [--workdir /tmp/lowlight_robustness]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image


def make_inputs(root: Path) -> None:
    from lowlight.data.synthesis import LowLightSynthesizer
    from lowlight.io import write_image

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:240, 0:320] / 320.0
    scene = np.stack(
        [0.6 + 0.3 * np.sin(9 * xx), 0.5 + 0.4 * yy, 0.4 + 0.3 * np.cos(7 * xx * yy)], -1
    )
    dark, _ = LowLightSynthesizer(exposure_range=(0.05, 0.05))(scene.astype(np.float32), rng)
    rgb8 = np.round(dark * 255).astype(np.uint8)
    root.mkdir(parents=True)
    (root / "nested").mkdir()
    (root / "zero_bytes.png").write_bytes(b"")
    (root / "corrupt.jpg").write_bytes(
        b"\xff\xd8\xff\xe0" + bytes(rng.integers(0, 256, 500, dtype=np.uint8))
    )
    buf = io.BytesIO()
    Image.fromarray(rgb8).save(buf, format="PNG")
    (root / "truncated.png").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    write_image(root / "rgb16.png", dark, bit_depth=16)
    Image.fromarray(np.round(dark.mean(2) * 65535).astype(np.uint16)).save(root / "gray16.png")
    Image.fromarray(rgb8).convert("L").save(root / "nested" / "gray.jpg", quality=95)
    alpha = np.linspace(0, 255, rgb8.shape[1]).astype(np.uint8)[None].repeat(rgb8.shape[0], 0)
    Image.fromarray(np.dstack([rgb8, alpha]), "RGBA").save(root / "rgba.png")
    Image.fromarray(rgb8).convert("CMYK").save(root / "cmyk.jpg", quality=95)
    Image.fromarray(rgb8).convert("P", palette=Image.Palette.ADAPTIVE).save(root / "palette.png")
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(rgb8).save(
        root / "nested" / "exif_rotated.jpg", exif=exif.tobytes(), quality=95
    )


def digests(root: Path) -> dict[Path, str]:
    return {
        p: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="lime")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/lowlight_robustness"))
    args = parser.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    inputs, outputs = args.workdir / "in", args.workdir / "out"
    make_inputs(inputs)
    before = digests(inputs)
    cmd = [
        sys.executable,
        "-m",
        "lowlight",
        "enhance",
        str(inputs),
        "-o",
        str(outputs),
        "--model",
        args.model,
        "-q",
    ]
    print("$ lowlight " + " ".join(cmd[3:]))
    proc = subprocess.run(cmd, capture_output=True, text=True)
    print(proc.stdout + proc.stderr + f"(exit code {proc.returncode})\n")
    print(f"{'input':<26}{'input mode/size':<22}{'output mode/size':<22}orientation")
    for src in sorted(p for p in inputs.rglob("*") if p.is_file()):
        out = outputs / src.relative_to(inputs)
        try:
            with Image.open(src) as im:
                src_desc = f"{im.mode} {im.size[0]}x{im.size[1]}"
        except Exception:  # noqa: BLE001 - the corrupt inputs
            src_desc = "unreadable"
        if out.exists():
            with Image.open(out) as im:
                mode = im.mode if im.mode != "RGB" or out.suffix != ".png" else f"{im.mode}"
                depth = " 16-bit" if out.suffix == ".png" and _png_bit_depth(out) == 16 else ""
                print(
                    f"{str(src.relative_to(inputs)):<26}{src_desc:<22}{mode + depth + f' {im.size[0]}x{im.size[1]}':<22}"
                    f"{im.getexif().get(0x0112, 1)}"
                )
        else:
            print(f"{str(src.relative_to(inputs)):<26}{src_desc:<22}{'(not written)':<22}-")
    print("\ninputs unchanged:", digests(inputs) == before)


def _png_bit_depth(path: Path) -> int:
    return path.read_bytes()[24]


if __name__ == "__main__":
    main()
