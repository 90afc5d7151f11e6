"""NAS-Bench-201 cells: the benchmark's string form, derivations of the `nb201` space, canonical forms.

A cell has four nodes; node j sums op(i→j)(node i) over i < j, and node 3 is its output. Its six
edges, in the benchmark's string order, are (1←0) (2←0) (2←1) (3←0) (3←1) (3←2):

    |nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|

A derivation of the built-in space `nb201` is `network -> nb201_network(edge_1_0: ..., ...)`: one
block whose six choice parameters are the edges (spaces/builtin/nb201.grammar).
"""

from __future__ import annotations

import re

from archlab.errors import ConfigError
from archlab.spaces.derivation import Node

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))  # (to, from), in string order
EDGE_PARAMS = tuple(f"edge_{to}_{src}" for to, src in EDGES)
BLOCK = "nb201_network"
START = "network"

Cell = tuple[str, str, str, str, str, str]  # one op per edge, in EDGES order

_NODE_RE = re.compile(r"\|(?:[a-z0-9_]+~\d+\|)+")


# -- the benchmark's string -----------------------------------------------------------------------


def parse_arch_string(arch: str) -> Cell:
    """The six ops of a cell string; ConfigError saying what is wrong when it is malformed."""
    nodes = arch.split("+")
    if len(nodes) != 3:
        raise ConfigError(f"NAS-Bench-201 cell string needs 3 '+'-separated nodes, found {len(nodes)}: {arch!r}")
    ops: list[str] = []
    for to, node in enumerate(nodes, start=1):
        ops += _parse_node(node, to, arch)
    return (ops[0], ops[1], ops[2], ops[3], ops[4], ops[5])


def _parse_node(node: str, to: int, arch: str) -> list[str]:
    if not _NODE_RE.fullmatch(node):
        raise ConfigError(f"node {to} of {arch!r} is {node!r}, expected |op~i|...| with one entry per input")
    entries = node.strip("|").split("|")
    if len(entries) != to:
        raise ConfigError(f"node {to} of {arch!r} needs {to} inputs, found {len(entries)}")
    ops = []
    for expected, entry in enumerate(entries):
        op, src = entry.split("~")
        if op not in OPS:
            raise ConfigError(f"unknown op {op!r} in node {to} of {arch!r}; ops are {', '.join(OPS)}")
        if int(src) != expected:
            raise ConfigError(f"node {to} of {arch!r} lists input {src} where input {expected} belongs")
        ops.append(op)
    return ops


def format_arch_string(cell: Cell) -> str:
    """The benchmark's string for a cell's six ops (EDGES order)."""
    _check_cell(cell)
    by_node: dict[int, list[str]] = {1: [], 2: [], 3: []}
    for (to, src), op in zip(EDGES, cell, strict=True):
        by_node[to].append(f"{op}~{src}")
    return "+".join("|" + "|".join(entries) + "|" for entries in by_node.values())


def _check_cell(cell: Cell) -> None:
    if len(cell) != len(EDGES) or any(op not in OPS for op in cell):
        raise ConfigError(f"a NAS-Bench-201 cell is six ops from {', '.join(OPS)}; got {cell!r}")


# -- derivations of the nb201 space ---------------------------------------------------------------


def cell_to_tree(cell: Cell) -> Node:
    _check_cell(cell)
    block = Node(BLOCK, None, dict(zip(EDGE_PARAMS, cell, strict=True)))
    return Node(START, 0, {}, (block,))


def tree_to_cell(tree: Node) -> Cell:
    """The cell of a derivation of the nb201 space; ConfigError for any other tree."""
    block = tree.children[0] if tree.symbol == START and len(tree.children) == 1 else None
    if block is None or block.symbol != BLOCK or set(block.params) != set(EDGE_PARAMS):
        raise ConfigError(f"not a derivation of the nb201 space: {tree.to_dict()!r}")
    cell = tuple(str(block.params[name]) for name in EDGE_PARAMS)
    _check_cell(cell)  # type: ignore[arg-type]
    return cell  # type: ignore[return-value]


def from_arch_string(arch: str) -> Node:
    """The nb201 derivation of a benchmark cell string."""
    return cell_to_tree(parse_arch_string(arch))


def to_arch_string(tree: Node) -> str:
    """The benchmark cell string of an nb201 derivation."""
    return format_arch_string(tree_to_cell(tree))


# -- canonical form -------------------------------------------------------------------------------


def canonical(cell: Cell | str | Node) -> str:
    """One string per class of equivalent cells: NAS-Bench-201's own convention (6,466 classes).

    Node 0 is "0"; an edge gives "(x)@op" for the term x of its source node, "x" itself for
    skip_connect (the identity), and "#" (zero) for `none` or when its source node is exactly "#";
    a node is its terms sorted and joined by "+" (sums commute), and the cell is node 3's string.
    This is xautodl's CellStructure.to_unique_str(consider_zero=True); it equals the `canonical`
    column of the benchmark table for all 15,625 cells.

    Zeros that enter a sum stay as "#" terms and ops applied to an all-zero sum stay as "(#+#)@op".
    The second is right for the convs: ReLU-conv-BN of zeros is BatchNorm's learned bias, not zero.
    """
    ops = _ops_of(cell)
    nodes = ["0"]
    for to in (1, 2, 3):
        terms = [_term(op, nodes[src]) for (dst, src), op in zip(EDGES, ops, strict=True) if dst == to]
        nodes.append("+".join(sorted(terms)))
    return nodes[3]


def _term(op: str, source: str) -> str:
    if op == "none" or source == "#":
        return "#"
    if op == "skip_connect":
        return source
    return f"({source})@{op}"


def _ops_of(cell: Cell | str | Node) -> Cell:
    if isinstance(cell, str):
        return parse_arch_string(cell)
    if isinstance(cell, Node):
        return tree_to_cell(cell)
    _check_cell(cell)
    return cell


# -- NASLib's op-index tuples ---------------------------------------------------------------------

# NASLib numbers the ops 0 skip_connect, 1 none, 2 nor_conv_3x3, 3 nor_conv_1x1, 4 avg_pool_3x3 and
# orders the edges (1,2) (1,3) (1,4) (2,3) (2,4) (3,4) with nodes counted from 1.
NASLIB_OPS = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
_NASLIB_TO_CELL = (0, 1, 3, 2, 4, 5)  # cell edge k is NASLib position _NASLIB_TO_CELL[k]


def from_naslib_ops(indexes: tuple[int, ...]) -> str:
    """The benchmark cell string of a NASLib op-index tuple such as (4, 3, 3, 3, 2, 3)."""
    if len(indexes) != 6 or any(i not in range(len(NASLIB_OPS)) for i in indexes):
        raise ConfigError(f"a NASLib NAS-Bench-201 key is six op indexes in 0..4; got {indexes!r}")
    cell = tuple(NASLIB_OPS[indexes[position]] for position in _NASLIB_TO_CELL)
    return format_arch_string(cell)  # type: ignore[arg-type]
