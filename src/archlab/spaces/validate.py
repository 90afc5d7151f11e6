"""Whole-grammar checks run after resolution: reachability, termination, limits, and types."""

from __future__ import annotations

import math
from collections.abc import Mapping

from archlab.spaces.analysis import Shortest, SizeWithin, reachable
from archlab.spaces.blocks import BlockRegistry
from archlab.spaces.problems import Problem
from archlab.spaces.syntax import Limits, Pos, Rule
from archlab.spaces.typecheck import check_types


def validate_rules(
    rules: Mapping[str, Rule], start: str, start_pos: Pos, limits: Limits, blocks: BlockRegistry
) -> list[Problem]:
    if start not in rules:
        return [Problem(f"start symbol {start!r} is not a rule", start_pos.line, start_pos.column)]
    shortest = Shortest(rules)
    return (
        _unreachable(rules, start)
        + _non_terminating(rules, shortest)
        + _beyond_limits(rules, start, start_pos, shortest, limits)
        + check_types(rules, start, start_pos, blocks)
    )


def _unreachable(rules: Mapping[str, Rule], start: str) -> list[Problem]:
    seen = reachable(rules, start)
    return [
        Problem.at(rule.pos, f"rule {name!r} is unreachable from start symbol {start!r}")
        for name, rule in rules.items()
        if name not in seen
    ]


def _non_terminating(rules: Mapping[str, Rule], shortest: Shortest) -> list[Problem]:
    return [
        Problem.at(rule.pos, f"rule {name!r} can never terminate: every alternative recurses without end")
        for name, rule in rules.items()
        if math.isinf(shortest.size[name])
    ]


def _beyond_limits(
    rules: Mapping[str, Rule], start: str, pos: Pos, shortest: Shortest, limits: Limits
) -> list[Problem]:
    """The start symbol needs one derivation within both limits at once, not each limit separately."""
    if math.isinf(shortest.size[start]):
        return []  # reported as non-terminating
    within = SizeWithin(rules, limits.max_depth).rule(start, limits.max_depth)
    if within <= limits.max_size:
        return []
    depth, size = shortest.depth[start], shortest.size[start]
    smallest = f"size {within:g}" if not math.isinf(within) else f"none; the shallowest has depth {depth:g}"
    message = (
        f"no derivation of {start!r} fits the limits (max_depth {limits.max_depth}, max_size "
        f"{limits.max_size}): the shortest has size {size:g}; within the depth limit the smallest: {smallest}"
    )
    return [Problem.at(pos, message)]
