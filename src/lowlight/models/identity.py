"""Identity: the unenhanced input, the "input" row of every benchmark table.

No paper; it exists so that evaluation, benchmarks and the CLI treat "do nothing"
as a model like any other (same contract, same tiling, same reports).
"""

from __future__ import annotations

from torch import Tensor

from lowlight.models.base import Context, EnhancementModel
from lowlight.registry import MODELS

__all__ = ["Identity"]


@MODELS.register(
    "identity",
    kind="classical",
    paper=None,
    summary="Returns the input unchanged (the 'input' baseline of every table).",
    default_weights=None,
)
class Identity(EnhancementModel):
    """Return the input unchanged.

    Shape:
        - Input: ``(B, 3, H, W)`` in ``[0, 1]``.
        - Output: ``(B, 3, H, W)`` in ``[0, 1]``, equal to the input.
    """

    tileable = False
    fast_path = False
    """Nothing to speed up: the identity is the cost of decoding and encoding alone."""

    def enhance_tensor(self, x: Tensor, context: Context | None = None) -> Tensor:
        return x
