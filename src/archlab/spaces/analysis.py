"""Facts computed from the rules alone: shortest derivations and which rules are reachable.

min_depth and min_size drive both validation (a rule with no finite derivation) and sampling (an
alternative is only taken when it can still finish within the depth and size left).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping

from archlab.spaces.syntax import Alternative, Call, Choice, IntRange, Item, Ref, Rule, Spec, SubRule, Value


def subrules(call: Call) -> list[str]:
    """Rules named by a call's subtree parameters, in the order written."""
    return [spec.rule for _, spec in call.args if isinstance(spec, SubRule)]


def item_rules(item: Item) -> list[str]:
    return [item.name] if isinstance(item, Ref) else subrules(item)


def spec_values(spec: Spec) -> list[Value]:
    if isinstance(spec, Choice):
        return list(spec.values)
    if isinstance(spec, IntRange):
        return list(range(spec.lo, spec.hi + 1))
    raise TypeError("a subtree parameter has no scalar values")


def spec_contains(spec: Spec, value: Value) -> bool:
    if isinstance(spec, Choice):
        return any(type(value) is type(v) and value == v for v in spec.values)
    if isinstance(spec, IntRange):
        return isinstance(value, int) and not isinstance(value, bool) and spec.lo <= value <= spec.hi
    return False


class Shortest:
    """Minimum depth and size (node count) of a derivation of each rule; math.inf when none exists.

    Depth counts nodes on a path: a rule whose alternative is one bare block has depth 2 (the rule's
    node and the block's node). Computed as a least fixpoint, which terminates because values only
    decrease and are bounded below. An undefined name counts as a leaf: it is reported on its own,
    and counting it as endless would add a "never terminates" for every rule above it.
    """

    def __init__(self, rules: Mapping[str, Rule]) -> None:
        self.depth: dict[str, float] = {name: math.inf for name in rules}
        self.size: dict[str, float] = {name: math.inf for name in rules}
        changed = True
        while changed:
            changed = False
            for name, rule in rules.items():
                depth = min(self.alt_depth(alt) for alt in rule.alternatives)
                size = min(self.alt_size(alt) for alt in rule.alternatives)
                if depth < self.depth[name] or size < self.size[name]:
                    self.depth[name] = min(depth, self.depth[name])
                    self.size[name] = min(size, self.size[name])
                    changed = True

    def item_depth(self, item: Item) -> float:
        if isinstance(item, Ref):
            return self.depth.get(item.name, 1)
        return 1 + max((self.depth.get(r, 1) for r in subrules(item)), default=0)

    def item_size(self, item: Item) -> float:
        if isinstance(item, Ref):
            return self.size.get(item.name, 1)
        return 1 + sum(self.size.get(r, 1) for r in subrules(item))

    def alt_depth(self, alt: Alternative) -> float:
        return 1 + max((self.item_depth(item) for item in alt.items), default=0)

    def alt_size(self, alt: Alternative) -> float:
        return 1 + sum(self.item_size(item) for item in alt.items)


class SizeWithin:
    """The smallest size of a derivation whose depth is at most d, per rule and d (math.inf: none).

    Shortest gives the least depth and the least size separately, and they can belong to different
    derivations; near both limits only this joint figure says whether an alternative can still finish.
    A rule node takes one level, so row d follows from row d - 1 alone.
    """

    def __init__(self, rules: Mapping[str, Rule], max_depth: int) -> None:
        self.max_depth = max_depth
        self.table: dict[str, list[float]] = {name: [math.inf] * (max_depth + 1) for name in rules}
        for d in range(1, max_depth + 1):
            for name, rule in rules.items():
                self.table[name][d] = min(self.alt(alt, d) for alt in rule.alternatives)

    def rule(self, name: str, d: int) -> float:
        if name not in self.table:
            return 1  # an undefined name is reported on its own; count it as a leaf
        return self.table[name][min(d, self.max_depth)] if d >= 1 else math.inf

    def alt(self, alt: Alternative, d: int) -> float:
        """An alternative expanded by a rule node with d levels left, that node included."""
        return 1 + sum(self.item(item, d - 1) for item in alt.items) if d >= 1 else math.inf

    def item(self, item: Item, d: int) -> float:
        if isinstance(item, Ref):
            return self.rule(item.name, d)
        return 1 + sum(self.rule(r, d - 1) for r in subrules(item)) if d >= 1 else math.inf


def reachable(rules: Mapping[str, Rule], start: str) -> set[str]:
    seen: set[str] = set()
    stack = [start]
    while stack:
        name = stack.pop()
        if name in seen or name not in rules:
            continue
        seen.add(name)
        stack.extend(r for alt in rules[name].alternatives for item in alt.items for r in item_rules(item))
    return seen


def calls_under(rules: Mapping[str, Rule], start: str) -> Iterator[Call]:
    """Every call that some derivation of start may contain, subtree bodies included."""
    for name in sorted(reachable(rules, start)):
        for alt in rules[name].alternatives:
            yield from (item for item in alt.items if isinstance(item, Call))
