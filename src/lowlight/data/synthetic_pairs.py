"""Low-light / normal training pairs synthesised from well-exposed photos.

Two parts, shared by the ``lowlight synth`` command and the on-the-fly training dataset:

**Source selection** (:class:`SourceSelection`, :func:`exposure_stats`). A photo serves as
a target when it is well exposed, judged from its 8-bit sRGB values:

* ``min_mean <= mean luma <= max_mean``: BT.601 luma ``0.299 R + 0.587 G + 0.114 B``
  averaged over the image; defaults 0.30 and 0.70 (mid-tones centred, neither dark nor
  washed out);
* ``dark_clipped <= max_clipped``: the fraction of *crushed* pixels, whose brightest channel
  is at most ``dark_level`` (0.02, about 5/255: no recoverable detail);
* ``bright_clipped <= max_clipped``: the fraction of *blown* pixels, whose brightest channel
  is at least ``bright_level`` (0.98, about 250/255: a saturated channel);
* ``max_clipped`` defaults to 0.02 (2 % of the pixels each way).

On SICE Part1 (Zero-DCE's 512x512 copy, 2002 frames from very dark to over-exposed) the
defaults keep about one frame in seven. Sources are listed recursively with
:func:`lowlight.io.list_images` and sorted by their path relative to the root.

**Dataset** (:class:`SyntheticPairs`): every item takes the source image, applies the
training view (resize up if smaller than the crop, random crop, flips, rotations; the same
helpers as :class:`~lowlight.data.unpaired.UnpairedImageFolder`) and darkens *that crop*
with a :class:`~lowlight.data.synthesis.LowLightSynthesizer` draw, so each epoch sees new
exposures and noise. All randomness of a sample (crop, flips, darkening draws) comes from
its key's generator (:func:`lowlight.data.transforms.sample_rng`): a
:class:`~lowlight.data.transforms.SampleKey` from the training sampler makes the item
reproducible with any number of workers and after resuming. The dark input is rounded to
8 bits (``output_bits``) as a saved PNG would be, so training inputs match what
``lowlight synth`` writes and what real 8-bit datasets hold.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import Dataset

from lowlight.data import synthesis
from lowlight.data.options import reject_unknown_options
from lowlight.data.synthesis import LowLightSynthesizer
from lowlight.data.transforms import SampleKey, random_crop_augment, sample_rng, to_tensor
from lowlight.data.unpaired import MAX_LISTED, DatasetError
from lowlight.errors import ConfigError

__all__ = [
    "REJECT_REASONS",
    "ExposureStats",
    "SelectionReport",
    "SourceSelection",
    "SourceVerdict",
    "SyntheticPairs",
    "exposure_stats",
    "judge_image",
    "list_sources",
    "quantize",
    "resize_long_side",
    "select_sources",
    "source_name",
]

REJECT_REASONS = ("too_dark", "too_bright", "clipped_dark", "clipped_bright", "unreadable")
"""Why a source is not used, in the order the checks run."""

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@dataclass(frozen=True)
class ExposureStats:
    """Exposure statistics of one image (see the module docstring)."""

    mean_luma: float
    dark_clipped: float
    bright_clipped: float


def exposure_stats(
    rgb: np.ndarray, dark_level: float = 0.02, bright_level: float = 0.98
) -> ExposureStats:
    """Mean BT.601 luma and the fractions of crushed and blown pixels of ``(H, W, 3)`` in [0, 1].

    A pixel is crushed when its brightest channel is ``<= dark_level`` and blown when its
    brightest channel is ``>= bright_level``.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.size == 0:
        raise ValueError(f"expected an RGB image (H, W, 3), got shape {rgb.shape}")
    flat = rgb.reshape(-1, 3).astype(np.float32, copy=False)
    brightest = np.maximum(np.maximum(flat[:, 0], flat[:, 1]), flat[:, 2])
    return ExposureStats(
        mean_luma=float((flat @ _LUMA).mean()),
        dark_clipped=float(np.count_nonzero(brightest <= dark_level) / brightest.size),
        bright_clipped=float(np.count_nonzero(brightest >= bright_level) / brightest.size),
    )


@dataclass(frozen=True)
class SourceSelection:
    """Which photos count as well exposed (see the module docstring for the defaults).

    Attributes:
        min_mean: lowest accepted mean luma.
        max_mean: highest accepted mean luma.
        max_clipped: highest accepted fraction of crushed pixels, and of blown pixels.
        dark_level: a pixel whose brightest channel is at most this is crushed.
        bright_level: a pixel whose brightest channel is at least this is blown.
    """

    min_mean: float = 0.30
    max_mean: float = 0.70
    max_clipped: float = 0.02
    dark_level: float = 0.02
    bright_level: float = 0.98

    def __post_init__(self) -> None:
        for name in dataclasses.asdict(self):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"selection {name} must be a number, got {value!r}")
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"selection {name} must lie in [0, 1], got {value}")
        if self.min_mean > self.max_mean:
            raise ConfigError(
                f"selection min_mean ({self.min_mean}) must not exceed max_mean ({self.max_mean})"
            )
        if self.dark_level >= self.bright_level:
            raise ConfigError(
                f"selection dark_level ({self.dark_level}) must be below bright_level "
                f"({self.bright_level})"
            )

    @classmethod
    def from_dict(cls, options: Mapping[str, Any]) -> SourceSelection:
        """Build from a mapping; unknown keys are a :class:`ConfigError` listing the valid ones."""
        reject_unknown_options("selection", options, [f.name for f in dataclasses.fields(cls)])
        return cls(**options)

    def stats(self, rgb: np.ndarray) -> ExposureStats:
        """:func:`exposure_stats` with this selection's clipping levels."""
        return exposure_stats(rgb, self.dark_level, self.bright_level)

    def reject_reason(self, stats: ExposureStats) -> str | None:
        """``None`` when accepted, else one of :data:`REJECT_REASONS` (first failing check)."""
        if stats.mean_luma < self.min_mean:
            return "too_dark"
        if stats.mean_luma > self.max_mean:
            return "too_bright"
        if stats.dark_clipped > self.max_clipped:
            return "clipped_dark"
        if stats.bright_clipped > self.max_clipped:
            return "clipped_bright"
        return None

    def to_dict(self) -> dict[str, float]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class SourceVerdict:
    """One source and whether it was selected.

    Attributes:
        path: the file.
        name: its output stem (:func:`source_name`).
        stats: its exposure statistics (``None`` if unreadable).
        reason: ``None`` if selected, else one of :data:`REJECT_REASONS`.
        detail: the read error of an unreadable file.
        size: ``(H, W)`` of a readable file.
    """

    path: Path
    name: str
    stats: ExposureStats | None
    reason: str | None
    detail: str = ""
    size: tuple[int, int] | None = None

    @property
    def selected(self) -> bool:
        return self.reason is None


@dataclass
class SelectionReport:
    """Verdicts of every examined source, in order."""

    verdicts: list[SourceVerdict]

    @property
    def selected(self) -> list[SourceVerdict]:
        return [v for v in self.verdicts if v.selected]

    def counts(self) -> dict[str, Any]:
        """``{"examined", "selected", "rejected", "rejected_by": {reason: n}}``."""
        reasons = Counter(v.reason for v in self.verdicts if v.reason is not None)
        selected = sum(v.selected for v in self.verdicts)
        return {
            "examined": len(self.verdicts),
            "selected": selected,
            "rejected": len(self.verdicts) - selected,
            "rejected_by": {reason: reasons.get(reason, 0) for reason in REJECT_REASONS},
        }


def source_name(relative: Path) -> str:
    """Output stem of a source from its path relative to the listed root:
    ``a/b/img.jpg -> "a__b__img"`` (``img.jpg -> "img"``)."""
    return "__".join(relative.with_suffix("").parts)


def list_sources(inputs: Sequence[str | Path] | str | Path) -> list[tuple[Path, str]]:
    """Images under ``inputs`` (files, folders searched recursively, globs) with their output
    stems, sorted by relative path.

    Raises:
        DatasetError: no images, or two sources that would get the same stem.
    """
    from lowlight.io import list_images

    found = sorted(list_images(inputs, recursive=True), key=lambda item: str(item[1]))
    if not found:
        raise DatasetError(f"no images found in {inputs}")
    named = [(Path(path), source_name(relative)) for path, relative in found]
    seen: dict[str, Path] = {}
    clashes: list[str] = []
    for path, name in named:
        if name in seen:
            clashes.append(f"{seen[name]} and {path} -> '{name}'")
        seen.setdefault(name, path)
    if clashes:
        shown = "; ".join(clashes[:MAX_LISTED])
        raise DatasetError(
            f"{len(clashes)} source name clash(es) (outputs are named by the relative path "
            f"without extension): {shown}. Rename or remove one file of each."
        )
    return named


def judge_image(
    path: Path, name: str, selection: SourceSelection | None
) -> tuple[SourceVerdict, np.ndarray | None]:
    """Read ``path`` and judge it; returns the verdict and the image (``None`` if unreadable).

    With ``selection=None`` every readable image is selected (statistics still computed with
    the default clipping levels).
    """
    from lowlight.io import read_image

    try:
        rgb = read_image(path).rgb
    except Exception as exc:  # noqa: BLE001 - any failure makes the source unusable
        return SourceVerdict(path, name, None, "unreadable", f"{type(exc).__name__}: {exc}"), None
    judge = selection or SourceSelection()
    stats = judge.stats(rgb)
    reason = judge.reject_reason(stats) if selection is not None else None
    return SourceVerdict(path, name, stats, reason, size=rgb.shape[:2]), rgb


def select_sources(
    sources: Iterable[tuple[Path, str]],
    selection: SourceSelection | None,
    max_selected: int | None = None,
) -> SelectionReport:
    """Judge ``(path, name)`` sources in order, stopping after ``max_selected`` are selected."""
    verdicts: list[SourceVerdict] = []
    selected = 0
    for path, name in sources:
        if max_selected is not None and selected >= max_selected:
            break
        verdict, _ = judge_image(path, name, selection)
        verdicts.append(verdict)
        selected += verdict.selected
    return SelectionReport(verdicts)


def resize_long_side(rgb: np.ndarray, size: int) -> np.ndarray:
    """Downscale ``(H, W, 3)`` so its longer side is ``size`` (antialiased bicubic, aspect
    kept); images whose longer side is already at most ``size`` are returned unchanged."""
    if size < 1:
        raise ValueError(f"size must be >= 1, got {size}")
    h, w = rgb.shape[:2]
    if max(h, w) <= size:
        return rgb
    scale = size / max(h, w)
    new = (max(1, round(h * scale)), max(1, round(w * scale)))
    t = torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).permute(2, 0, 1)[None]
    t = F.interpolate(t, size=new, mode="bicubic", antialias=True, align_corners=False)
    return t[0].permute(1, 2, 0).clamp_(0.0, 1.0).numpy()


def quantize(rgb: np.ndarray, bits: int) -> np.ndarray:
    """Round ``[0, 1]`` values to ``bits``-bit levels (``bits = 0``: unchanged), float32."""
    return synthesis.quantize(rgb, bits).astype(np.float32, copy=False)


_DATASET_OPTIONS = ("noise", "select", "output_bits", "holdout_sequences")


class SyntheticPairs(Dataset):
    """On-the-fly dark/normal pairs from the well-exposed images under ``root``.

    Args:
        root: folder of photos (searched recursively).
        crop: side of the square training crop; ``None`` darkens whole images.
        flips: random horizontal and vertical flips.
        rot90: random rotations by multiples of 90 degrees.
        synthesizer: the darkening model (default :class:`LowLightSynthesizer()`).
        noise: ``False`` removes shot and read noise from the synthesizer (ablation).
        selection: the well-exposed criteria; ``None`` uses :class:`SourceSelection()`.
        select: ``False`` uses every readable image (no selection).
        output_bits: round the dark input to this many bits (8; 0 keeps floats).
        max_images: keep the first N *selected* sources (sorted by relative path).
        exclude: source files never used, by path (e.g. the frames of held-out scenes).

    Every source is read once at construction to judge it (a few ms per 512x512 JPEG).

    Items are ``{"input": (3, h, w) dark, "target": (3, h, w) clean, "stem": str}``, float32
    in [0, 1]. The key may be an ``int`` or a :class:`~lowlight.data.transforms.SampleKey`.

    Raises:
        DatasetError: no images, unreadable files (all named), or no source selected.
    """

    def __init__(
        self,
        root: str | Path,
        crop: int | None = 128,
        flips: bool = True,
        rot90: bool = True,
        synthesizer: LowLightSynthesizer | None = None,
        noise: bool = True,
        selection: SourceSelection | None = None,
        select: bool = True,
        output_bits: int = 8,
        max_images: int | None = None,
        exclude: Iterable[Path] = (),
    ) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise DatasetError(f"image folder not found: {self.root}")
        if crop is not None and crop < 1:
            raise ValueError(f"crop must be >= 1 or None, got {crop}")
        if not 0 <= output_bits <= 16:
            raise ConfigError(f"output_bits must lie in [0, 16], got {output_bits}")
        synthesizer = synthesizer or LowLightSynthesizer()
        self.synthesizer = synthesizer if noise else synthesizer.without_noise()
        self.selection = (selection or SourceSelection()) if select else None
        excluded = {Path(p).resolve() for p in exclude}
        sources = [(p, n) for p, n in list_sources(self.root) if p.resolve() not in excluded]
        self.excluded = len(excluded)
        report = select_sources(sources, self.selection, max_images)
        unreadable = [v for v in report.verdicts if v.reason == "unreadable"]
        if unreadable:
            shown = "; ".join(f"{v.path} ({v.detail})" for v in unreadable[:MAX_LISTED])
            more = (
                f"; ... and {len(unreadable) - MAX_LISTED} more"
                if len(unreadable) > MAX_LISTED
                else ""
            )
            raise DatasetError(
                f"{len(unreadable)} unreadable image(s) in {self.root}: {shown}{more}. "
                "Remove or replace them."
            )
        chosen = report.selected
        if not chosen:
            raise DatasetError(
                f"no well-exposed source under {self.root}: {report.counts()['rejected_by']} "
                f"rejected with {self.selection}; relax the selection or use select: false"
            )
        self.report = report
        self.paths = [v.path for v in chosen]
        self.stems = [v.name for v in chosen]
        self.sizes: list[tuple[int, int]] = [v.size for v in chosen if v.size is not None]
        self.crop = crop
        self.flips = flips
        self.rot90 = rot90
        self.output_bits = output_bits

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
    ) -> SyntheticPairs:
        """Build from a recipe's flat ``args`` mapping (``data.train.args``).

        Keys: the :class:`LowLightSynthesizer` attributes (``exposure_range``,
        ``colour_gain_range``, ``shot_range``, ``read_noise``, ``adc_bits``), the
        :class:`SourceSelection` attributes (``min_mean``, ``max_mean``, ``max_clipped``,
        ``dark_level``, ``bright_level``) and ``noise``, ``select``, ``output_bits``, and
        ``holdout_sequences`` (``true`` drops every frame of the validation scenes of ``root``
        as grouped by :mod:`lowlight.data.sequences`, so that SICE-seq val stays unseen).

        Raises:
            ConfigError: an unknown key (the message lists the valid ones) or a bad value.
        """
        synth_keys = [f.name for f in dataclasses.fields(LowLightSynthesizer)]
        select_keys = [f.name for f in dataclasses.fields(SourceSelection)]
        valid = [*synth_keys, *select_keys, *_DATASET_OPTIONS]
        reject_unknown_options("synthetic dataset", args, valid)
        for key in ("noise", "select", "holdout_sequences"):
            if key in args and not isinstance(args[key], bool):
                raise ConfigError(f"synthetic dataset option {key} must be true or false")
        bits = args.get("output_bits", 8)
        if isinstance(bits, bool) or not isinstance(bits, int):
            raise ConfigError(
                f"synthetic dataset option output_bits must be an integer, got {bits!r}"
            )
        synthesizer = LowLightSynthesizer.from_dict({k: args[k] for k in synth_keys if k in args})
        selection = SourceSelection.from_dict({k: args[k] for k in select_keys if k in args})
        exclude: list[Path] = []
        if args.get("holdout_sequences", False):
            from lowlight.data.sequences import validation_frames

            exclude = sorted(validation_frames(root))
        return cls(
            root,
            crop=crop,
            flips=flips,
            rot90=rot90,
            synthesizer=synthesizer,
            noise=args.get("noise", True),
            selection=selection,
            select=args.get("select", True),
            output_bits=bits,
            max_images=max_images,
            exclude=exclude,
        )

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, key: int | SampleKey) -> dict[str, Tensor | str]:
        from lowlight.io import read_image

        index, rng = sample_rng(key)
        clean = read_image(self.paths[index]).rgb
        view = random_crop_augment(clean, self.crop, rng, flips=self.flips, rot90=self.rot90)
        view = np.ascontiguousarray(view, dtype=np.float32)
        dark, _ = self.synthesizer(view, rng)
        dark = quantize(dark, self.output_bits)
        return {"input": to_tensor(dark), "target": to_tensor(view), "stem": self.stems[index]}

    def describe(self) -> str:
        """One line for logs and weight records."""
        counts = self.report.counts()
        noise = "with noise" if self.synthesizer.noisy else "no noise"
        held_out = f", {self.excluded} held-out files excluded" if self.excluded else ""
        return (
            f"synthetic: {self.root} ({len(self)} of {counts['examined']} sources selected{held_out}, "
            f"{noise}, exposure {list(self.synthesizer.exposure_range)})"
        )
