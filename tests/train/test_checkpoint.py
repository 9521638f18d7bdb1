"""Checkpoints: safe round trip, RNG states, and atomic replacement under a crash."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from lowlight.train import checkpoint as ck
from lowlight.train.checkpoint import (
    CheckpointError,
    capture_rng_state,
    load_checkpoint,
    remove_stale_temporaries,
    restore_rng_state,
    save_checkpoint,
)


def payload(step: int) -> dict:
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(model.parameters())
    model(torch.ones(1, 3)).sum().backward()
    opt.step()
    return {
        "version": ck.CHECKPOINT_VERSION,
        "step": step,
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "config": {"name": "x", "model": {"name": "m", "args": {"w": [1, 2]}}},
        "rng": [capture_rng_state()],
        "data": {"position": 12},
    }


def test_round_trip_loads_with_weights_only(tmp_path) -> None:
    path = tmp_path / "last.ckpt"
    state = payload(3)
    save_checkpoint(state, path)
    back = load_checkpoint(path)  # torch.load(weights_only=True) inside
    assert back["step"] == 3 and back["data"] == {"position": 12}
    for key, value in state["model"].items():
        assert torch.equal(back["model"][key], value)
    assert back["config"] == state["config"]


def test_rng_state_restores_every_generator() -> None:
    state = capture_rng_state()
    first = (random.random(), np.random.rand(), torch.rand(2))
    random.random(), np.random.rand(), torch.rand(5)  # move on
    restore_rng_state(state)
    second = (random.random(), np.random.rand(), torch.rand(2))
    assert first[0] == second[0] and first[1] == second[1]
    assert torch.equal(first[2], second[2])


def test_crash_during_save_keeps_the_old_checkpoint(tmp_path, monkeypatch) -> None:
    path = tmp_path / "last.ckpt"
    save_checkpoint(payload(1), path)
    before = path.read_bytes()
    real_save = torch.save

    def crashing_save(obj, fh, *args, **kwargs):  # noqa: ANN001, ANN202
        real_save(obj, fh, *args, **kwargs)
        fh.seek(0)
        fh.truncate(100)  # a torn, half-written file
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(torch, "save", crashing_save)
    with pytest.raises(CheckpointError, match="simulated"):
        save_checkpoint(payload(2), path)
    assert path.read_bytes() == before
    assert load_checkpoint(path)["step"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.ckpt"]  # no temporary left


def test_kill_mid_write_leaves_a_temporary_that_is_cleaned(tmp_path) -> None:
    path = tmp_path / "last.ckpt"
    save_checkpoint(payload(1), path)
    stale = tmp_path / ".last.ckpt.abc123.ckpt-tmp"  # what a SIGKILL during a write leaves
    stale.write_bytes(b"partial")
    assert remove_stale_temporaries(tmp_path) == [stale]
    assert not stale.exists() and load_checkpoint(path)["step"] == 1


def test_replaces_atomically_with_os_replace(tmp_path, monkeypatch) -> None:
    calls = []
    real_replace = ck.os.replace

    def spy(src, dst):  # noqa: ANN001, ANN202
        calls.append((str(src), str(dst)))
        return real_replace(src, dst)

    monkeypatch.setattr(ck.os, "replace", spy)
    save_checkpoint(payload(1), tmp_path / "last.ckpt")
    assert len(calls) == 1 and calls[0][1] == str(tmp_path / "last.ckpt")
    assert calls[0][0] != calls[0][1]


def test_unreadable_or_foreign_files(tmp_path) -> None:
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "none.ckpt")
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot read"):
        load_checkpoint(bad)
    torch.save({"model": {}}, tmp_path / "other.ckpt")
    with pytest.raises(CheckpointError, match="not a lowlight training checkpoint"):
        load_checkpoint(tmp_path / "other.ckpt")
    future = payload(1)
    future["version"] = 99
    save_checkpoint(future, tmp_path / "future.ckpt")
    with pytest.raises(CheckpointError, match="version 99"):
        load_checkpoint(tmp_path / "future.ckpt")
