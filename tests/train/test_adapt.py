"""Per-image zero-shot adaptation: the copy learns, the original is untouched."""

from __future__ import annotations

import pytest
import torch

from lowlight.errors import ConfigError
from lowlight.losses.objective_irle import IRLEObjective
from lowlight.models.irle import IRLE
from lowlight.train.adapt import zero_shot_adapt


def test_adaptation_lowers_the_objective_on_its_image_and_copies_the_model():
    torch.manual_seed(0)
    model = IRLE(illum_width=4, denoiser_width=4, denoiser_blocks=1)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    image = torch.rand(1, 3, 32, 40) * 0.15
    objective = IRLEObjective(iap=0)
    adapted, losses = zero_shot_adapt(model, image, objective, steps=25, lr=3e-3)
    assert len(losses) == 25
    assert not adapted.training
    with torch.no_grad():
        after, _ = objective(adapted.train(), {"input": image})
    assert after < losses[0]
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())


def test_crops_and_bad_arguments():
    model = IRLE(illum_width=4, denoiser_width=4, denoiser_blocks=1)
    objective = IRLEObjective(iap=0)
    _, losses = zero_shot_adapt(model, torch.rand(1, 3, 24, 24) * 0.2, objective, steps=2, crop=16)
    assert len(losses) == 2
    with pytest.raises(ConfigError):
        zero_shot_adapt(model, torch.rand(2, 3, 8, 8), objective)
    with pytest.raises(ConfigError):
        zero_shot_adapt(model, torch.rand(1, 3, 8, 8), objective, steps=0)
