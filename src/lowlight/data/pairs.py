"""Match paired low-light / reference images in two folders, and find those folders.

Used by ``lowlight eval`` and by the supervised training datasets. Dependency-light on
purpose: only the standard library (the list of image extensions comes from
:mod:`lowlight.io` when a folder is scanned).

Pairing rules:

* an image is a file directly inside the folder (not recursive) whose suffix, lower-cased,
  is one of :data:`lowlight.io.IMAGE_EXTENSIONS`; hidden files (``.name``) are skipped;
* an input and a target pair when their stems are equal (case-sensitive), whatever their
  extensions (``1.png`` pairs with ``1.jpg``);
* pairs are returned in natural order (``2`` before ``10``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from lowlight.errors import LowlightError

MAX_LISTED = 10
"""How many stems an error message names per category before it summarises the rest."""

PAIRED_LAYOUTS: tuple[tuple[str, str, str], ...] = (
    ("LOL", "low", "high"),
    ("LOL-v2", "Low", "Normal"),
    ("input/target", "input", "target"),
    ("input/gt", "input", "gt"),
)
"""Known paired-folder layouts: (name, input sub-folder, target sub-folder)."""


class PairingError(LowlightError):
    """Folders whose images cannot be paired (missing partners, ambiguous stems, no layout)."""


@dataclass(frozen=True)
class ImagePair:
    """One input image and its reference, matched by file stem."""

    stem: str
    input: Path
    target: Path


def natural_key(text: str) -> tuple[tuple[object, ...], str]:
    """Sort key putting ``img2`` before ``img10``; ties broken by the exact string.

    Runs of ASCII digits compare as integers, the rest case-insensitively.
    """
    parts = re.split(r"([0-9]+)", text)
    key = tuple(int(p) if i % 2 else p.casefold() for i, p in enumerate(parts))
    return key, text


def _image_extensions() -> frozenset[str]:
    from lowlight.io import IMAGE_EXTENSIONS

    return frozenset(ext.lower() for ext in IMAGE_EXTENSIONS)


def images_by_stem(folder: str | Path) -> dict[str, Path]:
    """Images directly inside ``folder`` keyed by stem.

    Raises:
        PairingError: ``folder`` is not a directory, or two images share a stem
            (``a.png`` and ``a.jpg``), which would make the pairing ambiguous.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise PairingError(f"not a directory: {folder}")
    extensions = _image_extensions()
    found: dict[str, list[Path]] = {}
    for path in folder.iterdir():
        if path.name.startswith(".") or path.suffix.lower() not in extensions:
            continue
        if path.is_file():
            found.setdefault(path.stem, []).append(path)
    clashes = {stem: paths for stem, paths in found.items() if len(paths) > 1}
    if clashes:
        listed = [
            f"{stem} ({', '.join(sorted(p.name for p in paths))})"
            for stem, paths in sorted(clashes.items(), key=lambda kv: natural_key(kv[0]))
        ]
        raise PairingError(
            f"{folder}: several images share a stem, so pairing is ambiguous: "
            f"{_cap(listed)}. Keep one file per stem."
        )
    return {stem: paths[0] for stem, paths in found.items()}


def find_pairs(input_dir: str | Path, target_dir: str | Path) -> list[ImagePair]:
    """Pair the images of ``input_dir`` with those of ``target_dir`` by stem.

    Returns:
        the pairs in natural order of their stems.

    Raises:
        PairingError: a folder is missing or holds no images, a stem is ambiguous, or
            some images lack a partner; one error names every unmatched stem (the
            first :data:`MAX_LISTED` of each kind, then a count).
    """
    input_dir, target_dir = Path(input_dir), Path(target_dir)
    inputs = images_by_stem(input_dir)
    targets = images_by_stem(target_dir)
    for folder, images in ((input_dir, inputs), (target_dir, targets)):
        if not images:
            raise PairingError(f"no images in {folder} (looked for {_extension_list()})")
    no_target = sorted(inputs.keys() - targets.keys(), key=natural_key)
    no_input = sorted(targets.keys() - inputs.keys(), key=natural_key)
    if no_target or no_input:
        problems = []
        if no_target:
            problems.append(
                f"{len(no_target)} input(s) without a target in {target_dir}: {_cap(no_target)}"
            )
        if no_input:
            problems.append(
                f"{len(no_input)} target(s) without an input in {input_dir}: {_cap(no_input)}"
            )
        raise PairingError(
            "images are paired by identical file stems (case-sensitive); " + "; ".join(problems)
        )
    return [
        ImagePair(stem, inputs[stem], targets[stem]) for stem in sorted(inputs, key=natural_key)
    ]


def detect_layout(root: str | Path) -> tuple[str, Path, Path]:
    """Find which known paired layout ``root`` follows (see :data:`PAIRED_LAYOUTS`).

    Sub-folder names are matched exactly first, then case-insensitively.

    Returns:
        ``(layout name, input folder, target folder)``.

    Raises:
        PairingError: ``root`` is not a directory, follows none of the layouts, or
            more than one (the message lists the layouts it knows).
    """
    root = Path(root)
    if not root.is_dir():
        raise PairingError(f"not a directory: {root}")
    subdirs = {p.name: p for p in root.iterdir() if p.is_dir()}
    folded: dict[str, list[Path]] = {}
    for name, path in subdirs.items():
        folded.setdefault(name.casefold(), []).append(path)

    def lookup(name: str) -> Path | None:
        if name in subdirs:
            return subdirs[name]
        candidates = folded.get(name.casefold(), [])
        return candidates[0] if len(candidates) == 1 else None

    matches: list[tuple[str, Path, Path]] = []
    for layout, low, high in PAIRED_LAYOUTS:
        low_dir, high_dir = lookup(low), lookup(high)
        if low_dir is not None and high_dir is not None:
            pair = (layout, low_dir, high_dir)
            if not any(m[1] == low_dir and m[2] == high_dir for m in matches):
                matches.append(pair)
    if len(matches) == 1:
        return matches[0]
    known = "; ".join(f"{name}: {low}/ + {high}/" for name, low, high in PAIRED_LAYOUTS)
    if not matches:
        found = ", ".join(sorted(subdirs, key=natural_key)) or "(no sub-folders)"
        raise PairingError(
            f"{root} is not a paired dataset folder I recognise. Known layouts (input + target "
            f"sub-folders): {known}. Found: {found}. Pass the folders explicitly with "
            "--input-dir and --target-dir."
        )
    listed = ", ".join(f"{m[0]} ({m[1].name}/ + {m[2].name}/)" for m in matches)
    raise PairingError(
        f"{root} matches several paired layouts: {listed}; pass the folders explicitly "
        "with --input-dir and --target-dir."
    )


def resolve_paired_root(root: str | Path) -> tuple[Path, Path]:
    """The ``(input folder, target folder)`` of a paired dataset root (LOL ``low/ high/``,
    LOL-v2 ``Low/ Normal/``, ``input/ target/`` or ``input/ gt/``); see :func:`detect_layout`."""
    _, input_dir, target_dir = detect_layout(root)
    return input_dir, target_dir


def _cap(items: Iterable[str], limit: int = MAX_LISTED) -> str:
    items = list(items)
    shown = ", ".join(items[:limit])
    if len(items) > limit:
        shown += f", ... and {len(items) - limit} more"
    return shown


def _extension_list() -> str:
    return ", ".join(sorted(_image_extensions()))


__all__ = [
    "MAX_LISTED",
    "PAIRED_LAYOUTS",
    "ImagePair",
    "PairingError",
    "detect_layout",
    "find_pairs",
    "images_by_stem",
    "natural_key",
    "resolve_paired_root",
]
