"""Hand-written SVG pieces for the report's plots: escaping, scales with readable ticks, axes.

Deterministic on purpose (no ids, dates or random numbers): the same data gives the same bytes, so a
report can be diffed. Every piece of text goes through `esc`, because labels carry candidate ids and
summaries that an LLM wrote.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

WIDTH, HEIGHT = 600, 360
LEFT, RIGHT, TOP, BOTTOM = 72, 20, 52, 52  # margins around the plot area
FONT = "font-family=\"Helvetica, Arial, sans-serif\""
PALETTE = ("#3867b5", "#d9822b", "#3f9b4b", "#b8433f", "#7b5aa6", "#8c6d3f", "#c15fa6", "#6f6f6f")
AXIS, GRID, MUTED = "#444", "#e4e4e4", "#777"


def esc(text: object) -> str:
    """Text safe inside an SVG (or HTML) element or a quoted attribute."""
    return escape(str(text), {'"': "&quot;", "'": "&#39;"})


def fmt(value: float) -> str:
    """A compact number: 1.23M, 45.6k, 0.812, 3e-05."""
    size = abs(value)
    for bound, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if size >= bound:
            return f"{value / bound:.3g}{suffix}"
    return f"{value:.3g}"


@dataclass(frozen=True)
class Scale:
    """Data [lo, hi] onto pixels [start, end] (end < start for a y axis), linear or log10."""

    lo: float
    hi: float
    start: float
    end: float
    log: bool = False

    @classmethod
    def fit(cls, values: Sequence[float], start: float, end: float, *, log: bool = False) -> Scale:
        lo, hi = min(values), max(values)
        if log:
            lo, hi = math.log10(lo), math.log10(hi)
        pad = (hi - lo) * 0.06 or (0.5 if log else max(abs(lo) * 0.1, 0.05))
        return cls(lo - pad, hi + pad, start, end, log)

    def __call__(self, value: float) -> float:
        v = math.log10(value) if self.log else value
        return self.start + (v - self.lo) / (self.hi - self.lo) * (self.end - self.start)

    def ticks(self) -> list[float]:
        if self.log:  # decades, with 2x and 5x between them when the range spans few decades
            steps = (1,) if self.hi - self.lo > 2.5 else (1, 2, 5)
            ticks = [m * 10.0 ** e for e in range(math.floor(self.lo), math.ceil(self.hi) + 1) for m in steps]
            return [t for t in ticks if self.lo <= math.log10(t) <= self.hi]
        step = nice_step((self.hi - self.lo) / 5)
        first = math.ceil(self.lo / step) * step
        count = int(math.floor((self.hi - first) / step + 1e-9)) + 1
        return [round(first + i * step, 12) for i in range(count)]


def nice_step(raw: float) -> float:
    """The 1, 2 or 5 times a power of ten nearest above `raw`."""
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def document(body: Sequence[str], title: str, width: float = WIDTH, height: float = HEIGHT) -> str:
    """A whole <svg> element: the title as its accessible name and as a tooltip."""
    w, h = round(width), round(height)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
            f'role="img" aria-label="{esc(title)}" {FONT} font-size="12">\n<title>{esc(title)}</title>\n'
            + "\n".join(body) + "\n</svg>\n")


def text(x: float, y: float, content: object, *, anchor: str = "start", size: int = 12, fill: str = AXIS,
         extra: str = "") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" fill="{fill}"{extra}>'
            f"{esc(content)}</text>")


def axes(xs: Scale, ys: Scale, *, title: str, x_label: str, y_label: str, width: float = WIDTH,
         height: float = HEIGHT) -> list[str]:
    """Title, grid, ticks and axis labels around the plot area."""
    parts = [text(width / 2, 20, title, anchor="middle", size=14, extra=' font-weight="bold"')]
    for tick in xs.ticks():
        x = xs(tick)
        parts.append(f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{height - BOTTOM}" stroke="{GRID}"/>')
        parts.append(text(x, height - BOTTOM + 16, fmt(tick), anchor="middle", size=11))
    for tick in ys.ticks():
        y = ys(tick)
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{width - RIGHT}" y2="{y:.1f}" stroke="{GRID}"/>')
        parts.append(text(LEFT - 6, y + 4, fmt(tick), anchor="end", size=11))
    parts.append(f'<rect x="{LEFT}" y="{TOP}" width="{width - LEFT - RIGHT}" height="{height - TOP - BOTTOM}" '
                 f'fill="none" stroke="{AXIS}"/>')
    parts.append(text((LEFT + width - RIGHT) / 2, height - 12, x_label, anchor="middle"))
    mid = (TOP + height - BOTTOM) / 2
    parts.append(text(16, mid, y_label, anchor="middle", extra=f' transform="rotate(-90 16 {mid:.1f})"'))
    return parts


def legend(entries: Sequence[tuple[str, str]], *, y: float = TOP - 12) -> list[str]:
    """One row of (colour, name) swatches above the plot area."""
    parts, x = [], float(LEFT)
    for colour, name in entries:
        parts.append(f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="10" height="10" fill="{colour}"/>')
        parts.append(text(x + 14, y, name, size=11))
        x += 24 + 6.5 * len(name)
    return parts


def empty(title: str, message: str) -> str:
    """A small placeholder figure that says why there is nothing to draw."""
    return document([text(WIDTH / 2, 20, title, anchor="middle", size=14, extra=' font-weight="bold"'),
                     text(WIDTH / 2, 60, message, anchor="middle", fill=MUTED)], title, WIDTH, 80)
