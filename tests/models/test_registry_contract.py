"""Contracts every registered model keeps (STYLE.md, convention 8).

Learned models are built with random weights (and their registry ``test_kwargs``, a
small configuration, when they declare one) so the sweep stays fast on CPU.
"""

from __future__ import annotations

import pytest
import torch

from lowlight.api import build, list_models
from lowlight.registry import MODELS

MODEL_NAMES = list_models()


def _build(name: str):
    kwargs = MODELS.get(name).meta.get("test_kwargs", {})
    return build(name, **kwargs).eval()


def test_registry_is_not_empty():
    assert MODEL_NAMES, f"no models registered; import errors: {MODELS.import_errors}"
    assert not MODELS.import_errors, MODELS.import_errors


@pytest.mark.parametrize("name", MODEL_NAMES)
@pytest.mark.parametrize("size", [(37, 53), (16, 16), (5, 9)])
def test_any_size_keeps_shape_and_range(name, size):
    model = _build(name)
    x = torch.rand(1, 3, *size) * 0.3
    with torch.inference_mode():
        y = model(x)
    assert y.shape == x.shape
    assert torch.isfinite(y).all()
    assert y.min() >= 0 and y.max() <= 1


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_batch_equals_single(name):
    model = _build(name)
    x = torch.rand(3, 3, 24, 40) * torch.tensor([0.1, 0.3, 0.6]).view(3, 1, 1, 1)
    with torch.inference_mode():
        batched = model(x)
        single = torch.cat([model(x[i : i + 1]) for i in range(3)])
    assert torch.allclose(batched, single, atol=1e-5)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_black_and_white_frames_stay_finite(name):
    model = _build(name)
    with torch.inference_mode():
        for value in (0.0, 1.0):
            y = model(torch.full((1, 3, 20, 28), value))
            assert torch.isfinite(y).all()


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_gradients_reach_every_parameter(name):
    model = _build(name).train()
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        pytest.skip(f"{name} has no trainable parameters")
    y, _ = model.forward_train(torch.rand(2, 3, 32, 32) * 0.4)
    y.square().mean().backward()
    missing = [
        n
        for n, p in model.named_parameters()
        if p.requires_grad and (p.grad is None or not torch.isfinite(p.grad).all())
    ]
    assert not missing, f"no finite gradient for {missing}"


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_registry_metadata(name):
    meta = MODELS.get(name).meta
    assert meta.get("kind") in {"classical", "zero-reference", "supervised", "self-supervised"}
    assert meta.get("summary"), f"{name} has no summary"


def _learned(name: str) -> bool:
    return any(p.requires_grad for p in _build(name).parameters())


LEARNED_NAMES = [name for name in MODEL_NAMES if _learned(name)]


@pytest.mark.parametrize("name", LEARNED_NAMES)
def test_forward_train_is_forward_without_the_clamp(name):
    """``forward_train`` is ``forward`` before its clamp: pixels that leave ``[0, 1]`` keep
    their value and their gradient (the supervised losses rely on it)."""
    model = _build(name)
    torch.manual_seed(0)
    # Off-contract input in [-1, 2] drives every model's output outside [0, 1].
    x = torch.rand(2, 3, 21, 30) * 3.0 - 1.0
    raw, _ = model.forward_train(x)
    with torch.no_grad():
        clamped = model(x)
    assert raw.shape == x.shape
    outside = (raw < 0) | (raw > 1)
    assert outside.any(), "the input did not drive the output outside [0, 1]; test is vacuous"
    assert torch.allclose(raw.detach().clamp(0.0, 1.0), clamped, atol=1e-5)
    # A loss on the out-of-range pixels alone must reach the parameters.
    (raw * outside).sum().backward()
    grads = [p.grad.abs().sum() for p in model.parameters() if p.grad is not None]
    assert grads and torch.stack(grads).sum() > 0, "no gradient from out-of-range pixels"
