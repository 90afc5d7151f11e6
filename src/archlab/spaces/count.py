"""How many derivations a grammar has within its limits: the size of the space, exactly.

counts[rule][d] is a vector over sizes: entry s is the number of derivation trees of the rule with
depth at most d and exactly s nodes, block parameter values included (a conv with 5 channel counts
and 3 kernels is 15 trees). An alternative's vector is the convolution of its items' vectors,
shifted by one for the rule's own node. Floats, since spaces exceed 2**64 quickly; this counts
derivations, not distinct networks (two derivations may build the same graph).
"""

from __future__ import annotations

import math

import numpy as np

from archlab.spaces.analysis import spec_values
from archlab.spaces.grammar import Grammar
from archlab.spaces.syntax import Alternative, Call, Item, Limits, Ref, SubRule


def count_derivations(grammar: Grammar, limits: Limits | None = None) -> float:
    """The number of derivations of the start symbol within the limits (math.inf past float range)."""
    limits = limits or grammar.limits
    counts = _Counter(grammar, limits.max_size).table(limits.max_depth)
    total = float(counts[grammar.start][limits.max_depth].sum())
    return total if math.isfinite(total) else math.inf


class _Counter:
    def __init__(self, grammar: Grammar, max_size: int) -> None:
        self.grammar, self.width = grammar, max_size + 1

    def table(self, max_depth: int) -> dict[str, list[np.ndarray]]:
        zero = np.zeros(self.width)
        self.counts: dict[str, list[np.ndarray]] = {name: [zero] for name in self.grammar.rules}
        for d in range(1, max_depth + 1):
            for name, rule in self.grammar.rules.items():
                self.counts[name].append(sum((self.alternative(alt, d) for alt in rule.alternatives), zero))
        return self.counts

    def alternative(self, alt: Alternative, d: int) -> np.ndarray:
        vector = self.unit()
        for item in alt.items:
            vector = self.convolve(vector, self.item(item, d - 1))
        return self.shift(vector)  # the rule node itself

    def item(self, item: Item, d: int) -> np.ndarray:
        if isinstance(item, Ref):
            return self.counts[item.name][d]
        return self.call(item, d)

    def call(self, call: Call, d: int) -> np.ndarray:
        if d < 1:
            return np.zeros(self.width)
        choices = math.prod(len(spec_values(spec)) for _, spec in call.args if not isinstance(spec, SubRule))
        vector = self.unit()
        for _, spec in call.args:
            if isinstance(spec, SubRule):
                vector = self.convolve(vector, self.counts[spec.rule][d - 1])
        return choices * self.shift(vector)

    def unit(self) -> np.ndarray:
        vector = np.zeros(self.width)
        vector[0] = 1.0
        return vector

    def convolve(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.convolve(a, b)[: self.width]

    def shift(self, vector: np.ndarray) -> np.ndarray:
        return np.concatenate(([0.0], vector[:-1]))
