"""Build a folder of awkward inputs and run ``lowlight enhance`` on it.

Inputs: a corrupt JPEG, a zero-byte PNG, a truncated PNG, a 16-bit RGB PNG, a 16-bit grey
PNG, a greyscale JPEG, an RGBA PNG, a CMYK JPEG, a palette PNG and an EXIF-rotated JPEG
(orientation 6), all made from a synthesised dark image; and the hostile cases of issue 16
under ``hostile/``: an animated WebP, a multi-page TIFF, an 8-bit PNG whose data stream
ends early, a 6 kB PNG claiming 5000x5000 pixels, a TIFF with RowsPerStrip 0, a 16-bit
LZW TIFF (as OpenCV writes; read with the ``tiff`` extra), a PNG with alpha named ``.jpg``,
a broken symbolic link, a GIF, a HEIC and (with PyAV) a truncated MP4. Prints the
command's output, a table of each output's mode, size and orientation, runs the command a
second time (everything skipped), and checks that no input changed and no temporary file
was left.

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
    make_hostile(root / "hostile", rgb8)


def make_hostile(root: Path, rgb8: np.ndarray) -> None:
    """The cases of issue 16 (see the module docstring)."""
    import struct
    import zlib

    from lowlight.io.tiff import encode_tiff16

    root.mkdir()
    frames = [Image.fromarray(rgb8), Image.fromarray(rgb8[::-1].copy())]
    frames[0].save(root / "animated.webp", save_all=True, append_images=frames[1:], duration=99)
    frames[0].save(root / "two_pages.tif", save_all=True, append_images=frames[1:])

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    def png(width: int, height: int, rows: int) -> bytes:
        row = np.resize(rgb8, (1, width, 3)).tobytes()  # real content: compresses like a photo
        raw = b"".join(b"\x00" + row for _ in range(rows))
        ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
        body = chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw))
        return b"\x89PNG\r\n\x1a\n" + body + chunk(b"IEND", b"")

    (root / "short_stream.png").write_bytes(png(320, 240, rows=100))
    (root / "claims_5000x5000.png").write_bytes(png(5000, 5000, rows=1))
    tiff = bytearray(encode_tiff16(rgb8.astype(np.uint16) * 257))
    ifd = struct.unpack_from("<I", tiff, 4)[0]
    for i in range(struct.unpack_from("<H", tiff, ifd)[0]):
        if struct.unpack_from("<H", tiff, ifd + 2 + 12 * i)[0] == 278:
            struct.pack_into("<I", tiff, ifd + 2 + 12 * i + 8, 0)
    (root / "rows_per_strip_0.tif").write_bytes(bytes(tiff))
    try:
        import tifffile

        tifffile.imwrite(
            root / "lzw16.tif", rgb8.astype(np.uint16) * 257, photometric="rgb", compression="lzw"
        )
    except Exception as exc:  # noqa: BLE001 - without imagecodecs the case is left out
        print(f"(lzw16.tif not made: {exc})")
    alpha = np.full(rgb8.shape[:2], 200, np.uint8)
    Image.fromarray(np.dstack([rgb8, alpha]), "RGBA").save(root / "alpha_named.jpg", format="PNG")
    (root / "broken_link.png").symlink_to(root / "missing.png")
    (root / "animation.gif").write_bytes(b"GIF89a" + bytes(64))
    (root / "photo.heic").write_bytes(b"\x00\x00\x00\x18ftypheic" + bytes(64))
    try:
        import av

        path = root / "truncated.mp4"
        with av.open(str(path), "w", options={"movflags": "faststart"}) as out:
            stream = out.add_stream("mpeg4", rate=10)
            stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
            rng = np.random.default_rng(0)
            for _ in range(20):
                frame = rng.integers(0, 90, (48, 64, 3), dtype=np.uint8)
                for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                    out.mux(packet)
            for packet in stream.encode():
                out.mux(packet)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) * 6 // 10])
    except ImportError:
        print("(truncated.mp4 not made: PyAV is not installed)")


def digests(root: Path) -> dict[Path, str]:
    return {
        p: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
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
    named = [
        str(inputs / "hostile" / n) for n in ("animation.gif", "photo.heic", "broken_link.png")
    ]
    explicit = [*cmd[:4], *named, *cmd[5:]]
    print("$ lowlight enhance (GIF, HEIC and the broken link named explicitly) ...")
    proc = subprocess.run(explicit, capture_output=True, text=True)
    print(proc.stdout + proc.stderr + f"(exit code {proc.returncode})\n")
    print("second run (outputs exist):")
    again = subprocess.run(cmd, capture_output=True, text=True)
    print(again.stdout.strip() + f" (exit code {again.returncode})\n")
    print(f"{'input':<34}{'input mode/size':<22}{'output mode/size':<22}orientation")
    for src in sorted(p for p in inputs.rglob("*") if p.is_file() or p.is_symlink()):
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
                    f"{str(src.relative_to(inputs)):<34}{src_desc:<22}{mode + depth + f' {im.size[0]}x{im.size[1]}':<22}"
                    f"{im.getexif().get(0x0112, 1)}"
                )
        else:
            print(f"{str(src.relative_to(inputs)):<34}{src_desc:<22}{'(not written)':<22}-")
    print("\ninputs unchanged:", digests(inputs) == before)
    left = [p for p in outputs.rglob(".*") if p.is_file()] if outputs.exists() else []
    print("temporary files left:", len(left))


def _png_bit_depth(path: Path) -> int:
    return path.read_bytes()[24]


if __name__ == "__main__":
    main()
