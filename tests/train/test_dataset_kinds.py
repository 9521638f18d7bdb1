"""Recipe kinds ``sequences`` and ``mixture``, and ``model.init`` (fine-tuning)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from lowlight.errors import ConfigError
from lowlight.train.config import parse_config
from lowlight.train.data import build_train_dataset, build_val_dataset
from lowlight.train.trainer import Trainer

GROUPING = {"thumb": 16, "val_every": 2}


def _recipe(tiny, tmp_path: Path, root: Path, **extra) -> dict:  # noqa: ANN001
    tiny.write_pairs(tmp_path / "pairs", 4, size=(24, 32), seed=1)
    return tiny.recipe(
        tmp_path,
        data={
            "train": {
                "kind": "mixture",
                "crop": 16,
                "batch_size": 2,
                "num_workers": 0,
                "parts": [
                    {
                        "kind": "sequences",
                        "root": str(root),
                        "weight": 3.0,
                        "args": {"split": "train", **GROUPING},
                    },
                    {"kind": "paired", "root": str(tmp_path / "pairs"), "weight": 1.0},
                ],
            },
            "val": {
                "kind": "sequences",
                "root": str(root),
                "num_workers": 0,
                "args": {"split": "val", **GROUPING},
            },
        },
        objective={"name": "supervised", "args": {"terms": {"l1": 1.0}}},
        train={"steps": 4, "ckpt_every": 2, "val_every": 4, "log_every": 2, "threads": 1},
        **extra,
    )


def test_mixture_of_sequences_and_pairs_trains_and_validates(
    tiny, tmp_path, sequence_collection
) -> None:  # noqa: ANN001
    cfg = parse_config(_recipe(tiny, tmp_path, sequence_collection))
    train_set = build_train_dataset(cfg.data.train)
    assert train_set[0]["input"].shape == (3, 16, 16)  # the mixture's crop reaches the parts
    assert len(build_val_dataset(cfg.data.val)) == 2  # scene B's two dark frames, whole
    result = Trainer(cfg, progress=False).fit()
    record = json.loads((Path(cfg.train.out_dir) / "export" / "tiny.json").read_text())
    assert record["training_data"].startswith("mixture: 83% sequences: ")  # 5 of 6 items
    assert {"psnr", "ssim"} <= set(result.val_scores)


@pytest.mark.parametrize(
    ("train", "message"),
    [
        ({"kind": "mixture", "parts": []}, "needs 'parts'"),
        (
            {"kind": "paired", "root": "x", "parts": [{"kind": "paired", "root": "y"}]},
            "'parts' is for",
        ),
        ({"kind": "mixture", "parts": [{"kind": "unpaired", "root": "y"}]}, "paired kind"),
        (
            {"kind": "mixture", "parts": [{"kind": "paired", "root": "y", "weight": 0.0}]},
            "not all be zero",
        ),
        ({"kind": "sequences"}, "needs 'root'"),
        ({"kind": "paired", "root": "x", "args": {"a": 1}}, "'args' is for"),
    ],
)
def test_invalid_dataset_sections(tiny, tmp_path, train, message) -> None:  # noqa: ANN001
    with pytest.raises(ConfigError, match=message):
        parse_config(tiny.recipe(tmp_path, data={"train": train}))


def test_model_init_starts_from_given_weights(tiny, tmp_path) -> None:  # noqa: ANN001
    start = tiny.TinyConvNet(width=4)
    for p in start.parameters():
        torch.nn.init.constant_(p, 0.01)
    weights = tmp_path / "start.safetensors"
    save_file(start.state_dict(), str(weights))
    recipe = tiny.recipe(
        tmp_path, train={"steps": 1, "ckpt_every": 1, "val_every": 1, "log_every": 1}
    )
    recipe["model"]["init"] = str(weights)
    recipe["optim"] = {"name": "adam", "lr": 1.0e-12}
    recipe["schedule"] = {"name": "constant"}
    result = Trainer(parse_config(recipe), progress=False).fit()
    for name, value in result.model.state_dict().items():
        torch.testing.assert_close(value, start.state_dict()[name], atol=1e-6, rtol=0)


def test_model_init_must_fit_the_model(tiny, tmp_path) -> None:  # noqa: ANN001
    weights = tmp_path / "other.safetensors"
    save_file({"conv1.weight": torch.zeros(2, 3, 3, 3)}, str(weights))
    recipe = tiny.recipe(tmp_path)
    recipe["model"]["init"] = str(weights)
    with pytest.raises(Exception, match="do not fit"):
        Trainer(parse_config(recipe), progress=False).fit()


def test_overrides_address_list_items() -> None:
    from lowlight.train.config import apply_overrides

    data = {"data": {"train": {"parts": [{"weight": 1.0, "args": {}}, {"weight": 1.0}]}}}
    out = apply_overrides(
        data, ["data.train.parts.0.args.reference=fusion", "data.train.parts.1.weight=0"]
    )
    assert out["data"]["train"]["parts"] == [
        {"weight": 1.0, "args": {"reference": "fusion"}},
        {"weight": 0},
    ]
    assert data["data"]["train"]["parts"][0]["args"] == {}  # a copy
    with pytest.raises(ConfigError, match="must index the list"):
        apply_overrides(data, ["data.train.parts.2.weight=1"])
    with pytest.raises(ConfigError, match="must index the list"):
        apply_overrides(data, ["data.train.parts.first.weight=1"])
