"""Plots as inline SVG strings, drawn by matplotlib's SVG backend; shared by the run report and the web app.

    scatter_svg(points, x_label=..., y_label=..., title=...)    points: (x, y, label); front=True marks
                                                                the Pareto front (max y, min x)
    line_svg(series, x_label=..., y_label=..., title=...)       series: (name, [(x, y), ...])
    bars_svg(rows, series=..., x_label=..., title=...)          rows: (label, [value per series])
    graph_svg(nodes)                                             a model's graph (archlab.report.diagram)

Why matplotlib's SVG and not Plotly: the report is one file that must work offline and run no script (text
an LLM wrote is in it), and the web app's pages carry no script either; static SVG needs neither. Text stays
text (`svg.fonttype: none`), so a plot is small and searchable, and matplotlib's XML writer escapes it.
Labels are never read as mathtext (`parse_math=False`), so a `$` in an LLM's summary is a dollar sign.
Every point and bar is its own artist with a gid; after rendering, that group gets a <title> tooltip (hover
in a browser, no script). Groups lose their ids (matplotlib names them figure_1, axes_1, ... in every plot),
so the plots inline in one page share only ids that name the same content (hashed clip paths). The output
is deterministic (fixed hash salt, no date, no metadata): the same data gives the same bytes.
"""

from __future__ import annotations

import io
import math
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import matplotlib
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter

from archlab.report.diagram import graph_svg

__all__ = ["bars_svg", "fmt", "graph_svg", "line_svg", "pareto_front", "scatter_svg"]

SVG_NS, XLINK_NS = "http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"
ET.register_namespace("", SVG_NS)
ET.register_namespace("xlink", XLINK_NS)

Point = tuple[float, float, str]
PALETTE = ("#3867b5", "#d9822b", "#3f9b4b", "#b8433f", "#7b5aa6", "#8c6d3f", "#c15fa6", "#6f6f6f")
FRONT, MUTED = "#d9822b", "#777777"
SIZE = (6.0, 3.6)  # inches at 100 dpi: 600 x 360 px, as the report's layout expects
STYLE = {"svg.fonttype": "none", "svg.hashsalt": "archlab-report", "font.family": "sans-serif",
         "font.sans-serif": ["Helvetica", "Arial", "DejaVu Sans"], "font.size": 9, "figure.titlesize": 11,
         "figure.titleweight": "bold", "axes.grid": True, "grid.color": "#e4e4e4", "axes.axisbelow": True,
         "axes.edgecolor": "#444444", "axes.spines.top": False, "axes.spines.right": False,
         "legend.frameon": False, "legend.fontsize": 8, "figure.dpi": 100}


def fmt(value: float) -> str:
    """A compact number: 1.23M, 45.6k, 0.812, 3e-05."""
    size = abs(value)
    for bound, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if size >= bound:
            return f"{value / bound:.3g}{suffix}"
    return f"{value:.3g}"


def scatter_svg(points: Sequence[tuple[float, float, str]], *, x_label: str, y_label: str, title: str,
                log_x: bool = False, front: bool = False, minimize: bool = False) -> str:
    pts = [(float(x), float(y), str(label)) for x, y, label in points
           if _finite(x) and _finite(y) and (not log_x or x > 0)]
    if not pts:
        return empty(title, "nothing to plot")
    best = pareto_front(pts, minimize) if front else []
    on_front, tips = set(best), {}
    with _plot(title, x_label + (" (log scale)" if log_x else ""), y_label) as (fig, ax):
        if log_x:
            ax.set_xscale("log")
            ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: fmt(value)))
            ax.xaxis.set_minor_formatter(FuncFormatter(_two_and_five))
        if best:
            ax.step([p[0] for p in best], [p[1] for p in best], where="post", color=FRONT, linewidth=1.5, zorder=2)
            _legend(ax, [("candidate", PALETTE[0], "o"), ("Pareto front: no other is better and cheaper", FRONT, "-")])
        for i, (x, y, label) in enumerate(pts):
            on = (x, y, label) in on_front
            ax.plot([x], [y], "o", markersize=7.5 if on else 6, color=FRONT if on else PALETTE[0], alpha=0.85,
                    markeredgecolor="white", zorder=3, gid=f"tip{i}")
            tips[f"tip{i}"] = (f"{label}: {x_label} {fmt(x)}, {y_label} {y:.4g}"
                               + (" (on the Pareto front)" if on else ""))
        return _svg(fig, title, tips)


def pareto_front(points: Sequence[Point], minimize: bool = False) -> list[Point]:
    """The points no other point beats on both axes (higher y, or lower with `minimize`, at lower or equal x),
    by rising x."""
    sign = -1 if minimize else 1
    front: list[Point] = []
    for point in sorted(points, key=lambda p: (p[0], -sign * p[1])):
        if not front or sign * point[1] > sign * front[-1][1]:
            front.append(point)
    return front


def line_svg(series: Sequence[tuple[str, Sequence[tuple[float, float]]]], *, x_label: str, y_label: str,
             title: str, step: bool = True) -> str:
    """One line per series (a step after each point when `step`: best-so-far curves), points hoverable."""
    clean = [(str(name), [(float(x), float(y)) for x, y in pts if _finite(x) and _finite(y)]) for name, pts in series]
    clean = [(name, sorted(pts)) for name, pts in clean if pts]
    if not clean:
        return empty(title, "nothing to plot")
    tips = {}
    with _plot(title, x_label, y_label) as (fig, ax):
        for s, (name, pts) in enumerate(clean):
            colour, xs, ys = PALETTE[s % len(PALETTE)], [x for x, _ in pts], [y for _, y in pts]
            (ax.step(xs, ys, where="post") if step else ax.plot(xs, ys))[0].set(color=colour, linewidth=2)
            for i, (x, y) in enumerate(pts):
                gid = f"tip{s}-{i}"
                ax.plot([x], [y], "o", markersize=4.5, color=colour, zorder=3, gid=gid)
                tips[gid] = f"{name}: {x_label} {fmt(x)}, {y_label} {y:.4g}"
        _legend(ax, [(name, PALETTE[s % len(PALETTE)], "-") for s, (name, _) in enumerate(clean)])
        return _svg(fig, title, tips)


def bars_svg(rows: Sequence[tuple[str, Sequence[float | None]]], *, series: Sequence[str], x_label: str,
             title: str, domain: tuple[float, float] = (-1.0, 1.0)) -> str:
    """Horizontal grouped bars, one group per row label and one bar per series; None draws 'n/a'."""
    if not rows:
        return empty(title, "nothing to plot")
    height, tips = 0.8 / len(series), {}
    with _plot(title, x_label, "", size=(SIZE[0], 1.4 + 0.32 * len(series) * len(rows))) as (fig, ax):
        ax.set_xlim(*domain)
        ax.axvline(0, color="#444444", linewidth=0.8)
        ax.grid(False, axis="y")
        for r, (label, values) in enumerate(rows):
            for s, value in enumerate(values):
                y = r + (s - (len(series) - 1) / 2) * height
                if value is None or not _finite(value):
                    ax.text(0.02 * (domain[1] - domain[0]), y, "n/a", va="center", fontsize=8, color=MUTED)
                    continue
                gid = f"tip{r}-{s}"
                ax.barh(y, min(max(value, domain[0]), domain[1]), height * 0.9, color=PALETTE[s % len(PALETTE)],
                        gid=gid)
                tips[gid] = f"{label}, {series[s]}: {value:+.3f}"
        ax.set_yticks(range(len(rows)), [label for label, _ in rows], parse_math=False)
        ax.invert_yaxis()  # the first row on top
        _legend(ax, [(name, PALETTE[s % len(PALETTE)], "s") for s, name in enumerate(series)])
        return _svg(fig, title, tips)


def empty(title: str, message: str) -> str:
    """A small figure that says why there is nothing to draw."""
    with _plot(title, "", "", size=(SIZE[0], 0.9)) as (fig, ax):
        ax.set_axis_off()
        ax.text(0.5, 0.4, message, ha="center", va="center", color=MUTED, transform=ax.transAxes, parse_math=False)
        return _svg(fig, title, {})


@contextmanager
def _plot(title: str, x_label: str, y_label: str, size: tuple[float, float] = SIZE) -> Iterator[tuple]:
    """A figure with one set of axes, in the report's style (a Figure of its own: no pyplot, no global state)."""
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=size, layout="constrained")
        ax = fig.add_subplot()
        fig.suptitle(title, parse_math=False)  # above the legend, which sits on top of the axes
        ax.set_xlabel(x_label, parse_math=False)
        ax.set_ylabel(y_label, parse_math=False)
        yield fig, ax


def _legend(ax, entries: Sequence[tuple[str, str, str]]) -> None:
    """A legend above the plot from (name, colour, marker or '-' for a line) entries."""
    handles = [Line2D([], [], color=colour, linestyle="-" if mark == "-" else "none", marker=None if mark == "-"
                      else mark, linewidth=2) for _, colour, mark in entries]
    legend = ax.legend(handles, [name for name, _, _ in entries], loc="lower left", bbox_to_anchor=(0, 1.0),
                       ncols=min(len(entries), 3), borderaxespad=0.2)
    for label in legend.get_texts():
        label.set_parse_math(False)


def _svg(fig: Figure, title: str, tips: dict[str, str]) -> str:
    """The figure as one <svg> element: its title as accessible name, a <title> tooltip in each tipped group."""
    buffer = io.StringIO()
    FigureCanvasSVG(fig).print_svg(buffer, metadata={"Date": None})
    root = ET.fromstring(buffer.getvalue())
    for meta in root.findall(f"{{{SVG_NS}}}metadata"):
        root.remove(meta)
    root.set("role", "img")
    root.set("aria-label", title)
    heading = ET.Element(f"{{{SVG_NS}}}title")
    heading.text = title
    root.insert(0, heading)
    for group in root.iter(f"{{{SVG_NS}}}g"):
        tip = tips.get(group.attrib.pop("id", ""))  # figure_1, axes_1, ...: the same in every plot of a page
        if tip is not None:
            element = ET.Element(f"{{{SVG_NS}}}title")
            element.text = tip
            group.insert(0, element)
    return ET.tostring(root, encoding="unicode") + "\n"


def _two_and_five(value: float, _position: int) -> str:
    """A log axis' minor tick label at 2x and 5x a power of ten only, so labels never crowd."""
    if value <= 0:
        return ""
    return fmt(value) if round(value / 10 ** math.floor(math.log10(value))) in (2, 5) else ""


def _finite(value: object) -> bool:
    if value is None or isinstance(value, bool | str):
        return False
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False
