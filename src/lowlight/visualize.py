"""Before/after contact sheets."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw


def contact_sheet(
    rows: Sequence[tuple[str, np.ndarray, np.ndarray]],
    *,
    cell_height: int = 240,
    gap: int = 8,
    labels: tuple[str, str] = ("input", "enhanced"),
) -> Image.Image:
    """Lay out ``(caption, before, after)`` rows side by side on a dark background.

    Args:
        rows: caption and two ``(H, W, 3)`` float images in ``[0, 1]`` of equal size.
        cell_height: height of each image in the sheet (aspect ratio kept).
        gap: pixels between cells.
        labels: titles of the two columns.

    Returns:
        an RGB PIL image.
    """
    if not rows:
        raise ValueError("contact_sheet needs at least one row")
    thumbs = []
    for caption, before, after in rows:
        pair = []
        for image in (before, after):
            pil = Image.fromarray(np.round(np.clip(image, 0, 1) * 255).astype(np.uint8))
            width = max(1, round(pil.width * cell_height / pil.height))
            pair.append(pil.resize((width, cell_height), Image.Resampling.LANCZOS))
        thumbs.append((caption, pair))
    title_h, caption_h = 22, 18
    col_w = max(p[0].width for _, p in thumbs)
    sheet_w = gap + 2 * (col_w + gap)
    sheet_h = title_h + len(thumbs) * (cell_height + caption_h + gap) + gap
    sheet = Image.new("RGB", (sheet_w, sheet_h), (24, 24, 24))
    draw = ImageDraw.Draw(sheet)
    for col, label in enumerate(labels):
        draw.text((gap + col * (col_w + gap) + 4, 4), label, fill=(230, 230, 230))
    y = title_h
    for caption, pair in thumbs:
        draw.text((gap + 4, y), caption, fill=(200, 200, 200))
        for col, thumb in enumerate(pair):
            sheet.paste(thumb, (gap + col * (col_w + gap), y + caption_h))
        y += cell_height + caption_h + gap
    return sheet
