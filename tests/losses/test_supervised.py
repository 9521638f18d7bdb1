"""The supervised objective: hand-computed term values, weighting, logs, registration."""

from __future__ import annotations

import math

import pytest
import torch

from lowlight.errors import ConfigError
from lowlight.losses.supervised import (
    SupervisedObjective,
    charbonnier_loss,
    l1_loss,
    mse_loss,
    ssim_loss,
)
from lowlight.registry import OBJECTIVES


def pair() -> tuple[torch.Tensor, torch.Tensor]:
    pred = torch.tensor([0.0, 0.5]).view(1, 1, 1, 2)
    target = torch.tensor([0.25, 0.25]).view(1, 1, 1, 2)
    return pred, target


def test_pixel_terms_by_hand() -> None:
    pred, target = pair()
    assert float(l1_loss(pred, target)) == pytest.approx(0.25)
    assert float(mse_loss(pred, target)) == pytest.approx(0.0625)
    assert float(charbonnier_loss(pred, target)) == pytest.approx(
        math.sqrt(0.0625 + 1e-6), rel=1e-6
    )
    assert float(charbonnier_loss(target, target)) == pytest.approx(1e-3)  # eps at zero error
    assert float(charbonnier_loss(pred, target, eps=0.5)) == pytest.approx(math.sqrt(0.0625 + 0.25))


def test_ssim_term_by_hand_on_constant_images() -> None:
    """For constant images a, b the SSIM is (2ab + C1) / (a^2 + b^2 + C1), C1 = 0.01^2."""
    a = torch.full((1, 3, 16, 16), 0.2)
    b = torch.full((1, 3, 16, 16), 0.4)
    c1 = 0.01**2
    expected = 1 - (2 * 0.2 * 0.4 + c1) / (0.2**2 + 0.4**2 + c1)
    assert float(ssim_loss(a, b)) == pytest.approx(expected, rel=1e-5)
    x = torch.rand(2, 3, 16, 16)
    assert float(ssim_loss(x, x)) == pytest.approx(0.0, abs=1e-6)


def test_ssim_term_uses_the_metric_window() -> None:
    from lowlight.metrics.ssim_core import ssim_map

    x, y = torch.rand(1, 3, 20, 24), torch.rand(1, 3, 20, 24)
    assert float(ssim_loss(x, y)) == pytest.approx(
        1 - float(ssim_map(x, y, data_range=1.0).mean()), rel=1e-6
    )


def test_weights_compose_and_logs_are_unweighted() -> None:
    x = torch.rand(2, 3, 16, 16)
    y = torch.rand(2, 3, 16, 16)
    objective = SupervisedObjective({"l1": 1.0, "ssim": 0.2, "mse": 0.0})
    loss, logs = objective.loss(x, y)
    assert set(logs) == {"l1", "ssim", "mse"}
    assert float(logs["l1"]) == pytest.approx(float(l1_loss(x, y)))
    assert float(logs["ssim"]) == pytest.approx(float(ssim_loss(x, y)), rel=1e-6)
    assert float(loss) == pytest.approx(float(logs["l1"]) + 0.2 * float(logs["ssim"]), rel=1e-6)


def test_objective_calls_forward_train_and_backpropagates() -> None:
    class Doubler(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.gain = torch.nn.Parameter(torch.tensor(2.0))

        def forward_train(self, x: torch.Tensor) -> tuple[torch.Tensor, dict]:
            return x * self.gain, {}  # may leave [0, 1]: not clamped

    model = Doubler()
    x = torch.full((1, 3, 12, 12), 0.6)
    objective = SupervisedObjective({"l1": 1.0, "charbonnier": 1.0, "ssim": 1.0})
    loss, logs = objective(model, {"input": x, "target": x})
    assert float(logs["l1"]) == pytest.approx(0.6)
    loss.backward()
    assert model.gain.grad is not None and torch.isfinite(model.gain.grad)
    with pytest.raises(ConfigError, match="needs paired data"):
        objective(model, {"input": x})


def test_half_precision_inputs_give_a_float32_loss() -> None:
    x = torch.rand(1, 3, 16, 16)
    loss, _ = SupervisedObjective({"l1": 1.0, "ssim": 1.0}).loss(x.half(), x.half())
    assert loss.dtype == torch.float32


@pytest.mark.parametrize(
    ("terms", "message"),
    [
        ({"l2": 1.0}, "unknown supervised loss term"),
        ({"l1": -1.0}, "must be a number >= 0"),
        ({"l1": "1"}, "must be a number >= 0"),
        ({"l1": 0.0}, "at least one term"),
    ],
)
def test_invalid_terms(terms: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SupervisedObjective(terms)


def test_registered_and_described() -> None:
    entry = OBJECTIVES.get("supervised")
    objective = entry.obj(terms={"charbonnier": 1.0, "ssim": 0.5})
    assert isinstance(objective, SupervisedObjective)
    lines = objective.describe()
    assert lines[0] == "supervised objective: loss = 1 * charbonnier + 0.5 * ssim"
    assert any("eps = 0.001" in line for line in lines)
    assert isinstance(entry.obj(), SupervisedObjective)  # default: l1
