"""Multi-objective search over score (maximised) and cost (minimised: params, FLOPs or latency).

`pareto_front` keeps the observations no other one beats on both; `hypervolume` is the area those
points dominate up to a reference point (score_ref below every score, cost_ref above every cost) — one
number that grows whenever the front moves out. `ParetoEvolution` mutates members of the current front,
each discounted by the children it already has, so the whole front moves, not only its best end.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from archlab.agents.strategies.base import Domain, Observation, Suggestion, children_count, fresh, new_child


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the non-dominated (score, cost) points, by rising cost; a tie keeps the first."""
    order = sorted(range(len(points)), key=lambda i: (points[i][1], -points[i][0], i))
    front, best = [], float("-inf")
    for i in order:
        if points[i][0] > best:
            front.append(i)
            best = points[i][0]
    return front


def hypervolume(points: Sequence[tuple[float, float]], score_ref: float, cost_ref: float) -> float:
    """Area dominated by the points inside the box [score_ref, inf) x (-inf, cost_ref]."""
    inside = [(s, c) for s, c in points if s > score_ref and c < cost_ref]
    area, covered = 0.0, score_ref
    for i in pareto_front(inside):  # rising cost, rising score
        score, cost = inside[i]
        area += (score - covered) * (cost_ref - cost)
        covered = score
    return area


def front_of(history: Sequence[Observation]) -> list[Observation]:
    ok = [o for o in history if o.score is not None and o.cost is not None]
    return [ok[i] for i in pareto_front([(o.score, o.cost) for o in ok])]


@dataclass
class ParetoEvolution:
    init: int = 10
    name: str = "pareto"

    def suggest(self, history: Sequence[Observation], domain: Domain, rng: random.Random) -> Suggestion:
        seen = {o.key for o in history}
        front = front_of(history)
        if len([o for o in history if o.score is not None]) < self.init or not front:
            return Suggestion(fresh(domain, rng, seen), (), "fresh sample")
        children = children_count(history)
        weights = [1.0 / (1 + children.get(o.ident, 0)) for o in front]
        for _ in range(8):
            parent = rng.choices(front, weights)[0]
            child = new_child(domain, parent.x, rng, seen)
            if child is not None:
                return Suggestion(child, (parent.ident,), f"mutation of a Pareto member ({parent.score:.4f}, "
                                                          f"cost {parent.cost:g}; front of {len(front)})")
        return Suggestion(fresh(domain, rng, seen), (), "fresh sample (the front's neighbourhood is spent)")
