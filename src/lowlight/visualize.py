"""Contact sheets: rows of images side by side, for looking at results."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

__all__ = ["contact_sheet", "grid_sheet"]


def grid_sheet(
    rows: Sequence[tuple[str, Sequence[np.ndarray]]],
    *,
    labels: Sequence[str] = (),
    cell_height: int = 240,
    gap: int = 8,
) -> Image.Image:
    """Lay out rows of images (each with a caption) on a dark background.

    Args:
        rows: ``(caption, images)``; each image ``(H, W, 3)`` float in ``[0, 1]``; rows may
            hold different numbers of images.
        labels: optional column titles.
        cell_height: height of each image in the sheet (aspect ratio kept).
        gap: pixels between cells.

    Returns:
        an RGB PIL image.
    """
    if not rows:
        raise ValueError("a contact sheet needs at least one row")
    thumbs = []
    for caption, images in rows:
        cells = []
        for image in images:
            pil = Image.fromarray(np.round(np.clip(image, 0, 1) * 255).astype(np.uint8))
            width = max(1, round(pil.width * cell_height / pil.height))
            cells.append(pil.resize((width, cell_height), Image.Resampling.LANCZOS))
        thumbs.append((caption, cells))
    columns = max(len(cells) for _, cells in thumbs)
    col_w = max(cell.width for _, cells in thumbs for cell in cells)
    title_h = 22 if labels else 4
    caption_h = 18
    sheet_w = gap + columns * (col_w + gap)
    sheet_h = title_h + len(thumbs) * (cell_height + caption_h + gap) + gap
    sheet = Image.new("RGB", (sheet_w, sheet_h), (24, 24, 24))
    draw = ImageDraw.Draw(sheet)
    for col, label in enumerate(labels):
        draw.text((gap + col * (col_w + gap) + 4, 4), label, fill=(230, 230, 230))
    y = title_h
    for caption, cells in thumbs:
        draw.text((gap + 4, y), caption, fill=(200, 200, 200))
        for col, cell in enumerate(cells):
            sheet.paste(cell, (gap + col * (col_w + gap), y + caption_h))
        y += cell_height + caption_h + gap
    return sheet


def contact_sheet(
    rows: Sequence[tuple[str, np.ndarray, np.ndarray]],
    *,
    cell_height: int = 240,
    gap: int = 8,
    labels: tuple[str, str] = ("input", "enhanced"),
) -> Image.Image:
    """Before/after sheet: ``(caption, before, after)`` rows in two columns (:func:`grid_sheet`)."""
    if not rows:
        raise ValueError("contact_sheet needs at least one row")
    return grid_sheet(
        [(caption, (before, after)) for caption, before, after in rows],
        labels=labels,
        cell_height=cell_height,
        gap=gap,
    )
