"""Real dark/well-exposed pairs from the scenes of a multi-exposure collection (SICE).

Every aligned frame of a scene that is sufficiently darker than the scene's reference
(``mean luma <= max_ratio * reference mean luma``) is paired with that reference; the
scenes, the alignment check and the train/val split come from
:mod:`lowlight.data.sequences`. Options:

* ``reference``: ``best`` (the best-exposed frame, as taken by the camera) or ``fusion``
  (Mertens exposure fusion of the scene's aligned frames; computed once and cached as
  8-bit PNGs beside the grouping cache);
* ``brighter``: also pair the over-exposed frames (``mean >= reference / max_ratio``) with
  the reference (over-exposure correction);
* ``identity``: add this fraction (relative to the number of real pairs) of
  reference -> reference items, so that a well-exposed input learns to stay as it is;
* ``min_luma``: skip frames whose mean luma is below this (black frames with no content).

Items are ``{"input", "target", "stem"}`` like :class:`~lowlight.data.paired.PairedImageFolder`
(aligned crops, identical flips and rotations); stems are ``<scene>_<frame stem>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
from torch import Tensor
from torch.utils.data import Dataset

from lowlight.data.options import reject_unknown_options
from lowlight.data.sequences import GroupingOptions, Scene, SceneSet, cache_dir, load_scenes
from lowlight.data.transforms import SampleKey, paired_random_crop_augment, sample_rng, to_tensor
from lowlight.errors import ConfigError

__all__ = ["PairOptions", "SequencePair", "SequencePairs", "fused_reference", "scene_pairs"]

REFERENCES = ("best", "fusion")


@dataclass(frozen=True)
class PairOptions:
    """Which frames pair with which reference (see the module docstring)."""

    split: str = "train"
    reference: str = "best"
    max_ratio: float = 0.7
    min_luma: float = 0.005
    brighter: bool = False
    identity: float = 0.0

    def __post_init__(self) -> None:
        if self.reference not in REFERENCES:
            raise ConfigError(
                f"reference must be one of {', '.join(REFERENCES)}, got {self.reference!r}"
            )
        if not 0 < self.max_ratio < 1:
            raise ConfigError(f"max_ratio must lie in (0, 1), got {self.max_ratio}")
        if self.identity < 0 or self.min_luma < 0:
            raise ConfigError("identity and min_luma must be >= 0")


@dataclass(frozen=True)
class SequencePair:
    """One pair: an input frame (``None`` for an identity item) and its scene."""

    scene: Scene
    frame: str | None

    @property
    def stem(self) -> str:
        tail = Path(self.frame).stem if self.frame is not None else "ref"
        return f"{self.scene.name}_{tail}"


def scene_pairs(scene_set: SceneSet, options: PairOptions) -> list[SequencePair]:
    """The pairs of ``options.split`` in scene and file order, identity items last."""
    pairs: list[SequencePair] = []
    scenes = scene_set.split(options.split)
    for scene in scenes:
        ref_luma = scene_set.frames[scene.reference].mean_luma
        for name in scene.aligned:
            luma = scene_set.frames[name].mean_luma
            if name == scene.reference or luma < options.min_luma:
                continue
            darker = luma <= options.max_ratio * ref_luma
            brighter = options.brighter and luma * options.max_ratio >= ref_luma
            if darker or brighter:
                pairs.append(SequencePair(scene, name))
    n_identity = int(round(options.identity * len(pairs)))
    pairs += [SequencePair(scenes[i % len(scenes)], None) for i in range(n_identity)]
    return pairs


def fused_reference(scene_set: SceneSet, scene: Scene) -> np.ndarray:
    """The Mertens fusion of ``scene``'s aligned frames ``(H, W, 3)``, cached as an 8-bit PNG."""
    from lowlight.data.exposure_fusion import mertens_fusion
    from lowlight.io import read_image, write_image

    root = Path(scene_set.root)
    path = cache_dir() / "sequence-fusion" / root.resolve().as_posix().strip("/").replace("/", "_")
    path = path / f"{scene.name}-{len(scene.aligned)}.png"
    if path.is_file():
        return read_image(path).rgb
    fused = mertens_fusion([read_image(root / name).rgb for name in scene.aligned])
    fused = np.round(fused * 255.0) / 255.0
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_image(path, fused, overwrite=True)
    except OSError:
        pass  # an unwritable cache costs time, not correctness
    return fused.astype(np.float32)


class SequencePairs(Dataset):
    """Aligned random crops of real SICE-sequence pairs (see the module docstring).

    Args:
        root: the multi-exposure folder (SICE Part1).
        options: the pairing rule.
        grouping: how frames are grouped, aligned and split.
        crop, flips, rot90: the training view (``crop=None``: whole frames, for validation).
        max_images: keep the first N pairs.

    Raises:
        ConfigError: no pair matches the options.
    """

    def __init__(
        self,
        root: str | Path,
        options: PairOptions | None = None,
        grouping: GroupingOptions | None = None,
        crop: int | None = 128,
        flips: bool = True,
        rot90: bool = True,
        max_images: int | None = None,
    ) -> None:
        self.root = Path(root)
        self.options = options or PairOptions()
        self.scene_set = load_scenes(self.root, grouping)
        pairs = scene_pairs(self.scene_set, self.options)
        if max_images is not None:
            pairs = pairs[:max_images]
        if not pairs:
            raise ConfigError(f"no sequence pair in {self.root} with {self.options}")
        self.pairs = pairs
        self.crop = crop
        self.flips = flips
        self.rot90 = rot90
        self.sizes: list[tuple[int, int]] | None = None  # known only after decoding
        if self.options.reference == "fusion":
            for scene in {id(p.scene): p.scene for p in pairs}.values():
                fused_reference(self.scene_set, scene)  # fill the cache before workers start

    @classmethod
    def from_args(
        cls,
        root: str | Path,
        args: Mapping[str, Any],
        *,
        crop: int | None = 128,
        flips: bool = True,
        rot90: bool = True,
        max_images: int | None = None,
    ) -> SequencePairs:
        """Build from a recipe's ``args``: the :class:`PairOptions` and
        :class:`~lowlight.data.sequences.GroupingOptions` fields.

        Raises:
            ConfigError: an unknown key (the message lists the valid ones) or a bad value.
        """
        pair_keys = [f.name for f in fields(PairOptions)]
        group_keys = [f.name for f in fields(GroupingOptions)]
        reject_unknown_options("sequences dataset", args, [*pair_keys, *group_keys])
        try:
            options = PairOptions(**{k: args[k] for k in pair_keys if k in args})
            grouping = GroupingOptions(**{k: args[k] for k in group_keys if k in args})
        except TypeError as exc:
            raise ConfigError(f"sequences dataset options: {exc}") from exc
        return cls(
            root, options, grouping, crop=crop, flips=flips, rot90=rot90, max_images=max_images
        )

    def __len__(self) -> int:
        return len(self.pairs)

    def reference_image(self, scene: Scene) -> np.ndarray:
        """The reference of ``scene`` under this dataset's rule, ``(H, W, 3)`` in [0, 1]."""
        from lowlight.io import read_image

        if self.options.reference == "fusion":
            return fused_reference(self.scene_set, scene)
        return read_image(self.root / scene.reference).rgb

    def __getitem__(self, key: int | SampleKey) -> dict[str, Tensor | str]:
        from lowlight.io import read_image

        index, rng = sample_rng(key)
        pair = self.pairs[index]
        target = self.reference_image(pair.scene)
        inp = target if pair.frame is None else read_image(self.root / pair.frame).rgb
        inp, target = paired_random_crop_augment(
            inp, target, self.crop, rng, flips=self.flips, rot90=self.rot90
        )
        return {"input": to_tensor(inp), "target": to_tensor(target), "stem": pair.stem}

    def describe(self) -> str:
        """One line for logs and weight records."""
        o = self.options
        n_identity = sum(p.frame is None for p in self.pairs)
        scenes = len({p.scene.index for p in self.pairs})
        return (
            f"sequences: {self.root} split {o.split} ({len(self) - n_identity} real pairs + "
            f"{n_identity} identity from {scenes} scenes; reference {o.reference}, "
            f"max_ratio {o.max_ratio}, brighter {o.brighter})"
        )
