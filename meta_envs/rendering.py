"""Drawing into ``uint8`` RGB arrays with numpy only, for ``render_mode="rgb_array"``.

Every function draws in place into an image of shape ``(H, W, 3)`` (``uint8``) and clips to its
bounds, so a shape may lie partly outside the image. Coordinates are ``(row, col)`` in pixels,
floats allowed (rounded). Text uses a built-in 5 x 7 bitmap font (upper case, digits and common
punctuation; lower case is drawn as upper case), scaled by an integer factor.

The frame layout of every :class:`~meta_envs.trial.TrialEnv` (:func:`compose_frame`): text
panels above and below the task family's picture, all of the same width.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "BACKGROUND",
    "FOREGROUND",
    "GLYPH_HEIGHT",
    "GLYPH_WIDTH",
    "Colour",
    "blank",
    "compose_frame",
    "draw_arrow",
    "draw_circle",
    "draw_line",
    "draw_polyline",
    "draw_text",
    "fill_circle",
    "fill_rect",
    "fill_triangle",
    "fit_scale",
    "outline_rect",
    "text_panel",
    "text_width",
]

Colour = Sequence[int] | np.ndarray  # an RGB triple: numpy assigns either into a pixel
BACKGROUND: tuple[int, int, int] = (255, 255, 255)
FOREGROUND: tuple[int, int, int] = (20, 20, 20)
PANEL_BACKGROUND: tuple[int, int, int] = (32, 36, 48)
PANEL_FOREGROUND: tuple[int, int, int] = (240, 240, 240)

GLYPH_WIDTH, GLYPH_HEIGHT = 5, 7  # pixels of a glyph at scale 1; characters advance by GLYPH_WIDTH + 1
LINE_HEIGHT = GLYPH_HEIGHT + 3  # pixels per text line at scale 1

# 5 x 7 glyphs, one string of 5 bits per row, top row first
_FONT_ROWS: dict[str, tuple[str, ...]] = {
    " ": ("00000",) * 7,
    "0": ("01110", "10001", "10011", "10101", "11001", "10001", "01110"),
    "1": ("00100", "01100", "00100", "00100", "00100", "00100", "01110"),
    "2": ("01110", "10001", "00001", "00010", "00100", "01000", "11111"),
    "3": ("11111", "00010", "00100", "00010", "00001", "10001", "01110"),
    "4": ("00010", "00110", "01010", "10010", "11111", "00010", "00010"),
    "5": ("11111", "10000", "11110", "00001", "00001", "10001", "01110"),
    "6": ("00110", "01000", "10000", "11110", "10001", "10001", "01110"),
    "7": ("11111", "00001", "00010", "00100", "01000", "01000", "01000"),
    "8": ("01110", "10001", "10001", "01110", "10001", "10001", "01110"),
    "9": ("01110", "10001", "10001", "01111", "00001", "00010", "01100"),
    "A": ("01110", "10001", "10001", "11111", "10001", "10001", "10001"),
    "B": ("11110", "10001", "10001", "11110", "10001", "10001", "11110"),
    "C": ("01110", "10001", "10000", "10000", "10000", "10001", "01110"),
    "D": ("11100", "10010", "10001", "10001", "10001", "10010", "11100"),
    "E": ("11111", "10000", "10000", "11110", "10000", "10000", "11111"),
    "F": ("11111", "10000", "10000", "11110", "10000", "10000", "10000"),
    "G": ("01110", "10001", "10000", "10111", "10001", "10001", "01111"),
    "H": ("10001", "10001", "10001", "11111", "10001", "10001", "10001"),
    "I": ("01110", "00100", "00100", "00100", "00100", "00100", "01110"),
    "J": ("00111", "00010", "00010", "00010", "00010", "10010", "01100"),
    "K": ("10001", "10010", "10100", "11000", "10100", "10010", "10001"),
    "L": ("10000", "10000", "10000", "10000", "10000", "10000", "11111"),
    "M": ("10001", "11011", "10101", "10101", "10001", "10001", "10001"),
    "N": ("10001", "10001", "11001", "10101", "10011", "10001", "10001"),
    "O": ("01110", "10001", "10001", "10001", "10001", "10001", "01110"),
    "P": ("11110", "10001", "10001", "11110", "10000", "10000", "10000"),
    "Q": ("01110", "10001", "10001", "10001", "10101", "10010", "01101"),
    "R": ("11110", "10001", "10001", "11110", "10100", "10010", "10001"),
    "S": ("01111", "10000", "10000", "01110", "00001", "00001", "11110"),
    "T": ("11111", "00100", "00100", "00100", "00100", "00100", "00100"),
    "U": ("10001", "10001", "10001", "10001", "10001", "10001", "01110"),
    "V": ("10001", "10001", "10001", "10001", "10001", "01010", "00100"),
    "W": ("10001", "10001", "10001", "10101", "10101", "10101", "01010"),
    "X": ("10001", "10001", "01010", "00100", "01010", "10001", "10001"),
    "Y": ("10001", "10001", "10001", "01010", "00100", "00100", "00100"),
    "Z": ("11111", "00001", "00010", "00100", "01000", "10000", "11111"),
    ".": ("00000", "00000", "00000", "00000", "00000", "01100", "01100"),
    ",": ("00000", "00000", "00000", "00000", "01100", "00100", "01000"),
    ":": ("00000", "01100", "01100", "00000", "01100", "01100", "00000"),
    ";": ("00000", "01100", "01100", "00000", "01100", "00100", "01000"),
    "-": ("00000", "00000", "00000", "11111", "00000", "00000", "00000"),
    "+": ("00000", "00100", "00100", "11111", "00100", "00100", "00000"),
    "=": ("00000", "00000", "11111", "00000", "11111", "00000", "00000"),
    "/": ("00000", "00001", "00010", "00100", "01000", "10000", "00000"),
    "(": ("00010", "00100", "01000", "01000", "01000", "00100", "00010"),
    ")": ("01000", "00100", "00010", "00010", "00010", "00100", "01000"),
    "[": ("01110", "01000", "01000", "01000", "01000", "01000", "01110"),
    "]": ("01110", "00010", "00010", "00010", "00010", "00010", "01110"),
    "<": ("00010", "00100", "01000", "10000", "01000", "00100", "00010"),
    ">": ("01000", "00100", "00010", "00001", "00010", "00100", "01000"),
    "!": ("00100", "00100", "00100", "00100", "00100", "00000", "00100"),
    "?": ("01110", "10001", "00001", "00010", "00100", "00000", "00100"),
    "'": ("01100", "00100", "01000", "00000", "00000", "00000", "00000"),
    "%": ("11000", "11001", "00010", "00100", "01000", "10011", "00011"),
    "#": ("01010", "01010", "11111", "01010", "11111", "01010", "01010"),
    "*": ("00000", "00100", "10101", "01110", "10101", "00100", "00000"),
    "_": ("00000", "00000", "00000", "00000", "00000", "00000", "11111"),
    "^": ("00100", "01010", "10001", "00000", "00000", "00000", "00000"),
    "|": ("00100",) * 7,
    "~": ("00000", "00000", "01000", "10101", "00010", "00000", "00000"),
}
_FONT = {ch: np.array([[bit == "1" for bit in row] for row in rows]) for ch, rows in _FONT_ROWS.items()}
_UNKNOWN = _FONT["?"]


def blank(height: int, width: int, colour: Colour = BACKGROUND) -> np.ndarray:
    """A new ``(height, width, 3)`` uint8 image filled with ``colour``."""
    image = np.empty((int(height), int(width), 3), dtype=np.uint8)
    image[:] = colour
    return image


def _box(image: np.ndarray, top: float, left: float, bottom: float, right: float) -> tuple[int, int, int, int]:
    """Integer ``[top, bottom) x [left, right)`` clipped to the image."""
    height, width = image.shape[:2]
    return _clip(top, height), _clip(left, width), _clip(bottom, height), _clip(right, width)


def _clip(value: float, size: int) -> int:
    """``round(value)`` clipped to ``[0, size]``; an infinite or huge value (a shape far off the image) too."""
    return 0 if not value > 0 else size if value >= size else round(value)


def fill_rect(image: np.ndarray, top: float, left: float, height: float, width: float, colour: Colour) -> None:
    """Fill the rectangle of ``height x width`` pixels whose top-left pixel is ``(top, left)``."""
    t, lft, b, r = _box(image, top, left, top + height, left + width)
    if t < b and lft < r:
        image[t:b, lft:r] = colour


def outline_rect(
    image: np.ndarray, top: float, left: float, height: float, width: float, colour: Colour, thickness: int = 1
) -> None:
    """Draw the border (``thickness`` pixels, inside the rectangle) of a rectangle."""
    k = thickness
    fill_rect(image, top, left, k, width, colour)
    fill_rect(image, top + height - k, left, k, width, colour)
    fill_rect(image, top, left, height, k, colour)
    fill_rect(image, top, left + width - k, height, k, colour)


def _disc_mask(image: np.ndarray, row: float, col: float, radius: float) -> tuple[tuple[slice, slice], np.ndarray] | None:
    t, lft, b, r = _box(image, row - radius - 1, col - radius - 1, row + radius + 2, col + radius + 2)
    if t >= b or lft >= r:
        return None
    rows = np.arange(t, b)[:, None] + 0.5 - (row + 0.5)
    cols = np.arange(lft, r)[None, :] + 0.5 - (col + 0.5)
    return (slice(t, b), slice(lft, r)), rows * rows + cols * cols


def fill_circle(image: np.ndarray, row: float, col: float, radius: float, colour: Colour) -> None:
    """Fill the disc of ``radius`` pixels centred on pixel ``(row, col)``."""
    found = _disc_mask(image, row, col, radius)
    if found is not None:
        window, dist2 = found
        image[window][dist2 <= radius * radius] = colour


def draw_circle(image: np.ndarray, row: float, col: float, radius: float, colour: Colour, thickness: float = 1.0) -> None:
    """Draw the ring of ``thickness`` pixels just inside the circle of ``radius`` centred on ``(row, col)``."""
    found = _disc_mask(image, row, col, radius)
    if found is not None:
        window, dist2 = found
        inner = max(radius - thickness, 0.0)
        image[window][(dist2 <= radius * radius) & (dist2 > inner * inner)] = colour


def _stamp(image: np.ndarray, rows: np.ndarray, cols: np.ndarray, colour: Colour, thickness: int) -> None:
    """Colour the pixels ``(rows, cols)`` (float arrays), each widened to a ``thickness``-pixel square brush."""
    rows, cols = np.rint(rows).astype(np.int64), np.rint(cols).astype(np.int64)
    if thickness > 1:
        lo = -(thickness // 2)
        d_row, d_col = (d.reshape(-1) for d in np.meshgrid(np.arange(lo, lo + thickness), np.arange(lo, lo + thickness)))
        rows = (rows[:, None] + d_row[None, :]).reshape(-1)
        cols = (cols[:, None] + d_col[None, :]).reshape(-1)
    height, width = image.shape[:2]
    inside = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)
    image[rows[inside], cols[inside]] = colour


def draw_line(
    image: np.ndarray, row0: float, col0: float, row1: float, col1: float, colour: Colour, thickness: int = 1
) -> None:
    """Draw a straight segment from ``(row0, col0)`` to ``(row1, col1)``, ``thickness`` pixels wide."""
    draw_polyline(image, [(row0, col0), (row1, col1)], colour, thickness)


def draw_polyline(
    image: np.ndarray, points: np.ndarray | Sequence[Sequence[float]], colour: Colour, thickness: int = 1
) -> None:
    """Draw the segments joining consecutive ``points`` (``(n, 2)`` as ``(row, col)``), all at once."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(pts) < 2:
        if len(pts) == 1:
            _stamp(image, pts[:, 0], pts[:, 1], colour, thickness)
        return
    # one sample per pixel along each segment: segment i gets counts[i] evenly spaced points, both ends included
    counts = np.abs(np.diff(pts, axis=0)).max(axis=1).astype(np.int64) + 1
    segment = np.repeat(np.arange(len(counts)), counts)
    position = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    fraction = position / np.maximum(np.repeat(counts - 1, counts), 1)
    samples = pts[segment] + (pts[segment + 1] - pts[segment]) * fraction[:, None]
    _stamp(image, samples[:, 0], samples[:, 1], colour, thickness)


def fill_triangle(image: np.ndarray, corners: np.ndarray | Sequence[Sequence[float] | np.ndarray], colour: Colour) -> None:
    """Fill the triangle whose 3 ``corners`` are ``(row, col)`` points."""
    p = np.asarray(corners, dtype=np.float64).reshape(3, 2)
    t, lft, b, r = _box(image, p[:, 0].min(), p[:, 1].min(), p[:, 0].max() + 1, p[:, 1].max() + 1)
    if t >= b or lft >= r:
        return
    rows, cols = np.mgrid[t:b, lft:r]
    signs = []
    for i in range(3):
        (r0, c0), (r1, c1) = p[i], p[(i + 1) % 3]
        signs.append((c1 - c0) * (rows - r0) - (r1 - r0) * (cols - c0))
    s = np.stack(signs)
    inside = np.all(s >= -1e-9, axis=0) | np.all(s <= 1e-9, axis=0)
    image[t:b, lft:r][inside] = colour


def draw_arrow(
    image: np.ndarray,
    row0: float,
    col0: float,
    row1: float,
    col1: float,
    colour: Colour,
    thickness: int = 2,
    head: float = 9.0,
) -> None:
    """Draw an arrow from ``(row0, col0)`` to ``(row1, col1)`` with a filled head of length ``head`` at the end."""
    direction = np.array([row1 - row0, col1 - col0], dtype=np.float64)
    length = float(np.hypot(*direction))
    if length < 1e-9:
        return
    unit = direction / length
    base = np.array([row1, col1]) - unit * min(head, length)
    draw_line(image, row0, col0, base[0], base[1], colour, thickness)
    normal = np.array([-unit[1], unit[0]]) * head * 0.5
    fill_triangle(image, [(row1, col1), base + normal, base - normal], colour)


def text_width(text: str, scale: int = 1) -> int:
    """Width in pixels of ``text`` drawn at ``scale`` (no trailing space)."""
    return max(len(text) * (GLYPH_WIDTH + 1) - 1, 0) * scale


def draw_text(image: np.ndarray, text: str, top: float, left: float, colour: Colour = FOREGROUND, scale: int = 1) -> None:
    """Draw one line of ``text`` with its top-left corner at ``(top, left)``, glyphs ``scale`` times 5 x 7 pixels."""
    if not text:
        return
    glyphs = [_FONT.get(ch, _UNKNOWN) for ch in text.upper()]
    gap = np.zeros((GLYPH_HEIGHT, 1), dtype=bool)
    mask = np.concatenate([part for g in glyphs for part in (g, gap)][:-1], axis=1)
    if scale > 1:
        mask = mask.repeat(scale, axis=0).repeat(scale, axis=1)
    top, left = round(top), round(left)
    t, lft, b, r = _box(image, top, left, top + mask.shape[0], left + mask.shape[1])
    if t < b and lft < r:
        image[t:b, lft:r][mask[t - top : b - top, lft - left : r - left]] = colour


def fit_scale(lines: Sequence[str], width: int, margin: int = 4, largest: int = 2) -> int:
    """The largest text scale (``largest`` down to 1) at which every line fits in ``width`` pixels."""
    longest = max((len(line) for line in lines), default=0)
    for scale in range(largest, 1, -1):
        if text_width("x" * longest, scale) + 2 * margin <= width:
            return scale
    return 1


def text_panel(
    lines: Sequence[str],
    width: int,
    scale: int | None = None,
    foreground: Colour = PANEL_FOREGROUND,
    background: Colour = PANEL_BACKGROUND,
    margin: int = 4,
) -> np.ndarray:
    """A ``(len(lines) * line height + 2 * margin, width, 3)`` strip with ``lines`` of text, left-aligned.

    ``scale=None``: the largest of 2 and 1 at which the longest line fits (lines longer than the
    width at scale 1 are cut at the edge).
    """
    scale = fit_scale(lines, width, margin) if scale is None else scale
    image = blank(len(lines) * LINE_HEIGHT * scale + 2 * margin - (3 * scale if lines else 0), width, background)
    for i, line in enumerate(lines):
        draw_text(image, line, margin + i * LINE_HEIGHT * scale, margin, foreground, scale)
    return image


def compose_frame(panels: Sequence[np.ndarray], separator: Colour = (0, 0, 0)) -> np.ndarray:
    """Stack ``panels`` (each ``(h_i, W_i, 3)`` uint8) top to bottom with a 1-pixel line between them.

    Narrower panels are centred on the background colour of their own top-left pixel.
    """
    width = max(p.shape[1] for p in panels)
    parts: list[np.ndarray] = []
    for i, panel in enumerate(panels):
        if panel.shape[1] < width:
            wide = blank(panel.shape[0], width, panel[0, 0])
            left = (width - panel.shape[1]) // 2
            wide[:, left : left + panel.shape[1]] = panel
            panel = wide
        if i:
            parts.append(blank(1, width, separator))
        parts.append(panel)
    return np.concatenate(parts, axis=0)
