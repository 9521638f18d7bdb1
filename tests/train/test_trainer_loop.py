"""The training loop end to end on tiny models and generated data."""

from __future__ import annotations

import csv
import importlib.util
import json
import logging
from pathlib import Path

import pytest
import torch
import yaml

from lowlight.data.unpaired import DatasetError
from lowlight.errors import ConfigError
from lowlight.registry import OBJECTIVES
from lowlight.train.config import parse_config
from lowlight.train.data import build_train_dataset, build_train_loader
from lowlight.train.distributed import DistInfo
from lowlight.train.trainer import Trainer, TrainingError


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def supervised_recipe(tiny, tmp_path: Path, steps: int = 20) -> dict:  # noqa: ANN001
    tiny.write_pairs(tmp_path / "pairs", 4, size=(24, 32), seed=1)
    tiny.write_pairs(tmp_path / "val", 2, size=(20, 24), seed=2)
    return tiny.recipe(
        tmp_path,
        data={
            "train": {
                "kind": "paired",
                "root": str(tmp_path / "pairs"),
                "crop": 16,
                "batch_size": 2,
                "num_workers": 0,
            },
            "val": {"kind": "paired", "root": str(tmp_path / "val"), "num_workers": 0},
        },
        objective={"name": "supervised", "args": {"terms": {"l1": 1.0, "ssim": 0.2}}},
        optim={"name": "adam", "lr": 1e-2},
        schedule={"name": "constant"},
        train={"steps": steps, "ckpt_every": 10, "val_every": 10, "log_every": 5, "threads": 1},
    )


def test_supervised_training_learns_and_logs(tiny, tmp_path) -> None:  # noqa: ANN001
    cfg = parse_config(supervised_recipe(tiny, tmp_path))
    result = Trainer(cfg, progress=False, command="lowlight train x.yaml").fit()
    out = Path(cfg.train.out_dir)

    log = rows(out / "log.csv")
    assert [int(r["step"]) for r in log] == [5, 10, 15, 20]
    assert {"lr", "loss", "l1", "ssim", "sec_per_step", "seconds"} <= set(log[0])
    assert float(log[-1]["l1"]) < 0.7 * float(log[0]["l1"])  # it learns the x4 brightening

    val = rows(out / "val.csv")
    assert [int(r["step"]) for r in val] == [10, 20]
    assert {"psnr", "ssim", "psnr_gtmean", "ssim_gtmean"} <= set(val[0])
    assert float(val[-1]["psnr"]) > float(val[0]["psnr"])
    assert result.val_scores["psnr"] == pytest.approx(float(val[-1]["psnr"]), rel=1e-6)
    assert result.best_score == pytest.approx(max(float(r["psnr"]) for r in val), rel=1e-6)
    assert (out / "best.ckpt").is_file() and (out / "last.ckpt").is_file()
    assert parse_config(yaml.safe_load((out / "config.yaml").read_text(encoding="utf-8"))) == cfg
    assert "supervised objective: loss = 1 * l1 + 0.2 * ssim" in (out / "train.log").read_text(
        encoding="utf-8"
    )

    record = json.loads((out / "export" / "tiny.json").read_text(encoding="utf-8"))
    assert record["model"] == tiny.TINY_MODEL and record["config"] == {"width": 4}
    assert record["command"] == "lowlight train x.yaml"
    assert record["training_data"].startswith("paired: ") and "(4 pairs)" in record["training_data"]
    assert record["scores"][f"{tmp_path.name}/val"]["psnr"] == pytest.approx(
        result.val_scores["psnr"]
    )
    assert record["created"]


def test_exported_weights_load_with_the_public_api(tiny, tmp_path) -> None:  # noqa: ANN001
    from lowlight.api import load

    result = Trainer(parse_config(tiny.recipe(tmp_path)), progress=False).fit()
    model = load(tiny.TINY_MODEL, weights=result.export_path, device="cpu")
    x = torch.rand(1, 3, 20, 28)
    trained = result.model.eval()
    with torch.no_grad():
        torch.testing.assert_close(model(x), trained(x), rtol=0, atol=0)


def test_non_finite_loss_stops_with_a_clear_error(tiny, tmp_path) -> None:  # noqa: ANN001
    def exploding(**_: object):  # noqa: ANN202
        def objective(model, batch):  # noqa: ANN001, ANN202
            y, _ = model.forward_train(batch["input"])
            return y.mean() * float("nan"), {}

        return objective

    OBJECTIVES.add("_test_nan", exploding)
    try:
        data = tiny.recipe(tmp_path, objective={"name": "_test_nan", "args": {}})
        with pytest.raises(TrainingError, match="non-finite .* at step 1"):
            Trainer(parse_config(data), progress=False).fit()
    finally:
        tiny.drop(OBJECTIVES, "_test_nan")


def test_objective_must_return_loss_and_logs(tiny, tmp_path) -> None:  # noqa: ANN001
    OBJECTIVES.add("_test_bad", lambda **_: lambda model, batch: model(batch["input"]).mean())
    try:
        data = tiny.recipe(tmp_path, objective={"name": "_test_bad", "args": {}})
        with pytest.raises(TrainingError, match="must return"):
            Trainer(parse_config(data), progress=False).fit()
    finally:
        tiny.drop(OBJECTIVES, "_test_bad")


def test_amp_on_needs_cuda(tiny, tmp_path) -> None:  # noqa: ANN001
    data = tiny.recipe(tmp_path)
    data["train"]["amp"] = "on"
    with pytest.raises(ConfigError, match="needs a CUDA device"):
        Trainer(parse_config(data), progress=False).fit()


def test_corrupt_training_image_fails_at_start(tiny, tmp_path) -> None:  # noqa: ANN001
    data = tiny.recipe(tmp_path)
    (tmp_path / "images" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(DatasetError, match="broken.png"):
        Trainer(parse_config(data), progress=False).fit()
    assert not (Path(data["train"]["out_dir"]) / "last.ckpt").exists()


def test_whole_images_of_different_sizes_need_batch_one(tiny, tmp_path) -> None:  # noqa: ANN001
    tiny.write_images(tmp_path / "mixed", 2, size=(16, 16))
    tiny.write_images(tmp_path / "mixed" / "big", 2, size=(20, 16), seed=1)
    data = tiny.recipe(tmp_path)
    data["data"]["train"].update(root=str(tmp_path / "mixed"), crop=None)
    with pytest.raises(ConfigError, match="cannot be batched"):
        build_train_dataset(parse_config(data).data.train)


def test_data_stream_does_not_depend_on_workers(tiny, tmp_path) -> None:  # noqa: ANN001
    cfg = parse_config(tiny.recipe(tmp_path)).data.train
    dataset = build_train_dataset(cfg)
    streams = []
    for workers in (0, 2):
        cfg.num_workers = workers
        loader, _ = build_train_loader(dataset, cfg, 3, DistInfo(), 0, torch.device("cpu"))
        it = iter(loader)
        streams.append([next(it)["input"] for _ in range(3)])
        del it
    for a, b in zip(*streams, strict=True):
        assert torch.equal(a, b)


@pytest.mark.skipif(
    importlib.util.find_spec("tensorboard") is not None, reason="tensorboard is installed"
)
def test_missing_tensorboard_is_one_log_line(tiny, tmp_path, caplog) -> None:  # noqa: ANN001
    with caplog.at_level(logging.INFO, logger="lowlight.train"):
        Trainer(parse_config(tiny.recipe(tmp_path)), progress=False).fit()
    lines = [r for r in caplog.records if "TensorBoard" in r.getMessage()]
    assert len(lines) == 1


def test_autocast_path_runs(tiny, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    """The mixed-precision branch (autocast, scaler off for bfloat16), exercised on CPU."""
    monkeypatch.setattr(Trainer, "_amp", lambda self, device: (True, torch.bfloat16))
    data = tiny.recipe(tmp_path, train={"steps": 2, "log_every": 1})
    result = Trainer(parse_config(data), progress=False).fit()
    assert result.finished
    losses = [float(r["loss"]) for r in rows(Path(data["train"]["out_dir"]) / "log.csv")]
    assert len(losses) == 2 and all(torch.isfinite(torch.tensor(losses)))
    ckpt = torch.load(Path(data["train"]["out_dir"]) / "last.ckpt", weights_only=True)
    assert ckpt["scaler"] == {}
