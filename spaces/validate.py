"""Whole-grammar checks run after resolution: reachability, termination, limits, and types."""

from __future__ import annotations

import math
from collections.abc import Mapping

from archlab.spaces.analysis import Shortest, reachable
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
        + _beyond_limits(start, start_pos, shortest, limits)
        + check_types(rules, start, start_pos, blocks)
    )


def _unreachable(rules: Mapping[str, Rule], start: str) -> list[Problem]:
    seen = reachable(rules, start)
    return [
        Problem(f"rule {name!r} is unreachable from start symbol {start!r}", rule.pos.line, rule.pos.column)
        for name, rule in rules.items()
        if name not in seen
    ]


def _non_terminating(rules: Mapping[str, Rule], shortest: Shortest) -> list[Problem]:
    return [
        Problem(
            f"rule {name!r} can never terminate: every alternative recurses without end",
            rule.pos.line,
            rule.pos.column,
        )
        for name, rule in rules.items()
        if math.isinf(shortest.size[name])
    ]


def _beyond_limits(start: str, pos: Pos, shortest: Shortest, limits: Limits) -> list[Problem]:
    depth, size = shortest.depth[start], shortest.size[start]
    if math.isinf(size) or (depth <= limits.max_depth and size <= limits.max_size):
        return []
    message = (
        f"the shortest derivation of {start!r} (depth {depth:g}, size {size:g}) exceeds the limits "
        f"(max_depth {limits.max_depth}, max_size {limits.max_size})"
    )
    return [Problem(message, pos.line, pos.column)]
