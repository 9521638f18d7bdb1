"""Weights given by path are verified whenever a hash is known, and an unverified load
says so once (issue 16, class 1)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch

import lowlight
from lowlight.errors import ConfigError, WeightsError
from lowlight.weights import (
    UnverifiedWeightsWarning,
    WeightRecord,
    name_hash,
    save_weights,
    sha256_file,
)


def _lucent_weights(folder: Path, name: str = "w.safetensors", record: bool = False) -> Path:
    model = lowlight.build("lucent")
    rec = (
        WeightRecord(
            name="w",
            model="lucent",
            file="",
            sha256="",
            license="-",
            training_data="-",
            command="-",
        )
        if record
        else None
    )
    path = folder / name
    save_weights(model.state_dict(), path, rec)
    return path


def _flip_bit(path: Path, offset: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    index = len(data) - 7 if offset is None else offset  # inside the last tensor's data
    data[index] ^= 0x10
    path.write_bytes(bytes(data))


def test_flipped_bit_refused_with_record(tmp_path: Path) -> None:
    path = _lucent_weights(tmp_path, record=True)
    _flip_bit(path)
    with pytest.raises(WeightsError, match="sha256 mismatch"):
        lowlight.load("lucent", weights=path)


def test_flipped_bit_refused_with_sha256_argument(tmp_path: Path) -> None:
    path = _lucent_weights(tmp_path)
    digest = sha256_file(path)
    lowlight.load("lucent", weights=path, sha256=digest)  # intact: loads, no warning
    _flip_bit(path)
    with pytest.raises(WeightsError, match="sha256 mismatch"):
        lowlight.load("lucent", weights=path, sha256=digest)
    with pytest.raises(WeightsError, match="sha256 mismatch"):
        lowlight.load("lucent", weights=path, sha256=digest[:8])


def test_hash_in_file_name_is_checked(tmp_path: Path) -> None:
    plain = _lucent_weights(tmp_path)
    named = tmp_path / f"lucent-{sha256_file(plain)[:10]}.safetensors"
    plain.rename(named)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # verified: no warning
        lowlight.load("lucent", weights=named)
    _flip_bit(named)
    with pytest.raises(WeightsError, match="file name"):
        lowlight.load("lucent", weights=named)


def test_unverified_file_warns_once(tmp_path: Path) -> None:
    path = _lucent_weights(tmp_path)
    with pytest.warns(UnverifiedWeightsWarning, match="unverified") as caught:
        lowlight.load("lucent", weights=path)
    assert sum(issubclass(w.category, UnverifiedWeightsWarning) for w in caught) == 1


def test_conflicting_hashes_and_bad_argument(tmp_path: Path) -> None:
    path = _lucent_weights(tmp_path, record=True)
    with pytest.raises(WeightsError, match="refusing to guess"):
        lowlight.load("lucent", weights=path, sha256="0" * 64)
    with pytest.raises(WeightsError, match="not a sha256"):
        lowlight.load("lucent", weights=path, sha256="xyz")


def test_name_hash_rules() -> None:
    assert name_hash("lucent-1a2b3c4d.safetensors") == "1a2b3c4d"
    assert name_hash("run-20261203.safetensors") is None  # a date, not a hash
    assert name_hash("model-final.pt") is None
    assert name_hash("weights.pt") is None


def test_checkpoint_as_weights_checked_by_its_digest(tmp_path: Path) -> None:
    from lowlight.train.checkpoint import save_checkpoint

    model = lowlight.build("lucent")
    state = {
        "version": 1,
        "step": 1,
        "model": model.state_dict(),
        "optimizer": {},
        "config": {},
        "rng": {},
        "data": {},
    }
    path = tmp_path / "last.ckpt"
    save_checkpoint(state, path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lowlight.load("lucent", weights=path)
    loaded = torch.load(path, weights_only=True)
    first = next(iter(loaded["model"]))
    loaded["model"][first].view(-1)[0] += 1e30
    torch.save(loaded, path)
    with pytest.raises(WeightsError, match="integrity digest"):
        lowlight.load("lucent", weights=path)


def test_unknown_model_argument_lists_valid_ones() -> None:
    with pytest.raises(ConfigError, match=r"takes no argument 'nonsense'.*valid arguments"):
        lowlight.load("gamma", nonsense=3)


def test_cli_sha256_option_and_one_plain_warning(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    from PIL import Image

    from lowlight.cli.main import main

    path = _lucent_weights(tmp_path)
    image = tmp_path / "a.png"
    Image.new("RGB", (16, 12), (20, 20, 20)).save(image)

    def run(*extra: str) -> tuple[int, str]:
        args = ["enhance", str(image), "-o", str(tmp_path / "o"), "-m", "lucent", "-q",
                "--weights", str(path), "--overwrite", *extra]  # fmt: skip
        try:
            main(args)
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        return code, capsys.readouterr().err

    code, err = run()
    assert code == 0 and err.count("unverified") == 1 and err.startswith("warning: ")
    code, err = run("--sha256", sha256_file(path))
    assert code == 0 and "unverified" not in err
    _flip_bit(path)
    code, err = run("--sha256", sha256_file(path)[:8].replace("a", "b") + "00")
    assert code == 2 and "sha256 mismatch" in err and "Traceback" not in err
