"""Plots as inline SVG strings, shared by the run report and the web app.

    scatter_svg(points, x_label=..., y_label=..., title=...)    points: (x, y, label); front=True marks
                                                                the Pareto front (max y, min x)
    line_svg(series, x_label=..., y_label=..., title=...)       series: (name, [(x, y), ...])
    bars_svg(rows, series=..., x_label=..., title=...)          rows: (label, [value per series])
    graph_svg(nodes)                                             a model's graph (archlab.report.diagram)

Labels become <title> tooltips (hover in a browser, no script). All text is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from archlab.report.diagram import graph_svg
from archlab.report.svg import (
    AXIS,
    BOTTOM,
    HEIGHT,
    LEFT,
    MUTED,
    PALETTE,
    RIGHT,
    TOP,
    WIDTH,
    Scale,
    axes,
    document,
    empty,
    esc,
    fmt,
    legend,
    text,
)

__all__ = ["bars_svg", "graph_svg", "line_svg", "pareto_front", "scatter_svg"]

Point = tuple[float, float, str]
FRONT = "#d9822b"


def scatter_svg(points: Sequence[tuple[float, float, str]], *, x_label: str, y_label: str, title: str,
                log_x: bool = False, front: bool = False) -> str:
    pts = [(float(x), float(y), str(label)) for x, y, label in points
           if _finite(x) and _finite(y) and (not log_x or x > 0)]
    if not pts:
        return empty(title, "nothing to plot")
    xs = Scale.fit([p[0] for p in pts], LEFT, WIDTH - RIGHT, log=log_x)
    ys = Scale.fit([p[1] for p in pts], HEIGHT - BOTTOM, TOP)
    body = axes(xs, ys, title=title, x_label=x_label + (" (log scale)" if log_x else ""), y_label=y_label)
    best = pareto_front(pts) if front else []
    if best:
        body.append(_staircase([(xs(x), ys(y)) for x, y, _ in best], FRONT, width=1.5))
        body += legend([(PALETTE[0], "candidate"), (FRONT, "Pareto front: no other is better and cheaper")])
    on_front = set(best)
    for x, y, label in pts:
        colour, radius = (FRONT, 5.5) if (x, y, label) in on_front else (PALETTE[0], 4)
        body.append(f'<circle cx="{xs(x):.1f}" cy="{ys(y):.1f}" r="{radius}" fill="{colour}" fill-opacity="0.85" '
                    f'stroke="white"><title>{esc(label)}: {esc(x_label)} {fmt(x)}, {esc(y_label)} {y:.4g}'
                    "</title></circle>")
    return document(body, title)


def pareto_front(points: Sequence[Point]) -> list[Point]:
    """The points no other point beats on both axes (higher y at lower or equal x), by rising x."""
    front: list[Point] = []
    for point in sorted(points, key=lambda p: (p[0], -p[1])):
        if not front or point[1] > front[-1][1]:
            front.append(point)
    return front


def line_svg(series: Sequence[tuple[str, Sequence[tuple[float, float]]]], *, x_label: str, y_label: str,
             title: str, step: bool = True) -> str:
    """One line per series (a step after each point when `step`: best-so-far curves), points hoverable."""
    clean = [(str(name), [(float(x), float(y)) for x, y in pts if _finite(x) and _finite(y)]) for name, pts in series]
    clean = [(name, sorted(pts)) for name, pts in clean if pts]
    if not clean:
        return empty(title, "nothing to plot")
    xs = Scale.fit([x for _, pts in clean for x, _ in pts], LEFT, WIDTH - RIGHT)
    ys = Scale.fit([y for _, pts in clean for _, y in pts], HEIGHT - BOTTOM, TOP)
    body = axes(xs, ys, title=title, x_label=x_label, y_label=y_label)
    colours = [PALETTE[i % len(PALETTE)] for i in range(len(clean))]
    body += legend(list(zip(colours, [name for name, _ in clean], strict=True)))
    for colour, (name, pts) in zip(colours, clean, strict=True):
        pixels = [(xs(x), ys(y)) for x, y in pts]
        body.append(_staircase(pixels, colour) if step else _polyline(pixels, colour))
        for (x, y), (px, py) in zip(pts, pixels, strict=True):
            body.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{colour}"><title>{esc(name)}: '
                        f"{esc(x_label)} {fmt(x)}, {esc(y_label)} {y:.4g}</title></circle>")
    return document(body, title)


def bars_svg(rows: Sequence[tuple[str, Sequence[float | None]]], *, series: Sequence[str], x_label: str,
             title: str, domain: tuple[float, float] = (-1.0, 1.0)) -> str:
    """Horizontal grouped bars, one group per row label and one bar per series; None draws 'n/a'."""
    if not rows:
        return empty(title, "nothing to plot")
    left = min(260, 16 + 6.4 * max(len(label) for label, _ in rows))
    bar, group = 12, 12 * len(series) + 12
    height = TOP + BOTTOM + group * len(rows)
    xs = Scale(domain[0], domain[1], left, WIDTH - RIGHT)
    body = [text(WIDTH / 2, 20, title, anchor="middle", size=14, extra=' font-weight="bold"')]
    body += _bar_grid(xs, height, x_label)
    colours = [PALETTE[i % len(PALETTE)] for i in range(len(series))]
    body += legend(list(zip(colours, series, strict=True)))
    for r, (label, values) in enumerate(rows):
        top = TOP + r * group + 6
        body.append(text(left - 6, top + group / 2, label, anchor="end", size=11))
        for s, value in enumerate(values):
            body.append(_bar(xs, top + s * bar, bar - 2, value, colours[s], f"{label}, {series[s]}"))
    return document(body, title, WIDTH, height)


def _bar_grid(xs: Scale, height: float, x_label: str) -> list[str]:
    parts = []
    for tick in xs.ticks():
        x = xs(tick)
        stroke = AXIS if tick == 0 else "#e4e4e4"
        parts.append(f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{height - BOTTOM}" stroke="{stroke}"/>')
        parts.append(text(x, height - BOTTOM + 16, fmt(tick), anchor="middle", size=11))
    parts.append(text((xs.start + xs.end) / 2, height - 12, x_label, anchor="middle"))
    return parts


def _bar(xs: Scale, y: float, height: float, value: float | None, colour: str, name: str) -> str:
    if value is None or not _finite(value):
        return text(xs(0) + 4, y + height - 1, "n/a", size=10, fill=MUTED)
    clipped = min(max(value, xs.lo), xs.hi)
    x0, x1 = sorted((xs(0), xs(clipped)))
    return (f'<rect x="{x0:.1f}" y="{y:.1f}" width="{max(x1 - x0, 1):.1f}" height="{height}" fill="{colour}">'
            f"<title>{esc(name)}: {value:+.3f}</title></rect>")


def _staircase(pixels: Sequence[tuple[float, float]], colour: str, width: float = 2) -> str:
    path = [f"M{pixels[0][0]:.1f},{pixels[0][1]:.1f}"]
    for x, y in pixels[1:]:
        path.append(f"H{x:.1f}V{y:.1f}")
    return f'<path d="{"".join(path)}" fill="none" stroke="{colour}" stroke-width="{width}"/>'


def _polyline(pixels: Sequence[tuple[float, float]], colour: str) -> str:
    coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in pixels)
    return f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2"/>'


def _finite(value: object) -> bool:
    if value is None or isinstance(value, bool | str):
        return False
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False
