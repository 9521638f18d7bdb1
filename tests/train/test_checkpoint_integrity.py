"""Checkpoint integrity (issue 16, class 2): a flipped bit is refused clearly, the previous
good checkpoint is kept and resumed from, and a failed write is a one-line error."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
import torch

from lowlight.train import checkpoint as ck
from lowlight.train.checkpoint import (
    CheckpointError,
    load_checkpoint,
    load_checkpoint_or_previous,
    previous_path,
    save_checkpoint,
)
from lowlight.train.config import parse_config
from lowlight.train.trainer import Trainer


def payload(step: int) -> dict:
    return {
        "version": ck.CHECKPOINT_VERSION,
        "step": step,
        "model": {"w": torch.arange(64, dtype=torch.float32) / 64},
        "optimizer": {"state": {}, "param_groups": [{"lr": 1e-3}]},
        "config": {"model": {"name": "m"}},
        "rng": [],
        "data": {"position": step},
    }


def corrupt_tensor(path: Path, value: float = 1e34) -> None:
    """Rewrite ``path`` with one weight changed but the old digest (a silent bit rot)."""
    state = torch.load(path, weights_only=True)
    state["model"]["w"][5] = value
    torch.save(state, path)


def test_flipped_value_refused(tmp_path: Path) -> None:
    path = tmp_path / "last.ckpt"
    save_checkpoint(payload(1), path)
    assert load_checkpoint(path)["step"] == 1
    corrupt_tensor(path)
    with pytest.raises(CheckpointError, match="corrupt"):
        load_checkpoint(path)


def test_flipped_bit_in_file_never_loads_silently(tmp_path: Path) -> None:
    path = tmp_path / "last.ckpt"
    save_checkpoint(payload(1), path)
    data = path.read_bytes()
    good = load_checkpoint(path)
    for offset in range(0, len(data), max(1, len(data) // 97)):
        mutated = bytearray(data)
        mutated[offset] ^= 0x04
        path.write_bytes(bytes(mutated))
        try:
            state = load_checkpoint(path)
        except CheckpointError:
            continue
        # loaded: then it must hold exactly the saved content (the flip hit zip padding/metadata)
        assert torch.equal(state["model"]["w"], good["model"]["w"]), offset
        assert state["step"] == good["step"]


def test_previous_kept_and_used_as_fallback(tmp_path: Path) -> None:
    path = tmp_path / "last.ckpt"
    save_checkpoint(payload(1), path, keep_previous=True)
    assert not previous_path(path).exists()
    save_checkpoint(payload(2), path, keep_previous=True)
    assert load_checkpoint(previous_path(path))["step"] == 1
    corrupt_tensor(path)
    state, used, why = load_checkpoint_or_previous(path)
    assert state["step"] == 1 and used == previous_path(path) and "corrupt" in why
    corrupt_tensor(previous_path(path))
    with pytest.raises(CheckpointError, match="previous checkpoint fails too"):
        load_checkpoint_or_previous(path)


def test_full_disk_is_a_checkpoint_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "last.ckpt"
    save_checkpoint(payload(1), path)

    def full(*args, **kwargs):  # noqa: ANN002, ANN003
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ck.torch, "save", full)
    with pytest.raises(CheckpointError, match="No space left on device"):
        save_checkpoint(payload(2), path)
    monkeypatch.undo()
    assert load_checkpoint(path)["step"] == 1  # untouched
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]  # no temporary left


def test_resume_falls_back_to_previous(tiny, tmp_path: Path) -> None:  # noqa: ANN001
    data = tiny.recipe(tmp_path, train={"ckpt_every": 2})
    Trainer(parse_config(data), progress=False).fit(stop_after=4)
    out = Path(data["train"]["out_dir"])
    last = out / "last.ckpt"
    assert load_checkpoint(last)["step"] == 4
    assert load_checkpoint(previous_path(last))["step"] == 2
    state = torch.load(last, weights_only=True)
    name = next(iter(state["model"]))
    state["model"][name].view(-1)[0] = 1e34
    torch.save(state, last)
    trainer = Trainer(parse_config(data), resume=True, progress=False)
    result = trainer.fit(stop_after=5)
    assert result.step == 5
    for tensor in result.model.state_dict().values():
        assert tensor.abs().max() < 1e3


def test_damaged_digest_key_does_not_switch_the_check_off(tmp_path: Path) -> None:
    """Found by the long fuzz profile: one flipped bit in the key's name made the
    checkpoint look like a version-1 file without a digest."""
    path = tmp_path / "last.ckpt"
    save_checkpoint(payload(1), path)
    data = path.read_bytes()
    path.write_bytes(data.replace(b"integrity_sha256", b"hntegrity_sha256"))
    with pytest.raises(CheckpointError, match="digest is missing"):
        load_checkpoint(path)
    legacy = {k: v for k, v in payload(1).items()}
    legacy["version"] = 1
    torch.save(legacy, path)  # written before digests existed: still loads
    assert load_checkpoint(path)["step"] == 1
