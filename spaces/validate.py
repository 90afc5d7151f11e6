"""Whole-grammar checks run after resolution: reachability, termination, limits, length-keeping bodies."""

from __future__ import annotations

import math
from collections.abc import Mapping

from archlab.spaces.analysis import Shortest, calls_under, reachable, spec_values
from archlab.spaces.blocks import BlockRegistry
from archlab.spaces.problems import Problem
from archlab.spaces.syntax import Call, Limits, Pos, Rule, SubRule


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
        + _length_changing_bodies(rules, start, blocks)
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


def _length_changing_bodies(rules: Mapping[str, Rule], start: str, blocks: BlockRegistry) -> list[Problem]:
    """A body that must keep the length may only reach blocks that keep it for every allowed value."""
    problems: dict[Pos, Problem] = {}
    for outer in calls_under(rules, start):
        for name, spec in outer.args:
            param = blocks[outer.block].param(name) if outer.block in blocks else None
            if not (param and param.must_keep_length and isinstance(spec, SubRule)):
                continue
            for inner in calls_under(rules, spec.rule):
                reason = _length_change(inner, blocks)
                if reason and inner.pos not in problems:
                    message = (
                        f"{inner.render()} {reason}, but it is reachable from {spec.rule!r}, the {name} "
                        f"of {outer.block} at line {outer.pos.line}, which must keep the length"
                    )
                    problems[inner.pos] = Problem(message, inner.pos.line, inner.pos.column)
    return list(problems.values())


def _length_change(call: Call, blocks: BlockRegistry) -> str | None:
    block = blocks.get(call.block)
    if block is None:
        return None
    if not block.keeps_length:
        return "changes the length"
    for name, spec in call.args:
        param = block.param(name)
        if param and param.length_safe is not None and not isinstance(spec, SubRule):
            unsafe = [v for v in spec_values(spec) if v not in param.length_safe]
            if unsafe:
                return f"changes the length when {name} is {unsafe[0]}"
    return None
