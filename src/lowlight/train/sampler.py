"""An endless, resumable, rank-aware batch sampler for step-based training.

The sample stream is a concatenation of epochs; epoch ``e`` is a permutation of
``repeat`` copies of the dataset drawn from ``(seed, e)``. Global position ``p`` (counting
samples consumed by all processes) holds dataset index ``perm_e[p mod (n * repeat)] mod n``
and the augmentation seed derived from ``(seed, p)``. At each step the global batch is
the next ``batch_size * world_size`` positions, and rank ``r`` takes the ``r``-th slice of
``batch_size`` — the step-based equivalent of ``DistributedSampler``.

Everything is a pure function of the position, so resuming needs only the position
(``step * batch_size * world_size``), and the data seen does not depend on the number of
loader workers.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from lowlight.data.transforms import SampleKey

_PERM_TAG = 0x5EED_0001
_AUG_TAG = 0x5EED_0002


class StepBatchSampler:
    """Endless batches of :class:`~lowlight.data.transforms.SampleKey` for one rank.

    Args:
        dataset_size: number of items ``n`` in the dataset.
        batch_size: items per batch on this rank.
        seed: run seed (>= 0).
        repeat: copies of the dataset per shuffled epoch.
        rank, world_size: this process and the number of processes.
        start: global position of the first batch (samples already consumed by all ranks).
    """

    def __init__(
        self,
        dataset_size: int,
        batch_size: int,
        seed: int,
        repeat: int = 1,
        rank: int = 0,
        world_size: int = 1,
        start: int = 0,
    ) -> None:
        if dataset_size < 1 or batch_size < 1 or repeat < 1:
            raise ValueError("dataset_size, batch_size and repeat must be >= 1")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} outside world of size {world_size}")
        if seed < 0 or start < 0:
            raise ValueError("seed and start must be >= 0")
        self.dataset_size = dataset_size
        self.batch_size = batch_size
        self.seed = seed
        self.repeat = repeat
        self.rank = rank
        self.world_size = world_size
        self.start = start
        self._epoch = -1
        self._perm = np.empty(0, dtype=np.int64)

    @property
    def global_batch(self) -> int:
        return self.batch_size * self.world_size

    def position_after(self, steps: int) -> int:
        """Global position after ``steps`` more steps from :attr:`start`."""
        return self.start + steps * self.global_batch

    def key(self, position: int) -> SampleKey:
        """The sample at global ``position``."""
        epoch_len = self.dataset_size * self.repeat
        epoch, offset = divmod(position, epoch_len)
        if epoch != self._epoch:
            rng = np.random.default_rng([self.seed, _PERM_TAG, epoch])
            self._perm = rng.permutation(epoch_len) % self.dataset_size
            self._epoch = epoch
        seed = int(
            np.random.SeedSequence([self.seed, _AUG_TAG, position]).generate_state(1, np.uint64)[0]
        )
        return SampleKey(int(self._perm[offset]), seed)

    def batch(self, step: int) -> list[SampleKey]:
        """This rank's keys for the ``step``-th batch after :attr:`start`."""
        first = self.start + step * self.global_batch + self.rank * self.batch_size
        return [self.key(first + i) for i in range(self.batch_size)]

    def __iter__(self) -> Iterator[list[SampleKey]]:
        step = 0
        while True:
            yield self.batch(step)
            step += 1

    def state_dict(self) -> dict[str, int]:
        return {
            "seed": self.seed,
            "start": self.start,
            "batch_size": self.batch_size,
            "world_size": self.world_size,
            "repeat": self.repeat,
            "dataset_size": self.dataset_size,
        }


__all__ = ["StepBatchSampler"]
