"""Derivation trees: which alternative each rule took and which values each block got.

A Node for a rule has `alt` set and one child per item of that alternative. A Node for a block has
`alt` None, its scalar values in `params`, and one child per subtree parameter (declaration order).
Trees are immutable; mutation builds new ones.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from archlab.spaces.analysis import subrules
from archlab.spaces.grammar import Grammar
from archlab.spaces.syntax import Item, Ref, Value


@dataclass(frozen=True)
class Node:
    symbol: str
    alt: int | None = None
    params: Mapping[str, Value] = field(default_factory=dict)
    children: tuple[Node, ...] = ()

    def __post_init__(self) -> None:
        # A read-only view of a private copy, so a caller's dict cannot change a tree later.
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))
        object.__setattr__(self, "children", tuple(self.children))

    @property
    def is_rule(self) -> bool:
        return self.alt is not None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Node):
            return NotImplemented
        return (self.symbol, self.alt, dict(self.params), self.children) == (
            other.symbol,
            other.alt,
            dict(other.params),
            other.children,
        )

    def __hash__(self) -> int:
        return hash((self.symbol, self.alt, tuple(sorted(self.params.items())), self.children))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form; keys appear only when meaningful so the output stays small."""
        out: dict[str, Any] = {"symbol": self.symbol}
        if self.alt is not None:
            out["alt"] = self.alt
        if self.params:
            out["params"] = dict(sorted(self.params.items()))
        if self.children:
            out["children"] = [child.to_dict() for child in self.children]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Node:
        return cls(
            symbol=data["symbol"],
            alt=data.get("alt"),
            params=data.get("params", {}),
            children=tuple(cls.from_dict(child) for child in data.get("children", [])),
        )


def size(tree: Node) -> int:
    return 1 + sum(size(child) for child in tree.children)


def depth(tree: Node) -> int:
    return 1 + max((depth(child) for child in tree.children), default=0)


def canonical_json(tree: Node) -> str:
    return json.dumps(tree.to_dict(), sort_keys=True, separators=(",", ":"))


def canonical_hash(tree: Node) -> str:
    """sha256 of the canonical JSON: equal trees hash equally across processes and runs."""
    return hashlib.sha256(canonical_json(tree).encode()).hexdigest()


# -- walking a tree alongside its grammar -------------------------------------------------------


@dataclass(frozen=True)
class Site:
    """A node with its place: the path of child indexes from the root, its depth, and its item."""

    path: tuple[int, ...]
    depth: int
    node: Node
    item: Item


def child_items(node: Node, item: Item, grammar: Grammar) -> list[Item]:
    """The grammar items that produced each child of node."""
    if isinstance(item, Ref):
        assert node.alt is not None
        return list(grammar.rule(item.name).alternatives[node.alt].items)
    return [Ref(rule, item.pos) for rule in subrules(item)]


def sites(tree: Node, grammar: Grammar) -> Iterator[Site]:
    """Every node in pre-order, each paired with the item of the grammar that produced it."""
    stack = [Site((), 1, tree, Ref(grammar.start, grammar.rule(grammar.start).pos))]
    while stack:
        site = stack.pop()
        yield site
        items = child_items(site.node, site.item, grammar)
        for index in reversed(range(len(site.node.children))):
            stack.append(Site(site.path + (index,), site.depth + 1, site.node.children[index], items[index]))


def replace_at(tree: Node, path: tuple[int, ...], new: Node) -> Node:
    """A copy of tree with the node at path replaced; untouched branches are shared."""
    if not path:
        return new
    head, rest = path[0], path[1:]
    children = list(tree.children)
    children[head] = replace_at(children[head], rest, new)
    return Node(tree.symbol, tree.alt, tree.params, tuple(children))


# -- a readable one-line form --------------------------------------------------------------------


def summary(tree: Node, grammar: Grammar) -> str:
    """One line such as `conv(32,k5,s2) bn relu → conv(64,k3,s1) bn relu → gap_head`."""
    return _join(_labels(tree, grammar))


def _labels(node: Node, grammar: Grammar) -> list[tuple[bool, str]]:
    """(opens_group, label) for each block under node, in order; rules contribute only their blocks."""
    if node.is_rule:
        return [label for child in node.children for label in _labels(child, grammar)]
    block = grammar.block(node.symbol)
    pairs = zip(block.subtree_params, node.children, strict=True)
    inner = {param.name: _join(_labels(child, grammar)) for param, child in pairs}
    text = block.label(node.params, inner)
    return [(block.opens_group, text)] if text else []


def _join(labels: list[tuple[bool, str]]) -> str:
    groups: list[list[str]] = []
    for opens, text in labels:
        if opens or not groups:
            groups.append([])
        groups[-1].append(text)
    return " → ".join(" ".join(group) for group in groups) or "(empty)"
