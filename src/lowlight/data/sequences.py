"""Scenes of a multi-exposure collection (SICE Part1): grouping, alignment, references, split.

SICE (Cai et al., TIP 2018) photographs each scene from a tripod at several exposures; the
Zero-DCE copy of Part1 (``../shared/data/sice_part1``) numbers the frames so that one
scene's exposures are consecutive (2-8, 11-17, ...), darkest to brightest in most scenes.
The under-exposed frames of a scene are real short exposures of its well-exposed frames:
real noise, camera response and JPEG, which is what LOL's pairs are made of.

What this module does, deterministically (same files -> same scenes and pairs):

1. **Thumbnails**: every frame's BT.601 luma at ``thumb`` x ``thumb`` pixels (JPEG draft
   decoding, so 2,000 frames take about a second), its mean luma and its fractions of
   crushed and blown pixels (:func:`lowlight.data.synthetic_pairs.exposure_stats`).
2. **Grouping** (:func:`group_frames`): frames in natural name order; a frame joins the
   current scene when its *brightness-invariant* similarity to one of the scene's last
   ``window`` frames reaches ``threshold``. The similarity is the rank (Spearman)
   correlation of the two thumbnails over the pixels that are neither crushed nor blown in
   both: ranks ignore the exposure and the camera's tone curve, the mask ignores the
   saturated areas whose ties carry no information.
3. **References** (:func:`choose_reference`): per scene the best-exposed frame, scored by
   ``|mean luma - 0.5| + crushed + blown`` (lowest wins), or an exposure fusion of all its
   aligned frames (Mertens et al., :mod:`lowlight.data.exposure_fusion`).
4. **Alignment** (:func:`phase_shift`): each frame against the reference frame by phase
   correlation of rank-equalised luma at full resolution, with a parabolic sub-pixel peak;
   frames shifted by more than ``max_shift`` pixels, or whose correlation peak is below
   ``min_peak`` (not the same view), are dropped, and the report says why.
5. **Split** (:func:`scene_split`): scene ``i`` (in order, counting multi-frame scenes only)
   is validation when ``i % val_every == val_every - 1`` (every tenth scene by default);
   the rest is training. Validation scenes are never trained on, by any dataset kind that
   takes ``holdout_sequences``.

The result is cached as JSON (:func:`load_scenes`) under ``$LOWLIGHT_CACHE_DIR`` (default
``~/.cache/lowlight``), keyed by the file list (names, sizes, modification times) and the
options, so training runs and the ``lowlight sequence-pairs`` command agree and pay once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lowlight.color import LUMA_WEIGHTS
from lowlight.errors import ConfigError

__all__ = [
    "FrameInfo",
    "GroupingOptions",
    "Scene",
    "SceneSet",
    "cache_dir",
    "choose_reference",
    "frame_similarity",
    "group_frames",
    "load_scenes",
    "phase_shift",
    "rank_equalise",
    "scene_split",
    "validation_frames",
]

SPLITS = ("train", "val", "all")


@dataclass(frozen=True)
class GroupingOptions:
    """How frames become scenes (see the module docstring).

    Attributes:
        threshold: lowest rank correlation that joins a frame to the current scene.
        window: how many of the scene's last frames a new frame is compared with.
        thumb: side of the luma thumbnails used for grouping.
        max_shift: largest accepted shift (pixels at full resolution) against the reference.
        min_peak: lowest accepted phase-correlation peak (1 = identical views).
        val_every: every ``val_every``-th multi-frame scene is validation.
    """

    threshold: float = 0.75
    window: int = 8
    thumb: int = 48
    max_shift: float = 1.0
    min_peak: float = 0.05
    val_every: int = 10

    def __post_init__(self) -> None:
        if not -1.0 <= self.threshold <= 1.0:
            raise ConfigError(f"threshold must lie in [-1, 1], got {self.threshold}")
        if self.window < 1 or self.thumb < 8 or self.val_every < 2:
            raise ConfigError("window must be >= 1, thumb >= 8 and val_every >= 2")
        if self.max_shift <= 0 or not 0 <= self.min_peak < 1:
            raise ConfigError("max_shift must be > 0 and min_peak in [0, 1)")


@dataclass(frozen=True)
class FrameInfo:
    """One frame: its file name (relative to the root) and exposure statistics."""

    name: str
    mean_luma: float
    crushed: float
    blown: float


@dataclass
class Scene:
    """One multi-exposure scene.

    Attributes:
        index: position among the multi-frame scenes (0-based, in file order).
        frames: names of all frames grouped into the scene, in file order.
        reference: the best-exposed frame's name (the alignment anchor and the ``best``
            reference).
        aligned: frames kept after the alignment check (the reference included).
        dropped: ``{name: reason}`` for frames that failed the check.
        shifts: ``{name: [dy, dx, peak]}`` measured against the reference.
    """

    index: int
    frames: list[str]
    reference: str
    aligned: list[str] = field(default_factory=list)
    dropped: dict[str, str] = field(default_factory=dict)
    shifts: dict[str, list[float]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """A stable scene id: ``scene<first frame's stem>``."""
        return f"scene{Path(self.frames[0]).stem}"


@dataclass
class SceneSet:
    """Every frame's statistics and the scenes found under one root."""

    root: str
    options: GroupingOptions
    frames: dict[str, FrameInfo]
    scenes: list[Scene]
    singletons: list[str]

    def split(self, which: str) -> list[Scene]:
        """The scenes of split ``which`` (``train``, ``val`` or ``all``)."""
        return scene_split(self.scenes, which, self.options.val_every)

    def frames_of(self, which: str) -> set[str]:
        """Every frame name (grouped, aligned or not) belonging to the scenes of ``which``."""
        return {name for scene in self.split(which) for name in scene.frames}

    def to_dict(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "options": dataclasses.asdict(self.options),
            "frames": {k: dataclasses.asdict(v) for k, v in self.frames.items()},
            "scenes": [dataclasses.asdict(s) for s in self.scenes],
            "singletons": self.singletons,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SceneSet:
        return cls(
            root=data["root"],
            options=GroupingOptions(**data["options"]),
            frames={k: FrameInfo(**v) for k, v in data["frames"].items()},
            scenes=[Scene(**s) for s in data["scenes"]],
            singletons=list(data["singletons"]),
        )


def scene_split(scenes: Sequence[Scene], which: str, val_every: int) -> list[Scene]:
    """Scenes of ``which``: ``val`` holds every ``val_every``-th scene, ``train`` the rest."""
    if which not in SPLITS:
        raise ConfigError(f"split must be one of {', '.join(SPLITS)}, got {which!r}")
    if which == "all":
        return list(scenes)
    is_val = [s.index % val_every == val_every - 1 for s in scenes]
    return [s for s, v in zip(scenes, is_val, strict=True) if v == (which == "val")]


def frame_similarity(a: np.ndarray, b: np.ndarray, low: float = 0.03, high: float = 0.97) -> float:
    """Rank correlation of two luma thumbnails over pixels neither crushed nor blown in both.

    Returns ``nan`` when fewer than 64 such pixels remain (a nearly black or white frame).
    """
    mask = (a > low) & (a < high) & (b > low) & (b < high)
    if int(mask.sum()) < 64:
        return float("nan")
    ra = _ranks(a[mask])
    rb = _ranks(b[mask])
    ra -= ra.mean()
    rb -= rb.mean()
    denom = float(np.sqrt((ra * ra).sum() * (rb * rb).sum()))
    return float((ra * rb).sum() / denom) if denom > 0 else float("nan")


def _ranks(values: np.ndarray) -> np.ndarray:
    """Average ranks (ties share their mean rank), as float64."""
    order = np.argsort(values, kind="stable")
    sorted_vals = values[order]
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.arange(len(values), dtype=np.float64)
    _, inverse, counts = np.unique(sorted_vals, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=np.arange(len(values), dtype=np.float64))
    ranks[order] = (sums / counts)[inverse]
    return ranks


def group_frames(thumbs: Sequence[np.ndarray], options: GroupingOptions) -> list[list[int]]:
    """Consecutive runs of frames that show one scene (see the module docstring)."""
    groups: list[list[int]] = []
    for i, thumb in enumerate(thumbs):
        if groups:
            current = groups[-1]
            sims = [frame_similarity(thumbs[j], thumb) for j in current[-options.window :]]
            sims = [s for s in sims if s == s]
            if sims and max(sims) >= options.threshold:
                current.append(i)
                continue
        groups.append([i])
    return groups


def reference_score(info: FrameInfo) -> float:
    """How far a frame is from well exposed (lower is better): ``|mean - 0.5| + crushed + blown``."""
    return abs(info.mean_luma - 0.5) + info.crushed + info.blown


def choose_reference(infos: Sequence[FrameInfo]) -> FrameInfo:
    """The best-exposed frame of a scene (lowest :func:`reference_score`, first on ties)."""
    return min(infos, key=reference_score)


def rank_equalise(luma: np.ndarray) -> np.ndarray:
    """Histogram-equalise ``(H, W)`` luma to [0, 1] by ranks (removes exposure and tone curve)."""
    flat = luma.ravel()
    return (_ranks(flat) / max(len(flat) - 1, 1)).reshape(luma.shape).astype(np.float32)


def phase_shift(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """``(dy, dx, peak)``: the translation taking ``b`` onto ``a`` by phase correlation.

    ``a`` and ``b`` are ``(H, W)`` float images of one size (use :func:`rank_equalise` on luma
    first for frames of different exposures). A Hann window tapers the borders; the peak is
    refined to sub-pixel precision by a parabola through its neighbours. ``peak`` is the
    normalised correlation at the peak (1 for identical images, near 0 for unrelated ones).
    """
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"expected two (H, W) images of one size, got {a.shape} and {b.shape}")
    h, w = a.shape
    window = np.outer(np.hanning(h), np.hanning(w)).astype(np.float64)
    fa = np.fft.rfft2((a - a.mean()) * window)
    fb = np.fft.rfft2((b - b.mean()) * window)
    cross = fa * np.conj(fb)
    cross /= np.maximum(np.abs(cross), 1e-12)
    corr = np.fft.irfft2(cross, s=(h, w))
    py, px = np.unravel_index(int(np.argmax(corr)), corr.shape)
    peak = float(corr[py, px])

    def refine(minus: float, centre: float, plus: float) -> float:
        denom = minus - 2 * centre + plus
        return 0.0 if denom == 0 else 0.5 * (minus - plus) / denom

    dy = py + refine(corr[(py - 1) % h, px], corr[py, px], corr[(py + 1) % h, px])
    dx = px + refine(corr[py, (px - 1) % w], corr[py, px], corr[py, (px + 1) % w])
    dy = dy - h if dy > h / 2 else dy
    dx = dx - w if dx > w / 2 else dx
    return float(dy), float(dx), peak


def cache_dir() -> Path:
    """``$LOWLIGHT_CACHE_DIR`` or ``~/.cache/lowlight``."""
    env = os.environ.get("LOWLIGHT_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "lowlight"


def list_frames(root: Path) -> list[Path]:
    """The image files directly under ``root`` in natural name order (2 before 10)."""
    from lowlight.data.pairs import images_by_stem, natural_key

    if not root.is_dir():
        raise ConfigError(f"sequence folder not found: {root}")
    files = list(images_by_stem(root).values())
    return sorted(files, key=lambda p: natural_key(p.name))


def _cache_key(files: Sequence[Path], options: GroupingOptions) -> str:
    digest = hashlib.sha256(json.dumps(dataclasses.asdict(options), sort_keys=True).encode())
    for path in files:
        stat = path.stat()
        digest.update(f"{path.name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def load_scenes(
    root: str | Path, options: GroupingOptions | None = None, use_cache: bool = True
) -> SceneSet:
    """Group, align and split the frames under ``root``; cached (see the module docstring)."""
    from lowlight.io.atomic import write_atomic

    options = options or GroupingOptions()
    root = Path(root)
    files = list_frames(root)
    if not files:
        raise ConfigError(f"no images in sequence folder {root}")
    cache = cache_dir() / f"sequences-{_cache_key(files, options)}.json"
    if use_cache and cache.is_file():
        try:
            return SceneSet.from_dict(json.loads(cache.read_text()))
        except (ValueError, KeyError, TypeError):
            pass  # a stale or damaged cache is rebuilt below
    scene_set = _build_scene_set(root, files, options)
    if use_cache:
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            payload = json.dumps(scene_set.to_dict()).encode()
            write_atomic(cache, lambda f: f.write(payload), overwrite=True)
        except OSError:
            pass  # an unwritable cache costs time, not correctness
    return scene_set


def _thumbnail(path: Path, size: int) -> tuple[np.ndarray, FrameInfo]:
    from PIL import Image

    from lowlight.data.synthetic_pairs import exposure_stats

    with Image.open(path) as image:
        image.draft("RGB", (size * 2, size * 2))
        small = image.convert("RGB").resize((size * 2, size * 2), Image.BILINEAR)
    rgb = np.asarray(small, dtype=np.float32) / 255.0
    stats = exposure_stats(rgb)
    thumb = rgb.reshape(size, 2, size, 2, 3).mean(axis=(1, 3)) @ np.asarray(LUMA_WEIGHTS["bt601"])
    info = FrameInfo(path.name, stats.mean_luma, stats.dark_clipped, stats.bright_clipped)
    return thumb.astype(np.float32), info


def _full_luma(path: Path) -> np.ndarray:
    from lowlight.io import read_image

    return read_image(path).rgb @ np.asarray(LUMA_WEIGHTS["bt601"], dtype=np.float32)


def _build_scene_set(root: Path, files: Sequence[Path], options: GroupingOptions) -> SceneSet:
    thumbs, infos = zip(*(_thumbnail(p, options.thumb) for p in files), strict=True)
    groups = group_frames(thumbs, options)
    frames = {info.name: info for info in infos}
    scenes: list[Scene] = []
    singletons: list[str] = []
    for group in groups:
        members = [infos[i] for i in group]
        if len(members) < 2:
            singletons.append(members[0].name)
            continue
        reference = choose_reference(members)
        scene = Scene(len(scenes), [m.name for m in members], reference.name)
        _check_alignment(root, scene, options)
        scenes.append(scene)
    return SceneSet(str(root), options, frames, scenes, singletons)


def _check_alignment(root: Path, scene: Scene, options: GroupingOptions) -> None:
    ref = rank_equalise(_full_luma(root / scene.reference))
    for name in scene.frames:
        if name == scene.reference:
            scene.aligned.append(name)
            continue
        frame = _full_luma(root / name)
        if frame.shape != ref.shape:
            scene.dropped[name] = f"size {frame.shape[1]}x{frame.shape[0]} differs"
            continue
        dy, dx, peak = phase_shift(ref, rank_equalise(frame))
        scene.shifts[name] = [round(dy, 3), round(dx, 3), round(peak, 4)]
        if peak < options.min_peak:
            scene.dropped[name] = f"weak correlation peak {peak:.3f} (another view?)"
        elif max(abs(dy), abs(dx)) > options.max_shift:
            scene.dropped[name] = f"shifted by ({dy:.2f}, {dx:.2f}) px"
        else:
            scene.aligned.append(name)


def validation_frames(root: str | Path) -> set[Path]:
    """Resolved paths of every frame (grouped, aligned or not) of the validation scenes of
    ``root``: what ``holdout_sequences`` leaves out of the synthetic and unpaired datasets."""
    return {(Path(root) / name).resolve() for name in load_scenes(root).frames_of("val")}
