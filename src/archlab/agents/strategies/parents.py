"""Parent selection that balances how good a parent is against how often it was already used.

weight(p) = sigmoid(sharpness * (rank(p) - midpoint)) / (1 + children(p)), rank in [0, 1] with 1 the
best score: the best parents are favoured, but each child a parent already has halves, thirds... its
pull, so the search does not keep mutating one incumbent whose neighbourhood is spent (the weighting
of AlphaEvolve-style program databases; ShinkaEvolve's "weighted" parent sampling).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

from archlab.agents.strategies.base import Observation, children_count, scored


def parent_weights(history: Sequence[Observation], *, sharpness: float = 10.0,
                   midpoint: float = 0.75) -> list[tuple[Observation, float]]:
    """(observation, weight) for every scored observation; weights are positive and unnormalised."""
    ranked = sorted(scored(history), key=lambda o: o.score)
    if not ranked:
        return []
    children = children_count(history)
    n = len(ranked)
    out = []
    for i, obs in enumerate(ranked):
        rank = (i + 1) / n
        pull = 1.0 / (1.0 + math.exp(-sharpness * (rank - midpoint)))
        out.append((obs, pull / (1 + children.get(obs.ident, 0))))
    return out


def select_parents(history: Sequence[Observation], rng: random.Random, k: int, **kwargs: float) -> list[Observation]:
    """k distinct parents (fewer if fewer exist), drawn without replacement by parent_weights."""
    pool = parent_weights(history, **kwargs)
    chosen = []
    while pool and len(chosen) < k:
        total = sum(w for _, w in pool)
        pick = rng.random() * total
        for i, (obs, weight) in enumerate(pool):
            pick -= weight
            if pick <= 0 or i == len(pool) - 1:
                chosen.append(obs)
                pool.pop(i)
                break
    return chosen
