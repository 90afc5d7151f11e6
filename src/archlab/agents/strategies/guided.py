"""Predictor-guided search, BANANAS-style (White, Neiswanger and Savani 2021): many candidates are made
cheaply, the predictor scores them all, and only the one the acquisition rule values most is evaluated.

Candidates: every untried neighbour of `parents` parents (drawn by score, discounted by the children
they already have: parents.py), `mutations` two-step mutations of them, and `samples` fresh samples so
the search can leave its basin. Acquisition: the evaluator's UCB, EI or the predicted mean. Cold start
(fewer results than the surrogate's `min_points`): the zero-cost prior picks from a pool of samples.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from archlab.agents.strategies.base import (
    Domain,
    Observation,
    Suggestion,
    best_by_prior,
    fresh,
    sample_pool,
)
from archlab.agents.strategies.parents import select_parents
from archlab.agents.strategies.surrogate import Surrogate, rank_by_acquisition


@dataclass
class PredictorGuided:
    surrogate: Surrogate = field(default_factory=Surrogate)
    acquisition: str = "ucb"
    kappa: float = 0.5
    parents: int = 5
    mutations: int = 30
    samples: int = 50
    pool: int = 200  # cold start: fresh samples the prior chooses from
    name: str = "bananas"

    def suggest(self, history: Sequence[Observation], domain: Domain, rng: random.Random) -> Suggestion:
        seen = {o.key for o in history}
        if not self.surrogate.ready(history):
            pool = sample_pool(domain, rng, seen, self.pool)
            if not pool:
                return Suggestion(fresh(domain, rng, seen), (), "fresh sample (the space looks spent)")
            x, how = best_by_prior(domain, pool, rng)
            return Suggestion(x, (), f"cold start: {how}")
        candidates, origin = self._candidates(history, domain, rng, seen)
        if not candidates:
            return Suggestion(fresh(domain, rng, seen), (), "fresh sample (no untried candidate)")
        order, mean, std = rank_by_acquisition(self.surrogate, history, domain, candidates, self.acquisition,
                                               self.kappa)
        best = int(order[0])
        parent = origin[best]
        how = (f"{'mutation of ' + parent.ident if parent else 'fresh sample'}: best {self.acquisition} of "
               f"{len(candidates)} candidates, predicted {mean[best]:.4f} ± {std[best]:.4f}")
        return Suggestion(candidates[best], (parent.ident,) if parent else (), how)

    def _candidates(self, history: Sequence[Observation], domain: Domain, rng: random.Random,
                    seen: set[str]) -> tuple[list[Any], list[Observation | None]]:
        found: dict[str, tuple[Any, Observation | None]] = {}

        def add(x: Any, parent: Observation | None) -> None:
            key = domain.key(x)
            if key not in seen:
                found.setdefault(key, (x, parent))

        chosen = select_parents(history, rng, self.parents)
        for parent in chosen:
            for n in domain.neighbours(parent.x):
                add(n, parent)
        for i in range(self.mutations if chosen else 0):
            parent = chosen[i % len(chosen)]
            add(domain.mutate(domain.mutate(parent.x, rng), rng), parent)
        for x in sample_pool(domain, rng, seen, self.samples):
            add(x, None)
        xs = list(found.values())
        return [x for x, _ in xs], [p for _, p in xs]
