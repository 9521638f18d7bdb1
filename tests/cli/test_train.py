"""`lowlight train`: a 3-step run of a tiny model on generated data, exported weights that
`lowlight.api.load` reads back, overrides, resume and errors."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
import torch
import yaml
from click.testing import CliRunner

from lowlight.cli.main import cli, main


def _load_tiny() -> ModuleType:
    if "_tiny" in sys.modules:
        return sys.modules["_tiny"]
    path = Path(__file__).resolve().parents[1] / "train" / "_tiny.py"
    spec = importlib.util.spec_from_file_location("_tiny", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["_tiny"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def recipe(tmp_path: Path) -> Iterator[Path]:
    tiny = _load_tiny()
    threads = torch.get_num_threads()
    tiny.register()
    data = tiny.recipe(tmp_path, train={"steps": 50, "ckpt_every": 2, "log_every": 1})
    tiny.write_pairs(tmp_path / "val", 2, size=(20, 24))
    data["data"]["val"] = {"kind": "paired", "root": str(tmp_path / "val"), "num_workers": 0}
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    yield path
    tiny.unregister()
    torch.set_num_threads(threads)


def test_three_steps_and_export(recipe: Path, tmp_path: Path) -> None:
    from lowlight.api import load

    out = tmp_path / "cli_run"
    result = CliRunner().invoke(
        cli, ["train", str(recipe), "--steps", "3", "--out-dir", str(out), "-q"]
    )
    assert result.exit_code == 0, result.output
    weights = out / "export" / "tiny.safetensors"
    assert f"weights: {weights}" in result.output
    assert "final validation: psnr" in result.output

    record = json.loads(weights.with_suffix(".json").read_text(encoding="utf-8"))
    assert record["model"] == _load_tiny().TINY_MODEL and "3 steps" in record["notes"]
    model = load(record["model"], weights=weights, device="cpu")
    state = torch.load(out / "last.ckpt", weights_only=True)
    assert state["step"] == 3
    for key, value in model.state_dict().items():
        assert torch.equal(value, state["model"][key])
    assert model(torch.rand(1, 3, 13, 17)).shape == (1, 3, 13, 17)


def test_resume_from_the_command_line(recipe: Path, tmp_path: Path) -> None:
    out = str(tmp_path / "cli_resume")
    first = CliRunner().invoke(cli, ["train", str(recipe), "--steps", "2", "--out-dir", out, "-q"])
    assert first.exit_code == 0, first.output
    second = CliRunner().invoke(
        cli, ["train", str(recipe), "--steps", "4", "--out-dir", out, "-q", "--resume"]
    )
    assert second.exit_code == 0, second.output
    assert torch.load(Path(out) / "last.ckpt", weights_only=True)["step"] == 4


def test_print_config_applies_overrides(recipe: Path) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "train",
            str(recipe),
            "--print-config",
            "--set",
            "optim.lr=0.5",
            "--set",
            "model.args.width=6",
            "--device",
            "cpu",
        ],
    )
    assert result.exit_code == 0, result.output
    printed = yaml.safe_load(result.output)
    assert printed["optim"]["lr"] == 0.5 and printed["model"]["args"] == {"width": 6}
    assert printed["train"]["device"] == "cpu"


def test_errors_are_one_line(
    recipe: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["train", str(recipe), "--set", "train.speed=3", "--print-config"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "unknown key 'speed' in train; valid keys: steps" in err

    out = str(tmp_path / "twice")
    assert (
        CliRunner()
        .invoke(cli, ["train", str(recipe), "--steps", "1", "--out-dir", out, "-q"])
        .exit_code
        == 0
    )
    with pytest.raises(SystemExit) as info:
        main(["train", str(recipe), "--steps", "1", "--out-dir", out, "-q"])
    assert info.value.code == 2
    assert "pass --resume" in capsys.readouterr().err


def test_a_shipped_recipe_by_name_from_any_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        cli, ["train", "lucent_sice", "--print-config", "--set", "train.steps=2"]
    )
    assert result.exit_code == 0, result.output
    printed = yaml.safe_load(result.output)
    assert printed["name"] == "lucent_sice" and printed["train"]["steps"] == 2
    assert printed["model"]["name"] == "lucent"
