"""Fuzzing the Python API's input kinds (issue 16): numpy arrays and tensors of any dtype,
shape and value, NaN and Inf included. The rule: the same kind, shape and dtype back with
finite values, or a ``TypeError`` / ``ValueError`` naming the argument; the input unchanged."""

from __future__ import annotations

import numpy as np
import torch
from _fuzz import fuzz
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import lowlight

MODELS = {
    "gamma": lowlight.load("gamma"),
    "lime": lowlight.load("lime"),
    "lucent": lowlight.load("lucent", weights=None),
}
NP_DTYPES = [np.uint8, np.uint16, np.float16, np.float32, np.float64, np.int8, np.int32, np.bool_]
TORCH_DTYPES = [
    torch.float32,
    torch.float64,
    torch.float16,
    torch.bfloat16,
    torch.uint8,
    torch.int64,
]
NAMES = ("image", "input")


def _named(exc: Exception) -> bool:
    return any(name in str(exc) for name in NAMES)


@st.composite
def arrays(draw: st.DrawFn) -> np.ndarray:
    dtype = np.dtype(draw(st.sampled_from(NP_DTYPES)))
    ndim = draw(st.integers(1, 4))
    shape = tuple(draw(st.integers(0, 9)) for _ in range(ndim))
    if ndim == 3 and draw(st.booleans()):
        shape = (*shape[:2], draw(st.sampled_from([1, 2, 3, 4])))
    if dtype.kind == "f":
        elements = st.floats(
            -2, 3, width=min(64, dtype.itemsize * 8), allow_subnormal=False
        ) | st.sampled_from([np.nan, np.inf, -np.inf, 0.0, 1.0])
        return draw(hnp.arrays(dtype, shape, elements=elements))
    return draw(hnp.arrays(dtype, shape))


@fuzz(80)
@given(array=arrays(), name=st.sampled_from(sorted(MODELS)))
def test_numpy_inputs(array: np.ndarray, name: str) -> None:
    before = array.copy()
    try:
        out = MODELS[name].enhance(array)
    except (TypeError, ValueError) as exc:
        assert _named(exc), str(exc)
    else:
        assert out.shape == array.shape and out.dtype == array.dtype
        assert np.isfinite(out.astype(np.float64)).all()
    np.testing.assert_array_equal(array, before)


@st.composite
def tensors(draw: st.DrawFn) -> torch.Tensor:
    dtype = draw(st.sampled_from(TORCH_DTYPES))
    ndim = draw(st.integers(2, 5))
    shape = [draw(st.integers(0, 9)) for _ in range(ndim)]
    if ndim in (3, 4) and draw(st.booleans()):
        shape[-3] = 3
    x = torch.rand(shape, generator=torch.Generator().manual_seed(draw(st.integers(0, 99))))
    if x.numel() and draw(st.booleans()):
        index = draw(st.integers(0, x.numel() - 1))
        x.view(-1)[index] = draw(st.sampled_from([float("nan"), float("inf"), -float("inf"), 5.0]))
    return (
        x.to(dtype) if dtype.is_floating_point else (x * 255).nan_to_num(0).clamp(0, 255).to(dtype)
    )


@fuzz(80)
@given(x=tensors(), name=st.sampled_from(sorted(MODELS)))
def test_tensor_inputs(x: torch.Tensor, name: str) -> None:
    before = x.clone()
    try:
        out = MODELS[name].enhance(x)
    except (TypeError, ValueError) as exc:
        assert _named(exc), str(exc)
    else:
        assert out.shape == x.shape and out.dtype == x.dtype
        assert torch.isfinite(out.float()).all()
    assert torch.equal(x.nan_to_num(7.0), before.nan_to_num(7.0))


@fuzz(20)
@given(x=tensors())
def test_forward_contract(x: torch.Tensor) -> None:
    """``model(x)`` (no conversion): a finite ``(B, 3, H, W)`` float batch, or an error."""
    try:
        with torch.no_grad():
            out = MODELS["lucent"](x)
    except (TypeError, ValueError) as exc:
        assert _named(exc), str(exc)
    else:
        assert out.shape == x.shape and torch.isfinite(out).all()
        assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0


def test_not_an_image() -> None:
    for thing in (None, 3, "x" * 0, [[0.1, 0.2]], {"a": 1}):
        try:
            MODELS["gamma"].enhance(thing)
        except (TypeError, ValueError, lowlight.errors.LowlightError) as exc:
            assert str(exc)
