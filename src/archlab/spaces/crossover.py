"""Crossover: graft a subtree of one parent into the other at a point of the same nonterminal.

Points are type-compatible by construction: a subtree of `a` derived from rule X is only replaced by
a subtree of `b` derived from the same rule X, so the child is a derivation of the grammar whenever
both parents are.
"""

from __future__ import annotations

import random
from collections import defaultdict

from archlab.spaces.derivation import Node, Site, depth, replace_at, sites, size
from archlab.spaces.grammar import Grammar
from archlab.spaces.syntax import Limits, Ref


def crossover(a: Node, b: Node, grammar: Grammar, rng: random.Random, limits: Limits | None = None) -> Node:
    """`a` with one subtree of rule X replaced by a subtree of `b` of the same rule X.

    A point of `a` is drawn uniformly among those that have at least one donor in `b` such that the
    child keeps within the limits and differs from `a`, then a donor uniformly among those. Pairs
    that break the limits are filtered out exactly beforehand rather than retried, so the operator
    never fails when a fitting pair exists. Swapping the two roots (the child would be `b` itself)
    is not a crossover and is never drawn.

    Falls back to `a` itself (trees are immutable, so this is as good as a copy) when there is no
    compatible point: no rule shared by the two trees below the roots, or no graft that fits the
    limits and changes `a`. Neither parent is modified; untouched branches of `a` are shared.
    """
    limits = limits or grammar.limits
    points = graft_points(a, b, grammar, limits)
    if not points:
        return a
    site, donors = points[rng.randrange(len(points))]
    return replace_at(a, site.path, rng.choice(donors))


def graft_points(a: Node, b: Node, grammar: Grammar, limits: Limits) -> list[tuple[Site, list[Node]]]:
    """Each rule node of `a` that can take a subtree of `b`, with every subtree of `b` that fits there."""
    donors = _rule_subtrees(b, grammar)
    free_size = limits.max_size - size(a)
    points: list[tuple[Site, list[Node]]] = []
    for site in sites(a, grammar):
        if not isinstance(site.item, Ref):
            continue
        fitting = [
            node
            for path, node, node_size, node_depth in donors.get(site.item.name, [])
            if (site.path or path)  # root for root would just copy b
            and node_size - size(site.node) <= free_size
            and site.depth + node_depth - 1 <= limits.max_depth
            and node != site.node
        ]
        if fitting:
            points.append((site, fitting))
    return points


def _rule_subtrees(tree: Node, grammar: Grammar) -> dict[str, list[tuple[tuple[int, ...], Node, int, int]]]:
    """Rule name → (path, subtree, size, depth) of every rule node of tree derived from that rule."""
    found: dict[str, list[tuple[tuple[int, ...], Node, int, int]]] = defaultdict(list)
    for site in sites(tree, grammar):
        if isinstance(site.item, Ref):
            found[site.item.name].append((site.path, site.node, size(site.node), depth(site.node)))
    return found
