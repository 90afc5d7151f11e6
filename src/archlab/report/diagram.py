"""A model's graph (evaluator.graph's nodes) drawn as a layered SVG, data flowing top to bottom.

A node's layer is its longest path from the input; a parameter read (no inputs) sits just above its
first user instead of beside the input. Within a layer, nodes follow the mean position of their inputs,
which keeps most edges short. Box labels are cut to fit; the full label is the box's tooltip.

Drawn by hand rather than through a graph library: graphviz's `dot` is a system package a fresh install
does not have (the report must work from `pip install` alone), and networkx's layered layout
(`multipartite_layout`) keeps a layer's nodes in insertion order, so edges cross where the barycentre
ordering here keeps them short. Every label goes through `esc`, since module names come from a candidate's
code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

BOX_H, ROW, GAP, MARGIN = 24, 48, 12, 10
CHAR_W, PAD, MAX_CHARS = 6.6, 14, 34
STYLE = {  # op -> (fill, stroke)
    "placeholder": ("#e6e6e6", "#555"), "output": ("#e6e6e6", "#555"),
    "call_module": ("#dbe8f7", "#3867b5"), "module": ("#dbe8f7", "#3867b5"),
    "call_function": ("#e1f1de", "#3f9b4b"), "call_method": ("#fbeed8", "#c07a15"),
    "get_attr": ("#eee3f5", "#7b5aa6"),
}


@dataclass
class Box:
    id: int
    op: str
    label: str
    inputs: list[int]
    layer: int = 0
    x: float = 0.0  # centre
    width: float = 0.0


def graph_svg(nodes: Sequence[Mapping]) -> str:
    boxes = _boxes(nodes)
    if not boxes:
        return empty("no nodes")
    _assign_layers(boxes)
    rows = _order_rows(boxes)
    width = _place(rows)
    height = 2 * MARGIN + ROW * (len(rows) - 1) + BOX_H
    body = [_edge(boxes[i], box) for box in boxes.values() for i in box.inputs]
    body += [_node(box) for box in boxes.values()]
    return document(body, f"model graph, {len(boxes)} nodes", width, height)


def _boxes(nodes: Sequence[Mapping]) -> dict[int, Box]:
    """Validated boxes by id; inputs that name no earlier node are dropped (a cut-off graph)."""
    boxes: dict[int, Box] = {}
    for node in nodes:
        ident = int(node["id"])
        inputs = [int(i) for i in node.get("inputs") or [] if int(i) in boxes]
        boxes[ident] = Box(ident, str(node.get("op", "")), str(node.get("label", "")), inputs)
    return boxes


def _assign_layers(boxes: dict[int, Box]) -> None:
    users: dict[int, list[int]] = {i: [] for i in boxes}
    for box in boxes.values():  # ids rise along the data flow, so inputs are laid out first
        box.layer = 1 + max((boxes[i].layer for i in box.inputs), default=-1)
        for i in box.inputs:
            users[i].append(box.id)
    for box in boxes.values():
        if not box.inputs and box.op not in ("placeholder", "module") and users[box.id]:
            box.layer = max(0, min(boxes[u].layer for u in users[box.id]) - 1)


def _order_rows(boxes: dict[int, Box]) -> list[list[Box]]:
    rows: list[list[Box]] = [[] for _ in range(1 + max(b.layer for b in boxes.values()))]
    for box in boxes.values():
        rows[box.layer].append(box)
    total = max(boxes) + 1
    position: dict[int, float] = {}  # a placed box's centre as a fraction of its row
    for row in rows:  # inputs always lie in earlier rows
        row.sort(key=lambda box: (_barycentre(box, position, total), box.id))
        for rank, box in enumerate(row):
            position[box.id] = (rank + 0.5) / len(row)
    return rows


def _barycentre(box: Box, position: dict[int, float], total: int) -> float:
    known = [position[i] for i in box.inputs if i in position]
    return sum(known) / len(known) if known else box.id / total


def _place(rows: list[list[Box]]) -> float:
    """Sets each box's width and centre; returns the drawing's width."""
    for row in rows:
        for box in row:
            box.width = PAD + CHAR_W * min(len(box.label), MAX_CHARS)
    widest = max(sum(b.width for b in row) + GAP * (len(row) - 1) for row in rows)
    for row in rows:
        x = MARGIN + (widest - sum(b.width for b in row) - GAP * (len(row) - 1)) / 2
        for box in row:
            box.x, x = x + box.width / 2, x + box.width + GAP
    return widest + 2 * MARGIN


def _top(box: Box) -> float:
    return MARGIN + box.layer * ROW


def _edge(source: Box, target: Box) -> str:
    x1, y1, x2, y2 = source.x, _top(source) + BOX_H, target.x, _top(target)
    mid = (y1 + y2) / 2
    return (f'<path d="M{x1:.1f},{y1:.1f} C{x1:.1f},{mid:.1f} {x2:.1f},{mid:.1f} {x2:.1f},{y2:.1f}" '
            'fill="none" stroke="#999" stroke-width="1"/>')


def _node(box: Box) -> str:
    fill, stroke = STYLE.get(box.op, ("#f4f4f4", "#777"))
    shown = box.label if len(box.label) <= MAX_CHARS else box.label[:MAX_CHARS - 1] + "…"
    left, top = box.x - box.width / 2, _top(box)
    return (f'<g><title>{esc(box.label)} ({esc(box.op)}, node {box.id})</title>'
            f'<rect x="{left:.1f}" y="{top:.1f}" width="{box.width:.1f}" height="{BOX_H}" rx="5" '
            f'fill="{fill}" stroke="{stroke}"/>'
            f'<text x="{box.x:.1f}" y="{top + 16:.1f}" text-anchor="middle" font-size="11" '
            f'font-family="Menlo, Consolas, monospace">{esc(shown)}</text></g>')


def esc(text: object) -> str:
    """Text safe inside an SVG (or HTML) element or a quoted attribute."""
    return escape(str(text), {'"': "&quot;", "'": "&#39;"})


def document(body: Sequence[str], title: str, width: float, height: float) -> str:
    """A whole <svg> element: the title as its accessible name and as a tooltip."""
    w, h = round(width), round(height)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
            f'role="img" aria-label="{esc(title)}" font-family="Helvetica, Arial, sans-serif" font-size="12">\n'
            f"<title>{esc(title)}</title>\n" + "\n".join(body) + "\n</svg>\n")


def empty(message: str) -> str:
    """A small drawing that says why there is no graph."""
    return document([f'<text x="150" y="30" text-anchor="middle" fill="#777">{esc(message)}</text>'],
                    "model graph", 300, 48)
