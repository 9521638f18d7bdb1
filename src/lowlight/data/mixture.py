"""A weighted mixture of training datasets (e.g. real sequence pairs with synthetic ones).

Index ``i`` of the mixture maps to a fixed part and an index inside it: part ``p`` owns a
block of about ``length * w_p / sum(w)`` consecutive indices (largest remainders) and cycles through its own
items within that block. The training sampler shuffles the mixture's indices, so every
epoch holds the parts in the given proportions whatever their sizes; each sample keeps its
augmentation seed (:class:`~lowlight.data.transforms.SampleKey`), so runs stay
reproducible and resumable.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from torch import Tensor
from torch.utils.data import Dataset

from lowlight.data.transforms import SampleKey
from lowlight.errors import ConfigError

__all__ = ["MixtureDataset"]


def _apportion(total: int, weights: Sequence[float]) -> list[int]:
    """Integer shares of ``total`` proportional to ``weights`` (largest remainders; sums to it)."""
    exact = [total * w / sum(weights) for w in weights]
    counts = [int(x) for x in exact]
    by_remainder = sorted(range(len(exact)), key=lambda i: counts[i] - exact[i])
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


class MixtureDataset(Dataset):
    """Draw from ``parts`` in proportion to ``weights``.

    Args:
        parts: the datasets (each yields the same item keys).
        weights: one non-negative weight per part, not all zero.
        length: items per epoch; default the sum of the parts' lengths.
    """

    def __init__(
        self, parts: Sequence[Dataset], weights: Sequence[float], length: int | None = None
    ) -> None:
        if not parts or len(parts) != len(weights):
            raise ConfigError("a mixture needs at least one part and one weight per part")
        if any(w < 0 for w in weights) or sum(weights) <= 0:
            raise ConfigError(f"mixture weights must be >= 0 and not all zero, got {list(weights)}")
        sizes = [len(p) for p in parts]  # type: ignore[arg-type]
        total = length if length is not None else sum(sizes)
        counts = _apportion(total, weights)
        self.parts = list(parts)
        self._starts = np.cumsum([0, *counts])
        self._sizes = sizes

    def __len__(self) -> int:
        return int(self._starts[-1])

    def locate(self, index: int) -> tuple[int, int]:
        """``(part, index inside the part)`` of mixture index ``index``."""
        if not 0 <= index < len(self):
            raise IndexError(f"mixture index {index} outside [0, {len(self)})")
        part = int(np.searchsorted(self._starts, index, side="right") - 1)
        return part, int(index - self._starts[part]) % self._sizes[part]

    def __getitem__(self, key: int | SampleKey) -> dict[str, Tensor | str]:
        if isinstance(key, tuple):
            part, inner = self.locate(int(key[0]))
            return self.parts[part][SampleKey(inner, int(key[1]))]
        part, inner = self.locate(int(key))
        return self.parts[part][inner]

    def describe(self) -> str:
        """One line for logs and weight records: each part with its share."""
        shares = np.diff(self._starts) / max(len(self), 1)
        described = []
        for part, share in zip(self.parts, shares, strict=True):
            describe = getattr(part, "describe", None)
            text = describe() if callable(describe) else type(part).__name__
            described.append(f"{share:.0%} {text}")
        return "mixture: " + " + ".join(described)
