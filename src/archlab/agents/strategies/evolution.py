"""Regularized evolution (Real et al. 2019, "aging evolution"): the population is the `population` most
recent results; a tournament of `tournament` random members picks the parent, whose mutation is the
child. Old members leave however good they are, which keeps the search moving.

Since the population is the tail of the history, the strategy needs no state of its own.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from archlab.agents.strategies.base import Domain, Observation, Suggestion, fresh, new_child, scored


@dataclass
class RegularizedEvolution:
    population: int = 20
    tournament: int = 5
    name: str = "evolution"

    def suggest(self, history: Sequence[Observation], domain: Domain, rng: random.Random) -> Suggestion:
        seen = {o.key for o in history}
        alive = scored(history)[-self.population:]
        if len(alive) < self.population:
            return Suggestion(fresh(domain, rng, seen), (), f"fresh sample ({len(alive)} of {self.population})")
        for _ in range(8):  # a parent whose every mutation was seen: hold another tournament
            entrants = rng.sample(alive, min(self.tournament, len(alive)))
            parent = max(entrants, key=lambda o: o.score)
            child = new_child(domain, parent.x, rng, seen)
            if child is not None:
                return Suggestion(child, (parent.ident,), f"mutation of the tournament winner ({parent.score:.4f})")
        return Suggestion(fresh(domain, rng, seen), (), "fresh sample (tournament winners exhausted)")
