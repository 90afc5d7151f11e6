"""Local search around the incumbent (White, Nolen and Savani 2021: on NAS benchmarks a plain local
search is hard to beat).

A walk starts from the best of `init` fresh samples (each the zero-cost prior's favourite of a pool
of samples). The incumbent is the walk's best result; its untried neighbours are evaluated in the order
the predictor ranks them (once it has `min_points` results; the prior's or chance's order before), so a
better neighbour becomes the incumbent as soon as it is found (first improvement). When every
neighbour of the incumbent has been tried, it is a local optimum and a new walk starts. The walk is
replayed from the history on every call: nothing to save, the same walk on a resume.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from archlab.agents.strategies.base import (
    Domain,
    Observation,
    Suggestion,
    best_by_prior,
    fresh,
    sample_pool,
)
from archlab.agents.strategies.surrogate import Surrogate, rank_by_acquisition


@dataclass
class LocalSearch:
    init: int = 10  # start points before the walk begins
    pool: int = 200  # fresh samples the prior chooses a start point from
    surrogate: Surrogate | None = None  # None: neighbours in random order
    acquisition: str = "ucb"
    kappa: float = 0.5
    name: str = "local"

    def suggest(self, history: Sequence[Observation], domain: Domain, rng: random.Random) -> Suggestion:
        seen = {o.key for o in history}
        walk = self.current_walk(history, domain)
        if len(walk) >= self.init:
            incumbent = max(walk, key=lambda o: o.score)
            options = [n for n in domain.neighbours(incumbent.x) if domain.key(n) not in seen]
            if options:
                return self._step(history, domain, rng, incumbent, options)
        return self._start(domain, rng, seen)

    def current_walk(self, history: Sequence[Observation], domain: Domain) -> list[Observation]:
        """The scored results since the last local optimum (all of them when there was none)."""
        seen: set[str] = set()
        walk: list[Observation] = []
        incumbent: Observation | None = None
        for obs in history:
            seen.add(obs.key)
            if obs.score is None:
                continue
            walk.append(obs)
            if incumbent is None or obs.score > incumbent.score:
                incumbent = obs
            if len(walk) >= self.init and all(domain.key(n) in seen for n in domain.neighbours(incumbent.x)):
                walk, incumbent = [], None  # a local optimum: the next walk starts afresh
        return walk

    def _start(self, domain: Domain, rng: random.Random, seen: set[str]) -> Suggestion:
        pool = sample_pool(domain, rng, seen, self.pool)
        if not pool:
            return Suggestion(fresh(domain, rng, seen), (), "fresh sample (the space looks spent)")
        x, how = best_by_prior(domain, pool, rng)
        return Suggestion(x, (), f"local search start: {how}")

    def _step(self, history: Sequence[Observation], domain: Domain, rng: random.Random, incumbent: Observation,
              options: list) -> Suggestion:
        where = f"neighbour of the incumbent ({incumbent.score:.4f}, {len(options)} untried)"
        if self.surrogate is not None and self.surrogate.ready(history):
            order, mean, std = rank_by_acquisition(self.surrogate, history, domain, options, self.acquisition,
                                                   self.kappa)
            best = int(order[0])
            return Suggestion(options[best], (incumbent.ident,),
                              f"{where}, predicted {mean[best]:.4f} ± {std[best]:.4f}")
        prior = domain.prior(options)
        if prior is not None:
            best = max(range(len(options)), key=lambda i: prior[i])
            return Suggestion(options[best], (incumbent.ident,), f"{where}, best zero-cost prior")
        return Suggestion(options[rng.randrange(len(options))], (incumbent.ident,), where)
