"""The endless batch sampler: deterministic, rank slices of one global stream, resumable."""

from __future__ import annotations

from collections import Counter

import pytest

from lowlight.train.sampler import StepBatchSampler


def take(sampler: StepBatchSampler, steps: int) -> list[list[tuple[int, int]]]:
    it = iter(sampler)
    return [[tuple(k) for k in next(it)] for _ in range(steps)]


def test_deterministic_and_seed_dependent() -> None:
    a = take(StepBatchSampler(7, 3, seed=1), 5)
    assert a == take(StepBatchSampler(7, 3, seed=1), 5)
    assert a != take(StepBatchSampler(7, 3, seed=2), 5)


def test_epochs_cover_every_item_repeat_times() -> None:
    n, repeat = 5, 3
    sampler = StepBatchSampler(n, 1, seed=0, repeat=repeat)
    first_epoch = [sampler.key(p).index for p in range(n * repeat)]
    assert Counter(first_epoch) == {i: repeat for i in range(n)}
    second_epoch = [sampler.key(p).index for p in range(n * repeat, 2 * n * repeat)]
    assert second_epoch != first_epoch


def test_each_position_has_its_own_augmentation_seed() -> None:
    sampler = StepBatchSampler(4, 2, seed=0)
    seeds = [sampler.key(p).seed for p in range(40)]
    assert len(set(seeds)) == 40


def test_ranks_split_the_global_batch() -> None:
    single = take(StepBatchSampler(9, 4, seed=3), 4)
    ranks = [take(StepBatchSampler(9, 2, seed=3, rank=r, world_size=2), 4) for r in range(2)]
    for step in range(4):
        assert ranks[0][step] + ranks[1][step] == single[step]


@pytest.mark.parametrize("world_size", [1, 3])
def test_start_continues_the_stream(world_size: int) -> None:
    whole = take(StepBatchSampler(6, 2, seed=5, world_size=world_size), 7)
    resumed = StepBatchSampler(6, 2, seed=5, world_size=world_size, start=3 * 2 * world_size)
    assert take(resumed, 4) == whole[3:]
    assert resumed.position_after(4) == 7 * 2 * world_size


def test_invalid_arguments() -> None:
    with pytest.raises(ValueError):
        StepBatchSampler(0, 1, seed=0)
    with pytest.raises(ValueError):
        StepBatchSampler(3, 1, seed=0, rank=2, world_size=2)
    with pytest.raises(ValueError):
        StepBatchSampler(3, 1, seed=-1)
