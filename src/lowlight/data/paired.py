"""Paired low-light / reference images for supervised training and validation.

Pairs come from :func:`lowlight.data.pairs.find_pairs` (same stem in both folders). Both
partners of a pair get the same resize, crop window, flips and rotation, so a pixelwise
relation between input and target survives augmentation exactly. Partners of different
sizes are an error naming the stem: at construction (from the headers, see
:func:`lowlight.data.unpaired.probe_images`) and again when the pixels are loaded.

With ``crop=None``, ``flips=False``, ``rot90=False`` (:meth:`PairedImageFolder.full_frame`)
the dataset yields whole, untouched images, as the evaluation protocol needs.
"""

from __future__ import annotations

from pathlib import Path

from torch import Tensor
from torch.utils.data import Dataset

from lowlight.data.transforms import SampleKey, paired_random_crop_augment, sample_rng, to_tensor
from lowlight.data.unpaired import MAX_LISTED, DatasetError, probe_images


class PairedImageFolder(Dataset):
    """Aligned random crops of input/target pairs.

    Args:
        input_dir: folder of degraded (low-light) images.
        target_dir: folder of references with the same stems.
        crop: side of the square random crop; ``None`` yields whole images.
        flips: random horizontal and vertical flips (identical for both partners).
        rot90: random rotations by multiples of 90 degrees (identical for both).
        max_images: keep only the first N pairs in natural stem order.
        check_files: probe every header at construction: unreadable files and size
            mismatches fail here rather than hours into a run.

    Items are ``{"input": (3, h, w), "target": (3, h, w), "stem": str}``, float32 in [0, 1].
    """

    def __init__(
        self,
        input_dir: str | Path,
        target_dir: str | Path,
        crop: int | None = 128,
        flips: bool = True,
        rot90: bool = True,
        max_images: int | None = None,
        check_files: bool = True,
    ) -> None:
        from lowlight.data.pairs import find_pairs

        if crop is not None and crop < 1:
            raise ValueError(f"crop must be >= 1 or None, got {crop}")
        self.input_dir = Path(input_dir)
        self.target_dir = Path(target_dir)
        pairs = find_pairs(self.input_dir, self.target_dir)
        if max_images is not None:
            pairs = pairs[:max_images]
        self.pairs = pairs
        self.crop = crop
        self.flips = flips
        self.rot90 = rot90
        self.sizes: list[tuple[int, int]] | None = None
        if check_files:
            self.sizes = probe_images([p.input for p in pairs], str(self.input_dir))
            target_sizes = probe_images([p.target for p in pairs], str(self.target_dir))
            mismatched = [
                f"{pair.stem} (input {a[1]}x{a[0]}, target {b[1]}x{b[0]})"
                for pair, a, b in zip(pairs, self.sizes, target_sizes, strict=True)
                if a != b
            ]
            if mismatched:
                shown = ", ".join(mismatched[:MAX_LISTED])
                more = (
                    f", ... and {len(mismatched) - MAX_LISTED} more"
                    if len(mismatched) > MAX_LISTED
                    else ""
                )
                raise DatasetError(
                    f"{len(mismatched)} pair(s) whose input and target sizes differ: {shown}{more}"
                )

    @classmethod
    def from_root(cls, root: str | Path, **kwargs: object) -> PairedImageFolder:
        """A dataset from a root in a known layout (LOL ``low/high``, LOL-v2 ``Low/Normal``, ...)."""
        from lowlight.data.pairs import resolve_paired_root

        input_dir, target_dir = resolve_paired_root(root)
        return cls(input_dir, target_dir, **kwargs)  # type: ignore[arg-type]

    @classmethod
    def full_frame(
        cls, input_dir: str | Path, target_dir: str | Path, max_images: int | None = None
    ) -> PairedImageFolder:
        """Whole, unaugmented pairs (validation and evaluation)."""
        return cls(
            input_dir, target_dir, crop=None, flips=False, rot90=False, max_images=max_images
        )

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, key: int | SampleKey) -> dict[str, Tensor | str]:
        from lowlight.io import read_image

        index, rng = sample_rng(key)
        pair = self.pairs[index]
        inp = read_image(pair.input).rgb
        target = read_image(pair.target).rgb
        if inp.shape[:2] != target.shape[:2]:
            raise DatasetError(
                f"pair '{pair.stem}': input {pair.input} is {inp.shape[1]}x{inp.shape[0]} but "
                f"target {pair.target} is {target.shape[1]}x{target.shape[0]}"
            )
        inp, target = paired_random_crop_augment(
            inp, target, self.crop, rng, flips=self.flips, rot90=self.rot90
        )
        return {"input": to_tensor(inp), "target": to_tensor(target), "stem": pair.stem}

    def describe(self) -> str:
        """One line for logs and weight records."""
        return f"paired: {self.input_dir} -> {self.target_dir} ({len(self)} pairs)"


__all__ = ["PairedImageFolder"]
