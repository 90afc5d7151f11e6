"""Search strategies: which architecture to evaluate next, given everything evaluated so far.

| name | module | what it does |
|---|---|---|
| `random` | random_search.py | fresh samples (the baseline) |
| `evolution` | evolution.py | regularized (aging) evolution: population, tournament |
| `local` | local.py | local search around the incumbent, neighbours ordered by the predictor |
| `bananas` | guided.py | predictor + acquisition (UCB / EI / mean) over many mutations and samples |
| `pareto` | pareto.py | mutates the Pareto front of score and cost; `hypervolume` measures it |

The offline planner of a run uses the one named by the `search.strategy` setting (`tournament`, the
default, is the planner's own tournament selection); `archlab bench` runs them side by side.
"""

from __future__ import annotations

from archlab.agents.strategies.base import Domain, Observation, Strategy, Suggestion
from archlab.agents.strategies.domains import GrammarDomain
from archlab.agents.strategies.evolution import RegularizedEvolution
from archlab.agents.strategies.guided import PredictorGuided
from archlab.agents.strategies.local import LocalSearch
from archlab.agents.strategies.parents import parent_weights, select_parents
from archlab.agents.strategies.pareto import ParetoEvolution, hypervolume, pareto_front
from archlab.agents.strategies.random_search import RandomSearch
from archlab.agents.strategies.surrogate import Surrogate

STRATEGIES = ("random", "evolution", "local", "bananas", "pareto")


def make_strategy(name: str, *, init: int = 10, population: int = 20, tournament: int = 5,
                  members: tuple[str, ...] = ("gp", "gbt", "ridge"), acquisition: str = "ucb", kappa: float = 0.5,
                  refit_fraction: float = 0.0, seed: int = 0) -> Strategy:
    """A strategy by name, with the settings that name uses (the others are ignored)."""
    if name == "random":
        return RandomSearch()
    if name == "evolution":
        return RegularizedEvolution(population=population, tournament=tournament)
    surrogate = Surrogate(members=members, min_points=init, refit_fraction=refit_fraction, seed=seed)
    if name == "local":
        return LocalSearch(init=init, surrogate=surrogate, acquisition=acquisition, kappa=kappa)
    if name == "bananas":
        return PredictorGuided(surrogate=surrogate, acquisition=acquisition, kappa=kappa)
    if name == "pareto":
        return ParetoEvolution(init=init)
    raise ValueError(f"unknown strategy {name!r}; known: {', '.join(STRATEGIES)}")


__all__ = ["STRATEGIES", "Domain", "GrammarDomain", "LocalSearch", "Observation", "ParetoEvolution",
           "PredictorGuided", "RandomSearch", "RegularizedEvolution", "Strategy", "Suggestion", "Surrogate",
           "hypervolume", "make_strategy", "parent_weights", "pareto_front", "select_parents"]
