"""Resuming: 3 steps + resume + 3 steps is bit-identical to 6 uninterrupted steps on CPU."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch

from lowlight.errors import LowlightError
from lowlight.train.checkpoint import CheckpointError, load_checkpoint
from lowlight.train.config import parse_config
from lowlight.train.trainer import Trainer


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def with_val(tiny, tmp_path: Path, out: str, **train) -> dict:  # noqa: ANN001
    pairs = tmp_path / "val"
    if not pairs.is_dir():
        tiny.write_pairs(pairs, 2, size=(20, 24), seed=5)
    data = tiny.recipe(tmp_path, train={"out_dir": str(tmp_path / out), **train})
    data["data"]["val"] = {"kind": "paired", "root": str(pairs), "num_workers": 0}
    return data


@pytest.mark.parametrize("num_workers", [0, pytest.param(2, marks=pytest.mark.slow)])
def test_resume_is_bit_exact(tiny, tmp_path, num_workers: int) -> None:  # noqa: ANN001
    full = with_val(tiny, tmp_path, "full")
    full["data"]["train"]["num_workers"] = num_workers
    result_full = Trainer(parse_config(full), progress=False).fit()
    assert result_full.finished and result_full.step == 6

    split = with_val(tiny, tmp_path, "split")
    split["data"]["train"]["num_workers"] = num_workers
    first = Trainer(parse_config(split), progress=False).fit(stop_after=3)
    assert not first.finished and first.step == 3 and first.export_path is None
    assert load_checkpoint(tmp_path / "split" / "last.ckpt")["step"] == 3
    second = Trainer(parse_config(split), resume=True, progress=False).fit()
    assert second.finished and second.step == 6

    a = result_full.model.state_dict()
    b = second.model.state_dict()
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    log_full = rows(tmp_path / "full" / "log.csv")
    log_split = rows(tmp_path / "split" / "log.csv")
    assert [r["step"] for r in log_split] == ["1", "2", "3", "4", "5", "6"]
    for ra, rb in zip(log_full, log_split, strict=True):
        assert (ra["loss"], ra["lr"], ra["grad_norm"]) == (rb["loss"], rb["lr"], rb["grad_norm"])
    assert result_full.val_scores == second.val_scores
    # optimiser state too
    opt_a = load_checkpoint(tmp_path / "full" / "last.ckpt")["optimizer"]["state"]
    opt_b = load_checkpoint(tmp_path / "split" / "last.ckpt")["optimizer"]["state"]
    for key in opt_a:
        for name in ("exp_avg", "exp_avg_sq"):
            assert torch.equal(opt_a[key][name], opt_b[key][name])


def test_killed_run_loses_at_most_one_interval(tiny, tmp_path) -> None:  # noqa: ANN001
    """A run killed after step 4 (checkpoint at 3) resumes from 3; the log keeps each step once."""
    data = tiny.recipe(tmp_path, train={"out_dir": str(tmp_path / "run")})
    Trainer(parse_config(data), progress=False).fit(stop_after=3)
    # Simulate the killed run having logged step 4 and 5 after the checkpoint.
    with open(tmp_path / "run" / "log.csv", "a", encoding="utf-8") as fh:
        fh.write("4,0.1,9,9,9,9,0.1,1\n5,0.1,9,9,9,9,0.1,1\n")
    result = Trainer(parse_config(data), resume=True, progress=False).fit()
    assert result.step == 6
    steps = [r["step"] for r in rows(tmp_path / "run" / "log.csv")]
    assert steps == ["1", "2", "3", "4", "5", "6"]


def test_resume_refuses_a_different_model(tiny, tmp_path) -> None:  # noqa: ANN001
    data = tiny.recipe(tmp_path)
    Trainer(parse_config(data), progress=False).fit(stop_after=3)
    data["model"]["args"]["width"] = 5
    with pytest.raises(CheckpointError, match="refusing to resume"):
        Trainer(parse_config(data), resume=True, progress=False).fit()


def test_fresh_run_refuses_an_existing_checkpoint(tiny, tmp_path) -> None:  # noqa: ANN001
    data = tiny.recipe(tmp_path)
    Trainer(parse_config(data), progress=False).fit(stop_after=3)
    with pytest.raises(LowlightError, match="pass --resume"):
        Trainer(parse_config(data), progress=False).fit()


def test_resume_without_checkpoint(tiny, tmp_path) -> None:  # noqa: ANN001
    with pytest.raises(CheckpointError, match="checkpoint not found"):
        Trainer(parse_config(tiny.recipe(tmp_path)), resume=True, progress=False).fit()


def test_resuming_a_finished_run_exports_again(tiny, tmp_path) -> None:  # noqa: ANN001
    data = tiny.recipe(tmp_path)
    done = Trainer(parse_config(data), progress=False).fit()
    again = Trainer(parse_config(data), resume=True, progress=False).fit()
    assert again.step == 6 and again.export_path == done.export_path
    for key, value in done.model.state_dict().items():
        assert torch.equal(again.model.state_dict()[key], value)


def test_longer_run_continues_the_sample_stream(tiny, tmp_path) -> None:  # noqa: ANN001
    """Raising train.steps on resume continues from the saved sample position."""
    data = tiny.recipe(tmp_path)
    Trainer(parse_config(data), progress=False).fit()
    data["train"]["steps"] = 8
    Trainer(parse_config(data), resume=True, progress=False).fit()
    ckpt = load_checkpoint(Path(data["train"]["out_dir"]) / "last.ckpt")
    assert ckpt["step"] == 8 and ckpt["data"]["position"] == 8 * 2
