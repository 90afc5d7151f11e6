"""A derivation as a fixed-length vector of counts, for predictors of a candidate's score.

The features are fixed by the grammar alone, so every tree of one grammar has a vector of the same
length with the same meaning at each index:

- `prod:R/i` — how often rule R took its alternative i;
- `param:B.p=v` — how often block B got value v for parameter p (values as JSON: `"max"`, `64`, `0.1`),
  for every value some call of B in the grammar allows. An int parameter with a range wider than
  _MAX_LEVELS values gets a single `param:B.p:sum` instead (the sum of its values over the tree);
- `pair:R/i>S/j` — how often a node of production S/j sits directly under production R/i, counting
  a block's subtree bodies as children of the production that holds the block.

Counts ignore order, so two trees that arrange the same parts differently can share an encoding.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from archlab.spaces.analysis import spec_values
from archlab.spaces.derivation import Node
from archlab.spaces.grammar import Grammar
from archlab.spaces.syntax import Call, IntRange, Ref, SubRule, Value

_MAX_LEVELS = 64  # wider int ranges become one sum feature instead of a count per value


def feature_names(grammar: Grammar) -> list[str]:
    """The name of each feature, in the order encode() writes them."""
    return Encoder(grammar).names


def encode(tree: Node, grammar: Grammar) -> list[float]:
    """Counts for tree, one per feature_names(grammar); ValueError if tree has a part the grammar lacks."""
    return Encoder(grammar).encode(tree)


class Encoder:
    """The feature index of one grammar, built once and reused for many trees."""

    def __init__(self, grammar: Grammar) -> None:
        self.grammar = grammar
        self.wide = _wide_params(grammar)
        self.names = [*_production_names(grammar), *_param_names(grammar, self.wide), *_pair_names(grammar)]
        self.index = {name: i for i, name in enumerate(self.names)}

    def encode(self, tree: Node) -> list[float]:
        vector = [0.0] * len(self.names)
        for name, amount in self._parts(tree, parent=None):
            where = self.index.get(name)
            if where is None:
                raise ValueError(f"tree is not a derivation of grammar {self.grammar.name!r}: no feature {name!r}")
            vector[where] += amount
        return vector

    def _parts(self, node: Node, parent: str | None) -> Iterator[tuple[str, float]]:
        """(feature, amount) for node and everything under it; parent is the enclosing production."""
        if node.is_rule:
            production = f"{node.symbol}/{node.alt}"
            yield f"prod:{production}", 1.0
            if parent is not None:
                yield f"pair:{parent}>{production}", 1.0
            parent = production
        else:
            yield from self._param_parts(node)
        for child in node.children:
            yield from self._parts(child, parent)

    def _param_parts(self, node: Node) -> Iterator[tuple[str, float]]:
        for name, value in node.params.items():
            if (node.symbol, name) in self.wide:
                yield _sum_name(node.symbol, name), float(value)
            else:
                yield _value_name(node.symbol, name, value), 1.0


def _production_names(grammar: Grammar) -> list[str]:
    return [f"prod:{name}/{i}" for name, rule in grammar.rules.items() for i in range(len(rule.alternatives))]


def _calls(grammar: Grammar) -> Iterator[Call]:
    for rule in grammar.rules.values():
        for alt in rule.alternatives:
            yield from (item for item in alt.items if isinstance(item, Call))


def _wide_params(grammar: Grammar) -> set[tuple[str, str]]:
    return {
        (call.block, name)
        for call in _calls(grammar)
        for name, spec in call.args
        if isinstance(spec, IntRange) and spec.hi - spec.lo + 1 > _MAX_LEVELS
    }


def _param_names(grammar: Grammar, wide: set[tuple[str, str]]) -> list[str]:
    """Per (block, parameter) in order of first use: its sum, or a count per allowed value."""
    values: dict[tuple[str, str], list[Value]] = {}
    for call in _calls(grammar):
        for name, spec in call.args:
            if isinstance(spec, SubRule):
                continue
            seen = values.setdefault((call.block, name), [])
            if (call.block, name) not in wide:
                seen.extend(v for v in spec_values(spec) if not any(_same(v, s) for s in seen))
    names: list[str] = []
    for (block, name), levels in values.items():
        if (block, name) in wide:
            names.append(_sum_name(block, name))
        else:
            names.extend(_value_name(block, name, v) for v in sorted(levels, key=_value_order))
    return names


def _pair_names(grammar: Grammar) -> list[str]:
    names: dict[str, None] = {}  # an ordered set: a rule used twice in one alternative gives its pairs once
    for parent, rule in grammar.rules.items():
        for i, alt in enumerate(rule.alternatives):
            for child in _child_rules(alt.items):
                for j in range(len(grammar.rule(child).alternatives)):
                    names[f"pair:{parent}/{i}>{child}/{j}"] = None
    return list(names)


def _child_rules(items: tuple[Ref | Call, ...]) -> Iterator[str]:
    for item in items:
        if isinstance(item, Ref):
            yield item.name
        else:
            yield from (spec.rule for _, spec in item.args if isinstance(spec, SubRule))


def _same(a: Value, b: Value) -> bool:
    return type(a) is type(b) and a == b


def _value_order(value: Value) -> tuple[bool, float, str]:
    """Numbers ascending, then strings alphabetically."""
    if isinstance(value, str):
        return (True, 0.0, value)
    return (False, float(value), type(value).__name__)


def _value_name(block: str, name: str, value: Value) -> str:
    return f"param:{block}.{name}={json.dumps(value)}"


def _sum_name(block: str, name: str) -> str:
    return f"param:{block}.{name}:sum"
