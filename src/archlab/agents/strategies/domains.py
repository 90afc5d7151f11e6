"""A grammar's space as a strategy domain: derivation trees, the grammar's mutation, its encoding.

A grammar has no finite list of neighbours, so a tree's neighbourhood is a fixed set of its one-move
mutations (`param` and `swap` moves: one block parameter or one terminal changed), drawn with an rng
seeded by the tree's key — the same set on every call, which local search needs to know when a
neighbourhood is spent. For the `nb201` space that set is all 24 one-edge changes.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from archlab.spaces import Node, Space

NEIGHBOUR_MOVES = ("param", "swap")


@dataclass
class GrammarDomain:
    space: Space
    neighbourhood: int = 32  # how many distinct one-move mutations make a tree's neighbourhood
    _neighbours: dict[str, list[Node]] = field(default_factory=dict, repr=False)

    def sample(self, rng: random.Random) -> Node:
        return self.space.sample(rng)

    def mutate(self, x: Node, rng: random.Random) -> Node:
        return self.space.mutate(x, rng)

    def key(self, x: Node) -> str:
        return self.space.canonical(x)

    def neighbours(self, x: Node) -> list[Node]:
        key = self.key(x)
        if key not in self._neighbours:
            self._neighbours[key] = self._draw_neighbours(x, key)
        return self._neighbours[key]

    def _draw_neighbours(self, x: Node, key: str) -> list[Node]:
        rng = random.Random(key)
        found: dict[str, Node] = {}
        for _ in range(self.neighbourhood * 4):
            child, move = self.space.mutate_with_move(x, rng, moves=NEIGHBOUR_MOVES)
            if move is None:  # nothing to change one parameter of: fall back to any move
                child = self.space.mutate(x, rng)
            child_key = self.key(child)
            if child_key != key:
                found.setdefault(child_key, child)
            if len(found) >= self.neighbourhood:
                break
        return list(found.values())

    def features(self, xs: Sequence[Node]) -> np.ndarray:
        return np.array([self.space.encode(x) for x in xs], dtype=np.float64).reshape(len(xs), -1)

    def prior(self, xs: Sequence[Node]) -> np.ndarray | None:
        """None: a tree's params and proxies are known only after its build job, too late to choose by."""
        return None
