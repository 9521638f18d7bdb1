"""CSV logs (columns that appear later, rows dropped on resume) and the distributed helpers
in a single process."""

from __future__ import annotations

import csv

import pytest
import torch

from lowlight.errors import LowlightError
from lowlight.train import distributed as D
from lowlight.train.logger import CSVLog


def read(path) -> list[dict[str, str]]:  # noqa: ANN001
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_new_columns_extend_the_header(tmp_path) -> None:  # noqa: ANN001
    log = CSVLog(tmp_path / "log.csv")
    log.write({"step": 1, "loss": 0.5})
    log.write({"step": 2, "loss": 0.25, "grad_norm": 3.0})
    assert read(tmp_path / "log.csv") == [
        {"step": "1", "loss": "0.5", "grad_norm": ""},
        {"step": "2", "loss": "0.25", "grad_norm": "3"},
    ]


def test_resume_drops_rows_after_the_checkpoint(tmp_path) -> None:  # noqa: ANN001
    log = CSVLog(tmp_path / "log.csv")
    for step in range(1, 6):
        log.write({"step": step, "loss": 1.0 / step})
    resumed = CSVLog(tmp_path / "log.csv", resume_step=3)
    resumed.write({"step": 4, "loss": 9.0})
    assert [r["step"] for r in read(tmp_path / "log.csv")] == ["1", "2", "3", "4"]
    assert read(tmp_path / "log.csv")[-1]["loss"] == "9"
    CSVLog(tmp_path / "log.csv")  # a fresh run starts a fresh file
    assert read(tmp_path / "log.csv") == []


def test_single_process_helpers_are_no_ops(monkeypatch) -> None:  # noqa: ANN001
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(key, raising=False)
    info = D.env_info()
    assert (info.rank, info.world_size, info.enabled, info.is_main) == (0, 1, False, True)
    assert D.init_distributed(torch.device("cpu")) == info and not D.active()
    p = torch.nn.Parameter(torch.ones(2))
    p.grad = torch.full((2,), 3.0)
    D.average_gradients([p])
    assert torch.equal(p.grad, torch.full((2,), 3.0))
    assert D.mean_over_ranks({"a": 1.5}, torch.device("cpu")) == {"a": 1.5}
    assert D.gather_objects({"x": 1}) == [{"x": 1}]
    assert D.broadcast_object(7) == 7
    D.barrier()


@pytest.mark.parametrize(("rank", "world"), [("2", "2"), ("x", "2"), ("0", "0")])
def test_invalid_torchrun_environment(monkeypatch, rank: str, world: str) -> None:  # noqa: ANN001
    monkeypatch.setenv("RANK", rank)
    monkeypatch.setenv("WORLD_SIZE", world)
    with pytest.raises(LowlightError, match="RANK"):
        D.env_info()
