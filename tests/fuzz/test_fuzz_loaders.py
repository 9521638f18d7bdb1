"""Fuzzing the weight and checkpoint loaders (issue 16): bit flips, truncation, damaged
length fields and foreign files. The rule: a clear error naming the file, or exactly the
content that was saved; nothing ever executed; the file unchanged."""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path

import pytest
import torch
from _fuzz import fuzz
from _hostile import encode
from _mutate import mutation
from hypothesis import given
from hypothesis import strategies as st

from lowlight.errors import WeightsError
from lowlight.integrity import tree_digest
from lowlight.train.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from lowlight.weights import read_state_dict, save_weights, sha256_file

STATE = {
    "conv.weight": torch.linspace(-1, 1, 3 * 3 * 3 * 4).reshape(4, 3, 3, 3),
    "conv.bias": torch.tensor([0.5, -0.25, 0.0, 1e-3]),
    "scale": torch.tensor(2.0, dtype=torch.float64),
}
MARKER = Path(os.environ.get("TMPDIR", "/tmp")) / "lowlight_fuzz_pickle_ran"


class _Evil:
    def __reduce__(self):  # noqa: ANN204 - a pickle that would run code when loaded
        return (os.system, (f"touch {MARKER}",))


def _bytes_of(name: str, write) -> bytes:  # noqa: ANN001
    """The bytes ``write(path)`` puts in a file called ``name``."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        write(path)
        return path.read_bytes()


SAFETENSORS = _bytes_of("w.safetensors", lambda p: save_weights(STATE, p))
CHECKPOINT_STATE = {
    "version": 1,
    "step": 7,
    "model": STATE,
    "optimizer": {"state": {}, "param_groups": [{"lr": 0.001, "params": [0, 1, 2]}]},
    "config": {"model": {"name": "m", "args": {"width": 4}}},
    "rng": [{"torch": torch.arange(16, dtype=torch.uint8)}],
    "data": {"position": 3},
}
CHECKPOINT = _bytes_of("last.ckpt", lambda p: save_checkpoint(CHECKPOINT_STATE, p))
TORCH_STATE = _bytes_of("w.pt", lambda p: torch.save(STATE, p))


def foreign_files() -> st.SearchStrategy[bytes]:
    evil = io.BytesIO()
    pickle.dump(_Evil(), evil)
    evil_torch = io.BytesIO()
    torch.save({"model": _Evil()}, evil_torch)
    return st.sampled_from(
        [
            b"",
            encode("png"),
            b'{"model": "lucent"}',
            evil.getvalue(),
            evil_torch.getvalue(),
            b"PK\x03\x04" + bytes(40),
            b"\x00" * 64,
        ]
    ) | st.binary(max_size=256)


@fuzz(60)
@given(case=mutation(SAFETENSORS))
def test_damaged_safetensors_with_known_hash_never_loads(tmp_path: Path, case) -> None:  # noqa: ANN001
    _, data = case
    path = tmp_path / "w.safetensors"
    path.write_bytes(data)
    with pytest.raises(WeightsError, match="w.safetensors"):
        read_state_dict(path, hashlib_of(SAFETENSORS))
    assert path.read_bytes() == data


@fuzz(60)
@given(case=mutation(SAFETENSORS), suffix=st.sampled_from([".safetensors", ".pt"]))
def test_damaged_weights_without_hash_fail_clearly_or_hold_tensors(
    tmp_path: Path, case, suffix
) -> None:  # noqa: ANN001
    _, data = case
    path = tmp_path / f"w{suffix}"
    path.write_bytes(data)
    try:
        state, verified = read_state_dict(path)
    except WeightsError as exc:
        assert path.name in str(exc)
    else:
        assert not verified and all(isinstance(v, torch.Tensor) for v in state.values())
    assert path.read_bytes() == data


@fuzz(40)
@given(data=foreign_files(), suffix=st.sampled_from([".safetensors", ".pt", ".ckpt"]))
def test_foreign_files_are_refused_and_nothing_runs(
    tmp_path: Path, data: bytes, suffix: str
) -> None:
    MARKER.unlink(missing_ok=True)
    path = tmp_path / f"foreign{suffix}"
    path.write_bytes(data)
    with pytest.raises(WeightsError, match="foreign"):
        read_state_dict(path)
    with pytest.raises(CheckpointError, match="foreign"):
        load_checkpoint(path)
    assert not MARKER.exists(), "a pickle ran code"


@fuzz(60)
@given(case=mutation(CHECKPOINT))
def test_damaged_checkpoint_refused_or_exact(tmp_path: Path, case) -> None:  # noqa: ANN001
    _, data = case
    path = tmp_path / "last.ckpt"
    path.write_bytes(data)
    try:
        state = load_checkpoint(path)
    except CheckpointError as exc:
        assert "last.ckpt" in str(exc)
    else:  # the damage hit bytes that carry no content (zip padding, names)
        assert tree_digest(state) == tree_digest({**CHECKPOINT_STATE, "version": 2})
    assert path.read_bytes() == data


def test_torch_state_dict_without_digest_loads_unverified(tmp_path: Path) -> None:
    path = tmp_path / "w.pt"
    path.write_bytes(TORCH_STATE)
    state, verified = read_state_dict(path)
    assert not verified and torch.equal(state["conv.bias"], STATE["conv.bias"])


def hashlib_of(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def test_sha256_helper_agrees(tmp_path: Path) -> None:
    path = tmp_path / "w.safetensors"
    path.write_bytes(SAFETENSORS)
    assert sha256_file(path) == hashlib_of(SAFETENSORS)
