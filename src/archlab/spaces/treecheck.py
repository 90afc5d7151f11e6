"""Checks that a tree (for instance one read back from JSON) is a derivation the grammar allows."""

from __future__ import annotations

from archlab.spaces.analysis import spec_contains, subrules
from archlab.spaces.derivation import Node, depth, size
from archlab.spaces.grammar import Grammar
from archlab.spaces.syntax import Call, Item, Limits, Ref, SubRule


def check_tree(tree: Node, grammar: Grammar, limits: Limits | None = None) -> list[str]:
    """Every way tree departs from the grammar or the limits; an empty list means valid."""
    limits = limits or grammar.limits
    problems: list[str] = []
    _check(tree, Ref(grammar.start, grammar.rule(grammar.start).pos), grammar, "root", problems)
    if depth(tree) > limits.max_depth:
        problems.append(f"depth {depth(tree)} exceeds max_depth {limits.max_depth}")
    if size(tree) > limits.max_size:
        problems.append(f"size {size(tree)} exceeds max_size {limits.max_size}")
    return problems


def _check(node: Node, item: Item, grammar: Grammar, where: str, problems: list[str]) -> None:
    expected = item.name if isinstance(item, Ref) else item.block
    if node.symbol != expected:
        problems.append(f"{where}: expected {expected!r}, found {node.symbol!r}")
        return
    children = (
        _rule_children(node, item, grammar, where, problems)
        if isinstance(item, Ref)
        else _call_children(node, item, where, problems)
    )
    if children is None:
        return
    if len(children) != len(node.children):
        problems.append(f"{where}: {node.symbol!r} needs {len(children)} children, has {len(node.children)}")
        return
    for index, (child, child_item) in enumerate(zip(node.children, children, strict=True)):
        _check(child, child_item, grammar, f"{where}.{index}", problems)


def _rule_children(
    node: Node, item: Ref, grammar: Grammar, where: str, problems: list[str]
) -> list[Item] | None:
    alternatives = grammar.rule(item.name).alternatives
    if node.alt is None or not 0 <= node.alt < len(alternatives) or node.params:
        problems.append(f"{where}: rule {item.name!r} needs an alternative in 0..{len(alternatives) - 1}")
        return None
    return list(alternatives[node.alt].items)


def _call_children(node: Node, call: Call, where: str, problems: list[str]) -> list[Item] | None:
    scalars = {name: spec for name, spec in call.args if not isinstance(spec, SubRule)}
    if node.alt is not None or set(node.params) != set(scalars):
        problems.append(f"{where}: block {call.block!r} needs exactly the parameters {sorted(scalars)}")
        return None
    for name, spec in scalars.items():
        if not spec_contains(spec, node.params[name]):
            value = node.params[name]
            problems.append(f"{where}: {call.block}({name}) = {value!r} is not in {spec.render()}")
    return [Ref(rule, call.pos) for rule in subrules(call)]
