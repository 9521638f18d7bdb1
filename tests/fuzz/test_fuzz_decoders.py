"""Fuzzing the image decoders and the batch runner (issue 16): damaged PNG (8/16-bit),
JPEG, WebP, TIFF (8/16-bit) and BMP files. The rule: a clear error naming the file, or a
complete, finite image within the pixel limit; the rest of the batch done; nothing written
half; inputs unchanged."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from _fuzz import fuzz
from _hostile import encode, png_with_rows, rgb8
from _mutate import mutation
from hypothesis import given
from hypothesis import strategies as st

import lowlight
from lowlight.inference.files import enhance_files
from lowlight.io import ImageReadError, read_image

KINDS = ("png", "png16", "jpeg", "webp", "tiff", "tiff16", "bmp")
EXTENSION = {"png16": "png", "tiff16": "tif", "jpeg": "jpg", "tiff": "tif"}
SEEDS = {kind: encode(kind, rgb8(20, 28)) for kind in KINDS}
SEEDS["png_zlib_level9"] = png_with_rows(28, 20, rows=20)
LIMIT = 1_000_000  # damaged headers may claim anything: keep every decode small


@st.composite
def damaged(draw: st.DrawFn) -> tuple[str, str, bytes]:
    kind = draw(st.sampled_from(sorted(SEEDS)))
    what, data = draw(mutation(SEEDS[kind]))
    return kind, what, data


def check_read(path: Path, data: bytes) -> None:
    try:
        image = read_image(path, max_pixels=LIMIT)
    except ImageReadError as exc:
        assert str(path) in str(exc), str(exc)
    else:
        h, w = image.size
        assert image.rgb.shape == (h, w, 3) and image.rgb.dtype == np.float32
        assert 0 < h * w <= LIMIT
        assert np.isfinite(image.rgb).all()
        assert image.rgb.min() >= 0.0 and image.rgb.max() <= 1.0
        if image.alpha is not None:
            assert image.alpha.shape == (h, w)
    assert path.read_bytes() == data, "the input changed"


@fuzz(120)
@given(case=damaged())
def test_damaged_file_is_refused_by_name_or_read_whole(tmp_path: Path, case) -> None:  # noqa: ANN001
    kind, _, data = case
    path = tmp_path / f"damaged.{EXTENSION.get(kind, kind.split('_')[0])}"
    path.write_bytes(data)
    check_read(path, data)


@pytest.mark.parametrize("kind", sorted(SEEDS))
def test_seeds_are_valid(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "seed.bin"
    path.write_bytes(SEEDS[kind])
    read_image(path)


GAMMA = lowlight.load("gamma")


@fuzz(10, 300)
@given(cases=st.lists(damaged(), min_size=1, max_size=4))
def test_batch_goes_on_and_writes_nothing_half(tmp_path: Path, cases) -> None:  # noqa: ANN001
    root, out = tmp_path / "in", tmp_path / "out"
    for folder in (root, out):
        for p in sorted(folder.rglob("*"), reverse=True) if folder.exists() else []:
            p.unlink() if p.is_file() else p.rmdir()
    root.mkdir(exist_ok=True)
    inputs = {}
    for i, (kind, _, data) in enumerate(cases):
        path = root / f"bad{i}.{EXTENSION.get(kind, kind.split('_')[0])}"
        path.write_bytes(data)
        inputs[path] = data
    good = root / "zz_good.png"
    good.write_bytes(SEEDS["png"])
    inputs[good] = SEEDS["png"]
    pairs = [(p, out / p.name) for p in sorted(inputs)]
    summary = enhance_files(GAMMA, pairs, max_pixels=LIMIT)
    assert [r.source for r in summary.results] == [p for p, _ in pairs]
    for result in summary.results:
        if result.status == "failed":
            assert result.source.name in result.describe()
            assert not result.output.exists()
        else:
            assert result.status == "written"
            written = read_image(result.output)  # complete and readable
            assert written.size == read_image(result.source, max_pixels=LIMIT).size
    assert summary.results[-1].status == "written"
    assert not [p for p in out.iterdir() if p.name.startswith(".")], "a temporary file was left"
    assert {p: p.read_bytes() for p in inputs} == inputs, "an input changed"
