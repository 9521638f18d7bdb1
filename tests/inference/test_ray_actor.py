"""The model actor of ``--engine ray``, called directly (no Ray needed): one row per file, in
order, with the local engine's statuses and messages, and the local engine's pixels."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np
from PIL import Image

from lowlight.inference.ray_engine import ModelSpec, WriteOptions, _EnhanceActor


def test_actor_runs_the_local_engine_per_batch(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    srcs = []
    for i, size in enumerate([(20, 30), (20, 30), (25, 17)]):
        path = tmp_path / f"in{i}.png"
        Image.fromarray((rng.random((*size, 3)) * 60).astype(np.uint8)).save(path)
        srcs.append(path)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"")
    srcs.insert(1, bad)
    dsts = [tmp_path / "out" / f"{p.stem}.png" for p in srcs]
    actor = _EnhanceActor(
        asdict(ModelSpec("gamma")), WriteOptions(batch_size=2).to_kwargs(), threads=1
    )
    rows = actor({"src": np.array([str(p) for p in srcs]), "dst": np.array([str(p) for p in dsts])})
    assert rows["src"] == [str(p) for p in srcs]
    assert rows["status"] == ["written", "failed", "written", "written"]
    assert "empty" in rows["message"][1]
    import lowlight

    expected = lowlight.load("gamma", device="cpu").enhance(srcs[0])
    assert np.array_equal(np.asarray(Image.open(dsts[0])), np.asarray(expected))
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["in0.png", "in1.png", "in2.png"]


def test_actor_applies_speed_strength_and_fast_path_settings(tmp_path: Path) -> None:
    """The options of ``--speed``, ``--strength`` and ``--denoise`` reach the actor: its output
    is the local engine's with the same options, and differs from the defaults'."""
    import lowlight
    from lowlight.inference.fast_path import FastPathConfig
    from lowlight.inference.files import enhance_files

    path = tmp_path / "in.png"
    rng = np.random.default_rng(1)
    Image.fromarray((rng.random((48, 64, 3)) * 60).astype(np.uint8)).save(path)
    options = WriteOptions(
        speed="fast", strength=0.5, fast=FastPathConfig(working_pixels=600, denoise=2.0)
    )
    actor = _EnhanceActor(asdict(ModelSpec("gamma")), options.to_kwargs(), threads=1)
    rows = actor({"src": np.array([str(path)]), "dst": np.array([str(tmp_path / "ray.png")])})
    assert rows["status"] == ["written"]
    model = lowlight.load("gamma", device="cpu")
    enhance_files(
        model, [(path, tmp_path / "local.png")], **WriteOptions.from_kwargs(options.to_kwargs())
    )
    enhance_files(model, [(path, tmp_path / "default.png")])
    ray_out, local, default = (
        np.asarray(Image.open(tmp_path / n)) for n in ("ray.png", "local.png", "default.png")
    )
    assert np.array_equal(ray_out, local)
    assert not np.array_equal(ray_out, default)
