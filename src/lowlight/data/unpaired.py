"""A folder of unpaired images for zero-reference and self-supervised training.

Choices:

* images are listed recursively with :func:`lowlight.io.list_images` and sorted by their
  path relative to the root, so ``max_images`` and indices are stable across machines;
* every file's header is checked at start-up (:func:`probe_images`, a PIL open without
  decoding: about a millisecond per file). Unreadable files make construction fail with
  one :class:`DatasetError` listing them — a long run should not die (or silently train
  on less) hours in. A file whose header is fine but whose pixel data is truncated still
  fails when it is loaded, with :class:`lowlight.io.ImageReadError` naming it;
* images smaller than the crop are resized up, not padded (see
  :mod:`lowlight.data.transforms`);
* selection for self-supervised training on dark images (IRLE's recipes):
  ``extra_roots`` adds folders, ``exclude`` drops files by their path relative to their
  root (an entry that matches nothing is an error, so a typo cannot leak a test image
  into training), and ``max_mean_luma`` keeps images whose mean BT.601 luma is below the
  threshold, measured once at construction on a copy decoded at 1/4 size or less
  (JPEG draft mode, else a box reduction; about 2 ms per 512x512 JPEG);
* ``holdout_sequences: true`` drops every frame of the validation scenes of ``root`` as
  grouped by :mod:`lowlight.data.sequences`, so that SICE-seq val stays unseen even by a
  self-supervised model (which would otherwise train on its dark inputs).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from torch import Tensor
from torch.utils.data import Dataset

from lowlight.data.transforms import SampleKey, random_crop_augment, sample_rng, to_tensor
from lowlight.errors import LowlightError

MAX_LISTED = 10
"""How many bad files an error names before it summarises the rest."""


class DatasetError(LowlightError):
    """A dataset that cannot be used: no images, unreadable files, mismatched pairs."""


def probe_size(path: Path) -> tuple[int, int]:
    """``(height, width)`` of an image from its header, after EXIF orientation; no pixel decoding.

    The content must be a format :func:`lowlight.io.read_image` reads (sniffed from the
    first bytes, as it does) and Pillow must identify it.

    Raises:
        OSError, ValueError: the file is not such an image.
    """
    from PIL import Image

    from lowlight.io.formats import sniff_format

    with open(path, "rb") as fh:
        head = fh.read(33)
    if not head:
        raise ValueError("empty file")
    if sniff_format(head) is None:
        raise ValueError("not a PNG, JPEG, BMP, TIFF or WebP image")
    with Image.open(path) as image:
        width, height = image.size
        try:
            orientation = image.getexif().get(0x0112, 1)
            orientation = int(orientation[0] if isinstance(orientation, tuple) else orientation)
        except Exception:  # noqa: BLE001 - unreadable metadata is ignored, as read_image does
            orientation = 1
    if orientation in (5, 6, 7, 8):  # transposed or rotated by 90 degrees
        width, height = height, width
    return height, width


def probe_images(paths: Sequence[Path], what: str) -> list[tuple[int, int]]:
    """Sizes ``(H, W)`` of ``paths``; raise one :class:`DatasetError` naming every unreadable file."""
    sizes: list[tuple[int, int]] = []
    bad: list[str] = []
    for path in paths:
        try:
            sizes.append(probe_size(path))
        except Exception as exc:  # noqa: BLE001 - any failure means the file is unusable
            bad.append(f"{path} ({type(exc).__name__}: {exc})")
            sizes.append((0, 0))
    if bad:
        shown = "; ".join(bad[:MAX_LISTED])
        more = f"; ... and {len(bad) - MAX_LISTED} more" if len(bad) > MAX_LISTED else ""
        raise DatasetError(
            f"{len(bad)} unreadable image(s) in {what}: {shown}{more}. Remove or replace them."
        )
    return sizes


def mean_luma(path: Path, reduce_to: int = 128) -> float:
    """Mean BT.601 luma in ``[0, 1]`` of an image, measured on a copy decoded with its longer
    side near ``reduce_to`` (JPEG draft decoding, else Pillow's box ``reduce``)."""
    import numpy as np
    from PIL import Image

    with Image.open(path) as image:
        image.draft("RGB", (reduce_to, reduce_to))
        image = image.convert("RGB")
        factor = max(1, max(image.size) // reduce_to)
        if factor > 1:
            image = image.reduce(factor)
        rgb = np.asarray(image, dtype=np.float64) / 255.0
    return float((rgb @ np.array([0.299, 0.587, 0.114])).mean())


def select_images(
    roots: Sequence[Path],
    exclude: Sequence[str] = (),
    max_mean_luma: float | None = None,
) -> list[Path]:
    """Images under ``roots`` (recursively, each root's files sorted by relative path),
    without the ``exclude`` entries (paths relative to their root, ``/``-separated) and,
    with ``max_mean_luma``, only those whose :func:`mean_luma` is below it.

    Raises:
        DatasetError: a missing root, or an ``exclude`` entry that matches no file.
    """
    from lowlight.io import list_images

    wanted = {str(e).replace("\\", "/").strip("/") for e in exclude}
    used: set[str] = set()
    paths: list[Path] = []
    for root in roots:
        if not root.is_dir():
            raise DatasetError(f"image folder not found: {root}")
        found = sorted(list_images([root], recursive=True), key=lambda item: str(item[1]))
        for path, _ in found:
            rel = Path(path).resolve().relative_to(root.resolve()).as_posix()
            if rel in wanted:
                used.add(rel)
                continue
            paths.append(Path(path))
    unused = sorted(wanted - used)
    if unused:
        raise DatasetError(
            f"exclude entries match no image under {[str(r) for r in roots]}: {unused}"
        )
    if max_mean_luma is not None:
        paths = [p for p in paths if mean_luma(p) < max_mean_luma]
    return paths


class UnpairedImageFolder(Dataset):
    """Random crops of the images under ``root`` (searched recursively).

    Args:
        root: folder of images (any depth).
        crop: side of the square random crop; ``None`` returns whole images.
        flips: random horizontal and vertical flips.
        rot90: random rotations by multiples of 90 degrees.
        max_images: keep only the first N images in sorted order.
        check_files: probe every header at construction (see the module docstring).
        extra_roots: more folders, listed after ``root``.
        exclude: files to leave out, by path relative to their root.
        max_mean_luma: keep only images with a mean BT.601 luma below this.
        holdout_sequences: leave out the frames of the validation scenes of ``root``.

    Items are ``{"input": (3, crop, crop) float32 in [0, 1], "path": str}``. The key
    may be an ``int`` or a :class:`~lowlight.data.transforms.SampleKey` carrying the
    sample's augmentation seed.
    """

    def __init__(
        self,
        root: str | Path,
        crop: int | None = 256,
        flips: bool = True,
        rot90: bool = False,
        max_images: int | None = None,
        check_files: bool = True,
        extra_roots: Sequence[str | Path] = (),
        exclude: Sequence[str] = (),
        max_mean_luma: float | None = None,
        holdout_sequences: bool = False,
    ) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise DatasetError(f"image folder not found: {self.root}")
        if crop is not None and crop < 1:
            raise ValueError(f"crop must be >= 1 or None, got {crop}")
        if max_mean_luma is not None and not 0.0 < max_mean_luma <= 1.0:
            raise ValueError(f"max_mean_luma must be in (0, 1], got {max_mean_luma}")
        self.roots = [self.root, *(Path(r) for r in extra_roots)]
        self.max_mean_luma = max_mean_luma
        self.excluded = list(exclude)
        self.holdout_sequences = holdout_sequences
        paths = select_images(self.roots, exclude, max_mean_luma)
        if holdout_sequences:
            from lowlight.data.sequences import validation_frames

            held_out = validation_frames(self.root)
            paths = [p for p in paths if p.resolve() not in held_out]
        if max_images is not None:
            paths = paths[:max_images]
        if not paths:
            raise DatasetError(f"no images found under {[str(r) for r in self.roots]}")
        self.paths = paths
        self.sizes = probe_images(paths, str(self.root)) if check_files else None
        self.crop = crop
        self.flips = flips
        self.rot90 = rot90

    @classmethod
    def from_args(
        cls, root: str | Path, args: Mapping[str, Any], **kwargs: Any
    ) -> UnpairedImageFolder:
        """Construct from a recipe's ``data.train.args`` (``extra_roots``, ``exclude``,
        ``max_mean_luma``, ``holdout_sequences``); an unknown key is a
        :class:`~lowlight.errors.ConfigError` (a ``ValueError``) listing the valid ones."""
        from lowlight.data.options import reject_unknown_options
        from lowlight.errors import ConfigError

        valid = ["extra_roots", "exclude", "max_mean_luma", "holdout_sequences"]
        reject_unknown_options("unpaired dataset", args, valid)
        if not isinstance(args.get("holdout_sequences", False), bool):
            raise ConfigError("unpaired dataset option holdout_sequences must be true or false")
        return cls(root, **kwargs, **dict(args))

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, key: int | SampleKey) -> dict[str, Tensor | str]:
        from lowlight.io import read_image

        index, rng = sample_rng(key)
        path = self.paths[index]
        image = read_image(path).rgb
        view = random_crop_augment(image, self.crop, rng, flips=self.flips, rot90=self.rot90)
        return {"input": to_tensor(view), "path": str(path)}

    def describe(self) -> str:
        """One line for logs and weight records."""
        where = " + ".join(str(r) for r in self.roots)
        extra = ""
        if self.max_mean_luma is not None:
            extra += f", mean luma < {self.max_mean_luma:g}"
        if self.excluded:
            extra += f", excluding {', '.join(self.excluded)}"
        if self.holdout_sequences:
            extra += ", SICE-seq val scenes held out"
        return f"unpaired: {where} ({len(self)} images{extra})"


__all__ = [
    "DatasetError",
    "UnpairedImageFolder",
    "mean_luma",
    "probe_images",
    "probe_size",
    "select_images",
]
