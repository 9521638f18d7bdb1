"""The identity baseline returns its input."""

from __future__ import annotations

import torch

from lowlight.api import build
from lowlight.models.identity import Identity
from lowlight.registry import MODELS


def test_returns_input():
    x = torch.rand(2, 3, 37, 53)
    assert torch.equal(Identity()(x), x)


def test_float64_and_tiny():
    x = torch.rand(1, 3, 1, 1, dtype=torch.float64)
    y = Identity()(x)
    assert y.dtype == torch.float64 and torch.equal(y, x)


def test_registered_as_classical():
    entry = MODELS.get("identity")
    assert entry.meta["kind"] == "classical"
    assert entry.meta["default_weights"] is None
    assert isinstance(build("identity"), Identity)
    assert Identity().estimate_context(torch.rand(1, 3, 4, 4)) is None
