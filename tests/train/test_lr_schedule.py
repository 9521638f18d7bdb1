"""Learning-rate schedules as pure functions of the step, and optimiser construction."""

from __future__ import annotations

import math

import pytest
import torch

from lowlight.train.config import OptimConfig, ScheduleConfig
from lowlight.train.optim import LRSchedule, build_optimizer


def test_constant_with_warmup() -> None:
    s = LRSchedule(ScheduleConfig(name="constant", warmup_steps=4), 1.0, 100)
    assert [s(i) for i in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]


def test_cosine_endpoints_and_midpoint() -> None:
    s = LRSchedule(ScheduleConfig(name="cosine", warmup_steps=10, min_lr=0.1), 1.0, 110)
    assert s(10) == pytest.approx(1.0)
    assert s(60) == pytest.approx(0.1 + 0.9 * 0.5)
    assert s(110) == pytest.approx(0.1)
    assert s(500) == pytest.approx(0.1)
    values = [s(i) for i in range(10, 111)]
    assert all(a >= b for a, b in zip(values, values[1:], strict=False))


def test_step_decay() -> None:
    s = LRSchedule(ScheduleConfig(name="step", step_size=3, gamma=0.5), 8.0, 100)
    assert [s(i) for i in range(7)] == [8, 8, 8, 4, 4, 4, 2]


def test_apply_sets_every_group() -> None:
    params = [torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))]
    opt = torch.optim.SGD([{"params": params[:1]}, {"params": params[1:]}], lr=1.0)
    s = LRSchedule(ScheduleConfig(name="cosine"), 1.0, 10)
    lr = s.apply(opt, 5)
    assert lr == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.5)))
    assert all(g["lr"] == lr for g in opt.param_groups)


@pytest.mark.parametrize(
    ("name", "cls"),
    [("adam", torch.optim.Adam), ("adamw", torch.optim.AdamW), ("sgd", torch.optim.SGD)],
)
def test_build_optimizer(name: str, cls: type) -> None:
    model = torch.nn.Linear(2, 2)
    model.bias.requires_grad_(False)
    opt = build_optimizer(model.parameters(), OptimConfig(name=name, lr=0.5, weight_decay=0.1))
    assert isinstance(opt, cls)
    assert opt.param_groups[0]["lr"] == 0.5 and len(opt.param_groups[0]["params"]) == 1


def test_no_trainable_parameters() -> None:
    with pytest.raises(ValueError, match="no trainable parameters"):
        build_optimizer([], OptimConfig())
