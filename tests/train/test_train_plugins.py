"""The trainer's plug-in seam with LFPV: the wrapper trains and is checkpointed (resume is
bit-exact), the stripped model is validated and exported, and the export loads with
``lowlight.load`` / scores with ``lowlight eval``."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import torch
from safetensors.torch import load_file

from lowlight.api import load
from lowlight.errors import LowlightError
from lowlight.plugins.lfpv import LFPVModel
from lowlight.train.checkpoint import load_checkpoint
from lowlight.train.config import parse_config
from lowlight.train.trainer import Trainer

TINY_MIRNET = {"name": "mirnet", "args": {"channels": 4, "num_rrg": 2, "num_mrb": 1}}
LFPV = [{"name": "lfpv", "args": {}}]


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _recipe(tiny, tmp_path: Path, out: str, **extra) -> dict:  # noqa: ANN001
    data = tiny.recipe(tmp_path, model=TINY_MIRNET, train={"out_dir": str(tmp_path / out)})
    data["plugins"] = LFPV
    data.update(extra)
    return data


def test_resume_with_the_wrapper_is_bit_exact(tiny, tmp_path) -> None:  # noqa: ANN001
    full = Trainer(parse_config(_recipe(tiny, tmp_path, "full")), progress=False).fit()
    split_recipe = parse_config(_recipe(tiny, tmp_path, "split"))
    Trainer(split_recipe, progress=False).fit(stop_after=3)
    ckpt = load_checkpoint(tmp_path / "split" / "last.ckpt")
    assert any(k.startswith("updater.") for k in ckpt["model"])  # the checkpoint keeps SU/MU
    second = Trainer(split_recipe, resume=True, progress=False).fit()
    assert full.finished and second.finished
    a, b = full.model.state_dict(), second.model.state_dict()
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    assert a["lfpv.vectors"].abs().sum() > 0
    log_a, log_b = _rows(tmp_path / "full" / "log.csv"), _rows(tmp_path / "split" / "log.csv")
    assert [(r["loss"], r["lfpv_loss"]) for r in log_a] == [
        (r["loss"], r["lfpv_loss"]) for r in log_b
    ]


def test_resume_refuses_other_plugins(tiny, tmp_path) -> None:  # noqa: ANN001
    Trainer(parse_config(_recipe(tiny, tmp_path, "run")), progress=False).fit(stop_after=3)
    plain = _recipe(tiny, tmp_path, "run", plugins=[])
    try:
        Trainer(parse_config(plain), resume=True, progress=False).fit()
    except LowlightError as exc:
        assert "plug-ins" in str(exc)
    else:
        raise AssertionError("resuming with other plug-ins must fail")


def test_mirnet_small_with_lfpv_trains_validates_and_exports(tiny, tmp_path) -> None:  # noqa: ANN001
    pairs = tiny.write_pairs(tmp_path / "pairs", 4, size=(24, 32))
    val = tiny.write_pairs(tmp_path / "val", 2, size=(20, 28), seed=4)
    data = tiny.recipe(
        tmp_path,
        name="mirnet_small_lfpv",
        model={"name": "mirnet_small", "args": {}},
        objective={"name": "supervised", "args": {"terms": {"charbonnier": 1.0}}},
        data={
            "train": {
                "kind": "paired",
                "root": str(pairs),
                "crop": 16,
                "batch_size": 2,
                "num_workers": 0,
            },
            "val": {"kind": "paired", "root": str(val), "num_workers": 0},
        },
        train={"steps": 3, "val_every": 3, "ckpt_every": 3, "out_dir": str(tmp_path / "run")},
    )
    data["plugins"] = LFPV
    result = Trainer(parse_config(data), progress=False).fit()
    assert result.finished and result.export_path is not None
    assert set(result.val_scores) >= {"psnr", "ssim"}
    log = _rows(tmp_path / "run" / "log.csv")
    assert {"plain_loss", "lfpv_loss", "charbonnier"} <= set(log[0])
    for row in log:
        total = float(row["plain_loss"]) + float(row["lfpv_loss"])
        assert abs(float(row["loss"]) - total) < 1e-5

    exported = load_file(str(result.export_path))
    assert not any(k.startswith("updater.") for k in exported)
    assert set(exported) == set(result.inference_model.state_dict())
    record = json.loads(result.export_path.with_suffix(".json").read_text())
    assert record["plugins"] == LFPV and record["model"] == "mirnet_small"

    model = load("mirnet_small", weights=result.export_path, device="cpu")
    assert isinstance(model, LFPVModel)
    x = torch.rand(1, 3, 20, 28) * 0.3
    with torch.no_grad():
        assert torch.equal(model(x), result.inference_model.eval()(x))
