"""Fuzzing the video path (issue 16): damaged MP4, MKV and AVI files through
``enhance_video_files``. The rule: a failure naming the file, or an output with every frame
the input declares; no temporary file left; the input unchanged."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

pytest.importorskip("av")

from _fuzz import fuzz  # noqa: E402
from _hostile import video  # noqa: E402
from _mutate import mutation  # noqa: E402
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import lowlight  # noqa: E402
from lowlight.inference.video import enhance_video_files  # noqa: E402
from lowlight.io.video import probe_video  # noqa: E402


def _seed(suffix: str) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        return video(Path(tmp) / f"seed{suffix}", frames=8, size=(32, 24)).read_bytes()


SEEDS = {suffix: _seed(suffix) for suffix in (".mp4", ".mkv", ".avi")}
GAMMA = lowlight.load("gamma")


@st.composite
def damaged(draw: st.DrawFn) -> tuple[str, bytes]:
    suffix = draw(st.sampled_from(sorted(SEEDS)))
    _, data = draw(mutation(SEEDS[suffix], header=256))
    return suffix, data


@fuzz(12, 400)
@given(case=damaged())
def test_damaged_video_fails_by_name_or_is_whole(tmp_path: Path, case) -> None:  # noqa: ANN001
    suffix, data = case
    src = tmp_path / f"clip{suffix}"
    src.write_bytes(data)
    out = tmp_path / "out"
    dst = out / src.name
    dst.unlink(missing_ok=True)
    summary = enhance_video_files(GAMMA, [(src, dst)], batch_size=2, max_pixels=1_000_000)
    (result,) = summary.results
    if result.status == "failed":
        assert src.name in result.describe()
        assert not dst.exists()
    else:
        declared = probe_video(src).frames
        if declared:
            assert probe_video(dst).frames == declared
    assert not [p for p in out.glob(".*")] if out.exists() else True
    assert src.read_bytes() == data


@pytest.mark.parametrize("suffix", sorted(SEEDS))
def test_seed_videos_are_whole(tmp_path: Path, suffix: str) -> None:
    src = tmp_path / f"clip{suffix}"
    src.write_bytes(SEEDS[suffix])
    summary = enhance_video_files(GAMMA, [(src, tmp_path / "out" / src.name)])
    assert summary.results[0].status == "written", summary.results[0].message
