"""Random derivations under depth and size limits.

An alternative is only taken when its smallest completion within the depth left still fits the
node budget left (grammar.size_within), so near the limits the sampler falls back to the
alternatives that terminate soonest, and every sample is within the limits by construction (no
retries, and no dead end: validation guarantees the start symbol has a derivation within both).
"""

from __future__ import annotations

import random

from archlab.spaces.analysis import spec_values
from archlab.spaces.derivation import Node
from archlab.spaces.grammar import Grammar
from archlab.spaces.syntax import Call, Item, Limits, Ref, SubRule


def sample_tree(grammar: Grammar, rng: random.Random, limits: Limits | None = None) -> Node:
    """A random derivation of the start symbol; the same rng state gives the same tree."""
    limits = limits or grammar.limits
    return Sampler(grammar, rng, limits).item(
        Ref(grammar.start, grammar.rule(grammar.start).pos), depth=1, budget=limits.max_size
    )[0]


class Sampler:
    """Expands items top-down; `depth` is the depth of the node being made, `budget` its size cap."""

    def __init__(self, grammar: Grammar, rng: random.Random, limits: Limits) -> None:
        self.grammar, self.rng, self.limits = grammar, rng, limits
        self.within = grammar.size_within(limits.max_depth)

    def levels(self, depth: int) -> int:
        """Levels a node at this depth may use, itself included."""
        return self.limits.max_depth - depth + 1

    def item(self, item: Item, depth: int, budget: int) -> tuple[Node, int]:
        """The node for item and its size."""
        if isinstance(item, Ref):
            return self.rule(item.name, depth, budget)
        return self.call(item, depth, budget)

    def rule(self, name: str, depth: int, budget: int) -> tuple[Node, int]:
        alternatives = self.grammar.rule(name).alternatives
        feasible = [
            index for index, alt in enumerate(alternatives) if self.within.alt(alt, self.levels(depth)) <= budget
        ]
        if not feasible:  # callers only ask for what fits; reaching here is a bug in the budget sums
            raise RuntimeError(f"no alternative of {name!r} fits depth {depth} and budget {budget}")
        index = self.rng.choices(feasible, weights=[alternatives[i].weight for i in feasible])[0]
        children, used = self.expand_all(list(alternatives[index].items), depth + 1, budget - 1)
        return Node(name, index, {}, children), used + 1

    def expand_all(self, items: list[Item], depth: int, budget: int) -> tuple[tuple[Node, ...], int]:
        """Expand items left to right, reserving for each the shortest size of the items after it."""
        nodes: list[Node] = []
        used = 0
        for index, item in enumerate(items):
            reserve = sum(self.within.item(later, self.levels(depth)) for later in items[index + 1 :])
            node, node_size = self.item(item, depth, int(budget - used - reserve))
            nodes.append(node)
            used += node_size
        return tuple(nodes), used

    def call(self, call: Call, depth: int, budget: int) -> tuple[Node, int]:
        params = {
            name: self.rng.choice(spec_values(spec))
            for name, spec in call.args
            if not isinstance(spec, SubRule)
        }
        bodies: list[Item] = [Ref(spec.rule, spec.pos) for _, spec in call.args if isinstance(spec, SubRule)]
        children, used = self.expand_all(bodies, depth + 1, budget - 1)
        return Node(call.block, None, params, children), used + 1


def shortest_tree(grammar: Grammar, name: str, rng: random.Random | None = None) -> Node:
    """A smallest derivation of rule `name` (size grammar.shortest.size[name]); its depth may exceed
    grammar.shortest.depth[name], which a different derivation can reach.

    The shape depends on the grammar alone; block values are drawn from rng, or are the first value
    each spec allows when rng is None.
    """
    alternatives = grammar.rule(name).alternatives
    index = shortest_alternative(grammar, name)
    children = tuple(_shortest_item(grammar, item, rng) for item in alternatives[index].items)
    return Node(name, index, {}, children)


def shortest_alternative(grammar: Grammar, name: str) -> int:
    """The alternative of rule `name` with the smallest derivation; ties to the lower alt_depth, then the first."""
    shortest, alternatives = grammar.shortest, grammar.rule(name).alternatives
    return min(
        range(len(alternatives)),
        key=lambda i: (shortest.alt_size(alternatives[i]), shortest.alt_depth(alternatives[i]), i),
    )


def _shortest_item(grammar: Grammar, item: Item, rng: random.Random | None) -> Node:
    if isinstance(item, Ref):
        return shortest_tree(grammar, item.name, rng)
    params = {
        name: (rng.choice(spec_values(spec)) if rng is not None else spec_values(spec)[0])
        for name, spec in item.args
        if not isinstance(spec, SubRule)
    }
    bodies = tuple(shortest_tree(grammar, spec.rule, rng) for _, spec in item.args if isinstance(spec, SubRule))
    return Node(item.block, None, params, bodies)
