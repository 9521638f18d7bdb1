"""``lowlight enhance --engine ray`` on a local Ray instance with two workers: the same
mirrored tree, pixels and guarantees as the local engine (bad files named, existing outputs
skipped, exit code 1 when a file failed)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

ray = pytest.importorskip("ray", reason="needs the [ray] extra")
pytest.importorskip("ray.data", reason="needs the [ray] extra")


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """A local Ray instance with 2 CPUs (two one-CPU model actors)."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


def _tree(root: Path) -> None:
    rng = np.random.default_rng(0)
    (root / "sub").mkdir(parents=True)
    for i in range(5):  # two sizes, so actors batch some and not others
        size = (40, 60, 3) if i % 2 else (33, 47, 3)
        Image.fromarray((rng.random(size) * 70).astype(np.uint8)).save(root / f"a{i}.png")
    Image.fromarray((rng.random((30, 30, 3)) * 70).astype(np.uint8)).save(root / "sub" / "b.jpg")
    (root / "sub" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot a png")


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_ray_engine_matches_the_local_engine(tmp_path: Path, local_ray: None) -> None:
    from lowlight.cli.main import cli

    src = tmp_path / "in"
    _tree(src)
    args = ["enhance", str(src), "--model", "gamma", "--batch", "2", "--strength", "0.7", "-q"]
    local = CliRunner().invoke(cli, [*args, "-o", str(tmp_path / "local")])
    on_ray = CliRunner().invoke(
        cli, [*args, "-o", str(tmp_path / "ray"), "--engine", "ray", "--actors", "2"]
    )
    assert local.exit_code == 1 and on_ray.exit_code == 1, on_ray.output
    assert "broken.png" in on_ray.output and "6 written, 0 skipped" in on_ray.output
    assert "on Ray (2 actors" in on_ray.output
    expected = {"a0.png", "a1.png", "a2.png", "a3.png", "a4.png", "sub/b.jpg"}
    assert _files(tmp_path / "ray") == _files(tmp_path / "local") == expected  # no temp files
    for name in expected:
        a = np.asarray(Image.open(tmp_path / "ray" / name))
        b = np.asarray(Image.open(tmp_path / "local" / name))
        assert a.shape == b.shape and np.array_equal(a, b), name

    again = CliRunner().invoke(
        cli, [*args, "-o", str(tmp_path / "ray"), "--engine", "ray", "--actors", "2"]
    )
    assert "0 written, 6 skipped" in again.output and again.exit_code == 1


def test_python_entry_point_reports_per_file(tmp_path: Path, local_ray: None) -> None:
    from lowlight.inference.files import plan_outputs
    from lowlight.inference.ray_engine import ModelSpec, WriteOptions, enhance_files_ray
    from lowlight.io.listing import list_media

    src = tmp_path / "in"
    _tree(src)
    pairs = plan_outputs(list_media([str(src)], recursive=True), tmp_path / "out", "png")
    summary = enhance_files_ray(
        ModelSpec("gamma"), pairs, WriteOptions(fmt="png"), actors=2, files_per_call=3
    )
    assert summary.count("written") == 6 and len(summary.failed) == 1
    assert summary.failed[0].source.name == "broken.png" and summary.failed[0].message
    assert (tmp_path / "out" / "sub" / "b.png").is_file()
