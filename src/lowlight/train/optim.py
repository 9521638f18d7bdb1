"""Optimiser construction and the learning-rate schedule.

The schedule is a pure function of the step (:class:`LRSchedule`), applied to the
optimiser's parameter groups before every step. Resuming therefore needs nothing but the
step count, and changing ``train.steps`` changes the cosine horizon predictably.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import nn

from lowlight.train.config import OptimConfig, ScheduleConfig


def build_optimizer(params: Iterable[nn.Parameter], cfg: OptimConfig) -> torch.optim.Optimizer:
    """Adam, AdamW or SGD over ``params`` as ``cfg`` says (``foreach`` left to torch)."""
    params = [p for p in params if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters")
    if cfg.name == "adam":
        return torch.optim.Adam(
            params, lr=cfg.lr, betas=cfg.betas, eps=cfg.eps, weight_decay=cfg.weight_decay
        )
    if cfg.name == "adamw":
        return torch.optim.AdamW(
            params, lr=cfg.lr, betas=cfg.betas, eps=cfg.eps, weight_decay=cfg.weight_decay
        )
    if cfg.name == "sgd":
        return torch.optim.SGD(
            params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay
        )
    raise ValueError(f"unknown optimiser '{cfg.name}'")


class LRSchedule:
    """Learning rate at a step (0-based: the rate used for the step that makes ``step + 1``).

    * warm-up: ``lr * (step + 1) / warmup_steps`` for ``step < warmup_steps``;
    * ``constant``: ``lr``;
    * ``cosine``: ``min_lr + (lr - min_lr) * (1 + cos(pi * t)) / 2`` with ``t`` going from 0
      after warm-up to 1 at ``total_steps``;
    * ``step``: ``lr * gamma ** ((step - warmup_steps) // step_size)``.
    """

    def __init__(self, cfg: ScheduleConfig, base_lr: float, total_steps: int) -> None:
        self.cfg = cfg
        self.base_lr = base_lr
        self.total_steps = total_steps

    def __call__(self, step: int) -> float:
        cfg = self.cfg
        if step < cfg.warmup_steps:
            return self.base_lr * (step + 1) / cfg.warmup_steps
        after = step - cfg.warmup_steps
        if cfg.name == "constant":
            return self.base_lr
        if cfg.name == "step":
            return self.base_lr * cfg.gamma ** (after // cfg.step_size)
        span = max(1, self.total_steps - cfg.warmup_steps)
        t = min(1.0, after / span)
        return cfg.min_lr + (self.base_lr - cfg.min_lr) * 0.5 * (1.0 + math.cos(math.pi * t))

    def apply(self, optimizer: torch.optim.Optimizer, step: int) -> float:
        """Set every parameter group's ``lr`` for ``step``; return it."""
        lr = self(step)
        for group in optimizer.param_groups:
            group["lr"] = lr
        return lr

    def state_dict(self) -> dict[str, object]:
        """What defines the schedule (recorded in checkpoints for inspection)."""
        return {"name": self.cfg.name, "base_lr": self.base_lr, "total_steps": self.total_steps}


__all__ = ["LRSchedule", "build_optimizer"]
