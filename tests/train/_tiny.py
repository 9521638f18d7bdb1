"""Tiny stand-ins for trainer tests: a 2-layer conv model, a zero-reference-like objective,
generated image folders and recipes. Also imported by path from subprocesses (DDP test)
and from tests/cli, so it depends on nothing but lowlight, numpy, torch and PIL."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import Tensor, nn

from lowlight.errors import RegistryError
from lowlight.models.base import EnhancementModel
from lowlight.registry import MODELS, OBJECTIVES

TINY_MODEL = "_test_tiny_conv"
TINY_OBJECTIVE = "_test_exposure"


class TinyConvNet(EnhancementModel):
    """``x + conv(relu(conv(x)))``: two 3x3 convolutions, a few hundred parameters."""

    def __init__(self, width: int = 4) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 3, padding=1)
        self.conv2 = nn.Conv2d(width, 3, 3, padding=1)

    def enhance_tensor(self, x: Tensor, context: Any = None) -> Tensor:
        return x + self.conv2(torch.relu(self.conv1(x)))

    def forward_train(self, x: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        return self.enhance_tensor(x), {}


class ExposureObjective:
    """Mean squared distance of each output pixel's mean to ``level`` (per-sample mean, so a
    global batch split over ranks averages to the same gradient)."""

    def __init__(self, level: float = 0.6) -> None:
        self.level = level

    def __call__(self, model: Any, batch: dict[str, Any]) -> tuple[Tensor, dict[str, Tensor]]:
        y, _ = model.forward_train(batch["input"])
        exposure = (y.mean(dim=1) - self.level).square().mean()
        smooth = (y[..., 1:, :] - y[..., :-1, :]).abs().mean()
        loss = exposure + 0.1 * smooth
        return loss, {"exposure": exposure.detach(), "smooth": smooth.detach()}

    def describe(self) -> list[str]:
        return [f"exposure to {self.level} + 0.1 * vertical smoothness"]


def register() -> None:
    """Register the stand-ins (idempotent)."""
    with contextlib.suppress(RegistryError):
        MODELS.add(TINY_MODEL, TinyConvNet, kind="supervised", summary="test stand-in")
    with contextlib.suppress(RegistryError):
        OBJECTIVES.add(TINY_OBJECTIVE, ExposureObjective, kind="zero-reference")


def drop(registry: Any, name: str) -> None:
    """Remove ``name`` from ``registry`` if it is there (test clean-up)."""
    if name in registry._entries:
        remove = getattr(registry, "remove", None)
        if remove is not None:
            remove(name)
        else:
            del registry._entries[name]


def unregister() -> None:
    drop(MODELS, TINY_MODEL)
    drop(OBJECTIVES, TINY_OBJECTIVE)


def random_image(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Smooth random uint8 ``(H, W, 3)`` image (gradients plus noise)."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    phase = rng.uniform(0, 6.28, size=3).astype(np.float32)
    base = 0.5 + 0.4 * np.sin(xx[..., None] / 5.0 + yy[..., None] / 7.0 + phase)
    base += rng.normal(0, 0.03, size=base.shape)
    return (np.clip(base, 0, 1) * 255).round().astype(np.uint8)


def write_images(
    folder: Path, count: int, size: tuple[int, int] = (24, 32), seed: int = 0
) -> list[Path]:
    """``count`` PNGs of ``size = (H, W)`` in ``folder`` (half of them in a sub-folder)."""
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(count):
        sub = folder / "nested" if i % 2 else folder
        sub.mkdir(parents=True, exist_ok=True)
        path = sub / f"img{i:03d}.png"
        Image.fromarray(random_image(rng, *size)).save(path)
        paths.append(path)
    return paths


def write_pairs(root: Path, count: int, size: tuple[int, int] = (24, 32), seed: int = 0) -> Path:
    """A LOL-layout paired folder ``root/{low,high}``: ``low = high // 4`` pixelwise."""
    rng = np.random.default_rng(seed)
    (root / "low").mkdir(parents=True, exist_ok=True)
    (root / "high").mkdir(parents=True, exist_ok=True)
    for i in range(count):
        high = random_image(rng, *size)
        Image.fromarray(high).save(root / "high" / f"{i}.png")
        Image.fromarray(high // 4).save(root / "low" / f"{i}.png")
    return root


def recipe(tmp_path: Path, **sections: Any) -> dict[str, Any]:
    """A small recipe training :data:`TINY_MODEL` on generated unpaired images in ``tmp_path``.

    ``sections`` replace or update top-level sections (dicts are merged one level deep).
    """
    images = tmp_path / "images"
    if not images.is_dir():
        write_images(images, 6)
    data: dict[str, Any] = {
        "name": "tiny",
        "seed": 3,
        "model": {"name": TINY_MODEL, "args": {"width": 4}},
        "objective": {"name": TINY_OBJECTIVE, "args": {"level": 0.6}},
        "data": {
            "train": {
                "kind": "unpaired",
                "root": str(images),
                "crop": 16,
                "batch_size": 2,
                "num_workers": 0,
                "rot90": True,
            },
        },
        "optim": {"name": "adam", "lr": 1.0e-2, "grad_clip": 1.0},
        "schedule": {"name": "cosine", "warmup_steps": 2, "min_lr": 1.0e-4},
        "train": {
            "steps": 6,
            "ckpt_every": 3,
            "val_every": 3,
            "log_every": 1,
            "out_dir": str(tmp_path / "run"),
            "device": "cpu",
            "threads": 1,
        },
    }
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return data
