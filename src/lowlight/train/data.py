"""Datasets and loaders for a training run, built from a recipe's ``data`` section."""

from __future__ import annotations

import random

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from lowlight.errors import ConfigError
from lowlight.train.config import DatasetConfig
from lowlight.train.distributed import DistInfo
from lowlight.train.sampler import StepBatchSampler


def build_train_dataset(cfg: DatasetConfig) -> Dataset:
    """The training set: random crops with the recipe's augmentations.

    Raises:
        ConfigError: whole images (``crop: null``) of different sizes with ``batch_size > 1``.
    """
    dataset = _build(cfg, cfg.crop, cfg.flips, cfg.rot90, cfg.max_images)
    sizes = getattr(dataset, "sizes", None)
    if cfg.crop is None and cfg.batch_size > 1 and sizes and len(set(sizes)) > 1:
        raise ConfigError(
            "data.train: crop is null (whole images) but the images differ in size, so they cannot "
            "be batched; set a crop or batch_size: 1"
        )
    return dataset


def build_val_dataset(cfg: DatasetConfig) -> Dataset:
    """The validation set: whole, unaugmented pairs (the evaluation protocol)."""
    return _build(cfg, None, False, False, cfg.max_images)


_View = tuple[int | None, bool, bool, int | None]  # crop, flips, rot90, max_images


def _unpaired(cfg: DatasetConfig, view: _View) -> Dataset:
    from lowlight.data.unpaired import UnpairedImageFolder

    crop, flips, rot90, max_images = view
    assert cfg.root is not None  # checked by validate_config
    try:
        return UnpairedImageFolder.from_args(
            cfg.root, cfg.args, crop=crop, flips=flips, rot90=rot90, max_images=max_images
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"data.train.args: {exc}") from exc


def _synthetic(cfg: DatasetConfig, view: _View) -> Dataset:
    from lowlight.data.synthetic_pairs import SyntheticPairs

    crop, flips, rot90, max_images = view
    assert cfg.root is not None  # checked by validate_config
    return SyntheticPairs.from_args(
        cfg.root, cfg.args, crop=crop, flips=flips, rot90=rot90, max_images=max_images
    )


def _sequences(cfg: DatasetConfig, view: _View) -> Dataset:
    from lowlight.data.sequence_pairs import SequencePairs

    crop, flips, rot90, max_images = view
    assert cfg.root is not None  # checked by validate_config
    return SequencePairs.from_args(
        cfg.root, cfg.args, crop=crop, flips=flips, rot90=rot90, max_images=max_images
    )


def _paired(cfg: DatasetConfig, view: _View) -> Dataset:
    from lowlight.data.paired import PairedImageFolder

    crop, flips, rot90, max_images = view
    kwargs = {"crop": crop, "flips": flips, "rot90": rot90, "max_images": max_images}
    if cfg.root is not None:
        return PairedImageFolder.from_root(cfg.root, **kwargs)
    assert cfg.input_dir is not None and cfg.target_dir is not None  # checked by validate_config
    return PairedImageFolder(cfg.input_dir, cfg.target_dir, **kwargs)  # type: ignore[arg-type]


def _mixture(cfg: DatasetConfig, view: _View) -> Dataset:
    """The parts with the mixture's view (``max_images`` caps each part)."""
    from lowlight.data.mixture import MixtureDataset

    parts = [_build(part, *view) for part in cfg.parts]
    return MixtureDataset(parts, [part.weight for part in cfg.parts])


_BUILDERS = {
    "unpaired": _unpaired,
    "paired": _paired,
    "synthetic": _synthetic,
    "sequences": _sequences,
    "mixture": _mixture,
}
"""Dataset kind -> builder; a new kind is one function and one entry here."""


def _build(
    cfg: DatasetConfig, crop: int | None, flips: bool, rot90: bool, max_images: int | None
) -> Dataset:
    return _BUILDERS[cfg.kind](cfg, (crop, flips, rot90, max_images))


def describe_dataset(dataset: Dataset) -> str:
    """One line naming the data and its size (for logs and weight records)."""
    describe = getattr(dataset, "describe", None)
    if callable(describe):
        return str(describe())
    return f"{type(dataset).__name__} ({len(dataset)} items)"  # type: ignore[arg-type]


def seed_worker(worker_id: int) -> None:
    """DataLoader ``worker_init_fn``: one CPU thread per worker; numpy and ``random`` seeded
    from the worker's torch seed (itself derived from the loader's seeded generator).

    Augmentation randomness does not depend on this (it comes with each sample's key, see
    :mod:`lowlight.train.sampler`); it covers any other randomness in a dataset.
    """
    torch.set_num_threads(1)
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)


def build_train_loader(
    dataset: Dataset,
    cfg: DatasetConfig,
    seed: int,
    info: DistInfo,
    start_position: int,
    device: torch.device,
) -> tuple[DataLoader, StepBatchSampler]:
    """An endless loader of this rank's batches, starting at global sample ``start_position``."""
    sampler = StepBatchSampler(
        len(dataset),  # type: ignore[arg-type]
        cfg.batch_size,
        seed,
        repeat=cfg.repeat,
        rank=info.rank,
        world_size=info.world_size,
        start=start_position,
    )
    loader = DataLoader(
        dataset,
        batch_sampler=sampler,
        num_workers=cfg.num_workers,
        pin_memory=device.type == "cuda",
        worker_init_fn=seed_worker,
        generator=torch.Generator().manual_seed(seed),
    )
    return loader, sampler


def build_val_loader(dataset: Dataset, cfg: DatasetConfig, seed: int) -> DataLoader:
    """Whole images one at a time, in order."""
    return DataLoader(
        dataset,
        batch_size=1,
        shuffle=False,
        num_workers=cfg.num_workers,
        worker_init_fn=seed_worker,
        generator=torch.Generator().manual_seed(seed),
    )


__all__ = [
    "build_train_dataset",
    "build_train_loader",
    "build_val_dataset",
    "build_val_loader",
    "describe_dataset",
    "seed_worker",
]
