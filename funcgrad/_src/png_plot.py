"""A small line-plot writer with no dependencies beyond numpy and zlib: used by the metric
tracker when matplotlib is not installed, so training always leaves a plot a person can open.

Each panel is one metric: a framed plot area, the curve, and a title with the metric's name and
its first/last/min/max values in a built-in 3x5 pixel font.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

# 3x5 glyphs, rows top to bottom, 3 bits per row (MSB = left pixel)
_GLYPHS = {
    "0": "111101101101111",
    "1": "010110010010111",
    "2": "111001111100111",
    "3": "111001111001111",
    "4": "101101111001001",
    "5": "111100111001111",
    "6": "111100111101111",
    "7": "111001010010010",
    "8": "111101111101111",
    "9": "111101111001111",
    ".": "000000000000010",
    "-": "000000111000000",
    ":": "000010000010000",
    " ": "000000000000000",
    "_": "000000000000111",
    "=": "000111000111000",
    "/": "001001010100100",
    "e": "111101111100111",
    "a": "010101111101101",
    "b": "110101110101110",
    "c": "011100100100011",
    "d": "110101101101110",
    "f": "111100110100100",
    "g": "011100101101011",
    "h": "101101111101101",
    "i": "111010010010111",
    "j": "001001001101010",
    "k": "101101110101101",
    "l": "100100100100111",
    "m": "101111111101101",
    "n": "110101101101101",
    "o": "010101101101010",
    "p": "110101110100100",
    "q": "010101101110011",
    "r": "110101110101101",
    "s": "011100010001110",
    "t": "111010010010010",
    "u": "101101101101111",
    "v": "101101101101010",
    "w": "101101111111101",
    "x": "101101010101101",
    "y": "101101010010010",
    "z": "111001010100111",
    "(": "010100100100010",
    ")": "010001001001010",
    ",": "000000000010100",
}
W, H, PAD, SCALE = 480, 170, 14, 2


def _text(img, x, y, s, color):
    for ch in s.lower():
        g = _GLYPHS.get(ch, _GLYPHS[" "])
        for r in range(5):
            for c in range(3):
                if g[r * 3 + c] == "1":
                    img[
                        y + r * SCALE : y + (r + 1) * SCALE, x + c * SCALE : x + (c + 1) * SCALE
                    ] = color
        x += 4 * SCALE
    return x


def _line(img, x0, y0, x1, y1, color):
    n = int(max(abs(x1 - x0), abs(y1 - y0))) + 1
    xs = np.linspace(x0, x1, n).round().astype(int)
    ys = np.linspace(y0, y1, n).round().astype(int)
    for dy in (0, 1):
        img[np.clip(ys + dy, 0, img.shape[0] - 1), np.clip(xs, 0, img.shape[1] - 1)] = color


def _panel(name, xs, ys):
    img = np.full((H, W, 3), 255, np.uint8)
    top, left, bottom, right = PAD + 14, PAD, H - PAD, W - PAD
    ys = np.asarray(ys, np.float64)
    finite = ys[np.isfinite(ys)]
    title = f"{name}  first {ys[0]:.4g}  last {ys[-1]:.4g}" if len(ys) else name
    if len(finite):
        title += f"  min {finite.min():.4g}  max {finite.max():.4g}"
    _text(img, left, PAD - 4, title[: (W - 2 * PAD) // (4 * SCALE)], (0, 0, 0))
    img[top, left:right] = img[bottom, left:right] = (120, 120, 120)
    img[top:bottom, left] = img[top:bottom, right] = (120, 120, 120)
    if len(finite) == 0:
        return img
    lo, hi = finite.min(), finite.max()
    hi = hi if hi > lo else lo + 1.0
    x_lo, x_hi = float(min(xs)), float(max(xs)) if max(xs) > min(xs) else float(min(xs)) + 1
    px = [left + 2 + (x - x_lo) / (x_hi - x_lo) * (right - left - 4) for x in xs]
    py = [
        bottom - 2 - (y - lo) / (hi - lo) * (bottom - top - 4) if np.isfinite(y) else None
        for y in ys
    ]
    pts = [(x, y) for x, y in zip(px, py) if y is not None]
    for (xa, ya), (xb, yb) in zip(pts, pts[1:]):
        _line(img, xa, ya, xb, yb, (31, 119, 180))
    if len(pts) == 1:
        _line(img, pts[0][0] - 2, pts[0][1], pts[0][0] + 2, pts[0][1], (31, 119, 180))
    return img


def _png_bytes(img: np.ndarray) -> bytes:
    h, w, _ = img.shape
    raw = b"".join(b"\x00" + img[r].tobytes() for r in range(h))

    def chunk(tag, data):
        return (
            struct.pack(">I", len(data))
            + tag
            + data
            + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
        )

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw, 6))
        + chunk(b"IEND", b"")
    )


def write_line_plots(path, panels) -> str:
    """``panels``: list of ``(title, xs, ys)``; writes them stacked into one PNG at ``path``."""
    imgs = [_panel(t, xs, ys) for t, xs, ys in panels] or [_panel("no metrics", [], [])]
    with open(path, "wb") as f:
        f.write(_png_bytes(np.concatenate(imgs, 0)))
    return str(path)
