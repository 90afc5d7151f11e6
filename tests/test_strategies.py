"""The search strategies on a small synthetic space with a known optimum, and the grammar domain."""

from __future__ import annotations

import random

import numpy as np
import pytest

from archlab.agents.strategies import (
    GrammarDomain,
    LocalSearch,
    Observation,
    ParetoEvolution,
    PredictorGuided,
    RandomSearch,
    RegularizedEvolution,
    Surrogate,
    hypervolume,
    make_strategy,
    parent_weights,
    pareto_front,
    select_parents,
)
from archlab.spaces import load_space

EDGES, OPS = 4, 4
WEIGHTS = np.array([[0.0, 1.0, 3.0, 2.0], [0.0, 2.0, 1.0, 3.0], [3.0, 0.0, 1.0, 2.0], [1.0, 3.0, 2.0, 0.0]])
BEST = 12.0  # every edge at its best op


class ToyDomain:
    """4 edges x 4 ops, an additive score with a small interaction: 256 cells, one optimum."""

    def sample(self, rng):
        return tuple(rng.randrange(OPS) for _ in range(EDGES))

    def mutate(self, x, rng):
        edge, step = rng.randrange(EDGES), rng.randrange(1, OPS)
        return tuple((op + step) % OPS if i == edge else op for i, op in enumerate(x))

    def neighbours(self, x):
        return [tuple((op + s) % OPS if i == e else op for i, op in enumerate(x)) for e in range(EDGES)
                for s in range(1, OPS)]

    def key(self, x):
        return "".join(map(str, x))

    def features(self, xs):
        return np.array([np.eye(OPS)[list(x)].ravel() for x in xs], dtype=np.float64).reshape(len(xs), -1)

    def prior(self, xs):
        return None


def score(x) -> float:
    return float(sum(WEIGHTS[e, op] for e, op in enumerate(x))) + (0.5 if x[0] == x[1] else 0.0)


def search(strategy, budget: int, seed: int = 0) -> list[Observation]:
    domain, rng, history = ToyDomain(), random.Random(seed), []
    for _ in range(budget):
        s = strategy.suggest(history, domain, rng)
        history.append(Observation(ident=domain.key(s.x), key=domain.key(s.x), x=s.x, score=score(s.x),
                                   parents=s.parents, cost=float(sum(s.x))))
    return history


@pytest.mark.parametrize("strategy", [
    RandomSearch(), RegularizedEvolution(population=8, tournament=3), LocalSearch(init=4),
    LocalSearch(init=4, surrogate=Surrogate(members=("ridge",), min_points=4)),
    PredictorGuided(surrogate=Surrogate(members=("ridge",), min_points=6), acquisition="ei"),
    ParetoEvolution(init=6),
], ids=["random", "evolution", "local", "local+predictor", "bananas", "pareto"])
def test_strategies_never_repeat_and_are_deterministic(strategy):
    history = search(strategy, 40)
    assert len({o.key for o in history}) == 40  # 40 distinct cells of 256: none evaluated twice
    assert [o.key for o in search(strategy, 40)] == [o.key for o in history]


def test_guided_strategies_beat_random_on_average():
    def mean_best(make) -> float:
        return float(np.mean([max(o.score for o in search(make(), 25, seed)) for seed in range(5)]))

    rand = mean_best(RandomSearch)
    assert mean_best(lambda: LocalSearch(init=5)) > rand
    assert mean_best(lambda: PredictorGuided(surrogate=Surrogate(members=("ridge",), min_points=6),
                                             acquisition="mean")) > rand


def test_local_search_finds_the_optimum_and_restarts_at_a_local_optimum():
    history = search(LocalSearch(init=4), 120)
    assert max(o.score for o in history) >= BEST
    walk = LocalSearch(init=4).current_walk(history, ToyDomain())
    assert len(walk) < len([o for o in history if o.score is not None])  # a walk ended and a new one began


def test_local_search_steps_from_the_incumbent():
    history = search(LocalSearch(init=5), 5)
    s = LocalSearch(init=5).suggest(history, ToyDomain(), random.Random(0))
    incumbent = max(history, key=lambda o: o.score)
    assert s.parents == (incumbent.ident,) and s.x in ToyDomain().neighbours(incumbent.x)


def test_regularized_evolution_forgets_old_members():
    domain = ToyDomain()
    old_best = Observation("old", "3333", (3, 3, 3, 3), 100.0)
    young = [Observation(f"y{i}", f"0{i:03d}", (0, 0, 0, i % 4), float(i)) for i in range(8)]
    s = RegularizedEvolution(population=8, tournament=8).suggest([old_best, *young], domain, random.Random(0))
    assert s.parents == ("y7",)  # the best of the living 8; the old one has aged out


def test_parent_weights_favour_good_parents_and_discount_children():
    obs = [Observation(f"p{i}", f"p{i}", i, float(i)) for i in range(10)]
    weights = dict((o.ident, w) for o, w in parent_weights(obs))
    assert weights["p9"] > weights["p5"] > weights["p0"]
    kids = [Observation(f"k{i}", f"k{i}", 0, None, parents=("p9",)) for i in range(3)]
    discounted = dict((o.ident, w) for o, w in parent_weights(obs + kids))
    assert discounted["p9"] == pytest.approx(weights["p9"] / 4)
    chosen = select_parents(obs, random.Random(0), 3)
    assert len({o.ident for o in chosen}) == 3


def test_pareto_front_and_hypervolume():
    points = [(0.9, 10.0), (0.8, 5.0), (0.85, 12.0), (0.7, 1.0), (0.9, 11.0)]
    assert pareto_front(points) == [3, 1, 0]
    area = hypervolume(points, 0.0, 20.0)
    assert area == pytest.approx(0.7 * 19 + 0.1 * 15 + 0.1 * 10)
    assert hypervolume(points + [(0.95, 30.0)], 0.0, 20.0) == pytest.approx(area)  # outside the box: no gain
    assert hypervolume([], 0.0, 1.0) == 0.0


def test_make_strategy_knows_every_name():
    for name in ("random", "evolution", "local", "bananas", "pareto"):
        assert make_strategy(name).name == name
    with pytest.raises(ValueError, match="unknown strategy"):
        make_strategy("annealing")


def test_grammar_domain_on_nb201_has_the_24_one_edge_neighbours():
    space = load_space("nb201")
    domain = GrammarDomain(space)
    tree = space.sample(random.Random(3))
    neighbours = domain.neighbours(tree)
    assert neighbours is domain.neighbours(tree)  # the same list every call
    from archlab.spaces.nb201 import tree_to_cell

    cell = tree_to_cell(tree)
    diffs = {sum(a != b for a, b in zip(cell, tree_to_cell(n), strict=True)) for n in neighbours}
    assert diffs == {1} and len({tree_to_cell(n) for n in neighbours}) == 24
    assert domain.features(neighbours).shape == (24, len(space.feature_names()))


def test_grammar_domain_on_seq1d_gives_valid_distinct_neighbours():
    space = load_space("seq1d")
    domain = GrammarDomain(space, neighbourhood=8)
    tree = space.sample(random.Random(5))
    neighbours = domain.neighbours(tree)
    assert neighbours and all(space.check(n) == [] for n in neighbours)
    assert len({domain.key(n) for n in neighbours} | {domain.key(tree)}) == len(neighbours) + 1
